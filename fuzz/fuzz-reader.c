/* fuzz-reader.c: libFuzzer target for the line reader (core/jsync-reader.h)
 * and the event envelope (core/jsync-event.h).
 *
 * Input: one byte choosing max-line-bytes (1 + 64 × byte: 1 to 16321, so
 * over-long lines come often), one byte choosing whether the rest is
 * repeated to make the log (from 240 on: as many times as it takes to
 * pass 280,000 bytes, at most 512, so that the file crosses the reader's
 * 256 KiB buffer and lines its chunk boundaries), then the bytes.  The
 * file is read as a sync reads it, its first FUZZ_PARSED_LINES lines are
 * parsed and their envelopes checked, and the reader's contract is
 * asserted on every line (a finding aborts):
 *   - a line is complete (a '\n' follows it), holds no '\n', is not blank,
 *     is too long exactly when it exceeds max-line-bytes, and its data are
 *     the file's bytes (the first JSYNC_READER_HEAD_BYTES when too long);
 *   - line numbers count every '\n' before the line, blank lines included;
 *   - at the end the checkpoint is just past the last '\n';
 *   - resuming from the checkpoint after any line returns the same lines;
 *   - the tail hash at the checkpoint is the hash of the bytes before it;
 *   - a line the strict parser accepts is a JSON object that json-c writes
 *     back as text the strict parser accepts again, as an equal object;
 *   - an envelope that checks out has string fields without NUL bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FUZZ_NAME "fuzz-reader"
#include "fuzz-common.h"

#include "jsync-event.h"
#include "jsync-reader.h"

/* Lines of an input given to the JSON parser (the others are only read). */
#define FUZZ_PARSED_LINES 64

/* Lines kept from the first pass, to compare a resumed read with. */
typedef struct
{
  guint64 offset;
  guint64 line;
  guint64 full_length;
  gsize length;
  gboolean too_long;
} Seen;

static const char *log_path;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  log_path = fuzz_init_scratch ("log.jsonl");
  return 0;
}

/* Whether a line holds only ' ', '\t' and '\r': the oracle, written apart
 * from the reader's own test of it. */
static gboolean
fuzz_is_blank (const char *data, gsize length)
{
  gsize blanks = 0;

  /* strchr () finds the '\0' too: a NUL byte is no blank. */
  while (blanks < length && data[blanks] != '\0'
         && strchr (" \t\r", data[blanks]) != NULL)
    blanks++;
  return blanks == length;
}

