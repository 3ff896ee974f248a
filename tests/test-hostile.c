/* test-hostile.c: what the outside world does to jsync (issue 3, items 5
 * and 6), through the program (JSYNC_BIN) as a user runs it.
 *
 * Hostile input: a line of 100 MB (memory stays bounded: the child's peak
 * RSS from wait4), NUL bytes, invalid UTF-8, 100k-deep nesting, numbers
 * out of range, envelope fields of the wrong type, symbolic-link loops and a
 * FIFO in the data folder, a cache that is truncated, not SQLite, or has a
 * page overwritten, plugins writable by other users.  Each case checks what
 * a user sees: the exit status, a message naming the file and line, the
 * good events around the bad ones applied, nothing lost.
 *
 * Silent overwrite: a sync tool replaces a log with another device's version
 * that lacks appends this cache applied: the cache keeps their effects (also
 * through a later re-application of the stream), the result and `status`
 * name the file and the ids, and what the new version still holds is not
 * applied twice.
 */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "program-harness.h"

#define MIB (1024 * 1024)
#define CONV "conversations/conv_c1.jsonl"

typedef struct
{
  Program *program;         /* owned */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  f->program = program_new (g_get_tmp_dir ());
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  program_free (f->program);
}

/* --- Data ----------------------------------------------------------------- */

static char *
data_path (Fixture *f, const char *relative)
{
  return g_build_filename (f->program->data, relative, NULL);
}

/* Append bytes (NULs allowed) to a log, making its folder. */
static void
append_bytes (Fixture *f, const char *relative, const char *bytes,
              gssize length)
{
  g_autofree char *path = data_path (f, relative);
  g_autofree char *dir = g_path_get_dirname (path);
  FILE *file;

  if (length < 0)
    length = strlen (bytes);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_fopen (path, "ab");
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite (bytes, 1, length, file), ==, (gsize) length);
  g_assert_cmpint (fclose (file), ==, 0);
}

static void
append_text (Fixture *f, const char *relative, const char *text)
{
  append_bytes (f, relative, text, -1);
}

static char *
metadata_line (const char *id, gint64 ts)
{
  return jtest_metadata_line (id, "dev-a", ts, "c1", "Chat");
}

static char *
message_line (const char *id, const char *device, gint64 ts,
              const char *message, const char *content)
{
  return g_strdup_printf (
      "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"id\":\"%s\","
      "\"role\":\"user\",\"content\":\"%s\",\"sequenceNumber\":%" G_GINT64_FORMAT
      "},\"id\":\"%s\",\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
      message, content, ts, id, device, ts);
}

static char *
update_line (const char *id, const char *device, gint64 ts,
             const char *message, const char *content)
{
  return g_strdup_printf (
      "{\"type\":\"message_updated\",\"conversationId\":\"c1\","
      "\"messageId\":\"%s\",\"data\":{\"content\":\"%s\"},\"id\":\"%s\","
      "\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
      message, content, id, device, ts);
}

static gint64
cache_int (Fixture *f, const char *sql)
{
  return program_query_int (f->program->db, sql);
}

static json_object *
first_error (JTestRun *run)
{
  json_object *errors = jtest_member (run->json, "errors");

  g_assert_cmpuint (json_object_array_length (errors), >=, 1);
  return json_object_array_get_idx (errors, 0);
}

/* A sync over four lines of CONV whose third is bad: exit 1, three events
 * applied and one failed, the first error at that line and saying
 * `reason`; returns that error.  (transfer none) */
static json_object *
third_line_failed (JTestRun *run, const char *reason)
{
  json_object *error;

  g_assert_cmpint (run->status, ==, 1);
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 3);
  g_assert_cmpint (jtest_member_int (run->json, "eventsFailed"), ==, 1);
  error = first_error (run);
  g_assert_cmpstr (jtest_member_str (error, "file"), ==, CONV);
  g_assert_cmpint (jtest_member_int (error, "line"), ==, 3);
  jtest_assert_has (jtest_member_str (error, "message"), reason);
  return error;
}

/* --- Bad lines between good ones ------------------------------------------ */

/* Two good events, the bad line (third), a good one: the bad line is a
 * failed event named by file and line (exit 1); the three good events are
 * applied; the line's bytes are kept in jsync_failed; a second run says
 * nothing new. */
static JTestRun *
run_bad_line (Fixture *f, const char *bad, gsize length, const char *reason)
{
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *m1 = message_line ("e2", "dev-a", 2000, "m1", "before");
  g_autofree char *m2 = message_line ("e4", "dev-a", 4000, "m2", "after");
  g_autofree char *where = g_strdup_printf ("%s:3", CONV);
  g_autoptr(JTestRun) again = NULL;
  JTestRun *run;
  json_object *error;

  append_text (f, CONV, create);
  append_text (f, CONV, m1);
  append_bytes (f, CONV, bad, length);
  append_text (f, CONV, m2);
  run = PROGRAM_RUN (f->program, "sync", "--json");
  error = third_line_failed (run, reason);
  g_assert_cmpint (jtest_member_int (error, "offset"), ==,
                   strlen (create) + strlen (m1));
  g_assert_nonnull (strstr (run->err, where));
  g_assert_cmpint (cache_int (f, "SELECT messageCount FROM conversations"),
                   ==, 2);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM jsync_failed"
                                 " WHERE raw IS NOT NULL AND line = 3"), ==, 1);

  again = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (again->status, ==, 0);
  g_assert_cmpint (jtest_member_int (again->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_int (again->json, "eventsFailed"), ==, 0);
  return run;
}

