/* jsync-store-tables.c: the cache's bookkeeping tables (schemas/core.sql:
 * jsync_events, jsync_sources, jsync_failed, jsync_lost): every statement on
 * them, its SQL text here and nowhere else, behind a named function
 * declared in jsync-store.h; and the savepoints a batch is applied under.
 */
#include "jsync-store.h"

#include "jsync-text.h"

static const char *const store_sql[JSYNC_STMT_N] = {
  [JSYNC_STMT_EVENT_LOOKUP] =
    "SELECT hash, ts, device, status, source, offset, length, hash,"
    " jsync_line(raw), applier, stream, line FROM jsync_events WHERE id = ?1",
  [JSYNC_STMT_EVENT_INSERT] =
    "INSERT OR REPLACE INTO jsync_events (id, ts, device, type, applier,"
    " stream, status, source, offset, length, line, hash, gen, raw)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
  [JSYNC_STMT_EVENT_RELOCATE] =
    "UPDATE jsync_events SET offset = ?2, length = ?3, line = ?4, gen = ?5"
    " WHERE id = ?1",
  [JSYNC_STMT_EVENT_SEEN] =
    "UPDATE jsync_events SET gen = ?2 WHERE id = ?1",
  [JSYNC_STMT_EVENT_SET_STATUS] =
    "UPDATE jsync_events SET status = ?2 WHERE id = ?1",
  [JSYNC_STMT_EVENT_SET_STREAM] =
    "UPDATE jsync_events SET stream = ?2 WHERE id = ?1",
  [JSYNC_STMT_STREAM_MAX] =
    "SELECT ts, device, id FROM jsync_events"
    " WHERE applier = ?1 AND stream = ?2 AND status = 0"
    " ORDER BY ts DESC, device DESC, id DESC LIMIT 1",
  [JSYNC_STMT_STREAM_EVENTS] =
    "SELECT id, ts, device, source, offset, length, hash, jsync_line(raw),"
    " line, stream FROM jsync_events"
    " WHERE applier = ?1 AND stream = ?2 AND status = 0"
    " ORDER BY ts, device, id",
  [JSYNC_STMT_APPLIER_EVENTS] =
    "SELECT id, ts, device, source, offset, length, hash, jsync_line(raw),"
    " line, stream FROM jsync_events WHERE applier = ?1 AND status = 0"
    " ORDER BY ts, device, id",
  [JSYNC_STMT_FAILED_INSERT] =
    "INSERT INTO jsync_failed (source, file, line, offset, length, event_id,"
    " message, raw, truncated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [JSYNC_STMT_SOURCE_INSERT] =
    "INSERT INTO jsync_sources (path) VALUES (?1)",
  [JSYNC_STMT_SOURCE_CHECKPOINT] =
    "UPDATE jsync_sources SET dev = ?2, ino = ?3, size = ?4, mtime = ?5,"
    " offset = ?6, line = ?7, tail_hash = ?8, gen = ?9, rereading = ?10,"
    " missing = ?11 WHERE id = ?1",
  [JSYNC_STMT_LOST_INSERT] =
    "INSERT OR IGNORE INTO jsync_lost (file, id) VALUES (?1, ?2)",
  [JSYNC_STMT_LOST_DELETE] =
    "DELETE FROM jsync_lost WHERE id = ?1",
  [JSYNC_STMT_LOST_CONTAINS] =
    "SELECT 1 FROM jsync_lost WHERE file = ?1 AND id = ?2",
  [JSYNC_STMT_EVENT_MOVE] =
    "UPDATE jsync_events SET source = ?2, offset = ?3, length = ?4,"
    " line = ?5, hash = ?6, gen = ?7, raw = ?8 WHERE id = ?1",
  [JSYNC_STMT_SAVEPOINT] = "SAVEPOINT jsync_event",
  [JSYNC_STMT_ROLLBACK_TO] = "ROLLBACK TO jsync_event",
  [JSYNC_STMT_RELEASE] = "RELEASE jsync_event",
  [JSYNC_STMT_BATCH_SAVEPOINT] = "SAVEPOINT jsync_batch",
  [JSYNC_STMT_BATCH_ROLLBACK_TO] = "ROLLBACK TO jsync_batch",
  [JSYNC_STMT_BATCH_RELEASE] = "RELEASE jsync_batch",
};

