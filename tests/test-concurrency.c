/* test-concurrency.c: jsync run while apps write the logs.
 *
 * Every other reliability test stops the world between runs.  This one does
 * what a user's machine does: apps append to the logs WHILE `jsync sync`,
 * `watch`, `rebuild` and `verify` run, several at once, all of them the
 * real program (JSYNC_BIN) with the bundled appliers.
 *
 * Each round, with a seed of its own, makes a multi-device Nexus data
 * folder (nexus-history.c: four devices with skewed clocks, three
 * conversations and two workspaces, shared logs and their sync-tool
 * conflict copies), writes part of it and syncs it once.  Then, for
 * CONC_ROUND_MS:
 *
 * - writer threads (CONC_WRITERS) take the history's next events and, at
 *   random moments, write them in one of these ways:
 *   `jsync append FILE BODY --json` (the body is the event without id,
 *   deviceId and timestamp; exit 0 is the acknowledgement and the JSON's
 *   "id" the event acknowledged); a whole line in one O_APPEND write(); a
 *   torn line (two write()s with up to 40 ms between: the first half must
 *   wait until it is completed); an atomic replacement (the log's bytes
 *   plus new lines written to a temp file beside it whose name starts with
 *   "." so that the scan skips it, renamed over the log, as sync tools do);
 *   a new log (a conflict-copy name, sometimes in a new folder, put in
 *   place whole by a rename); a copy of an event already written into
 *   another log (the same bytes, the same JSON respaced, or a copy that
 *   differs: a sync conflict).  Some logs, and folders, do not exist
 *   before the round and are made by these writes.  Writes to one log are
 *   serialized as one app's would be (a read-write lock per log: whole-line
 *   appends, jsync append's included, share it; a torn line or a
 *   replacement holds it alone), so that every line a writer meant is in
 *   the log whole;
 * - two threads run `jsync sync --json` in a loop (--batch-size 1 to 1000);
 * - one `jsync watch --json` runs the whole round; SIGTERM stops it;
 * - `jsync rebuild --json` runs every 0.2 to 1 s, two at once 40% of the
 *   time;
 * - `jsync verify --json` runs every 0.3 to 1.5 s;
 * - `jsync status --json` runs in a loop;
 * - a reader thread opens the cache with SQLite alone, read-only, every few
 *   ms, as an app reading the cache does.
 *
 * The keyfile's lock-timeout is 60 s (240 s in a sanitizer's pass, where
 * every run is several times slower), so the runs wait for each other
 * rather than give up.  When the writers stop, every loop ends, the watch is
 * stopped, one last `jsync sync` runs, and the round is checked.
 *
 * What is checked: each promise is a test case of its own below (TAP says
 * which hold).  Violations are counted with the first examples and the
 * seed of their round, and never stop the rounds, so that one run of the
 * test says which promises broke and how often.
 *
 * - append/acknowledged-in-cache: when `jsync append` exits 0, the cache
 *   holds its event ("it syncs, so the cache has it when the command
 *   returns"), looked up by the writer at once with SQLite;
 * - cache/never-goes-back: every event acknowledged so far is in the cache
 *   at every check of the reader, and the number of events in jsync_events
 *   never goes down (events are only ever added to these logs, so a smaller
 *   cache is one that lost what it had: a rebuild swapped in without what
 *   was synced meanwhile, a cache thrown away).  Counted once per time it
 *   goes back, however many checks see it before a sync catches up.  A
 *   read during which the path came to name another file (a rebuild's
 *   rename fell in it) proves nothing either way: SQLite finds the -wal by
 *   name, so it may have read the old file with the new one's log; such a
 *   read is done again at the next check;
 * - runs/exit-0: every sync, rebuild, append and verify run exits 0 (verify
 *   4 is the next case), and the watch runs the whole round, syncs without
 *   a failure ("trying again") and exits 0 at SIGTERM;
 * - verify/no-false-difference: no verify during the round exits 4 (see
 *   below);
 * - runs/nothing-lost-or-failed: no run reports lost events, a log it could
 *   not read (filesFailed) or a failed event or line (the logs only grow
 *   by valid whole events);
 * - status/always-succeeds: every `jsync status --json` exits 0;
 * - cache/always-opens: at every check of the reader (and after each
 *   acknowledged append) the cache file exists and SQLite opens and reads
 *   it;
 * - cache/never-damaged: no run finds the cache damaged (no "moved aside"
 *   in any run's stderr, no <db>.corrupt at the end, no verify during the
 *   round finding a full-text index that fails its integrity-check);
 * - final/sync: the last sync, with every writer and run stopped, exits 0;
 * - final/every-event-once: jsync_events then holds each id of the logs
 *   once, with its winning copy (the smallest of (timestamp, deviceId,
 *   bytes), history_collect_winners), and nothing else; each missing one is
 *   reported with the way it was written.  The ids the writers wrote and
 *   the ids acknowledged must all be in the logs (a check of the test);
 * - final/equals-fresh-cache: the cache equals one built from scratch into
 *   another --db from the same logs, table by table (`jsync dump`), with the
 *   same status per event id and the same failures; FTS integrity-check
 *   passes; messageCount is right; jsync_lost is empty;
 * - final/verify: `jsync verify` exits 0;
 * - children/no-sanitizer-report: no child printed a sanitizer report (the
 *   ASan and TSan passes of .ci/run build the program with them too).
 *
 * Why every verify that exits 4 during a round is a false report: the
 * writers only add whole, valid lines to logs, or replace a log by a longer
 * copy of itself; nothing is ever removed or changed.  The cache is
 * defined as the events of the logs applied in key order, so a cache that
 * has read each log up to its checkpoint is exactly what a rebuild of those
 * bytes gives (the crash test's invariant): it is behind, never wrong, and
 * the only difference a rebuild of later bytes can show is the lines that
 * arrived in between.  verify syncs first and compares under the writer
 * lock precisely so that this does not count.  A real difference would need
 * jsync to have applied something wrongly, and this test decides that where
 * it can be decided for sure: after the last sync, against a fresh cache
 * and against the logs themselves (final/...).  So the stringent rule: no
 * verify during a round may exit 4 for differing table rows; the tables it
 * reported are printed, and the ones from rounds whose cache turned out
 * wrong at the end are counted apart (those may have been real).  A
 * full-text index failing FTS5's own integrity-check is another matter:
 * being behind never explains it, so it counts as a damaged cache
 * (cache/never-damaged), not as a false report.
 *
 * Seeds: each round's seed decides its data and every writer's and
 * runner's choices (the interleaving is the scheduler's, so a failure is
 * replayed only in likelihood).  The seed of the first round is printed;
 * JSYNC_TEST_SEED=N starts the rounds at N (round i uses N + i).  Figures
 * (rounds, events written by each way, acknowledged appends, runs of each
 * command and their exit statuses, runs that overlapped another) go to the
 * TAP log.  JSYNC_TEST_SCALE scales the number of rounds down (at least
 * one) for the sanitizer passes of .ci/run.
 *
 * To tell which kind of run a failure needs, JSYNC_TEST_CONCURRENCY_SKIP
 * leaves some out: a comma-separated list of sync, watch, rebuild,
 * double-rebuild (only one rebuild at a time), verify, status, reader.
 *
 * Children never outlive the test: each is made with PR_SET_PDEATHSIG from
 * the thread that waits for it, so a failed assertion (abort) or meson's
 * timeout takes them down with the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "jsync-store.h"
#include "nexus-history.h"
#include "program-harness.h"

/* At JSYNC_TEST_SCALE=1 (about 60 to 90 s on 2 cores). */
#define CONC_ROUNDS 8
/* How long the writers write, per round. */
#define CONC_ROUND_MS 6000
/* Events in the logs before the round starts, and for the writers. */
#define CONC_INITIAL 1200
#define CONC_POOL 4000
#define CONC_WRITERS 3
#define CONC_SYNCERS 2
/* The keyfile's lock-timeout (s): runs wait for each other rather than
 * give up.  A run that takes longer than CONC_RUN_TIMEOUT is killed (and
 * reported).  How long the watch may take to start syncing before it is
 * stopped.  All three times conc_slow under a sanitizer. */
#define CONC_LOCK_TIMEOUT 60
#define CONC_RUN_TIMEOUT (120 * G_USEC_PER_SEC * conc_slow)
#define CONC_WATCH_START_TIMEOUT (60 * G_USEC_PER_SEC * conc_slow)
/* Examples kept per promise. */
#define CONC_EXAMPLES 40

/* --- Promises and their violations --------------------------------------- */

typedef enum
{
  P_ACK_VISIBLE,
  P_NEVER_BACK,
  P_RUN_OK,
  P_VERIFY_FALSE,
  P_NO_LOST,
  P_STATUS,
  P_CACHE_OPENS,
  P_NOT_DAMAGED,
  P_FINAL_SYNC,
  P_COMPLETE,
  P_FRESH_EQUAL,
  P_VERIFY_END,
  P_SANITIZER,
  N_PROMISES
} Promise;

static const struct
{
  const char *path;
  const char *promise;
} promises[N_PROMISES] = {
  [P_ACK_VISIBLE] = { "/concurrency/append/acknowledged-in-cache",
                      "an acknowledged `jsync append` (exit 0) has its event"
                      " in the cache when it returns" },
  [P_NEVER_BACK] = { "/concurrency/cache/never-goes-back",
                     "the cache never goes back: acknowledged events stay in"
                     " it, and its events never become fewer" },
  [P_RUN_OK] = { "/concurrency/runs/exit-0",
                 "every sync, rebuild, append and verify run exits 0, and"
                 " watch syncs without failing and exits 0 at SIGTERM" },
  [P_VERIFY_FALSE] = { "/concurrency/verify/no-false-difference",
                       "verify run while logs only grow never reports a"
                       " difference (exit 4)" },
  [P_NO_LOST] = { "/concurrency/runs/nothing-lost-or-failed",
                  "no run reports lost events, an unreadable log or a failed"
                  " event while logs only grow by valid whole lines" },
  [P_STATUS] = { "/concurrency/status/always-succeeds",
                 "`jsync status` succeeds at every moment" },
  [P_CACHE_OPENS] = { "/concurrency/cache/always-opens",
                      "the cache file exists and SQLite opens and reads it at"
                      " every moment" },
  [P_NOT_DAMAGED] = { "/concurrency/cache/never-damaged",
                      "no run finds the cache damaged (moved aside as"
                      " <db>.corrupt, an FTS index failing its"
                      " integrity-check)" },
  [P_FINAL_SYNC] = { "/concurrency/final/sync",
                     "the last sync, after the writers stopped, exits 0" },
  [P_COMPLETE] = { "/concurrency/final/every-event-once",
                   "after the last sync, every event of the logs is in the"
                   " cache once, with its winning copy, and nothing else" },
  [P_FRESH_EQUAL] = { "/concurrency/final/equals-fresh-cache",
                      "after the last sync, the cache equals a fresh cache of"
                      " the same logs" },
  [P_VERIFY_END] = { "/concurrency/final/verify",
                     "verify exits 0 after the last sync" },
  [P_SANITIZER] = { "/concurrency/children/no-sanitizer-report",
                    "no jsync run printed a sanitizer report" },
};

