/* jsync-record.c: what a run records of each line: jsync_events (with the
 * Bloom filter of the ids a rebuild stored) and jsync_failed.
 */
#include <string.h>

#include "jsync-sync-private.h"

/* --- Recording failures -------------------------------------------------- */

/* Record a line that did not become an applied event: in jsync_failed (the
 * raw bytes kept), in the result, and as a warning naming file and line. */
gboolean
record_failure (Run *run, Source *source, guint64 line, guint64 offset,
                guint64 length, const char *event_id, const char *raw,
                gsize raw_length, gboolean truncated, const char *message,
                GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store, JSYNC_STMT_FAILED_INSERT);

  sqlite3_bind_int64 (stmt, 1, source->id);
  sqlite3_bind_text (stmt, 2, source->path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, line);
  sqlite3_bind_int64 (stmt, 4, offset);
  sqlite3_bind_int64 (stmt, 5, length);
  jsync_sql_bind_text (stmt, 6, event_id);
  sqlite3_bind_text (stmt, 7, message, -1, SQLITE_STATIC);
  if (raw != NULL)
    sqlite3_bind_blob (stmt, 8, raw, raw_length, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 9, truncated);
  if (!jsync_store_run (run->store, stmt, error))
    return FALSE;

  g_warning ("%s:%" G_GUINT64_FORMAT ": %s", source->path, line, message);
  run->result->events_failed++;
  jsync_result_add_error (run->result, source->path, line, offset, event_id,
                          message);
  if (jsync_config_get_strict (run->self->config))
    run->stop = TRUE;
  return TRUE;
}

/* --- Event records ------------------------------------------------------- */

/* Record `id` as stored; TRUE when it may have been stored before (a
 * lookup tells), FALSE when it certainly was not. */
gboolean
record_seen_add (Run *run, const char *id)
{
  guint64 h1 = (guint64) jsync_hash (id, strlen (id));
  guint64 h2 = (h1 >> 32) | (h1 << 32) | 1;
  gboolean all = TRUE;

  for (guint i = 0; i < SEEN_PROBES; i++)
    {
      guint64 bit = (h1 + i * h2) & (SEEN_BITS - 1);
      guint64 mask = G_GUINT64_CONSTANT (1) << (bit & 63);

      if ((run->seen[bit >> 6] & mask) == 0)
        {
          all = FALSE;
          run->seen[bit >> 6] |= mask;
        }
    }
  return all;
}

gboolean
record_event (Run *run, const char *id, gint64 ts, const char *device,
              const char *type, JsyncApplierInstance *applier,
              const char *stream, int status, Source *source,
              guint64 offset, guint64 length, guint64 line, gint64 hash,
              const char *raw, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store, JSYNC_STMT_EVENT_INSERT);

  if (run->seen != NULL)
    record_seen_add (run, id);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, ts);
  sqlite3_bind_text (stmt, 3, device, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, type, -1, SQLITE_STATIC);
  if (applier != NULL)
    {
      sqlite3_bind_text (stmt, 5, applier->plugin->desc->name, -1,
                         SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, stream != NULL ? stream : "", -1,
                         SQLITE_STATIC);
    }
  sqlite3_bind_int (stmt, 7, status);
  sqlite3_bind_int64 (stmt, 8, source->id);
  sqlite3_bind_int64 (stmt, 9, offset);
  sqlite3_bind_int64 (stmt, 10, length);
  sqlite3_bind_int64 (stmt, 11, line);
  sqlite3_bind_int64 (stmt, 12, hash);
  sqlite3_bind_int64 (stmt, 13, source->gen);
  if (raw != NULL)
    sqlite3_bind_blob (stmt, 14, raw, length, SQLITE_STATIC);
  return jsync_store_run (run->store, stmt, error);
}

gboolean
record_item (Run *run, Item *item, GError **error)
{
  return record_event (run, item->id, item->ts, item->device, item->type,
                       item->applier, item->stream, item->status,
                       item->source, item->offset, item->length,
                       item->line, item->hash,
                       item->raw, error);
}

/* The bytes of a stored event, as kept in the cache (every event keeps its
 * line, so a replay never depends on a log still holding it).  The row holds
 * raw at `column`.  (transfer full) */
char *
record_load_raw (sqlite3_stmt *row, int column, gsize *length)
{
  gsize len = sqlite3_column_bytes (row, column);
  char *text = g_malloc (len + 1);

  memcpy (text, sqlite3_column_blob (row, column), len);
  text[len] = '\0';
  *length = len;
  return text;
}