/**
 * jsync_store_stmt:
 * A bookkeeping statement, prepared on first use.
 */
sqlite3_stmt *
jsync_store_stmt (JsyncStore *store, JsyncStmt which)
{
  if (store->stmts[which] == NULL
      && sqlite3_prepare_v3 (store->db, store_sql[which], -1,
                             SQLITE_PREPARE_PERSISTENT, &store->stmts[which],
                             NULL) != SQLITE_OK)
    g_error ("jsync: bad bookkeeping SQL %s: %s", store_sql[which],
             sqlite3_errmsg (store->db));
  return store->stmts[which];
}

/**
 * jsync_store_run:
 * Step a statement to its end, then reset it and clear its bindings.
 */
gboolean
jsync_store_run (JsyncStore *store, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  gboolean ok = rc == SQLITE_DONE || rc == SQLITE_ROW;

  if (!ok)
    jsync_store_set_error (store, error, sqlite3_sql (stmt));
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return ok;
}

/**
 * jsync_store_reset:
 * Reset a statement and clear its bindings.
 */
void
jsync_store_reset (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/* Step `stmt` to its first row: *row is it, or NULL (and `stmt` reset)
 * when there is none; FALSE with the error naming `what` otherwise. */
static gboolean
store_first_row (JsyncStore *store, sqlite3_stmt *stmt, const char *what,
                 sqlite3_stmt **row, GError **error)
{
  int rc = sqlite3_step (stmt);

  *row = NULL;
  if (rc == SQLITE_ROW)
    {
      *row = stmt;
      return TRUE;
    }
  if (rc != SQLITE_DONE)
    jsync_store_set_error (store, error, what);
  jsync_store_reset (stmt);
  return rc == SQLITE_DONE;
}

/* Bookkeeping statement `which` with `first` bound to ?1 and `second`, when
 * not NULL, to ?2 (left unbound, it is NULL). */
static sqlite3_stmt *
store_stmt_with_text (JsyncStore *store, JsyncStmt which, const char *first,
                      const char *second)
{
  sqlite3_stmt *stmt = jsync_store_stmt (store, which);

  sqlite3_bind_text (stmt, 1, first, -1, SQLITE_STATIC);
  if (second != NULL)
    sqlite3_bind_text (stmt, 2, second, -1, SQLITE_STATIC);
  return stmt;
}

/* Bind `values` to ?first and on, one parameter each. */
static void
store_bind_int64s (sqlite3_stmt *stmt, int first, const gint64 *values,
                   gsize n_values)
{
  for (gsize i = 0; i < n_values; i++)
    sqlite3_bind_int64 (stmt, first + (int) i, values[i]);
}

/* Run `which` with `first` and `second` bound. */
static gboolean
store_run_with_text (JsyncStore *store, JsyncStmt which, const char *first,
                     const char *second, GError **error)
{
  return jsync_store_run (store,
                          store_stmt_with_text (store, which, first, second),
                          error);
}

/* Run `which` with the event `id` bound to ?1 and `value` to ?2. */
static gboolean
store_run_with_int64 (JsyncStore *store, JsyncStmt which, const char *id,
                      gint64 value, GError **error)
{
  sqlite3_stmt *stmt = store_stmt_with_text (store, which, id, NULL);

  sqlite3_bind_int64 (stmt, 2, value);
  return jsync_store_run (store, stmt, error);
}

/* Bind a line to ?index, packed by the store (the statement takes the
 * frame). */
static gboolean
store_bind_line (JsyncStore *store, sqlite3_stmt *stmt, int index,
                 const char *line, gsize length, GError **error)
{
  char *packed = NULL;
  gsize packed_length = 0;

  if (!jsync_store_pack_line (store, line, length, &packed, &packed_length,
                              error))
    return FALSE;
  if (packed != NULL)
    sqlite3_bind_blob (stmt, index, packed, packed_length, g_free);
  else
    sqlite3_bind_blob (stmt, index, line, length, SQLITE_STATIC);
  return TRUE;
}

/**
 * jsync_store_event_lookup:
 * The stored event `id` (columns JSYNC_LOOKUP_*).
 */
gboolean
jsync_store_event_lookup (JsyncStore *store, const char *id,
                          sqlite3_stmt **row, GError **error)
{
  return store_first_row (store,
                          store_stmt_with_text (store,
                                                JSYNC_STMT_EVENT_LOOKUP, id,
                                                NULL),
                          "look up an event", row, error);
}

/**
 * jsync_store_event_insert:
 * Record an event.
 */
gboolean
jsync_store_event_insert (JsyncStore *store, const JsyncEventRow *row,
                          GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (store, JSYNC_STMT_EVENT_INSERT);
  const gint64 values[] = {
    row->source, row->offset, row->length, row->line, row->hash, row->gen
  };

  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, row->ts);
  sqlite3_bind_text (stmt, 3, row->device, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, row->type, -1, SQLITE_STATIC);
  if (row->applier != NULL)
    {
      sqlite3_bind_text (stmt, 5, row->applier, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, row->stream != NULL ? row->stream : "", -1,
                         SQLITE_STATIC);
    }
  sqlite3_bind_int (stmt, 7, row->status);
  store_bind_int64s (stmt, 8, values, G_N_ELEMENTS (values));
  if (row->packed != NULL)
    sqlite3_bind_blob (stmt, 14, row->packed, row->packed_length,
                       SQLITE_STATIC);
  else if (row->raw != NULL
           && !store_bind_line (store, stmt, 14, row->raw, row->length,
                                error))
    {
      jsync_store_reset (stmt);
      return FALSE;
    }
  return jsync_store_run (store, stmt, error);
}

