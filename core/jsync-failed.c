/* jsync-failed.c: the failed lines and events (table jsync_failed), and
 * applying the failed events again.
 *
 * A line that is no valid event (bad JSON, a missing envelope field, too
 * long) is only listed: there is nothing to apply.  A valid event that its
 * applier rejected is kept in jsync_events with status 2 (failed), its line
 * whole, so once the applier is fixed it can be applied in its place in
 * its stream (jsync_sync_retry_failed).
 */
#include <jsync/jsync.h>

#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-result.h"
#include "jsync-sync.h"
#include "jsync-text.h"

/**
 * jsync_coordinator_failed:
 * Every recorded failure, in file and line order.
 */
json_object *
jsync_coordinator_failed (JsyncCoordinator *self, GError **error)
{
  JsyncStore *store = jsync_coordinator_get_store (self, error);
  sqlite3_stmt *stmt = NULL;
  json_object *json, *list;
  gboolean began = FALSE;
  int rc;

  if (store == NULL || !jsync_store_begin_read (store, &began, error))
    return NULL;
  stmt = jsync_store_failed_read (store, error);
  if (stmt == NULL)
    {
      jsync_store_end_read (store, began);
      return NULL;
    }
  list = json_object_new_array ();
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_object *item = json_object_new_object ();
      const char *id = (const char *) sqlite3_column_text (stmt,
                                                           JSYNC_FAILED_ID);

      json_object_object_add (item, "file",
                              jsync_json_new_text (
                                  (const char *) sqlite3_column_text (
                                      stmt, JSYNC_FAILED_FILE)));
      json_object_object_add (item, "line",
                              json_object_new_int64 (sqlite3_column_int64 (
                                  stmt, JSYNC_FAILED_LINE)));
      json_object_object_add (item, "offset",
                              json_object_new_int64 (sqlite3_column_int64 (
                                  stmt, JSYNC_FAILED_OFFSET)));
      json_object_object_add (item, "length",
                              json_object_new_int64 (sqlite3_column_int64 (
                                  stmt, JSYNC_FAILED_LENGTH)));
      json_object_object_add (item, "id",
                              jsync_json_new_text (id));
      json_object_object_add (item, "message",
                              jsync_json_new_text (
                                  (const char *) sqlite3_column_text (
                                      stmt, JSYNC_FAILED_MESSAGE)));
      json_object_object_add (item, "truncated",
                              json_object_new_boolean (sqlite3_column_int (
                                  stmt, JSYNC_FAILED_TRUNCATED)));
      json_object_object_add (item, "retryable",
                              json_object_new_boolean (sqlite3_column_int (
                                  stmt, JSYNC_FAILED_RETRYABLE)));
      json_object_array_add (list, item);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    jsync_store_set_error (store, error, "read jsync_failed");
  jsync_store_end_read (store, began);
  if (rc != SQLITE_DONE)
    {
      json_object_put (list);
      return NULL;
    }
  json = json_object_new_object ();
  json_object_object_add (json, "version", json_object_new_int (1));
  json_object_object_add (json, "command", json_object_new_string ("failed"));
  json_object_object_add (json, "failed", list);
  return json;
}

/**
 * jsync_coordinator_retry_failed:
 * Apply the failed events again, under the writer lock.
 */
JsyncResult *
jsync_coordinator_retry_failed (JsyncCoordinator *self, GError **error)
{
  /* A retry reads no log: no file fails. */
  return jsync_coordinator_run_locked (self, "failed --retry",
                                       jsync_sync_retry_failed, FALSE, error);
}