/* One case of a table of bad lines: run_bad_line on a fresh fixture when
 * `fresh` (the first case uses the one the test was given). */
static void
run_bad_case (Fixture *f, gboolean fresh, const char *line, gsize length,
              const char *reason)
{
  g_autoptr(JTestRun) run = NULL;

  if (fresh)
    {
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
    }
  run = run_bad_line (f, line, length, reason);
}

static void
test_nul (Fixture *f, gconstpointer user_data)
{
  static const char line[] = "{\"type\":\"message\",\"conversationId\":\"c1\","
                             "\"data\":{\"id\":\"m9\",\"content\":\"a\0b\"},"
                             "\"id\":\"e3\",\"deviceId\":\"d\",\"timestamp\":3}\n";
  g_autoptr(JTestRun) run = run_bad_line (f, line, sizeof line - 1, "NUL");

  /* The raw line is kept whole, NUL included. */
  g_assert_cmpint (cache_int (f, "SELECT length(raw) FROM jsync_failed"), ==,
                   sizeof line - 2);
}

static void
test_nul_escaped (Fixture *f, gconstpointer user_data)
{
  /* An escaped NUL in an id would cut it short in C and SQLite. */
  static const char line[] = "{\"type\":\"message\",\"conversationId\":\"c1\","
                             "\"data\":{\"id\":\"m9\"},\"id\":\"e\\u00003\","
                             "\"deviceId\":\"d\",\"timestamp\":3}\n";
  g_autoptr(JTestRun) run = run_bad_line (f, line, sizeof line - 1, "NUL");
}

static void
test_invalid_utf8 (Fixture *f, gconstpointer user_data)
{
  static const char *const bad[] = {
    "\xc3\x28",                 /* a lead byte without its continuation */
    "\xc0\xaf",                 /* overlong '/' */
    "\x80",                     /* a lone continuation byte */
    "\xed\xa0\x80",             /* a UTF-16 surrogate, encoded */
    "\xf4\x90\x80\x80",         /* beyond U+10FFFF */
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *line = g_strdup_printf (
          "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"id\":"
          "\"m9\",\"content\":\"%s\"},\"id\":\"e3\",\"deviceId\":\"d\","
          "\"timestamp\":3}\n", bad[i]);

      run_bad_case (f, i > 0, line, strlen (line), "UTF-8");
    }
}

/* 100k levels of arrays, then of objects: refused without recursion (the
 * process does not run out of stack). */
static void
test_deep_nesting (Fixture *f, gconstpointer user_data)
{
  const guint depth = 100000;

  for (guint objects = 0; objects < 2; objects++)
    {
      g_autoptr(GString) line = g_string_new (
          "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":"
          "{\"id\":\"m9\",\"deep\":");

      for (guint i = 0; i < depth; i++)
        g_string_append (line, objects ? "{\"a\":" : "[");
      g_string_append_c (line, '1');
      for (guint i = 0; i < depth; i++)
        g_string_append_c (line, objects ? '}' : ']');
      g_string_append (line, "},\"id\":\"e3\",\"deviceId\":\"d\","
                             "\"timestamp\":3}\n");
      run_bad_case (f, objects, line->str, line->len, "nested deeper");
    }
}

