/* jsync-recover.c: `jsync recover`: the lost events whose lines the cache
 * keeps written back to a log (docs/design.md "Recover"), with append's
 * writer (jsync-append.h), under the writer lock.
 *
 * Each attempt syncs first, so that what is already back in a log (a
 * recover killed half-way, a sync tool that brought a copy back) is no
 * longer lost and is not written twice; then it writes what is still lost;
 * the next attempt's sync reads it back and finds nothing left.
 */
#include <string.h>

#include <jsync/jsync.h>

#include "jsync-append.h"
#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-result.h"
#include "jsync-sync.h"
#include "jsync-text.h"

/* Times the lines are written when a sync tool replaced a log between
 * the write and the sync that should have read them, as append does. */
#define RECOVER_ATTEMPTS 3

/* What an attempt finds to write, and the report of every attempt. */
typedef struct
{
  GHashTable *files;        /* owned: file → GPtrArray of ids (char*), in
                             * the order written */
  GHashTable *ids;          /* owned: the ids in files (a set) */
  guint count;              /* this attempt: events to write */
  guint64 bytes_total;      /* this attempt: their bytes, "\n" included */
  guint64 bytes_done;
  guint64 lines_done;
} RecoverPlan;

static void
recover_plan_note (RecoverPlan *plan, const char *file, const char *id)
{
  GPtrArray *ids = g_hash_table_lookup (plan->files, file);

  plan->count++;
  if (!g_hash_table_add (plan->ids, g_strdup (id)))
    return;
  if (ids == NULL)
    {
      ids = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (plan->files, g_strdup (file), ids);
    }
  g_ptr_array_add (ids, g_strdup (id));
}

/* A pass over the lost events, target by target (`to`, else the log each
 * was lost from, in name order), each in key order.  Without `write`,
 * check each target as append checks its own and each line's length, and
 * note them in `plan`: nothing is written unless everything can be.  With
 * `write`, append each line in one write(), and fsync each log. */
static gboolean
recover_pass (JsyncCoordinator *self, const char *to, gboolean write,
              RecoverPlan *plan, GError **error)
{
  gint64 max_line = jsync_config_get_max_line_bytes (self->config);
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(JsyncAppendTarget) log = NULL;
  g_autofree char *current = NULL;
  g_autofree char *file = NULL;
  sqlite3_stmt *stmt;
  gboolean ok = TRUE;
  int rc = SQLITE_DONE;

  stmt = jsync_store_lost_events_read (self->store, to == NULL, error);
  if (stmt == NULL)
    return FALSE;
  while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *target = to != NULL
                             ? to
                             : (const char *) sqlite3_column_text (
                                   stmt, JSYNC_LOST_FILE);
      const char *id = (const char *) sqlite3_column_text (stmt,
                                                           JSYNC_LOST_ID);
      const char *line = sqlite3_column_blob (stmt, JSYNC_LOST_RAW);
      gsize length = sqlite3_column_bytes (stmt, JSYNC_LOST_RAW);

      if (g_strcmp0 (current, target) != 0)
        {
          ok = log == NULL || jsync_append_target_fsync (log, error);
          g_clear_pointer (&log, jsync_append_target_close);
          g_clear_pointer (&parts, g_ptr_array_unref);
          g_clear_pointer (&file, g_free);
          g_free (current);
          current = g_strdup (target);
          if (ok)
            parts = jsync_append_split_path (self->config, target, error);
          if (ok && parts == NULL)
            {
              g_prefix_error (error, "cannot write lost events back: ");
              ok = FALSE;
            }
          if (ok)
            file = jsync_append_join_path (parts);
          if (ok && write)
            {
              log = jsync_append_target_open (self->data_dir, parts, error);
              ok = log != NULL;
            }
          if (!ok)
            break;
        }
      if (write)
        {
          ok = jsync_append_target_write (log, line, length, error);
          plan->bytes_done += length + 1;
          plan->lines_done++;
          jsync_coordinator_report (self, "recover", plan->bytes_done,
                                    plan->bytes_total, plan->lines_done);
        }
      /* Sync would read it back as a failed line. */
      else if ((gint64) length + 1 > max_line)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                       "%s: lost event %s is %zu bytes long, over"
                       " max-line-bytes (%" G_GINT64_FORMAT "); nothing was"
                       " written back", file, id, length + 1, max_line);
          ok = FALSE;
        }
      else
        {
          recover_plan_note (plan, file, id);
          plan->bytes_total += length + 1;
        }
    }
  if (ok && log != NULL)
    ok = jsync_append_target_fsync (log, error);
  if (ok && rc != SQLITE_DONE)
    {
      jsync_store_set_error (self->store, error, "read lost events");
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  return ok;
}

