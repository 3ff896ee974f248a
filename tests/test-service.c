/* test-service.c: jsync as the systemd user service jsync-watch@.service
 * runs it (dist/): `jsync --data-dir DIR watch` with the default cache,
 * stopped by SIGTERM, its messages going to the journal.
 *
 * SIGTERM (systemctl stop) must end the watch as SIGINT does: after the
 * sync in hand, the cache's lock released, exit status 0 (not death by
 * the signal), whether it comes while the watch waits, while a long sync
 * runs, or while jsync starts (waiting for the cache's lock).  Whatever
 * the moment, the cache is then complete and whole: a sync after it finds
 * nothing new and applies nothing twice.
 *
 * The journal: systemd gives the service's stderr to journald and says
 * so in JOURNAL_STREAM ("<device>:<inode>" of that stream).  jsync then
 * sends each message to the journal with its priority; where journald is
 * not running (here), it writes the line on the stream after "<N>", the
 * priority journald takes from a stream line.  The test sets
 * JOURNAL_STREAM to its child's stderr (through sh: the child's own
 * /proc/PID/fd/2), to its stdout (not the journal), or not at all.
 */
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jsync-test.h"
#include "nexus-history.h"

#define DEADLINE 10             /* seconds, for the watch to catch up */

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: dir/data, the instance's folder */
  char **env;                   /* owned: the child's environment */
} Fixture;

typedef void (*TestFunc) (Fixture *f, gconstpointer user_data);

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  /* The echo fixture applier, alone in its folder in its v2 build. */
  g_autofree char *plugins = jtest_fixture_plugins ("v2");

  f->dir = jtest_tree_make (NULL, "jsync-service");
  f->data = g_build_filename (f->dir, "data", NULL);
  g_assert_cmpint (g_mkdir (f->data, 0755), ==, 0);
  f->env = jtest_child_environ ();
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", plugins, TRUE);
  f->env = g_environ_unsetenv (f->env, "JOURNAL_STREAM");
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  jtest_tree_remove (f->dir);
  g_clear_pointer (&f->env, g_strfreev);
  g_clear_pointer (&f->data, g_free);
  g_clear_pointer (&f->dir, g_free);
}

/* Events `first` to `first + n - 1` for the echo applier, appended to a
 * log (as an app or a sync tool writes them). */
static void
add_events (Fixture *f, const char *log, guint first, guint n)
{
  g_autofree char *path = g_build_filename (f->data, log, NULL);
  g_autoptr(GString) lines = g_string_new (NULL);

  for (guint i = first; i < first + n; i++)
    g_string_append_printf (lines, "{\"type\":\"echo_note\",\"id\":\"n-%u\","
                            "\"deviceId\":\"laptop\",\"timestamp\":%u}\n",
                            i, 1000 + i);
  jtest_write_text (path, lines->str, TRUE);
}

/* notes.jsonl with one event; bad.jsonl, whose line is no JSON. */
static void
add_bad_log (Fixture *f)
{
  g_autofree char *bad = g_build_filename (f->data, "bad.jsonl", NULL);

  add_events (f, "notes.jsonl", 0, 1);
  jtest_write_text (bad, "{bad\n", FALSE);
}

/* --- Running jsync as the unit does --------------------------------------- */

/* The unit's command line, `jsync --data-dir DATA ARGS` (no --db: the
 * default cache), through sh, which writes its process id to `pid_file`,
 * sets JOURNAL_STREAM to its stream `journal_fd` ("1" or "2"; none when
 * NULL), and becomes jsync. */
static GPtrArray *
service_argv (Fixture *f, const char *pid_file, const char *journal_fd,
              const char *const *args)
{
  static const char *const script =
      "echo $$ >\"$0\"\n"
      "if [ -n \"$1\" ]; then\n"
      "  JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/$1)\n"
      "  export JOURNAL_STREAM\n"
      "fi\n"
      "shift\n"
      "exec \"$@\"\n";
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) "sh");
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) script);
  g_ptr_array_add (argv, (gpointer) pid_file);
  g_ptr_array_add (argv, (gpointer) (journal_fd != NULL ? journal_fd : ""));
  g_ptr_array_add (argv, (gpointer) jtest_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, f->data);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return argv;
}