static void
test_numbers (Fixture *f, gconstpointer user_data)
{
  static const struct
  {
    const char *timestamp;
    const char *reason;
  } cases[] = {
    { "99999999999999999999999", "64-bit" },
    { "-9223372036854775809", "64-bit" },
    { "18446744073709551616", "64-bit" },
    { "1e400", "timestamp" },
    { "1.5", "timestamp" },
    { "NaN", "not valid JSON" },
    { "-", "not valid JSON" },
    { "0x10", "not valid JSON" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = g_strdup_printf (
          "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"id\":"
          "\"m9\"},\"id\":\"e3\",\"deviceId\":\"d\",\"timestamp\":%s}\n",
          cases[i].timestamp);

      g_test_message ("timestamp %s", cases[i].timestamp);
      run_bad_case (f, i > 0, line, strlen (line), cases[i].reason);
    }
  /* In an applier's fields: beyond int64 (json-c would keep a uint64),
   * beyond a double. */
  for (guint i = 0; i < 3; i++)
    {
      static const char *const numbers[] = {
        "18446744073709551615", "9223372036854775808", "1e400",
      };
      g_autofree char *line = g_strdup_printf (
          "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"id\":"
          "\"m9\",\"sequenceNumber\":%s},\"id\":\"e3\",\"deviceId\":\"d\","
          "\"timestamp\":3}\n", numbers[i]);

      g_test_message ("sequenceNumber %s", numbers[i]);
      run_bad_case (f, TRUE, line, strlen (line), "sequenceNumber");
    }
}

static void
test_field_types (Fixture *f, gconstpointer user_data)
{
  static const struct
  {
    const char *envelope;
    const char *reason;
  } cases[] = {
    { "\"id\":3,\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":3", "id" },
    { "\"id\":{\"a\":1},\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":3",
      "id" },
    { "\"id\":null,\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":3",
      "id" },
    { "\"id\":[\"e3\"],\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":3",
      "id" },
    { "\"id\":\"e3\",\"type\":7,\"deviceId\":\"d\",\"timestamp\":3", "type" },
    { "\"id\":\"e3\",\"type\":\"message\",\"deviceId\":true,\"timestamp\":3",
      "deviceId" },
    { "\"id\":\"e3\",\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":\"3\"",
      "timestamp" },
    { "\"id\":\"e3\",\"type\":\"message\",\"deviceId\":\"d\"", "timestamp" },
    /* The applier's own fields: a data.id of the wrong type. */
    { "\"id\":\"e3\",\"type\":\"message\",\"deviceId\":\"d\",\"timestamp\":3,"
      "\"conversationId\":\"c1\",\"data\":{\"id\":42}", "data.id" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = g_strdup_printf ("{%s}\n", cases[i].envelope);

      g_test_message ("envelope %s", cases[i].envelope);
      run_bad_case (f, i > 0, line, strlen (line), cases[i].reason);
    }
}

/* --- A line of 100 MB ----------------------------------------------------- */

/* Append a line of `length` bytes (newline included) that is a valid event
 * but for its size, written in pieces. */
static void
append_huge_line (Fixture *f, gsize length)
{
  static const char head[] = "{\"type\":\"message\",\"conversationId\":\"c1\","
                             "\"data\":{\"id\":\"big\",\"content\":\"";
  static const char tail[] = "\"},\"id\":\"e3\",\"deviceId\":\"d\","
                             "\"timestamp\":3}\n";
  g_autofree char *chunk = g_malloc (MIB);
  gsize left = length - strlen (head) - strlen (tail);

  memset (chunk, 'x', MIB);
  append_text (f, CONV, head);
  while (left > 0)
    {
      gsize n = MIN (left, (gsize) MIB);

      append_bytes (f, CONV, chunk, n);
      left -= n;
    }
  append_text (f, CONV, tail);
}

/* The peak memory of a sync over the same logs without the big line. */
static gint64
baseline_rss (Fixture *f, const char *keyfile)
{
  g_autoptr(Program) other = program_new (g_get_tmp_dir ());
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *m1 = message_line ("e2", "dev-a", 2000, "m1", "before");
  g_autofree char *m2 = message_line ("e4", "dev-a", 4000, "m2", "after");
  g_autofree char *all = g_strconcat (create, m1, m2, NULL);
  g_autofree char *path = g_build_filename (other->data, CONV, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  const char *const args[] = { "--config", keyfile, "sync", NULL };
  g_autoptr(JTestRun) run = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, all, -1, &error);
  g_assert_no_error (error);
  run = program_spawn (other, NULL, args, -1, 60 * G_USEC_PER_SEC);
  g_assert_cmpint (run->status, ==, 0);
  return run->peak_rss;
}

/* A sanitizer's pass of .ci/run: peak memory says nothing about jsync. */
static gboolean
hostile_sanitized (void)
{
  return g_getenv ("ASAN_OPTIONS") != NULL || g_getenv ("TSAN_OPTIONS") != NULL;
}

static void
run_huge_line (Fixture *f, gint64 max_line_bytes, gint64 bound)
{
  const gsize length = 100 * 1000 * 1000;
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *m1 = message_line ("e2", "dev-a", 2000, "m1", "before");
  g_autofree char *m2 = message_line ("e4", "dev-a", 4000, "m2", "after");
  g_autofree char *keyfile = g_build_filename (f->program->dir, "jsync.conf",
                                               NULL);
  g_autofree char *settings = g_strdup_printf ("[jsync]\nmax-line-bytes=%"
                                               G_GINT64_FORMAT "\n",
                                               max_line_bytes);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;
  gint64 base;

  g_file_set_contents (keyfile, settings, -1, &error);
  g_assert_no_error (error);
  append_text (f, CONV, create);
  append_text (f, CONV, m1);
  append_huge_line (f, length);
  append_text (f, CONV, m2);
  base = baseline_rss (f, keyfile);

  run = PROGRAM_RUN (f->program, "--config", keyfile, "sync", "--json");
  g_test_message ("peak RSS: %" G_GINT64_FORMAT " KiB with a line of %zu"
                  " bytes (max-line-bytes %" G_GINT64_FORMAT "), %"
                  G_GINT64_FORMAT " KiB without it", run->peak_rss, length,
                  max_line_bytes, base);
  third_line_failed (run, "max-line-bytes");
  /* Recorded by offset, length and its first 4 KiB. */
  g_assert_cmpint (cache_int (f, "SELECT length FROM jsync_failed"), ==,
                   length - 1);
  g_assert_cmpint (cache_int (f, "SELECT offset FROM jsync_failed"), ==,
                   strlen (create) + strlen (m1));
  g_assert_cmpint (cache_int (f, "SELECT truncated FROM jsync_failed"), ==, 1);
  g_assert_cmpint (cache_int (f, "SELECT length(raw) FROM jsync_failed"), <=,
                   4096);
  /* Never held whole: the run's memory grows by less than the line.
   * (Not measurable under AddressSanitizer, whose quarantine keeps freed
   * memory, or ThreadSanitizer, whose shadow memory grows with the heap:
   * .ci/run sets ASAN_OPTIONS and TSAN_OPTIONS for those passes.) */
  if (hostile_sanitized ())
    g_test_message ("a sanitizer's pass: the memory bound is not checked");
  else
    g_assert_cmpint ((run->peak_rss - base) * 1024, <, bound);
}

static void
test_huge_line (Fixture *f, gconstpointer user_data)
{
  /* The default limit, 64 MiB: at most that much of the line is held. */
  run_huge_line (f, 64 * MIB, 80 * MIB);
}

static void
test_huge_line_small_limit (Fixture *f, gconstpointer user_data)
{
  run_huge_line (f, MIB, 16 * MIB);
}

/* A message of about `length` bytes (no data.id when `message` is NULL)
 * whose text, of 13-byte pieces with a 3-byte character, ends in the word
 * `last`.  (transfer full) */
static char *
long_message_line (const char *id, const char *message, gsize length,
                   const char *last)
{
  g_autoptr(GString) content = g_string_sized_new (length);
  g_autofree char *data_id = message != NULL
                                 ? g_strdup_printf ("\"id\":\"%s\",", message)
                                 : g_strdup ("");

  while (content->len < length)
    g_string_append (content, "log line \u20ac ");
  g_string_append (content, last);
  return g_strdup_printf (
      "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{%s"
      "\"role\":\"user\",\"content\":\"%s\"},\"id\":\"%s\",\"deviceId\":"
      "\"dev-a\",\"timestamp\":3000}\n", data_id, content->str, id);
}

/* A long line within max-line-bytes is an event like any other, though the
 * reading thread keeps only its packed frame while it is applied: a
 * conflicting copy in the same batch is told from it, a long event the
 * applier rejects is kept whole in jsync_failed, the line is indexed, and
 * once lost from its log `jsync recover` writes it back byte for byte. */
static void
test_long_line_kept (Fixture *f, gconstpointer user_data)
{
  const gsize length = 4 * MIB;
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *m1 = message_line ("e2", "dev-a", 2000, "m1", "before");
  g_autofree char *other = long_message_line ("e3", "big", length, "zebrb");
  /* Read after `other`, it sorts before (same key, bytes smaller): the
   * event. */
  g_autofree char *big = long_message_line ("e3", "big", length, "zebra");
  g_autofree char *rejected = long_message_line ("e5", NULL, length,
                                                 "zebrc");
  g_autofree char *no_device = long_message_line ("e6", "m6", length,
                                                  "zebrd");
  g_autofree char *keyfile = g_build_filename (f->program->dir, "jsync.conf",
                                               NULL);
  g_autofree char *rejected_line = g_strndup (rejected, strlen (rejected) - 1);
  g_autofree char *all = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *path = data_path (f, CONV);
  g_autofree char *after = NULL;
  g_autofree char *fts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) lost = NULL;
  g_autoptr(JTestRun) recover = NULL;

  g_autoptr(GString) bad = g_string_new (no_device);

  /* Not an event: no deviceId. */
  g_string_replace (bad, "\"deviceId\":\"dev-a\",", "", 1);
  all = g_strconcat (create, m1, other, big, rejected, bad->str, NULL);
  kept = g_strconcat (create, m1, rejected, bad->str, NULL);
  g_file_set_contents (keyfile, "[jsync]\nmax-line-bytes=16777216\n", -1,
                       &error);
  g_assert_no_error (error);
  append_text (f, CONV, all);
  run = PROGRAM_RUN (f->program, "--config", keyfile, "sync", "--json");
  g_assert_cmpint (run->status, ==, 1);
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 3);
  g_assert_cmpint (jtest_member_int (run->json, "conflicts"), ==, 1);
  g_assert_cmpint (jtest_member_int (run->json, "eventsFailed"), ==, 2);
  /* Line 6 as it is read, line 5 as its batch is applied. */
  g_assert_cmpint (jtest_member_int (first_error (run), "line"), ==, 6);
  /* Whole 13-byte pieces up to `length`, then "zebra". */
  g_assert_cmpint (cache_int (f, "SELECT length(CAST(content AS BLOB))"
                                 " FROM messages WHERE id = 'big'"), ==,
                   (length + 12) / 13 * 13 + 5);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM message_fts"
                                 " WHERE message_fts MATCH 'zebra'"), ==, 1);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM message_fts"
                                 " WHERE message_fts MATCH 'zebrb'"), ==, 0);
  fts = program_check_fts (f->program->db);
  g_assert_null (fts);
  /* The rejected line and the one that is no event, whole. */
  g_assert_cmpint (jtest_cache_int (f->program->db, "SELECT CAST(raw AS TEXT)"
                                    " = ?1 FROM jsync_failed WHERE line = 5",
                                    rejected_line), ==, 1);
  g_string_truncate (bad, bad->len - 1);
  g_assert_cmpint (jtest_cache_int (f->program->db, "SELECT CAST(raw AS TEXT)"
                                    " = ?1 FROM jsync_failed WHERE line = 6",
                                    bad->str), ==, 1);

  /* Lost from its log, then written back as it was read. */
  g_file_set_contents (path, kept, -1, &error);
  g_assert_no_error (error);
  lost = PROGRAM_RUN (f->program, "--config", keyfile, "sync", "--json");
  g_assert_cmpuint (jtest_member_len (lost->json, "lostEvents"), ==, 1);
  recover = PROGRAM_RUN (f->program, "--config", keyfile, "recover",
                         "--json");
  g_assert_cmpint (recover->status, ==, 0);
  g_file_get_contents (path, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (after, kept));
  g_assert_cmpstr (after + strlen (kept), ==, big);
}

