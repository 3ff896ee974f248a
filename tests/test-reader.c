/* test-reader.c: complete lines of a log file from a checkpoint
 * (docs/design.md "Checkpoints" and
 * "Partial lines"). */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <jsync/jsync.h>

#include "jsync-event.h"
#include "jsync-reader.h"
#include "jsync-test.h"

int main (int argc, char **argv);

#define KIB 1024
#define MIB (1024 * 1024)
/* The reader's internal chunk (jsync-reader.c). */
#define CHUNK (256 * KIB)

typedef struct
{
  char *dir;                /* owned: a fresh temporary folder */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-reader-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, &error);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->dir);
}

static char *
write_file (Fixture *f, const char *name, const char *data, gssize length)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
  return path;
}

static void
append_file (const char *path, const char *data, gssize length)
{
  int fd = g_open (path, O_WRONLY | O_APPEND, 0);
  gsize todo = length < 0 ? strlen (data) : (gsize) length;

  g_assert_cmpint (fd, >=, 0);
  while (todo > 0)
    {
      gssize n = write (fd, data, todo);

      g_assert_cmpint (n, >, 0);
      data += n;
      todo -= n;
    }
  g_assert_cmpint (close (fd), ==, 0);
}

/* `length` bytes of `c`. */
static char *
repeat (char c, gsize length)
{
  char *s = g_malloc (length + 1);

  memset (s, c, length);
  s[length] = '\0';
  return s;
}

/* A copy of one returned line, its bytes in the same block (g_free). */
typedef struct
{
  guint64 full_length;
  guint64 offset;
  guint64 line;
  gboolean too_long;
  gsize length;
  char data[];
} Got;

/* Every line from the checkpoint (offset, line) to the end; the reader's
 * checkpoint after the last call in *end_offset and *end_line. */
static GPtrArray *
read_lines (const char *path, guint64 offset, guint64 line,
            guint64 max_line_bytes, guint64 *end_offset, guint64 *end_line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncReader) reader = jsync_reader_open (path, offset, line,
                                                     max_line_bytes, &error);
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  JsyncLine l;

  g_assert_no_error (error);
  g_assert_nonnull (reader);
  while (jsync_reader_next (reader, &l, &error))
    {
      Got *got = g_malloc (sizeof (Got) + l.length);

      g_assert_no_error (error);
      g_assert_cmpuint (l.length, <=, l.full_length);
      if (l.too_long)
        {
          g_assert_cmpuint (l.full_length, >, max_line_bytes);
          g_assert_cmpuint (l.length, ==,
                            MIN (l.full_length, JSYNC_READER_HEAD_BYTES));
        }
      else
        {
          g_assert_cmpuint (l.full_length, <=, max_line_bytes);
          g_assert_cmpuint (l.length, ==, l.full_length);
        }
      memcpy (got->data, l.data, l.length);
      got->length = l.length;
      got->full_length = l.full_length;
      got->offset = l.offset;
      got->line = l.line;
      got->too_long = l.too_long;
      g_ptr_array_add (lines, got);
    }
  g_assert_no_error (error);
  /* The end stays the end. */
  g_assert_false (jsync_reader_next (reader, &l, &error));
  g_assert_no_error (error);
  if (end_offset != NULL)
    *end_offset = jsync_reader_get_offset (reader);
  if (end_line != NULL)
    *end_line = jsync_reader_get_line (reader);
  return lines;
}

/* read_lines from (offset, line), asserting how many lines come and the
 * checkpoint it ends at. */
static GPtrArray *
read_expect (const char *path, guint64 offset, guint64 line,
             guint64 max_line_bytes, guint n, guint64 end_offset,
             guint64 end_line)
{
  guint64 got_offset, got_line;
  GPtrArray *lines = read_lines (path, offset, line, max_line_bytes,
                                 &got_offset, &got_line);

  g_assert_cmpuint (lines->len, ==, n);
  g_assert_cmpuint (got_offset, ==, end_offset);
  g_assert_cmpuint (got_line, ==, end_line);
  return lines;
}

/* Line i: too long or not, its full length, and its first bytes (all of
 * them, or JSYNC_READER_HEAD_BYTES of an over-long line) those of `head`. */