/**
 * jsync_store_event_relocate:
 * Where an event's own log, read again, now holds it.
 */
gboolean
jsync_store_event_relocate (JsyncStore *store, const char *id,
                            guint64 offset, guint64 length, guint64 line,
                            gint64 gen, GError **error)
{
  sqlite3_stmt *stmt = store_stmt_with_text (store, JSYNC_STMT_EVENT_RELOCATE,
                                             id, NULL);
  const gint64 values[] = { offset, length, line, gen };

  store_bind_int64s (stmt, 2, values, G_N_ELEMENTS (values));
  return jsync_store_run (store, stmt, error);
}

/**
 * jsync_store_event_seen:
 * An event seen in generation `gen` of its log.
 */
gboolean
jsync_store_event_seen (JsyncStore *store, const char *id, gint64 gen,
                        GError **error)
{
  return store_run_with_int64 (store, JSYNC_STMT_EVENT_SEEN, id, gen, error);
}

/**
 * jsync_store_event_set_status:
 * Set an event's status.
 */
gboolean
jsync_store_event_set_status (JsyncStore *store, const char *id,
                              JsyncEventStatus status, GError **error)
{
  return store_run_with_int64 (store, JSYNC_STMT_EVENT_SET_STATUS, id, status,
                               error);
}

/**
 * jsync_store_event_set_stream:
 * Set the stream an event is recorded in.
 */
gboolean
jsync_store_event_set_stream (JsyncStore *store, const char *id,
                              const char *stream, GError **error)
{
  return store_run_with_text (store, JSYNC_STMT_EVENT_SET_STREAM, id, stream,
                              error);
}

/**
 * jsync_store_event_move:
 * Move an event's record to another copy of it.
 */
gboolean
jsync_store_event_move (JsyncStore *store, const char *id, gint64 source,
                        guint64 offset, guint64 length, guint64 line,
                        gint64 hash, gint64 gen, const char *raw,
                        GError **error)
{
  sqlite3_stmt *stmt = store_stmt_with_text (store, JSYNC_STMT_EVENT_MOVE, id,
                                             NULL);
  const gint64 values[] = { source, offset, length, line, hash, gen };

  store_bind_int64s (stmt, 2, values, G_N_ELEMENTS (values));
  if (!store_bind_line (store, stmt, 8, raw, length, error))
    {
      jsync_store_reset (stmt);
      return FALSE;
    }
  return jsync_store_run (store, stmt, error);
}

/**
 * jsync_store_stream_last:
 * The applied event of a stream that sorts last (columns JSYNC_LAST_*).
 */
gboolean
jsync_store_stream_last (JsyncStore *store, const char *applier,
                         const char *stream, sqlite3_stmt **row,
                         GError **error)
{
  return store_first_row (store,
                          store_stmt_with_text (store, JSYNC_STMT_STREAM_MAX,
                                                applier, stream),
                          "read stream position", row, error);
}

