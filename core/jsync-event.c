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

/* RFC 8259 syntax, checked before json-c builds anything.  json-c 0.16's
 * JSON_TOKENER_STRICT still accepts NaN, Infinity, single-quoted names,
 * numbers such as 00, -01 and 1., and raw control characters in strings;
 * it clamps integers beyond 64 bits and turns unpaired surrogate escapes
 * into U+FFFD (so two different ids could become one), all silently.
 * Iterative: nesting costs a byte per level, not stack. */

typedef enum
{
  SYNTAX_VALUE,             /* a value is due */
  SYNTAX_VALUE_OR_CLOSE,    /* just after '[' */
  SYNTAX_NAME,              /* just after ',' in an object */
  SYNTAX_NAME_OR_CLOSE,     /* just after '{' */
  SYNTAX_COLON,
  SYNTAX_NEXT,              /* after a member or element: ',' or close */
  SYNTAX_DONE,              /* the top-level value is complete */
} SyntaxState;

/* How a token scan ended; the scanner leaves its index past the token, or
 * where it went wrong. */
typedef enum
{
  SCAN_OK,
  SCAN_BAD,
  SCAN_SHORT,               /* the line ends inside the token */
} ScanResult;

static gboolean
event_is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The four hex digits of a \u escape, at i. */
static ScanResult
event_scan_hex4 (const char *data, gsize length, gsize i, guint *unit)
{
  *unit = 0;
  if (length - i < 4)
    return SCAN_SHORT;
  for (gsize k = i; k < i + 4; k++)
    {
      int digit = g_ascii_xdigit_value (data[k]);

      if (digit < 0)
        return SCAN_BAD;
      *unit = *unit * 16 + (guint) digit;
    }
  return SCAN_OK;
}

/* A string from its opening quote at *i. */
static ScanResult
event_scan_string (const char *data, gsize length, gsize *i,
                   const char **what)
{
  gsize p = *i + 1;

  while (p < length)
    {
      guchar c = data[p];
      guint unit, low;
      ScanResult r;

      if (c == '"')
        {
          *i = p + 1;
          return SCAN_OK;
        }
      *i = p;
      if (c < 0x20)
        {
          *what = "control character in a string";
          return SCAN_BAD;
        }
      if (c != '\\')
        {
          p++;
          continue;
        }
      *what = "invalid escape";
      if (++p == length)
        return SCAN_SHORT;
      if (data[p] != '\0' && strchr ("\"\\/bfnrt", data[p]) != NULL)
        {
          p++;
          continue;
        }
      if (data[p] != 'u')
        return SCAN_BAD;
      if ((r = event_scan_hex4 (data, length, p + 1, &unit)) != SCAN_OK)
        return r;
      p += 5;
      if (unit < 0xD800 || unit > 0xDFFF)
        continue;
      *what = "unpaired surrogate";
      if (unit > 0xDBFF)
        return SCAN_BAD;
      /* A high surrogate: the escape of a low one must follow at once. */
      if (p == length || (data[p] == '\\' && p + 1 == length))
        return SCAN_SHORT;
      if (data[p] != '\\' || data[p + 1] != 'u')
        return SCAN_BAD;
      if ((r = event_scan_hex4 (data, length, p + 2, &low)) != SCAN_OK)
        {
          *i = p;
          *what = "invalid escape";
          return r;
        }
      if (low < 0xDC00 || low > 0xDFFF)
        return SCAN_BAD;
      p += 6;
    }
  return SCAN_SHORT;
}

/* One or more digits from *p; an integer part has no leading zero. */
static ScanResult
event_scan_digits (const char *data, gsize length, gsize *p,
                   gboolean integer_part)
{
  gsize first = *p;

  if (*p == length)
    return SCAN_SHORT;
  if (!g_ascii_isdigit (data[*p]))
    return SCAN_BAD;
  while (*p < length && g_ascii_isdigit (data[*p]))
    (*p)++;
  if (integer_part && data[first] == '0' && *p - first > 1)
    {
      *p = first + 1;
      return SCAN_BAD;
    }
  return SCAN_OK;
}

/* Is the integer of `digits` (no sign, no leading zero) within int64 when
 * negative, within uint64 otherwise: what json-c keeps exactly. */
static gboolean
event_integer_fits (const char *digits, gsize n, gboolean negative)
{
  const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
  gsize limit_length = strlen (limit);

  return n < limit_length
         || (n == limit_length && memcmp (digits, limit, n) <= 0);
}