static void
assert_got_full (GPtrArray *lines, guint i, gboolean too_long,
                 const char *head, guint64 full_length, guint64 offset,
                 guint64 line)
{
  Got *got;
  gsize length;
  const char *bytes;

  g_assert_cmpuint (i, <, lines->len);
  got = lines->pdata[i];
  bytes = got->data;
  length = got->length;
  g_assert_cmpint (got->too_long != FALSE, ==, too_long);
  g_assert_cmpuint (got->full_length, ==, full_length);
  g_assert_cmpuint (length, ==, too_long ? MIN (full_length,
                                                JSYNC_READER_HEAD_BYTES)
                                         : full_length);
  g_assert_cmpmem (bytes, length, head, length);
  g_assert_cmpuint (got->offset, ==, offset);
  g_assert_cmpuint (got->line, ==, line);
}

static void
assert_got (GPtrArray *lines, guint i, const char *data, guint64 offset,
            guint64 line)
{
  assert_got_full (lines, i, FALSE, data, strlen (data), offset, line);
}

/* An over-long line: its first bytes are `head` (all of them up to
 * JSYNC_READER_HEAD_BYTES). */
static void
assert_got_long (GPtrArray *lines, guint i, const char *head,
                 guint64 full_length, guint64 offset, guint64 line)
{
  assert_got_full (lines, i, TRUE, head, full_length, offset, line);
}

/* A log's text, and the lines a read from the start returns. */
typedef struct
{
  const char *text;
  guint n;
  struct
  {
    const char *data;
    guint64 offset;
    guint64 line;
  } got[3];
  guint64 end_offset;
  guint64 end_line;
} LinesCase;

static void
test_lines (Fixture *f, gconstpointer data)
{
  const LinesCase *c = data;
  g_autofree char *path = write_file (f, "case.jsonl", c->text, -1);
  g_autoptr(GPtrArray) lines = read_expect (path, 0, 0, 1000, c->n,
                                            c->end_offset, c->end_line);

  for (guint i = 0; i < c->n; i++)
    assert_got (lines, i, c->got[i].data, c->got[i].offset, c->got[i].line);
}

static const LinesCase lines_basic = {
  .text = "{\"a\":1}\nbb\nccc\n", .n = 3,
  .got = { { "{\"a\":1}", 0, 1 }, { "bb", 8, 2 }, { "ccc", 11, 3 } },
  .end_offset = 15, .end_line = 3 };

/* The Nexus app writes "\n" + event + "\n": blank lines between events
 * count as lines but are not returned. */
static const LinesCase lines_blank_between = {
  .text = "\n{\"a\":1}\n\n{\"b\":2}\n\n\n{\"c\":3}\n", .n = 3,
  .got = { { "{\"a\":1}", 1, 2 }, { "{\"b\":2}", 10, 4 },
           { "{\"c\":3}", 20, 7 } },
  .end_offset = 28, .end_line = 7 };

/* Blank means only spaces, tabs and '\r'; form feed and vertical tab are
 * not JSON whitespace, so such a line is returned (and fails to parse). */
static const LinesCase lines_whitespace_only = {
  .text = " \t \n\t\n  \r\n{}\n\f\n\v\n \n", .n = 3,
  .got = { { "{}", 10, 4 }, { "\f", 13, 5 }, { "\v", 15, 6 } },
  .end_offset = 19, .end_line = 7 };

static const LinesCase lines_empty = { .text = "" };

/* A last line with no '\n' is not read and the checkpoint stays before it;
 * once the rest arrives it is read whole, from that checkpoint. */
static void
test_lines_partial_last (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "p.jsonl", "\n{\"a\":1}\n{\"b\":", -1);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  g_autoptr(GPtrArray) none = NULL;

  lines = read_expect (path, 0, 0, 1000, 1, 9, 2);
  assert_got (lines, 0, "{\"a\":1}", 1, 2);

  /* Still incomplete: nothing read, nothing moved. */
  append_file (path, "2", -1);
  none = read_expect (path, 9, 2, 1000, 0, 9, 2);

  append_file (path, "}\n\n{\"c\":3}\n", -1);
  rest = read_expect (path, 9, 2, 1000, 2, 26, 5);
  assert_got (rest, 0, "{\"b\":2}", 9, 3);
  assert_got (rest, 1, "{\"c\":3}", 18, 5);
}