/* One sync of the live cache, the writer lock held by the caller. */
static JsyncResult *
recover_sync (JsyncCoordinator *self, GError **error)
{
  g_autoptr(JsyncResult) result = jsync_result_new ();
  gint64 start = g_get_monotonic_time ();
  JsyncSyncContext context;

  jsync_coordinator_sync_context (self, &context);
  if (!jsync_sync_run (&context, self->store, FALSE, NULL, result, error))
    return NULL;
  /* Before anything is written, every log must have been read: one that
   * could not be may hold some of them again. */
  if (result->files_failed > 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%" G_GUINT64_FORMAT " log(s) or folder(s) could not be"
                   " read, and may hold lost events again; nothing more is"
                   " written back until every log can be read",
                   result->files_failed);
      return NULL;
    }
  result->success = result->events_failed == 0;
  result->last_sync_timestamp = g_get_real_time () / 1000;
  result->duration = (g_get_monotonic_time () - start) / 1000;
  return g_steal_pointer (&result);
}

/* Sync, write what is still lost, again until a sync finds nothing lost;
 * the last sync's result. */
static JsyncResult *
recover_run (JsyncCoordinator *self, const char *to, gboolean dry_run,
             RecoverPlan *plan, GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(JsyncResult) synced = recover_sync (self, error);

      if (synced == NULL)
        return NULL;
      plan->count = 0;
      plan->bytes_total = plan->bytes_done = plan->lines_done = 0;
      if (!recover_pass (self, to, FALSE, plan, error))
        return NULL;
      if (plan->count == 0 || dry_run)
        return g_steal_pointer (&synced);
      if (attempt > RECOVER_ATTEMPTS)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "%u lost event(s) written back %u times, but the sync"
                       " did not find them in the logs (replaced each time"
                       " before they were read)", plan->count,
                       RECOVER_ATTEMPTS);
          return NULL;
        }
      if (attempt > 1)
        g_warning ("%u event(s) still lost after the lines were written (a"
                   " log replaced before the sync read it?); they are written"
                   " again", plan->count);
      if (!recover_pass (self, to, TRUE, plan, error))
        return NULL;
    }
}

/**
 * jsync_coordinator_recover:
 * Write the lost events the cache keeps back into the logs, under the
 * writer lock; the report of what was (or would be) written.
 */
json_object *
jsync_coordinator_recover (JsyncCoordinator *self, const char *file,
                           JsyncRecoverFlags flags, GError **error)
{
  RecoverPlan plan = { 0 };
  g_autoptr(GPtrArray) to_parts = NULL;
  g_autoptr(JsyncResult) synced = NULL;
  g_autofree char *to = NULL;
  g_autoptr(GList) files = NULL;
  json_object *json, *recovered, *result;
  int lock;

  g_return_val_if_fail (self != NULL, NULL);

  if (!jsync_coordinator_check_writable (self, "recover", error))
    return NULL;
  /* A refused --to is a usage error before anything is synced. */
  if (file != NULL)
    {
      to_parts = jsync_append_split_path (self->config, file, error);
      if (to_parts == NULL)
        return NULL;
      to = jsync_append_join_path (to_parts);
    }
  lock = jsync_coordinator_lock_live_store (self, "recover", error);
  if (lock < 0)
    return NULL;
  plan.files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  plan.ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  synced = recover_run (self, to, (flags & JSYNC_RECOVER_DRY_RUN) != 0,
                        &plan, error);
  jsync_store_unlock (lock);
  if (synced == NULL)
    {
      g_hash_table_unref (plan.files);
      g_hash_table_unref (plan.ids);
      return NULL;
    }

  recovered = json_object_new_array ();
  files = g_list_sort (g_hash_table_get_keys (plan.files),
                       (GCompareFunc) strcmp);
  for (GList *l = files; l != NULL; l = l->next)
    {
      GPtrArray *ids = g_hash_table_lookup (plan.files, l->data);
      json_object *item = json_object_new_object ();
      json_object *list = json_object_new_array ();

      for (guint i = 0; i < ids->len; i++)
        json_object_array_add (list, jsync_json_new_text (ids->pdata[i]));
      json_object_object_add (item, "file", jsync_json_new_text (l->data));
      json_object_object_add (item, "ids", list);
      json_object_array_add (recovered, item);
    }
  json = json_object_new_object ();
  json_object_object_add (json, "version", json_object_new_int (1));
  json_object_object_add (json, "command", json_object_new_string ("recover"));
  json_object_object_add (json, "dryRun",
                          json_object_new_boolean (
                              (flags & JSYNC_RECOVER_DRY_RUN) != 0));
  json_object_object_add (json, "recovered", recovered);
  result = jsync_result_to_json (synced, "recover");
  json_object_object_foreach (result, key, value)
    if (!json_object_object_get_ex (json, key, NULL))
      json_object_object_add (json, key, json_object_get (value));
  json_object_put (result);
  g_hash_table_unref (plan.files);
  g_hash_table_unref (plan.ids);
  return json;
}