/* A log of 200 MB (200 messages of 1 MB): read in pieces and applied in
 * bounded batches, never whole; the run's memory stays well below the
 * file's size. */
static void
test_huge_log (Fixture *f, gconstpointer user_data)
{
  const guint messages = 200;
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *content = g_malloc (MIB + 1);
  g_autoptr(JTestRun) run = NULL;
  gint64 size = strlen (create);
  const char *scale = g_getenv ("JSYNC_TEST_SCALE");

  if (scale != NULL && g_ascii_strtod (scale, NULL) < 1)
    {
      g_test_skip ("a 200 MB log: only at JSYNC_TEST_SCALE=1");
      return;
    }
  memset (content, 'x', MIB);
  content[MIB] = '\0';
  append_text (f, CONV, create);
  for (guint i = 0; i < messages; i++)
    {
      g_autofree char *id = g_strdup_printf ("e-%u", i);
      g_autofree char *message = g_strdup_printf ("m%u", i);
      g_autofree char *line = message_line (id, "dev-a", 2000 + i, message,
                                            content);

      append_text (f, CONV, line);
      size += strlen (line);
    }
  run = PROGRAM_RUN (f->program, "sync", "--json");
  g_test_message ("peak RSS: %" G_GINT64_FORMAT " KiB for a log of %"
                  G_GINT64_FORMAT " bytes", run->peak_rss, size);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==,
                   messages + 1);
  g_assert_cmpint (cache_int (f, "SELECT messageCount FROM conversations"),
                   ==, messages);
  if (hostile_sanitized ())
    g_test_message ("a sanitizer's pass: the memory bound is not checked");
  else
    g_assert_cmpint (run->peak_rss * 1024, <, size * 3 / 4);
}