static void
assert_same (const Got *a, const Got *b)
{
  g_assert_cmpmem (a->data, a->length, b->data, b->length);
  g_assert_cmpuint (a->full_length, ==, b->full_length);
  g_assert_cmpuint (a->offset, ==, b->offset);
  g_assert_cmpuint (a->line, ==, b->line);
  g_assert_cmpint (a->too_long, ==, b->too_long);
}

/* The checkpoint after each line resumes exactly there, with the same
 * numbers as a read from the start; one at or past the end reads nothing
 * and does not move. */
static void
test_lines_resume (Fixture *f, gconstpointer data)
{
  const char *text = "l1\n\nl3\n  \nl5\nl6\n\n";
  g_autofree char *path = write_file (f, "r.jsonl", text, -1);
  guint64 end_offset, end_line, offset, line;
  g_autoptr(GPtrArray) all = read_lines (path, 0, 0, 100, &end_offset,
                                         &end_line);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncReader) reader = NULL;
  g_autoptr(GPtrArray) from_blank = NULL;
  JsyncLine l;

  g_assert_cmpuint (all->len, ==, 4);
  assert_got (all, 0, "l1", 0, 1);
  assert_got (all, 1, "l3", 4, 3);
  assert_got (all, 2, "l5", 10, 5);
  assert_got (all, 3, "l6", 13, 6);
  g_assert_cmpuint (end_offset, ==, strlen (text));
  g_assert_cmpuint (end_line, ==, 7);

  reader = jsync_reader_open (path, 0, 0, 100, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < all->len; i++)
    {
      g_autoptr(GPtrArray) rest = NULL;

      g_assert_true (jsync_reader_next (reader, &l, &error));
      g_assert_no_error (error);
      offset = jsync_reader_get_offset (reader);
      line = jsync_reader_get_line (reader);
      g_assert_cmpuint (offset, ==, l.offset + l.length + 1);
      g_assert_cmpuint (line, ==, l.line);

      rest = read_lines (path, offset, line, 100, &offset, &line);
      g_assert_cmpuint (rest->len, ==, all->len - i - 1);
      for (guint k = 0; k < rest->len; k++)
        assert_same (rest->pdata[k], all->pdata[i + 1 + k]);
      g_assert_cmpuint (offset, ==, end_offset);
      g_assert_cmpuint (line, ==, end_line);
    }
  g_assert_false (jsync_reader_next (reader, &l, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (jsync_reader_get_offset (reader), ==, end_offset);
  g_assert_cmpuint (jsync_reader_get_line (reader), ==, end_line);

  /* From the start of a blank line. */
  from_blank = read_lines (path, 3, 1, 100, NULL, NULL);
  g_assert_cmpuint (from_blank->len, ==, 3);
  for (guint k = 0; k < from_blank->len; k++)
    assert_same (from_blank->pdata[k], all->pdata[1 + k]);

  /* At the end, and past it. */
  g_ptr_array_unref (read_expect (path, end_offset, end_line, 100, 0,
                                  end_offset, end_line));
  g_ptr_array_unref (read_expect (path, 1000, 99, 100, 0, 1000, 99));
}

/* CRLF: the '\r' stays in the line (JSON takes it as whitespace); "\r\n"
 * alone is blank; a lone '\r' ends nothing. */
static void
test_lines_crlf (Fixture *f, gconstpointer data)
{
  const char *text = "{\"a\":1}\r\n\r\n{\"b\":2}\r\nx\ry\n\r\r\n";
  g_autofree char *path = write_file (f, "crlf.jsonl", text, -1);
  g_autoptr(GPtrArray) lines = read_expect (path, 0, 0, 1000, 3, 27, 5);
  g_autoptr(GError) error = NULL;
  const Got *first;
  json_object *json;

  assert_got (lines, 0, "{\"a\":1}\r", 0, 1);
  assert_got (lines, 1, "{\"b\":2}\r", 11, 3);
  assert_got (lines, 2, "x\ry", 20, 4);

  first = lines->pdata[0];
  json = jsync_event_parse_json (first->data, first->length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int (json_object_object_get (json, "a")),
                   ==, 1);
  json_object_put (json);
}

/* Blank lines move the checkpoint to the end; a blank partial line does
 * not count until its '\n' comes. */
static void
test_only_blank (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "b.jsonl", "\n\n  \n\r\n", -1);
  g_autofree char *partial = write_file (f, "c.jsonl", "\n  ", -1);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GPtrArray) none = NULL;

  lines = read_expect (path, 0, 0, 1000, 0, 7, 4);

  none = read_expect (partial, 0, 0, 1000, 0, 1, 1);
}