/* Commands, for the figures. */
typedef enum
{
  CMD_SYNC,
  CMD_REBUILD,
  CMD_VERIFY,
  CMD_STATUS,
  CMD_APPEND,
  CMD_WATCH,
  CMD_OTHER,                /* the initial and last syncs, dumps, builds */
  N_CMDS
} Command;

static const char *const command_names[N_CMDS] = {
  "sync", "rebuild", "verify", "status", "append", "watch", "other",
};

/* Exit statuses counted: 0 to 5, then "other" (a signal, 66, ...). */
#define N_EXITS 7

typedef struct
{
  guint rounds;
  guint32 first_seed;
  gint64 wall;              /* µs */
  /* What the writers wrote. */
  guint64 initial_events;
  guint64 appends;          /* jsync append runs */
  guint64 acked;            /* of them exit 0 */
  guint64 whole;            /* whole lines, one write() */
  guint64 torn;             /* torn lines */
  guint64 replacements;
  guint64 replaced_lines;   /* new lines they brought */
  guint64 new_logs;
  guint64 new_log_lines;
  guint64 copies;           /* copies of an event, in another log */
  guint64 variants;         /* of them, copies that differ */
  guint64 files_made;       /* logs that did not exist before the round */
  guint64 folders_made;     /* and folders */
  /* The runs. */
  guint64 runs[N_CMDS];
  guint64 exits[N_CMDS][N_EXITS];
  guint64 double_rebuilds;
  guint64 watch_syncs;
  guint64 overlapped;       /* runs started while another jsync ran */
  guint max_alive;
  guint64 reader_checks;
  guint64 acked_in_cache;   /* acknowledged events found at once */
  /* Violations. */
  guint violations[N_PROMISES];
  guint rounds_violated[N_PROMISES];
  GPtrArray *examples[N_PROMISES];
  guint64 final_events;     /* distinct ids in the logs, at the end */
  guint64 verify4_wrong;    /* verify exit 4 during rounds whose cache was
                             * also found wrong at the end */
} Totals;

static Totals totals;
static GMutex totals_lock;
/* JSYNC_TEST_CONCURRENCY_SKIP */
static gboolean skip_sync, skip_watch, skip_rebuild, skip_double, skip_verify,
                skip_status, skip_reader;
static gboolean rounds_done;
/* 4 in a sanitizer's pass of .ci/run (every run of the program is several
 * times slower there), else 1. */
static int conc_slow = 1;
static gint alive;          /* jsync processes running */
static gint serial;         /* output file names */

/* --- A round -------------------------------------------------------------- */

typedef struct
{
  guint index;
  guint32 seed;
  Program *program;
  char *config;             /* owned: the keyfile */
  GPtrArray *events;        /* owned: the history (HistoryEvent*) */
  GPtrArray *pool;          /* owned: those the writers write, borrowed */
  GHashTable *remap;        /* owned: event file -> where it is written */

  GMutex lock;              /* guards everything below */
  guint next;               /* next event of `pool` for the writers */
  GHashTable *file_locks;   /* path -> GRWLock* */
  GPtrArray *files;         /* paths of the logs that exist */
  GHashTable *files_set;
  GPtrArray *written;       /* HistoryEvent* written raw (for copies) */
  GHashTable *how;          /* id -> how it was written (static string) */
  GPtrArray *acked;         /* ids acknowledged, in order */
  guint violated[N_PROMISES];
  Totals figures;           /* this round's, added to totals at the end */

  gint stop;                /* atomic: the round is over */
} Round;

typedef struct
{
  GPid pid;
  int pidfd;
  Command command;
  char *line;               /* owned: the command line, for messages */
  char *out_path;           /* owned */
  char *err_path;           /* owned */
  gint64 start;
  GMutex lock;              /* guards exited */
  gboolean exited;
} Child;

static void conc_violation (Round *round, Promise promise, const char *format,
                            ...) G_GNUC_PRINTF (3, 4);

static void
conc_violation (Round *round, Promise promise, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_mutex_lock (&round->lock);
  round->violated[promise]++;
  g_mutex_unlock (&round->lock);
  g_mutex_lock (&totals_lock);
  totals.violations[promise]++;
  if (totals.examples[promise] == NULL)
    totals.examples[promise] = g_ptr_array_new_with_free_func (g_free);
  if (totals.examples[promise]->len < CONC_EXAMPLES)
    g_ptr_array_add (totals.examples[promise],
                     g_strdup_printf ("round %u (seed %u): %s", round->index,
                                      round->seed, message));
  g_mutex_unlock (&totals_lock);
}

/* The first lines of a text, for a message. */
static char *
conc_head (const char *text, guint lines)
{
  const char *p = text;

  for (guint i = 0; i < lines && p != NULL && *p != '\0'; i++)
    {
      p = strchr (p, '\n');
      if (p != NULL)
        p++;
    }
  if (p == NULL || *p == '\0')
    return g_strdup (text);
  return g_strdup_printf ("%.*s[...]", (int) (p - text), text);
}

/* The lines of a run's stderr that are not warnings (the conflict
 * warnings of copies that differ are expected here), the first few. */
static char *
conc_errors (const char *err)
{
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);
  GString *text = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL && n < 4; i++)
    if (*lines[i] != '\0' && strstr (lines[i], ": warning: ") == NULL)
      {
        g_string_append_printf (text, "%s%s", n++ > 0 ? " / " : "", lines[i]);
      }
  if (n == 0)
    g_string_append (text, "(only warnings)");
  return g_string_free (text, FALSE);
}

/* A run that did not end as it should: what it is, its exit, how long it
 * took, and the first errors it wrote. */
static void
conc_exit_violation (Round *round, Promise promise, const char *what,
                     JTestRun *run)
{
  g_autofree char *head = conc_errors (run->err);

  conc_violation (round, promise, "%s → exit %d (signal %d) after %"
                  G_GINT64_FORMAT " ms: %s", what, run->status, run->signal,
                  run->duration / 1000, head);
}

/* --- Children ------------------------------------------------------------- */

/* In the child: die with the thread that made it (it is the one that
 * waits for it), so that nothing outlives a test that aborted. */
static void
conc_child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != (pid_t) GPOINTER_TO_INT (data))
    _exit (127);
}

/* Start the program with --data-dir, --db (the round's when NULL),
 * --config, then args. */
static Child *
conc_start (Round *round, Command command, const char *db,
            const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Child *child = g_new0 (Child, 1);
  guint n = (guint) g_atomic_int_add (&serial, 1);
  int null_fd, out_fd, err_fd;
  guint before;

  child->command = command;
  child->out_path = g_strdup_printf ("%s/run-%u.out", round->program->dir, n);
  child->err_path = g_strdup_printf ("%s/run-%u.err", round->program->dir, n);
  g_mutex_init (&child->lock);
  g_ptr_array_add (argv, (gpointer) jtest_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, round->program->data);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, (gpointer) (db != NULL ? db : round->program->db));
  g_ptr_array_add (argv, (gpointer) "--config");
  g_ptr_array_add (argv, round->config);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  child->line = g_strjoinv (" ", (char **) argv->pdata + 5);

  null_fd = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0);
  out_fd = g_open (child->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0600);
  err_fd = g_open (child->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                   0600);
  g_assert_cmpint (null_fd, >=, 0);
  g_assert_cmpint (out_fd, >=, 0);
  g_assert_cmpint (err_fd, >=, 0);
  child->start = g_get_monotonic_time ();
  g_spawn_async_with_fds (round->program->dir, (char **) argv->pdata,
                          round->program->env, G_SPAWN_DO_NOT_REAP_CHILD,
                          conc_child_setup, GINT_TO_POINTER (getpid ()),
                          &child->pid, null_fd, out_fd, err_fd, &error);
  g_assert_no_error (error);
  close (null_fd);
  close (out_fd);
  close (err_fd);
#ifdef SYS_pidfd_open
  child->pidfd = (int) syscall (SYS_pidfd_open, child->pid, 0);
#else
  child->pidfd = -1;
#endif

  before = (guint) g_atomic_int_add (&alive, 1);
  g_mutex_lock (&round->lock);
  round->figures.runs[command]++;
  if (before > 0)
    round->figures.overlapped++;
  round->figures.max_alive = MAX (round->figures.max_alive, before + 1);
  g_mutex_unlock (&round->lock);
  return child;
}

/* Send a signal to a child that has not exited yet. */
static void
conc_signal (Child *child, int signal)
{
  g_mutex_lock (&child->lock);
  if (!child->exited)
    kill (child->pid, signal);
  g_mutex_unlock (&child->lock);
}

