/* test-names.c: logs whose names are awkward (issue 9, "logs that grow
 * while jsync runs").
 *
 * A name that is not valid UTF-8 is shown with each invalid byte as
 * "\xNN": --json output stays valid UTF-8 (cli-run.c parses it strictly).
 * A name holding terminal escape sequences never reaches a terminal as
 * such: every message (stderr) and every line of text output (stdout) has
 * its control characters shown as "\xNN".  The cache keeps the real bytes,
 * so the logs are found again and read once.
 *
 * A log deeper than PATH_MAX below the data folder (its absolute path too
 * long for open()) is read like any other, whether `jsync append` or
 * another program wrote it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli-run.h"

/* Not valid UTF-8: 0xff and 0xfe never occur in it. */
#define BAD_NAME "bad\xff\xfe.jsonl"
#define BAD_SHOWN "bad\\xff\\xfe.jsonl"
/* An xterm title change (OSC ... BEL), red text (CSI), DEL, and a C1 CSI
 * (U+009B, valid UTF-8) clearing the screen. */
#define ESC_NAME "esc\x1b]0;pwned\x07\x1b[31m\x7f\xc2\x9b" "2J.jsonl"
#define ESC_SHOWN "esc\\x1b]0;pwned\\x07\\x1b[31m\\x7f\\xc2\\x9b2J.jsonl"

static char *
workspace_line (const char *id, gint64 ts)
{
  return g_strdup_printf ("{\"type\":\"workspace_created\",\"data\":{\"id\":"
                          "\"%s\",\"name\":\"ws %s\",\"rootFolder\":\"%s\","
                          "\"created\":1},\"id\":\"e-%s\",\"deviceId\":\"d\","
                          "\"timestamp\":%" G_GINT64_FORMAT "}\n",
                          id, id, id, id, ts);
}

/* Each log: a workspace, then a line that is no event (a failure, so that
 * the name is in warnings and in `failed`). */
static void
names_setup (CliFixture *f, gconstpointer data)
{
  g_autofree char *w1 = workspace_line ("w1", 1000);
  g_autofree char *w2 = workspace_line ("w2", 2000);
  g_autofree char *bad = g_strconcat (w1, "not json\n", NULL);
  g_autofree char *esc = g_strconcat (w2, "not json either\n", NULL);

  cli_fixture_setup (f, data);
  cli_write (f, BAD_NAME, bad);
  cli_write (f, ESC_NAME, esc);
}

/* No byte of a control character that a terminal acts on. */
static void
assert_no_controls (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
        g_test_message ("control byte 0x%02x in: %s", c, text);
      g_assert_false ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f);
      /* U+0080 to U+009F: 0xc2 then 0x80 to 0x9f. */
      g_assert_false (c == 0xc2 && (guchar) p[1] >= 0x80
                      && (guchar) p[1] <= 0x9f);
    }
}

/* Whether an object of `array` has the string `value` at `key`. */
static gboolean
array_has (json_object *array, const char *key, const char *value)
{
  for (size_t i = 0; i < json_object_array_length (array); i++)
    if (g_strcmp0 (jtest_member_str (json_object_array_get_idx (array, i),
                                     key),
                   value)
        == 0)
      return TRUE;
  return FALSE;
}

/* The file names of a list of objects. */
static gboolean
files_have (json_object *array, const char *file)
{
  return array_has (array, "file", file);
}

/* The array `member` of `json` names both logs: the one with a bad byte
 * as shown, the one with control characters by its real name. */
static void
assert_lists_both (json_object *json, const char *member)
{
  json_object *array = jtest_member_array (json, member);

  g_assert_true (files_have (array, BAD_SHOWN));
  g_assert_true (files_have (array, ESC_NAME));
}

/* `jsync sync --json`, asserted to exit 0 having applied `applied`
 * event(s).  (transfer full) */
static JTestRun *
sync_applied (CliFixture *f, gint64 applied)
{
  JTestRun *run = CLI_RUN_JSON (f, "sync");

  if (run->status != JSYNC_EXIT_OK)
    g_test_message ("sync: %.300s", run->err);
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, applied);
  return run;
}

/* --json output of sync, status and failed is valid UTF-8 (cli-run.c
 * parses it with JSON_TOKENER_VALIDATE_UTF8), names shown as documented;
 * stderr carries no control character; the events are applied, and the
 * logs, found by their real names, are not read again. */