static JTestRun *
run_jsync (Fixture *f, const char *journal_fd, gboolean json,
           const char *const *args)
{
  g_autoptr(GPtrArray) argv = service_argv (f, "/dev/null", journal_fd, args);
  JTestSpawn options = { .env = f->env, .json = json, .timeout_ms = 60000 };
  JTestRun *run = jtest_spawn ((const char *const *) argv->pdata, &options);

  if (*run->err != '\0')
    g_test_message ("jsync %s: stderr:\n%s", args[0], run->err);
  g_assert_false (run->timed_out);
  g_assert_cmpint (run->signal, ==, 0);
  return run;
}

#define RUN(f, journal_fd, json, ...) \
  run_jsync ((f), (journal_fd), (json), \
             (const char *const[]) { __VA_ARGS__, NULL })

/* What `jsync status --json` says of the default cache. */
static gint64
events_applied (Fixture *f)
{
  g_autoptr(JTestRun) run = RUN (f, NULL, TRUE, "status", "--json", "--quiet");

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "eventsPending"), ==, 0);
  return jtest_member_int (run->json, "eventsApplied");
}

static char *
lock_path (Fixture *f)
{
  g_autoptr(JTestRun) run = RUN (f, NULL, TRUE, "status", "--json", "--quiet");

  return g_strconcat (jtest_member_str (run->json, "database"), ".lock", NULL);
}

/* Take the cache's writer lock as another jsync would: the fd holds it. */
static int
take_lock (Fixture *f)
{
  g_autofree char *path = lock_path (f);
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  return fd;
}

/* A watch running in a thread of its own until the test stops it. */
typedef struct
{
  GPtrArray *argv;              /* owned */
  char *pid_file;               /* owned */
  JTestSpawn options;
  JTestRun *run;                /* owned, nullable: once it ended */
  gint ended;                   /* atomic */
  GThread *thread;              /* owned */
} Watch;

static gpointer
watch_thread (gpointer data)
{
  Watch *w = data;

  w->run = jtest_spawn ((const char *const *) w->argv->pdata, &w->options);
  g_atomic_int_set (&w->ended, TRUE);
  return NULL;
}

static Watch *
watch_start (Fixture *f, const char *journal_fd)
{
  Watch *w = g_new0 (Watch, 1);

  w->pid_file = g_build_filename (f->dir, "watch.pid", NULL);
  g_remove (w->pid_file);
  w->argv = service_argv (f, w->pid_file, journal_fd,
                          (const char *const[]) { "watch", NULL });
  w->options.env = f->env;
  w->options.timeout_ms = 120000;
  w->thread = g_thread_new ("watch", watch_thread, w);
  return w;
}

/* systemctl stop: SIGTERM to the running watch. */
static void
watch_kill (Watch *w)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE * G_USEC_PER_SEC;
  g_autofree char *pid = NULL;

  /* sh wrote it before it became jsync. */
  while (!g_file_get_contents (w->pid_file, &pid, NULL, NULL)
         || strchr (pid, '\n') == NULL)
    {
      g_clear_pointer (&pid, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  g_assert_false (g_atomic_int_get (&w->ended));
  g_assert_cmpint (kill (atoi (pid), SIGTERM), ==, 0);
}

/* Wait for the watch's end; (transfer full) its run. */
static JTestRun *
watch_join (Watch *w)
{
  JTestRun *run;

  g_thread_join (w->thread);
  g_ptr_array_unref (w->argv);
  g_free (w->pid_file);
  run = w->run;
  g_free (w);
  g_test_message ("watch: stopped %" G_GINT64_FORMAT " ms after its start;"
                  " stderr:\n%s", run->ended - run->started, run->err);
  return run;
}

static JTestRun *
watch_stop (Watch *w)
{
  watch_kill (w);
  return watch_join (w);
}

/* Poll the cache until it has `expected` events, while the watch runs. */
static void
wait_applied (Fixture *f, Watch *w, gint64 expected)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE * G_USEC_PER_SEC;

  while (events_applied (f) != expected)
    {
      g_assert_false (g_atomic_int_get (&w->ended));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50000);
    }
}