/* `length` bytes, no newline, that differ from one position to the next
 * (so a head taken from the wrong place shows). */
static char *
pattern (gsize length, guint seed)
{
  char *s = g_malloc (length + 1);

  for (gsize i = 0; i < length; i++)
    s[i] = 'a' + (char) ((i * 7 + i / 26 + seed) % 26);
  s[length] = '\0';
  return s;
}

/* max-line-bytes 100: a line of 100 is a line; 101 and 5000 are too long,
 * their first bytes kept (all 101, or 4096 of 5000). */
static void
test_long_small_max (Fixture *f, gconstpointer data)
{
  g_autofree char *l100 = pattern (100, 1);
  g_autofree char *l101 = pattern (101, 2);
  g_autofree char *l5000 = pattern (5000, 3);
  g_autofree char *text = g_strconcat (l100, "\n", l101, "\n", l5000, "\nok\n",
                                       NULL);
  g_autofree char *path = write_file (f, "s.jsonl", text, -1);
  g_autoptr(GPtrArray) lines = NULL;

  lines = read_expect (path, 0, 0, 100, 4, 5207, 4);
  assert_got (lines, 0, l100, 0, 1);
  assert_got_long (lines, 1, l101, 101, 101, 2);
  assert_got_long (lines, 2, l5000, 5000, 203, 3);
  assert_got (lines, 3, "ok", 5204, 4);
}

/* A line too long for max_line_bytes between two short ones: `before`
 * (its first line, numbered first_line), the long line, `after` (blank
 * lines, then its last line). */
typedef struct
{
  const char *before;
  gsize length;
  guint seed;
  const char *after;
  guint64 max_line_bytes;
  const char *first;
  guint64 first_line;
  const char *last;
  guint64 last_line;
} LongCase;

static void
test_long_between (Fixture *f, gconstpointer data)
{
  const LongCase *c = data;
  g_autofree char *big = pattern (c->length, c->seed);
  g_autofree char *text = g_strconcat (c->before, big, c->after, NULL);
  g_autofree char *path = write_file (f, "long.jsonl", text, -1);
  guint64 at = strlen (c->before);
  g_autoptr(GPtrArray) lines = read_expect (path, 0, 0, c->max_line_bytes, 3,
                                            strlen (text), c->last_line);

  assert_got (lines, 0, c->first, at - strlen (c->first) - 1, c->first_line);
  assert_got_long (lines, 1, big, c->length, at, c->first_line + 1);
  assert_got (lines, 2, c->last, strlen (text) - strlen (c->last) - 1,
              c->last_line);
}

/* The same through the other path: the line outgrows the buffer before
 * its '\n' is seen, and is skipped through, its head kept. */
static const LongCase long_small_max_skipped = {
  .before = "{}\n", .length = 300 * KIB, .seed = 4, .after = "\nok\n",
  .max_line_bytes = 100, .first = "{}", .first_line = 1, .last = "ok",
  .last_line = 3 };

/* max-line-bytes 1 MiB: lines around the 256 KiB chunk (the '\n' as the
 * last byte of a chunk and as the first of the next) and of exactly 1 MiB
 * come whole; 1 MiB + 1 is too long. */
static void
test_long_chunk (Fixture *f, gconstpointer data)
{
  const gsize sizes[] = { CHUNK - 1, CHUNK, CHUNK + 1000, 3, MIB, MIB + 1, 2 };
  char *parts[G_N_ELEMENTS (sizes)];
  GString *text = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  guint64 offset = 0, end_offset, end_line;

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      parts[i] = pattern (sizes[i], (guint) i);
      g_string_append_len (text, parts[i], sizes[i]);
      g_string_append_c (text, '\n');
    }
  path = write_file (f, "c.jsonl", text->str, text->len);

  lines = read_lines (path, 0, 0, MIB, &end_offset, &end_line);
  g_assert_cmpuint (lines->len, ==, G_N_ELEMENTS (sizes));
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      if (sizes[i] > MIB)
        assert_got_long (lines, i, parts[i], sizes[i], offset, i + 1);
      else
        assert_got (lines, i, parts[i], offset, i + 1);
      offset += sizes[i] + 1;
      g_free (parts[i]);
    }
  g_assert_cmpuint (end_offset, ==, text->len);
  g_assert_cmpuint (end_line, ==, G_N_ELEMENTS (sizes));
  g_string_free (text, TRUE);
}

