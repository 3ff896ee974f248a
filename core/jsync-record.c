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
  if (!jsync_store_failed_insert (run->store, source->id, source->path, line,
                                  offset, length, event_id, message, raw,
                                  raw_length, truncated, error))
    return FALSE;

  g_warning ("%s:%" G_GUINT64_FORMAT ": %s", source->path, line, message);
  run->result->events_failed++;
  jsync_result_add_error (run->result, source->path, line, offset, event_id,
                          message);
  if (run->context->strict)
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

/* Record an item's event with `status` (in place of its earlier record,
 * if any), its line as the reading thread packed it. */
gboolean
record_event (Run *run, const Item *item, JsyncEventStatus status,
              GError **error)
{
  JsyncEventRow row = {
    .id = item->id,
    .ts = item->ts,
    .device = item->device,
    .type = item->type,
    .applier = item->applier != NULL ? item->applier->plugin->desc->name
                                     : NULL,
    .stream = item->stream,
    .status = status,
    .source = item->source->id,
    .offset = item->offset,
    .length = item->length,
    .line = item->line,
    .hash = item->hash,
    .gen = item->source->gen,
    .raw = item->raw,
    .packed = item->packed,
    .packed_length = item->packed_length,
  };

  if (run->seen != NULL)
    record_seen_add (run, item->id);
  return jsync_store_event_insert (run->store, &row, error);
}

gboolean
record_item (Run *run, Item *item, GError **error)
{
  return record_event (run, item, item->status, error);
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