/**
 * jsync_store_stream_events:
 * The applied events of a stream, or of an applier, in key order (columns
 * JSYNC_STORED_*).
 */
sqlite3_stmt *
jsync_store_stream_events (JsyncStore *store, const char *applier,
                           const char *stream)
{
  sqlite3_stmt *stmt;

  if (stream != NULL)
    {
      stmt = jsync_store_stmt (store, JSYNC_STMT_STREAM_EVENTS);
      sqlite3_bind_text (stmt, 2, stream, -1, SQLITE_STATIC);
    }
  else
    stmt = jsync_store_stmt (store, JSYNC_STMT_APPLIER_EVENTS);
  sqlite3_bind_text (stmt, 1, applier, -1, SQLITE_STATIC);
  return stmt;
}

/* jsync_store_prepare(), with `value` bound to ?1. */
static sqlite3_stmt *
store_prepare_with_int (JsyncStore *store, const char *sql, int value,
                        const char *what, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_prepare (store, sql, what, error);

  if (stmt != NULL)
    sqlite3_bind_int (stmt, 1, value);
  return stmt;
}

/**
 * jsync_store_events_with_status:
 * The events of one status but applied, in key order (columns
 * JSYNC_STATUS_ROW_*).
 */
sqlite3_stmt *
jsync_store_events_with_status (JsyncStore *store, JsyncEventStatus status,
                                GError **error)
{
  return store_prepare_with_int (store,
                                 "SELECT id, ts, device, type, source, offset,"
                                 " length, line, hash, jsync_line(raw)"
                                 " FROM jsync_events"
                                 " WHERE status = ?1 AND status <> 0"
                                 " ORDER BY ts, device, id",
                                 status, "read stored events", error);
}

/* Step `stmt` through its rows, each given to `take`, then finalize it;
 * FALSE with the error naming `what` when a step fails. */
static gboolean
store_each_row (JsyncStore *store, sqlite3_stmt *stmt, const char *what,
                void (*take) (sqlite3_stmt *row, gpointer into),
                gpointer into, GError **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    take (stmt, into);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, what);
      return FALSE;
    }
  return TRUE;
}

static void
store_take_text (sqlite3_stmt *row, gpointer into)
{
  g_ptr_array_add (into, g_strdup ((const char *) sqlite3_column_text (row,
                                                                       0)));
}

static void
store_take_int64 (sqlite3_stmt *row, gpointer into)
{
  gint64 value = sqlite3_column_int64 (row, 0);

  g_array_append_val ((GArray *) into, value);
}

/**
 * jsync_store_event_ids_of_source:
 * The ids of the events last seen in a log (before a generation).
 */
gboolean
jsync_store_event_ids_of_source (JsyncStore *store, gint64 source,
                                 gint64 gen, GPtrArray *ids, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_prepare (
      store,
      gen < 0 ? "SELECT id FROM jsync_events WHERE source = ?1 ORDER BY id"
              : "SELECT id FROM jsync_events WHERE source = ?1"
                " AND gen < ?2 ORDER BY id",
      "find lost events", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, source);
  sqlite3_bind_int64 (stmt, 2, gen);
  return store_each_row (store, stmt, "find lost events", store_take_text,
                         ids, error);
}

/**
 * jsync_store_sources_sharing_streams:
 * The other logs that hold events of a log's streams.
 */
gboolean
jsync_store_sources_sharing_streams (JsyncStore *store, gint64 source,
                                     GArray *sources, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_prepare (
      store,
      "SELECT DISTINCT source FROM jsync_events"
      " WHERE source <> ?1 AND (applier, stream) IN"
      " (SELECT applier, stream FROM jsync_events"
      "  WHERE source = ?1 AND applier IS NOT NULL)"
      " ORDER BY source",
      "find copies of lost events", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, source);
  return store_each_row (store, stmt, "find copies of lost events",
                         store_take_int64, sources, error);
}

/**
 * jsync_store_failed_insert:
 * Record a line that did not become an applied event.
 */
