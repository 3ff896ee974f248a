/* jsync-sync.c: one sync run (docs/design.md "The sync contract").
 *
 * A run scans the data folder, checks each log's checkpoint, and reads the
 * new complete lines of each.  Lines become events in batches; a batch is
 * one transaction holding the appliers' writes, the event records and the
 * checkpoints.  Within a batch events are grouped by (applier, stream):
 * a group whose events all sort after what its stream already holds is
 * applied in key order; otherwise the stream is cleared and re-applied in
 * key order with the stored events (their lines, kept in jsync_events.raw),
 * so incremental sync always ends where a rebuild does (docs/design.md
 * "Streams and replays").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <jsync/jsync.h>

#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-event.h"
#include "jsync-path.h"
#include "jsync-prefetch.h"
#include "jsync-reader.h"
#include "jsync-registry.h"
#include "jsync-result.h"
#include "jsync-store.h"

/* Most bytes of event text a batch holds before it is applied. */
#define BATCH_MAX_BYTES (16 * 1024 * 1024)

enum
{
  STATUS_APPLIED = 0,
  STATUS_PENDING = 1,
  STATUS_FAILED = 2,
};

/* Sources are cut out of blocks, each freed with its last Source: a sync
 * makes and drops one Source per log, tens of thousands each time. */
#define SOURCE_BLOCK_SIZE (256 * 1024)

typedef struct
{
  guint refs;               /* its Sources, and its maker while it fills */
  gsize used;
  gsize size;
  max_align_t data[];
} SourceBlock;

/* One log file in a run, made by source_new() with its strings. */
typedef struct
{
  gint64 id;                /* jsync_sources.id, 0 until inserted */
  char *path;               /* relative to the data folder: the end of abs */
  char *abs;                /* points to strings */
  struct stat st;           /* at scan */
  gboolean present;         /* found by this scan */
  gboolean known;           /* has a row */
  gboolean missing;         /* the row says it was gone */
  gboolean has_identity;    /* the row holds an identity */
  gint64 dev, ino, size, mtime;
  guint64 offset;           /* checkpoint */
  guint64 line;
  gint64 tail_hash;
  gint64 gen;
  gboolean rereading;
  gboolean reached_end;     /* read to its end in this run */
  gboolean dirty;           /* checkpoint to write with the batch */
  gboolean had_bytes;       /* listed in filesProcessed */
  const JsyncReadLimit *limit; /* borrowed, nullable: read up to there */
  SourceBlock *block;       /* holds this Source */
  char strings[];           /* abs, ending in path */
} Source;

/* One new event waiting in the batch. */
typedef struct
{
  const char *id;           /* borrowed from json */
  const char *device;       /* borrowed from json */
  const char *type;         /* borrowed from json */
  gint64 ts;
  char *stream;             /* owned, "" for none */
  JsyncApplierInstance *applier; /* borrowed */
  json_object *json;        /* owned */
  char *raw;                /* owned copy of the line */
  gsize length;
  Source *source;           /* borrowed */
  guint64 offset;
  guint64 line;
  gint64 hash;
  int status;               /* once applied: STATUS_APPLIED or _FAILED */
} Item;

/* Events of one stream of one applier in a batch. */
typedef struct
{
  JsyncApplierInstance *applier;
  char *stream;             /* owned, NULL for the whole applier */
  GPtrArray *items;         /* of Item*, borrowed from the batch */
  gboolean force;           /* replay even without new events */
  gboolean replay;          /* clear and re-apply the stream */
  gboolean defer;           /* a rebuild's: recorded now, applied at the
                             * end (see run_defer()) */
} Group;

typedef struct
{
  JsyncCoordinator *self;
  JsyncStore *store;        /* borrowed */
  GHashTable *limits;       /* borrowed, nullable: path → JsyncReadLimit*;
                             * only the logs named are read, that far */
  JsyncResult *result;      /* borrowed */
  gboolean rebuilding;
  GHashTable *sources;      /* path → Source*, owned */
  GPtrArray *dirty;         /* of Source*, borrowed: checkpoints to write
                             * with the batch */
  GHashTable *sources_by_id; /* gint64* → Source*, borrowed */
  GPtrArray *batch;         /* of Item*, owned */
  GHashTable *batch_ids;    /* id → Item*, borrowed */
  GHashTable *forced;       /* "applier\x1fstream" → Group*, owned */
  gsize batch_bytes;
  gboolean stop;            /* --strict met a failure */
  guint64 lost_count;       /* rows in jsync_lost, to skip needless deletes */
  GPtrArray *unseen;        /* owned, nullable: of ScanUnseen*, what the
                             * scan could not look into */
  GHashTable *lost_found;   /* path → GPtrArray of ids found lost in this
                             * run, owned: reported at its end */
  guint64 bytes_done;
  guint64 bytes_total;
  gboolean careful;         /* a savepoint per event: the batch being
                             * applied again after a rejection */
  JsyncPrefetch *prefetch;  /* borrowed: the reading thread, if any */
  struct json_tokener *tok; /* owned: this thread's, for stored events */
  GHashTable *deferred;     /* group key → Group*, owned: a rebuild's
                             * streams to replay once, at its end; NULL
                             * outside a rebuild and during those replays */
  guint64 *seen;            /* owned, NULL unless the run began with no
                             * event stored: a Bloom filter of the ids
                             * stored since, to skip most lookups */
} Run;

static void
source_block_unref (SourceBlock *block)
{
  if (--block->refs == 0)
    g_free (block);
}

/* A source for @path (@length bytes), relative to @data_dir, cut out of
 * *@block (a new one when it is NULL or full; the caller unrefs the last
 * one once it made its sources). */
static Source *
source_new (SourceBlock **block, const char *data_dir, const char *path,
            gsize length)
{
  gsize dir_length = strlen (data_dir);
  gsize slash = dir_length > 0 && data_dir[dir_length - 1] != G_DIR_SEPARATOR;
  gsize size = sizeof (Source) + dir_length + slash + length + 1;
  Source *source;

  size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t)
         * sizeof (max_align_t);
  if (*block == NULL || (*block)->size - (*block)->used < size)
    {
      gsize block_size = MAX (SOURCE_BLOCK_SIZE, size);

      if (*block != NULL)
        source_block_unref (*block);
      *block = g_malloc0 (sizeof (SourceBlock) + block_size);
      (*block)->refs = 1;
      (*block)->size = block_size;
    }
  source = (Source *) ((char *) (*block)->data + (*block)->used);
  (*block)->used += size;
  (*block)->refs++;
  source->block = *block;
  source->abs = source->strings;
  memcpy (source->abs, data_dir, dir_length);
  if (slash)
    source->abs[dir_length] = G_DIR_SEPARATOR;
  source->path = source->abs + dir_length + slash;
  memcpy (source->path, path, length);
  source->path[length] = '\0';
  return source;
}

static void
source_free (gpointer data)
{
  Source *source = data;

  source_block_unref (source->block);
}

static void
item_free (gpointer data)
{
  Item *item = data;

  g_free (item->stream);
  json_object_put (item->json);
  g_free (item->raw);
  g_free (item);
}

static void
group_free (gpointer data)
{
  Group *group = data;

  g_free (group->stream);
  g_ptr_array_unref (group->items);
  g_free (group);
}

static void
run_progress (Run *run, const char *phase, guint64 done, guint64 total)
{
  jsync_coordinator_report (run->self, phase, done, total,
                            run->result->events_applied
                              + run->result->events_skipped
                              + run->result->events_failed);
}

/* --- Recording failures ------------------------------------------------- */

/* Record a line that did not become an applied event: in jsync_failed (the
 * raw bytes kept), in the result, and as a warning naming file and line. */