/* --- The data folder ------------------------------------------------------ */

static void
write_good_log (Fixture *f)
{
  g_autofree char *create = metadata_line ("e1", 1000);
  g_autofree char *m1 = message_line ("e2", "dev-a", 2000, "m1", "hello");

  append_text (f, CONV, create);
  append_text (f, CONV, m1);
}

static void
test_symlink_loop (Fixture *f, gconstpointer user_data)
{
  g_autofree char *loop = data_path (f, "conversations/loop");
  g_autofree char *up = data_path (f, "conversations/up.jsonl");
  g_autofree char *a = data_path (f, "a.jsonl");
  g_autofree char *b = data_path (f, "b.jsonl");
  g_autoptr(JTestRun) run = NULL;

  write_good_log (f);
  g_assert_cmpint (symlink ("..", loop), ==, 0);
  g_assert_cmpint (symlink ("..", up), ==, 0);
  g_assert_cmpint (symlink ("b.jsonl", a), ==, 0);
  g_assert_cmpint (symlink ("a.jsonl", b), ==, 0);
  run = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 2);
  g_assert_cmpint (json_object_array_length (
                       jtest_member (run->json, "filesProcessed")), ==, 1);
  jtest_assert_has (run->err, "a.jsonl: skipped: a symbolic link",
                    "b.jsonl: skipped: a symbolic link",
                    "up.jsonl: skipped: a symbolic link");
}

static void
test_fifo (Fixture *f, gconstpointer user_data)
{
  g_autofree char *fifo = data_path (f, "conversations/x.jsonl");
  const char *const args[] = { "sync", "--json", NULL };
  g_autoptr(JTestRun) run = NULL;
  json_object *json;

  write_good_log (f);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  /* Nobody writes to it: a reader that opened it would wait forever. */
  run = program_spawn (f->program, NULL, args, -1, 20 * G_USEC_PER_SEC);
  g_test_message ("stderr: %s", run->err);
  g_assert_false (run->timed_out);
  g_assert_cmpint (run->status, ==, 0);
  json = json_tokener_parse (run->out);
  g_assert_nonnull (json);
  g_assert_cmpint (jtest_member_int (json, "eventsApplied"), ==, 2);
  json_object_put (json);
  g_assert_nonnull (strstr (run->err,
                            "x.jsonl: skipped: not a regular file"));
}

/* --- The cache file ------------------------------------------------------- */

/* The example data synced into the cache: 2 events. */
static void
make_cache (Fixture *f)
{
  g_autoptr(JTestRun) run = NULL;

  write_good_log (f);
  run = PROGRAM_RUN (f->program, "sync");
  g_assert_cmpint (run->status, ==, 0);
}