gboolean
jsync_store_failed_insert (JsyncStore *store, gint64 source, const char *file,
                           guint64 line, guint64 offset, guint64 length,
                           const char *event_id, const char *message,
                           const char *raw, gsize raw_length,
                           gboolean truncated, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (store, JSYNC_STMT_FAILED_INSERT);
  const gint64 position[] = { line, offset, length };

  sqlite3_bind_int64 (stmt, 1, source);
  sqlite3_bind_text (stmt, 2, file, -1, SQLITE_STATIC);
  store_bind_int64s (stmt, 3, position, G_N_ELEMENTS (position));
  jsync_sql_bind_text (stmt, 6, event_id);
  sqlite3_bind_text (stmt, 7, message, -1, SQLITE_STATIC);
  if (raw != NULL)
    sqlite3_bind_blob (stmt, 8, raw, raw_length, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 9, truncated);
  return jsync_store_run (store, stmt, error);
}

/**
 * jsync_store_failed_read:
 * Every failure record (columns JSYNC_FAILED_*).
 */
sqlite3_stmt *
jsync_store_failed_read (JsyncStore *store, GError **error)
{
  return jsync_store_prepare (
      store,
      "SELECT f.file, f.line, f.offset, f.length,"
      " f.event_id, f.message, f.truncated, EXISTS (SELECT 1"
      " FROM jsync_events e"
      "   WHERE e.id = f.event_id AND e.status = 2)"
      " FROM jsync_failed f ORDER BY f.file, f.offset, f.id",
      "read jsync_failed", error);
}

/**
 * jsync_store_failed_forget:
 * Forget the failure records of an event with these bytes.
 */
gboolean
jsync_store_failed_forget (JsyncStore *store, const char *id, const char *raw,
                           gsize length, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_prepare (
      store,
      "DELETE FROM jsync_failed"
      " WHERE event_id = ?1 AND raw = ?2",
      "forget a failure", error);
  gboolean ok;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 2, raw, length, SQLITE_STATIC);
  ok = jsync_store_run (store, stmt, error);
  sqlite3_finalize (stmt);
  return ok;
}

/**
 * jsync_store_failed_forget_lines:
 * Forget the failure records of a log but those of failed events.
 */
gboolean
jsync_store_failed_forget_lines (JsyncStore *store, gint64 source,
                                 GError **error)
{
  g_autofree char *sql = g_strdup_printf (
      "DELETE FROM jsync_failed WHERE source = %" G_GINT64_FORMAT
      " AND (event_id IS NULL OR event_id NOT IN"
      " (SELECT id FROM jsync_events WHERE status = 2"
      " AND status <> 0))",
      source);

  return jsync_store_exec (store, sql, error);
}

/**
 * jsync_store_sources_read:
 * Every row of jsync_sources (columns JSYNC_SOURCE_*).
 */
sqlite3_stmt *
jsync_store_sources_read (JsyncStore *store, GError **error)
{
  return jsync_store_prepare (
      store,
      "SELECT id, path, dev, ino, size, mtime, offset, line,"
      " tail_hash, gen, rereading, missing FROM jsync_sources",
      "read jsync_sources", error);
}

/**
 * jsync_store_checkpoints_read:
 * The checkpoint of every log not missing (columns JSYNC_CHECKPOINT_*).
 */
sqlite3_stmt *
jsync_store_checkpoints_read (JsyncStore *store, GError **error)
{
  return jsync_store_prepare (
      store,
      "SELECT path, offset, tail_hash FROM jsync_sources"
      " WHERE missing = 0",
      "read jsync_sources", error);
}

/**
 * jsync_store_keep_lost_events:
 * Copy the lost events of `live` into `build`, as pending events.
 */