static gboolean
run_record_failure (Run *run, Source *source, guint64 line, guint64 offset,
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

/* --- Event records ------------------------------------------------------ */

/* Bits of the Bloom filter (2 MiB): a rebuild of ten million events still
 * skips most lookups. */
#define SEEN_BITS (G_GUINT64_CONSTANT (1) << 24)
#define SEEN_PROBES 7

/* Record `id` as stored; TRUE when it may have been stored before (a
 * lookup tells), FALSE when it certainly was not. */
static gboolean
run_seen_add (Run *run, const char *id)
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

static gboolean
run_insert_event (Run *run, const char *id, gint64 ts, const char *device,
                  const char *type, JsyncApplierInstance *applier,
                  const char *stream, int status, Source *source,
                  guint64 offset, guint64 length, guint64 line, gint64 hash,
                  const char *raw, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store, JSYNC_STMT_EVENT_INSERT);

  if (run->seen != NULL)
    run_seen_add (run, id);
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

/* --- Applying ----------------------------------------------------------- */

/* A batch is first applied under one savepoint; the first rejection rolls
 * the whole batch back (this error, internal to the run) and the batch is
 * applied again, carefully, with a savepoint per event.  Savepoints are not
 * free: FTS5 writes its pending terms out at each one. */
static GQuark
run_redo_quark (void)
{
  return g_quark_from_static_string ("jsync-sync-redo-quark");
}

/* Apply one event.  When careful, inside its own savepoint: a rejection
 * rolls back alone and is returned in `rejection` (the run goes on);
 * otherwise a rejection fails with run_redo_quark().  A failed savepoint is
 * fatal. */
static gboolean
run_apply_event (Run *run, JsyncApplierInstance *applier,
                 const JsyncEvent *event, char **rejection, GError **error)
{
  g_autoptr(GError) apply_error = NULL;

  *rejection = NULL;
  if (!run->careful || run->store->unjournaled)
    {
      if (applier->plugin->desc->apply (applier->state, event, &apply_error))
        return TRUE;
      if (!jsync_store_check_callback (run->store,
                                       applier->plugin->desc->name,
                                       apply_error, error))
        return FALSE;
      if (run->store->unjournaled)
        g_set_error_literal (error, jsync_store_needs_journal_quark (), 0,
                             "an event was rejected: the rebuild starts"
                             " over with a journal to roll it back");
      else
        g_set_error_literal (error, run_redo_quark (), 0, "rejected");
      return FALSE;
    }
  if (!jsync_store_run (run->store,
                        jsync_store_stmt (run->store, JSYNC_STMT_SAVEPOINT),
                        error))
    return FALSE;
  if (!applier->plugin->desc->apply (applier->state, event, &apply_error))
    {
      if (!jsync_store_check_callback (run->store,
                                       applier->plugin->desc->name,
                                       apply_error, error))
        return FALSE;
      *rejection = g_strdup_printf ("%s: %s", applier->plugin->desc->name,
                                    apply_error != NULL ? apply_error->message
                                                        : "rejected");
      if (!jsync_store_run (run->store,
                            jsync_store_stmt (run->store,
                                              JSYNC_STMT_ROLLBACK_TO),
                            error))
        return FALSE;
    }
  return jsync_store_run (run->store,
                          jsync_store_stmt (run->store, JSYNC_STMT_RELEASE),
                          error);
}

static void
run_item_to_event (Item *item, JsyncEvent *event)
{
  memset (event, 0, sizeof *event);
  event->struct_size = sizeof (JsyncEvent);
  event->id = item->id;
  event->type = item->type;
  event->device_id = item->device;
  event->timestamp = item->ts;
  event->json = item->json;
  event->file = item->source->path;
  event->line = item->line;
  event->offset = item->offset;
}

static gboolean
run_record_item (Run *run, Item *item, GError **error)
{
  return run_insert_event (run, item->id, item->ts, item->device, item->type,
                           item->applier, item->stream, item->status,
                           item->source, item->offset, item->length,
                           item->line, item->hash,
                           item->raw, error);
}

/* Apply a new event and record it as applied or failed; with `defer`, the
 * record is left for later (a replay reads jsync_events meanwhile). */
static gboolean
run_apply_item (Run *run, Item *item, GPtrArray *defer, GError **error)
{
  g_autofree char *rejection = NULL;
  JsyncEvent event;
  int status = STATUS_APPLIED;

  run_item_to_event (item, &event);
  if (!run_apply_event (run, item->applier, &event, &rejection, error))
    return FALSE;
  if (rejection != NULL)
    {
      status = STATUS_FAILED;
      if (!run_record_failure (run, item->source, item->line, item->offset,
                               item->length, item->id, item->raw,
                               item->length, FALSE, rejection, error))
        return FALSE;
    }
  else
    run->result->events_applied++;
  item->status = status;
  if (defer != NULL)
    {
      g_ptr_array_add (defer, item);
      return TRUE;
    }
  return run_record_item (run, item, error);
}

static Source *
run_source_by_id (Run *run, gint64 id)
{
  return g_hash_table_lookup (run->sources_by_id, &id);
}

/* The bytes of a stored event, as kept in the cache (every event keeps its
 * line, so a replay never depends on a log still holding it).  The row holds
 * raw at `column`.  (transfer full) */
static char *
run_load_stored (sqlite3_stmt *row, int column, gsize *length)
{
  gsize len = sqlite3_column_bytes (row, column);
  char *text = g_malloc (len + 1);

  memcpy (text, sqlite3_column_blob (row, column), len);
  text[len] = '\0';
  *length = len;
  return text;
}

/* Re-apply one stored event during a replay.  A stored event that can no
 * longer be read is reported and left out; one its applier now rejects is
 * marked failed (collected in `now_failed`). */
static gboolean
run_replay_stored (Run *run, JsyncApplierInstance *applier, sqlite3_stmt *row,
                   GPtrArray *now_failed, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *rejection = NULL;
  const char *id = (const char *) sqlite3_column_text (row, 0);
  Source *source = run_source_by_id (run, sqlite3_column_int64 (row, 3));
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json;
  gsize length;

  text = run_load_stored (row, 7, &length);
  json = jsync_event_parse_json_with (run->tok, text, length, &local_error);
  if ((json == NULL || !jsync_event_read_envelope (json, &event, &local_error))
      && !run->careful)
    {
      /* Reported once, when the batch is applied again. */
      json_object_put (json);
      g_set_error_literal (error, run_redo_quark (), 0, "unreadable");
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_warning ("cannot re-apply event %s: %s", id, local_error->message);
      jsync_result_add_error (run->result,
                              source != NULL ? source->path : NULL,
                              sqlite3_column_int64 (row, 8),
                              sqlite3_column_int64 (row, 4), id,
                              local_error->message);
      json_object_put (json);
      return TRUE;
    }
  event.file = source != NULL ? source->path : NULL;
  event.line = sqlite3_column_int64 (row, 8);
  event.offset = sqlite3_column_int64 (row, 4);
  if (!run_apply_event (run, applier, &event, &rejection, error))
    {
      json_object_put (json);
      return FALSE;
    }
  if (rejection != NULL)
    {
      /* Every event a rebuild stored was counted as applied. */
      if (run->rebuilding && run->result->events_applied > 0)
        run->result->events_applied--;
      g_ptr_array_add (now_failed, g_strdup (id));
      if (source == NULL)
        g_warning ("event %s: %s", id, rejection);
      else if (!run_record_failure (run, source, event.line, event.offset,
                                    length, id, text, length, FALSE,
                                    rejection, error))
        {
          json_object_put (json);
          return FALSE;
        }
    }
  json_object_put (json);
  return TRUE;
}

/* Clear a stream (or the whole applier) and apply its stored events merged
 * with the group's new ones, all in key order. */
static gboolean
run_replay_group (Run *run, Group *group, GError **error)
{
  const JsyncApplierDesc *desc = group->applier->plugin->desc;
  g_autoptr(GPtrArray) now_failed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) applied = g_ptr_array_new ();
  g_autoptr(GError) clear_error = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;
  guint next = 0;
  int rc;

  g_debug ("%s: replaying stream \"%s\" (%u new event(s))", desc->name,
           group->stream != NULL ? group->stream : "*", group->items->len);
  if (group->stream != NULL && desc->stream != NULL)
    ok = desc->clear_stream (group->applier->state, group->stream,
                             &clear_error);
  else
    ok = desc->clear (group->applier->state, &clear_error);
  if (!ok)
    {
      g_autofree char *what = g_strdup_printf (
          "%s: clearing stream \"%s\"", group->applier->plugin->path,
          group->stream != NULL ? group->stream : "*");

      /* The cache failing (I/O, full disk) is said as such. */
      if (!jsync_store_check_callback (run->store, what, clear_error, error))
        return FALSE;
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED, "%s: %s", what,
                   clear_error != NULL ? clear_error->message : "failed");
      return FALSE;
    }

  if (group->stream != NULL)
    {
      stmt = jsync_store_stmt (run->store, JSYNC_STMT_STREAM_EVENTS);
      sqlite3_bind_text (stmt, 2, group->stream, -1, SQLITE_STATIC);
    }
  else
    stmt = jsync_store_stmt (run->store, JSYNC_STMT_APPLIER_EVENTS);
  sqlite3_bind_text (stmt, 1, desc->name, -1, SQLITE_STATIC);

  ok = TRUE;
  while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 ts = sqlite3_column_int64 (stmt, 1);
      const char *device = (const char *) sqlite3_column_text (stmt, 2);
      const char *id = (const char *) sqlite3_column_text (stmt, 0);

      /* New events that sort before this stored one go first. */
      while (next < group->items->len)
        {
          Item *item = group->items->pdata[next];

          if (jsync_event_key_compare (item->ts, item->device, item->id, ts,
                                       device, id) > 0)
            break;
          if (!(ok = run_apply_item (run, item, applied, error)))
            break;
          next++;
        }
      if (ok)
        ok = run_replay_stored (run, group->applier, stmt, now_failed, error);
    }
  if (ok && rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "read stored events");
      ok = FALSE;
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  for (; ok && next < group->items->len; next++)
    ok = run_apply_item (run, group->items->pdata[next], NULL, error);
  for (guint i = 0; ok && i < applied->len; i++)
    ok = run_record_item (run, applied->pdata[i], error);

  for (guint i = 0; ok && i < now_failed->len; i++)
    {
      sqlite3_stmt *update = jsync_store_stmt (run->store,
                                               JSYNC_STMT_EVENT_SET_STATUS);

      sqlite3_bind_text (update, 1, now_failed->pdata[i], -1, SQLITE_STATIC);
      sqlite3_bind_int (update, 2, STATUS_FAILED);
      ok = jsync_store_run (run->store, update, error);
    }
  return ok;
}

static gint
item_compare (gconstpointer a, gconstpointer b)
{
  const Item *x = *(Item *const *) a;
  const Item *y = *(Item *const *) b;

  return jsync_event_key_compare (x->ts, x->device, x->id, y->ts, y->device,
                                  y->id);
}

/* Does the stream already hold an event that sorts after `first`?  1 yes,
 * 0 no, -1 with error set when the cache could not say. */
static int
run_stream_is_ahead (Run *run, Group *group, Item *first, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store, JSYNC_STMT_STREAM_MAX);
  int ahead = 0;
  int rc;

  sqlite3_bind_text (stmt, 1, group->applier->plugin->desc->name, -1,
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, group->stream, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    ahead = jsync_event_key_compare (
                sqlite3_column_int64 (stmt, 0),
                (const char *) sqlite3_column_text (stmt, 1),
                (const char *) sqlite3_column_text (stmt, 2), first->ts,
                first->device, first->id)
            > 0;
  else if (rc != SQLITE_DONE)
    jsync_store_set_error (run->store, error, "read stream position");
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ahead : -1;
}

static char *
group_key (JsyncApplierInstance *applier, const char *stream)
{
  return g_strdup_printf ("%s\x1f%s", applier->plugin->desc->name,
                          stream != NULL ? stream : "\x1e*");
}

static Group *
run_group_for (GHashTable *groups, JsyncApplierInstance *applier,
               const char *stream)
{
  char *key = group_key (applier, stream);
  Group *group = g_hash_table_lookup (groups, key);

  if (group == NULL)
    {
      group = g_new0 (Group, 1);
      group->applier = applier;
      group->stream = g_strdup (stream);
      group->items = g_ptr_array_new ();
      g_hash_table_insert (groups, key, group);
    }
  else
    g_free (key);
  return group;
}

/* Ask for a replay of a stream in the next batch. */
static void
run_force_replay (Run *run, JsyncApplierInstance *applier, const char *stream)
{
  run_group_for (run->forced, applier, stream)->force = TRUE;
}

/* A rebuild reads each log whole, one after the other, so a stream whose
 * events sit in several logs (a workspace written by three devices, a
 * conversation and its sync-tool conflict copy) would be replayed at every
 * log after its first.  Instead such a stream is replayed once, at the end
 * of the rebuild: from the first replay it would need, its new events are
 * only recorded.  TRUE when the group is (now) deferred. */