/* The watch stopped cleanly: exit 0, `stopped` its last line, the lock
 * free; and the cache whole: the `synced` events its syncs applied, then
 * a sync applies the rest of the `total`, none twice. */
static void
assert_stopped_cleanly (Fixture *f, JTestRun *run, const char *stopped,
                        gint64 synced, gint64 total)
{
  g_autofree char *lock = lock_path (f);
  g_autofree char *err = g_strconcat ("\n", run->err, NULL);
  g_autofree char *last = g_strconcat ("\n", stopped, "\n", NULL);
  g_autoptr(JTestRun) sync = NULL;
  int fd;

  g_assert_false (run->timed_out);
  g_assert_cmpint (run->signal, ==, 0);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_true (g_str_has_suffix (err, last));

  fd = g_open (lock, O_RDWR | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  close (fd);

  g_assert_cmpint (events_applied (f), ==, synced);
  sync = RUN (f, NULL, TRUE, "sync", "--json", "--quiet");
  g_assert_cmpint (sync->status, ==, 0);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsApplied"), ==,
                   total - synced);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsSkipped"), ==, 0);
  g_assert_cmpint (jtest_member_int (sync->json, "eventsFailed"), ==, 0);
  g_assert_cmpint (jtest_member_int (sync->json, "conflicts"), ==, 0);
  g_assert_cmpint (events_applied (f), ==, total);
}

/* Every line of `err` that starts with `start`. */
static guint
count_lines (const char *err, const char *start)
{
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], start);
  return n;
}

/* --- SIGTERM -------------------------------------------------------------- */

/* The service's life: started, an app appends, systemctl stop.  Its
 * messages are the journal's (stderr is the stream): "watching" and
 * "stopped" are messages, priority 5. */
static void
test_stop_after_append (Fixture *f, gconstpointer user_data)
{
  Watch *w;
  g_autoptr(JTestRun) run = NULL;

  add_events (f, "notes.jsonl", 0, 1);
  w = watch_start (f, "2");
  wait_applied (f, w, 1);
  add_events (f, "notes.jsonl", 1, 2);
  add_events (f, "more/later.jsonl", 3, 1);
  wait_applied (f, w, 4);
  run = watch_stop (w);
  g_assert_nonnull (strstr (run->err, "<5>jsync: watching "));
  assert_stopped_cleanly (f, run, "<5>jsync: stopped", 4, 4);
}

/* SIGTERM while the first sync (50,000 events: a second or so, in batches
 * of 1000; a tenth of them, at least 5000, at a JSYNC_TEST_SCALE of 0.1 or
 * less) runs, once the cache has some of them: the sync is finished, then
 * the watch stops. */
static void
test_stop_mid_sync (Fixture *f, gconstpointer user_data)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE * G_USEC_PER_SEC;
  guint events = MAX (5000, (guint) (50000 * history_test_scale ()));
  g_autofree char *summary = g_strdup_printf (
      "jsync: sync: %u applied, 0 skipped, 0 failed, 0 pending;", events);
  Watch *w;
  g_autoptr(JTestRun) run = NULL;
  gint64 applied;

  add_events (f, "big.jsonl", 0, events);
  w = watch_start (f, NULL);
  while ((applied = events_applied (f)) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (5000);
    }
  g_test_message ("%" G_GINT64_FORMAT " of %u events in the cache: SIGTERM",
                  applied, events);
  /* Not yet all: the sync is in hand. */
  g_assert_cmpint (applied, <, events);
  run = watch_stop (w);
  /* One sync, whole. */
  g_assert_cmpuint (count_lines (run->err, "jsync: sync: "), ==, 1);
  g_assert_cmpuint (count_lines (run->err, summary), ==, 1);
  assert_stopped_cleanly (f, run, "jsync: stopped", events, events);
}

