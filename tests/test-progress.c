/* test-progress.c: progress of long runs, through the library (the
 * JsyncProgress a JsyncProgressFunc gets) and the program (a bar on a
 * terminal, plain lines on a pipe with -v, nothing with --quiet, warnings
 * never hidden behind the bar).
 */
#include <string.h>

#include <glib/gstdio.h>

#include "cli-run.h"


typedef struct
{
  GPtrArray *phases;            /* of char*, each phase as it started */
  guint64 read_calls;
  guint64 last_bytes_done;
  guint64 bytes_total;
  guint64 events_done;
  gboolean backwards;           /* bytes_done went down within "read" */
  gboolean over;                /* bytes_done passed bytes_total */
} Seen;

static void
record_progress (const JsyncProgress *progress, gpointer user_data)
{
  Seen *seen = user_data;

  if (seen->phases->len == 0
      || strcmp (g_ptr_array_index (seen->phases, seen->phases->len - 1),
                 progress->phase) != 0)
    g_ptr_array_add (seen->phases, g_strdup (progress->phase));
  if (strcmp (progress->phase, "read") == 0)
    {
      seen->read_calls++;
      if (progress->bytes_done < seen->last_bytes_done)
        seen->backwards = TRUE;
      if (progress->bytes_done > progress->bytes_total)
        seen->over = TRUE;
      seen->last_bytes_done = progress->bytes_done;
      seen->bytes_total = progress->bytes_total;
    }
  seen->events_done = progress->events_done;
}

/* Bytes of every log of the data folder. */
static guint64
data_bytes (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 total = 0;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        total += data_bytes (path);
      else
        total += st.st_size;
    }
  return total;
}

static void
assert_phases (Seen *seen, const char *const *expected)
{
  g_autofree char *got = NULL;
  g_autofree char *want = g_strjoinv (" ", (char **) expected);

  g_ptr_array_add (seen->phases, NULL);
  got = g_strjoinv (" ", (char **) seen->phases->pdata);
  g_ptr_array_remove_index (seen->phases, seen->phases->len - 1);
  g_assert_cmpstr (got, ==, want);
}

/* A sync reports scan then read; the bytes move forward to the total of
 * the logs; the events count ends at what was applied. */
static void
test_library_sync (CliFixture *f, gconstpointer data)
{
  static const char *const phases[] = { "scan", "read", NULL };
  Seen seen = { .phases = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cli_fixture_copy_nexus (f);
  jsync_config_set_batch_size (f->config, 50);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, record_progress, &seen);
  result = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  assert_phases (&seen, phases);
  g_assert_false (seen.backwards);
  g_assert_false (seen.over);
  /* At least one report per batch (317 events in batches of 50). */
  g_assert_cmpuint (seen.read_calls, >=, JTEST_NEXUS_EVENTS / 50);
  g_assert_cmpuint (seen.bytes_total, ==, data_bytes (f->data));
  g_assert_cmpuint (seen.last_bytes_done, ==, seen.bytes_total);
  g_assert_cmpuint (seen.events_done, ==, JTEST_NEXUS_EVENTS);
  g_ptr_array_unref (seen.phases);
}

/* A rebuild goes on to index and swap. */
static void
test_library_rebuild (CliFixture *f, gconstpointer data)
{
  static const char *const phases[] = { "scan", "read", "index", "swap", NULL };
  Seen seen = { .phases = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cli_fixture_copy_nexus (f);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, record_progress, &seen);
  result = jsync_coordinator_rebuild (coordinator, &error);
  g_assert_no_error (error);
  assert_phases (&seen, phases);
  g_assert_cmpuint (seen.events_done, ==, JTEST_NEXUS_EVENTS);
  g_ptr_array_unref (seen.phases);
}

/* On a pipe: nothing without -v; plain lines with it; nothing with
 * --quiet. */
static void
test_cli_pipe (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) plain = NULL;
  g_autoptr(JTestRun) verbose = NULL;
  g_autoptr(JTestRun) quiet = NULL;

  cli_fixture_copy_nexus (f);
  plain = CLI_RUN (f, "rebuild");
  g_assert_cmpint (plain->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpstr (plain->err, ==, "");
  verbose = CLI_RUN (f, "rebuild", "-v");
  g_assert_cmpint (verbose->status, ==, JSYNC_EXIT_OK);
  jtest_assert_has (verbose->err, "jsync: scan\n", "jsync: read ", " events",
                    "jsync: index");
  jtest_assert_lacks (verbose->err, "\r", "\033[");
  quiet = CLI_RUN (f, "rebuild", "-v", "--quiet");
  g_assert_cmpint (quiet->status, ==, JSYNC_EXIT_OK);
  jtest_assert_lacks (quiet->err, "scan", "read");
}

static guint
count (const char *text, const char *what)
{
  guint n = 0;

  for (const char *p = strstr (text, what); p != NULL;
       p = strstr (p + 1, what))
    n++;
  return n;
}

/* On a terminal: a bar redrawn in place, at most ten times a second;
 * every warning starts on a cleared line; nothing left of the bar after
 * the run. */
static void
test_cli_terminal (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) quiet = NULL;
  json_object *json;
  gint64 duration;
  const char *p;

  cli_fixture_copy_nexus (f);
  cli_append (f, "conversations/broken.jsonl", "not json\n");
  run = CLI_RUN_TTY (f, FALSE, "rebuild", "--json");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_EVENTS_FAILED);
  json = json_tokener_parse (run->out);
  g_assert_nonnull (json);
  duration = jtest_member_int (json, "duration");
  json_object_put (json);

  jtest_assert_has (run->err, "\r\033[Kscan", "\r\033[Kread  [", "%  ");
  g_assert_cmpuint (count (run->err, "\033[Kread"), <=, 1 + duration / 100);
  g_assert_cmpuint (count (run->err, "jsync: warning: conversations/broken"
                                     ".jsonl:1:"), ==, 1);
  for (p = strstr (run->err, "jsync: warning"); p != NULL;
       p = strstr (p + 1, "jsync: warning"))
    g_assert_true (p == run->err || p[-1] == '\n'
                   || (p - run->err >= 3 && strncmp (p - 3, "\033[K", 3) == 0));
  /* The last thing on the terminal clears the bar. */
  g_assert_true (g_str_has_suffix (run->err, "\r\033[K"));

  quiet = CLI_RUN_TTY (f, FALSE, "rebuild", "--quiet");
  jtest_assert_lacks (quiet->err, "\033[K", "read ");
  g_assert_nonnull (strstr (quiet->err, "jsync: warning: conversations/broken"));
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  CLI_ADD ("/progress/library/sync", test_library_sync);
  CLI_ADD ("/progress/library/rebuild", test_library_rebuild);
  CLI_ADD ("/progress/cli/pipe", test_cli_pipe);
  CLI_ADD ("/progress/cli/terminal", test_cli_terminal);
  return g_test_run ();
}
