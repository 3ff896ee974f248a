/* test-event.c: one log line as an event: strict parsing, the envelope and
 * the key order (docs/design.md "Events", "Order"
 * and "Bad input"). */
#include <string.h>
#include <sys/mman.h>

#include <glib.h>
#include <jsync/jsync.h>

#include "jsync-event.h"
#include "jsync-test.h"

int main (int argc, char **argv);

/* Parse exactly `length` bytes from a copy with nothing after it, as the
 * reader lends them (no NUL terminator), so valgrind sees any over-read. */
static json_object *
parse_bytes (const char *text, gsize length, GError **error)
{
  g_autofree char *copy = g_memdup2 (text, MAX (length, 1));

  return jsync_event_parse_json (copy, length, error);
}

static void
assert_parses (const char *text)
{
  g_autoptr(GError) error = NULL;
  json_object *json = parse_bytes (text, strlen (text), &error);

  g_test_message ("parse %s", text);
  g_assert_no_error (error);
  g_assert_nonnull (json);
  g_assert_cmpint (json_object_get_type (json), ==, json_type_object);
  json_object_put (json);
}

static void
assert_rejected_bytes (const char *text, gsize length, const char *message)
{
  g_autoptr(GError) error = NULL;
  json_object *json = parse_bytes (text, length, &error);

  /* A long text (the very deep ones) is shown by its ends: a TAP reader
   * splits a line of hundreds of KiB into pieces without the "#". */
  if (length > 1024)
    g_test_message ("reject %" G_GSIZE_FORMAT " bytes: %.*s ... %.*s", length,
                    64, text, 64, text + length - 64);
  else
    g_test_message ("reject %.*s", (int) length, text);
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_null (json);
  g_assert_cmpstr (error->message, ==, message);
}

static void
assert_rejected (const char *text, const char *message)
{
  assert_rejected_bytes (text, strlen (text), message);
}

/* A line and the message it is refused with; a table of them ends with
 * { NULL, NULL }. */
typedef struct
{
  const char *text;
  const char *message;
} Case;

/* Each line of a table (the test's data) is refused by the parser. */
static void
test_parse_rejected (gconstpointer data)
{
  for (const Case *c = data; c->text != NULL; c++)
    assert_rejected (c->text, c->message);
}

/* Parse `text` (which must parse) and read its envelope into `event`,
 * which must succeed.  (transfer full) */