static void
test_json (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) sync = CLI_RUN_JSON (f, "sync");
  g_autoptr(JTestRun) status = NULL;
  g_autoptr(JTestRun) failed = NULL;
  g_autoptr(JTestRun) dump = NULL;
  g_autoptr(JTestRun) again = NULL;
  json_object *workspaces;

  g_assert_cmpint (sync->status, ==, JSYNC_EXIT_EVENTS_FAILED);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsApplied"), ==, 2);
  g_assert_true (jtest_array_has_string (
      jtest_member_array (sync->json, "filesProcessed"), BAD_SHOWN));
  g_assert_true (jtest_array_has_string (
      jtest_member_array (sync->json, "filesProcessed"), ESC_NAME));
  g_assert_true (files_have (jtest_member_array (sync->json, "errors"),
                             BAD_SHOWN));
  assert_no_controls (sync->err);
  g_assert_nonnull (strstr (sync->err, BAD_SHOWN));
  g_assert_nonnull (strstr (sync->err, ESC_SHOWN));

  status = CLI_RUN_JSON (f, "status");
  g_assert_cmpint (status->status, ==, JSYNC_EXIT_OK);
  assert_lists_both (status->json, "files");
  assert_no_controls (status->err);

  failed = CLI_RUN_JSON (f, "failed");
  g_assert_cmpint (failed->status, ==, JSYNC_EXIT_OK);
  assert_lists_both (failed->json, "failed");
  assert_no_controls (failed->err);

  dump = CLI_RUN_JSON (f, "dump");
  workspaces = jtest_member_array (jtest_member (dump->json, "tables"),
                                     "workspaces");
  g_assert_cmpuint (json_object_array_length (workspaces), ==, 2);

  /* The cache holds the real names: nothing new to read. */
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_sources"
                                   " WHERE path = CAST (X'626164fffe2e6a736f6e6c'"
                                   " AS TEXT)"),
                   ==, 1);
  again = sync_applied (f, 0);
  g_assert_cmpuint (json_object_array_length (
                        jtest_member_array (again->json, "filesProcessed")),
                    ==, 0);
}

/* Text output: warnings on stderr and the lines of `status` and `failed`
 * on stdout show the names with their control characters escaped. */
static void
test_text (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) sync = CLI_RUN (f, "sync");
  g_autoptr(JTestRun) status = NULL;
  g_autoptr(JTestRun) failed = NULL;

  g_assert_cmpint (sync->status, ==, JSYNC_EXIT_EVENTS_FAILED);
  assert_no_controls (sync->out);
  assert_no_controls (sync->err);
  g_assert_nonnull (strstr (sync->err, ESC_SHOWN ":2: "));
  g_assert_nonnull (strstr (sync->err, BAD_SHOWN ":2: "));

  status = CLI_RUN (f, "status");
  g_assert_cmpint (status->status, ==, JSYNC_EXIT_OK);
  assert_no_controls (status->out);
  g_assert_nonnull (strstr (status->out, ESC_SHOWN));
  g_assert_nonnull (strstr (status->out, BAD_SHOWN));

  failed = CLI_RUN (f, "failed");
  g_assert_cmpint (failed->status, ==, JSYNC_EXIT_OK);
  assert_no_controls (failed->out);
  g_assert_nonnull (strstr (failed->out, ESC_SHOWN ":2: "));
  g_assert_nonnull (strstr (failed->out, BAD_SHOWN ":2: "));
}

/* --- Paths longer than PATH_MAX ----------------------------------------- */

/* Folders of 200-byte names below the data folder, made one by one with
 * mkdirat() (mkdir -p cannot: the path is too long), until the absolute
 * path of a file in the last one is longer than PATH_MAX.  Returns the
 * last folder's path relative to the data folder. (transfer full) */