/* A number from *i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static ScanResult
event_scan_number (const char *data, gsize length, gsize *i,
                   const char **what)
{
  gsize p = *i, digits;
  gboolean integer = TRUE;
  ScanResult r;

  *what = "invalid number";
  if (data[p] == '-')
    p++;
  digits = p;
  r = event_scan_digits (data, length, &p, TRUE);
  if (r == SCAN_OK && p < length && data[p] == '.')
    {
      integer = FALSE;
      p++;
      r = event_scan_digits (data, length, &p, FALSE);
    }
  if (r == SCAN_OK && p < length && (data[p] == 'e' || data[p] == 'E'))
    {
      integer = FALSE;
      p++;
      if (p < length && (data[p] == '+' || data[p] == '-'))
        p++;
      r = event_scan_digits (data, length, &p, FALSE);
    }
  if (r == SCAN_OK && integer
      && !event_integer_fits (data + digits, p - digits, data[*i] == '-'))
    {
      *what = "integer out of 64-bit range";
      return SCAN_BAD;
    }
  *i = p;
  return r;
}

/* true, false or null at *i. */
static ScanResult
event_scan_literal (const char *data, gsize length, gsize *i,
                    const char **what)
{
  static const char *const words[] = { "true", "false", "null" };

  *what = "unexpected character";
  for (gsize w = 0; w < G_N_ELEMENTS (words); w++)
    {
      gsize n = strlen (words[w]);

      if (data[*i] != words[w][0])
        continue;
      if (length - *i < n)
        return memcmp (data + *i, words[w], length - *i) == 0 ? SCAN_SHORT
                                                              : SCAN_BAD;
      if (memcmp (data + *i, words[w], n) != 0)
        return SCAN_BAD;
      *i += n;
      return SCAN_OK;
    }
  return SCAN_BAD;
}

static gboolean
event_check_syntax (const char *data, gsize length, GError **error)
{
  char open[JSYNC_EVENT_MAX_DEPTH];   /* '{' or '[' per level */
  guint depth = 0;
  SyntaxState state = SYNTAX_VALUE;
  ScanResult r = SCAN_OK;
  gsize i = 0;

  for (;;)
    {
      const char *what = "unexpected character";
      char c;

      while (i < length && event_is_space (data[i]))
        i++;
      if (i == length)
        break;
      c = data[i];
      switch (state)
        {
        case SYNTAX_DONE:
          what = "unexpected data after the value";
          r = SCAN_BAD;
          break;
        case SYNTAX_COLON:
          if (c != ':')
            {
              what = "expected ':'";
              r = SCAN_BAD;
              break;
            }
          i++;
          state = SYNTAX_VALUE;
          break;
        case SYNTAX_NEXT:
          if (c == ',')
            {
              i++;
              state = open[depth - 1] == '{' ? SYNTAX_NAME : SYNTAX_VALUE;
              break;
            }
          if (c != (open[depth - 1] == '{' ? '}' : ']'))
            {
              what = open[depth - 1] == '{' ? "expected ',' or '}'"
                                            : "expected ',' or ']'";
              r = SCAN_BAD;
              break;
            }
          i++;
          depth--;
          state = depth == 0 ? SYNTAX_DONE : SYNTAX_NEXT;
          break;
        case SYNTAX_NAME_OR_CLOSE:
        case SYNTAX_NAME:
          if (state == SYNTAX_NAME_OR_CLOSE && c == '}')
            {
              i++;
              depth--;
              state = depth == 0 ? SYNTAX_DONE : SYNTAX_NEXT;
              break;
            }
          if (c != '"')
            {
              what = state == SYNTAX_NAME ? "expected a quoted name"
                                          : "expected a quoted name or '}'";
              r = SCAN_BAD;
              break;
            }
          r = event_scan_string (data, length, &i, &what);
          state = SYNTAX_COLON;
          break;
        case SYNTAX_VALUE_OR_CLOSE:
          if (c == ']')
            {
              i++;
              depth--;
              state = depth == 0 ? SYNTAX_DONE : SYNTAX_NEXT;
              break;
            }
          G_GNUC_FALLTHROUGH;
        case SYNTAX_VALUE:
          if (c == '{' || c == '[')
            {
              if (depth == JSYNC_EVENT_MAX_DEPTH)
                {
                  event_set_invalid (error, "not valid JSON: nested deeper "
                                     "than %d levels", JSYNC_EVENT_MAX_DEPTH);
                  return FALSE;
                }
              open[depth++] = c;
              i++;
              state = c == '{' ? SYNTAX_NAME_OR_CLOSE : SYNTAX_VALUE_OR_CLOSE;
              break;
            }
          if (c == '"')
            r = event_scan_string (data, length, &i, &what);
          else if (c == '-' || g_ascii_isdigit (c))
            r = event_scan_number (data, length, &i, &what);
          else
            r = event_scan_literal (data, length, &i, &what);
          state = depth == 0 ? SYNTAX_DONE : SYNTAX_NEXT;
          break;
        }
      if (r == SCAN_SHORT)
        break;
      if (r == SCAN_BAD)
        {
          /* i is where it went wrong: a scanner moved it there. */
          event_set_invalid (error, "not valid JSON: %s at byte %zu", what, i);
          return FALSE;
        }
    }
  if (r == SCAN_SHORT || state != SYNTAX_DONE)
    {
      event_set_invalid (error, "not valid JSON: the line ends inside a value");
      return FALSE;
    }
  return TRUE;
}