static gboolean
run_defer (Run *run, Group *group)
{
  g_autofree char *key = NULL;
  g_autofree char *all = NULL;

  if (run->deferred == NULL)
    return FALSE;
  key = group_key (group->applier, group->stream);
  all = group_key (group->applier, NULL);
  if (g_hash_table_contains (run->deferred, key)
      || g_hash_table_contains (run->deferred, all))
    return TRUE;
  if (!group->replay)
    return FALSE;
  run_group_for (run->deferred, group->applier, group->stream)->force = TRUE;
  return TRUE;
}

static gboolean run_flush (Run *run, GError **error);

/* Replay the streams a rebuild deferred (see run_defer()). */
static gboolean
run_replay_deferred (Run *run, GError **error)
{
  g_autoptr(GHashTable) deferred = g_steal_pointer (&run->deferred);
  GHashTableIter iter;
  gpointer value;

  if (deferred == NULL || g_hash_table_size (deferred) == 0)
    return TRUE;
  g_debug ("rebuild: %u stream(s) replayed once at the end",
           g_hash_table_size (deferred));
  g_hash_table_iter_init (&iter, deferred);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Group *group = value;

      run_force_replay (run, group->applier, group->stream);
    }
  return jsync_store_begin (run->store, error) && run_flush (run, error);
}

/* Apply the groups in key order. */
static gboolean
run_apply_groups_once (Run *run, GHashTable *groups, GList *keys,
                       GError **error)
{
  for (GList *l = keys; l != NULL; l = l->next)
    {
      Group *group = g_hash_table_lookup (groups, l->data);

      if (group->defer)
        {
          for (guint i = 0; i < group->items->len; i++)
            {
              Item *item = group->items->pdata[i];

              item->status = STATUS_APPLIED;
              run->result->events_applied++;
              if (!run_record_item (run, item, error))
                return FALSE;
            }
          continue;
        }
      if (group->replay)
        {
          if (!run_replay_group (run, group, error))
            return FALSE;
          continue;
        }
      for (guint i = 0; i < group->items->len; i++)
        if (!run_apply_item (run, group->items->pdata[i], NULL, error))
          return FALSE;
    }
  return TRUE;
}

/* Apply the groups under one savepoint; on a rejection, roll them back and
 * apply them again with a savepoint per event (see run_redo_quark()). */
static gboolean
run_apply_groups (Run *run, GHashTable *groups, GList *keys, GError **error)
{
  g_autoptr(GError) fast_error = NULL;
  guint64 applied = run->result->events_applied;

  if (!jsync_store_run (run->store,
                        jsync_store_stmt (run->store,
                                          JSYNC_STMT_BATCH_SAVEPOINT),
                        error))
    return FALSE;
  run->careful = FALSE;
  if (!run_apply_groups_once (run, groups, keys, &fast_error))
    {
      run->careful = TRUE;
      if (!g_error_matches (fast_error, run_redo_quark (), 0))
        {
          g_propagate_error (error, g_steal_pointer (&fast_error));
          return FALSE;
        }
      if (run->store->unjournaled)
        {
          g_set_error_literal (error, jsync_store_needs_journal_quark (), 0,
                               "an event was rejected: the rebuild starts"
                               " over with a journal to roll it back");
          return FALSE;
        }
      if (!jsync_store_run (run->store,
                            jsync_store_stmt (run->store,
                                              JSYNC_STMT_BATCH_ROLLBACK_TO),
                            error))
        return FALSE;
      run->result->events_applied = applied;
      run->careful = TRUE;
      if (!run_apply_groups_once (run, groups, keys, error))
        return FALSE;
    }
  run->careful = TRUE;
  return jsync_store_run (run->store,
                          jsync_store_stmt (run->store,
                                            JSYNC_STMT_BATCH_RELEASE),
                          error);
}

/* Apply the batch (see the head comment). */
static gboolean
run_apply_batch (Run *run, GError **error)
{
  g_autoptr(GHashTable) groups = NULL;
  g_autoptr(GList) keys = NULL;
  GHashTableIter iter;
  gpointer key, value;

  /* Take over the forced replays, then add the batch's events. */
  groups = g_steal_pointer (&run->forced);
  run->forced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       group_free);
  for (guint i = 0; i < run->batch->len; i++)
    {
      Item *item = run->batch->pdata[i];

      g_ptr_array_add (run_group_for (groups, item->applier,
                                      item->applier->plugin->desc->stream
                                          ? item->stream
                                          : "")->items,
                       item);
    }

  /* A whole-applier replay covers its streams. */
  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Group *group = value;
      g_autofree char *all = group_key (group->applier, NULL);
      Group *whole;

      if (group->stream == NULL)
        continue;
      whole = g_hash_table_lookup (groups, all);
      if (whole != NULL)
        {
          g_ptr_array_extend (whole->items, group->items, NULL, NULL);
          g_hash_table_iter_remove (&iter);
        }
    }

  keys = g_list_sort (g_hash_table_get_keys (groups), (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      Group *group = g_hash_table_lookup (groups, l->data);

      g_ptr_array_sort (group->items, item_compare);
      group->replay = group->force || group->stream == NULL;
      group->defer = run_defer (run, group);
      if (!group->defer && !group->replay && group->items->len > 0)
        {
          int ahead = run_stream_is_ahead (run, group, group->items->pdata[0],
                                           error);

          if (ahead < 0)
            return FALSE;
          group->replay = ahead;
          group->defer = run_defer (run, group);
        }
    }
  if (!run_apply_groups (run, groups, keys, error))
    return FALSE;
  if (run->prefetch != NULL && run->batch->len > 0)
    {
      jsync_prefetch_dispose (run->prefetch, run->batch);
      run->batch = g_ptr_array_new_with_free_func (item_free);
    }
  g_ptr_array_set_size (run->batch, 0);
  g_hash_table_remove_all (run->batch_ids);
  run->batch_bytes = 0;
  return TRUE;
}

/* --- Checkpoints --------------------------------------------------------- */

static void
run_mark_dirty (Run *run, Source *source)
{
  if (source->dirty)
    return;
  source->dirty = TRUE;
  g_ptr_array_add (run->dirty, source);
}

static gboolean
run_write_checkpoint (Run *run, Source *source, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store,
                                         JSYNC_STMT_SOURCE_CHECKPOINT);

  sqlite3_bind_int64 (stmt, 1, source->id);
  if (source->has_identity)
    {
      sqlite3_bind_int64 (stmt, 2, source->dev);
      sqlite3_bind_int64 (stmt, 3, source->ino);
      sqlite3_bind_int64 (stmt, 4, source->size);
      sqlite3_bind_int64 (stmt, 5, source->mtime);
    }
  sqlite3_bind_int64 (stmt, 6, source->offset);
  sqlite3_bind_int64 (stmt, 7, source->line);
  sqlite3_bind_int64 (stmt, 8, source->tail_hash);
  sqlite3_bind_int64 (stmt, 9, source->gen);
  sqlite3_bind_int (stmt, 10, source->rereading);
  sqlite3_bind_int (stmt, 11, source->missing);
  source->dirty = FALSE;
  return jsync_store_run (run->store, stmt, error);
}

static Source *run_source_by_id (Run *run, gint64 id);
static gboolean run_same_json (const char *a, gsize a_length, const char *b,
                               gsize b_length);
static gboolean run_new_copy_wins (gint64 new_ts, const char *new_device,
                                   const char *new_raw, gsize new_length,
                                   gint64 old_ts, const char *old_device,
                                   const char *old_raw, gsize old_length);

/* Is the line a copy of the stored event `id`, with the same JSON? */
static gboolean
run_same_as_stored (Run *run, const char *id, const JsyncLine *line,
                    gint64 hash, gboolean *same, GError **error)
{
  sqlite3_stmt *row = jsync_store_stmt (run->store, JSYNC_STMT_EVENT_LOOKUP);
  int rc;

  *same = FALSE;
  sqlite3_bind_text (row, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (row);
  if (rc == SQLITE_ROW)
    {
      gsize length;
      g_autofree char *stored = run_load_stored (row, 8, &length);

      *same = sqlite3_column_int64 (row, 0) == hash
              || run_same_json (stored, length, line->data, line->length);
    }
  sqlite3_reset (row);
  sqlite3_clear_bindings (row);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "look up an event");
      return FALSE;
    }
  return TRUE;
}

/* Is `other` a log that sync tools name like `path` (its conflict copies,
 * or the log they copy): the same folder and the same name up to the first
 * " (", " [" or ".sync-conflict-"? */
static gboolean
run_is_sibling (const char *path, const char *other)
{
  static const char *const marks[] = { " (", " [", ".sync-conflict-",
                                       ".jsonl" };
  const char *name = strrchr (path, '/');
  gsize stem = strlen (path);

  name = name != NULL ? name + 1 : path;
  for (guint i = 0; i < G_N_ELEMENTS (marks); i++)
    {
      const char *mark = strstr (name, marks[i]);

      if (mark != NULL)
        stem = MIN (stem, (gsize) (mark - path));
    }
  return strcmp (path, other) != 0 && strncmp (path, other, stem) == 0
         && strchr (other + stem, '/') == NULL;
}