/* The page number of a table's root, from the cache's schema. */
static gint64
root_page (Fixture *f, const char *table)
{
  return jtest_cache_int (f->program->db, "SELECT rootpage FROM sqlite_master"
                                          " WHERE name = ?", table);
}

static void
overwrite_page (Fixture *f, gint64 page)
{
  gint64 size = cache_int (f, "PRAGMA page_size");
  FILE *file = g_fopen (f->program->db, "r+b");
  g_autofree char *garbage = g_malloc (size);

  for (gint64 i = 0; i < size; i++)
    garbage[i] = (char) (0xA5 ^ i);
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (page - 1) * size, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, size, file), ==, (gsize) size);
  g_assert_cmpint (fclose (file), ==, 0);
}

/* The example data synced into the cache, then the root page of `table`
 * overwritten. */
static void
make_cache_damaged (Fixture *f, const char *table)
{
  make_cache (f);
  overwrite_page (f, root_page (f, table));
}

/* A sync of a damaged cache, found when opened (REASON said and the file
 * moved aside) or at a run before (REASON NULL): it succeeds, rebuilds
 * the cache from the logs and applies everything, and the damaged file is
 * kept beside it. */
static void
sync_rebuilt (Fixture *f, const char *reason, gint64 applied)
{
  g_autofree char *aside = g_strconcat (f->program->db, ".corrupt", NULL);
  g_autoptr(JTestRun) run = PROGRAM_RUN (f->program, "sync", "--json");

  g_assert_cmpint (run->status, ==, 0);
  if (reason != NULL)
    jtest_assert_has (run->err, reason, "moved aside");
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==,
                   applied);
  g_assert_true (g_file_test (aside, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (cache_int (f, "SELECT messageCount FROM conversations"),
                   ==, 1);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM jsync_events"), ==,
                   applied);
}

/* COMMAND on a cache damaged since it was opened last: an environment
 * failure (exit 3) that names the damage. */
static JTestRun *
run_damaged (Fixture *f, const char *command)
{
  JTestRun *run = PROGRAM_RUN (f->program, command);

  g_assert_cmpint (run->status, ==, 3);
  g_assert_nonnull (strstr (run->err, "malformed"));
  return run;
}

static void
test_cache_truncated (Fixture *f, gconstpointer user_data)
{
  GStatBuf st;

  make_cache (f);
  g_assert_cmpint (g_stat (f->program->db, &st), ==, 0);
  g_assert_cmpint (truncate (f->program->db, st.st_size / 2), ==, 0);
  /* Found when opened: moved aside and rebuilt in the same run. */
  sync_rebuilt (f, "malformed", 2);
}

static void
test_cache_header (Fixture *f, gconstpointer user_data)
{
  FILE *file;

  make_cache (f);
  file = g_fopen (f->program->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite ("not a database, really", 1, 22, file), ==, 22);
  g_assert_cmpint (fclose (file), ==, 0);
  sync_rebuilt (f, "not a database", 2);
}

/* A page of a table every sync reads, overwritten: the corruption is found
 * mid-run (exit 3, said), and the next run recovers. */
static void
test_cache_page (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) first = NULL;

  make_cache_damaged (f, "jsync_sources");
  first = run_damaged (f, "sync");
  g_assert_cmpstr (first->out, ==, "");
  jtest_assert_has (first->err, f->program->db, "the next run rebuilds it");
  sync_rebuilt (f, NULL, 2);
}

/* Same, with the page of an applier's table, met when a new event is
 * applied: an environment failure (exit 3), not a failed event. */
static void
test_cache_page_applier (Fixture *f, gconstpointer user_data)
{
  g_autofree char *m2 = message_line ("e3", "dev-a", 3000, "m2", "more");
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;

  make_cache_damaged (f, "messages");
  append_text (f, CONV, m2);
  first = run_damaged (f, "sync");
  g_assert_nonnull (strstr (first->err, "the next run rebuilds it"));
  second = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (second->status, ==, 0);
  g_assert_cmpint (jtest_member_int (second->json, "eventsApplied"), ==, 3);
  g_assert_cmpint (cache_int (f, "SELECT messageCount FROM conversations"),
                   ==, 2);
}

/* `status` on a damaged cache says so (exit 3); the next sync recovers. */
static void
test_cache_page_status (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) status = NULL;

  make_cache_damaged (f, "jsync_sources");
  status = run_damaged (f, "status");
  sync_rebuilt (f, NULL, 2);
}

/* --- Plugins writable by other users -------------------------------------- */

/* A private plugins folder holding copies of the bundled appliers. */
static char *
copy_bundled_plugins (Fixture *f)
{
  const char *bundled = g_environ_getenv (f->program->env, "JSYNC_PLUGIN_PATH");
  g_autofree char *dir = g_build_filename (f->program->dir, "plugins", NULL);
  static const char *const names[] = { "conversation.so", "workspace.so" };

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (bundled, names[i], NULL);
      g_autofree char *to = g_build_filename (dir, names[i], NULL);
      g_autofree char *bytes = NULL;
      g_autoptr(GError) error = NULL;
      gsize length;

      g_file_get_contents (from, &bytes, &length, &error);
      g_assert_no_error (error);
      g_file_set_contents_full (to, bytes, length, G_FILE_SET_CONTENTS_NONE,
                                0755, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (to, 0755), ==, 0);
    }
  f->program->env = g_environ_setenv (f->program->env, "JSYNC_PLUGIN_PATH",
                                      dir, TRUE);
  return g_steal_pointer (&dir);
}

