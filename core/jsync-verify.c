/* jsync-verify.c: compare the cache with a rebuild from the logs.
 *
 * Under the writer lock: sync the cache, then build a new cache into
 * "<db>.verify" as a rebuild would, but reading each log exactly as far as
 * the cache's checkpoint (the logs may grow meanwhile: other programs
 * append without the lock, and what they add after the sync must be in
 * neither side); ATTACH it to the cache's connection and compare every
 * table of the attached appliers with EXCEPT both ways; then run FTS5's
 * integrity-check on the cache's full-text indexes.  A log replaced with
 * other bytes between the sync and the build makes the build fail: the
 * whole is done again, VERIFY_ATTEMPTS times at the most.  The file is
 * removed whatever happens.
 *
 * Lost events (docs/design.md "Lost events") are in no log, yet the cache
 * keeps their effects: their lines (jsync_events.raw) are fed into the
 * build as pending events of a source named "(lost events)" and applied in
 * their place in the key order, so they are no difference; they are
 * reported apart, as only in the cache.
 */
#include <string.h>

#include <jsync/jsync.h>

#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-result.h"
#include "jsync-sync.h"
#include "jsync-text.h"

/* Sync and build again when a log changed under the build. */
#define VERIFY_ATTEMPTS 3
/* Differing keys listed per table. */
#define VERIFY_KEYS 5
/* The schema name of the rebuilt file on the cache's connection. */
#define VERIFY_SCHEMA "jsync_verify"

/* The build hook: the cache's lost events become pending events of the new
 * file, then applied as a sync's catch-up would. */
static gboolean
verify_feed_lost (JsyncCoordinator *self, JsyncStore *build,
                  JsyncResult *result, GError **error)
{
  JsyncSyncContext context;
  gboolean kept;

  if (!jsync_store_keep_lost_events (self->store, build, &kept, error))
    return FALSE;
  jsync_coordinator_sync_context (self, &context);
  return !kept || jsync_sync_catch_up (&context, build, result, error);
}

static gboolean
verify_count (JsyncStore *store, const char *sql, gint64 *count,
              GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, sql);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *count = sqlite3_column_int64 (stmt, 0);
  else
    jsync_store_set_error (store, error, sql);
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW;
}

/* The names `sql` selects for `table` (its ?1), added to `names`. */
static gboolean
verify_names (JsyncStore *store, const char *sql, const char *table,
              GPtrArray *names, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "read table columns");
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (names,
                     g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "read table columns");
      return FALSE;
    }
  return TRUE;
}

/* The cache's columns of a table as a quoted list, and its primary key's
 * (every column when it has none). */
static gboolean
verify_columns (JsyncStore *store, const char *table, GString *columns,
                GPtrArray *keys, GError **error)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);

  if (!verify_names (store,
                     "SELECT name FROM pragma_table_info (?1, 'main')"
                     " ORDER BY pk = 0, pk, cid",
                     table, all, error)
      || !verify_names (store,
                        "SELECT name FROM pragma_table_info (?1, 'main')"
                        " WHERE pk > 0 ORDER BY pk",
                        table, keys, error))
    return FALSE;
  if (all->len == 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "%s: table %s is missing", store->path, table);
      return FALSE;
    }
  if (keys->len == 0)
    for (guint i = 0; i < all->len; i++)
      g_ptr_array_add (keys, g_strdup (all->pdata[i]));
  for (guint i = 0; i < all->len; i++)
    {
      char *quoted = sqlite3_mprintf ("%s\"%w\"", i > 0 ? ", " : "",
                                      (const char *) all->pdata[i]);

      g_string_append (columns, quoted);
      sqlite3_free (quoted);
    }
  return TRUE;
}