/* 3 MiB with max 1 MiB: too long, its length right, its first 4 KiB kept;
 * the lines after it are read as usual. */
static const LongCase long_3mib = {
  .before = "\n{}\n", .length = 3 * MIB, .seed = 5,
  .after = "\n\n{\"x\":1}\n", .max_line_bytes = MIB, .first = "{}",
  .first_line = 2, .last = "{\"x\":1}", .last_line = 5 };

/* An over-long line with no '\n' yet is not consumed, by either path; it
 * is read (as too long) once complete. */
static void
test_long_incomplete (Fixture *f, gconstpointer data)
{
  g_autofree char *big = pattern (3 * MIB, 6);
  g_autofree char *small = pattern (200, 7);
  g_autofree char *text = g_strconcat ("A\n", big, NULL);
  g_autofree char *text2 = g_strconcat ("A\n", small, NULL);
  g_autofree char *path = write_file (f, "i.jsonl", text, -1);
  g_autofree char *path2 = write_file (f, "j.jsonl", text2, -1);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  g_autoptr(GPtrArray) first2 = NULL;
  g_autoptr(GPtrArray) rest2 = NULL;

  first = read_expect (path, 0, 0, MIB, 1, 2, 1);
  assert_got (first, 0, "A", 0, 1);
  append_file (path, "\nB\n", -1);
  rest = read_expect (path, 2, 1, MIB, 2, 3 * MIB + 5, 3);
  assert_got_long (rest, 0, big, 3 * MIB, 2, 2);
  assert_got (rest, 1, "B", 3 + 3 * MIB, 3);

  first2 = read_expect (path2, 0, 0, 100, 1, 2, 1);
  append_file (path2, "\n", -1);
  rest2 = read_expect (path2, 2, 1, 100, 1, 203, 2);
  assert_got_long (rest2, 0, small, 200, 2, 2);
}

/* A blank line is blank however long: skipped, not reported as too long,
 * by either path (it used to be reported when it outgrew the buffer). */
static void
test_long_blank (Fixture *f, gconstpointer data)
{
  g_autofree char *spaces = repeat (' ', 3 * MIB);
  g_autofree char *s150 = repeat ('\t', 150);
  g_autofree char *s300k = repeat (' ', 300 * KIB);
  g_autofree char *text = g_strconcat (spaces, "\r\n{}\n", NULL);
  g_autofree char *text2 = g_strconcat (s150, "\n", s300k, "\n{}\n", NULL);
  g_autofree char *text3 = g_strconcat ("{}\n", spaces, NULL);
  g_autofree char *path = write_file (f, "b.jsonl", text, -1);
  g_autofree char *path2 = write_file (f, "c.jsonl", text2, -1);
  g_autofree char *path3 = write_file (f, "d.jsonl", text3, -1);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GPtrArray) lines2 = NULL;
  g_autoptr(GPtrArray) lines3 = NULL;

  lines = read_expect (path, 0, 0, MIB, 1, strlen (text), 2);
  assert_got (lines, 0, "{}", 3 * MIB + 2, 2);

  lines2 = read_expect (path2, 0, 0, 100, 1, strlen (text2), 3);
  assert_got (lines2, 0, "{}", 151 + 300 * KIB + 1, 3);

  /* Without its '\n' it is still left for later. */
  lines3 = read_expect (path3, 0, 0, MIB, 1, 3, 1);
}

/* A 50 MB line with max 1 MiB is skipped through in bounded memory and
 * quickly.  Run in a fresh process so ru_maxrss measures this alone. */