static gint
run_compare_ids (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* A copy of a lost candidate found in another log. */
typedef struct
{
  Source *source;           /* borrowed */
  guint64 offset;
  guint64 line;
  gint64 hash;
  char *raw;                /* owned */
  gsize length;
} Found;

static void
found_free (gpointer data)
{
  Found *found = data;

  if (found == NULL)
    return;
  g_free (found->raw);
  g_free (found);
}

/* Lost candidates (`ids`, last seen in `from`) that another present log
 * still holds, with the same JSON, are not lost: their record moves to
 * the smallest such copy (the rule's choice among what is left) and they
 * leave `ids`.
 * The logs looked in: those that sync tools name like `from` (a conflict
 * copy read before the log it copies, then deleted, loses nothing), and
 * those that hold events of the same streams.  Costs a read of those logs,
 * as a late event costs its stream. */
static gboolean
run_find_elsewhere (Run *run, Source *from, GPtrArray *ids, GError **error)
{
  /* id → Found* (NULL until a copy is found) */
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal, NULL,
                                                        found_free);
  g_autoptr(GArray) others = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer key, value;
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (run->store->db,
                          "SELECT DISTINCT source FROM jsync_events"
                          " WHERE source <> ?1 AND (applier, stream) IN"
                          " (SELECT applier, stream FROM jsync_events"
                          "  WHERE source = ?1 AND applier IS NOT NULL)"
                          " ORDER BY source",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "find copies of lost events");
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, from->id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 other = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (others, other);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "find copies of lost events");
      return FALSE;
    }
  g_hash_table_iter_init (&iter, run->sources);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Source *sibling = value;

      if (sibling->known && run_is_sibling (from->path, sibling->path))
        g_array_append_val (others, sibling->id);
    }
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_insert (wanted, ids->pdata[i], NULL);

  g_array_sort (others, run_compare_ids);
  for (guint i = 0; i < others->len; i++)
    {
      Source *source = run_source_by_id (run,
                                         g_array_index (others, gint64, i));
      g_autoptr(JsyncReader) reader = NULL;
      JsyncLine line;

      /* Each log once (a sibling may hold events of the stream too). */
      if (source == NULL || !source->present
          || (i > 0 && g_array_index (others, gint64, i - 1) == source->id))
        continue;
      /* One that cannot be read now holds nothing we can see. */
      reader = jsync_reader_open_below (run->self->data_dir, source->path,
                                        0, 0,
                                        jsync_config_get_max_line_bytes (
                                            run->self->config), NULL);
      while (reader != NULL && jsync_reader_next (reader, &line, NULL))
        {
          JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
          json_object *json;
          gint64 hash;
          gboolean same = FALSE;
          gpointer id = NULL;
          Found *found = NULL;

          if (line.too_long
              || (json = jsync_event_parse_json (line.data, line.length,
                                                 NULL)) == NULL)
            continue;
          if (jsync_event_read_envelope (json, &event, NULL))
            g_hash_table_lookup_extended (wanted, event.id, &id,
                                          (gpointer *) &found);
          json_object_put (json);
          if (id == NULL)
            continue;
          hash = jsync_hash (line.data, line.length);
          if (found != NULL
              && (found->hash == hash
                  || !run_new_copy_wins (0, "", line.data, line.length, 0, "",
                                         found->raw, found->length)))
            continue;
          if (!run_same_as_stored (run, id, &line, hash, &same, error))
            return FALSE;
          if (!same)
            continue;
          found = g_new0 (Found, 1);
          found->source = source;
          found->offset = line.offset;
          found->line = line.line;
          found->hash = hash;
          found->raw = g_memdup2 (line.data, line.length);
          found->length = line.length;
          g_hash_table_insert (wanted, id, found);
        }
    }

  /* Move each record to its smallest copy left. */
  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Found *found = value;

      if (found == NULL)
        continue;
      stmt = NULL;
      if (sqlite3_prepare_v2 (run->store->db,
                              "UPDATE jsync_events SET source = ?2,"
                              " offset = ?3, length = ?4, line = ?5,"
                              " hash = ?6, gen = ?7, raw = ?8 WHERE id = ?1",
                              -1, &stmt, NULL) != SQLITE_OK)
        {
          jsync_store_set_error (run->store, error, "move an event");
          return FALSE;
        }
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, found->source->id);
      sqlite3_bind_int64 (stmt, 3, found->offset);
      sqlite3_bind_int64 (stmt, 4, found->length);
      sqlite3_bind_int64 (stmt, 5, found->line);
      sqlite3_bind_int64 (stmt, 6, found->hash);
      sqlite3_bind_int64 (stmt, 7, found->source->gen);
      sqlite3_bind_blob (stmt, 8, found->raw, found->length, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        {
          jsync_store_set_error (run->store, error, "move an event");
          return FALSE;
        }
    }
  /* Keep the ids still lost, in their order. */
  for (guint i = ids->len; i > 0; i--)
    if (g_hash_table_lookup (wanted, ids->pdata[i - 1]) != NULL)
      g_ptr_array_remove_index (ids, i - 1);
  return TRUE;
}

/* Events last seen in a file being read again that its new content no
 * longer holds: lost (docs/design.md "Lost events"). */
static gboolean
run_find_lost (Run *run, Source *source, gboolean whole_file, GError **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (run->store->db,
                          whole_file
                            ? "SELECT id FROM jsync_events WHERE source = ?1"
                              " ORDER BY id"
                            : "SELECT id FROM jsync_events WHERE source = ?1"
                              " AND gen < ?2 ORDER BY id",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "find lost events");
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, source->id);
  sqlite3_bind_int64 (stmt, 2, source->gen);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "find lost events");
      return FALSE;
    }
  if (ids->len > 0 && !run_find_elsewhere (run, source, ids, error))
    return FALSE;
  if (ids->len == 0)
    return TRUE;
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_stmt *insert = jsync_store_stmt (run->store,
                                               JSYNC_STMT_LOST_INSERT);

      sqlite3_bind_text (insert, 1, source->path, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 2, ids->pdata[i], -1, SQLITE_STATIC);
      if (!jsync_store_run (run->store, insert, error))
        return FALSE;
    }
  run->lost_count += ids->len;
  /* Reported at the end of the run (run_report_lost): a copy read later in
   * the run (a conflict copy merged into another log, say) is not lost. */
  {
    GPtrArray *found = g_hash_table_lookup (run->lost_found, source->path);

    if (found == NULL)
      {
        found = g_ptr_array_new_with_free_func (g_free);
        g_hash_table_insert (run->lost_found, g_strdup (source->path), found);
      }
    g_ptr_array_extend_and_steal (found, g_steal_pointer (&ids));
  }
  return TRUE;
}

/* Report the events found lost in this run that no log gave back since. */
static void
run_report_lost (Run *run)
{
  g_autoptr(GList) paths = g_list_sort (g_hash_table_get_keys (run->lost_found),
                                        (GCompareFunc) strcmp);
  sqlite3_stmt *stmt = NULL;

  if (paths != NULL
      && sqlite3_prepare_v2 (run->store->db,
                             "SELECT 1 FROM jsync_lost WHERE file = ?1"
                             " AND id = ?2", -1, &stmt, NULL) != SQLITE_OK)
    stmt = NULL;
  for (GList *l = paths; l != NULL; l = l->next)
    {
      GPtrArray *found = g_hash_table_lookup (run->lost_found, l->data);
      GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < found->len; i++)
        {
          gboolean still = TRUE;

          if (stmt != NULL)
            {
              sqlite3_bind_text (stmt, 1, l->data, -1, SQLITE_STATIC);
              sqlite3_bind_text (stmt, 2, found->pdata[i], -1, SQLITE_STATIC);
              still = sqlite3_step (stmt) == SQLITE_ROW;
              sqlite3_reset (stmt);
              sqlite3_clear_bindings (stmt);
            }
          if (still)
            g_ptr_array_add (ids, g_strdup (found->pdata[i]));
        }
      if (ids->len == 0)
        {
          g_ptr_array_unref (ids);
          continue;
        }
      g_warning ("%s: %u event(s) applied from this file are no longer in it;"
                 " the cache keeps their effects (a rebuild would drop them)",
                 (const char *) l->data, ids->len);
      jsync_result_add_lost (run->result, l->data, ids);
    }
  sqlite3_finalize (stmt);
}

/* Apply the batch and commit it with the checkpoints it covers. */
static gboolean
run_flush (Run *run, GError **error)
{
  g_autoptr(GPtrArray) dirty = NULL;

  if (!jsync_store_begin (run->store, error) || !run_apply_batch (run, error))
    return FALSE;
  dirty = g_steal_pointer (&run->dirty);
  run->dirty = g_ptr_array_new ();
  for (guint i = 0; i < dirty->len; i++)
    {
      Source *source = dirty->pdata[i];

      if (!source->dirty)
        continue;
      if (source->reached_end && source->rereading)
        {
          if (!run_find_lost (run, source, FALSE, error))
            return FALSE;
          source->rereading = FALSE;
        }
      if (!run_write_checkpoint (run, source, error))
        return FALSE;
    }
  return jsync_store_end_batch (run->store, error)
         && jsync_store_commit (run->store, error);
}

/* --- Reading lines ------------------------------------------------------- */

/* Compare a new copy of an event with the stored one: TRUE when they are
 * the same event as parsed JSON. */
static gboolean
run_same_json (const char *a, gsize a_length, const char *b, gsize b_length)
{
  json_object *x = jsync_event_parse_json (a, a_length, NULL);
  json_object *y = jsync_event_parse_json (b, b_length, NULL);
  gboolean same = x != NULL && y != NULL && json_object_equal (x, y);

  json_object_put (x);
  json_object_put (y);
  return same;
}

/* Which copy is the event: the smaller (timestamp, deviceId, raw bytes). */
static gboolean
run_new_copy_wins (gint64 new_ts, const char *new_device, const char *new_raw,
                   gsize new_length, gint64 old_ts, const char *old_device,
                   const char *old_raw, gsize old_length)
{
  int c;

  if (new_ts != old_ts)
    return new_ts < old_ts;
  if ((c = strcmp (new_device, old_device)) != 0)
    return c < 0;
  c = memcmp (new_raw, old_raw, MIN (new_length, old_length));
  if (c != 0)
    return c < 0;
  return new_length < old_length;
}

static JsyncApplierInstance *
run_route (Run *run, const char *type)
{
  JsyncPlugin *plugin = jsync_registry_route (run->self->registry, type);

  if (plugin == NULL)
    return NULL;
  return jsync_store_get_applier (run->store, plugin->desc->name);
}

/* An event of the batch.  It takes `json` (the envelope's strings are
 * borrowed from it) and `raw`, the line's bytes NUL-terminated, or copies
 * the line when raw is NULL. */
static Item *
run_make_item (Run *run, Source *source, const JsyncLine *line,
               JsyncEvent *event, json_object *json, gint64 hash, char *raw)
{
  Item *item = g_new0 (Item, 1);

  item->id = event->id;
  item->device = event->device_id;
  item->type = event->type;
  item->ts = event->timestamp;
  item->json = json;
  if (raw == NULL)
    {
      raw = g_malloc (line->length + 1);
      memcpy (raw, line->data, line->length);
      raw[line->length] = '\0';
    }
  item->raw = raw;
  item->length = line->length;
  item->source = source;
  item->offset = line->offset;
  item->line = line->line;
  item->hash = hash;
  item->applier = run_route (run, event->type);
  if (item->applier != NULL)
    {
      const JsyncApplierDesc *desc = item->applier->plugin->desc;
      const char *stream = NULL;

      event->file = source->path;
      event->line = line->line;
      event->offset = line->offset;
      if (desc->stream != NULL)
        stream = desc->stream (item->applier->state, event);
      item->stream = g_strdup (stream != NULL ? stream : "");
    }
  return item;
}