static gboolean
conc_has_exited (Child *child, int wait_ms)
{
  siginfo_t info;

  if (child->pidfd >= 0)
    {
      struct pollfd fd = { .fd = child->pidfd, .events = POLLIN };

      if (poll (&fd, 1, wait_ms) <= 0)
        return FALSE;
    }
  else
    g_usleep (wait_ms * 1000);
  memset (&info, 0, sizeof info);
  if (waitid (P_PID, child->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    {
      g_assert_cmpint (errno, ==, EINTR);
      return FALSE;
    }
  return info.si_pid == child->pid;
}

static void
conc_child_free (Child *child)
{
  if (child->pidfd >= 0)
    close (child->pidfd);
  g_mutex_clear (&child->lock);
  g_free (child->line);
  g_free (child->out_path);
  g_free (child->err_path);
  g_free (child);
}

/* Wait for a child (killing it after `timeout` µs when > 0), collect its
 * output, and check what every run must: no sanitizer report, no damaged
 * cache.  The child is still the caller's to free. (transfer full) */
static JTestRun *
conc_wait (Round *round, Child *child, gint64 timeout)
{
  g_autoptr(GError) error = NULL;
  JTestRun *run = g_new0 (JTestRun, 1);
  struct rusage usage = { 0 };
  int status = 0;
  pid_t done;
  guint slot;

  while (!conc_has_exited (child, 20))
    if (timeout > 0 && !run->timed_out
        && g_get_monotonic_time () - child->start > timeout)
      {
        run->timed_out = TRUE;
        conc_signal (child, SIGKILL);
      }
  g_mutex_lock (&child->lock);
  child->exited = TRUE;
  g_mutex_unlock (&child->lock);
  do
    done = wait4 (child->pid, &status, 0, &usage);
  while (done < 0 && errno == EINTR);
  g_assert_cmpint (done, ==, child->pid);
  g_atomic_int_add (&alive, -1);
  jtest_run_set_exit (run, status, child->start, usage.ru_maxrss);
  g_file_get_contents (child->out_path, &run->out, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (child->err_path, &run->err, NULL, &error);
  g_assert_no_error (error);
  g_unlink (child->out_path);
  g_unlink (child->err_path);

  slot = run->status >= 0 && run->status < N_EXITS - 1 ? (guint) run->status
                                                       : N_EXITS - 1;
  g_mutex_lock (&round->lock);
  round->figures.exits[child->command][slot]++;
  g_mutex_unlock (&round->lock);
  if (run->timed_out)
    conc_violation (round, P_RUN_OK, "jsync %s: killed after %" G_GINT64_FORMAT
                    " s", child->line, timeout / G_USEC_PER_SEC);
  if (strstr (run->err, "Sanitizer") != NULL
      || strstr (run->err, "runtime error:") != NULL)
    {
      g_autofree char *head = conc_head (run->err, 40);

      conc_violation (round, P_SANITIZER, "jsync %s (exit %d):\n%s",
                      child->line, run->status, head);
    }
  if (strstr (run->err, "moved aside") != NULL)
    {
      g_autofree char *head = conc_head (run->err, 6);

      conc_violation (round, P_NOT_DAMAGED, "jsync %s (exit %d): %s",
                      child->line, run->status, head);
    }
  return run;
}

/* Wait, then free the child. (transfer full) */
static JTestRun *
conc_finish (Round *round, Child *child, gint64 timeout)
{
  JTestRun *run = conc_wait (round, child, timeout);

  conc_child_free (child);
  return run;
}

static JTestRun *
conc_run (Round *round, Command command, const char *db,
        const char *const *args)
{
  return conc_finish (round, conc_start (round, command, db, args),
                      CONC_RUN_TIMEOUT);
}

/* stdout as one JSON object, or NULL. */
static json_object *
conc_parse (const char *text)
{
  json_object *json = json_tokener_parse (text);

  if (json != NULL && !json_object_is_type (json, json_type_object))
    g_clear_pointer (&json, json_object_put);
  return json;
}

static gint64
conc_int (json_object *object, const char *key)
{
  json_object *value = NULL;

  json_object_object_get_ex (object, key, &value);
  return value != NULL ? json_object_get_int64 (value) : 0;
}

static gsize
conc_array_length (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value)
      || !json_object_is_type (value, json_type_array))
    return 0;
  return json_object_array_length (value);
}

/* What a sync's result (of sync, rebuild, append, watch) must not say
 * while the logs only grow by valid whole lines. */
static void
conc_check_result (Round *round, const char *what, json_object *json)
{
  json_object *lost = NULL, *errors = NULL;

  json_object_object_get_ex (json, "lostEvents", &lost);
  json_object_object_get_ex (json, "errors", &errors);
  if (conc_array_length (json, "lostEvents") > 0)
    conc_violation (round, P_NO_LOST, "%s reported lost events: %s", what,
                    json_object_to_json_string_ext (lost, JSON_C_TO_STRING_PLAIN));
  if (conc_int (json, "filesFailed") > 0 || conc_int (json, "eventsFailed") > 0
      || conc_array_length (json, "errors") > 0)
    conc_violation (round, P_NO_LOST,
                    "%s: filesFailed %" G_GINT64_FORMAT ", eventsFailed %"
                    G_GINT64_FORMAT ", errors %s", what,
                    conc_int (json, "filesFailed"),
                    conc_int (json, "eventsFailed"),
                    errors != NULL ? json_object_to_json_string_ext (
                                         errors, JSON_C_TO_STRING_PLAIN)
                                   : "[]");
}

/* A sync, rebuild or append that finished: exit 0 and a clean result. */
static void
conc_check_run (Round *round, const char *what, JTestRun *run)
{
  json_object *json;

  if (run->status != 0)
    conc_exit_violation (round, P_RUN_OK, what, run);
  json = conc_parse (run->out);
  if (json != NULL)
    {
      conc_check_result (round, what, json);
      json_object_put (json);
    }
  else if (run->status == 0 || run->status == 1)
    conc_violation (round, P_RUN_OK, "%s → exit %d with no JSON result: %s",
                    what, run->status, run->out);
}

/* --- The cache, read with SQLite alone ------------------------------------ */

static sqlite3 *
conc_open_cache (const char *db, char **why)
{
  sqlite3 *handle = NULL;
  GStatBuf st;

  if (g_stat (db, &st) != 0)
    {
      *why = g_strdup_printf ("%s: %s", db, g_strerror (errno));
      return NULL;
    }
  if (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      *why = g_strdup_printf ("open %s: %s", db, sqlite3_errmsg (handle));
      sqlite3_close (handle);
      return NULL;
    }
  sqlite3_busy_timeout (handle, 20000);
  /* The lines as read, whether packed or not: jsync_line(raw). */
  jsync_line_codec_add (handle);
  return handle;
}

/* Which of `ids` (of char*) the cache lacks, and how many events it has,
 * in one read transaction; FALSE with *why when it cannot be read.
 * *swapped: the path named another file after the read than before it (a
 * rebuild's swap fell during the read: SQLite may then have read the old
 * file with the new one's -wal, found by name, so what it read says
 * nothing about either cache). */
static gboolean
conc_lookup (const char *db, GPtrArray *ids, GPtrArray *missing,
             gint64 *count, gboolean *swapped, char **why)
{
  sqlite3 *handle;
  sqlite3_stmt *stmt = NULL;
  GStatBuf before, after;
  gboolean ok;

  *swapped = FALSE;
  if (g_stat (db, &before) != 0)
    {
      *why = g_strdup_printf ("%s: %s", db, g_strerror (errno));
      return FALSE;
    }
  handle = conc_open_cache (db, why);
  if (handle == NULL)
    return FALSE;
  ok = sqlite3_exec (handle, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
       && sqlite3_prepare_v2 (handle, "SELECT count(*) FROM jsync_events", -1,
                              &stmt, NULL) == SQLITE_OK
       && sqlite3_step (stmt) == SQLITE_ROW;
  if (ok)
    *count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  stmt = NULL;
  ok = ok && sqlite3_prepare_v2 (handle,
                                 "SELECT 1 FROM jsync_events WHERE id = ?1",
                                 -1, &stmt, NULL) == SQLITE_OK;
  for (guint i = 0; ok && i < ids->len; i++)
    {
      int rc;

      sqlite3_bind_text (stmt, 1, ids->pdata[i], -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        g_ptr_array_add (missing, ids->pdata[i]);
      else if (rc != SQLITE_ROW)
        ok = FALSE;
      sqlite3_reset (stmt);
    }
  if (!ok)
    *why = g_strdup_printf ("read %s: %s (SQLite code %d)", db,
                            sqlite3_errmsg (handle),
                            sqlite3_extended_errcode (handle));
  sqlite3_finalize (stmt);
  sqlite3_exec (handle, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (handle);
  *swapped = g_stat (db, &after) != 0 || after.st_ino != before.st_ino
             || after.st_dev != before.st_dev;
  if (!ok && *swapped)
    {
      char *longer = g_strconcat (*why, " (the file was replaced during the"
                                  " read)", NULL);

      g_free (*why);
      *why = longer;
    }
  return ok;
}

/* id -> "status raw" of every event of a cache; NULL with *why. */
static GHashTable *
conc_cache_events (const char *db, char **why)
{
  sqlite3 *handle = conc_open_cache (db, why);
  sqlite3_stmt *stmt = NULL;
  GHashTable *events;
  int rc;

  if (handle == NULL)
    return NULL;
  if (sqlite3_prepare_v2 (handle, "SELECT id, status, jsync_line(raw)"
                          " FROM jsync_events",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      *why = g_strdup_printf ("read %s: %s", db, sqlite3_errmsg (handle));
      sqlite3_close (handle);
      return NULL;
    }
  events = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_replace (events,
                          g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                          g_strdup_printf ("%d %.*s",
                                           sqlite3_column_int (stmt, 1),
                                           sqlite3_column_bytes (stmt, 2),
                                           (const char *) sqlite3_column_blob (stmt, 2)));
  if (rc != SQLITE_DONE)
    {
      *why = g_strdup_printf ("read %s: %s", db, sqlite3_errmsg (handle));
      g_clear_pointer (&events, g_hash_table_unref);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return events;
}

/* One integer from a cache, -1 when it cannot be read. */
static gint64
conc_query_int (const char *db, const char *sql)
{
  return jtest_cache_try_int (db, sql, 20000);
}

/* --- Writing the logs ----------------------------------------------------- */

static void
conc_make_parent (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
}

static void
conc_write_fd (int fd, const char *text, gsize length)
{
  gssize written;

  do
    written = write (fd, text, length);
  while (written < 0 && errno == EINTR);
  g_assert_cmpint (written, ==, (gssize) length);
}

static int
conc_open_append (const char *path)
{
  int fd;

  conc_make_parent (path);
  fd = g_open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* The lock of one log (made on first use). */
static GRWLock *
conc_file_lock (Round *round, const char *relative)
{
  GRWLock *lock;

  g_mutex_lock (&round->lock);
  lock = g_hash_table_lookup (round->file_locks, relative);
  if (lock == NULL)
    {
      lock = g_new0 (GRWLock, 1);
      g_rw_lock_init (lock);
      g_hash_table_insert (round->file_locks, g_strdup (relative), lock);
    }
  g_mutex_unlock (&round->lock);
  return lock;
}

/* The logs and folders below `dir`. */
static void
conc_count_logs (const char *dir, guint *logs, guint *folders)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (name[0] == '.')
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          (*folders)++;
          conc_count_logs (path, logs, folders);
        }
      else if (g_str_has_suffix (name, ".jsonl"))
        (*logs)++;
    }
}

static void
conc_rw_lock_free (gpointer data)
{
  g_rw_lock_clear (data);
  g_free (data);
}

/* A log now exists (under round->lock). */
static void
conc_note_file (Round *round, const char *relative)
{
  if (g_hash_table_contains (round->files_set, relative))
    return;
  g_hash_table_add (round->files_set, g_strdup (relative));
  g_ptr_array_add (round->files, g_strdup (relative));
}

/* An event written raw: its id is in the logs now (under round->lock). */
static void
conc_note_written (Round *round, HistoryEvent *event, const char *relative,
                   const char *how)
{
  if (!g_hash_table_contains (round->how, event->id))
    g_hash_table_insert (round->how, g_strdup (event->id), (gpointer) how);
  g_ptr_array_add (round->written, event);
  conc_note_file (round, relative);
}

/* The next `n` events for the writers (fewer at the end). */
static guint
conc_take (Round *round, HistoryEvent **taken, guint n)
{
  guint got = 0;

  g_mutex_lock (&round->lock);
  while (got < n && round->next < round->pool->len)
    taken[got++] = round->pool->pdata[round->next++];
  g_mutex_unlock (&round->lock);
  return got;
}

static const char *
conc_target (Round *round, HistoryEvent *event)
{
  const char *remapped = g_hash_table_lookup (round->remap, event->file);

  return remapped != NULL ? remapped : event->file;
}

/* The event as `jsync append` takes it: without id, deviceId, timestamp. */
static char *
conc_append_body (const char *line)
{
  json_object *json = json_tokener_parse (line);
  char *body;

  g_assert_nonnull (json);
  json_object_object_del (json, "id");
  json_object_object_del (json, "deviceId");
  json_object_object_del (json, "timestamp");
  body = g_strdup (json_object_to_json_string_ext (
      json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (json);
  return body;
}

static gboolean
conc_stopping (Round *round)
{
  return g_atomic_int_get (&round->stop) != 0;
}

/* Sleep between min and max ms, in slices; FALSE once the round is over. */
static gboolean
conc_pause (Round *round, GRand *rand, int min_ms, int max_ms)
{
  gint64 until = g_get_monotonic_time ()
                 + (gint64) g_rand_int_range (rand, min_ms, max_ms + 1) * 1000;

  while (!conc_stopping (round))
    {
      gint64 left = until - g_get_monotonic_time ();

      if (left <= 0)
        return TRUE;
      g_usleep (MIN (left, 10000));
    }
  return FALSE;
}

/* `jsync append`: the acknowledgement, and the event in the cache at once. */
static void
conc_op_append (Round *round, GRand *rand)
{
  HistoryEvent *event;
  g_autofree char *body = NULL;
  g_autoptr(JTestRun) run = NULL;
  const char *relative;
  GRWLock *lock;
  json_object *json;
  json_object *id = NULL;

  if (conc_take (round, &event, 1) == 0)
    return;
  relative = conc_target (round, event);
  body = conc_append_body (event->line);
  lock = conc_file_lock (round, relative);
  g_rw_lock_reader_lock (lock);
  {
    const char *const args[] = { "append", relative, body, "--json", NULL };

    run = conc_run (round, CMD_APPEND, NULL, args);
  }
  g_rw_lock_reader_unlock (lock);
  {
    g_autofree char *path = g_build_filename (round->program->data, relative,
                                              NULL);

    g_mutex_lock (&round->lock);
    round->figures.appends++;
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      conc_note_file (round, relative);
    g_mutex_unlock (&round->lock);
  }
  conc_check_run (round, "append", run);
  if (run->status != 0)
    return;
  json = conc_parse (run->out);
  if (json == NULL || !json_object_object_get_ex (json, "id", &id)
      || !json_object_is_type (id, json_type_string))
    {
      conc_violation (round, P_RUN_OK, "append exit 0 without an id: %s",
                      run->out);
      g_clear_pointer (&json, json_object_put);
      return;
    }
  {
    g_autoptr(GPtrArray) ids = g_ptr_array_new ();
    g_autoptr(GPtrArray) missing = g_ptr_array_new ();
    g_autofree char *why = NULL;
    char *acked = g_strdup (json_object_get_string (id));
    gboolean swapped = FALSE;
    gint64 count = 0;

    g_mutex_lock (&round->lock);
    round->figures.acked++;
    g_ptr_array_add (round->acked, acked);
    g_hash_table_insert (round->how, g_strdup (acked),
                         (gpointer) "jsync append, acknowledged");
    g_mutex_unlock (&round->lock);
    g_ptr_array_add (ids, acked);
    /* Again when a swap fell during the read: it read nothing certain. */
    for (guint attempt = 0; attempt < 3; attempt++)
      {
        g_clear_pointer (&why, g_free);
        g_ptr_array_set_size (missing, 0);
        if (!conc_lookup (round->program->db, ids, missing, &count, &swapped,
                          &why) || !swapped)
          break;
      }
    if (why != NULL)
      conc_violation (round, P_CACHE_OPENS, "after an append: %s", why);
    else if (swapped)
      ;
    else if (missing->len > 0)
      conc_violation (round, P_ACK_VISIBLE,
                      "`jsync append %s` exited 0 with id %s after %"
                      G_GINT64_FORMAT " ms, but the cache did not hold it"
                      " then", relative, acked, run->duration / 1000);
    else
      {
        g_mutex_lock (&round->lock);
        round->figures.acked_in_cache++;
        g_mutex_unlock (&round->lock);
      }
  }
  json_object_put (json);
}

/* `line` and its newline appended to the log `relative`: in one write()
 * under the file's lock shared, or, with `tear`, in two writes with a pause
 * between under the lock alone (the first half must wait). */
static void
conc_append_line (Round *round, const char *relative, const char *line,
                  GRand *tear)
{
  g_autofree char *path = g_build_filename (round->program->data, relative,
                                            NULL);
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  gsize length = strlen (text);
  GRWLock *lock;
  gsize cut;
  int fd;

  if (tear == NULL)
    {
      lock = conc_file_lock (round, relative);
      g_rw_lock_reader_lock (lock);
      fd = conc_open_append (path);
      conc_write_fd (fd, text, length);
      close (fd);
      g_rw_lock_reader_unlock (lock);
      return;
    }
  /* Anywhere but after the newline: at least one byte of the line is
   * there, and the newline is not. */
  cut = g_rand_int_range (tear, 1, (gint32) length);
  lock = conc_file_lock (round, relative);
  g_rw_lock_writer_lock (lock);
  fd = conc_open_append (path);
  conc_write_fd (fd, text, cut);
  g_usleep (g_rand_int_range (tear, 1, 41) * 1000);
  conc_write_fd (fd, text + cut, length - cut);
  close (fd);
  g_rw_lock_writer_unlock (lock);
}

/* One event appended, whole (`tear` NULL) or torn, and counted in `count`. */
static void
conc_append_event (Round *round, GRand *tear, guint64 *count, const char *how)
{
  HistoryEvent *event;
  const char *relative;

  if (conc_take (round, &event, 1) == 0)
    return;
  relative = conc_target (round, event);
  conc_append_line (round, relative, event->line, tear);
  g_mutex_lock (&round->lock);
  (*count)++;
  conc_note_written (round, event, relative, how);
  g_mutex_unlock (&round->lock);
}

/* A whole line in one write(). */
static void
conc_op_whole (Round *round, GRand *rand)
{
  conc_append_event (round, NULL, &round->figures.whole, "whole line");
}

/* A line in two writes, a pause between: the first half must wait. */
static void
conc_op_torn (Round *round, GRand *rand)
{
  conc_append_event (round, rand, &round->figures.torn, "torn line");
}

/* `n` events written to `relative` by a rename, counted once in `files`
 * and `n` times in `lines`. */
static void
conc_note_replaced (Round *round, HistoryEvent **events, guint n,
                    const char *relative, const char *how, guint64 *files,
                    guint64 *lines)
{
  g_mutex_lock (&round->lock);
  (*files)++;
  *lines += n;
  for (guint i = 0; i < n; i++)
    conc_note_written (round, events[i], relative, how);
  g_mutex_unlock (&round->lock);
}

/* Write a temp file (a "." name: never read) beside `path` and rename it
 * over `path`. */
static void
conc_replace (const char *path, const char *text, gsize length)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_build_filename (dir, ".conc-XXXXXX", NULL);
  int fd;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  conc_write_fd (fd, text, length);
  g_assert_cmpint (close (fd), ==, 0);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

/* A sync tool's replacement: the log's bytes plus new lines, renamed over
 * it. */
static void
conc_op_replace (Round *round, GRand *rand)
{
  HistoryEvent *events[4];
  g_autoptr(GError) error = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *path = NULL;
  g_autofree char *old = NULL;
  GString *text;
  GRWLock *lock;
  gsize length = 0;
  guint n;

  g_mutex_lock (&round->lock);
  if (round->files->len > 0)
    relative = g_strdup (round->files->pdata[g_rand_int_range (
        rand, 0, round->files->len)]);
  g_mutex_unlock (&round->lock);
  if (relative == NULL)
    return;
  n = conc_take (round, events, g_rand_int_range (rand, 1, 5));
  if (n == 0)
    return;
  path = g_build_filename (round->program->data, relative, NULL);
  lock = conc_file_lock (round, relative);
  g_rw_lock_writer_lock (lock);
  g_file_get_contents (path, &old, &length, &error);
  g_assert_no_error (error);
  /* Nothing is torn while the lock is held alone. */
  g_assert_true (length == 0 || old[length - 1] == '\n');
  text = g_string_new_len (old, length);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s\n", events[i]->line);
  conc_replace (path, text->str, text->len);
  g_rw_lock_writer_unlock (lock);
  g_string_free (text, TRUE);
  conc_note_replaced (round, events, n, relative, "replacement by rename",
                      &round->figures.replacements,
                      &round->figures.replaced_lines);
}

/* A new log, whole at once: a conflict copy arriving, sometimes in a new
 * folder. */
static void
conc_op_new_log (Round *round, GRand *rand)
{
  HistoryEvent *events[3];
  g_autofree char *stem = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *path = NULL;
  GString *text;
  GRWLock *lock;
  guint n = conc_take (round, events, g_rand_int_range (rand, 1, 4));
  guint number = (guint) g_atomic_int_add (&serial, 1);

  if (n == 0)
    return;
  stem = g_strndup (events[0]->shared,
                    strlen (events[0]->shared) - strlen (".jsonl"));
  if (g_rand_int_range (rand, 0, 3) == 0)
    relative = g_strdup_printf ("arrived-%u/%s (conflicted copy %u).jsonl",
                                number % 3, stem, number);
  else
    relative = g_strdup_printf ("%s.sync-conflict-20260101-%06u-CONC%u.jsonl",
                                stem, number, round->index);
  path = g_build_filename (round->program->data, relative, NULL);
  text = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s\n", events[i]->line);
  lock = conc_file_lock (round, relative);
  g_rw_lock_writer_lock (lock);
  conc_replace (path, text->str, text->len);
  g_rw_lock_writer_unlock (lock);
  g_string_free (text, TRUE);
  conc_note_replaced (round, events, n, relative, "new log by rename",
                      &round->figures.new_logs, &round->figures.new_log_lines);
}

/* A copy of an event already written, in another log: the same bytes, the
 * same JSON respaced, or a copy that differs. */
static void
conc_op_copy (Round *round, GRand *rand)
{
  HistoryEvent *event = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *line = NULL;
  gboolean variant = FALSE;
  int kind = g_rand_int_range (rand, 0, 4);

  g_mutex_lock (&round->lock);
  if (round->written->len > 0 && round->files->len > 1)
    {
      event = round->written->pdata[g_rand_int_range (rand, 0,
                                                      round->written->len)];
      relative = g_strdup (round->files->pdata[g_rand_int_range (
          rand, 0, round->files->len)]);
    }
  g_mutex_unlock (&round->lock);
  if (event == NULL)
    return;
  if (kind < 2)
    line = g_strdup (event->line);
  else if (kind == 2)
    line = history_respaced (event->line);
  else
    {
      line = history_variant (rand, event);
      variant = TRUE;
    }
  conc_append_line (round, relative, line, NULL);
  g_mutex_lock (&round->lock);
  round->figures.copies++;
  round->figures.variants += variant;
  g_mutex_unlock (&round->lock);
}

/* A worker thread of a round: it pauses (conc_pause) and takes one step
 * of its kind, until the round stops (conc_worker). */
typedef struct
{
  Round *round;
  guint number;
  const struct ConcKind *kind;
  gboolean behind;          /* the reader's: the cache went back */
  gint64 most;              /* the reader's: the most events it held */
} Worker;

typedef void (*ConcStep) (Round *round, GRand *rand, Worker *worker);

typedef struct ConcKind
{
  const char *name;         /* the thread's */
  ConcStep step;
  guint seed;               /* its GRand's seed: the round's times 1009, */
  gboolean numbered;        /* plus this, plus the worker's number when set */
  int min_ms, max_ms;       /* the pause before each step */
  const gboolean *skip;     /* nullable: --skip leaves the kind out */
} ConcKind;

static void
conc_write_step (Round *round, GRand *rand, Worker *worker)
{
  int op = g_rand_int_range (rand, 0, 100);

  if (op < 30)
    conc_op_append (round, rand);
  else if (op < 55)
    conc_op_whole (round, rand);
  else if (op < 70)
    conc_op_torn (round, rand);
  else if (op < 80)
    conc_op_replace (round, rand);
  else if (op < 88)
    conc_op_new_log (round, rand);
  else
    conc_op_copy (round, rand);
}

/* --- The runs during a round ---------------------------------------------- */

static const char *
conc_batch (GRand *rand)
{
  static const char *const sizes[] = { "1", "3", "16", "100", "1000" };

  return sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))];
}

static void
conc_sync_step (Round *round, GRand *rand, Worker *worker)
{
  const char *const args[] = { "sync", "--json", "--batch-size",
                               conc_batch (rand), NULL };
  g_autoptr(JTestRun) run = conc_run (round, CMD_SYNC, NULL, args);

  conc_check_run (round, "sync", run);
}

static void
conc_rebuild_step (Round *round, GRand *rand, Worker *worker)
{
  const char *const args[] = { "rebuild", "--json", "--batch-size",
                               conc_batch (rand), NULL };
  gboolean two = g_rand_int_range (rand, 0, 5) < 2 && !skip_double;
  Child *first = conc_start (round, CMD_REBUILD, NULL, args);
  Child *second = two ? conc_start (round, CMD_REBUILD, NULL, args) : NULL;
  g_autoptr(JTestRun) run = conc_finish (round, first, CONC_RUN_TIMEOUT);

  conc_check_run (round, two ? "rebuild (one of two at once)" : "rebuild",
                  run);
  if (second != NULL)
    {
      g_autoptr(JTestRun) other = conc_finish (round, second,
                                               CONC_RUN_TIMEOUT);

      conc_check_run (round, "rebuild (one of two at once)", other);
      g_mutex_lock (&round->lock);
      round->figures.double_rebuilds++;
      g_mutex_unlock (&round->lock);
    }
}

/* The differences a verify reported, in one line: the tables that differ
 * into `tables`, the FTS indexes that fail their integrity-check into
 * `fts`. */
static void
conc_verify_differences (json_object *json, GString *tables_text,
                         GString *fts_text)
{
  json_object *tables = NULL, *fts = NULL;

  if (json == NULL)
    return;
  json_object_object_get_ex (json, "tables", &tables);
  json_object_object_get_ex (json, "fts", &fts);
  for (gsize i = 0; tables != NULL && i < json_object_array_length (tables);
       i++)
    {
      json_object *table = json_object_array_get_idx (tables, i);
      json_object *keys = NULL;

      if (conc_int (table, "onlyInCache") == 0
          && conc_int (table, "onlyInRebuild") == 0)
        continue;
      json_object_object_get_ex (table, "keys", &keys);
      g_string_append_printf (tables_text, "%s: %" G_GINT64_FORMAT " row(s)"
                              " only in the cache, %" G_GINT64_FORMAT " only"
                              " in the rebuild (%" G_GINT64_FORMAT " and %"
                              G_GINT64_FORMAT " rows), keys %s; ",
                              json_object_get_string (
                                  json_object_object_get (table, "table")),
                              conc_int (table, "onlyInCache"),
                              conc_int (table, "onlyInRebuild"),
                              conc_int (table, "cacheRows"),
                              conc_int (table, "rebuildRows"),
                              json_object_to_json_string_ext (
                                  keys, JSON_C_TO_STRING_PLAIN));
    }
  for (gsize i = 0; fts != NULL && i < json_object_array_length (fts); i++)
    {
      json_object *item = json_object_array_get_idx (fts, i);

      if (!json_object_get_boolean (json_object_object_get (item, "ok")))
        g_string_append_printf (fts_text, "%s: %s; ",
                                json_object_get_string (
                                    json_object_object_get (item, "table")),
                                json_object_get_string (
                                    json_object_object_get (item, "message")));
    }
}

static void
conc_verify_step (Round *round, GRand *rand, Worker *worker)
{
  const char *const args[] = { "verify", "--json", NULL };
  g_autoptr(JTestRun) run = conc_run (round, CMD_VERIFY, NULL, args);

  if (run->status == 4)
    {
      json_object *json = conc_parse (run->out);
      g_autoptr(GString) tables = g_string_new (NULL);
      g_autoptr(GString) fts = g_string_new (NULL);

      /* Table rows: what a cache behind the logs shows against a rebuild
       * of later bytes.  A full-text index that fails its own
       * integrity-check is damage, however far behind the cache is. */
      conc_verify_differences (json, tables, fts);
      if (tables->len > 0 || fts->len == 0)
        conc_violation (round, P_VERIFY_FALSE,
                        "verify exited 4 during the round (%" G_GINT64_FORMAT
                        " ms): %s", run->duration / 1000,
                        tables->len > 0 ? tables->str : run->out);
      if (fts->len > 0)
        conc_violation (round, P_NOT_DAMAGED,
                        "verify during the round found a full-text index"
                        " damaged: %s", fts->str);
      g_clear_pointer (&json, json_object_put);
    }
  else if (run->status != 0)
    conc_exit_violation (round, P_RUN_OK, "verify", run);
}

static void
conc_status_step (Round *round, GRand *rand, Worker *worker)
{
  const char *const args[] = { "status", "--json", NULL };
  g_autoptr(JTestRun) run = conc_run (round, CMD_STATUS, NULL, args);
  json_object *json = conc_parse (run->out);

  if (run->status != 0 || json == NULL)
    conc_exit_violation (round, P_STATUS, "status", run);
  g_clear_pointer (&json, json_object_put);
}

/* The cache read with SQLite alone: it is there, it opens, every event
 * acknowledged so far is in it, and it never holds fewer events. */
static void
conc_read_step (Round *round, GRand *rand, Worker *worker)
{
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autofree char *why = NULL;
  gboolean swapped = FALSE;
  gint64 count = 0;

  /* The strings stay until the round ends; the array may grow. */
  g_mutex_lock (&round->lock);
  ids = g_ptr_array_sized_new (round->acked->len);
  for (guint i = 0; i < round->acked->len; i++)
    g_ptr_array_add (ids, round->acked->pdata[i]);
  round->figures.reader_checks++;
  g_mutex_unlock (&round->lock);
  if (!conc_lookup (round->program->db, ids, missing, &count, &swapped, &why))
    {
      conc_violation (round, P_CACHE_OPENS, "%s", why);
      return;
    }
  if (swapped)
    return;
  /* One violation per time the cache went back, however many checks see
   * it before a sync brings it forward again. */
  if (!worker->behind && missing->len > 0)
    conc_violation (round, P_NEVER_BACK,
                    "%u of %u acknowledged event(s) no longer in the cache"
                    " (%" G_GINT64_FORMAT " events in it, %" G_GINT64_FORMAT
                    " at most before), e.g. %s", missing->len, ids->len,
                    count, worker->most, (const char *) missing->pdata[0]);
  else if (!worker->behind && count < worker->most)
    conc_violation (round, P_NEVER_BACK,
                    "the cache held %" G_GINT64_FORMAT " events, now %"
                    G_GINT64_FORMAT, worker->most, count);
  worker->behind = missing->len > 0 || count < worker->most;
  worker->most = MAX (worker->most, count);
}

/* The kinds of workers: CONC_WRITERS writers and CONC_SYNCERS syncers,
 * then one of each other kind. */
static const ConcKind conc_kinds[] = {
  { "conc-writer", conc_write_step, 0, TRUE, 0, 25, NULL },
  { "conc-sync", conc_sync_step, 100, TRUE, 0, 150, &skip_sync },
  { "conc-rebuild", conc_rebuild_step, 200, FALSE, 200, 1000, &skip_rebuild },
  { "conc-verify", conc_verify_step, 300, FALSE, 300, 1500, &skip_verify },
  { "conc-status", conc_status_step, 400, FALSE, 20, 100, &skip_status },
  { "conc-reader", conc_read_step, 500, FALSE, 2, 15, &skip_reader },
};

static gpointer
conc_worker (gpointer data)
{
  Worker *worker = data;
  const ConcKind *kind = worker->kind;
  g_autoptr(GRand) rand = g_rand_new_with_seed (
      worker->round->seed * 1009u + kind->seed
      + (kind->numbered ? worker->number : 0));

  while (conc_pause (worker->round, rand, kind->min_ms, kind->max_ms))
    kind->step (worker->round, rand, worker);
  return NULL;
}

typedef struct
{
  Round *round;
  GMutex lock;
  GCond started;
  Child *child;             /* guarded by lock until it is waited for */
} Watch;

static gpointer
conc_watch (gpointer data)
{
  Watch *watch = data;
  Round *round = watch->round;
  const char *const args[] = { "watch", "--json", NULL };
  g_autoptr(JTestRun) run = NULL;
  g_auto(GStrv) lines = NULL;
  Child *child = conc_start (round, CMD_WATCH, NULL, args);

  g_mutex_lock (&watch->lock);
  watch->child = child;
  g_cond_signal (&watch->started);
  g_mutex_unlock (&watch->lock);
  run = conc_wait (round, child, -1);
  g_mutex_lock (&watch->lock);
  watch->child = NULL;
  g_mutex_unlock (&watch->lock);
  conc_child_free (child);

  if (run->status != 0)
    conc_exit_violation (round, P_RUN_OK, "watch", run);
  if (strstr (run->err, "trying again") != NULL)
    {
      const char *warning = strstr (run->err, "trying again");
      const char *start = warning;

      while (start > run->err && start[-1] != '\n')
        start--;
      conc_violation (round, P_RUN_OK, "a sync of watch failed: %.*s",
                      (int) (warning - start + strlen ("trying again")),
                      start);
    }
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      json_object *json;

      if (*lines[i] == '\0')
        continue;
      json = conc_parse (lines[i]);
      if (json == NULL)
        {
          conc_violation (round, P_RUN_OK, "watch printed a line that is not"
                          " a JSON object: %s", lines[i]);
          continue;
        }
      conc_check_result (round, "a sync of watch", json);
      json_object_put (json);
      g_mutex_lock (&round->lock);
      round->figures.watch_syncs++;
      g_mutex_unlock (&round->lock);
    }
  return NULL;
}

/* Stop the watch once it syncs (SIGTERM before its handler is set would
 * kill it, which says nothing about jsync). */
static void
conc_stop_watch (Round *round, Watch *watch, GThread *thread)
{
  gint64 until = g_get_monotonic_time () + CONC_WATCH_START_TIMEOUT;

  g_mutex_lock (&watch->lock);
  while (watch->child != NULL)
    {
      g_autofree char *err = NULL;

      g_file_get_contents (watch->child->err_path, &err, NULL, NULL);
      if ((err != NULL && strstr (err, "watching") != NULL)
          || g_get_monotonic_time () > until)
        break;
      g_mutex_unlock (&watch->lock);
      g_usleep (20000);
      g_mutex_lock (&watch->lock);
    }
  if (watch->child != NULL)
    conc_signal (watch->child, SIGTERM);
  g_mutex_unlock (&watch->lock);
  g_thread_join (thread);
  (void) round;
}

/* --- A round, start to end ------------------------------------------------ */

/* The first `initial` events not in a late log, written before the
 * round; the others are the writers', in order. */
static void
conc_write_initial (Round *round, guint initial, GHashTable *late)
{
  g_autoptr(GHashTable) texts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  guint written = 0;

  for (guint i = 0; i < round->events->len; i++)
    {
      HistoryEvent *event = round->events->pdata[i];
      GString *text;

      if (written >= initial || g_hash_table_contains (late, event->file))
        {
          g_ptr_array_add (round->pool, event);
          continue;
        }
      text = g_hash_table_lookup (texts, event->file);
      if (text == NULL)
        {
          text = g_string_new (NULL);
          g_hash_table_insert (texts, event->file, text);
          g_ptr_array_add (order, event->file);
        }
      g_string_append_printf (text, "%s\n", event->line);
      conc_note_written (round, event, event->file, "before the round");
      written++;
    }
  for (guint i = 0; i < order->len; i++)
    {
      GString *text = g_hash_table_lookup (texts, order->pdata[i]);
      g_autofree char *path = g_build_filename (round->program->data,
                                                order->pdata[i], NULL);

      jtest_write_text (path, text->str, FALSE);
      g_string_free (text, TRUE);
    }
  g_assert_cmpuint (written, ==, initial);
}

/* `jsync dump` of a cache, or NULL with *why. */
static json_object *
conc_dump (Round *round, const char *db, char **why)
{
  const char *const args[] = { "dump", NULL };
  g_autoptr(JTestRun) run = conc_run (round, CMD_OTHER, db, args);
  json_object *json = run->status == 0 ? conc_parse (run->out) : NULL;

  if (json == NULL)
    *why = g_strdup_printf ("jsync --db %s dump → exit %d: %s", db,
                            run->status, run->err);
  return json;
}

/* NULL when two dumps are equal, else which table differs and how. */
static char *
conc_compare_dumps (json_object *a, json_object *b)
{
  json_object_object_foreach (b, table, rows)
    {
      json_object *other = NULL;

      json_object_object_get_ex (a, table, &other);
      if (!json_object_equal (other, rows))
        {
          gsize x = other != NULL ? json_object_array_length (other) : 0;
          gsize y = json_object_array_length (rows);
          gsize i = 0;

          while (i < x && i < y
                 && json_object_equal (json_object_array_get_idx (other, i),
                                       json_object_array_get_idx (rows, i)))
            i++;
          return g_strdup_printf (
              "table %s: %zu rows in the cache, %zu in the fresh one; first"
              " difference at row %zu: cache %s, fresh %s", table, x, y, i,
              i < x ? json_object_to_json_string_ext (
                          json_object_array_get_idx (other, i),
                          JSON_C_TO_STRING_PLAIN) : "(none)",
              i < y ? json_object_to_json_string_ext (
                          json_object_array_get_idx (rows, i),
                          JSON_C_TO_STRING_PLAIN) : "(none)");
        }
    }
  if (json_object_object_length (a) != json_object_object_length (b))
    return g_strdup ("the lists of tables differ");
  return NULL;
}

/* Where the first of `needles` (NULL-terminated) is in the logs below
 * `dir`: the log (relative to `top`) and the byte offset of its line. */
static gboolean
conc_locate (const char *top, const char *dir, const char *const *needles,
             char **relative, gint64 *offset)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      const char *found = NULL;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (conc_locate (top, path, needles, relative, offset))
            return TRUE;
          continue;
        }
      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      for (guint i = 0; found == NULL && needles[i] != NULL; i++)
        found = strstr (text, needles[i]);
      if (found == NULL)
        continue;
      while (found > text && found[-1] != '\n')
        found--;
      *relative = g_strdup (path + strlen (top) + 1);
      *offset = found - text;
      return TRUE;
    }
  return FALSE;
}