/* The parser and the envelope on one line. */
static void
fuzz_parse (const char *data, gsize length)
{
  g_autoptr(GError) error = NULL;
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json = jsync_event_parse_json (data, length, &error);
  json_object *again;
  const char *text;

  if (json == NULL)
    {
      CHECK (error != NULL);
      return;
    }
  CHECK (error == NULL);
  CHECK (json_object_is_type (json, json_type_object));

  /* What json-c writes is strict JSON that means the same. */
  text = json_object_to_json_string_ext (json, JSON_C_TO_STRING_PLAIN);
  again = jsync_event_parse_json (text, strlen (text), &error);
  if (again == NULL)
    fprintf (stderr, "fuzz-reader: json-c wrote %s: %s\n", text,
             error->message);
  CHECK (again != NULL);
  CHECK (json_object_equal (json, again));
  json_object_put (again);

  if (jsync_event_read_envelope (json, &event, &error))
    {
      CHECK (event.id != NULL && event.type != NULL
             && event.device_id != NULL);
      CHECK (strlen (event.id) == (gsize) json_object_get_string_len (
                                      json_object_object_get (json, "id")));
      CHECK (strlen (event.device_id)
             == (gsize) json_object_get_string_len (
                 json_object_object_get (json, "deviceId")));
      CHECK (jsync_event_key_compare (event.timestamp, event.device_id,
                                      event.id, event.timestamp,
                                      event.device_id, event.id) == 0);
    }
  else
    CHECK (error != NULL);
  json_object_put (json);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(JsyncReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (Seen));
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(GArray) newline_at = g_array_new (FALSE, FALSE, sizeof (guint64));
  const char *file;
  gsize n;
  guint64 max, repeat, newlines, last_newline_end = 0;
  guint before = 0;
  JsyncLine line;
  gint64 tail;
  int fd;

  if (size < 2)
    return 0;
  max = 1 + (guint64) data[0] * 64;
  repeat = data[1] < 240 ? 1 : MIN (512, 1 + 280000 / MAX (size - 2, 1));
  for (guint64 r = 0; r < repeat; r++)
    g_byte_array_append (bytes, data + 2, size - 2);
  n = bytes->len;
  file = n > 0 ? (const char *) bytes->data : "";
  /* Where the '\n' are (memchr: the harness's own loops are not what is
   * fuzzed, and would cost most of the time). */
  for (const char *p = file; (p = memchr (p, '\n', file + n - p)) != NULL; p++)
    {
      guint64 at = p - file;

      g_array_append_val (newline_at, at);
      last_newline_end = at + 1;
    }
  newlines = newline_at->len;
  fd = g_open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  CHECK (n == 0 || write (fd, file, n) == (gssize) n);
  close (fd);

  /* First pass, from the start. */
  reader = jsync_reader_open (log_path, 0, 0, max, &error);
  CHECK (reader != NULL);
  while (jsync_reader_next (reader, &line, &error))
    {
      Seen s = {
        .offset = line.offset,
        .line = line.line,
        .full_length = line.full_length,
        .length = line.length,
        .too_long = line.too_long,
      };
      CHECK (line.offset + line.full_length < n);
      CHECK (file[line.offset + line.full_length] == '\n');
      CHECK (memchr (file + line.offset, '\n', line.full_length) == NULL);
      CHECK (!fuzz_is_blank (file + line.offset, line.full_length));
      CHECK (line.too_long == (line.full_length > max));
      CHECK (line.length == (line.too_long
                               ? MIN (line.full_length, JSYNC_READER_HEAD_BYTES)
                               : line.full_length));
      CHECK (memcmp (line.data, file + line.offset, line.length) == 0);
      while (before < newline_at->len
             && g_array_index (newline_at, guint64, before) < line.offset)
        before++;
      CHECK (line.line == before + 1);
      CHECK (seen->len == 0
             || line.offset > g_array_index (seen, Seen, seen->len - 1).offset);
      CHECK (jsync_reader_get_offset (reader)
             <= line.offset + line.full_length + 1);
      if (!line.too_long && seen->len < FUZZ_PARSED_LINES)
        fuzz_parse (line.data, line.length);
      g_array_append_val (seen, s);
    }
  CHECK (error == NULL);
  CHECK (jsync_reader_get_offset (reader) == last_newline_end);
  CHECK (jsync_reader_get_line (reader) == newlines);
  CHECK (jsync_tail_hash (jsync_reader_get_fd (reader), last_newline_end,
                          &tail, &error));
  CHECK (tail == jsync_hash (file + last_newline_end
                               - MIN (last_newline_end, 4096),
                             MIN (last_newline_end, 4096)));
  g_clear_pointer (&reader, jsync_reader_free);

  /* Resume after a line, as the next run does from its checkpoint. */
  if (seen->len > 0)
    {
      guint k = (guint) (tail & G_MAXINT32) % seen->len;
      Seen *after = &g_array_index (seen, Seen, k);
      guint next = k + 1;

      reader = jsync_reader_open (log_path,
                                  after->offset + after->full_length + 1,
                                  after->line, max, &error);
      CHECK (reader != NULL);
      while (jsync_reader_next (reader, &line, &error))
        {
          Seen *s;

          CHECK (next < seen->len);
          s = &g_array_index (seen, Seen, next);
          CHECK (line.offset == s->offset && line.line == s->line
                 && line.full_length == s->full_length
                 && line.length == s->length && line.too_long == s->too_long
                 && memcmp (line.data, file + line.offset, line.length) == 0);
          next++;
        }
      CHECK (error == NULL);
      CHECK (next == seen->len);
      CHECK (jsync_reader_get_offset (reader) == last_newline_end);
      CHECK (jsync_reader_get_line (reader) == newlines);
    }
  return 0;
}
