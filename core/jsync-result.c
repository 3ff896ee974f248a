/* jsync-result.c: what a sync or rebuild did, and its --json form (names
 * and messages valid UTF-8: jsync_json_new_text()). */
#include "jsync-result.h"

#include "jsync-text.h"

static void
result_error_free (JsyncEventError *error)
{
  g_free (error->file);
  g_free (error->id);
  g_free (error->message);
  g_free (error);
}

static void
result_reread_free (JsyncReread *reread)
{
  g_free (reread->file);
  g_free (reread->reason);
  g_free (reread);
}

static void
result_lost_free (JsyncLost *lost)
{
  g_free (lost->file);
  g_ptr_array_unref (lost->ids);
  g_free (lost);
}

/* The counters, with their --json keys in the order the object has them. */
static const JsyncKeyedMember result_counters[] = {
  { "eventsApplied", G_STRUCT_OFFSET (JsyncResult, events_applied) },
  { "eventsSkipped", G_STRUCT_OFFSET (JsyncResult, events_skipped) },
  { "eventsFailed", G_STRUCT_OFFSET (JsyncResult, events_failed) },
  { "eventsPending", G_STRUCT_OFFSET (JsyncResult, events_pending) },
  { "conflicts", G_STRUCT_OFFSET (JsyncResult, conflicts) },
  { "filesFailed", G_STRUCT_OFFSET (JsyncResult, files_failed) },
  { "lateInPlace", G_STRUCT_OFFSET (JsyncResult, late_in_place) },
  { "lateRefused", G_STRUCT_OFFSET (JsyncResult, late_refused) },
  { "streamsReplayed", G_STRUCT_OFFSET (JsyncResult, streams_replayed) },
};

/* The lists, and how each frees its elements. */
static const struct
{
  gsize offset;
  GDestroyNotify free;
} result_lists[] = {
  { G_STRUCT_OFFSET (JsyncResult, errors),
    (GDestroyNotify) result_error_free },
  { G_STRUCT_OFFSET (JsyncResult, files_processed), g_free },
  { G_STRUCT_OFFSET (JsyncResult, files_reread),
    (GDestroyNotify) result_reread_free },
  { G_STRUCT_OFFSET (JsyncResult, lost_events),
    (GDestroyNotify) result_lost_free },
};

#define RESULT_COUNTER(result, i) \
  JSYNC_KEYED_MEMBER (guint64, result, result_counters, i)
#define RESULT_LIST(result, i) \
  G_STRUCT_MEMBER (GPtrArray *, result, result_lists[i].offset)

/**
 * jsync_result_new:
 * An empty result with its lists allocated.
 */
JsyncResult *
jsync_result_new (void)
{
  JsyncResult *result = g_new0 (JsyncResult, 1);

  result->success = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (result_lists); i++)
    RESULT_LIST (result, i) = g_ptr_array_new_with_free_func (
        result_lists[i].free);
  return result;
}

/**
 * jsync_result_clear:
 * Back to what jsync_result_new() returns, but for the duration and the
 * last sync's time.
 */
void
jsync_result_clear (JsyncResult *result)
{
  result->success = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (result_counters); i++)
    RESULT_COUNTER (result, i) = 0;
  for (guint i = 0; i < G_N_ELEMENTS (result_lists); i++)
    g_ptr_array_set_size (RESULT_LIST (result, i), 0);
}

void
jsync_result_free (JsyncResult *result)
{
  if (result == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (result_lists); i++)
    g_ptr_array_unref (RESULT_LIST (result, i));
  g_free (result);
}

/**
 * jsync_result_finish:
 * Set what a run says at its end: success (no event and no file failed),
 * the wall clock now and the duration since `start` (monotonic, µs).
 */
void
jsync_result_finish (JsyncResult *result, gint64 start)
{
  result->success = result->events_failed == 0 && result->files_failed == 0;
  result->last_sync_timestamp = g_get_real_time () / 1000;
  result->duration = (g_get_monotonic_time () - start) / 1000;
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

/* One object of a list, {"file":file}, added to `list`; the
 * caller adds the rest. */
static json_object *
result_item_add (json_object *list, const char *file)
{
  json_object *item = json_object_new_object ();

  json_object_object_add (item, "file", jsync_json_new_text (file));
  json_object_array_add (list, item);
  return item;
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
  for (guint i = 0; i < G_N_ELEMENTS (result_counters); i++)
    json_object_object_add (json, result_counters[i].key,
                            json_object_new_int64 (RESULT_COUNTER (result, i)));
  for (guint i = 0; i < result->errors->len; i++)
    {
      JsyncEventError *e = result->errors->pdata[i];
      json_object *item = result_item_add (errors, e->file);

      json_object_object_add (item, "line", json_object_new_int64 (e->line));
      json_object_object_add (item, "offset",
                              json_object_new_int64 (e->offset));
      json_object_object_add (item, "id", jsync_json_new_text (e->id));
      json_object_object_add (item, "message",
                              jsync_json_new_text (e->message));
    }
  json_object_object_add (json, "errors", errors);
  json_object_object_add (json, "duration",
                          json_object_new_int64 (result->duration));
  json_object_object_add (json, "filesProcessed",
                          result_strings_to_json (result->files_processed));
  for (guint i = 0; i < result->files_reread->len; i++)
    {
      JsyncReread *r = result->files_reread->pdata[i];

      json_object_object_add (result_item_add (reread, r->file), "reason",
                              jsync_json_new_text (r->reason));
    }
  json_object_object_add (json, "filesReread", reread);
  for (guint i = 0; i < result->lost_events->len; i++)
    {
      JsyncLost *l = result->lost_events->pdata[i];

      json_object_object_add (result_item_add (lost, l->file), "ids",
                              result_strings_to_json (l->ids));
    }
  json_object_object_add (json, "lostEvents", lost);
  json_object_object_add (json, "lastSyncTimestamp",
                          json_object_new_int64 (result->last_sync_timestamp));
  return json;
}