/* Why a line of the logs may not be in the cache: where it is, and what
 * the cache recorded of that log. */
static char *
conc_explain (Round *round, const char *const *needles)
{
  g_autofree char *relative = NULL;
  g_autofree char *path = NULL;
  g_autofree char *why = NULL;
  sqlite3 *handle;
  sqlite3_stmt *stmt = NULL;
  GStatBuf st;
  gint64 offset = 0;
  char *text;

  if (!conc_locate (round->program->data, round->program->data, needles,
                    &relative, &offset))
    return g_strdup ("not found in the logs");
  path = g_build_filename (round->program->data, relative, NULL);
  if (g_stat (path, &st) != 0)
    st.st_size = -1;
  handle = conc_open_cache (round->program->db, &why);
  if (handle == NULL
      || sqlite3_prepare_v2 (handle, "SELECT offset, size, ino, mtime"
                             " FROM jsync_sources WHERE path = ?1", -1, &stmt,
                             NULL) != SQLITE_OK)
    text = g_strdup_printf ("in %s at byte %" G_GINT64_FORMAT, relative,
                            offset);
  else
    {
      sqlite3_bind_text (stmt, 1, relative, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        text = g_strdup_printf (
            "in %s at byte %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
            " bytes, inode %" G_GUINT64_FORMAT ", mtime %" G_GINT64_FORMAT
            "); the cache's checkpoint of it: byte %" G_GINT64_FORMAT
            ", recorded identity size %s, inode %s, mtime %s",
            relative, offset, (gint64) st.st_size, (guint64) st.st_ino,
            (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
              + st.st_mtim.tv_nsec,
            (gint64) sqlite3_column_int64 (stmt, 0),
            sqlite3_column_type (stmt, 1) == SQLITE_NULL
              ? "NULL" : (const char *) sqlite3_column_text (stmt, 1),
            sqlite3_column_type (stmt, 2) == SQLITE_NULL
              ? "NULL" : (const char *) sqlite3_column_text (stmt, 2),
            sqlite3_column_type (stmt, 3) == SQLITE_NULL
              ? "NULL" : (const char *) sqlite3_column_text (stmt, 3));
      else
        text = g_strdup_printf ("in %s at byte %" G_GINT64_FORMAT ", a log"
                                " the cache does not know", relative, offset);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return text;
}

/* The same for an event id missing from the cache. */
static char *
conc_explain_missing (Round *round, const char *id)
{
  g_autofree char *plain = g_strdup_printf ("\"id\":\"%s\"", id);
  g_autofree char *spaced = g_strdup_printf ("\"id\": \"%s\"", id);
  const char *const needles[] = { plain, spaced, NULL };

  return conc_explain (round, needles);
}

/* A check of the test itself: every line of every log is a whole event
 * (a writer's torn line glued to another's would not be). */
static void
conc_assert_logs_whole (const char *dir)
{
  g_autoptr(GPtrArray) files = jtest_tree_files (dir, TRUE);

  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  for (guint f = 0; f < files->len; f++)
    {
      const char *relative = files->pdata[f];
      g_autofree char *path = g_build_filename (dir, relative, NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;
      gsize length = 0;

      /* No temp file is left behind, nor a folder of one. */
      g_assert_cmpint (relative[0], !=, '.');
      g_assert_null (strstr (relative, G_DIR_SEPARATOR_S "."));
      g_assert_true (g_file_get_contents (path, &text, &length, NULL));
      g_assert_true (length == 0 || text[length - 1] == '\n');
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
        {
          json_object *json = json_tokener_parse (lines[i]);

          if (json == NULL)
            g_test_message ("%s:%u is not JSON: %s", path, i + 1, lines[i]);
          g_assert_nonnull (json);
          json_object_put (json);
        }
    }
}

/* After the last sync: the cache against the logs, a fresh cache and
 * verify. */
static void
conc_check_end (Round *round)
{
  g_autoptr(GHashTable) winners = g_hash_table_new_full (
      g_str_hash, g_str_equal, NULL, history_winner_free);
  g_autoptr(GHashTable) events = NULL;
  g_autoptr(GHashTable) fresh_events = NULL;
  g_autofree char *fresh = g_build_filename (round->program->dir, "fresh.db",
                                             NULL);
  g_autofree char *corrupt = g_strconcat (round->program->db, ".corrupt", NULL);
  g_autofree char *why = NULL;
  GHashTableIter iter;
  gpointer key, value;

  conc_assert_logs_whole (round->program->data);
  history_collect_winners (round->program->data, winners);
  totals.final_events += g_hash_table_size (winners);
  /* What the writers wrote is in the logs (the test's own check). */
  g_hash_table_iter_init (&iter, round->how);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!g_hash_table_contains (winners, key))
        g_test_message ("%s (%s) is in no log", (char *) key, (char *) value);
      g_assert_true (g_hash_table_contains (winners, key));
    }

  /* Every event once, with its winning copy, and nothing else. */
  events = conc_cache_events (round->program->db, &why);
  if (events == NULL)
    conc_violation (round, P_COMPLETE, "the cache cannot be read: %s", why);
  else
    {
      g_autoptr(GHashTable) by_how = g_hash_table_new (g_str_hash, g_str_equal);
      GString *missing = g_string_new (NULL);
      guint n_missing = 0, wrong = 0, extra = 0;

      g_hash_table_iter_init (&iter, winners);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          HistoryWinner *winner = value;
          const char *cached = g_hash_table_lookup (events, key);

          if (cached == NULL)
            {
              const char *how = g_hash_table_lookup (round->how, key);

              how = how != NULL ? how : "jsync append, not acknowledged";
              g_hash_table_insert (by_how, (gpointer) how,
                                   GUINT_TO_POINTER (GPOINTER_TO_UINT (
                                       g_hash_table_lookup (by_how, how)) + 1));
              if (n_missing++ < 2)
                {
                  g_autofree char *where = conc_explain_missing (round,
                                                                 winner->id);

                  g_string_append_printf (missing, " %s (%s; %s)", winner->id,
                                          how, where);
                }
              continue;
            }
          {
            json_object *json = json_tokener_parse (strchr (cached, ' ') + 1);

            if (!json_object_equal (json, winner->json))
              {
                if (wrong++ == 0)
                  {
                    g_autofree char *line = g_strconcat (winner->line, "\n",
                                                         NULL);
                    const char *const needles[] = { line, NULL };
                    g_autofree char *where = conc_explain (round, needles);

                    conc_violation (round, P_COMPLETE,
                                    "event %s: the cache keeps %s, the event"
                                    " (its copy with the smallest key) is %s,"
                                    " %s", winner->id,
                                    strchr (cached, ' ') + 1, winner->line,
                                    where);
                  }
              }
            json_object_put (json);
          }
        }
      g_hash_table_iter_init (&iter, events);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (winners, key))
          extra++;
      if (n_missing > 0)
        {
          GString *counts = g_string_new (NULL);

          g_hash_table_iter_init (&iter, by_how);
          while (g_hash_table_iter_next (&iter, &key, &value))
            g_string_append_printf (counts, "%s%u written by %s",
                                    counts->len > 0 ? ", " : "",
                                    GPOINTER_TO_UINT (value), (char *) key);
          conc_violation (round, P_COMPLETE,
                          "%u of %u events of the logs are not in the cache"
                          " after the last sync (%s), e.g.%s", n_missing,
                          g_hash_table_size (winners), counts->str,
                          missing->str);
          g_string_free (counts, TRUE);
        }
      if (extra > 0)
        conc_violation (round, P_COMPLETE, "%u event(s) in the cache are in"
                        " no log", extra);
      if (wrong > 1)
        conc_violation (round, P_COMPLETE, "%u more events with another copy"
                        " than the winning one", wrong - 1);
      g_string_free (missing, TRUE);
    }

  /* A fresh cache of the same logs. */
  {
    const char *const args[] = { "sync", "--batch-size", "100000", NULL };
    g_autoptr(JTestRun) build = conc_run (round, CMD_OTHER, fresh, args);
    g_autofree char *fts = NULL;

    /* A fresh cache, with nothing else running: the test's own ground. */
    if (build->status != 0)
      g_test_message ("the fresh cache: jsync → exit %d:\n%s", build->status,
                      build->err);
    g_assert_cmpint (build->status, ==, 0);
    g_clear_pointer (&why, g_free);
    fresh_events = conc_cache_events (fresh, &why);
    g_assert_nonnull (fresh_events);
    if (events != NULL)
      {
        guint differ = 0;
        const char *example = NULL;

        g_hash_table_iter_init (&iter, fresh_events);
        while (g_hash_table_iter_next (&iter, &key, &value))
          {
            const char *cached = g_hash_table_lookup (events, key);

            if (cached != NULL && cached[0] != ((char *) value)[0])
              {
                differ++;
                example = key;
              }
          }
        if (differ > 0)
          conc_violation (round, P_FRESH_EQUAL, "%u event(s) with another"
                          " status than in a fresh cache, e.g. %s", differ,
                          example);
      }
    {
      g_autofree char *why_a = NULL;
      g_autofree char *why_b = NULL;
      json_object *a = conc_dump (round, round->program->db, &why_a);
      json_object *b = conc_dump (round, fresh, &why_b);
      g_autofree char *difference = NULL;

      if (b == NULL)
        g_test_message ("%s", why_b);
      g_assert_nonnull (b);
      if (a == NULL)
        conc_violation (round, P_FRESH_EQUAL, "%s", why_a);
      else if ((difference = conc_compare_dumps (a, b)) != NULL)
        conc_violation (round, P_FRESH_EQUAL, "the cache differs from a fresh"
                        " one: %s", difference);
      g_clear_pointer (&a, json_object_put);
      json_object_put (b);
    }
    if (g_file_test (round->program->db, G_FILE_TEST_EXISTS)
        && (fts = program_check_fts (round->program->db)) != NULL)
      conc_violation (round, P_FRESH_EQUAL, "FTS integrity-check: %s", fts);
    if (conc_query_int (round->program->db,
                        "SELECT count(*) FROM conversations c WHERE"
                        " messageCount <> (SELECT count(*) FROM messages m"
                        " WHERE m.conversationId = c.id)") != 0)
      conc_violation (round, P_FRESH_EQUAL, "a messageCount is wrong (or the"
                      " cache cannot be read)");
    if (conc_query_int (round->program->db, "SELECT count(*) FROM jsync_failed")
        != conc_query_int (fresh, "SELECT count(*) FROM jsync_failed"))
      conc_violation (round, P_FRESH_EQUAL, "jsync_failed: %" G_GINT64_FORMAT
                      " rows, %" G_GINT64_FORMAT " in a fresh cache",
                      conc_query_int (round->program->db,
                                      "SELECT count(*) FROM jsync_failed"),
                      conc_query_int (fresh, "SELECT count(*) FROM jsync_failed"));
    if (conc_query_int (round->program->db, "SELECT count(*) FROM jsync_lost")
        != 0)
      conc_violation (round, P_NO_LOST, "jsync_lost holds %" G_GINT64_FORMAT
                      " event(s) at the end",
                      conc_query_int (round->program->db,
                                      "SELECT count(*) FROM jsync_lost"));
  }

  /* verify, with nothing moving. */
  {
    const char *const args[] = { "verify", "--json", NULL };
    g_autoptr(JTestRun) run = conc_run (round, CMD_OTHER, NULL, args);

    if (run->status != 0)
      {
        json_object *json = conc_parse (run->out);
        g_autoptr(GString) differences = g_string_new (NULL);
        g_autofree char *head = conc_errors (run->err);

        conc_verify_differences (json, differences, differences);
        conc_violation (round, P_VERIFY_END, "verify → exit %d: %s%s",
                        run->status, differences->str, head);
        g_clear_pointer (&json, json_object_put);
      }
  }
  if (g_file_test (corrupt, G_FILE_TEST_EXISTS))
    conc_violation (round, P_NOT_DAMAGED, "%s exists: a run found the cache"
                    " damaged", corrupt);
}

