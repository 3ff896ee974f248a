/* jsync-sync.c: one sync run, its driver and its passes (docs/design.md
 * "The sync contract").
 *
 * A run scans the data folder (jsync-scan.c), reports the logs gone
 * (jsync-lost.c), replays the appliers whose tables were recreated,
 * applies the pending events an applier now takes, and checks each log's
 * checkpoint; then it reads the new complete lines of each (jsync-read.c)
 * in batches, each applied in one transaction (jsync-apply.c).
 */
#include <string.h>

#include "jsync-sync-private.h"

void
run_progress (Run *run, const char *phase, guint64 done, guint64 total)
{
  if (run->context->progress != NULL)
    run->context->progress (phase, done, total,
                            run->result->events_applied
                              + run->result->events_skipped
                              + run->result->events_failed,
                            run->context->progress_data);
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
run_load_stored_items (Run *run, JsyncEventStatus status, GPtrArray *items,
                       GError **error)
{
  sqlite3_stmt *stmt = jsync_store_events_with_status (run->store, status,
                                                       error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (
          stmt, JSYNC_STATUS_ROW_TYPE);
      JsyncApplierInstance *applier = read_route (run, type);
      g_autoptr(GError) bad = NULL;
      JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
      Source *source = source_by_id (
          run, sqlite3_column_int64 (stmt, JSYNC_STATUS_ROW_SOURCE));
      json_object *json;
      JsyncLine line = { 0 };
      Item *item;

      if (applier == NULL || source == NULL
          || sqlite3_column_type (stmt, JSYNC_STATUS_ROW_RAW) != SQLITE_BLOB)
        continue;
      line.data = sqlite3_column_blob (stmt, JSYNC_STATUS_ROW_RAW);
      line.length = sqlite3_column_bytes (stmt, JSYNC_STATUS_ROW_RAW);
      line.offset = sqlite3_column_int64 (stmt, JSYNC_STATUS_ROW_OFFSET);
      line.line = sqlite3_column_int64 (stmt, JSYNC_STATUS_ROW_LINE);
      json = jsync_event_parse_json_with (run->tok, line.data, line.length,
                                          &bad);
      if (json == NULL || !jsync_event_read_envelope (json, &event, &bad))
        {
          json_object_put (json);
          continue;
        }
      item = read_make_item (run, source, &line, &event, json,
                             sqlite3_column_int64 (stmt,
                                                   JSYNC_STATUS_ROW_HASH),
                             NULL);
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
  return jsync_store_failed_forget (run->store, item->id, item->raw,
                                    item->length, error);
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

      apply_add_to_batch (run, item);
      if (forget_failures && !run_forget_failure (run, item, error))
        return FALSE;
      if (apply_batch_full (run))
        {
          if (!apply_flush (run, error))
            return FALSE;
          if (!jsync_store_begin (run->store, error))
            return FALSE;
        }
    }
  return apply_flush (run, error);
}

/* Pending events that an applier now takes: apply them (catch-up). */
static gboolean
run_catch_up_pending (Run *run, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (item_free);

  if (!run_load_stored_items (run, JSYNC_EVENT_PENDING, items, error))
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
      apply_force_replay (run, applier, NULL);
      any = TRUE;
    }
  if (!any)
    return TRUE;
  if (!apply_flush (run, error))
    return FALSE;
  for (guint i = 0; i < run->store->appliers->len; i++)
    ((JsyncApplierInstance *) run->store->appliers->pdata[i])->needs_replay = FALSE;
  return TRUE;
}

/* Give a run its tables; run_teardown() frees them. */
static void
run_setup (Run *run, const JsyncSyncContext *context, JsyncStore *store,
           JsyncResult *result)
{
  run->context = context;
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

/* Count the pending events into the result, free the run's tables, and
 * fail a --strict run that met a failure; returns what the run returns. */
static gboolean
run_end (Run *run, gboolean ok, GError **error)
{
  /* The count is the run's last read: its failure fails the run. */
  ok = jsync_store_count_of (run->store, JSYNC_COUNT_PENDING,
                             &run->result->events_pending,
                             ok ? error : NULL)
       && ok;
  run_teardown (run);
  if (ok && run->stop)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_EVENT,
                   "--strict: stopped at the first failed event");
      ok = FALSE;
    }
  return ok;
}

