/* jsync-text.c: texts from outside (log names, messages) made fit to show.
 *
 * A log's name is bytes, not text: it may be invalid UTF-8, and it may hold
 * control characters, which a terminal takes for commands (an escape
 * sequence can retitle the window, clear the screen, or hide what follows).
 * The cache keeps the real bytes; what is shown writes each byte that
 * cannot be shown as "\xNN", the way a C string would.
 */
#include <string.h>

#include "jsync-text.h"

/* A character a terminal acts on: C0 but tab and newline, DEL, C1. */
static gboolean
text_is_control (gunichar c)
{
  return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f);
}

static void
text_append_bytes (GString *shown, const char *bytes, gsize length)
{
  for (gsize i = 0; i < length; i++)
    g_string_append_printf (shown, "\\x%02x", (guchar) bytes[i]);
}

/**
 * jsync_escape_text:
 * Each byte that is not part of valid UTF-8 as "\xNN"; with
 * JSYNC_ESCAPE_CONTROLS, each byte of a control character but tab and
 * newline too.
 */
char *
jsync_escape_text (const char *text, gssize length, JsyncEscapeFlags flags)
{
  const char *end;
  GString *shown;

  g_return_val_if_fail (text != NULL, NULL);

  if (length < 0)
    length = strlen (text);
  end = text + length;
  shown = g_string_sized_new (length);
  for (const char *p = text; p < end;)
    {
      /* -1 (invalid) or -2 (cut short) are not characters; neither are
       * overlong forms or surrogates, which GLib refuses too. */
      gunichar c = g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          text_append_bytes (shown, p, 1);
          p++;
          continue;
        }
      next = g_utf8_next_char (p);
      if (c == 0 || ((flags & JSYNC_ESCAPE_CONTROLS) && text_is_control (c)))
        text_append_bytes (shown, p, next - p);
      else
        g_string_append_len (shown, p, next - p);
      p = next;
    }
  return g_string_free (shown, FALSE);
}

/**
 * jsync_json_new_text_len:
 * A JSON string that is valid UTF-8 (see jsync_escape_text()).
 */
json_object *
jsync_json_new_text_len (const char *text, gssize length)
{
  g_autofree char *shown = NULL;
  json_object *json;

  if (text == NULL)
    return NULL;
  if (length < 0)
    length = strlen (text);
  /* It refuses a NUL byte too. */
  if (g_utf8_validate_len (text, length, NULL))
    return json_object_new_string_len (text, length);
  shown = jsync_escape_text (text, length, JSYNC_ESCAPE_INVALID);
  json = json_object_new_string (shown);
  return json;
}

/**
 * jsync_json_new_column:
 * A column's value as JSON (NULL for SQL NULL); text made valid UTF-8 when
 * `valid`.
 */
json_object *
jsync_json_new_column (sqlite3_stmt *stmt, int column, gboolean valid)
{
  const char *text;
  int length;

  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_INTEGER:
      return json_object_new_int64 (sqlite3_column_int64 (stmt, column));
    case SQLITE_FLOAT:
      return json_object_new_double (sqlite3_column_double (stmt, column));
    case SQLITE_NULL:
      return NULL;
    default:
      text = (const char *) sqlite3_column_text (stmt, column);
      length = sqlite3_column_bytes (stmt, column);
      return valid ? jsync_json_new_text_len (text, length)
                   : json_object_new_string_len (text, length);
    }
}