static void
conc_round (guint index, guint32 seed)
{
  Round round_data = { 0 };
  Round *round = &round_data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GHashTable) late = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  g_autofree Worker *workers = NULL;
  HistoryShape shape = {
    .devices = 4, .conversations = 3, .workspaces = 2,
    .events = CONC_INITIAL + CONC_POOL,
  };
  Watch watch = { 0 };
  GThread *watch_thread;
  guint n_workers = 0;
  guint logs_before = 0, folders_before = 0, logs_after = 0, folders_after = 0;
  gint64 start = g_get_monotonic_time ();

  round->index = index;
  round->seed = seed;
  round->program = program_new (history_scratch_dir ());
  round->config = g_build_filename (round->program->dir, "jsync.conf", NULL);
  {
    g_autofree char *keyfile = g_strdup_printf ("[jsync]\nlock-timeout = %d\n",
                                                CONC_LOCK_TIMEOUT * conc_slow);

    jtest_write_text (round->config, keyfile, FALSE);
  }
  g_mutex_init (&round->lock);
  round->file_locks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             conc_rw_lock_free);
  round->files = g_ptr_array_new_with_free_func (g_free);
  round->files_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            NULL);
  round->written = g_ptr_array_new ();
  round->how = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  round->acked = g_ptr_array_new_with_free_func (g_free);
  round->remap = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  round->events = history_generate (rand, &shape);
  round->pool = g_ptr_array_new ();

  /* Logs made during the round: about a quarter, half of them in a folder
   * that does not exist yet. */
  for (guint i = 0; i < round->events->len; i++)
    {
      HistoryEvent *event = round->events->pdata[i];

      if (!g_ptr_array_find_with_equal_func (files, event->file, g_str_equal,
                                             NULL))
        g_ptr_array_add (files, event->file);
    }
  for (guint i = 0; i < files->len; i++)
    if (g_rand_int_range (rand, 0, 4) == 0 && i > 0)
      {
        g_hash_table_add (late, files->pdata[i]);
        if (g_rand_boolean (rand))
          g_hash_table_insert (round->remap, files->pdata[i],
                               g_strdup_printf ("later/%s",
                                                (char *) files->pdata[i]));
      }
  conc_write_initial (round, CONC_INITIAL, late);
  conc_count_logs (round->program->data, &logs_before, &folders_before);
  totals.initial_events += CONC_INITIAL;

  /* The first sync, alone. */
  {
    const char *const args[] = { "sync", NULL };
    g_autoptr(JTestRun) run = conc_run (round, CMD_OTHER, NULL, args);

    if (run->status != 0)
      g_test_message ("the first sync: jsync → exit %d:\n%s", run->status,
                      run->err);
    g_assert_cmpint (run->status, ==, 0);
  }

  /* Everything at once. */
  g_mutex_init (&watch.lock);
  g_cond_init (&watch.started);
  watch.round = round;
  watch_thread = NULL;
  if (!skip_watch)
    {
      g_mutex_lock (&watch.lock);
      watch_thread = g_thread_new ("conc-watch", conc_watch, &watch);
      while (watch.child == NULL)
        g_cond_wait (&watch.started, &watch.lock);
      g_mutex_unlock (&watch.lock);
    }
  workers = g_new0 (Worker, CONC_WRITERS + CONC_SYNCERS + 4);
  for (guint i = 0; i < CONC_WRITERS + CONC_SYNCERS + 4; i++)
    {
      const ConcKind *kind = &conc_kinds[
          i < CONC_WRITERS ? 0
          : i < CONC_WRITERS + CONC_SYNCERS ? 1
          : 2 + i - CONC_WRITERS - CONC_SYNCERS];
      Worker *worker = &workers[n_workers++];

      if (kind->skip != NULL && *kind->skip)
        continue;
      worker->round = round;
      worker->number = i;
      worker->kind = kind;
      g_ptr_array_add (threads, g_thread_new (kind->name, conc_worker,
                                              worker));
    }
  g_usleep (CONC_ROUND_MS * 1000);
  g_atomic_int_set (&round->stop, 1);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  if (watch_thread != NULL)
    conc_stop_watch (round, &watch, watch_thread);
  g_mutex_clear (&watch.lock);
  g_cond_clear (&watch.started);

  /* The last sync, with nothing else moving. */
  {
    const char *const args[] = { "sync", "--json", NULL };
    g_autoptr(JTestRun) run = conc_run (round, CMD_OTHER, NULL, args);

    if (run->status != 0)
      conc_exit_violation (round, P_FINAL_SYNC, "the last sync", run);
  }
  conc_check_end (round);
  conc_count_logs (round->program->data, &logs_after, &folders_after);
  round->figures.files_made = logs_after - logs_before;
  round->figures.folders_made = folders_after - folders_before;

  {
    GString *broken = g_string_new (NULL);

    for (guint p = 0; p < N_PROMISES; p++)
      if (round->violated[p] > 0)
        g_string_append_printf (broken, " %s×%u", promises[p].path
                                                    + strlen ("/concurrency/"),
                                round->violated[p]);
    g_test_message ("round %u (seed %u): %u events before, %u written by the"
                    " writers (%" G_GUINT64_FORMAT " acknowledged appends),"
                    " %" G_GUINT64_FORMAT " jsync runs, %.1f s;%s", index,
                    seed, CONC_INITIAL, round->next,
                    round->figures.acked,
                    round->figures.runs[CMD_SYNC]
                      + round->figures.runs[CMD_REBUILD]
                      + round->figures.runs[CMD_VERIFY]
                      + round->figures.runs[CMD_STATUS]
                      + round->figures.runs[CMD_APPEND]
                      + round->figures.runs[CMD_WATCH]
                      + round->figures.runs[CMD_OTHER],
                    (g_get_monotonic_time () - start) / 1e6,
                    broken->len > 0 ? broken->str
                                    : " every promise held");
    g_string_free (broken, TRUE);
  }

  /* Into the totals. */
  g_mutex_lock (&totals_lock);
  {
    Totals *f = &round->figures;

    totals.appends += f->appends;
    totals.acked += f->acked;
    totals.acked_in_cache += f->acked_in_cache;
    totals.whole += f->whole;
    totals.torn += f->torn;
    totals.replacements += f->replacements;
    totals.replaced_lines += f->replaced_lines;
    totals.new_logs += f->new_logs;
    totals.new_log_lines += f->new_log_lines;
    totals.copies += f->copies;
    totals.variants += f->variants;
    totals.files_made += f->files_made;
    totals.folders_made += f->folders_made;
    for (guint c = 0; c < N_CMDS; c++)
      {
        totals.runs[c] += f->runs[c];
        for (guint e = 0; e < N_EXITS; e++)
          totals.exits[c][e] += f->exits[c][e];
      }
    totals.double_rebuilds += f->double_rebuilds;
    totals.watch_syncs += f->watch_syncs;
    totals.overlapped += f->overlapped;
    totals.max_alive = MAX (totals.max_alive, f->max_alive);
    totals.reader_checks += f->reader_checks;
    for (guint p = 0; p < N_PROMISES; p++)
      totals.rounds_violated[p] += round->violated[p] > 0;
    if (round->violated[P_COMPLETE] > 0 || round->violated[P_FRESH_EQUAL] > 0
        || round->violated[P_VERIFY_END] > 0)
      totals.verify4_wrong += round->violated[P_VERIFY_FALSE];
  }
  totals.rounds++;
  g_mutex_unlock (&totals_lock);

  g_mutex_clear (&round->lock);
  g_hash_table_unref (round->file_locks);
  g_ptr_array_unref (round->files);
  g_hash_table_unref (round->files_set);
  g_ptr_array_unref (round->written);
  g_hash_table_unref (round->how);
  g_ptr_array_unref (round->acked);
  g_hash_table_unref (round->remap);
  g_ptr_array_unref (round->pool);
  g_ptr_array_unref (round->events);
  g_free (round->config);
  program_free (round->program);
}

