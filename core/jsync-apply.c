/* jsync-apply.c: a batch applied (docs/design.md "Atomic batches",
 * "Streams and replays").
 *
 * A batch is one transaction holding the appliers' writes, the event
 * records and the checkpoints.  Within a batch events are grouped by
 * (applier, stream): a group whose events all sort after what its stream
 * already holds is applied in key order; otherwise the stream is cleared
 * and re-applied in key order with the stored events (their lines, kept in
 * jsync_events.raw), so incremental sync always ends where a rebuild does.
 * An applier with late() (ABI 1.2) is first offered the group's late events
 * in place of that replay: when it takes them all, the stream is not
 * replayed (docs/design.md "Streams and replays", "Late events in place").
 */
#include <string.h>

#include "jsync-sync-private.h"

/* An event whose line is this long is freed as soon as its batch is
 * applied (apply_batch()). */
#define APPLY_LONG_LINE (1024 * 1024)

/* --- The batch ----------------------------------------------------------- */

void
apply_add_to_batch (Run *run, Item *item)
{
  g_ptr_array_add (run->batch, item);
  g_hash_table_insert (run->batch_ids, (gpointer) item->id, item);
  run->batch_bytes += item->length;
}

gboolean
apply_batch_full (Run *run)
{
  return run->batch->len >= run->context->batch_size
         || run->batch_bytes >= BATCH_MAX_BYTES || run->stop;
}

/* --- Applying one event -------------------------------------------------- */

/* A batch is first applied under one savepoint; the first rejection rolls
 * the whole batch back (this error, internal to the run) and the batch is
 * applied again, carefully, with a savepoint per event.  Savepoints are not
 * free: FTS5 writes its pending terms out at each one. */
static GQuark
apply_redo_quark (void)
{
  return g_quark_from_static_string ("jsync-sync-redo-quark");
}

/* Call the applier's apply(), or, with `in_place`, its late() (which sets
 * *in_place). */
static gboolean
apply_call (JsyncApplierInstance *applier, const JsyncEvent *event,
            gboolean *in_place, GError **error)
{
  if (in_place == NULL)
    return applier->plugin->desc->apply (applier->state, event, error);
  *in_place = FALSE;
  return jsync_plugin_get_late (applier->plugin) (applier->state, event,
                                                  in_place, error);
}

/* Apply one event (through late() with `in_place`, see apply_call()).
 * When careful, inside its own savepoint: a rejection rolls back alone and
 * is returned in `rejection` (the run goes on); otherwise a rejection fails
 * with apply_redo_quark().  A failed savepoint is fatal. */