/* Compare one table of the cache with the rebuilt one. */
static gboolean
verify_table (JsyncStore *store, const char *table, json_object *tables,
              gboolean *identical, GError **error)
{
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) key_list = g_string_new (NULL);
  g_autofree char *cache_only = NULL;
  g_autofree char *rebuild_only = NULL;
  g_autofree char *sql = NULL;
  gint64 cache_rows = 0, rebuild_rows = 0, in_cache = 0, in_rebuild = 0;
  sqlite3_stmt *stmt = NULL;
  json_object *item, *key_array;
  char *name;
  int rc;

  if (!verify_columns (store, table, columns, keys, error))
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      char *quoted = sqlite3_mprintf ("%s\"%w\"", i > 0 ? ", " : "",
                                      (const char *) keys->pdata[i]);

      g_string_append (key_list, quoted);
      sqlite3_free (quoted);
    }
  name = sqlite3_mprintf ("\"%w\"", table);
  cache_only = g_strdup_printf ("SELECT %s FROM main.%s EXCEPT SELECT %s"
                                " FROM " VERIFY_SCHEMA ".%s",
                                columns->str, name, columns->str, name);
  rebuild_only = g_strdup_printf ("SELECT %s FROM " VERIFY_SCHEMA ".%s"
                                  " EXCEPT SELECT %s FROM main.%s",
                                  columns->str, name, columns->str, name);
  {
    g_autofree char *count_cache = g_strdup_printf ("SELECT count(*) FROM main.%s",
                                                    name);
    g_autofree char *count_rebuild = g_strdup_printf (
        "SELECT count(*) FROM " VERIFY_SCHEMA ".%s", name);
    g_autofree char *count_in_cache = g_strdup_printf (
        "SELECT count(*) FROM (%s)", cache_only);
    g_autofree char *count_in_rebuild = g_strdup_printf (
        "SELECT count(*) FROM (%s)", rebuild_only);

    sqlite3_free (name);
    if (!verify_count (store, count_cache, &cache_rows, error)
        || !verify_count (store, count_rebuild, &rebuild_rows, error)
        || !verify_count (store, count_in_cache, &in_cache, error)
        || !verify_count (store, count_in_rebuild, &in_rebuild, error))
      return FALSE;
  }

  key_array = json_object_new_array ();
  if (in_cache > 0 || in_rebuild > 0)
    {
      sql = g_strdup_printf ("SELECT %s FROM (%s) UNION SELECT %s FROM (%s)"
                             " ORDER BY %s LIMIT %d",
                             key_list->str, cache_only, key_list->str,
                             rebuild_only, key_list->str, VERIFY_KEYS);
      if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        {
          jsync_store_set_error (store, error, sql);
          json_object_put (key_array);
          return FALSE;
        }
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          json_object *key = json_object_new_object ();

          for (guint i = 0; i < keys->len; i++)
            json_object_object_add (key, keys->pdata[i],
                                    jsync_json_new_column (stmt, i, TRUE));
          json_object_array_add (key_array, key);
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        {
          jsync_store_set_error (store, error, sql);
          json_object_put (key_array);
          return FALSE;
        }
      *identical = FALSE;
    }

  item = json_object_new_object ();
  json_object_object_add (item, "table", json_object_new_string (table));
  json_object_object_add (item, "cacheRows", json_object_new_int64 (cache_rows));
  json_object_object_add (item, "rebuildRows",
                          json_object_new_int64 (rebuild_rows));
  json_object_object_add (item, "onlyInCache", json_object_new_int64 (in_cache));
  json_object_object_add (item, "onlyInRebuild",
                          json_object_new_int64 (in_rebuild));
  json_object_object_add (item, "keys", key_array);
  json_object_array_add (tables, item);
  return TRUE;
}

/* FTS5's own check of an external-content index against its table (rank 1:
 * without it SQLite 3.40 does not compare them). */
static void
verify_fts (JsyncStore *store, const char *fts, json_object *list,
            gboolean *identical)
{
  char *sql = sqlite3_mprintf ("INSERT INTO main.\"%w\" (\"%w\", rank)"
                               " VALUES ('integrity-check', 1)",
                               fts, fts);
  json_object *item = json_object_new_object ();
  gboolean ok = sqlite3_exec (store->db, sql, NULL, NULL, NULL) == SQLITE_OK;

  json_object_object_add (item, "table", json_object_new_string (fts));
  json_object_object_add (item, "ok", json_object_new_boolean (ok));
  json_object_object_add (item, "message",
                          ok ? NULL
                             : jsync_json_new_text (sqlite3_errmsg (store->db)));
  json_object_array_add (list, item);
  if (!ok)
    *identical = FALSE;
  sqlite3_free (sql);
}

/* Compare the attached rebuild with the cache; fills the report. */
static gboolean
verify_compare (JsyncCoordinator *self, json_object *report, GError **error)
{
  JsyncStore *store = self->store;
  json_object *tables = json_object_new_array ();
  json_object *fts = json_object_new_array ();
  json_object *lost;
  gboolean identical = TRUE;
  gboolean ok = TRUE;

  json_object_object_add (report, "tables", tables);
  json_object_object_add (report, "fts", fts);
  for (guint i = 0; ok && i < store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;

      for (guint t = 0; ok && desc->tables[t] != NULL; t++)
        ok = verify_table (store, desc->tables[t], tables, &identical, error);
      for (guint s = 0; ok && desc->search != NULL && desc->search[s].fts != NULL;
           s++)
        verify_fts (store, desc->search[s].fts, fts, &identical);
    }
  lost = ok ? jsync_store_report_rows (store, JSYNC_REPORT_LOST, error) : NULL;
  if (lost == NULL)
    return FALSE;
  json_object_object_add (report, "onlyInCache", lost);
  json_object_object_add (report, "identical", json_object_new_boolean (identical));
  return TRUE;
}