/* A new event with no applier now: kept whole, as pending. */
static gboolean
run_keep_pending (Run *run, Item *item, GError **error)
{
  if (!run_insert_event (run, item->id, item->ts, item->device, item->type,
                         NULL, NULL, STATUS_PENDING, item->source,
                         item->offset, item->length, item->line, item->hash,
                         item->raw, error))
    return FALSE;
  g_debug ("%s:%" G_GUINT64_FORMAT ": no applier takes \"%s\": pending",
           item->source->path, item->line, item->type);
  return TRUE;
}

static void
run_add_to_batch (Run *run, Item *item)
{
  g_ptr_array_add (run->batch, item);
  g_hash_table_insert (run->batch_ids, (gpointer) item->id, item);
  run->batch_bytes += item->length;
}

/* A copy of an event id already in the batch. */
static void
run_duplicate_in_batch (Run *run, Item *existing, Item *item)
{
  gboolean same = existing->hash == item->hash
                  || run_same_json (existing->raw, existing->length,
                                    item->raw, item->length);

  if (same)
    run->result->events_skipped++;
  else
    {
      run->result->conflicts++;
      g_warning ("%s:%" G_GUINT64_FORMAT ": event %s differs from its copy at"
                 " %s:%" G_GUINT64_FORMAT "; the one that sorts first is kept",
                 item->source->path, item->line, item->id,
                 existing->source->path, existing->line);
    }
  /* The smallest copy is kept even among copies with the same JSON: its
   * bytes take part in the rule against a copy that differs. */
  if (existing->hash != item->hash
      && run_new_copy_wins (item->ts, item->device, item->raw, item->length,
                            existing->ts, existing->device, existing->raw,
                            existing->length))
    {
      guint index;

      g_assert_true (g_ptr_array_find (run->batch, existing, &index));
      run->batch->pdata[index] = item;
      /* replace, not insert: the key must be the new item's id, as the
       * old one's is freed just below. */
      g_hash_table_replace (run->batch_ids, (gpointer) item->id, item);
      item_free (existing);
    }
  else
    item_free (item);
}

/* A copy with the same JSON as the stored event but smaller bytes: it
 * becomes the stored copy (same effect, nothing to re-apply). */
static gboolean
run_keep_smaller_copy (Run *run, Item *item, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (run->store->db,
                          "UPDATE jsync_events SET source = ?2, offset = ?3,"
                          " length = ?4, line = ?5, hash = ?6, gen = ?7,"
                          " raw = ?8 WHERE id = ?1", -1, &stmt, NULL)
      != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "update an event's copy");
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, item->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, item->source->id);
  sqlite3_bind_int64 (stmt, 3, item->offset);
  sqlite3_bind_int64 (stmt, 4, item->length);
  sqlite3_bind_int64 (stmt, 5, item->line);
  sqlite3_bind_int64 (stmt, 6, item->hash);
  sqlite3_bind_int64 (stmt, 7, item->source->gen);
  sqlite3_bind_blob (stmt, 8, item->raw, item->length, SQLITE_STATIC);
  ok = jsync_store_run (run->store, stmt, error);
  sqlite3_finalize (stmt);
  return ok;
}

/* A copy of an event id already recorded in the cache. */
static gboolean
run_duplicate_stored (Run *run, Item *item, sqlite3_stmt *row,
                      GError **error)
{
  gint64 stored_hash = sqlite3_column_int64 (row, 0);
  gint64 stored_ts = sqlite3_column_int64 (row, 1);
  g_autofree char *stored_device = g_strdup ((const char *) sqlite3_column_text (row, 2));
  int stored_status = sqlite3_column_int (row, 3);
  gint64 stored_source = sqlite3_column_int64 (row, 4);
  g_autofree char *stored_applier = g_strdup ((const char *) sqlite3_column_text (row, 9));
  g_autofree char *stored_stream = g_strdup ((const char *) sqlite3_column_text (row, 10));
  g_autofree char *stored_raw = NULL;
  gsize stored_length = 0;
  gboolean own_reread = stored_source == item->source->id
                        && item->source->rereading;

  if (own_reread)
    {
      /* Read again in its own file: note where it now is. */
      sqlite3_stmt *relocate = jsync_store_stmt (run->store,
                                                 JSYNC_STMT_EVENT_RELOCATE);

      sqlite3_bind_text (relocate, 1, item->id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (relocate, 2, item->offset);
      sqlite3_bind_int64 (relocate, 3, item->length);
      sqlite3_bind_int64 (relocate, 4, item->line);
      sqlite3_bind_int64 (relocate, 5, item->source->gen);
      if (stored_hash == item->hash
          && !jsync_store_run (run->store, relocate, error))
        return FALSE;
      sqlite3_reset (relocate);
      sqlite3_clear_bindings (relocate);
    }
  if (run->lost_count > 0)
    {
      sqlite3_stmt *found = jsync_store_stmt (run->store,
                                              JSYNC_STMT_LOST_DELETE);

      sqlite3_bind_text (found, 1, item->id, -1, SQLITE_STATIC);
      if (!jsync_store_run (run->store, found, error))
        return FALSE;
    }
  if (stored_hash == item->hash)
    {
      run->result->events_skipped++;
      return TRUE;
    }

  stored_raw = run_load_stored (row, 8, &stored_length);
  if (run_same_json (stored_raw, stored_length, item->raw, item->length))
    {
      run->result->events_skipped++;
      if (run_new_copy_wins (item->ts, item->device, item->raw, item->length,
                             stored_ts, stored_device, stored_raw,
                             stored_length))
        return run_keep_smaller_copy (run, item, error);
      /* Its own file, read again, still holds it (in other bytes): it is
       * seen in this generation, so not lost. */
      if (own_reread)
        {
          sqlite3_stmt *seen = jsync_store_stmt (run->store,
                                                 JSYNC_STMT_EVENT_SEEN);

          sqlite3_bind_text (seen, 1, item->id, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (seen, 2, item->source->gen);
          return jsync_store_run (run->store, seen, error);
        }
      return TRUE;
    }
  run->result->conflicts++;
  g_warning ("%s:%" G_GUINT64_FORMAT ": event %s differs from the copy read"
             " before; the one that sorts first is kept",
             item->source->path, item->line, item->id);
  if (!run_new_copy_wins (item->ts, item->device, item->raw, item->length,
                          stored_ts, stored_device, stored_raw, stored_length))
    return TRUE;

  /* The new copy is the event: record it, and replay what changes. */
  if (stored_status == STATUS_APPLIED && stored_applier != NULL)
    {
      JsyncApplierInstance *old = jsync_store_get_applier (run->store,
                                                           stored_applier);

      if (old != NULL)
        run_force_replay (run, old, old->plugin->desc->stream != NULL
                                        ? stored_stream : NULL);
    }
  if (item->applier != NULL)
    run_force_replay (run, item->applier,
                      item->applier->plugin->desc->stream != NULL
                          ? item->stream : NULL);
  return run_insert_event (run, item->id, item->ts, item->device, item->type,
                           item->applier, item->stream,
                           item->applier != NULL ? STATUS_APPLIED
                                                 : STATUS_PENDING,
                           item->source, item->offset, item->length,
                           item->line, item->hash, item->raw, error);
}

/* One complete line of a log, read and parsed by the prefetch thread. */
static gboolean
run_handle_line (Run *run, Source *source, JsyncPrefetchRecord *record,
                 GError **error)
{
  const JsyncLine *line = &record->line;
  sqlite3_stmt *lookup;
  Item *item, *existing;
  int rc;

  if (line->too_long)
    {
      g_autofree char *message = g_strdup_printf (
          "line of %" G_GUINT64_FORMAT " bytes exceeds max-line-bytes (%"
          G_GINT64_FORMAT "); its first %zu bytes are kept",
          line->full_length, jsync_config_get_max_line_bytes (run->self->config),
          line->length);

      return run_record_failure (run, source, line->line, line->offset,
                                 line->full_length, NULL, line->data,
                                 line->length, TRUE, message, error);
    }
  if (record->error != NULL)
    return run_record_failure (run, source, line->line, line->offset,
                               line->length, record->event.id, line->data,
                               line->length, FALSE, record->error->message,
                               error);

  item = run_make_item (run, source, line, &record->event,
                        jsync_prefetch_record_steal_json (record),
                        record->hash,
                        jsync_prefetch_record_steal_data (record));
  existing = g_hash_table_lookup (run->batch_ids, item->id);
  if (existing != NULL)
    {
      run_duplicate_in_batch (run, existing, item);
      return TRUE;
    }

  /* The batch's events are recorded when applied: adding their ids now
   * keeps the filter a superset of what is stored. */
  if (run->seen != NULL && !run_seen_add (run, item->id))
    goto new_event;
  lookup = jsync_store_stmt (run->store, JSYNC_STMT_EVENT_LOOKUP);
  sqlite3_bind_text (lookup, 1, item->id, -1, SQLITE_STATIC);
  rc = sqlite3_step (lookup);
  if (rc == SQLITE_ROW)
    {
      gboolean ok = run_duplicate_stored (run, item, lookup, error);

      sqlite3_reset (lookup);
      sqlite3_clear_bindings (lookup);
      item_free (item);
      return ok;
    }
  sqlite3_reset (lookup);
  sqlite3_clear_bindings (lookup);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "look up an event");
      item_free (item);
      return FALSE;
    }

new_event:
  if (item->applier == NULL)
    {
      gboolean ok = run_keep_pending (run, item, error);

      item_free (item);
      return ok;
    }
  run_add_to_batch (run, item);
  return TRUE;
}

/* A log that cannot be read now: reported, skipped this run, checkpoint
 * unmoved past what was read; the run goes on with the others. */
static void
run_file_failed (Run *run, Source *source, const GError *why)
{
  g_warning ("%s: cannot be read: %s", source->path, why->message);
  run->result->files_failed++;
  jsync_result_add_error (run->result, source->path, 0, source->offset, NULL,
                          why->message);
}

static gboolean
run_batch_full (Run *run)
{
  return run->batch->len >= jsync_config_get_batch_size (run->self->config)
         || run->batch_bytes >= BATCH_MAX_BYTES || run->stop;
}

/* The file opened (`st`: its stat then) is the one the scan checked, or
 * one changed or put in its place since (an append, a sync tool's replace)
 * that still holds the checkpoint's bytes; else it is skipped as failed,
 * to be checked again at the next run.  The identity recorded for the
 * file is `st`: the reader reads nothing past its size. */