static void
test_long_memory (Fixture *f, gconstpointer data)
{
  const gsize total = 50 * MIB;
  g_autofree char *path = NULL;
  g_autofree char *chunk = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  struct rusage before, after;
  guint64 offset, line;
  gint64 start, elapsed;
  int fd;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  path = g_build_filename (f->dir, "m.jsonl", NULL);
  chunk = pattern (MIB, 8);
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "{}\n", 3), ==, 3);
  for (gsize done = 0; done < total; done += MIB)
    g_assert_cmpint (write (fd, chunk, MIB), ==, MIB);
  g_assert_cmpint (write (fd, "\n{}\n", 4), ==, 4);
  g_assert_cmpint (close (fd), ==, 0);

  g_assert_cmpint (getrusage (RUSAGE_SELF, &before), ==, 0);
  start = g_get_monotonic_time ();
  lines = read_lines (path, 0, 0, MIB, &offset, &line);
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpint (getrusage (RUSAGE_SELF, &after), ==, 0);

  g_assert_cmpuint (lines->len, ==, 3);
  assert_got (lines, 0, "{}", 0, 1);
  assert_got_long (lines, 1, chunk, total, 3, 2);
  assert_got (lines, 2, "{}", 3 + total + 1, 3);
  g_assert_cmpuint (offset, ==, total + 7);
  g_assert_cmpuint (line, ==, 3);
  g_test_message ("peak RSS grew by %ld KiB in %" G_GINT64_FORMAT " ms",
                  after.ru_maxrss - before.ru_maxrss, elapsed / 1000);
  g_assert_cmpint (after.ru_maxrss - before.ru_maxrss, <, 20 * 1024);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);
}

/* Many lines of every length from 0 to 96, so line ends fall at every
 * place in the chunks; numbers and offsets stay right throughout. */
static void
test_many_lines (Fixture *f, gconstpointer data)
{
  const guint n = 30000;
  GString *text = g_string_new (NULL);
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  guint64 offset, line;
  guint k = 0;

  for (guint i = 0; i < n; i++)
    {
      guint64 start = text->len;

      g_array_append_val (starts, start);
      for (guint c = 0; c < i % 97; c++)
        g_string_append_c (text, 'a' + (char) ((i + c) % 26));
      g_string_append_c (text, '\n');
    }
  path = write_file (f, "many.jsonl", text->str, text->len);

  lines = read_lines (path, 0, 0, 1000, &offset, &line);
  for (guint i = 0; i < n; i++)
    {
      Got *got;
      gsize length;
      const char *bytes;

      if (i % 97 == 0)
        continue;
      g_assert_cmpuint (k, <, lines->len);
      got = lines->pdata[k++];
      bytes = got->data;
      length = got->length;
      g_assert_cmpuint (got->line, ==, i + 1);
      g_assert_cmpuint (got->offset, ==, g_array_index (starts, guint64, i));
      g_assert_cmpuint (length, ==, i % 97);
      g_assert_cmpmem (bytes, length, text->str + got->offset, i % 97);
    }
  g_assert_cmpuint (k, ==, lines->len);
  g_assert_cmpuint (offset, ==, text->len);
  g_assert_cmpuint (line, ==, n);
  g_array_unref (starts);
  g_string_free (text, TRUE);
}

/* FNV-1a 64 reference values. */
static void
test_hash_known (void)
{
  g_assert_cmpint (jsync_hash ("", 0), ==,
                   (gint64) G_GUINT64_CONSTANT (0xcbf29ce484222325));
  g_assert_cmpint (jsync_hash ("a", 1), ==,
                   (gint64) G_GUINT64_CONSTANT (0xaf63dc4c8601ec8c));
  g_assert_cmpint (jsync_hash ("foobar", 6), ==,
                   (gint64) G_GUINT64_CONSTANT (0x85944171f73967e8));
  g_assert_cmpint (jsync_hash ("a\0b", 3), !=, jsync_hash ("a\0c", 3));
}

/* The tail hash is the hash of the last min(4096, offset) bytes before
 * offset; past the end of the file it is an error. */