static char *
make_deep_folders (CliFixture *f)
{
  g_autoptr(GString) relative = g_string_new (NULL);
  g_autofree char *name = g_strnfill (200, 'd');
  int dirfd = open (f->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  g_assert_cmpint (dirfd, >=, 0);
  while (strlen (f->data) + 1 + relative->len < PATH_MAX + 200)
    {
      int next;

      g_assert_cmpint (mkdirat (dirfd, name, 0755), ==, 0);
      next = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (next, >=, 0);
      close (dirfd);
      dirfd = next;
      g_string_append_printf (relative, "%s%s", relative->len ? "/" : "",
                              name);
    }
  close (dirfd);
  g_assert_cmpuint (strlen (f->data) + 1 + relative->len, >, PATH_MAX);
  return g_string_free (g_steal_pointer (&relative), FALSE);
}

/* Append text to `file` (relative to the data folder, its folders made),
 * walking the folders with openat() as another program would have to. */
static void
append_deep (CliFixture *f, const char *file, const char *text)
{
  g_auto(GStrv) parts = g_strsplit (file, "/", -1);
  int dirfd = open (f->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  guint n = g_strv_length (parts);
  int fd;

  g_assert_cmpint (dirfd, >=, 0);
  for (guint i = 0; i + 1 < n; i++)
    {
      int next = openat (dirfd, parts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

      g_assert_cmpint (next, >=, 0);
      close (dirfd);
      dirfd = next;
    }
  fd = openat (dirfd, parts[n - 1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
               0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, text, strlen (text)), ==, strlen (text));
  close (fd);
  close (dirfd);
}

static gboolean
dump_has_workspace (CliFixture *f, const char *id)
{
  g_autoptr(JTestRun) dump = CLI_RUN_JSON (f, "dump");
  json_object *workspaces = jtest_member_array (jtest_member (dump->json,
                                                              "tables"),
                                                  "workspaces");

  return array_has (workspaces, "id", id);
}

/* `jsync append` to a log deeper than PATH_MAX: the event is written and
 * synced (append's own sync succeeds), and later syncs succeed. */
static void
test_deep_append (CliFixture *f, gconstpointer data)
{
  g_autofree char *folder = make_deep_folders (f);
  g_autofree char *file = g_strconcat (folder, "/deep.jsonl", NULL);
  g_autoptr(JTestRun) append = NULL;
  g_autoptr(JTestRun) sync = NULL;

  append = CLI_RUN_JSON (f, "append", file,
                         "{\"type\":\"workspace_created\",\"data\":{\"id\":"
                         "\"deep\",\"name\":\"Deep\",\"rootFolder\":\"d\","
                         "\"created\":1}}");
  if (append->status != JSYNC_EXIT_OK)
    g_test_message ("append: %.300s", append->err);
  g_assert_cmpint (append->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (append->json, "eventsApplied"), ==, 1);
  sync = CLI_RUN_JSON (f, "sync");
  g_assert_cmpint (sync->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (sync->json, "filesFailed"), ==, 0);
  g_assert_true (dump_has_workspace (f, "deep"));
}

/* A log deeper than PATH_MAX written by another program is synced, then
 * synced again once it grew (its checkpoint's bytes are checked first). */
static void
test_deep_raw (CliFixture *f, gconstpointer data)
{
  g_autofree char *folder = make_deep_folders (f);
  g_autofree char *file = g_strconcat (folder, "/raw.jsonl", NULL);
  g_autofree char *w1 = workspace_line ("w1", 1000);
  g_autofree char *w2 = workspace_line ("w2", 2000);
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;

  append_deep (f, file, w1);
  first = sync_applied (f, 1);
  g_assert_true (dump_has_workspace (f, "w1"));

  append_deep (f, file, w2);
  second = sync_applied (f, 1);
  g_assert_cmpuint (json_object_array_length (
                        jtest_member_array (second->json, "filesReread")),
                    ==, 0);
  g_assert_true (dump_has_workspace (f, "w2"));
}

/* The same rule from C. */
static void
test_escape_text (void)
{
  static const struct
  {
    const char *text;
    gboolean controls;
    const char *shown;
  } cases[] = {
    { "plain.jsonl", TRUE, "plain.jsonl" },
    { "tab\tand\nnewline", TRUE, "tab\tand\nnewline" },
    { "caf\xc3\xa9 \xe6\x97\xa5", TRUE, "caf\xc3\xa9 \xe6\x97\xa5" },
    { BAD_NAME, FALSE, BAD_SHOWN },
    { BAD_NAME, TRUE, BAD_SHOWN },
    { ESC_NAME, FALSE, ESC_NAME },
    { ESC_NAME, TRUE, ESC_SHOWN },
    /* Truncated and overlong sequences, a surrogate: byte by byte. */
    { "a\xe6\x97", TRUE, "a\\xe6\\x97" },
    { "\xc0\xaf", FALSE, "\\xc0\\xaf" },
    { "\xed\xa0\x80", FALSE, "\\xed\\xa0\\x80" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = jsync_escape_text (
          cases[i].text, -1,
          cases[i].controls ? JSYNC_ESCAPE_CONTROLS : JSYNC_ESCAPE_INVALID);

      g_assert_cmpstr (shown, ==, cases[i].shown);
      g_assert_true (g_utf8_validate (shown, -1, NULL));
    }
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, CliFixture, NULL, names_setup, func, cli_fixture_teardown)
  ADD ("/names/invalid-and-escapes/json", test_json);
  ADD ("/names/invalid-and-escapes/text", test_text);
#undef ADD
  CLI_ADD ("/names/deep/append", test_deep_append);
  CLI_ADD ("/names/deep/raw-log", test_deep_raw);
  g_test_add_func ("/names/escape-text", test_escape_text);
  return g_test_run ();
}