gboolean
jsync_store_keep_lost_events (JsyncStore *live, JsyncStore *build,
                              gboolean *kept, GError **error)
{
  sqlite3_stmt *read;
  sqlite3_stmt *insert = NULL;
  gboolean ok = TRUE;
  gint64 source = 0;
  int rc = SQLITE_DONE;

  *kept = FALSE;
  read = jsync_store_prepare (live,
                              "SELECT id, ts, device, type, offset, length,"
                              " line, hash, jsync_line(raw) FROM jsync_events"
                              " WHERE status = 0"
                              " AND id IN (SELECT id FROM jsync_lost)",
                              "read lost events", error);
  if (read == NULL)
    return FALSE;
  while (ok && (rc = sqlite3_step (read)) == SQLITE_ROW)
    {
      if (insert == NULL)
        {
          /* status 1: pending (schemas/core.sql); source: a row of its own,
           * marked missing so that no scan looks for it. */
          ok = jsync_store_begin (build, error)
               && jsync_store_exec (build,
                                    "INSERT INTO jsync_sources (path, missing)"
                                    " VALUES ('(lost events)', 1)",
                                    error);
          if (!ok)
            break;
          source = sqlite3_last_insert_rowid (build->db);
          insert = jsync_store_prepare (
              build,
              "INSERT OR IGNORE INTO jsync_events (id, ts, device, type,"
              " status, source, offset, length, line, hash, raw)"
              " VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10)",
              "keep lost events", error);
          if (insert == NULL)
            {
              ok = FALSE;
              break;
            }
        }
      for (int i = 0; i < 4; i++)
        sqlite3_bind_value (insert, i + 1, sqlite3_column_value (read, i));
      sqlite3_bind_int64 (insert, 5, source);
      for (int i = 4; i < 8; i++)
        sqlite3_bind_value (insert, i + 2, sqlite3_column_value (read, i));
      ok = store_bind_line (build, insert, 10, sqlite3_column_blob (read, 8),
                            sqlite3_column_bytes (read, 8), error)
           && jsync_store_run (build, insert, error);
    }
  if (ok && rc != SQLITE_DONE)
    {
      jsync_store_set_error (live, error, "read lost events");
      ok = FALSE;
    }
  sqlite3_finalize (read);
  sqlite3_finalize (insert);
  if (!ok)
    {
      jsync_store_rollback (build);
      return FALSE;
    }
  if (source == 0)
    return TRUE;
  *kept = TRUE;
  return jsync_store_commit (build, error);
}

/**
 * jsync_store_source_insert:
 * A new log's row.
 */
gboolean
jsync_store_source_insert (JsyncStore *store, const char *path, gint64 *id,
                           GError **error)
{
  if (!store_run_with_text (store, JSYNC_STMT_SOURCE_INSERT, path, NULL,
                            error))
    return FALSE;
  *id = sqlite3_last_insert_rowid (store->db);
  return TRUE;
}

/**
 * jsync_store_source_checkpoint:
 * Write a log's checkpoint and identity.
 */
gboolean
jsync_store_source_checkpoint (JsyncStore *store,
                               const JsyncCheckpoint *checkpoint,
                               GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (store, JSYNC_STMT_SOURCE_CHECKPOINT);
  const gint64 identity[] = {
    checkpoint->dev, checkpoint->ino, checkpoint->size, checkpoint->mtime
  };
  const gint64 position[] = {
    checkpoint->offset, checkpoint->line, checkpoint->tail_hash,
    checkpoint->gen, checkpoint->rereading, checkpoint->missing
  };

  sqlite3_bind_int64 (stmt, 1, checkpoint->id);
  /* Without one, ?2 to ?5 stay NULL. */
  if (checkpoint->has_identity)
    store_bind_int64s (stmt, 2, identity, G_N_ELEMENTS (identity));
  store_bind_int64s (stmt, 6, position, G_N_ELEMENTS (position));
  return jsync_store_run (store, stmt, error);
}

/**
 * jsync_store_lost_insert:
 * Record (file, id) as lost.
 */
gboolean
jsync_store_lost_insert (JsyncStore *store, const char *file, const char *id,
                         GError **error)
{
  return store_run_with_text (store, JSYNC_STMT_LOST_INSERT, file, id, error);
}

/**
 * jsync_store_lost_delete:
 * An event lost before is found again.
 */
gboolean
jsync_store_lost_delete (JsyncStore *store, const char *id, GError **error)
{
  return store_run_with_text (store, JSYNC_STMT_LOST_DELETE, id, NULL, error);
}

/**
 * jsync_store_lost_contains:
 * Is (file, id) still in jsync_lost?
 */
gboolean
jsync_store_lost_contains (JsyncStore *store, const char *file,
                           const char *id)
{
  sqlite3_stmt **stmt = &store->stmts[JSYNC_STMT_LOST_CONTAINS];
  gboolean still;

  /* Prepared here, not by jsync_store_stmt(): a report is no reason to
   * abort. */
  if (*stmt == NULL
      && sqlite3_prepare_v3 (store->db, store_sql[JSYNC_STMT_LOST_CONTAINS],
                             -1, SQLITE_PREPARE_PERSISTENT, stmt,
                             NULL) != SQLITE_OK)
    {
      sqlite3_finalize (*stmt);
      *stmt = NULL;
      return TRUE;
    }
  sqlite3_bind_text (*stmt, 1, file, -1, SQLITE_STATIC);
  sqlite3_bind_text (*stmt, 2, id, -1, SQLITE_STATIC);
  still = sqlite3_step (*stmt) == SQLITE_ROW;
  jsync_store_reset (*stmt);
  return still;
}