static json_object *
parse_event (const char *text, JsyncEvent *event)
{
  g_autoptr(GError) error = NULL;
  json_object *json = parse_bytes (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_true (jsync_event_read_envelope (json, event, &error));
  g_assert_no_error (error);
  return json;
}

static void
test_parse_valid (void)
{
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json = parse_event (
      "{\"id\":\"e1\",\"type\":\"message\",\"deviceId\":\"dev-A\","
      "\"timestamp\":1700000000123,\"data\":{\"x\":[1,2.5,\"s\",null,true]}}",
      &event);
  json_object *data;

  g_assert_cmpstr (jsync_event_get_id (&event), ==, "e1");
  g_assert_cmpstr (jsync_event_get_type (&event), ==, "message");
  g_assert_cmpstr (jsync_event_get_device_id (&event), ==, "dev-A");
  g_assert_cmpint (jsync_event_get_timestamp (&event), ==,
                   G_GINT64_CONSTANT (1700000000123));
  g_assert_true (jsync_event_get_json (&event) == json);
  g_assert_true (json_object_object_get_ex (json, "data", &data));
  g_assert_cmpint (json_object_array_length (json_object_object_get (data, "x")),
                   ==, 5);
  json_object_put (json);
}

/* Leading and trailing JSON whitespace (a CRLF file leaves the \r). */
static void
test_parse_whitespace (void)
{
  assert_parses ("{\"a\":1} ");
  assert_parses ("{\"a\":1}\t \r");
  assert_parses (" \t\r{\"a\":1}");
  assert_parses ("{ \"a\" : [ 1 , 2 ] , \"b\" : { } }");
}

static void
test_parse_not_object (void)
{
  static const char *const texts[] = {
    "[1,2]", "[]", "\"string\"", "123", "-1.5e3", "0", "true", "false",
    "null", " 123 ",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_rejected (texts[i], "not a JSON object");
}

static const Case parse_trailing[] = {
  { "{\"a\":1} x", "not valid JSON: unexpected data after the value at byte 8" },
  { "{\"a\":1}x", "not valid JSON: unexpected data after the value at byte 7" },
  { "{\"a\":1}{\"b\":2}", "not valid JSON: unexpected data after the value at byte 7" },
  { "{\"a\":1},", "not valid JSON: unexpected data after the value at byte 7" },
  { "{\"a\":1}}", "not valid JSON: unexpected data after the value at byte 7" },
  /* Only space, tab, CR and LF are JSON whitespace. */
  { "{\"a\":1}\f", "not valid JSON: unexpected data after the value at byte 7" },
  { "{\"a\":1}\v", "not valid JSON: unexpected data after the value at byte 7" },
  { "\v{\"a\":1}", "not valid JSON: unexpected character at byte 0" },
  { NULL, NULL },
};

/* What json-c 0.16 accepts even with JSON_TOKENER_STRICT (NaN, Infinity,
 * single-quoted names, 00, -01, 1., raw control characters) and what it
 * rejects on its own: all are rejected, with the byte where it goes wrong. */
static const Case parse_strict[] = {
  { "{\"a\":NaN}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":nan}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":Infinity}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":-Infinity}", "not valid JSON: invalid number at byte 6" },
  { "{\"a\":[1,NaN]}", "not valid JSON: unexpected character at byte 8" },
  { "{'a':1}", "not valid JSON: expected a quoted name or '}' at byte 1" },
  { "{\"a\":1,'b':2}", "not valid JSON: expected a quoted name at byte 7" },
  { "{\"a\":'x'}", "not valid JSON: unexpected character at byte 5" },
  { "{a:1}", "not valid JSON: expected a quoted name or '}' at byte 1" },
  { "{\"a\":1,}", "not valid JSON: expected a quoted name at byte 7" },
  { "{\"a\":[1,]}", "not valid JSON: unexpected character at byte 8" },
  { "{\"a\":[,1]}", "not valid JSON: unexpected character at byte 6" },
  { "{,}", "not valid JSON: expected a quoted name or '}' at byte 1" },
  { "{\"a\":1,,\"b\":2}", "not valid JSON: expected a quoted name at byte 7" },
  { "{\"a\":1/*c*/}", "not valid JSON: expected ',' or '}' at byte 6" },
  { "{\"a\":1}//c", "not valid JSON: unexpected data after the value at byte 7" },
  { "//c\n{\"a\":1}", "not valid JSON: unexpected character at byte 0" },
  { "/*c*/{\"a\":1}", "not valid JSON: unexpected character at byte 0" },
  { "{\"a\" 1}", "not valid JSON: expected ':' at byte 5" },
  { "{\"a\":[1 2]}", "not valid JSON: expected ',' or ']' at byte 8" },
  { "{\"a\":True}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":tru}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":nulls}", "not valid JSON: expected ',' or '}' at byte 9" },
  { "{\"a\":00}", "not valid JSON: invalid number at byte 6" },
  { "{\"a\":01}", "not valid JSON: invalid number at byte 6" },
  { "{\"a\":-01}", "not valid JSON: invalid number at byte 7" },
  { "{\"a\":1.}", "not valid JSON: invalid number at byte 7" },
  { "{\"a\":1.e5}", "not valid JSON: invalid number at byte 7" },
  { "{\"a\":.5}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":+1}", "not valid JSON: unexpected character at byte 5" },
  { "{\"a\":-}", "not valid JSON: invalid number at byte 6" },
  { "{\"a\":1e}", "not valid JSON: invalid number at byte 7" },
  { "{\"a\":1e+}", "not valid JSON: invalid number at byte 8" },
  { "{\"a\":0x10}", "not valid JSON: expected ',' or '}' at byte 6" },
  { "{\"a\":\"\t\"}", "not valid JSON: control character in a string at byte 6" },
  { "{\"a\":\"x\ny\"}", "not valid JSON: control character in a string at byte 7" },
  { "{\"a\":\"\\q\"}", "not valid JSON: invalid escape at byte 6" },
  { "{\"a\":\"\\x41\"}", "not valid JSON: invalid escape at byte 6" },
  { "{\"a\":\"\\u12\"}", "not valid JSON: invalid escape at byte 6" },
  { "{\"a\":\"\\u12G4\"}", "not valid JSON: invalid escape at byte 6" },
  /* json-c would turn these into U+FFFD, making different ids equal. */
  { "{\"a\":\"\\ud800\"}", "not valid JSON: unpaired surrogate at byte 6" },
  { "{\"a\":\"\\udc00\"}", "not valid JSON: unpaired surrogate at byte 6" },
  { "{\"a\":\"\\ud800\\u0041\"}", "not valid JSON: unpaired surrogate at byte 6" },
  { "{\"a\":\"\\ud800x\"}", "not valid JSON: unpaired surrogate at byte 6" },
  { "{\"a\":\"\\ud800\\ud800\"}", "not valid JSON: unpaired surrogate at byte 6" },
  { "{\"a\":\"\\ud800\\uzzzz\"}", "not valid JSON: invalid escape at byte 12" },
  { "{\"a\":\"x}", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1.", "not valid JSON: the line ends inside a value" },
  { "{\"a\":-", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1e", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1e-", "not valid JSON: the line ends inside a value" },
  { "{\"a\":\"\\u12", "not valid JSON: the line ends inside a value" },
  { "{\"a\":\"\\ud800", "not valid JSON: the line ends inside a value" },
  { "{\"a\":\"\\ud800\\", "not valid JSON: the line ends inside a value" },
  { "{\"a\":\"\\ud800\\udc", "not valid JSON: the line ends inside a value" },
  { "{\"a\":fals", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1,", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1,\"b\"", "not valid JSON: the line ends inside a value" },
  { "{\"a\"", "not valid JSON: the line ends inside a value" },
  { "[1,", "not valid JSON: the line ends inside a value" },
  { "\"abc", "not valid JSON: the line ends inside a value" },
  { "{\"a\":1", "not valid JSON: the line ends inside a value" },
  { "{\"a\":", "not valid JSON: the line ends inside a value" },
  { "{", "not valid JSON: the line ends inside a value" },
  { "{\"a\":\"\\", "not valid JSON: the line ends inside a value" },
  { "{\"a\":tr", "not valid JSON: the line ends inside a value" },
  { "", "not valid JSON: the line ends inside a value" },
  { " \t", "not valid JSON: the line ends inside a value" },
  { "}", "not valid JSON: unexpected character at byte 0" },
  { NULL, NULL },
};

/* Valid JSON at the edges of the grammar is still accepted. */
static void
test_parse_accepted (void)
{
  static const char *const texts[] = {
    "{}",
    "{\"\":1}",
    "{\"a\":[]}",
    "{\"a\":[[],{}]}",
    "{\"a\":-0}",
    "{\"a\":0.5e-3}",
    "{\"a\":1E5}",
    "{\"a\":1e+5}",
    "{\"a\":-12.25E-07}",
    "{\"a\":\"x'\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    "{\"a\":\"\\u00e9\\u0041\\uD83D\\uDE00\\uFFFF\"}",
    "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
    "{\"a\":\"\x7f\"}",
    "{\"a\":true,\"b\":false,\"c\":null}",
    "{\"a\":9223372036854775807,\"b\":-9223372036854775808}",
    "{\"a\":18446744073709551615}",
    "{\"a\":0.5}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_parses (texts[i]);
}

/* json-c clamps integers beyond 64 bits without a word: they are refused
 * instead.  Doubles out of range become ±HUGE_VAL (strtod); that is left
 * as json-c does it, only integers are checked. */
static void
test_parse_integers (void)
{
  g_autoptr(GError) error = NULL;
  json_object *json;

  assert_rejected ("{\"a\":18446744073709551616}",
                   "not valid JSON: integer out of 64-bit range at byte 5");
  assert_rejected ("{\"a\":99999999999999999999}",
                   "not valid JSON: integer out of 64-bit range at byte 5");
  assert_rejected ("{\"a\":-9223372036854775809}",
                   "not valid JSON: integer out of 64-bit range at byte 5");
  assert_rejected ("{\"a\":[1,100000000000000000000000000000000000000]}",
                   "not valid JSON: integer out of 64-bit range at byte 8");

  json = parse_bytes ("{\"a\":1e400}", 11, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_type (json_object_object_get (json, "a")),
                   ==, json_type_double);
  json_object_put (json);
}

static const Case parse_utf8[] = {
  { "{\"a\":\"\xff\"}", "not valid UTF-8 at byte 6" },
  { "{\"a\":\"x\xc3\"}", "not valid UTF-8 at byte 7" },
  { "{\"a\":\"\xc3\"", "not valid UTF-8 at byte 6" },
  /* Overlong, UTF-16 surrogate, beyond U+10FFFF: json-c lets these by. */
  { "{\"a\":\"\xc0\x80\"}", "not valid UTF-8 at byte 6" },
  { "{\"a\":\"\xc0\xaf\"}", "not valid UTF-8 at byte 6" },
  { "{\"a\":\"\xed\xa0\x80\"}", "not valid UTF-8 at byte 6" },
  { "{\"a\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8 at byte 6" },
  { "{\"\xfe\":1}", "not valid UTF-8 at byte 2" },
  /* A byte order mark is valid UTF-8 but not JSON. */
  { "\xef\xbb\xbf{\"a\":1}", "not valid JSON: unexpected character at byte 0" },
  { NULL, NULL },
};

static void
test_parse_nul (void)
{
  assert_rejected_bytes ("{\"a\":\"x\0y\"}", 11,
                         "not valid JSON: NUL byte at byte 7");
  assert_rejected_bytes ("{\"a\":1}\0", 8, "not valid JSON: NUL byte at byte 7");
  assert_rejected_bytes ("\0", 1, "not valid JSON: NUL byte at byte 0");
}

/* json-c takes an int length: a longer line (max-line-bytes allows one) is
 * refused before anything reads it, not cut short by a cast.  The mapping
 * is zero pages but the first, so the old NUL scan would stop at byte 7. */
static void
test_parse_too_long (void)
{
  g_autoptr(GError) error = NULL;
  gsize length = (gsize) G_MAXINT32 + 2;
  char *data = mmap (NULL, length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  json_object *json;

  if (data == MAP_FAILED)
    {
      g_test_skip ("cannot map 2 GiB of address space");
      return;
    }
  memcpy (data, "{\"a\":1}", 7);
  json = jsync_event_parse_json (data, length, &error);
  g_assert_null (json);
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "too long to parse: 2147483649 bytes (json-c takes at "
                   "most 2147483647)");
  g_assert_cmpint (munmap (data, length), ==, 0);
}

/* `depth` nested containers: an object holding depth - 1 arrays, the
 * innermost holding `inner` (or nothing). */
static char *
nested (guint depth, const char *inner)
{
  GString *s = g_string_new ("{\"a\":");

  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, '[');
  g_string_append (s, inner);
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* JSYNC_EVENT_MAX_DEPTH counts containers, the line's object being the
 * first; a scalar inside the innermost one does not add a level (json-c's
 * own count does, so an innermost [1] was refused where [] was not). */
static void
test_parse_depth (void)
{
  g_autofree char *ok_empty = nested (JSYNC_EVENT_MAX_DEPTH, "");
  g_autofree char *ok_scalar = nested (JSYNC_EVENT_MAX_DEPTH, "1");
  g_autofree char *ok_object = nested (JSYNC_EVENT_MAX_DEPTH - 1, "{\"b\":\"x\"}");
  g_autofree char *deep_empty = nested (JSYNC_EVENT_MAX_DEPTH + 1, "");
  g_autofree char *deep_scalar = nested (JSYNC_EVENT_MAX_DEPTH + 1, "1");
  g_autofree char *deep_object = nested (JSYNC_EVENT_MAX_DEPTH, "{\"b\":\"x\"}");
  const char *message = "not valid JSON: nested deeper than 64 levels";

  g_assert_cmpint (JSYNC_EVENT_MAX_DEPTH, ==, 64);
  assert_parses (ok_empty);
  assert_parses (ok_scalar);
  assert_parses (ok_object);
  assert_rejected (deep_empty, message);
  assert_rejected (deep_scalar, message);
  assert_rejected (deep_object, message);
}

/* 100000 levels: refused at level 65, with no recursion to blow the stack
 * and no time spent on the rest. */
static void
test_parse_very_deep (void)
{
  const gsize n = 100000;
  g_autofree char *arrays = g_malloc (2 * n);
  GString *objects = g_string_new (NULL);
  g_autofree char *objects_text = NULL;
  gint64 start = g_get_monotonic_time ();

  memset (arrays, '[', n);
  memset (arrays + n, ']', n);
  for (gsize i = 0; i < n; i++)
    g_string_append (objects, "{\"a\":");
  g_string_append_c (objects, '1');
  for (gsize i = 0; i < n; i++)
    g_string_append_c (objects, '}');
  objects_text = g_string_free (objects, FALSE);

  assert_rejected_bytes (arrays, 2 * n,
                         "not valid JSON: nested deeper than 64 levels");
  assert_rejected_bytes (arrays, n,
                         "not valid JSON: nested deeper than 64 levels");
  assert_rejected (objects_text, "not valid JSON: nested deeper than 64 levels");
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
}

/* Duplicate names: json-c keeps the last value (json_object_object_add
 * replaces), as JavaScript's JSON.parse does; the object has one member.
 * So a line with two ids is the event named by the last one. */
static void
test_parse_duplicate_keys (void)
{
  g_autoptr(GError) error = NULL;
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json = parse_event (
      "{\"id\":\"first\",\"type\":\"t\",\"deviceId\":\"d\","
      "\"timestamp\":1,\"id\":\"last\"}", &event);
  const char *text;

  g_assert_cmpint (json_object_object_length (json), ==, 4);
  g_assert_cmpstr (event.id, ==, "last");
  json_object_put (json);

  /* The last one wins even when the first had the right type. */
  text = "{\"id\":\"e\",\"type\":\"t\",\"deviceId\":\"d\",\"timestamp\":1,"
         "\"timestamp\":\"x\"}";
  json = parse_bytes (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_false (jsync_event_read_envelope (json, &event, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "timestamp: expected an integer");
  json_object_put (json);
}

/* Parse `text` (which must parse) and read its envelope: the error message,
 * or NULL; *id_out gets the id that was set, if any. */
static char *
envelope_error (const char *text, char **id_out)
{
  g_autoptr(GError) error = NULL;
  json_object *json = parse_bytes (text, strlen (text), &error);
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  char *message = NULL;

  g_test_message ("envelope %s", text);
  g_assert_no_error (error);
  if (!jsync_event_read_envelope (json, &event, &error))
    {
      g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
      message = g_strdup (error->message);
    }
  else
    g_assert_no_error (error);
  if (id_out != NULL)
    *id_out = g_strdup (event.id);
  json_object_put (json);
  return message;
}

/* Each line of a table of Case (the test's data, written with ' for ")
 * parses, and its envelope is refused with the message. */
static void
test_envelope_rejected (gconstpointer data)
{
  for (const Case *c = data; c->text != NULL; c++)
    {
      g_autofree char *text = g_strdelimit (g_strdup (c->text), "'", '"');
      g_autofree char *message = envelope_error (text, NULL);

      g_assert_cmpstr (message, ==, c->message);
    }
}

#define ENV_ID "\"id\":\"e1\""
#define ENV_TYPE "\"type\":\"t\""
#define ENV_DEV "\"deviceId\":\"d\""
/* An envelope whose timestamp is the JSON text `ts`. */
#define ENV_WITH_TS(ts) \
  "{" ENV_ID "," ENV_TYPE "," ENV_DEV ",\"timestamp\":" ts "}"

static const Case envelope_missing[] = {
  { "{'type':'t','deviceId':'d','timestamp':5}", "missing id" },
  { "{'id':'e1','deviceId':'d','timestamp':5}", "missing type" },
  { "{'id':'e1','type':'t','timestamp':5}", "missing deviceId" },
  { "{'id':'e1','type':'t','deviceId':'d'}", "missing timestamp" },
  /* null counts as missing. */
  { "{'id':null,'type':'t','deviceId':'d','timestamp':5}", "missing id" },
  { "{'id':'e1','type':null,'deviceId':'d','timestamp':5}", "missing type" },
  { "{'id':'e1','type':'t','deviceId':null,'timestamp':5}",
    "missing deviceId" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':null}",
    "missing timestamp" },
  /* Names are case-sensitive. */
  { "{'ID':'e1','type':'t','deviceId':'d','timestamp':5}", "missing id" },
  { "{'id':'e1','type':'t','deviceid':'d','timestamp':5}", "missing deviceId" },
  { "{}", "missing id" },
  /* A field inside data is not the envelope's. */
  { "{'id':'e1','type':'t','deviceId':'d','data':{'timestamp':5}}",
    "missing timestamp" },
  { NULL, NULL },
};

static const Case envelope_mistyped[] = {
  { "{'id':1,'type':'t','deviceId':'d','timestamp':5}",
    "id: expected a string" },
  { "{'id':['e1'],'type':'t','deviceId':'d','timestamp':5}",
    "id: expected a string" },
  { "{'id':true,'type':'t','deviceId':'d','timestamp':5}",
    "id: expected a string" },
  { "{'id':'e1','type':{},'deviceId':'d','timestamp':5}",
    "type: expected a string" },
  { "{'id':'e1','type':'t','deviceId':7,'timestamp':5}",
    "deviceId: expected a string" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':1.5}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':'123'}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':1.0}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':1e3}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':true}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':[5]}",
    "timestamp: expected an integer" },
  /* Beyond int64 but within uint64: json-c has it as an unsigned int. */
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':9223372036854775808}",
    "timestamp: expected an integer" },
  { "{'id':'e1','type':'t','deviceId':'d','timestamp':18446744073709551615}",
    "timestamp: expected an integer" },
  /* An escaped NUL would cut the string short in C and SQLite: two
   * different ids would be one. */
  { "{'id':'a\\u0000b','type':'t','deviceId':'d','timestamp':5}",
    "id: contains a NUL character" },
  { "{'id':'e1','type':'t\\u0000','deviceId':'d','timestamp':5}",
    "type: contains a NUL character" },
  { "{'id':'e1','type':'t','deviceId':'\\u0000','timestamp':5}",
    "deviceId: contains a NUL character" },
  { NULL, NULL },
};

/* The fields are checked in order id, type, deviceId, timestamp; once id
 * is a string it is set, so the failure can name the event. */
static void
test_envelope_id_kept (void)
{
  g_autofree char *id = NULL;
  g_autofree char *message = NULL;

  message = envelope_error ("{" ENV_ID ",\"timestamp\":\"x\"}", &id);
  g_assert_cmpstr (message, ==, "missing type");
  g_assert_cmpstr (id, ==, "e1");
  g_clear_pointer (&message, g_free);
  g_clear_pointer (&id, g_free);

  message = envelope_error (ENV_WITH_TS ("\"x\""), &id);
  g_assert_cmpstr (message, ==, "timestamp: expected an integer");
  g_assert_cmpstr (id, ==, "e1");
  g_clear_pointer (&message, g_free);
  g_clear_pointer (&id, g_free);

  message = envelope_error ("{\"id\":5,\"type\":1}", &id);
  g_assert_cmpstr (message, ==, "id: expected a string");
  g_assert_null (id);
  g_clear_pointer (&message, g_free);

  message = envelope_error ("{\"id\":\"a\\u0000b\"}", &id);
  g_assert_cmpstr (message, ==, "id: contains a NUL character");
  g_assert_null (id);
}

/* Any int64 is a timestamp, negative ones included (ms before 1970). */
static void
test_envelope_timestamps (void)
{
  static const struct
  {
    const char *text;
    gint64 value;
  } cases[] = {
    { "0", 0 },
    { "-0", 0 },
    { "-1", -1 },
    { "-86400000", G_GINT64_CONSTANT (-86400000) },
    { "1700000000000", G_GINT64_CONSTANT (1700000000000) },
    { "9223372036854775807", G_MAXINT64 },
    { "-9223372036854775808", G_MININT64 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf (ENV_WITH_TS ("%s"),
                                               cases[i].text);
      JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
      json_object *json = parse_event (text, &event);

      g_assert_cmpint (event.timestamp, ==, cases[i].value);
      json_object_put (json);
    }

  /* Out of int64 below: refused by the parser, not clamped to INT64_MIN. */
  assert_rejected ("{" ENV_ID "," ENV_TYPE "," ENV_DEV
                   ",\"timestamp\":-9223372036854775809}",
                   "not valid JSON: integer out of 64-bit range at byte 49");
}

static int
sign (int c)
{
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

/* (timestamp, deviceId, id), strings compared bytewise. */
static void
test_key_order (void)
{
  static const struct
  {
    gint64 ts_a;
    const char *dev_a, *id_a;
    gint64 ts_b;
    const char *dev_b, *id_b;
    int expected;
  } cases[] = {
    { 1, "a", "a", 1, "a", "a", 0 },
    /* Timestamp first, whatever the rest says. */
    { 1, "z", "z", 2, "a", "a", -1 },
    { 2, "a", "a", 1, "z", "z", 1 },
    { -5, "a", "a", 3, "a", "a", -1 },
    { G_MININT64, "a", "a", G_MAXINT64, "a", "a", -1 },
    { G_MAXINT64, "a", "a", G_MININT64, "a", "a", 1 },
    /* Then deviceId, bytewise: uppercase before lowercase, UTF-8 after
     * ASCII, a prefix first; never the locale's collation. */
    { 1, "B", "z", 1, "a", "a", -1 },
    { 1, "a", "a", 1, "B", "z", 1 },
    { 1, "z", "a", 1, "\xc3\xa9", "a", -1 },
    { 1, "\xc3\xa9", "a", 1, "z", "a", 1 },
    { 1, "dev", "z", 1, "dev-2", "a", -1 },
    { 1, "", "z", 1, "a", "a", -1 },
    { 1, "a10", "a", 1, "a9", "a", -1 },
    /* Then id. */
    { 1, "d", "B", 1, "d", "a", -1 },
    { 1, "d", "e2", 1, "d", "e10", 1 },
    { 1, "d", "\xf0\x9f\x98\x80", 1, "d", "\xef\xbf\xbd", 1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int ab = jsync_event_key_compare (cases[i].ts_a, cases[i].dev_a,
                                        cases[i].id_a, cases[i].ts_b,
                                        cases[i].dev_b, cases[i].id_b);
      int ba = jsync_event_key_compare (cases[i].ts_b, cases[i].dev_b,
                                        cases[i].id_b, cases[i].ts_a,
                                        cases[i].dev_a, cases[i].id_a);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (sign (ab), ==, cases[i].expected);
      g_assert_cmpint (sign (ba), ==, -cases[i].expected);
    }
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  g_test_add_func ("/event/parse/valid", test_parse_valid);
  g_test_add_func ("/event/parse/whitespace", test_parse_whitespace);
  g_test_add_func ("/event/parse/not-object", test_parse_not_object);
  g_test_add_data_func ("/event/parse/trailing", parse_trailing,
                        test_parse_rejected);
  g_test_add_data_func ("/event/parse/strict", parse_strict,
                        test_parse_rejected);
  g_test_add_func ("/event/parse/accepted", test_parse_accepted);
  g_test_add_func ("/event/parse/integers", test_parse_integers);
  g_test_add_data_func ("/event/parse/utf8", parse_utf8,
                        test_parse_rejected);
  g_test_add_func ("/event/parse/nul", test_parse_nul);
  g_test_add_func ("/event/parse/too-long", test_parse_too_long);
  g_test_add_func ("/event/parse/depth", test_parse_depth);
  g_test_add_func ("/event/parse/very-deep", test_parse_very_deep);
  g_test_add_func ("/event/parse/duplicate-keys", test_parse_duplicate_keys);
  g_test_add_data_func ("/event/envelope/missing", envelope_missing,
                        test_envelope_rejected);
  g_test_add_data_func ("/event/envelope/mistyped", envelope_mistyped,
                        test_envelope_rejected);
  g_test_add_func ("/event/envelope/id-kept", test_envelope_id_kept);
  g_test_add_func ("/event/envelope/timestamps", test_envelope_timestamps);
  g_test_add_func ("/event/key/order", test_key_order);

  return g_test_run ();
}