/* --- Stored events applied again ---------------------------------------- */

/* Apply the stored events of one status that an applier takes now. */
static gboolean
run_apply_stored (const JsyncSyncContext *context, JsyncStore *store,
                  JsyncEventStatus status,
                  JsyncResult *result, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (item_free);
  Run run = { 0 };
  gboolean ok;

  run_setup (&run, context, store, result);
  ok = scan_load_sources (&run, error)
       && run_load_stored_items (&run, status, items, error)
       && run_apply_items (&run, items, status == JSYNC_EVENT_FAILED, error);
  if (!ok)
    jsync_store_rollback (store);
  /* Items not yet in a batch refer to the run's sources. */
  g_ptr_array_set_size (items, 0);
  return run_end (&run, ok, error);
}

/**
 * jsync_sync_catch_up:
 * Apply the stored pending events that an applier takes now, without
 * reading the logs.
 */
gboolean
jsync_sync_catch_up (const JsyncSyncContext *context, JsyncStore *store,
                     JsyncResult *result, GError **error)
{
  return run_apply_stored (context, store, JSYNC_EVENT_PENDING, result, error);
}

/**
 * jsync_sync_retry_failed:
 * Apply every failed event again, in its place in its stream; the ones
 * that apply leave jsync_failed, the others are recorded anew.
 */
gboolean
jsync_sync_retry_failed (const JsyncSyncContext *context,
                         JsyncStore *store, JsyncResult *result,
                         GError **error)
{
  return run_apply_stored (context, store, JSYNC_EVENT_FAILED, result, error);
}

/* --- The run ------------------------------------------------------------ */

/* A log read again from its start, for `reason`: a new generation of its
 * events (docs/design.md "Lost events"). */
static gboolean
run_reread_from_start (Run *run, Source *source, const char *reason,
                       GError **error)
{
  g_warning ("%s: read again from the start: %s", source->path, reason);
  jsync_result_add_reread (run->result, source->path, reason);
  source->gen++;
  source->rereading = TRUE;
  source->offset = 0;
  source->line = 0;
  /* Earlier records of its bad lines are made again as it is
   * read; failed events (known by id, so skipped as duplicates
   * when read again) keep theirs. */
  return jsync_store_failed_forget_lines (run->store, source->id, error);
}

/* Decide what to read of the logs `found`, into `to_read`; files read
 * again go first. */
static gboolean
run_plan_reads (Run *run, GPtrArray *found, GPtrArray *to_read,
                GError **error)
{
  if (!jsync_store_begin (run->store, error))
    return FALSE;
  for (guint i = 0; i < found->len; i++)
    {
      Source *source = found->pdata[i];
      g_autofree char *reason = NULL;
      gboolean read;

      if (run->limits != NULL)
        {
          source->limit = g_hash_table_lookup (run->limits, source->path);
          if (source->limit == NULL)
            continue;
        }
      if (!scan_check_source (run, source, &read, &reason, error))
        return FALSE;
      if (!read)
        continue;
      if (!source->known && !scan_insert_source (run, source, error))
        return FALSE;
      /* Back after a run found it gone: its events were reported lost,
       * and only reading them again shows they are not. */
      if (source->missing && reason == NULL)
        reason = g_strdup ("it was gone and is back");
      source->missing = FALSE;
      if (reason != NULL
          && !run_reread_from_start (run, source, reason, error))
        return FALSE;
      run->bytes_total += (guint64) source->st.st_size > source->offset
                            ? (guint64) source->st.st_size - source->offset
                            : 0;
      g_ptr_array_add (to_read, source);
    }
  g_ptr_array_sort (to_read, source_compare);
  return TRUE;
}