static void
test_tail_hash (Fixture *f, gconstpointer data)
{
  const gsize size = 10000;
  const guint64 offsets[] = { 0, 1, 100, 4095, 4096, 4097, 5000, 9999, 10000 };
  g_autofree char *bytes = g_malloc (size);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  gint64 hash = 0;
  int fd;

  for (gsize i = 0; i < size; i++)
    bytes[i] = (char) g_test_rand_int_range (0, 256);
  path = write_file (f, "t.jsonl", bytes, size);
  fd = g_open (path, O_RDONLY, 0);
  g_assert_cmpint (fd, >=, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      guint64 length = MIN (offsets[i], 4096);

      g_assert_true (jsync_tail_hash (fd, offsets[i], &hash, &error));
      g_assert_no_error (error);
      g_assert_cmpint (hash, ==,
                       jsync_hash (bytes + offsets[i] - length, length));
    }
  g_assert_false (jsync_tail_hash (fd, size + 1, &hash, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_cmpint (close (fd), ==, 0);
}

static void
test_pread_all (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "p.jsonl", "0123456789", -1);
  g_autoptr(GError) error = NULL;
  char buffer[16] = { 0 };
  int fd = g_open (path, O_RDONLY, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (jsync_pread_all (fd, buffer, 4, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, 4, "3456", 4);
  g_assert_true (jsync_pread_all (fd, buffer, 10, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, 10, "0123456789", 10);
  g_assert_true (jsync_pread_all (fd, buffer, 0, 100, &error));
  g_assert_no_error (error);

  g_assert_false (jsync_pread_all (fd, buffer, 5, 8, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_cmpstr (error->message, ==, "read: file ends before byte 13");
  g_clear_error (&error);
  g_assert_false (jsync_pread_all (fd, buffer, 1, 10, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_cmpstr (error->message, ==, "read: file ends before byte 11");
  g_clear_error (&error);
  g_assert_cmpint (close (fd), ==, 0);

  g_assert_false (jsync_pread_all (-1, buffer, 1, 0, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
}

/* Opening `path` fails with an I/O error that names it. */
static void
assert_open_fails (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = g_strconcat (path, ": open: ", NULL);
  JsyncReader *none = jsync_reader_open (path, 0, 0, 100, &error);

  g_assert_null (none);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

/* Open failures name the file; symbolic links are not followed; the fd is
 * the file's. */
static void
test_open (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "o.jsonl", "{}\n", -1);
  g_autofree char *missing = g_build_filename (f->dir, "missing.jsonl", NULL);
  g_autofree char *link = g_build_filename (f->dir, "link.jsonl", NULL);
  g_autofree char *prefix = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncReader) reader = NULL;
  g_autoptr(JsyncReader) dir_reader = NULL;
  JsyncLine l;
  struct stat st;

  assert_open_fails (missing);
  g_assert_cmpint (symlink (path, link), ==, 0);
  assert_open_fails (link);

  /* A folder opens, but reading it fails with an error. */
  dir_reader = jsync_reader_open (f->dir, 0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_false (jsync_reader_next (dir_reader, &l, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  prefix = g_strconcat (f->dir, ": read: ", NULL);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_clear_error (&error);

  reader = jsync_reader_open (path, 0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fstat (jsync_reader_get_fd (reader), &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 3);
  jsync_reader_free (NULL);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

#define ADD_LINES(path, c) \
  g_test_add (path, Fixture, &c, fixture_setup, test_lines, fixture_teardown)
  ADD_LINES ("/reader/lines/basic", lines_basic);
  ADD_LINES ("/reader/lines/blank-between", lines_blank_between);
  JTEST_ADD ("/reader/lines/partial-last", test_lines_partial_last);
  JTEST_ADD ("/reader/lines/resume", test_lines_resume);
  JTEST_ADD ("/reader/lines/crlf", test_lines_crlf);
  ADD_LINES ("/reader/lines/whitespace-only", lines_whitespace_only);
  ADD_LINES ("/reader/lines/empty", lines_empty);
#undef ADD_LINES
  JTEST_ADD ("/reader/lines/only-blank", test_only_blank);
  JTEST_ADD ("/reader/lines/many", test_many_lines);
  JTEST_ADD ("/reader/long/small-max", test_long_small_max);
  g_test_add ("/reader/long/small-max-skipped", Fixture,
              &long_small_max_skipped, fixture_setup, test_long_between,
              fixture_teardown);
  JTEST_ADD ("/reader/long/chunk", test_long_chunk);
  g_test_add ("/reader/long/3mib", Fixture, &long_3mib, fixture_setup,
              test_long_between, fixture_teardown);
  JTEST_ADD ("/reader/long/incomplete", test_long_incomplete);
  JTEST_ADD ("/reader/long/blank", test_long_blank);
  JTEST_ADD ("/reader/long/memory", test_long_memory);
  JTEST_ADD ("/reader/hash/tail", test_tail_hash);
  JTEST_ADD ("/reader/io/pread-all", test_pread_all);
  JTEST_ADD ("/reader/io/open", test_open);
  g_test_add_func ("/reader/hash/known", test_hash_known);

  return g_test_run ();
}
