/* jsync-event.c: one log line as an event: parsing and the envelope. */
#include "jsync-event.h"

#include <string.h>

#include <jsync/jsync.h>

static void
event_set_invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
event_set_invalid (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, JSYNC_APPLIER_ERROR,
                       JSYNC_APPLIER_ERROR_INVALID, message);
}

/**
 * jsync_event_parse_json:
 * Strict parse of one line (DESIGN.md §6).
 */
json_object *
jsync_event_parse_json (const char *data, gsize length, GError **error)
{
  struct json_tokener *tok = json_tokener_new_ex (JSYNC_EVENT_MAX_DEPTH);
  json_object *json;
  enum json_tokener_error jerr;
  gsize parsed;

  if (memchr (data, '\0', length) != NULL)
    {
      json_tokener_free (tok);
      event_set_invalid (error, "not valid JSON: NUL byte at byte %zu",
                         (gsize) ((const char *) memchr (data, '\0', length)
                                  - data));
      return NULL;
    }
  json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json = json_tokener_parse_ex (tok, data, (int) length);
  jerr = json_tokener_get_error (tok);
  parsed = json_tokener_get_parse_end (tok);
  json_tokener_free (tok);

  if (jerr == json_tokener_continue)
    {
      json_object_put (json);
      event_set_invalid (error, "not valid JSON: the line ends inside a value");
      return NULL;
    }
  if (json == NULL || jerr != json_tokener_success)
    {
      json_object_put (json);
      if (jerr == json_tokener_error_depth)
        event_set_invalid (error, "not valid JSON: nested deeper than %d levels",
                           JSYNC_EVENT_MAX_DEPTH);
      else
        event_set_invalid (error, "not valid JSON: %s at byte %zu",
                           json_tokener_error_desc (jerr), parsed);
      return NULL;
    }
  for (gsize i = parsed; i < length; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
      {
        json_object_put (json);
        event_set_invalid (error, "not valid JSON: unexpected data after the "
                           "value at byte %zu", i);
        return NULL;
      }
  if (!json_object_is_type (json, json_type_object))
    {
      json_object_put (json);
      event_set_invalid (error, "not a JSON object");
      return NULL;
    }
  return json;
}

static gboolean
event_get_string (json_object *json, const char *key, const char **out,
                  GError **error)
{
  JsyncField field;

  if (!jsync_json_get_string (json, key, &field, out, error))
    return FALSE;
  if (field != JSYNC_FIELD_SET)
    {
      event_set_invalid (error, "missing %s", key);
      return FALSE;
    }
  return TRUE;
}

/**
 * jsync_event_read_envelope:
 * Check and borrow the envelope fields of a parsed line.
 */
gboolean
jsync_event_read_envelope (json_object *json, JsyncEvent *event,
                           GError **error)
{
  JsyncField field;

  event->json = json;
  event->id = NULL;
  if (!event_get_string (json, "id", &event->id, error))
    return FALSE;
  if (!event_get_string (json, "type", &event->type, error)
      || !event_get_string (json, "deviceId", &event->device_id, error)
      || !jsync_json_get_int64 (json, "timestamp", &field, &event->timestamp,
                                error))
    return FALSE;
  if (field != JSYNC_FIELD_SET)
    {
      event_set_invalid (error, "missing timestamp");
      return FALSE;
    }
  return TRUE;
}

/**
 * jsync_event_key_compare:
 * The total order of DESIGN.md §2.
 */
int
jsync_event_key_compare (gint64 ts_a, const char *device_a, const char *id_a,
                         gint64 ts_b, const char *device_b, const char *id_b)
{
  int c;

  if (ts_a != ts_b)
    return ts_a < ts_b ? -1 : 1;
  if ((c = strcmp (device_a, device_b)) != 0)
    return c;
  return strcmp (id_a, id_b);
}