static gboolean
apply_event (Run *run, JsyncApplierInstance *applier,
             const JsyncEvent *event, gboolean *in_place, char **rejection,
             GError **error)
{
  g_autoptr(GError) apply_error = NULL;

  *rejection = NULL;
  if (!run->careful || run->store->unjournaled)
    {
      if (apply_call (applier, event, in_place, &apply_error))
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
        g_set_error_literal (error, apply_redo_quark (), 0, "rejected");
      return FALSE;
    }
  if (!jsync_store_run (run->store,
                        jsync_store_stmt (run->store, JSYNC_STMT_SAVEPOINT),
                        error))
    return FALSE;
  if (!apply_call (applier, event, in_place, &apply_error))
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
apply_item_to_event (Item *item, JsyncEvent *event)
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

/* Apply a new event and record it as applied or failed; with `defer`, the
 * record is left for later (a replay reads jsync_events meanwhile). */
static gboolean
apply_item (Run *run, Item *item, GPtrArray *defer, GError **error)
{
  g_autofree char *rejection = NULL;
  JsyncEvent event;
  int status = JSYNC_EVENT_APPLIED;

  apply_item_to_event (item, &event);
  if (!apply_event (run, item->applier, &event, NULL, &rejection, error))
    return FALSE;
  if (rejection != NULL)
    {
      status = JSYNC_EVENT_FAILED;
      if (item_get_raw (run, item, error) == NULL
          || !record_failure (run, item->source, item->line,
                              item->offset, item->length, item->id,
                              item->raw, item->length, FALSE, rejection,
                              error))
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
  return record_item (run, item, error);
}

/* --- Replays ------------------------------------------------------------- */

/* Re-apply one stored event during a replay.  A stored event that can no
 * longer be read is reported and left out; one its applier now rejects is
 * marked failed (collected in `now_failed`); one its applier now puts in
 * another stream (a new version that changed its stream function, replayed
 * whole since its schema version changed) is collected in `restreamed` as
 * (id, stream) pairs. */
static gboolean
apply_replay_stored (Run *run, JsyncApplierInstance *applier,
                     sqlite3_stmt *row, GPtrArray *now_failed,
                     GPtrArray *restreamed, GError **error)
{
  const JsyncApplierDesc *desc = applier->plugin->desc;
  const char *stored_stream = (const char *) sqlite3_column_text (
      row, JSYNC_STORED_STREAM);
  const char *stream;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *rejection = NULL;
  const char *id = (const char *) sqlite3_column_text (row, JSYNC_STORED_ID);
  Source *source = source_by_id (
      run, sqlite3_column_int64 (row, JSYNC_STORED_SOURCE));
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json;
  gsize length;

  text = record_load_raw (row, JSYNC_STORED_RAW, &length);
  json = jsync_event_parse_json_with (run->tok, text, length, &local_error);
  if ((json == NULL || !jsync_event_read_envelope (json, &event, &local_error))
      && !run->careful)
    {
      /* Reported once, when the batch is applied again. */
      json_object_put (json);
      g_set_error_literal (error, apply_redo_quark (), 0, "unreadable");
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_warning ("cannot re-apply event %s: %s", id, local_error->message);
      jsync_result_add_error (run->result,
                              source != NULL ? source->path : NULL,
                              sqlite3_column_int64 (row, JSYNC_STORED_LINE),
                              sqlite3_column_int64 (row, JSYNC_STORED_OFFSET),
                              id,
                              local_error->message);
      json_object_put (json);
      return TRUE;
    }
  event.file = source != NULL ? source->path : NULL;
  event.line = sqlite3_column_int64 (row, JSYNC_STORED_LINE);
  event.offset = sqlite3_column_int64 (row, JSYNC_STORED_OFFSET);
  stream = desc->stream != NULL ? desc->stream (applier->state, &event) : NULL;
  if (stream == NULL)
    stream = "";
  if (g_strcmp0 (stored_stream, stream) != 0)
    {
      g_ptr_array_add (restreamed, g_strdup (id));
      g_ptr_array_add (restreamed, g_strdup (stream));
    }
  if (!apply_event (run, applier, &event, NULL, &rejection, error))
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
      else if (!record_failure (run, source, event.line, event.offset,
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

/* Clear a group's stream (or its whole applier) before its replay. */
static gboolean
apply_clear_group (Run *run, Group *group, GError **error)
{
  const JsyncApplierDesc *desc = group->applier->plugin->desc;
  g_autoptr(GError) clear_error = NULL;
  gboolean ok;

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
  return TRUE;
}

/* Mark failed the stored events (ids in `now_failed`) that their applier
 * rejected during a replay. */
static gboolean
apply_mark_failed (Run *run, GPtrArray *now_failed, GError **error)
{
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < now_failed->len; i++)
    ok = jsync_store_event_set_status (run->store, now_failed->pdata[i],
                                       JSYNC_EVENT_FAILED, error);
  return ok;
}

/* Clear a stream (or the whole applier) and apply its stored events merged
 * with the group's new ones, all in key order. */
static gboolean
apply_replay_group (Run *run, Group *group, GError **error)
{
  const JsyncApplierDesc *desc = group->applier->plugin->desc;
  g_autoptr(GPtrArray) now_failed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) restreamed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) applied = g_ptr_array_new ();
  sqlite3_stmt *stmt;
  gboolean ok;
  guint next = 0;
  int rc;

  g_debug ("%s: replaying stream \"%s\" (%u new event(s))", desc->name,
           group->stream != NULL ? group->stream : "*", group->items->len);
  run->result->streams_replayed++;
  if (!apply_clear_group (run, group, error))
    return FALSE;

  stmt = jsync_store_stream_events (run->store, desc->name, group->stream);

  ok = TRUE;
  while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 ts = sqlite3_column_int64 (stmt, JSYNC_STORED_TS);
      const char *device = (const char *) sqlite3_column_text (
          stmt, JSYNC_STORED_DEVICE);
      const char *id = (const char *) sqlite3_column_text (stmt,
                                                           JSYNC_STORED_ID);

      /* New events that sort before this stored one go first. */
      while (next < group->items->len)
        {
          Item *item = group->items->pdata[next];

          if (jsync_event_key_compare (item->ts, item->device, item->id, ts,
                                       device, id) > 0)
            break;
          if (!(ok = apply_item (run, item, applied, error)))
            break;
          next++;
        }
      if (ok)
        ok = apply_replay_stored (run, group->applier, stmt, now_failed,
                                  restreamed, error);
    }
  if (ok && rc != SQLITE_DONE)
    {
      jsync_store_set_error (run->store, error, "read stored events");
      ok = FALSE;
    }
  jsync_store_reset (stmt);
  for (; ok && next < group->items->len; next++)
    ok = apply_item (run, group->items->pdata[next], NULL, error);
  for (guint i = 0; ok && i < applied->len; i++)
    ok = record_item (run, applied->pdata[i], error);

  if (ok)
    ok = apply_mark_failed (run, now_failed, error);
  /* After the loop: the rows it read are not changed under it. */
  for (guint i = 0; ok && i + 1 < restreamed->len; i += 2)
    ok = jsync_store_event_set_stream (run->store, restreamed->pdata[i],
                                       restreamed->pdata[i + 1], error);
  return ok;
}

/* --- Late events in place ----------------------------------------------- */

/* Offer a late group's events to the applier: those that sort before the
 * stream's last event go to late(), the others to apply(), in key order.
 * *in_place is TRUE when late() took every late one: the events are then
 * recorded as applied.  When one is refused, or rejected (a failed event
 * is left to the replay, which records it once), *in_place is FALSE and
 * nothing is recorded: the caller replays the stream, which clears what
 * these calls wrote. */
static gboolean
apply_late_group (Run *run, Group *group, gboolean *in_place, GError **error)
{
  guint64 applied = run->result->events_applied;
  guint64 taken = 0;

  *in_place = FALSE;
  for (guint i = 0; i < group->items->len; i++)
    {
      Item *item = group->items->pdata[i];
      g_autofree char *rejection = NULL;
      gboolean late = jsync_event_key_compare (item->ts, item->device,
                                               item->id, group->last_ts,
                                               group->last_device,
                                               group->last_id) < 0;
      gboolean taken_here = TRUE;
      JsyncEvent event;

      apply_item_to_event (item, &event);
      if (!apply_event (run, item->applier, &event,
                        late ? &taken_here : NULL, &rejection, error))
        return FALSE;
      if (rejection != NULL || !taken_here)
        {
          g_debug ("%s: late event %s %s: replaying the stream",
                   group->applier->plugin->desc->name, item->id,
                   rejection != NULL ? "rejected" : "refused");
          run->result->events_applied = applied;
          run->result->late_refused++;
          return TRUE;
        }
      item->status = JSYNC_EVENT_APPLIED;
      run->result->events_applied++;
      if (late)
        taken++;
    }
  for (guint i = 0; i < group->items->len; i++)
    if (!record_item (run, group->items->pdata[i], error))
      return FALSE;
  run->result->late_in_place += taken;
  *in_place = TRUE;
  return TRUE;
}

/* --- Groups -------------------------------------------------------------- */

static gint
item_compare (gconstpointer a, gconstpointer b)
{
  const Item *x = *(Item *const *) a;
  const Item *y = *(Item *const *) b;

  return jsync_event_key_compare (x->ts, x->device, x->id, y->ts, y->device,
                                  y->id);
}

/* Does the stream already hold an event that sorts after `first`?  1 yes
 * (its last key is kept in the group), 0 no, -1 with error set when the
 * cache could not say. */
static int
apply_stream_is_ahead (Run *run, Group *group, Item *first, GError **error)
{
  sqlite3_stmt *last;
  int ahead;

  if (!jsync_store_stream_last (run->store, group->applier->plugin->desc->name,
                                group->stream, &last, error))
    return -1;
  if (last == NULL)
    return 0;
  ahead = jsync_event_key_compare (
              sqlite3_column_int64 (last, JSYNC_LAST_TS),
              (const char *) sqlite3_column_text (last, JSYNC_LAST_DEVICE),
              (const char *) sqlite3_column_text (last, JSYNC_LAST_ID),
              first->ts, first->device, first->id)
          > 0;
  if (ahead)
    {
      group->last_ts = sqlite3_column_int64 (last, JSYNC_LAST_TS);
      g_free (group->last_device);
      group->last_device = g_strdup (
          (const char *) sqlite3_column_text (last, JSYNC_LAST_DEVICE));
      g_free (group->last_id);
      group->last_id = g_strdup (
          (const char *) sqlite3_column_text (last, JSYNC_LAST_ID));
    }
  jsync_store_reset (last);
  return ahead;
}

static char *
group_key (JsyncApplierInstance *applier, const char *stream)
{
  return g_strdup_printf ("%s\x1f%s", applier->plugin->desc->name,
                          stream != NULL ? stream : "\x1e*");
}

static Group *
group_for (GHashTable *groups, JsyncApplierInstance *applier,
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

void
group_free (gpointer data)
{
  Group *group = data;

  g_free (group->stream);
  g_free (group->last_device);
  g_free (group->last_id);
  g_ptr_array_unref (group->items);
  g_free (group);
}

/* Ask for a replay of a stream in the next batch. */
void
apply_force_replay (Run *run, JsyncApplierInstance *applier,
                    const char *stream)
{
  group_for (run->forced, applier, stream)->force = TRUE;
}

/* A rebuild reads each log whole, one after the other, so a stream whose
 * events sit in several logs (a workspace written by three devices, a
 * conversation and its sync-tool conflict copy) would be replayed at every
 * log after its first.  Instead such a stream is replayed once, at the end
 * of the rebuild: from the first replay it would need, its new events are
 * only recorded.  TRUE when the group is (now) deferred. */
static gboolean
apply_defer (Run *run, Group *group)
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
  group_for (run->deferred, group->applier, group->stream)->force = TRUE;
  return TRUE;
}

/* Replay the streams a rebuild deferred (see apply_defer()). */
gboolean
apply_replay_deferred (Run *run, GError **error)
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

      apply_force_replay (run, group->applier, group->stream);
    }
  return jsync_store_begin (run->store, error) && apply_flush (run, error);
}