static gboolean
run_check_opened (Run *run, Source *source, int fd, const struct stat *st)
{
  g_autoptr(GError) why = NULL;
  gint64 tail = 0;

  if (st->st_dev == source->st.st_dev && st->st_ino == source->st.st_ino
      && st->st_size == source->st.st_size
      && st->st_mtim.tv_sec == source->st.st_mtim.tv_sec
      && st->st_mtim.tv_nsec == source->st.st_mtim.tv_nsec)
    return TRUE;
  if (source->offset > 0
      && (!jsync_tail_hash (fd, source->offset, &tail, &why)
          || tail != source->tail_hash))
    {
      g_clear_error (&why);
      g_set_error (&why, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: replaced during this run by a file that differs"
                   " before its checkpoint; it is checked again at the next"
                   " run", source->abs);
      run_file_failed (run, source, why);
      return FALSE;
    }
  source->st = *st;
  return TRUE;
}

/* Read a log's new complete lines (file number `file` of the prefetch),
 * flushing batches as they fill. */
static gboolean
run_read_source (Run *run, Source *source, JsyncPrefetch *prefetch,
                 guint file, GError **error)
{
  g_autoptr(JsyncPrefetchRecord) opened = jsync_prefetch_next (prefetch);
  guint64 start = source->offset;
  int fd;

  if (opened->kind == JSYNC_PREFETCH_OPEN_FAILED)
    {
      run_file_failed (run, source, opened->error);
      return TRUE;
    }
  fd = opened->fd;
  if (!run_check_opened (run, source, fd, &opened->st))
    {
      jsync_prefetch_skip_file (prefetch, file);
      return TRUE;
    }
  if (!jsync_store_begin (run->store, error))
    return FALSE;
  /* The identity is written only once the file was read to its end. */
  source->has_identity = FALSE;
  for (;;)
    {
      g_autoptr(JsyncPrefetchRecord) record = jsync_prefetch_next (prefetch);

      if (record->kind == JSYNC_PREFETCH_READ_FAILED)
        {
          run_file_failed (run, source, record->error);
          return TRUE;
        }
      if (record->kind == JSYNC_PREFETCH_END)
        {
          /* Blank lines at the end move the checkpoint too. */
          source->offset = record->offset;
          source->line = record->lines;
          break;
        }
      if (!run_handle_line (run, source, record, error))
        return FALSE;
      source->offset = record->offset;
      source->line = record->lines;
      run_mark_dirty (run, source);
      if (run_batch_full (run))
        {
          if (!jsync_tail_hash (fd, source->offset, &source->tail_hash,
                                error))
            return FALSE;
          if (!run_flush (run, error))
            return FALSE;
          run_progress (run, "read", run->bytes_done + source->offset - start,
                        run->bytes_total);
          if (run->stop)
            {
              jsync_prefetch_skip_file (prefetch, file);
              return TRUE;
            }
          if (!jsync_store_begin (run->store, error))
            return FALSE;
        }
    }
  if (!jsync_tail_hash (fd, source->offset, &source->tail_hash, error))
    return FALSE;
  /* (At offset 0 there is nothing before to compare.) */
  if (source->limit != NULL
      && (source->offset != source->limit->offset
          || (source->offset > 0
              && source->tail_hash != source->limit->tail_hash)))
    {
      g_set_error (error, JSYNC_SYNC_LIMIT_MOVED, 0,
                   "%s: its bytes before %" G_GUINT64_FORMAT " changed while"
                   " it was read", source->path, source->limit->offset);
      return FALSE;
    }
  source->reached_end = TRUE;
  source->has_identity = TRUE;
  source->dev = source->st.st_dev;
  source->ino = source->st.st_ino;
  source->size = source->st.st_size;
  source->mtime = (gint64) source->st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
                  + source->st.st_mtim.tv_nsec;
  run_mark_dirty (run, source);
  if (source->offset > start)
    {
      source->had_bytes = TRUE;
      g_ptr_array_add (run->result->files_processed, g_strdup (source->path));
    }
  run->bytes_done += source->st.st_size > (off_t) start
                         ? (guint64) source->st.st_size - start : 0;
  return TRUE;
}

/* --- Scanning the data folder ------------------------------------------- */

/* A scan of the data folder.  It touches neither the cache nor the Run, so
 * that it runs in a thread while run_load_sources() reads the cache; the
 * logs it finds go to the Run's thread in blocks, merged as they come. */
#define SCAN_BLOCK 256

typedef struct
{
  struct stat st;
  gsize path;                 /* offset in ScanBlock.paths */
} ScanFound;

/* A folder or entry the scan could not look into (a folder it may not
 * read, say): the logs known under it are not gone, only unseen. */
typedef struct
{
  char *path;                 /* relative to the data folder */
  char *message;
} ScanUnseen;

static void
scan_unseen_free (gpointer data)
{
  ScanUnseen *unseen = data;

  g_free (unseen->path);
  g_free (unseen->message);
  g_free (unseen);
}

typedef struct
{
  guint length;
  gboolean last;              /* the scan is over */
  GString *paths;             /* owned: relative paths, each ending in NUL */
  ScanFound found[SCAN_BLOCK];
} ScanBlock;

typedef struct
{
  const char *data_dir;       /* borrowed */
  const char *const *ignore;  /* borrowed: the keyfile's globs */
  GString *relative;          /* owned: the entry being looked at */
  ScanBlock *block;           /* owned: being filled */
  GAsyncQueue *blocks;        /* owned: of ScanBlock*, full ones */
  GAsyncQueue *spare;         /* owned: of ScanBlock*, merged ones, to be
                               * filled again (fresh memory costs a page
                               * fault per 4 KiB) */
  GPtrArray *unseen;          /* owned: of ScanUnseen*, entries that could
                               * not be looked at */
  GPtrArray *warnings;        /* owned: of char*, entries skipped, in the
                               * order met */
  GError *error;              /* owned: the data folder cannot be read */
} Scan;

static ScanBlock *
scan_block_new (Scan *scan)
{
  ScanBlock *block = g_async_queue_try_pop (scan->spare);

  if (block == NULL)
    {
      block = g_new (ScanBlock, 1);
      block->paths = g_string_sized_new (SCAN_BLOCK * 64);
    }
  block->length = 0;
  block->last = FALSE;
  g_string_truncate (block->paths, 0);
  return block;
}

static void
scan_block_free (ScanBlock *block)
{
  g_string_free (block->paths, TRUE);
  g_free (block);
}

static gboolean
scan_is_ignored (Scan *scan, const char *relative, const char *name)
{
  for (guint i = 0; scan->ignore[i] != NULL; i++)
    if (g_pattern_match_simple (scan->ignore[i], relative)
        || g_pattern_match_simple (scan->ignore[i], name))
      return TRUE;
  return FALSE;
}

/* Keep a warning about the entry being looked at (the data folder itself
 * when it is ""), to be given in the run's thread. */
static void
scan_unseen (Scan *scan, const char *what, int saved_errno)
{
  ScanUnseen *unseen = g_new (ScanUnseen, 1);

  unseen->path = g_strdup (scan->relative->str);
  unseen->message = g_strdup_printf ("%s: %s", what,
                                     g_strerror (saved_errno));
  g_ptr_array_add (scan->unseen, unseen);
}

/* Scan the folder open on @fd (taken) whose path relative to the data folder
 * is scan->relative ("" for the data folder).  Entries are looked at
 * relative to the folder: no walk of their whole path. */
static void
scan_dir (Scan *scan, int fd)
{
  DIR *dir = fdopendir (fd);
  gsize base = scan->relative->len;
  struct dirent *entry;

  if (dir == NULL)
    {
      scan_unseen (scan, "cannot be read", errno);
      close (fd);
      return;
    }
  for (;;)
    {
      const char *name;
      gboolean log;
      ScanFound *found;

      errno = 0;
      entry = readdir (dir);
      if (entry == NULL)
        break;
      name = entry->d_name;
      if (name[0] == '.')
        continue;
      log = g_str_has_suffix (name, ".jsonl");
      /* Neither a log nor a folder: nothing to look at. */
      if (!log && entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN)
        continue;
      g_string_truncate (scan->relative, base);
      if (base > 0)
        g_string_append_c (scan->relative, G_DIR_SEPARATOR);
      g_string_append (scan->relative, name);
      if (scan_is_ignored (scan, scan->relative->str, name))
        continue;
      found = &scan->block->found[scan->block->length];
      if (fstatat (dirfd (dir), name, &found->st, AT_SYMLINK_NOFOLLOW) != 0)
        {
          /* Gone since it was listed: gone. */
          if (errno != ENOENT)
            scan_unseen (scan, "cannot be looked at", errno);
          continue;
        }
      if (S_ISDIR (found->st.st_mode))
        {
          int sub = openat (dirfd (dir), name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK
                              | O_CLOEXEC);

          if (sub < 0 && errno != ENOENT)
            scan_unseen (scan, "cannot be read", errno);
          else if (sub >= 0)
            scan_dir (scan, sub);
          continue;
        }
      if (!log)
        continue;
      if (!S_ISREG (found->st.st_mode))
        {
          g_ptr_array_add (scan->warnings,
                           g_strdup_printf ("%s: skipped: %s",
                                            scan->relative->str,
                                            S_ISLNK (found->st.st_mode)
                                              ? "a symbolic link"
                                              : "not a regular file"));
          continue;
        }
      found->path = scan->block->paths->len;
      g_string_append_len (scan->block->paths, scan->relative->str,
                           scan->relative->len + 1);
      if (++scan->block->length == SCAN_BLOCK)
        {
          g_async_queue_push (scan->blocks, scan->block);
          scan->block = scan_block_new (scan);
        }
    }
  if (errno != 0)
    {
      /* The entries after the one that failed are not seen by this run. */
      g_string_truncate (scan->relative, base);
      scan_unseen (scan, "could not be read to its end", errno);
    }
  g_string_truncate (scan->relative, base);
  closedir (dir);
}

/* The scan's thread: the whole data folder, then the last block. */
static gpointer
scan_run (gpointer data)
{
  Scan *scan = data;
  int fd = open (scan->data_dir,
                 O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (&scan->error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "data folder %s: %s", scan->data_dir,
                   g_strerror (saved_errno));
    }
  else
    scan_dir (scan, fd);
  scan->block->last = TRUE;
  g_async_queue_push (scan->blocks, g_steal_pointer (&scan->block));
  return NULL;
}

