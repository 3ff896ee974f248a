/* jsync-event.h: one log line as an event: parsing and the envelope. */
#ifndef JSYNC_EVENT_H
#define JSYNC_EVENT_H

#include <jsync/jsync-plugin.h>

G_BEGIN_DECLS

/* Deepest nesting accepted (DESIGN.md §6). */
#define JSYNC_EVENT_MAX_DEPTH 64

/* Parse one line as a strict JSON object (valid UTF-8, no NaN, nothing
 * after the object, at most JSYNC_EVENT_MAX_DEPTH deep).  Returns the
 * object (transfer full) or NULL with an error saying what is wrong. */
json_object *jsync_event_parse_json (const char *data, gsize length,
                                     GError **error);

/* Fill the envelope fields of `event` (id, type, device_id, timestamp,
 * json) from a parsed line; the strings are borrowed from json.  FALSE
 * with an error naming the field when one is missing or mistyped; id is
 * still set when it was a string, so the failure can name the event. */
gboolean jsync_event_read_envelope (json_object *json, JsyncEvent *event,
                                    GError **error);

/* Order of event keys (timestamp, deviceId, id), bytewise on strings. */
int jsync_event_key_compare (gint64 ts_a, const char *device_a,
                             const char *id_a, gint64 ts_b,
                             const char *device_b, const char *id_b);

G_END_DECLS

#endif /* JSYNC_EVENT_H */