/**
 * jsync_store_lost_events_read:
 * The lost events with their lines, in key order (columns JSYNC_LOST_*).
 */
sqlite3_stmt *
jsync_store_lost_events_read (JsyncStore *store, gboolean by_file,
                              GError **error)
{
  return store_prepare_with_int (
      store,
      "SELECT min(l.file), e.id, jsync_line(e.raw) FROM jsync_lost AS l"
      " JOIN jsync_events AS e ON e.id = l.id GROUP BY e.id"
      " ORDER BY CASE WHEN ?1 THEN min(l.file) END, e.ts, e.device, e.id",
      by_file, "read lost events", error);
}

/**
 * jsync_store_query_int:
 * The first column of the first row of `sql`, into *value; FALSE with the
 * error when it cannot be read or gives no row.
 */
gboolean
jsync_store_query_int (JsyncStore *store, const char *sql, gint64 *value,
                       GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = SQLITE_ERROR;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) == SQLITE_OK
      && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    {
      jsync_store_set_error (store, error, sql);
      return FALSE;
    }
  return TRUE;
}

static const char *const store_count_sql[JSYNC_COUNT_N] = {
  [JSYNC_COUNT_APPLIED] = "SELECT count(*) FROM jsync_events WHERE status = 0",
  /* The partial index on status <> 0 counts them. */
  [JSYNC_COUNT_PENDING] = "SELECT count(*) FROM jsync_events"
                          " WHERE status = 1 AND status <> 0",
  [JSYNC_COUNT_FAILED] = "SELECT count(*) FROM jsync_failed",
  [JSYNC_COUNT_LOST] = "SELECT count(*) FROM jsync_lost",
  [JSYNC_COUNT_ANY_EVENT] = "SELECT count(*) FROM (SELECT 1 FROM jsync_events"
                            " LIMIT 1)",
};

/**
 * jsync_store_count_of:
 * A count of the bookkeeping tables, into *count; FALSE with the error
 * when it cannot be read.
 */
gboolean
jsync_store_count_of (JsyncStore *store, JsyncCount what, guint64 *count,
                      GError **error)
{
  gint64 value = 0;

  if (!jsync_store_query_int (store, store_count_sql[what], &value, error))
    return FALSE;
  *count = value;
  return TRUE;
}

static void
store_take_object (sqlite3_stmt *row, gpointer into)
{
  json_object *object = json_object_new_object ();

  /* A log's name is bytes: shown valid UTF-8. */
  for (int i = 0; i < sqlite3_column_count (row); i++)
    json_object_object_add (object, sqlite3_column_name (row, i),
                            jsync_json_new_column (row, i, TRUE));
  json_object_array_add (into, object);
}

/* Run a query and return its rows as objects. */
static json_object *
store_rows (JsyncStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_prepare (store, sql, sql, error);
  json_object *rows;

  if (stmt == NULL)
    return NULL;
  rows = json_object_new_array ();
  if (!store_each_row (store, stmt, sql, store_take_object, rows, error))
    {
      json_object_put (rows);
      return NULL;
    }
  return rows;
}

static const char *const store_report_sql[JSYNC_REPORT_N] = {
  [JSYNC_REPORT_SOURCES] = "SELECT path AS file, offset, line, size,"
                           " missing, rereading FROM jsync_sources"
                           " ORDER BY path",
  [JSYNC_REPORT_PENDING_TYPES] = "SELECT type, count(*) AS count"
                                 " FROM jsync_events WHERE status = 1"
                                 " AND status <> 0"
                                 " GROUP BY type ORDER BY type",
  [JSYNC_REPORT_LOST] = "SELECT file, id FROM jsync_lost ORDER BY file, id",
};

/**
 * jsync_store_report_rows:
 * Rows of a bookkeeping table for a report, each an object of its columns.
 */
json_object *
jsync_store_report_rows (JsyncStore *store, JsyncReport what, GError **error)
{
  return store_rows (store, store_report_sql[what], error);
}