/* --- Applying the batch -------------------------------------------------- */

/* Apply the groups in key order. */
static gboolean
apply_groups_once (Run *run, GHashTable *groups, GList *keys,
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

              item->status = JSYNC_EVENT_APPLIED;
              run->result->events_applied++;
              if (!record_item (run, item, error))
                return FALSE;
            }
          continue;
        }
      if (group->late)
        {
          gboolean in_place;

          if (!apply_late_group (run, group, &in_place, error))
            return FALSE;
          if (in_place)
            continue;
        }
      if (group->replay || group->late)
        {
          if (!apply_replay_group (run, group, error))
            return FALSE;
          continue;
        }
      for (guint i = 0; i < group->items->len; i++)
        if (!apply_item (run, group->items->pdata[i], NULL, error))
          return FALSE;
    }
  return TRUE;
}

/* Apply the groups under one savepoint; on a rejection, roll them back and
 * apply them again with a savepoint per event (see apply_redo_quark()). */
static gboolean
apply_groups (Run *run, GHashTable *groups, GList *keys, GError **error)
{
  g_autoptr(GError) fast_error = NULL;
  /* The counters as they were, for the careful pass. */
  const JsyncResult counted = *run->result;

  if (!jsync_store_run (run->store,
                        jsync_store_stmt (run->store,
                                          JSYNC_STMT_BATCH_SAVEPOINT),
                        error))
    return FALSE;
  run->careful = FALSE;
  if (!apply_groups_once (run, groups, keys, &fast_error))
    {
      run->careful = TRUE;
      if (!g_error_matches (fast_error, apply_redo_quark (), 0))
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
      run->result->events_applied = counted.events_applied;
      run->result->late_in_place = counted.late_in_place;
      run->result->late_refused = counted.late_refused;
      run->result->streams_replayed = counted.streams_replayed;
      run->careful = TRUE;
      if (!apply_groups_once (run, groups, keys, error))
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
apply_batch (Run *run, GError **error)
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

      g_ptr_array_add (group_for (groups, item->applier,
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
      group->defer = apply_defer (run, group);
      if (!group->defer && !group->replay && group->items->len > 0)
        {
          int ahead = apply_stream_is_ahead (run, group,
                                             group->items->pdata[0], error);

          if (ahead < 0)
            return FALSE;
          /* A rebuild defers its replays instead (each log is read whole,
           * so most of a second device's events are late). */
          group->late = ahead && run->deferred == NULL
                        && jsync_plugin_get_late (group->applier->plugin)
                               != NULL;
          group->replay = ahead && !group->late;
          group->defer = apply_defer (run, group);
        }
    }
  if (!apply_groups (run, groups, keys, error))
    return FALSE;
  g_hash_table_remove_all (run->batch_ids);
  /* A long line and its parse go now, before the batch's end (where an
   * index reads the event's text again): the reading thread, which frees
   * the rest, may be waiting for room and not free them in time. */
  for (guint i = run->batch->len; i-- > 0;)
    if (((Item *) run->batch->pdata[i])->length >= APPLY_LONG_LINE)
      item_free (g_ptr_array_steal_index_fast (run->batch, i));
  if (run->prefetch != NULL && run->batch->len > 0)
    {
      jsync_prefetch_dispose (run->prefetch, run->batch);
      run->batch = g_ptr_array_new_with_free_func (item_free);
    }
  g_ptr_array_set_size (run->batch, 0);
  run->batch_bytes = 0;
  return TRUE;
}

/* Apply the batch and commit it with the checkpoints it covers. */
gboolean
apply_flush (Run *run, GError **error)
{
  g_autoptr(GPtrArray) dirty = NULL;

  if (!jsync_store_begin (run->store, error) || !apply_batch (run, error))
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
          if (!lost_find (run, source, FALSE, error))
            return FALSE;
          source->rereading = FALSE;
        }
      if (!source_write_checkpoint (run, source, error))
        return FALSE;
    }
  return jsync_store_end_batch (run->store, error)
         && jsync_store_commit (run->store, error);
}