/**
 * jsync_event_parse_json:
 * Strict parse of one line (docs/design.md "The sync contract", "Bad
 * input"): valid UTF-8, RFC 8259 syntax, then json-c builds the object.
 */
json_object *
jsync_event_parse_json (const char *data, gsize length, GError **error)
{
  struct json_tokener *tok = jsync_event_tokener_new ();
  json_object *json = jsync_event_parse_json_with (tok, data, length, error);

  json_tokener_free (tok);
  return json;
}

/**
 * jsync_event_tokener_new:
 * A json-c tokener set up as jsync_event_parse_json_with() wants it.
 */
struct json_tokener *
jsync_event_tokener_new (void)
{
  /* json-c counts a scalar as a level too. */
  struct json_tokener *tok = json_tokener_new_ex (JSYNC_EVENT_MAX_DEPTH + 1);

  json_tokener_set_flags (tok, JSON_TOKENER_STRICT);
  return tok;
}

/**
 * jsync_event_check_line:
 * The checks of jsync_event_parse_json_with() before json-c sees the line:
 * its length, NUL bytes, UTF-8, RFC 8259 syntax, an object.
 */
gboolean
jsync_event_check_line (const char *data, gsize length, GError **error)
{
  const char *nul = memchr (data, '\0', length);
  const char *bad_utf8;
  gsize start = 0;

  if (length > G_MAXINT32)
    {
      /* json-c takes an int length. */
      event_set_invalid (error, "too long to parse: %zu bytes (json-c "
                         "takes at most %d)", length, G_MAXINT32);
      return FALSE;
    }
  if (nul != NULL)
    {
      event_set_invalid (error, "not valid JSON: NUL byte at byte %zu",
                         (gsize) (nul - data));
      return FALSE;
    }
  if (!g_utf8_validate_len (data, length, &bad_utf8))
    {
      event_set_invalid (error, "not valid UTF-8 at byte %zu",
                         (gsize) (bad_utf8 - data));
      return FALSE;
    }
  if (!event_check_syntax (data, length, error))
    return FALSE;
  while (event_is_space (data[start]))
    start++;
  if (data[start] != '{')
    {
      event_set_invalid (error, "not a JSON object");
      return FALSE;
    }
  return TRUE;
}

/* What json-c made of a whole line (the syntax known good). */
static json_object *
event_parse_end (struct json_tokener *tok, json_object *json, GError **error)
{
  enum json_tokener_error jerr = json_tokener_get_error (tok);

  if (json == NULL || jerr != json_tokener_success
      || !json_object_is_type (json, json_type_object))
    {
      json_object_put (json);
      event_set_invalid (error, "not valid JSON: %s",
                         json_tokener_error_desc (jerr));
      return NULL;
    }
  return json;
}

/**
 * jsync_event_parse_json_with:
 * jsync_event_parse_json() with a tokener made by jsync_event_tokener_new()
 * and used again for every line (one per thread).
 */
json_object *
jsync_event_parse_json_with (struct json_tokener *tok, const char *data,
                             gsize length, GError **error)
{
  if (!jsync_event_check_line (data, length, error))
    return NULL;
  json_tokener_reset (tok);
  return event_parse_end (tok, json_tokener_parse_ex (tok, data, (int) length),
                          error);
}

/**
 * jsync_event_piece_tokener_new:
 * A tokener for jsync_event_parse_piece(): json-c's own UTF-8 check is
 * off, as it would fail a character cut in two by the end of a piece (the
 * line was checked whole by jsync_event_check_line()).
 */
struct json_tokener *
jsync_event_piece_tokener_new (void)
{
  struct json_tokener *tok = json_tokener_new_ex (JSYNC_EVENT_MAX_DEPTH + 1);

  json_tokener_set_flags (tok, JSON_TOKENER_STRICT);
  return tok;
}

/**
 * jsync_event_parse_piece:
 * Give json-c the next piece of a line that passed jsync_event_check_line()
 * (with a tokener of jsync_event_piece_tokener_new(), new or reset): the
 * object once the piece that ends it is in, else NULL (with `error` set
 * when json-c fails).
 */
json_object *
jsync_event_parse_piece (struct json_tokener *tok, const char *piece,
                         gsize length, GError **error)
{
  json_object *json = json_tokener_parse_ex (tok, piece, (int) length);

  if (json == NULL && json_tokener_get_error (tok) == json_tokener_continue)
    return NULL;
  return event_parse_end (tok, json, error);
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
  /* An escaped NUL ("\u0000") would cut the string short in C and SQLite,
   * and two different ids would be one. */
  if (strlen (*out) != (gsize) json_object_get_string_len (
                           json_object_object_get (json, key)))
    {
      *out = NULL;
      event_set_invalid (error, "%s: contains a NUL character", key);
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
 * The total order of docs/design.md "The sync contract" ("Order").
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