/* Refused with the reason naming `path`; the events wait as pending and
 * are applied once the permissions are fixed. */
static void
assert_refused_then_fixed (Fixture *f, const char *path, const char *fix,
                           int mode)
{
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) plugins = NULL;
  g_autoptr(JTestRun) fixed = NULL;
  g_autofree char *reason = g_strdup_printf ("%s is writable by other users",
                                             path);

  write_good_log (f);
  sync = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (sync->status, ==, 0);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsPending"), ==, 2);
  g_assert_nonnull (strstr (sync->err, reason));
  plugins = PROGRAM_RUN (f->program, "plugins");
  g_assert_cmpint (plugins->status, ==, 0);
  g_assert_nonnull (strstr (plugins->out, reason));
  g_assert_cmpint (g_chmod (fix, mode), ==, 0);
  fixed = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (fixed->status, ==, 0);
  g_assert_cmpint (jtest_member_int (fixed->json, "eventsApplied"), ==, 2);
  g_assert_cmpint (jtest_member_int (fixed->json, "eventsPending"), ==, 0);
}

static void
test_plugins_folder_writable (Fixture *f, gconstpointer user_data)
{
  g_autofree char *dir = copy_bundled_plugins (f);

  g_assert_cmpint (g_chmod (dir, 0777), ==, 0);
  assert_refused_then_fixed (f, dir, dir, 0755);
}

static void
test_plugins_file_writable (Fixture *f, gconstpointer user_data)
{
  g_autofree char *dir = copy_bundled_plugins (f);
  g_autofree char *module = g_build_filename (dir, "conversation.so", NULL);

  g_assert_cmpint (g_chmod (module, 0666), ==, 0);
  assert_refused_then_fixed (f, module, module, 0755);
}

/* --- Silent overwrite (issue 3, item 5) ------------------------------------ */

/* Device A wrote e1 (the conversation), e2..e4 (messages m2..m4) and e5 (an
 * edit of m2) and this cache applied them.  The sync tool then replaces the
 * log (by rename, as sync tools do) with device B's version: e1, e2, e3 (e3
 * in other bytes: B's serializer) and B's own e6, e7 (m6, m7), without e4
 * and e5. */
static void
overwrite_scenario (Fixture *f)
{
  g_autofree char *e1 = metadata_line ("e1", 1000);
  g_autofree char *e2 = message_line ("e2", "dev-a", 2000, "m2", "two");
  g_autofree char *e3 = message_line ("e3", "dev-a", 3000, "m3", "three");
  g_autofree char *e4 = message_line ("e4", "dev-a", 4000, "m4", "four");
  g_autofree char *e5 = update_line ("e5", "dev-a", 5000, "m2", "two, edited");
  g_autofree char *e6 = message_line ("e6", "dev-b", 6000, "m6", "six");
  g_autofree char *e7 = message_line ("e7", "dev-b", 7000, "m7", "seven");
  g_autofree char *e3_spaced = NULL;
  g_autofree char *replacement = NULL;
  g_autofree char *path = data_path (f, CONV);
  g_autofree char *tmp = data_path (f, "conversations/.syncthing.tmp");
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(GError) error = NULL;
  json_object *json = json_tokener_parse (e3);

  e3_spaced = g_strconcat (json_object_to_json_string_ext (
                               json, JSON_C_TO_STRING_SPACED),
                           "\n", NULL);
  json_object_put (json);
  append_text (f, CONV, e1);
  append_text (f, CONV, e2);
  append_text (f, CONV, e3);
  append_text (f, CONV, e4);
  append_text (f, CONV, e5);
  first = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (first->status, ==, 0);
  g_assert_cmpint (jtest_member_int (first->json, "eventsApplied"), ==, 5);

  replacement = g_strconcat (e1, e2, e3_spaced, e6, e7, NULL);
  g_file_set_contents (tmp, replacement, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

/* The effects of e1..e7 are all there: m2 (edited), m3, m4, m6, m7. */
static void
assert_all_effects (Fixture *f, gint64 messages)
{
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM messages"), ==,
                   messages);
  g_assert_cmpint (cache_int (f, "SELECT messageCount FROM conversations"),
                   ==, messages);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM messages WHERE"
                                 " id = 'm2' AND content = 'two, edited'"), ==,
                   1);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM messages WHERE"
                                 " id = 'm4'"), ==, 1);
  g_assert_cmpint (cache_int (f, "SELECT updated FROM conversations"), ==,
                   7000);
}

static void
assert_status_lists_lost (Fixture *f)
{
  g_autoptr(JTestRun) status = PROGRAM_RUN (f->program, "status", "--json");
  json_object *lost = jtest_member (status->json, "lostEvents");

  g_assert_cmpint (status->status, ==, 0);
  g_assert_cmpuint (json_object_array_length (lost), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      json_object *event = json_object_array_get_idx (lost, i);

      g_assert_cmpstr (jtest_member_str (event, "file"), ==, CONV);
      g_assert_cmpstr (jtest_member_str (event, "id"), ==,
                       i == 0 ? "e4" : "e5");
    }
}

