/* jsync-event.h: one log line as an event: parsing and the envelope. */
#ifndef JSYNC_EVENT_H
#define JSYNC_EVENT_H

#include <jsync/jsync-plugin.h>

G_BEGIN_DECLS

/* Deepest nesting accepted (docs/design.md "The sync contract", "Bad
 * input"): objects and arrays, the line's own object being the first
 * level. */
#define JSYNC_EVENT_MAX_DEPTH 64

/* Parse one line as a strict JSON object: valid UTF-8 (no overlong forms or
 * encoded surrogates), no NUL byte, RFC 8259 syntax (no NaN or Infinity,
 * no single quotes, comments, trailing commas, leading zeros or raw
 * control characters in strings; no unpaired \u surrogate; integers within
 * int64, or uint64 when positive), only JSON whitespace (space, tab, CR, LF)
 * around the object, at most JSYNC_EVENT_MAX_DEPTH deep, at most G_MAXINT32
 * bytes.  Duplicate names: the last value wins.  `data` need not be
 * NUL-terminated.  Returns the object (transfer full) or NULL with a
 * JSYNC_APPLIER_ERROR_INVALID saying what is wrong and at which byte. */
json_object *jsync_event_parse_json (const char *data, gsize length,
                                     GError **error);
/* The same with a tokener kept for many lines (json-c's is costly to
 * make); one tokener per thread. */
struct json_tokener *jsync_event_tokener_new (void);
json_object *jsync_event_parse_json_with (struct json_tokener *tok,
                                          const char *data, gsize length,
                                          GError **error);
/* The same for a line not held whole: checked whole first (FALSE with
 * the error, as above), then given to json-c in pieces (up to 1 MiB each)
 * with a tokener of its own; the object comes with the piece that ends it
 * (NULL before, or with the error). */
gboolean jsync_event_check_line (const char *data, gsize length,
                                 GError **error);
struct json_tokener *jsync_event_piece_tokener_new (void);
json_object *jsync_event_parse_piece (struct json_tokener *tok,
                                      const char *piece, gsize length,
                                      GError **error);

/* Fill the envelope fields of `event` (id, type, device_id, timestamp,
 * json) from a parsed line; the strings are borrowed from json.  FALSE
 * with an error naming the field when one is missing (or null), mistyped,
 * or a string holding an escaped NUL; id is still set when it was a valid
 * string, so the failure can name the event.  Checked in the order id,
 * type, deviceId, timestamp. */
gboolean jsync_event_read_envelope (json_object *json, JsyncEvent *event,
                                    GError **error);

/* Order of event keys (timestamp, deviceId, id), bytewise on strings. */
int jsync_event_key_compare (gint64 ts_a, const char *device_a,
                             const char *id_a, gint64 ts_b,
                             const char *device_b, const char *id_b);

G_END_DECLS

#endif /* JSYNC_EVENT_H */