/* Start the reading thread on the logs `to_read`, each from its checkpoint
 * (up to its limit, if any), packing the lines as the store keeps them. */
static JsyncPrefetch *
run_start_prefetch (Run *run, GPtrArray *to_read, GError **error)
{
  JsyncPacker *packer = jsync_store_packer_new (run->store, error);
  g_autofree const char **paths = g_new (const char *, to_read->len);
  g_autofree guint64 *offsets = g_new (guint64, to_read->len);
  g_autofree guint64 *lines = g_new (guint64, to_read->len);
  g_autofree guint64 *ends = g_new (guint64, to_read->len);

  if (packer == NULL)
    return NULL;
  for (guint i = 0; i < to_read->len; i++)
    {
      Source *source = to_read->pdata[i];

      paths[i] = source->path;
      offsets[i] = source->offset;
      lines[i] = source->line;
      ends[i] = source->limit != NULL ? source->limit->offset : G_MAXUINT64;
    }
  return jsync_prefetch_start (run->context->data_dir, paths, offsets, lines,
                               run->limits != NULL ? ends : NULL,
                               to_read->len,
                               run->context->max_line_bytes, packer);
}

/**
 * jsync_sync_run:
 * One sync over the store: pending catch-up, schema replays, then every
 * log's new lines.
 */
G_DEFINE_QUARK (jsync-sync-limit-moved, jsync_sync_limit_moved)

gboolean
jsync_sync_run (const JsyncSyncContext *context, JsyncStore *store,
                gboolean rebuilding, GHashTable *limits, JsyncResult *result,
                GError **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  g_autoptr(GPtrArray) to_read = g_ptr_array_new ();
  g_autoptr(JsyncPrefetch) prefetch = NULL;
  Run run = { 0 };
  guint64 any_event = 0;
  gboolean ok = FALSE;

  run_setup (&run, context, store, result);
  run.rebuilding = rebuilding;
  run.limits = limits;
  if (rebuilding)
    run.deferred = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          group_free);
  if (rebuilding && !jsync_store_count_of (store, JSYNC_COUNT_ANY_EVENT,
                                           &any_event, error))
    goto rollback;
  if (rebuilding && any_event == 0)
    run.seen = g_new0 (guint64, SEEN_BITS / 64);

  /* A cache of the version before: its lines packed first, once. */
  if (!jsync_store_upgrade_lines (store, context->progress,
                                  context->progress_data, error))
    goto rollback;
  run_progress (&run, "scan", 0, 0);
  if (!scan_data_folder (&run, found, error))
    goto rollback;
  if (!jsync_store_count_of (store, JSYNC_COUNT_LOST, &run.lost_count, error)
      || !lost_mark_missing (&run, error)
      || !run_replay_upgraded (&run, error)
      || !run_catch_up_pending (&run, error)
      || !run_plan_reads (&run, found, to_read, error))
    goto rollback;
  /* The scan is over: how much there is to read is known. */
  run_progress (&run, "scan", 0, run.bytes_total);
  if (to_read->len > 0)
    {
      prefetch = run_start_prefetch (&run, to_read, error);
      if (prefetch == NULL)
        goto rollback;
      run.prefetch = prefetch;
    }
  for (guint i = 0; i < to_read->len && !run.stop; i++)
    {
      if (!read_source (&run, to_read->pdata[i], prefetch, i, error))
        goto rollback;
      run_progress (&run, "read", run.bytes_done, run.bytes_total);
    }
  if (!apply_flush (&run, error) || !apply_replay_deferred (&run, error))
    goto rollback;
  run_progress (&run, "read", run.bytes_total, run.bytes_total);
  ok = TRUE;

rollback:
  if (!ok)
    jsync_store_rollback (store);
  lost_report (&run);
  return run_end (&run, ok, error);
}