/* SIGTERM while jsync starts, here waiting for the cache's lock that
 * another holds: once it has the lock, it stops before it watches (no
 * sync; the next one applies every event). */
static void
test_stop_while_starting (Fixture *f, gconstpointer user_data)
{
  int lock;
  Watch *w;
  g_autoptr(JTestRun) run = NULL;

  add_events (f, "notes.jsonl", 0, 3);
  lock = take_lock (f);
  w = watch_start (f, NULL);
  /* Long enough to be waiting for the lock (lock-timeout: 30 s). */
  g_usleep (G_USEC_PER_SEC);
  watch_kill (w);
  /* SIGTERM did not end it: it is kept while jsync starts. */
  g_usleep (G_USEC_PER_SEC / 2);
  g_assert_false (g_atomic_int_get (&w->ended));
  close (lock);
  run = watch_join (w);
  g_assert_cmpstr (run->err, ==, "jsync: stopped\n");
  assert_stopped_cleanly (f, run, "jsync: stopped", 0, 3);
}

/* --- The journal ---------------------------------------------------------- */

/* A log with a line that is no JSON (a warning, priority 4) and -vv
 * (debug messages, priority 7); a missing data folder (the error that
 * ends the run, priority 3). */
static void
test_journal_priorities (Fixture *f, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_autoptr(JTestRun) journal = NULL;
  g_autoptr(JTestRun) failed = NULL;

  add_bad_log (f);
  journal = RUN (f, "2", FALSE, "sync", "-v", "-v");
  g_assert_cmpint (journal->status, ==, 1);
  g_assert_cmpuint (count_lines (journal->err, "<4>jsync: warning: bad.jsonl:1:"
                                               " not valid JSON"), ==, 1);
  g_assert_cmpuint (count_lines (journal->err, "<7>jsync: debug: "), >, 0);
  /* No message without its priority. */
  g_assert_cmpuint (count_lines (journal->err, "jsync: warning: "), ==, 0);
  g_assert_cmpuint (count_lines (journal->err, "jsync: debug: "), ==, 0);

  failed = RUN (f, "2", FALSE, "--data-dir", missing, "sync");
  g_assert_cmpint (failed->status, ==, 2);
  g_assert_cmpuint (count_lines (failed->err, "<3>jsync: "), ==, 1);
  g_assert_nonnull (strstr (failed->err, missing));
}

/* JOURNAL_STREAM naming another stream (stdout), or none: stderr is a
 * terminal's or a file's, and its lines are as ever. */
static void
test_journal_other_stream (Fixture *f, gconstpointer user_data)
{
  const char *const streams[] = { "1", NULL };

  add_bad_log (f);
  for (guint i = 0; i < G_N_ELEMENTS (streams); i++)
    {
      g_autoptr(JTestRun) run = RUN (f, streams[i], FALSE, "rebuild", "-v",
                                     "-v");

      g_test_message ("JOURNAL_STREAM: %s", streams[i] ? "stdout's" : "unset");
      g_assert_cmpint (run->status, ==, 1);
      g_assert_cmpuint (count_lines (run->err, "jsync: warning: bad.jsonl:1:"
                                               " not valid JSON"), ==, 1);
      g_assert_cmpuint (count_lines (run->err, "jsync: debug: "), >, 0);
      g_assert_cmpuint (count_lines (run->err, "<"), ==, 0);
    }
}

static const struct { const char *path; TestFunc func; } tests[] = {
  { "/service/sigterm/after-append", test_stop_after_append },
  { "/service/sigterm/mid-sync", test_stop_mid_sync },
  { "/service/sigterm/while-starting", test_stop_while_starting },
  { "/service/journal/priorities", test_journal_priorities },
  { "/service/journal/other-stream", test_journal_other_stream },
};

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, NULL, fixture_setup, tests[i].func,
                fixture_teardown);
  return g_test_run ();
}