static void
conc_print_figures (void)
{
  GString *runs = g_string_new (NULL);
  guint64 all = 0;

  for (guint c = 0; c < N_CMDS; c++)
    {
      all += totals.runs[c];
      g_string_append_printf (runs, "%s%s %" G_GUINT64_FORMAT " (exit",
                              c > 0 ? ", " : "", command_names[c],
                              totals.runs[c]);
      for (guint e = 0; e < N_EXITS; e++)
        if (totals.exits[c][e] > 0)
          {
            if (e < N_EXITS - 1)
              g_string_append_printf (runs, " %u×%" G_GUINT64_FORMAT, e,
                                      totals.exits[c][e]);
            else
              g_string_append_printf (runs, " other×%" G_GUINT64_FORMAT,
                                      totals.exits[c][e]);
          }
      g_string_append_c (runs, ')');
    }
  g_test_message ("concurrency: %u rounds from seed %u, %.1f s; %"
                  G_GUINT64_FORMAT " events in the logs before the rounds"
                  " started; written during them: %" G_GUINT64_FORMAT
                  " by `jsync append` (%" G_GUINT64_FORMAT " acknowledged, %"
                  G_GUINT64_FORMAT " of them found in the cache at once), %"
                  G_GUINT64_FORMAT " whole lines, %" G_GUINT64_FORMAT
                  " torn lines, %" G_GUINT64_FORMAT " by %" G_GUINT64_FORMAT
                  " replacements, %" G_GUINT64_FORMAT " in %" G_GUINT64_FORMAT
                  " new logs, %" G_GUINT64_FORMAT " copies in other logs (%"
                  G_GUINT64_FORMAT " differing); %" G_GUINT64_FORMAT
                  " logs and %" G_GUINT64_FORMAT " folders made during the"
                  " rounds; %" G_GUINT64_FORMAT " distinct events at the end",
                  totals.rounds, totals.first_seed, totals.wall / 1e6,
                  totals.initial_events, totals.appends, totals.acked,
                  totals.acked_in_cache, totals.whole, totals.torn,
                  totals.replaced_lines, totals.replacements,
                  totals.new_log_lines, totals.new_logs, totals.copies,
                  totals.variants, totals.files_made, totals.folders_made,
                  totals.final_events);
  g_test_message ("concurrency: %" G_GUINT64_FORMAT " jsync runs: %s; %"
                  G_GUINT64_FORMAT " of them started while another ran, up"
                  " to %u at once; %" G_GUINT64_FORMAT " rebuilds two at"
                  " once; %" G_GUINT64_FORMAT " syncs by watch; %"
                  G_GUINT64_FORMAT " checks of the cache with SQLite alone",
                  all, runs->str, totals.overlapped, totals.max_alive,
                  totals.double_rebuilds, totals.watch_syncs,
                  totals.reader_checks);
  g_string_free (runs, TRUE);
  for (guint p = 0; p < N_PROMISES; p++)
    g_test_message ("concurrency: %-45s %s", promises[p].path,
                    totals.violations[p] == 0
                      ? "held"
                      : "BROKEN");
}