static void
test_overwrite_detected (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(JTestRun) text = NULL;
  json_object *lost, *entry, *reread;

  overwrite_scenario (f);
  second = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (second->status, ==, 0);
  /* What B's version still holds is not applied again; B's own are. */
  g_assert_cmpint (jtest_member_int (second->json, "eventsApplied"), ==, 2);
  g_assert_cmpint (jtest_member_int (second->json, "eventsSkipped"), ==, 3);
  g_assert_cmpint (jtest_member_int (second->json, "eventsFailed"), ==, 0);
  reread = jtest_member (second->json, "filesReread");
  g_assert_cmpuint (json_object_array_length (reread), ==, 1);
  lost = jtest_member (second->json, "lostEvents");
  g_assert_cmpuint (json_object_array_length (lost), ==, 1);
  entry = json_object_array_get_idx (lost, 0);
  g_assert_cmpstr (jtest_member_str (entry, "file"), ==, CONV);
  g_assert_cmpuint (json_object_array_length (jtest_member (entry, "ids")),
                    ==, 2);
  g_assert_true (jtest_array_has_string (jtest_member (entry, "ids"), "e4"));
  g_assert_true (jtest_array_has_string (jtest_member (entry, "ids"), "e5"));
  jtest_assert_has (second->err, CONV, "no longer in it");
  /* The cache keeps the effects of e4 and e5. */
  assert_all_effects (f, 5);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM jsync_events"), ==, 7);
  assert_status_lists_lost (f);

  /* The text form says it too. */
  text = PROGRAM_RUN (f->program, "status");
  jtest_assert_has (text->out, "2 lost", "e4");
}

/* A late event in the same stream (device C's, older than everything after
 * the conversation's create) makes jsync re-apply the stream: e4's and e5's
 * effects survive it, from the lines the cache keeps; nothing is reported
 * lost again, and `status` still lists them. */
static void
test_overwrite_then_late_event (Fixture *f, gconstpointer user_data)
{
  g_autofree char *late = message_line ("e0", "dev-c", 1500, "m0", "early");
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(JTestRun) third = NULL;
  g_autoptr(JTestRun) rebuild = NULL;

  overwrite_scenario (f);
  second = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (second->status, ==, 0);
  append_text (f, "conversations/conv_c1 (1).jsonl", late);
  third = PROGRAM_RUN (f->program, "sync", "--json");
  g_assert_cmpint (third->status, ==, 0);
  g_assert_cmpint (jtest_member_int (third->json, "eventsApplied"), ==, 1);
  g_assert_cmpuint (json_object_array_length (
                        jtest_member (third->json, "lostEvents")), ==, 0);
  g_assert_cmpuint (json_object_array_length (
                        jtest_member (third->json, "errors")), ==, 0);
  assert_all_effects (f, 6);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM jsync_events"), ==, 8);
  assert_status_lists_lost (f);

  /* A rebuild would drop them, and says so first. */
  rebuild = PROGRAM_RUN (f->program, "rebuild", "--json");
  g_assert_cmpint (rebuild->status, ==, 0);
  g_assert_nonnull (strstr (rebuild->err, "2 event(s)"));
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM messages"), ==, 5);
  g_assert_cmpint (cache_int (f, "SELECT count(*) FROM messages WHERE"
                                 " id = 'm4' OR content = 'two, edited'"), ==,
                   0);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/hostile/line/nul", test_nul);
  JTEST_ADD ("/hostile/line/nul-escaped", test_nul_escaped);
  JTEST_ADD ("/hostile/line/invalid-utf8", test_invalid_utf8);
  JTEST_ADD ("/hostile/line/deep-nesting", test_deep_nesting);
  JTEST_ADD ("/hostile/line/numbers", test_numbers);
  JTEST_ADD ("/hostile/line/field-types", test_field_types);
  JTEST_ADD ("/hostile/line/100-mb", test_huge_line);
  JTEST_ADD ("/hostile/line/100-mb-small-limit", test_huge_line_small_limit);
  JTEST_ADD ("/hostile/line/long-kept", test_long_line_kept);
  JTEST_ADD ("/hostile/files/200-mb", test_huge_log);
  JTEST_ADD ("/hostile/files/symlink-loop", test_symlink_loop);
  JTEST_ADD ("/hostile/files/fifo", test_fifo);
  JTEST_ADD ("/hostile/cache/truncated", test_cache_truncated);
  JTEST_ADD ("/hostile/cache/not-sqlite", test_cache_header);
  JTEST_ADD ("/hostile/cache/page", test_cache_page);
  JTEST_ADD ("/hostile/cache/page-applier", test_cache_page_applier);
  JTEST_ADD ("/hostile/cache/page-status", test_cache_page_status);
  JTEST_ADD ("/hostile/plugins/folder-writable", test_plugins_folder_writable);
  JTEST_ADD ("/hostile/plugins/file-writable", test_plugins_file_writable);
  JTEST_ADD ("/hostile/overwrite/detected", test_overwrite_detected);
  JTEST_ADD ("/hostile/overwrite/late-event", test_overwrite_then_late_event);
  return g_test_run ();
}