/* Load every known source (checkpoints) into the run. */
static gboolean
run_load_sources (Run *run, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  SourceBlock *block = NULL;
  int rc;

  if (sqlite3_prepare_v2 (run->store->db,
                          "SELECT id, path, dev, ino, size, mtime, offset, line,"
                          " tail_hash, gen, rereading, missing FROM jsync_sources",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "read jsync_sources");
      return FALSE;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *path = (const char *) sqlite3_column_text (stmt, 1);
      Source *source = source_new (&block, run->self->data_dir,
                                   path != NULL ? path : "",
                                   sqlite3_column_bytes (stmt, 1));

      source->id = sqlite3_column_int64 (stmt, 0);
      source->known = TRUE;
      source->has_identity = sqlite3_column_type (stmt, 2) != SQLITE_NULL;
      source->dev = sqlite3_column_int64 (stmt, 2);
      source->ino = sqlite3_column_int64 (stmt, 3);
      source->size = sqlite3_column_int64 (stmt, 4);
      source->mtime = sqlite3_column_int64 (stmt, 5);
      source->offset = sqlite3_column_int64 (stmt, 6);
      source->line = sqlite3_column_int64 (stmt, 7);
      source->tail_hash = sqlite3_column_int64 (stmt, 8);
      source->gen = sqlite3_column_int64 (stmt, 9);
      source->rereading = sqlite3_column_int (stmt, 10);
      source->missing = sqlite3_column_int (stmt, 11);
      g_hash_table_insert (run->sources, source->path, source);
      g_hash_table_insert (run->sources_by_id, &source->id, source);
    }
  sqlite3_finalize (stmt);
  if (block != NULL)
    source_block_unref (block);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "read jsync_sources");
      return FALSE;
    }
  return TRUE;
}

/* Load the known sources and scan the data folder, both at once (the scan
 * in a thread of its own); the logs found are marked present, in @found. */
static gboolean
run_scan (Run *run, GPtrArray *found, GError **error)
{
  Scan scan = {
    .data_dir = run->self->data_dir,
    .ignore = jsync_config_get_ignore (run->self->config),
    .relative = g_string_new (NULL),
    .blocks = g_async_queue_new (),
    .spare = g_async_queue_new_full ((GDestroyNotify) scan_block_free),
    .warnings = g_ptr_array_new_with_free_func (g_free),
    .unseen = g_ptr_array_new_with_free_func (scan_unseen_free),
  };
  GThread *thread;
  SourceBlock *block = NULL;
  gboolean ok;
  gboolean last = FALSE;

  scan.block = scan_block_new (&scan);
  thread = g_thread_try_new ("jsync-scan", scan_run, &scan, NULL);
  if (thread == NULL)
    scan_run (&scan);
  ok = run_load_sources (run, error);
  while (!last)
    {
      ScanBlock *scanned = g_async_queue_pop (scan.blocks);

      for (guint i = 0; ok && i < scanned->length; i++)
        {
          ScanFound *entry = &scanned->found[i];
          const char *path = scanned->paths->str + entry->path;
          Source *source = g_hash_table_lookup (run->sources, path);

          if (source == NULL)
            {
              source = source_new (&block, run->self->data_dir, path,
                                   strlen (path));
              g_hash_table_insert (run->sources, source->path, source);
            }
          source->st = entry->st;
          source->present = TRUE;
          g_ptr_array_add (found, source);
        }
      last = scanned->last;
      g_async_queue_push (scan.spare, scanned);
    }
  if (block != NULL)
    source_block_unref (block);
  if (thread != NULL)
    g_thread_join (thread);
  if (ok)
    {
      for (guint i = 0; i < scan.warnings->len; i++)
        g_warning ("%s", (const char *) scan.warnings->pdata[i]);
      if (scan.error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&scan.error));
          ok = FALSE;
        }
    }
  g_clear_error (&scan.error);
  g_ptr_array_unref (scan.warnings);
  run->unseen = scan.unseen;
  g_async_queue_unref (scan.spare);
  g_async_queue_unref (scan.blocks);
  g_string_free (scan.relative, TRUE);
  return ok;
}

/* Decide how a present file is read: not at all, from its checkpoint, or
 * again from its start (with the reason). */
static gboolean
run_check_source (Run *run, Source *source, gboolean *read, char **reason,
                  GError **error)
{
  gint64 mtime = (gint64) source->st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
                 + source->st.st_mtim.tv_nsec;
  int fd;
  gint64 tail = 0;
  g_autoptr(GError) local_error = NULL;

  *read = TRUE;
  *reason = NULL;
  if (!source->known)
    return TRUE;
  if (source->has_identity && !source->rereading
      && source->dev == (gint64) source->st.st_dev
      && source->ino == (gint64) source->st.st_ino
      && source->size == source->st.st_size && source->mtime == mtime)
    {
      *read = FALSE;
      return TRUE;
    }
  if ((guint64) source->st.st_size < source->offset)
    {
      *reason = g_strdup_printf ("it shrank to %" G_GINT64_FORMAT
                                 " bytes, below its checkpoint at %"
                                 G_GUINT64_FORMAT,
                                 (gint64) source->st.st_size, source->offset);
      return TRUE;
    }
  /* No bytes before the checkpoint to compare (a file that could not be
   * read yet has no hash of them either). */
  if (source->offset == 0)
    return TRUE;
  fd = jsync_path_open_below (run->self->data_dir, source->path, O_RDONLY);
  if (fd < 0)
    {
      g_set_error (&local_error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s",
                   g_strerror (errno));
      run_file_failed (run, source, local_error);
      *read = FALSE;
      return TRUE;
    }
  if (!jsync_tail_hash (fd, source->offset, &tail, &local_error))
    {
      close (fd);
      run_file_failed (run, source, local_error);
      *read = FALSE;
      return TRUE;
    }
  close (fd);
  if (tail != source->tail_hash)
    *reason = g_strdup_printf ("its content before byte %" G_GUINT64_FORMAT
                               " changed", source->offset);
  return TRUE;
}

/* Give a new source its row. */
static gboolean
run_insert_source (Run *run, Source *source, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_stmt (run->store, JSYNC_STMT_SOURCE_INSERT);

  sqlite3_bind_text (stmt, 1, source->path, -1, SQLITE_STATIC);
  if (!jsync_store_run (run->store, stmt, error))
    return FALSE;
  source->id = sqlite3_last_insert_rowid (run->store->db);
  source->known = TRUE;
  g_hash_table_insert (run->sources_by_id, &source->id, source);
  return TRUE;
}

static gint
source_compare (gconstpointer a, gconstpointer b)
{
  const Source *x = *(Source *const *) a;
  const Source *y = *(Source *const *) b;

  if (x->rereading != y->rereading)
    return x->rereading ? -1 : 1;
  return strcmp (x->path, y->path);
}

/* Stored events of one status that an applier takes now, as batch items
 * in key order. */
static gboolean
run_load_stored_items (Run *run, int status, GPtrArray *items, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (run->store->db,
                          "SELECT id, ts, device, type, source, offset, length,"
                          " line, hash, raw FROM jsync_events WHERE status = ?1"
                          " AND status <> 0"
                          " ORDER BY ts, device, id",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "read stored events");
      return FALSE;
    }
  sqlite3_bind_int (stmt, 1, status);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (stmt, 3);
      JsyncApplierInstance *applier = run_route (run, type);
      g_autoptr(GError) bad = NULL;
      JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
      Source *source = run_source_by_id (run, sqlite3_column_int64 (stmt, 4));
      json_object *json;
      JsyncLine line = { 0 };
      Item *item;

      if (applier == NULL || source == NULL
          || sqlite3_column_type (stmt, 9) != SQLITE_BLOB)
        continue;
      line.data = sqlite3_column_blob (stmt, 9);
      line.length = sqlite3_column_bytes (stmt, 9);
      line.offset = sqlite3_column_int64 (stmt, 5);
      line.line = sqlite3_column_int64 (stmt, 7);
      json = jsync_event_parse_json_with (run->tok, line.data, line.length,
                                          &bad);
      if (json == NULL || !jsync_event_read_envelope (json, &event, &bad))
        {
          json_object_put (json);
          continue;
        }
      item = run_make_item (run, source, &line, &event, json,
                            sqlite3_column_int64 (stmt, 8), NULL);
      g_ptr_array_add (items, item);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "read stored events");
      return FALSE;
    }
  return TRUE;
}

/* Forget the failure records of a failed event about to be applied again
 * (in the same transaction: a new failure is recorded anew). */
static gboolean
run_forget_failure (Run *run, Item *item, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (run->store->db,
                          "DELETE FROM jsync_failed WHERE event_id = ?1"
                          " AND raw = ?2",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (run->store, error, "forget a failure");
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, item->id, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 2, item->raw, item->length, SQLITE_STATIC);
  ok = jsync_store_run (run->store, stmt, error);
  sqlite3_finalize (stmt);
  return ok;
}

/* Apply stored events (taken from `items`) through batches, each in its
 * place in the key order of its stream; with forget_failures, their
 * failure records go in the batch that applies them. */
static gboolean
run_apply_items (Run *run, GPtrArray *items, gboolean forget_failures,
                 GError **error)
{
  if (!jsync_store_begin (run->store, error))
    return FALSE;
  while (items->len > 0)
    {
      Item *item = g_ptr_array_steal_index (items, 0);

      run_add_to_batch (run, item);
      if (forget_failures && !run_forget_failure (run, item, error))
        return FALSE;
      if (run_batch_full (run))
        {
          if (!run_flush (run, error))
            return FALSE;
          if (!jsync_store_begin (run->store, error))
            return FALSE;
        }
    }
  return run_flush (run, error);
}

/* Pending events that an applier now takes: apply them (catch-up). */
static gboolean
run_catch_up_pending (Run *run, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (item_free);

  if (!run_load_stored_items (run, STATUS_PENDING, items, error))
    return FALSE;
  if (items->len == 0)
    return TRUE;
  g_message ("applying %u pending event(s) that an applier now takes",
             items->len);
  return run_apply_items (run, items, FALSE, error);
}

/* Appliers whose tables were recreated (schema version): replay them. */
static gboolean
run_replay_upgraded (Run *run, GError **error)
{
  gboolean any = FALSE;

  for (guint i = 0; i < run->store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = run->store->appliers->pdata[i];

      if (!applier->needs_replay)
        continue;
      run_force_replay (run, applier, NULL);
      any = TRUE;
    }
  if (!any)
    return TRUE;
  if (!run_flush (run, error))
    return FALSE;
  for (guint i = 0; i < run->store->appliers->len; i++)
    ((JsyncApplierInstance *) run->store->appliers->pdata[i])->needs_replay = FALSE;
  return TRUE;
}