static void
conc_ensure_rounds (void)
{
  const char *seed_text = g_getenv ("JSYNC_TEST_SEED");
  guint rounds = MAX ((guint) (CONC_ROUNDS * history_test_scale () + 0.5), 1);
  gint64 start = g_get_monotonic_time ();
  guint32 seed;

  if (rounds_done)
    return;
  rounds_done = TRUE;
  if (g_getenv ("ASAN_OPTIONS") != NULL || g_getenv ("TSAN_OPTIONS") != NULL)
    conc_slow = 4;
  {
    const char *text = g_getenv ("JSYNC_TEST_CONCURRENCY_SKIP");
    g_auto(GStrv) skip = g_strsplit (text != NULL ? text : "", ",", -1);

    skip_sync = g_strv_contains ((const char *const *) skip, "sync");
    skip_watch = g_strv_contains ((const char *const *) skip, "watch");
    skip_rebuild = g_strv_contains ((const char *const *) skip, "rebuild");
    skip_double = g_strv_contains ((const char *const *) skip, "double-rebuild");
    skip_verify = g_strv_contains ((const char *const *) skip, "verify");
    skip_status = g_strv_contains ((const char *const *) skip, "status");
    skip_reader = g_strv_contains ((const char *const *) skip, "reader");
    if (text != NULL && *text != '\0')
      g_test_message ("concurrency: without %s (JSYNC_TEST_CONCURRENCY_SKIP)",
                      text);
  }
  seed = seed_text != NULL ? (guint32) g_ascii_strtoull (seed_text, NULL, 10)
                           : (guint32) g_random_int_range (1, 1000000);
  totals.first_seed = seed;
  g_test_message ("concurrency: %u rounds from seed %u"
                  " (JSYNC_TEST_SEED=%u replays the data and choices)",
                  rounds, seed, seed);
  for (guint i = 0; i < rounds; i++)
    conc_round (i, seed + i);
  totals.wall = g_get_monotonic_time () - start;
  conc_print_figures ();
}