/* Where the cache's checkpoints are: each present log's offset and the
 * hash of the bytes before it.  (transfer full) */
static GHashTable *
verify_limits (JsyncStore *store, GError **error)
{
  g_autoptr(GHashTable) limits = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal, g_free,
                                                        g_free);
  sqlite3_stmt *stmt = jsync_store_checkpoints_read (store, error);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      JsyncReadLimit *limit = g_new (JsyncReadLimit, 1);

      limit->offset = sqlite3_column_int64 (stmt, JSYNC_CHECKPOINT_OFFSET);
      limit->tail_hash = sqlite3_column_int64 (stmt,
                                               JSYNC_CHECKPOINT_TAIL_HASH);
      g_hash_table_insert (limits,
                           g_strdup ((const char *) sqlite3_column_text (
                               stmt, JSYNC_CHECKPOINT_PATH)),
                           limit);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "read jsync_sources");
      return NULL;
    }
  return g_steal_pointer (&limits);
}

/* Sync the cache, then build from the logs as far as it read them. */
static gboolean
verify_sync_and_build (JsyncCoordinator *self, const char *path,
                       JsyncResult *synced, JsyncResult *built,
                       GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GHashTable) limits = NULL;
      g_autoptr(GError) local_error = NULL;
      JsyncSyncContext context;

      jsync_result_clear (built);
      jsync_coordinator_sync_context (self, &context);
      if (!jsync_sync_run (&context, self->store, FALSE, NULL, synced, error))
        return FALSE;
      limits = verify_limits (self->store, error);
      if (limits == NULL)
        return FALSE;
      if (jsync_coordinator_build (self, path, limits, verify_feed_lost, built,
                                   &local_error))
        return TRUE;
      if (attempt == VERIFY_ATTEMPTS
          || !g_error_matches (local_error, JSYNC_SYNC_LIMIT_MOVED, 0))
        {
          if (g_error_matches (local_error, JSYNC_SYNC_LIMIT_MOVED, 0))
            g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                         "verify: the logs kept being replaced while they"
                         " were compared (%s); try again",
                         local_error->message);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_message ("verify: %s; synced and compared again",
                 local_error->message);
    }
}

/**
 * jsync_coordinator_verify:
 * Sync, rebuild into a temporary file, compare, remove the file.
 */
json_object *
jsync_coordinator_verify (JsyncCoordinator *self, GError **error)
{
  g_autoptr(JsyncResult) synced = jsync_result_new ();
  g_autoptr(JsyncResult) built = jsync_result_new ();
  g_autofree char *path = g_strconcat (self->db_path, ".verify", NULL);
  JsyncStore *store;
  gint64 start = g_get_monotonic_time ();
  json_object *report;
  gboolean ok;
  int lock;

  lock = jsync_coordinator_lock_live_store (self, "verify", error);
  if (lock < 0)
    return NULL;
  store = self->store;
  report = json_object_new_object ();
  json_object_object_add (report, "version", json_object_new_int (1));
  json_object_object_add (report, "command", json_object_new_string ("verify"));
  ok = verify_sync_and_build (self, path, synced, built, error);
  if (ok)
    {
      sqlite3_stmt *attach = NULL;

      jsync_coordinator_report (self, "verify", 0, 0,
                                built->events_applied + built->events_skipped
                                  + built->events_failed);
      if (sqlite3_prepare_v2 (store->db, "ATTACH ?1 AS " VERIFY_SCHEMA, -1,
                              &attach, NULL) != SQLITE_OK)
        {
          jsync_store_set_error (store, error, "attach the rebuilt cache");
          ok = FALSE;
        }
      else
        {
          sqlite3_bind_text (attach, 1, path, -1, SQLITE_STATIC);
          ok = jsync_store_run (store, attach, error);
          sqlite3_finalize (attach);
          ok = ok && verify_compare (self, report, error);
          sqlite3_exec (store->db, "DETACH " VERIFY_SCHEMA, NULL, NULL, NULL);
        }
    }
  jsync_store_unlock (lock);
  jsync_coordinator_remove_db_files (path);
  if (!ok)
    {
      json_object_put (report);
      return NULL;
    }
  json_object_object_add (report, "synced",
                          json_object_new_int64 (synced->events_applied));
  json_object_object_add (report, "duration",
                          json_object_new_int64 ((g_get_monotonic_time () - start)
                                                 / 1000));
  return report;
}