static guint64
run_count (Run *run, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  guint64 count = 0;

  if (sqlite3_prepare_v2 (run->store->db, sql, -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return count;
}

/* Is `path` the unseen entry `unseen` or under it? */
static gboolean
run_is_under (const char *path, const char *unseen)
{
  gsize length = strlen (unseen);

  return length == 0
         || (strncmp (path, unseen, length) == 0
             && (path[length] == '\0' || path[length] == G_DIR_SEPARATOR));
}

/* Does the scan's view of `path` lack something it could not look into? */
static gboolean
run_is_unseen (Run *run, const char *path)
{
  for (guint i = 0; run->unseen != NULL && i < run->unseen->len; i++)
    if (run_is_under (path, ((ScanUnseen *) run->unseen->pdata[i])->path))
      return TRUE;
  return FALSE;
}

/* What the scan could not look into fails the run (exit 3), as a log that
 * cannot be read does; each is reported once. */
static void
run_report_unseen (Run *run)
{
  for (guint i = 0; run->unseen != NULL && i < run->unseen->len; i++)
    {
      ScanUnseen *unseen = run->unseen->pdata[i];
      const char *path = *unseen->path != '\0' ? unseen->path : ".";

      g_warning ("%s: %s; the logs under it are looked for again at the"
                 " next run", path, unseen->message);
      run->result->files_failed++;
      jsync_result_add_error (run->result, path, 0, 0, NULL,
                              unseen->message);
    }
}

/* Files gone since the last run: their events are lost (kept, reported).
 * A file the scan did not see because it could not look into its folder
 * is not gone. */
static gboolean
run_mark_missing (Run *run, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  run_report_unseen (run);
  g_hash_table_iter_init (&iter, run->sources);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Source *source = value;

      if (source->present || !source->known || source->missing
          || run_is_unseen (run, source->path))
        continue;
      if (!jsync_store_begin (run->store, error)
          || !run_find_lost (run, source, TRUE, error))
        return FALSE;
      source->missing = TRUE;
      source->has_identity = FALSE;
      if (!run_write_checkpoint (run, source, error))
        return FALSE;
    }
  return jsync_store_commit (run->store, error);
}

/* Give a run its tables; run_teardown() frees them. */
static void
run_setup (Run *run, JsyncCoordinator *self, JsyncStore *store,
           JsyncResult *result)
{
  run->self = self;
  run->store = store;
  run->result = result;
  run->careful = TRUE;
  run->tok = jsync_event_tokener_new ();
  run->sources = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        source_free);
  run->sources_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  run->dirty = g_ptr_array_new ();
  run->batch = g_ptr_array_new_with_free_func (item_free);
  run->batch_ids = g_hash_table_new (g_str_hash, g_str_equal);
  run->forced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       group_free);
  run->lost_found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_ptr_array_unref);
}

static void
run_teardown (Run *run)
{
  g_hash_table_unref (run->lost_found);
  g_clear_pointer (&run->unseen, g_ptr_array_unref);
  g_hash_table_unref (run->forced);
  g_hash_table_unref (run->batch_ids);
  g_ptr_array_unref (run->batch);
  g_hash_table_unref (run->sources_by_id);
  g_clear_pointer (&run->dirty, g_ptr_array_unref);
  g_hash_table_unref (run->sources);
  g_free (run->seen);
  json_tokener_free (run->tok);
  g_clear_pointer (&run->deferred, g_hash_table_unref);
}

/* Apply the stored events of one status that an applier takes now. */
static gboolean
run_apply_stored (JsyncCoordinator *self, JsyncStore *store, int status,
                  JsyncResult *result, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (item_free);
  Run run = { 0 };
  gboolean ok;

  run_setup (&run, self, store, result);
  ok = run_load_sources (&run, error)
       && run_load_stored_items (&run, status, items, error)
       && run_apply_items (&run, items, status == STATUS_FAILED, error);
  if (!ok)
    jsync_store_rollback (store);
  result->events_pending = run_count (&run, "SELECT count(*) FROM jsync_events"
                                            " WHERE status = 1 AND status <> 0");
  /* Items not yet in a batch refer to the run's sources. */
  g_ptr_array_set_size (items, 0);
  run_teardown (&run);
  if (ok && run.stop)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_EVENT,
                   "--strict: stopped at the first failed event");
      ok = FALSE;
    }
  return ok;
}

/**
 * jsync_sync_catch_up:
 * Apply the stored pending events that an applier takes now, without
 * reading the logs.
 */
gboolean
jsync_sync_catch_up (JsyncCoordinator *self, JsyncStore *store,
                     JsyncResult *result, GError **error)
{
  return run_apply_stored (self, store, STATUS_PENDING, result, error);
}

/**
 * jsync_sync_retry_failed:
 * Apply every failed event again, in its place in its stream; the ones
 * that apply leave jsync_failed, the others are recorded anew.
 */
gboolean
jsync_sync_retry_failed (JsyncCoordinator *self, JsyncStore *store,
                         JsyncResult *result, GError **error)
{
  return run_apply_stored (self, store, STATUS_FAILED, result, error);
}

/**
 * jsync_sync_run:
 * One sync over the store: pending catch-up, schema replays, then every
 * log's new lines.
 */
G_DEFINE_QUARK (jsync-sync-limit-moved, jsync_sync_limit_moved)

gboolean
jsync_sync_run (JsyncCoordinator *self, JsyncStore *store,
                gboolean rebuilding, GHashTable *limits, JsyncResult *result,
                GError **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  g_autoptr(JsyncPrefetch) prefetch = NULL;
  Run run = { 0 };
  gboolean ok = FALSE;

  run_setup (&run, self, store, result);
  run.rebuilding = rebuilding;
  run.limits = limits;
  if (rebuilding
      && run_count (&run, "SELECT count(*) FROM (SELECT 1 FROM jsync_events"
                          " LIMIT 1)") == 0)
    run.seen = g_new0 (guint64, SEEN_BITS / 64);
  if (rebuilding)
    run.deferred = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          group_free);

  run_progress (&run, "scan", 0, 0);
  if (!run_scan (&run, found, error))
    goto rollback;
  run.lost_count = run_count (&run, "SELECT count(*) FROM jsync_lost");
  if (!run_mark_missing (&run, error)
      || !run_replay_upgraded (&run, error)
      || !run_catch_up_pending (&run, error))
    goto rollback;

  /* Decide what to read; files read again go first. */
  {
    g_autoptr(GPtrArray) to_read = g_ptr_array_new ();

    if (!jsync_store_begin (store, error))
      goto rollback;
    for (guint i = 0; i < found->len; i++)
      {
        Source *source = found->pdata[i];
        g_autofree char *reason = NULL;
        gboolean read;

        if (limits != NULL)
          {
            source->limit = g_hash_table_lookup (limits, source->path);
            if (source->limit == NULL)
              continue;
          }
        if (!run_check_source (&run, source, &read, &reason, error))
          goto rollback;
        if (!read)
          continue;
        if (!source->known && !run_insert_source (&run, source, error))
          goto rollback;
        /* Back after a run found it gone: its events were reported lost,
         * and only reading them again shows they are not. */
        if (source->missing && reason == NULL)
          reason = g_strdup ("it was gone and is back");
        source->missing = FALSE;
        if (reason != NULL)
          {
            g_warning ("%s: read again from the start: %s", source->path,
                       reason);
            jsync_result_add_reread (result, source->path, reason);
            source->gen++;
            source->rereading = TRUE;
            source->offset = 0;
            source->line = 0;
            /* Earlier records of its bad lines are made again as it is
             * read; failed events (known by id, so skipped as duplicates
             * when read again) keep theirs. */
            {
              g_autofree char *sql = g_strdup_printf (
                  "DELETE FROM jsync_failed WHERE source = %" G_GINT64_FORMAT
                  " AND (event_id IS NULL OR event_id NOT IN"
                  " (SELECT id FROM jsync_events WHERE status = 2"
                  " AND status <> 0))",
                  source->id);

              if (!jsync_store_exec (store, sql, error))
                goto rollback;
            }
          }
        run.bytes_total += (guint64) source->st.st_size > source->offset
                               ? (guint64) source->st.st_size - source->offset
                               : 0;
        g_ptr_array_add (to_read, source);
      }
    g_ptr_array_sort (to_read, source_compare);
    /* The scan is over: how much there is to read is known. */
    run_progress (&run, "scan", 0, run.bytes_total);
    if (to_read->len > 0)
      {
        g_autofree const char **paths = g_new (const char *, to_read->len);
        g_autofree guint64 *offsets = g_new (guint64, to_read->len);
        g_autofree guint64 *lines = g_new (guint64, to_read->len);
        g_autofree guint64 *ends = g_new (guint64, to_read->len);

        for (guint i = 0; i < to_read->len; i++)
          {
            Source *source = to_read->pdata[i];

            paths[i] = source->path;
            offsets[i] = source->offset;
            lines[i] = source->line;
            ends[i] = source->limit != NULL ? source->limit->offset
                                            : G_MAXUINT64;
          }
        prefetch = jsync_prefetch_start (
            self->data_dir, paths, offsets, lines,
            limits != NULL ? ends : NULL, to_read->len,
            jsync_config_get_max_line_bytes (self->config));
        run.prefetch = prefetch;
      }
    for (guint i = 0; i < to_read->len && !run.stop; i++)
      {
        if (!run_read_source (&run, to_read->pdata[i], prefetch, i, error))
          goto rollback;
        run_progress (&run, "read", run.bytes_done, run.bytes_total);
      }
  }
  if (!run_flush (&run, error) || !run_replay_deferred (&run, error))
    goto rollback;
  run_progress (&run, "read", run.bytes_total, run.bytes_total);
  ok = TRUE;

rollback:
  if (!ok)
    jsync_store_rollback (store);
  run_report_lost (&run);
  result->events_pending = run_count (&run, "SELECT count(*) FROM jsync_events"
                                            " WHERE status = 1 AND status <> 0");
  run_teardown (&run);
  if (ok && run.stop)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_EVENT,
                   "--strict: stopped at the first failed event");
      ok = FALSE;
    }
  return ok;
}