static void
test_rounds (void)
{
  conc_ensure_rounds ();
}

static void
test_promise (gconstpointer data)
{
  Promise promise = GPOINTER_TO_UINT (data);

  conc_ensure_rounds ();
  if (totals.violations[promise] == 0)
    return;
  g_test_message ("BROKEN: %s", promises[promise].promise);
  for (guint i = 0; i < totals.examples[promise]->len; i++)
    g_test_message ("  %s", (char *) totals.examples[promise]->pdata[i]);
  if (totals.violations[promise] > totals.examples[promise]->len)
    g_test_message ("  (and %u more)",
                    totals.violations[promise] - totals.examples[promise]->len);
  if (promise == P_VERIFY_FALSE && totals.verify4_wrong > 0)
    g_test_message ("  (%" G_GUINT64_FORMAT " of these in rounds whose cache"
                    " was found wrong at the end too: those may have seen a"
                    " real difference)", totals.verify4_wrong);
  g_test_fail_printf ("%s: %u violation(s), in %u of %u rounds",
                      promises[promise].promise, totals.violations[promise],
                      totals.rounds_violated[promise], totals.rounds);
}

/* SQLite's own account of an I/O error or damage the reader met. */
static void
conc_sqlite_log (void *data, int code, const char *message)
{
  if ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CORRUPT)
    g_printerr ("# sqlite (%d): %s\n", code, message);
}

int
main (int argc, char **argv)
{
  /* Every promise's case runs, whichever broke before it. */
  g_autofree char **args = g_new0 (char *, argc + 2);

  memcpy (args, argv, argc * sizeof (char *));
  args[argc++] = (char *) "--keep-going";
  argv = args;
  sqlite3_config (SQLITE_CONFIG_LOG, conc_sqlite_log, NULL);
  jtest_init (&argc, &argv);

  g_test_add_func ("/concurrency/rounds", test_rounds);
  for (guint p = 0; p < N_PROMISES; p++)
    g_test_add_data_func (promises[p].path, GUINT_TO_POINTER (p),
                          test_promise);
  return g_test_run ();
}
