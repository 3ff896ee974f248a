/* jsync-result.c: what a sync or rebuild did, and its --json form (names
 * and messages valid UTF-8: jsync_json_new_text()). */
#include "jsync-result.h"

#include "jsync-text.h"

void
jsync_event_error_free (JsyncEventError *error)
{
  g_free (error->file);
  g_free (error->id);
  g_free (error->message);
  g_free (error);
}

static void
result_reread_free (gpointer data)
{
  JsyncReread *reread = data;

  g_free (reread->file);
  g_free (reread->reason);
  g_free (reread);
}

static void
result_lost_free (gpointer data)
{
  JsyncLost *lost = data;

  g_free (lost->file);
  g_ptr_array_unref (lost->ids);
  g_free (lost);
}

/**
 * jsync_result_new:
 * An empty result with its lists allocated.
 */
JsyncResult *
jsync_result_new (void)
{
  JsyncResult *result = g_new0 (JsyncResult, 1);

  result->success = TRUE;
  result->errors = g_ptr_array_new_with_free_func (
      (GDestroyNotify) jsync_event_error_free);
  result->files_processed = g_ptr_array_new_with_free_func (g_free);
  result->files_reread = g_ptr_array_new_with_free_func (result_reread_free);
  result->lost_events = g_ptr_array_new_with_free_func (result_lost_free);
  return result;
}

/**
 * jsync_result_clear:
 * Back to what jsync_result_new() returns.
 */
void
jsync_result_clear (JsyncResult *result)
{
  result->success = TRUE;
  result->events_applied = 0;
  result->events_skipped = 0;
  result->events_failed = 0;
  result->events_pending = 0;
  result->conflicts = 0;
  result->files_failed = 0;
  g_ptr_array_set_size (result->errors, 0);
  g_ptr_array_set_size (result->files_processed, 0);
  g_ptr_array_set_size (result->files_reread, 0);
  g_ptr_array_set_size (result->lost_events, 0);
}

void
jsync_result_free (JsyncResult *result)
{
  if (result == NULL)
    return;
  g_ptr_array_unref (result->errors);
  g_ptr_array_unref (result->files_processed);
  g_ptr_array_unref (result->files_reread);
  g_ptr_array_unref (result->lost_events);
  g_free (result);
}

/**
 * jsync_result_add_error:
 * Record one failed event in the result.
 */
void
jsync_result_add_error (JsyncResult *result, const char *file, guint64 line,
                        guint64 offset, const char *id, const char *message)
{
  JsyncEventError *error = g_new0 (JsyncEventError, 1);

  error->file = g_strdup (file);
  error->line = line;
  error->offset = offset;
  error->id = g_strdup (id);
  error->message = g_strdup (message);
  g_ptr_array_add (result->errors, error);
}

/**
 * jsync_result_add_reread:
 * Record that a file was read again from its start, and why.
 */
void
jsync_result_add_reread (JsyncResult *result, const char *file,
                         const char *reason)
{
  JsyncReread *reread = g_new0 (JsyncReread, 1);

  reread->file = g_strdup (file);
  reread->reason = g_strdup (reason);
  g_ptr_array_add (result->files_reread, reread);
}

/**
 * jsync_result_add_lost:
 * Record events of `file` that the cache keeps but the file lost; takes
 * `ids`.
 */
void
jsync_result_add_lost (JsyncResult *result, const char *file, GPtrArray *ids)
{
  JsyncLost *lost = g_new0 (JsyncLost, 1);

  lost->file = g_strdup (file);
  lost->ids = ids;
  g_ptr_array_add (result->lost_events, lost);
}

static json_object *
result_strings_to_json (GPtrArray *strings)
{
  json_object *array = json_object_new_array ();

  for (guint i = 0; i < strings->len; i++)
    json_object_array_add (array, jsync_json_new_text (strings->pdata[i]));
  return array;
}

json_object *
jsync_result_to_json (const JsyncResult *result, const char *command)
{
  json_object *json = json_object_new_object ();
  json_object *errors = json_object_new_array ();
  json_object *reread = json_object_new_array ();
  json_object *lost = json_object_new_array ();

  json_object_object_add (json, "version", json_object_new_int (1));
  json_object_object_add (json, "command", json_object_new_string (command));
  json_object_object_add (json, "success",
                          json_object_new_boolean (result->success));
  json_object_object_add (json, "eventsApplied",
                          json_object_new_int64 (result->events_applied));
  json_object_object_add (json, "eventsSkipped",
                          json_object_new_int64 (result->events_skipped));
  json_object_object_add (json, "eventsFailed",
                          json_object_new_int64 (result->events_failed));
  json_object_object_add (json, "eventsPending",
                          json_object_new_int64 (result->events_pending));
  json_object_object_add (json, "conflicts",
                          json_object_new_int64 (result->conflicts));
  json_object_object_add (json, "filesFailed",
                          json_object_new_int64 (result->files_failed));
  for (guint i = 0; i < result->errors->len; i++)
    {
      JsyncEventError *e = result->errors->pdata[i];
      json_object *item = json_object_new_object ();

      json_object_object_add (item, "file", jsync_json_new_text (e->file));
      json_object_object_add (item, "line", json_object_new_int64 (e->line));
      json_object_object_add (item, "offset",
                              json_object_new_int64 (e->offset));
      json_object_object_add (item, "id", jsync_json_new_text (e->id));
      json_object_object_add (item, "message",
                              jsync_json_new_text (e->message));
      json_object_array_add (errors, item);
    }
  json_object_object_add (json, "errors", errors);
  json_object_object_add (json, "duration",
                          json_object_new_int64 (result->duration));
  json_object_object_add (json, "filesProcessed",
                          result_strings_to_json (result->files_processed));
  for (guint i = 0; i < result->files_reread->len; i++)
    {
      JsyncReread *r = result->files_reread->pdata[i];
      json_object *item = json_object_new_object ();

      json_object_object_add (item, "file", jsync_json_new_text (r->file));
      json_object_object_add (item, "reason", jsync_json_new_text (r->reason));
      json_object_array_add (reread, item);
    }
  json_object_object_add (json, "filesReread", reread);
  for (guint i = 0; i < result->lost_events->len; i++)
    {
      JsyncLost *l = result->lost_events->pdata[i];
      json_object *item = json_object_new_object ();

      json_object_object_add (item, "file", jsync_json_new_text (l->file));
      json_object_object_add (item, "ids", result_strings_to_json (l->ids));
      json_object_array_add (lost, item);
    }
  json_object_object_add (json, "lostEvents", lost);
  json_object_object_add (json, "lastSyncTimestamp",
                          json_object_new_int64 (result->last_sync_timestamp));
  return json;
}
