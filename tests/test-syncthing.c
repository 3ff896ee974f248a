/* test-syncthing.c: jsync under a real file-sync tool, end to end.
 *
 * Two Syncthing instances on this machine (devices "a" and "b", each with
 * its own home made by `syncthing generate`) share one folder over
 * loopback alone: explicit tcp://127.0.0.1:PORT addresses, and global and
 * local discovery, relays, NAT traversal, STUN, crash and usage reporting
 * and upgrades all off; the REST API listens on 127.0.0.1 and is spoken to
 * by a small HTTP/1.1 client over GIO with no proxy.  On each device
 * `jsync watch` follows the folder with a cache of its own (outside the
 * folder) and a device id of its own; meanwhile writers on both devices
 * add events through `jsync append` to the same few logs for about 60 s
 * (JSYNC_TEST_SCALE scales it, 10 s at least), so that Syncthing makes
 * real conflict copies (`log-0.sync-conflict-<date>-<time>-<device>.jsonl`),
 * which jsync reads as logs too.  Every event an append acknowledged (exit
 * 0, its id printed) is recorded, and checked in its cache as soon as the
 * append returns.
 *
 * Then the writers stop and the test waits for Syncthing to settle: each
 * side rescanned (POST /rest/db/scan, which returns once the scan is
 * done), "idle", nothing needed, no pull errors, the other device
 * connected, 100% complete with the other's whole index (its sequence),
 * and the two folders holding the same files with the same bytes, all of
 * it unchanged for QUIET_SECONDS.  Both Syncthings stop (the folder can no
 * longer change), each watch stops on SIGTERM (exit 0), and a last `jsync
 * sync` runs per side.
 *
 * What must hold, on each side:
 *   - every event that side acknowledged is in its cache, applied, as soon
 *     as append returns and at the end, also when it is in no log any more
 *     (Syncthing writing two conflict copies of one file within one second
 *     gives both one name, the second overwriting the first, and an event
 *     only the first held leaves every log; jsync keeps it and reports it
 *     lost).  The other side may never have seen such an event: it is
 *     held to the logs' events alone;
 *   - every event of the folder's logs is in the cache, and the cache holds
 *     nothing else than those and the events it reports lost;
 *   - every lost report (`jsync status --json`) is true: the id is in no
 *     log of the folder;
 *   - the cache's rows (`jsync dump`) equal a fresh cache of the folder's
 *     logs, but for the lost events' rows, and the two caches agree on
 *     every row but those of events only one of them reports lost;
 *   - `jsync verify` finds no difference.
 * A failed check does not stop the others: each is counted, with
 * examples, and the test fails once at the end naming them.  Figures go
 * to the TAP log: events acknowledged per side, conflict copies, lost
 * reports, how long Syncthing took to settle.
 *
 * Skipped (TAP SKIP) when `syncthing` is not on PATH.  Syncthing and the
 * watches are stopped on every path: the fixture's teardown, and on a
 * fatal assertion or SIGTERM a signal handler (they also get
 * PR_SET_PDEATHSIG).  JSYNC_SYNCTHING_KEEP=DIR copies the scratch folder
 * (both folders, caches, Syncthing homes and logs, the acknowledged ids,
 * report.txt) to DIR when the test fails.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "jsync-test.h"

#define FOLDER_ID "jsync-e2e"
#define WRITERS_PER_SIDE 2
#define APPEND_SECONDS 60       /* at JSYNC_TEST_SCALE=1 */
#define APPEND_SECONDS_MIN 10
#define PAUSE_MAX_MS 40         /* a writer's pause between appends */
#define START_DEADLINE 60       /* s: REST up, connected, initial scans */
#define SETTLE_DEADLINE 120     /* s */
#define QUIET_SECONDS 5
#define STOP_DEADLINE 30        /* s: a process asked to stop */
#define REST_TIMEOUT 60         /* s: one REST call (a scan can take a while) */
#define EXAMPLES 8              /* examples printed per failed check */

/* The logs both devices write (a nested one: new folders are followed). */
static const char *const logs[] = {
  "log-0.jsonl", "log-1.jsonl", "log-2.jsonl", "sub/log-3.jsonl",
};

/* One `jsync append`. */
typedef struct
{
  char *id;                     /* owned, nullable: the printed id */
  const char *log;              /* static */
  int status;                   /* exit status, -1 when it did not exit */
  gint64 start;                 /* ms, wall clock */
  gint64 end;
  int cached;                   /* in the cache, applied, when it returned:
                                 * 1 yes, 0 no, -1 the cache could not be
                                 * read */
  char *err;                    /* owned, nullable: its stderr */
  char *lost;                   /* owned, nullable: its sync's lost reports,
                                 * {"lostEvents":[...]} */
} Append;

typedef struct _Fixture Fixture;

typedef struct
{
  char name[2];                 /* "a", "b" */
  char *dir;                    /* owned: root/NAME */
  char *home;                   /* owned: dir/syncthing (config, keys, index) */
  char *data;                   /* owned: dir/data, the shared folder */
  char *db;                     /* owned: dir/cache.db, the watch's cache */
  char *fresh;                  /* owned: dir/fresh.db, built at the end */
  char *conf;                   /* owned: dir/jsync.conf (device-id) */
  char *st_log;                 /* owned: dir/syncthing.log */
  char *watch_out;              /* owned: dir/watch.out (--json lines) */
  char *watch_err;              /* owned: dir/watch.err */
  char *device;                 /* owned: Syncthing's device id */
  char *api_key;                /* owned */
  char *config_version;         /* owned: of the generated config.xml */
  guint16 port;                 /* Syncthing's listen port */
  guint16 gui_port;             /* its REST API's */
  GSubprocess *syncthing;       /* owned, nullable */
  GSubprocess *watch;           /* owned, nullable */
  GPtrArray *appends;           /* Append *, owned: every append, merged */
  GHashTable *acked;            /* id → Append * (borrowed): exit 0 */
} Side;

typedef struct
{
  Fixture *f;
  Side *side;
  guint index;
  guint32 seed;
  gint64 end;                   /* monotonic µs */
  GPtrArray *appends;           /* Append *, owned */
  GThread *thread;
} Writer;

/* A property that must hold, with its violations. */
typedef struct
{
  const char *name;
  const char *what;
  guint count;
  GString *examples;
} Check;

struct _Fixture
{
  char *root;                   /* owned: the scratch folder */
  char *plugins;                /* owned: root/plugins: echo.so */
  char *syncthing;              /* owned, nullable: the program */
  char **env;                   /* owned: jsync's environment */
  char **st_env;                /* owned: Syncthing's */
  Side sides[2];
  Writer writers[2 * WRITERS_PER_SIDE];
  gint stopping;                /* atomic: writers stop early */
  GString *report;              /* owned: report.txt */
  GPtrArray *checks;            /* Check *, owned */
};

/* --- Cleanup on fatal paths ----------------------------------------------- */

/* What the signal handler kills and removes (async-signal-safe use only:
 * kill, waitpid, fork, execv, _exit): Syncthing's process groups (slots 0
 * and 1) and the watches (2 and 3). */
static volatile pid_t fatal_pids[4];
static volatile gint *fatal_stopping;   /* the writers' flag */
static char **fatal_rm_argv;    /* rm -rf ROOT, or NULL */
static char **fatal_cp_argv;    /* cp -a ROOT KEEP, or NULL */
static struct sigaction fatal_previous[4];
static const int fatal_signals[4] = { SIGABRT, SIGTERM, SIGINT, SIGHUP };

static void
fatal_run (char **argv)
{
  pid_t child;

  if (argv == NULL)
    return;
  child = fork ();
  if (child == 0)
    {
      execv (argv[0], argv);
      _exit (127);
    }
  if (child > 0)
    while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
      ;
}

static void
fatal_signal (int signal_number)
{
  struct timespec pause = { 0, 300 * 1000 * 1000 };

  /* No new append; the one under way in each writer ends (or would
   * make its cache again after the removal). */
  if (fatal_stopping != NULL)
    *fatal_stopping = 1;
  for (guint i = 0; i < G_N_ELEMENTS (fatal_pids); i++)
    if (fatal_pids[i] > 0)
      {
        if (i < 2)
          kill (-fatal_pids[i], SIGKILL);
        kill (fatal_pids[i], SIGKILL);
      }
  for (guint i = 0; i < G_N_ELEMENTS (fatal_pids); i++)
    if (fatal_pids[i] > 0)
      while (waitpid (fatal_pids[i], NULL, 0) < 0 && errno == EINTR)
        ;
  while (nanosleep (&pause, &pause) < 0 && errno == EINTR)
    ;
  fatal_run (fatal_cp_argv);
  fatal_run (fatal_rm_argv);
  signal (signal_number, SIG_DFL);
  raise (signal_number);
}

static void
fatal_install (Fixture *f)
{
  struct sigaction action = { 0 };
  const char *keep = g_getenv ("JSYNC_SYNCTHING_KEEP");
  g_autofree char *rm = g_find_program_in_path ("rm");
  g_autofree char *cp = g_find_program_in_path ("cp");

  if (rm != NULL)
    {
      const char *argv[] = { rm, "-rf", f->root, NULL };

      fatal_rm_argv = g_strdupv ((char **) argv);
    }
  if (cp != NULL && keep != NULL && *keep != '\0')
    {
      const char *argv[] = { cp, "-a", f->root, keep, NULL };

      fatal_cp_argv = g_strdupv ((char **) argv);
    }
  fatal_stopping = &f->stopping;
  action.sa_handler = fatal_signal;
  sigemptyset (&action.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &action, &fatal_previous[i]);
}

static void
fatal_uninstall (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &fatal_previous[i], NULL);
  for (guint i = 0; i < G_N_ELEMENTS (fatal_pids); i++)
    fatal_pids[i] = 0;
  fatal_stopping = NULL;
  g_clear_pointer (&fatal_rm_argv, g_strfreev);
  g_clear_pointer (&fatal_cp_argv, g_strfreev);
}

static void
fatal_track (guint slot, GSubprocess *process)
{
  const char *identifier = g_subprocess_get_identifier (process);

  fatal_pids[slot] = identifier != NULL ? (pid_t) atoi (identifier) : 0;
}

/* In each long-lived child: die with the test. */
static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Syncthing: also a process group of its own, stopped as a whole (a
 * monitor and its child, or a wrapper and Syncthing). */
static void
child_setup_group (gpointer user_data)
{
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* --- Files ---------------------------------------------------------------- */

static char *
read_text (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
write_text (const char *path, const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* The last `lines` lines of a file, for messages. */
static char *
tail_text (const char *path, guint lines)
{
  g_autofree char *text = read_text (path);
  const char *start = text + strlen (text);

  while (start > text && lines > 0)
    {
      start--;
      if (*start == '\n' && start[1] != '\0')
        lines--;
    }
  return g_strdup (start);
}

/* "path size sha256" per visible file, one a line, sorted (Syncthing's
 * marker and temporary files are hidden, and jsync reads no hidden name
 * either). */
static char *
tree_fingerprint (const char *top)
{
  g_autoptr(GPtrArray) paths = jtest_tree_files (top, FALSE);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *path = g_build_filename (top, paths->pdata[i], NULL);
      g_autofree char *contents = NULL;
      g_autofree char *sum = NULL;
      gsize length = 0;

      if (!g_file_get_contents (path, &contents, &length, NULL))
        {
          g_string_append_printf (text, "%s (unreadable)\n",
                                  (char *) paths->pdata[i]);
          continue;
        }
      sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                         (const guchar *) contents, length);
      g_string_append_printf (text, "%s %" G_GSIZE_FORMAT " %s\n",
                              (char *) paths->pdata[i], length, sum);
    }
  return g_string_free (text, FALSE);
}

/* The first lines in which two fingerprints differ, for messages. */
static char *
fingerprint_difference (const char *a, const char *b, const char *label_a,
                        const char *label_b)
{
  g_auto(GStrv) x = g_strsplit (a, "\n", -1);
  g_auto(GStrv) y = g_strsplit (b, "\n", -1);
  g_autoptr(GHashTable) in_y = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) in_x = g_hash_table_new (g_str_hash, g_str_equal);
  GString *text = g_string_new (NULL);
  guint shown = 0;

  for (guint i = 0; y[i] != NULL; i++)
    g_hash_table_add (in_y, y[i]);
  for (guint i = 0; x[i] != NULL; i++)
    g_hash_table_add (in_x, x[i]);
  for (guint i = 0; x[i] != NULL && shown < 6; i++)
    if (*x[i] != '\0' && !g_hash_table_contains (in_y, x[i]))
      {
        g_string_append_printf (text, "\n    only in %s: %s", label_a, x[i]);
        shown++;
      }
  for (guint i = 0; y[i] != NULL && shown < 12; i++)
    if (*y[i] != '\0' && !g_hash_table_contains (in_x, y[i]))
      {
        g_string_append_printf (text, "\n    only in %s: %s", label_b, y[i]);
        shown++;
      }
  return g_string_free (text, FALSE);
}

/* --- Checks --------------------------------------------------------------- */

static void
check_free (gpointer data)
{
  Check *check = data;

  g_string_free (check->examples, TRUE);
  g_free (check);
}

static Check *
check_new (Fixture *f, const char *name, const char *what)
{
  Check *check = g_new0 (Check, 1);

  check->name = name;
  check->what = what;
  check->examples = g_string_new (NULL);
  g_ptr_array_add (f->checks, check);
  return check;
}

static void check_fail (Check *check, const char *format, ...)
  G_GNUC_PRINTF (2, 3);

static void
check_fail (Check *check, const char *format, ...)
{
  va_list args;

  check->count++;
  if (check->count > EXAMPLES)
    return;
  va_start (args, format);
  g_string_append (check->examples, "\n    ");
  g_string_append_vprintf (check->examples, format, args);
  va_end (args);
}

static void report (Fixture *f, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A line for the TAP log and report.txt. */
static void
report (Fixture *f, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("%s", line);
  g_string_append_printf (f->report, "%s\n", line);
}

/* --- Fixture -------------------------------------------------------------- */

static char **
environ_without_proxies (char **env)
{
  g_auto(GStrv) names = g_listenv ();

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (names[i], -1);

      if (g_str_has_suffix (lower, "_proxy"))
        env = g_environ_unsetenv (env, names[i]);
    }
  return env;
}

static void
append_free (gpointer data)
{
  Append *append = data;

  g_free (append->id);
  g_free (append->err);
  g_free (append->lost);
  g_free (append);
}

static void
side_init (Fixture *f, Side *side, const char *name)
{
  g_strlcpy (side->name, name, sizeof side->name);
  side->dir = g_build_filename (f->root, name, NULL);
  side->home = g_build_filename (side->dir, "syncthing", NULL);
  side->data = g_build_filename (side->dir, "data", NULL);
  side->db = g_build_filename (side->dir, "cache.db", NULL);
  side->fresh = g_build_filename (side->dir, "fresh.db", NULL);
  side->conf = g_build_filename (side->dir, "jsync.conf", NULL);
  side->st_log = g_build_filename (side->dir, "syncthing.log", NULL);
  side->watch_out = g_build_filename (side->dir, "watch.out", NULL);
  side->watch_err = g_build_filename (side->dir, "watch.err", NULL);
  side->appends = g_ptr_array_new_with_free_func (append_free);
  side->acked = g_hash_table_new (g_str_hash, g_str_equal);
  g_assert_cmpint (g_mkdir_with_parents (side->data, 0755), ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  static const char *const echo[] = { "echo", NULL };
  g_autofree char *home = NULL;

  f->root = jtest_tree_make (NULL, "jsync-syncthing");
  f->plugins = g_build_filename (f->root, "plugins", NULL);
  f->report = g_string_new (NULL);
  f->checks = g_ptr_array_new_with_free_func (check_free);
  jtest_copy_fixture_plugins ("", f->plugins, echo);

  /* Every child's home and XDG folders are in the scratch folder. */
  home = g_build_filename (f->root, "home", NULL);
  g_assert_cmpint (g_mkdir (home, 0700), ==, 0);
  f->env = environ_without_proxies (g_get_environ ());
  f->env = g_environ_setenv (f->env, "HOME", home, TRUE);
  {
    static const char *const xdg[][2] = {
      { "XDG_CONFIG_HOME", "config" }, { "XDG_CACHE_HOME", "cache" },
      { "XDG_DATA_HOME", "share" }, { "XDG_STATE_HOME", "state" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (xdg); i++)
      {
        g_autofree char *path = g_build_filename (home, xdg[i][1], NULL);

        f->env = g_environ_setenv (f->env, xdg[i][0], path, TRUE);
      }
  }
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", f->plugins, TRUE);

  /* Syncthing: none of the caller's ST* settings (STGUIADDRESS and
   * STGUIAPIKEY would override the config), no proxy (Go dials through
   * ALL_PROXY), no default folder, no upgrades, and one process: with
   * STMONITORED set, `serve` is the syncer itself, not a monitor that
   * restarts a child (v1.19 keeps the monitor even with --no-restart). */
  f->st_env = g_strdupv (f->env);
  {
    g_auto(GStrv) names = g_listenv ();

    for (guint i = 0; names[i] != NULL; i++)
      if (g_str_has_prefix (names[i], "ST") && g_ascii_isupper (names[i][2]))
        f->st_env = g_environ_unsetenv (f->st_env, names[i]);
  }
  f->st_env = g_environ_setenv (f->st_env, "STNODEFAULTFOLDER", "1", TRUE);
  f->st_env = g_environ_setenv (f->st_env, "STNOUPGRADE", "1", TRUE);
  f->st_env = g_environ_setenv (f->st_env, "STNORESTART", "1", TRUE);
  f->st_env = g_environ_setenv (f->st_env, "STMONITORED", "yes", TRUE);

  side_init (f, &f->sides[0], "a");
  side_init (f, &f->sides[1], "b");
  f->syncthing = g_find_program_in_path ("syncthing");
  fatal_install (f);
}

/* Ask a process (with `group`, its whole process group) to stop; kill
 * it after STOP_DEADLINE. */
static void
process_stop (GSubprocess *process, int signal_number, gboolean group)
{
  gint64 deadline = g_get_monotonic_time () + STOP_DEADLINE * G_USEC_PER_SEC;
  const char *identifier = g_subprocess_get_identifier (process);
  pid_t pid = identifier != NULL ? (pid_t) atoi (identifier) : 0;

  if (pid > 0)
    {
      kill (group ? -pid : pid, signal_number);
      while (g_subprocess_get_identifier (process) != NULL
             && g_get_monotonic_time () < deadline)
        g_usleep (20000);
      if (g_subprocess_get_identifier (process) != NULL)
        {
          g_test_message ("%s did not stop in %d s: killed",
                          group ? "syncthing" : "jsync watch", STOP_DEADLINE);
          kill (group ? -pid : pid, SIGKILL);
        }
      g_subprocess_wait (process, NULL, NULL);
    }
  /* What the group leader left behind. */
  if (group && pid > 0)
    kill (-pid, SIGKILL);
}

static void
side_clear (Side *side)
{
  g_free (side->dir);
  g_free (side->home);
  g_free (side->data);
  g_free (side->db);
  g_free (side->fresh);
  g_free (side->conf);
  g_free (side->st_log);
  g_free (side->watch_out);
  g_free (side->watch_err);
  g_free (side->device);
  g_free (side->api_key);
  g_free (side->config_version);
  g_hash_table_unref (side->acked);
  g_ptr_array_unref (side->appends);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  const char *keep = g_getenv ("JSYNC_SYNCTHING_KEEP");

  g_atomic_int_set (&f->stopping, 1);
  for (guint i = 0; i < G_N_ELEMENTS (f->writers); i++)
    if (f->writers[i].thread != NULL)
      {
        g_thread_join (f->writers[i].thread);
        g_ptr_array_unref (f->writers[i].appends);
      }
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &f->sides[i];

      if (side->watch != NULL)
        process_stop (side->watch, SIGKILL, FALSE);
      if (side->syncthing != NULL)
        process_stop (side->syncthing, SIGTERM, TRUE);
      g_clear_object (&side->watch);
      g_clear_object (&side->syncthing);
    }
  fatal_uninstall ();

  if (f->report->len > 0)
    {
      g_autofree char *path = g_build_filename (f->root, "report.txt", NULL);

      write_text (path, f->report->str);
    }
  if (g_test_failed () && keep != NULL && *keep != '\0')
    {
      g_autofree char *cp = g_find_program_in_path ("cp");
      const char *argv[] = { cp, "-a", f->root, keep, NULL };
      g_autoptr(GError) error = NULL;
      int status = 0;

      if (cp != NULL
          && g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL,
                           NULL, NULL, NULL, &status, &error)
          && g_spawn_check_wait_status (status, NULL))
        g_test_message ("the failed run's folders and caches are in %s", keep);
      else
        g_test_message ("could not copy %s to %s: %s", f->root, keep,
                        error != NULL ? error->message : "cp failed");
    }
  jtest_tree_remove (f->root);
  side_clear (&f->sides[0]);
  side_clear (&f->sides[1]);
  g_free (f->root);
  g_free (f->plugins);
  g_free (f->syncthing);
  g_strfreev (f->env);
  g_strfreev (f->st_env);
  g_string_free (f->report, TRUE);
  g_ptr_array_unref (f->checks);
}

/* --- The REST API: HTTP/1.1 over loopback --------------------------------- */

/* Decode a chunked body in place; FALSE when it is malformed. */
static gboolean
http_dechunk (GByteArray *body)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize at = 0;

  for (;;)
    {
      const char *text = (const char *) body->data + at;
      const char *line_end = g_strstr_len (text, body->len - at, "\r\n");
      guint64 size;
      char *end = NULL;

      if (line_end == NULL)
        return FALSE;
      size = g_ascii_strtoull (text, &end, 16);
      if (end == text)
        return FALSE;
      at += line_end - text + 2;
      if (size == 0)
        break;
      if (at + size + 2 > body->len)
        return FALSE;
      g_byte_array_append (out, body->data + at, size);
      at += size + 2;
    }
  g_byte_array_set_size (body, 0);
  g_byte_array_append (body, out->data, out->len);
  return TRUE;
}

/* One request to a side's REST API; *json gets the body parsed (NULL when
 * empty).  FALSE with `error` set on any failure or a status other than
 * 200. */
static gboolean
rest_call (Side *side, const char *method, const char *path, json_object **json,
           GError **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (
      "127.0.0.1", side->gui_port);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GByteArray) response = g_byte_array_new ();
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autofree char *request = NULL;
  g_autofree char *headers = NULL;
  g_autofree char *lower = NULL;
  const char *split;
  GInputStream *in;
  guint status = 0;
  guint8 buffer[16384];

  *json = NULL;
  /* Loopback and nothing else: no proxy, whatever the environment says. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, REST_TIMEOUT);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                        NULL, error);
  if (connection == NULL)
    return FALSE;
  request = g_strdup_printf ("%s %s HTTP/1.1\r\n"
                             "Host: 127.0.0.1:%u\r\n"
                             "X-API-Key: %s\r\n"
                             "Content-Length: 0\r\n"
                             "Connection: close\r\n\r\n",
                             method, path, side->gui_port, side->api_key);
  if (!g_output_stream_write_all (
          g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
          strlen (request), NULL, NULL, error))
    return FALSE;
  in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  for (;;)
    {
      gssize n = g_input_stream_read (in, buffer, sizeof buffer, NULL, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      g_byte_array_append (response, buffer, n);
    }

  split = g_strstr_len ((const char *) response->data, response->len,
                        "\r\n\r\n");
  if (split == NULL
      || sscanf ((const char *) response->data, "HTTP/1.%*d %u", &status) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s %s: not an HTTP response (%u bytes)", method, path,
                   response->len);
      return FALSE;
    }
  headers = g_strndup ((const char *) response->data,
                       split - (const char *) response->data);
  lower = g_ascii_strdown (headers, -1);
  g_byte_array_append (body, (const guint8 *) split + 4,
                       response->len - (split + 4
                                        - (const char *) response->data));
  if (strstr (lower, "\r\ntransfer-encoding: chunked") != NULL
      && !http_dechunk (body))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s %s: malformed chunked body", method, path);
      return FALSE;
    }
  g_byte_array_append (body, (const guint8 *) "", 1);
  if (status != 200)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s: HTTP %u: %s",
                   method, path, status, (const char *) body->data);
      return FALSE;
    }
  if (body->len > 1)
    {
      *json = json_tokener_parse ((const char *) body->data);
      if (*json == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s %s: not JSON: %.200s", method, path,
                       (const char *) body->data);
          return FALSE;
        }
    }
  return TRUE;
}

static json_object *
member (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (object == NULL || !json_object_object_get_ex (object, key, &value))
    return NULL;
  return value;
}

static gint64
member_int (json_object *object, const char *key, gint64 missing)
{
  json_object *value = member (object, key);

  return value != NULL ? json_object_get_int64 (value) : missing;
}

static const char *
member_str (json_object *object, const char *key)
{
  json_object *value = member (object, key);

  return value != NULL && json_object_is_type (value, json_type_string)
           ? json_object_get_string (value) : NULL;
}

/* --- Syncthing ------------------------------------------------------------ */

static guint16
pick_port (GPtrArray *held)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new_from_string (
      "127.0.0.1", 0);
  g_autoptr(GSocketAddress) bound = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  /* Held until every port is picked, so that no two are the same. */
  g_ptr_array_add (held, socket);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* The text between `before` and the next `after` in `text`. */
static char *
text_between (const char *text, const char *before, const char *after)
{
  const char *start = strstr (text, before);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen (before);
  end = strstr (start, after);
  return end != NULL ? g_strndup (start, end - start) : NULL;
}

/* Keys and a first config by `syncthing generate`; our device id and the
 * config's version from it. */
static void
syncthing_generate (Fixture *f, Side *side)
{
  g_autofree char *home = g_strconcat ("--home=", side->home, NULL);
  const char *argv[] = { f->syncthing, "generate", home, "--skip-port-probing",
                         "--no-default-folder", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *config_path = g_build_filename (side->home, "config.xml",
                                                   NULL);
  g_autofree char *config = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (side->dir, (char **) argv, f->st_env, G_SPAWN_DEFAULT, NULL,
                NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("syncthing generate:\n%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  config = read_text (config_path);
  side->device = text_between (config, "<device id=\"", "\"");
  side->config_version = text_between (config, "<configuration version=\"",
                                       "\"");
  g_assert_nonnull (side->device);
  g_assert_nonnull (side->config_version);
  side->api_key = g_strdup_printf ("jsync-e2e-%s-%08x", side->name,
                                   g_test_rand_int ());
}

static void
append_device (GString *xml, Side *side)
{
  g_string_append_printf (xml,
      "    <device id=\"%s\" name=\"%s\" compression=\"metadata\""
      " introducer=\"false\">\n"
      "        <address>tcp://127.0.0.1:%u</address>\n"
      "        <paused>false</paused>\n"
      "        <autoAcceptFolders>false</autoAcceptFolders>\n"
      "    </device>\n",
      side->device, side->name, side->port);
}

/* Our config.xml: the one folder shared with the other device at its
 * loopback address, and every feature that could reach past loopback
 * off. */
static void
syncthing_configure (Side *side, Side *other)
{
  g_autofree char *path = g_markup_escape_text (side->data, -1);
  g_autofree char *config_path = g_build_filename (side->home, "config.xml",
                                                   NULL);
  g_autoptr(GString) xml = g_string_new (NULL);

  g_string_append_printf (xml,
      "<configuration version=\"%s\">\n"
      "    <folder id=\"" FOLDER_ID "\" label=\"" FOLDER_ID "\" path=\"%s\""
      " type=\"sendreceive\" rescanIntervalS=\"10\" fsWatcherEnabled=\"true\""
      " fsWatcherDelayS=\"1\" ignorePerms=\"true\" autoNormalize=\"true\">\n"
      "        <filesystemType>basic</filesystemType>\n"
      "        <device id=\"%s\" introducedBy=\"\"></device>\n"
      "        <device id=\"%s\" introducedBy=\"\"></device>\n"
      "        <minDiskFree unit=\"%%\">0</minDiskFree>\n"
      /* Keep every conflict copy (the default, 10, deletes older ones). */
      "        <maxConflicts>-1</maxConflicts>\n"
      /* Retry a failed pull after 1 s, not 60 (the back-off doubles). */
      "        <pullerPauseS>1</pullerPauseS>\n"
      "        <markerName>.stfolder</markerName>\n"
      "    </folder>\n",
      side->config_version, path, side->device, other->device);
  append_device (xml, side);
  append_device (xml, other);
  g_string_append_printf (xml,
      "    <gui enabled=\"true\" tls=\"false\" debugging=\"false\">\n"
      "        <address>127.0.0.1:%u</address>\n"
      "        <apikey>%s</apikey>\n"
      "    </gui>\n"
      "    <options>\n"
      "        <listenAddress>tcp://127.0.0.1:%u</listenAddress>\n"
      "        <globalAnnounceEnabled>false</globalAnnounceEnabled>\n"
      "        <localAnnounceEnabled>false</localAnnounceEnabled>\n"
      "        <relaysEnabled>false</relaysEnabled>\n"
      "        <natEnabled>false</natEnabled>\n"
      "        <stunKeepaliveStartS>0</stunKeepaliveStartS>\n"
      "        <stunKeepaliveMinS>0</stunKeepaliveMinS>\n"
      "        <announceLANAddresses>false</announceLANAddresses>\n"
      "        <startBrowser>false</startBrowser>\n"
      "        <urAccepted>-1</urAccepted>\n"
      "        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>\n"
      "        <crashReportingEnabled>false</crashReportingEnabled>\n"
      "        <reconnectionIntervalS>1</reconnectionIntervalS>\n"
      "        <minHomeDiskFree unit=\"%%\">0</minHomeDiskFree>\n"
      "        <setLowPriority>false</setLowPriority>\n"
      "    </options>\n"
      "</configuration>\n",
      side->gui_port, side->api_key, side->port);
  write_text (config_path, xml->str);
}

static void
syncthing_start (Fixture *f, Side *side, guint slot)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDIN_INHERIT | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *home = g_strconcat ("--home=", side->home, NULL);
  const char *argv[] = { f->syncthing, "serve", "--no-browser", "--no-restart",
                         "--no-upgrade", home, NULL };
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_set_environ (launcher, f->st_env);
  g_subprocess_launcher_set_cwd (launcher, side->dir);
  g_subprocess_launcher_set_stdout_file_path (launcher, side->st_log);
  g_subprocess_launcher_set_child_setup (launcher, child_setup_group, NULL,
                                         NULL);
  side->syncthing = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  fatal_track (slot, side->syncthing);
}

/* Each side's view, for the settle loop and its messages. */
typedef struct
{
  gboolean ok;                  /* every condition holds */
  gint64 sequence;              /* our local sequence */
  gint64 other_sequence;        /* the other's, as we know it */
  char *text;                   /* owned: what was seen */
} View;

static void
view_clear (View *view)
{
  g_clear_pointer (&view->text, g_free);
}

/* Scan, then read status, completion and connections of one side. */
static void
syncthing_view (Side *side, Side *other, View *view)
{
  g_autoptr(json_object) status = NULL;
  g_autoptr(json_object) completion = NULL;
  g_autoptr(json_object) connections = NULL;
  g_autoptr(json_object) scan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *completion_path = g_strdup_printf (
      "/rest/db/completion?folder=" FOLDER_ID "&device=%s", other->device);
  const char *state;
  json_object *connection;
  gboolean connected;

  view_clear (view);
  view->ok = FALSE;
  if (!rest_call (side, "POST", "/rest/db/scan?folder=" FOLDER_ID, &scan,
                  &error)
      || !rest_call (side, "GET", "/rest/db/status?folder=" FOLDER_ID, &status,
                     &error)
      || !rest_call (side, "GET", completion_path, &completion, &error)
      || !rest_call (side, "GET", "/rest/system/connections", &connections,
                     &error))
    {
      view->text = g_strdup_printf ("%s: REST: %s", side->name, error->message);
      return;
    }
  state = member_str (status, "state");
  connection = member (member (connections, "connections"), other->device);
  connected = member (connection, "connected") != NULL
              && json_object_get_boolean (member (connection, "connected"));
  view->sequence = member_int (status, "sequence", -1);
  view->other_sequence = member_int (completion, "sequence", -1);
  view->ok = g_strcmp0 (state, "idle") == 0
             && member_int (status, "needTotalItems", -1) == 0
             && member_int (status, "needBytes", -1) == 0
             && member_int (status, "pullErrors", -1) == 0
             && member_int (status, "errors", -1) == 0
             && member_int (completion, "completion", -1) == 100
             && member_int (completion, "needItems", -1) == 0
             && member_int (completion, "needDeletes", -1) == 0
             && member_int (completion, "needBytes", -1) == 0
             && connected;
  view->text = g_strdup_printf (
      "%s: state %s, need %" G_GINT64_FORMAT " items / %" G_GINT64_FORMAT
      " bytes, pull errors %" G_GINT64_FORMAT ", errors %" G_GINT64_FORMAT
      ", files %" G_GINT64_FORMAT " local / %" G_GINT64_FORMAT " global,"
      " sequence %" G_GINT64_FORMAT "; %s %s, %" G_GINT64_FORMAT "%% complete"
      " (needs %" G_GINT64_FORMAT " items), its sequence %" G_GINT64_FORMAT,
      side->name, state != NULL ? state : "?",
      member_int (status, "needTotalItems", -1),
      member_int (status, "needBytes", -1),
      member_int (status, "pullErrors", -1), member_int (status, "errors", -1),
      member_int (status, "localFiles", -1),
      member_int (status, "globalFiles", -1), view->sequence, other->name,
      connected ? "connected" : "NOT connected",
      member_int (completion, "completion", -1),
      member_int (completion, "needItems", -1), view->other_sequence);
}

/* The REST API answers (the sync listener started before it). */
static gboolean
syncthing_wait_listening (Fixture *f, Side *side, char **why)
{
  gint64 deadline = g_get_monotonic_time () + START_DEADLINE * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;

  for (;;)
    {
      g_autoptr(json_object) ping = NULL;

      g_clear_error (&error);
      if (rest_call (side, "GET", "/rest/system/ping", &ping, &error))
        return TRUE;
      if (g_subprocess_get_identifier (side->syncthing) == NULL
          || g_get_monotonic_time () > deadline)
        {
          *why = g_strdup_printf ("syncthing %s: no REST API: %s", side->name,
                                  error->message);
          return FALSE;
        }
      g_usleep (100000);
    }
}

/* REST up on both, connected to each other, initial scans done. */
static gboolean
syncthing_wait_started (Fixture *f, char **why)
{
  gint64 deadline = g_get_monotonic_time () + START_DEADLINE * G_USEC_PER_SEC;
  View views[2] = { { 0 } };
  gboolean ok = FALSE;

  while (!ok && g_get_monotonic_time () < deadline)
    {
      ok = TRUE;
      for (guint i = 0; i < 2; i++)
        {
          if (g_subprocess_get_identifier (f->sides[i].syncthing) == NULL)
            {
              *why = g_strdup_printf ("syncthing %s exited", f->sides[i].name);
              view_clear (&views[0]);
              view_clear (&views[1]);
              return FALSE;
            }
          syncthing_view (&f->sides[i], &f->sides[1 - i], &views[i]);
          ok = ok && views[i].ok;
        }
      if (!ok)
        g_usleep (250000);
    }
  if (!ok)
    *why = g_strdup_printf ("not ready in %d s:\n  %s\n  %s", START_DEADLINE,
                            views[0].text, views[1].text);
  view_clear (&views[0]);
  view_clear (&views[1]);
  return ok;
}

/* Wait until Syncthing has settled (see the head comment); FALSE with the
 * last state seen in `why` after SETTLE_DEADLINE. */
static gboolean
syncthing_settle (Fixture *f, char **fingerprint, gint64 *took, char **why)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + SETTLE_DEADLINE * G_USEC_PER_SEC;
  gint64 stable_since = 0;
  g_autofree char *last = NULL;
  View views[2] = { { 0 } };

  for (;;)
    {
      g_autofree char *print_a = NULL;
      g_autofree char *print_b = NULL;
      g_autofree char *state = NULL;
      gboolean ok = TRUE;
      gint64 now;

      for (guint i = 0; i < 2; i++)
        {
          syncthing_view (&f->sides[i], &f->sides[1 - i], &views[i]);
          ok = ok && views[i].ok;
        }
      /* Each knows the other's whole index. */
      ok = ok && views[0].other_sequence == views[1].sequence
           && views[1].other_sequence == views[0].sequence;
      print_a = tree_fingerprint (f->sides[0].data);
      print_b = tree_fingerprint (f->sides[1].data);
      ok = ok && strcmp (print_a, print_b) == 0;
      state = g_strdup_printf ("%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n%s",
                               views[0].sequence, views[1].sequence, print_a);
      now = g_get_monotonic_time ();
      if (!ok || g_strcmp0 (state, last) != 0)
        {
          stable_since = ok ? now : 0;
          g_free (last);
          last = ok ? g_steal_pointer (&state) : NULL;
        }
      else if (now - stable_since >= QUIET_SECONDS * G_USEC_PER_SEC)
        {
          *fingerprint = g_steal_pointer (&print_a);
          *took = now - start;
          view_clear (&views[0]);
          view_clear (&views[1]);
          return TRUE;
        }
      if (now > deadline)
        {
          g_autofree char *difference = fingerprint_difference (
              print_a, print_b, "a", "b");

          *why = g_strdup_printf (
              "Syncthing did not settle in %d s (idle, nothing needed, no pull"
              " errors, connected, 100%% complete, the same files on both"
              " sides, all for %d s):\n  %s\n  %s%s%s",
              SETTLE_DEADLINE, QUIET_SECONDS, views[0].text, views[1].text,
              *difference != '\0' ? "\n  the folders differ:" : "",
              difference);
          view_clear (&views[0]);
          view_clear (&views[1]);
          return FALSE;
        }
      g_usleep (500000);
    }
}

/* --- jsync ---------------------------------------------------------------- */

static GPtrArray *
jsync_argv (Side *side, const char *db, const char *const *args)
{
  GPtrArray *argv = jtest_jsync_argv (side->data, db, args);

  g_ptr_array_insert (argv, 1, (gpointer) "--config");
  g_ptr_array_insert (argv, 2, side->conf);
  return argv;
}

/* Run jsync to its end: its exit status (-1 when killed), stdout and
 * stderr. */
static int
jsync_run (Fixture *f, Side *side, const char *db, char **out, char **err,
           const char *const *args)
{
  g_autoptr(GPtrArray) argv = jsync_argv (side, db, args);
  JTestSpawn options = { .cwd = side->dir, .env = f->env };
  g_autoptr(JTestRun) run = jtest_spawn ((const char *const *) argv->pdata,
                                         &options);

  if (out != NULL)
    *out = g_steal_pointer (&run->out);
  if (err != NULL)
    *err = g_steal_pointer (&run->err);
  return run->status;
}

#define JSYNC(f, side, db, out, err, ...) \
  jsync_run ((f), (side), (db), (out), (err), \
             (const char *const[]) { __VA_ARGS__, NULL })

static json_object *
parse_object (const char *text, const char *what)
{
  json_object *json = json_tokener_parse (text);

  if (json == NULL || !json_object_is_type (json, json_type_object))
    g_test_message ("%s: not one JSON object: %.500s", what, text);
  g_assert_nonnull (json);
  g_assert_true (json_object_is_type (json, json_type_object));
  return json;
}

static void
watch_start (Fixture *f, Side *side, guint slot)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  const char *const args[] = { "watch", "--json", NULL };
  g_autoptr(GPtrArray) argv = jsync_argv (side, side->db, args);
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_subprocess_launcher_set_environ (launcher, f->env);
  g_subprocess_launcher_set_cwd (launcher, side->dir);
  g_subprocess_launcher_set_stdout_file_path (launcher, side->watch_out);
  g_subprocess_launcher_set_stderr_file_path (launcher, side->watch_err);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  side->watch = g_subprocess_launcher_spawnv (
      launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  fatal_track (slot, side->watch);
  for (;;)
    {
      g_autofree char *err = read_text (side->watch_err);

      if (strstr (err, "watching") != NULL)
        break;
      if (g_subprocess_get_identifier (side->watch) == NULL
          || g_get_monotonic_time () > deadline)
        g_test_message ("watch %s stderr:\n%s", side->name, err);
      g_assert_nonnull (g_subprocess_get_identifier (side->watch));
      g_assert_cmpint (g_get_monotonic_time (), <=, deadline);
      g_usleep (20000);
    }
}

/* Whether an event is in a cache, applied (echo's row and jsync_events'
 * status 0): 1 or 0, or -1 when the cache could not be read (three
 * tries).  The connection is the caller's (a writer's own). */
static int
cache_has (sqlite3 **handle, const char *db, const char *id)
{
  for (guint attempt = 0; attempt < 3; attempt++)
    {
      sqlite3_stmt *stmt = NULL;
      int found = -1;

      if (*handle == NULL)
        {
          if (sqlite3_open_v2 (db, handle, SQLITE_OPEN_READONLY, NULL)
              != SQLITE_OK)
            {
              sqlite3_close (*handle);
              *handle = NULL;
              g_usleep (100000);
              continue;
            }
          sqlite3_busy_timeout (*handle, 10000);
        }
      if (sqlite3_prepare_v2 (*handle,
                              "SELECT (SELECT count(*) FROM echo_events"
                              "        WHERE id = ?1)"
                              "   AND (SELECT count(*) FROM jsync_events"
                              "        WHERE id = ?1 AND status = 0)",
                              -1, &stmt, NULL) == SQLITE_OK)
        {
          sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
          if (sqlite3_step (stmt) == SQLITE_ROW)
            found = sqlite3_column_int (stmt, 0) != 0;
        }
      sqlite3_finalize (stmt);
      if (found >= 0)
        return found;
      g_usleep (100000);
    }
  return -1;
}

/* A writer: `jsync append` to a random log of the shared ones, again and
 * again, with short random pauses, until its end. */
static gpointer
writer_run (gpointer data)
{
  Writer *writer = data;
  Side *side = writer->side;
  g_autoptr(GRand) rand = g_rand_new_with_seed (writer->seed);
  sqlite3 *cache = NULL;
  guint n = 0;

  while (g_get_monotonic_time () < writer->end
         && !g_atomic_int_get (&writer->f->stopping))
    {
      Append *append = g_new0 (Append, 1);
      g_autofree char *body = g_strdup_printf (
          "{\"type\":\"echo_note\",\"data\":{\"side\":\"%s\",\"writer\":%u,"
          "\"n\":%u}}", side->name, writer->index, ++n);
      const char *args[] = { "append", "--json", NULL, body, NULL };
      g_autoptr(GPtrArray) argv = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *out = NULL;
      int status = 0;

      append->log = logs[g_rand_int_range (rand, 0, G_N_ELEMENTS (logs))];
      args[2] = append->log;
      argv = jsync_argv (side, side->db, args);
      append->start = g_get_real_time () / 1000;
      if (!g_spawn_sync (side->dir, (char **) argv->pdata, writer->f->env,
                         G_SPAWN_DEFAULT, NULL, NULL, &out, &append->err,
                         &status, &error))
        {
          append->status = -1;
          append->err = g_strdup (error->message);
        }
      else
        append->status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
      append->end = g_get_real_time () / 1000;
      if (out != NULL && *out != '\0')
        {
          g_autoptr(json_object) result = json_tokener_parse (out);
          const char *id = member_str (result, "id");
          json_object *lost = member (result, "lostEvents");

          if (id != NULL && g_uuid_string_is_valid (id))
            append->id = g_strdup (id);
          /* Kept as the sync printed it, for the lost reports made during
           * the run. */
          if (lost != NULL && json_object_array_length (lost) > 0)
            append->lost = g_strdup_printf (
                "{\"lostEvents\":%s}",
                json_object_to_json_string_ext (lost, JSON_C_TO_STRING_PLAIN));
        }
      if (append->err != NULL && *append->err == '\0')
        g_clear_pointer (&append->err, g_free);
      if (append->status == 0 && append->id != NULL)
        append->cached = cache_has (&cache, side->db, append->id);
      g_ptr_array_add (writer->appends, append);
      g_usleep (g_rand_int_range (rand, 0, PAUSE_MAX_MS + 1) * 1000);
    }
  sqlite3_close (cache);
  return NULL;
}

/* --- The logs and the caches ---------------------------------------------- */

/* Every event id of the folder's logs (what jsync reads: non-hidden
 * *.jsonl files, complete lines holding an object with a string id) →
 * the files holding it (GPtrArray of borrowed paths from `paths`). */
typedef struct
{
  GPtrArray *paths;             /* owned: every visible file, relative */
  GHashTable *ids;              /* id → GPtrArray * of paths */
  GHashTable *texts;            /* path → contents */
  guint logs;
  guint conflict_copies;
  guint bad_lines;              /* complete lines that are no event */
  guint partial_lines;          /* a last line with no "\n" */
  guint lines;
} Folder;

static void
folder_clear (Folder *folder)
{
  g_clear_pointer (&folder->ids, g_hash_table_unref);
  g_clear_pointer (&folder->texts, g_hash_table_unref);
  g_clear_pointer (&folder->paths, g_ptr_array_unref);
}

static void
folder_read (Folder *folder, const char *data)
{
  folder->paths = jtest_tree_files (data, FALSE);
  folder->ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
  folder->texts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         g_free);
  for (guint i = 0; i < folder->paths->len; i++)
    {
      const char *relative = folder->paths->pdata[i];
      g_autofree char *path = g_build_filename (data, relative, NULL);
      char *text;
      char *line;

      if (!g_str_has_suffix (relative, ".jsonl"))
        continue;
      folder->logs++;
      if (strstr (relative, ".sync-conflict-") != NULL)
        folder->conflict_copies++;
      text = read_text (path);
      g_hash_table_insert (folder->texts, (gpointer) relative, text);
      line = text;
      while (*line != '\0')
        {
          char *end = strchr (line, '\n');
          g_autofree char *copy = NULL;
          g_autoptr(json_object) json = NULL;
          const char *id;
          GPtrArray *holders;

          if (end == NULL)
            {
              folder->partial_lines++;
              break;
            }
          copy = g_strndup (line, end - line);
          line = end + 1;
          if (*g_strstrip (copy) == '\0')
            continue;
          folder->lines++;
          json = json_tokener_parse (copy);
          id = member_str (json, "id");
          if (id == NULL)
            {
              folder->bad_lines++;
              continue;
            }
          holders = g_hash_table_lookup (folder->ids, id);
          if (holders == NULL)
            {
              holders = g_ptr_array_new ();
              g_hash_table_insert (folder->ids, g_strdup (id), holders);
            }
          if (holders->len == 0
              || holders->pdata[holders->len - 1] != (gpointer) relative)
            g_ptr_array_add (holders, (gpointer) relative);
        }
    }
}

/* "f1, f2 (and N more)" */
static char *
holders_text (GPtrArray *holders)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; holders != NULL && i < holders->len && i < 4; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? ", " : "",
                            (char *) holders->pdata[i]);
  if (holders != NULL && holders->len > 4)
    g_string_append_printf (text, " (and %u more)", holders->len - 4);
  return g_string_free (text, FALSE);
}

/* Files whose text holds `id` anywhere (also in a line jsync cannot
 * read), as "f1, f2", or NULL. */
static char *
folder_grep (Folder *folder, const char *id)
{
  GString *text = NULL;
  GHashTableIter iter;
  gpointer path, contents;

  g_hash_table_iter_init (&iter, folder->texts);
  while (g_hash_table_iter_next (&iter, &path, &contents))
    if (strstr (contents, id) != NULL)
      {
        if (text == NULL)
          text = g_string_new (path);
        else
          g_string_append_printf (text, ", %s", (char *) path);
      }
  return text != NULL ? g_string_free (text, FALSE) : NULL;
}

/* One cache as the end sees it. */
typedef struct
{
  GHashTable *rows;             /* id → the dump's row as JSON text */
  GHashTable *status;           /* id → jsync_events.status + 1 */
  GHashTable *lost;             /* id → file it was reported lost from */
  gint64 failed;                /* jsync_failed rows */
  gint64 conflict_sources;      /* conflict copies among jsync_sources */
} Cache;

static void
cache_clear (Cache *cache)
{
  g_clear_pointer (&cache->rows, g_hash_table_unref);
  g_clear_pointer (&cache->status, g_hash_table_unref);
  g_clear_pointer (&cache->lost, g_hash_table_unref);
}

/* `jsync dump`'s echo_events rows, by id. */
static GHashTable *
dump_rows (Fixture *f, Side *side, const char *db)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(json_object) dump = NULL;
  GHashTable *rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            g_free);
  json_object *table;
  int status = JSYNC (f, side, db, &out, &err, "dump");

  if (status != 0)
    g_test_message ("jsync dump %s: exit %d: %s", db, status, err);
  g_assert_cmpint (status, ==, 0);
  dump = parse_object (out, "jsync dump");
  g_assert_cmpint (json_object_object_length (dump), ==, 1);
  table = member (dump, "echo_events");
  g_assert_nonnull (table);
  for (gsize i = 0; i < json_object_array_length (table); i++)
    {
      json_object *row = json_object_array_get_idx (table, i);
      const char *id = member_str (row, "id");

      g_assert_nonnull (id);
      g_assert_false (g_hash_table_contains (rows, id));
      g_hash_table_insert (rows, g_strdup (id),
                           g_strdup (json_object_to_json_string_ext (
                               row, JSON_C_TO_STRING_PLAIN)));
    }
  return rows;
}

static void
cache_read (Fixture *f, Side *side, const char *db, Cache *cache,
            gboolean with_status)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;

  cache->rows = dump_rows (f, side, db);
  cache->status = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         NULL);
  cache->lost = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       g_free);
  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (handle,
                                       "SELECT id, status FROM jsync_events",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_insert (
        cache->status, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
        GINT_TO_POINTER (sqlite3_column_int (stmt, 1) + 1));
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (handle,
                                       "SELECT count(*) FROM jsync_failed", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  cache->failed = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (handle,
                                       "SELECT count(*) FROM jsync_sources"
                                       " WHERE path LIKE '%.sync-conflict-%'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  cache->conflict_sources = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);

  if (with_status)
    {
      /* The lost events as `jsync status --json` says them. */
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(json_object) status = NULL;
      json_object *lost;
      int exit_status = JSYNC (f, side, db, &out, &err, "status", "--json");

      if (exit_status != 0)
        g_test_message ("jsync status %s: exit %d: %s", side->name,
                        exit_status, err);
      g_assert_cmpint (exit_status, ==, 0);
      status = parse_object (out, "jsync status --json");
      lost = member (status, "lostEvents");
      g_assert_nonnull (lost);
      for (gsize i = 0; i < json_object_array_length (lost); i++)
        {
          json_object *item = json_object_array_get_idx (lost, i);
          const char *file = member_str (item, "file");
          json_object *ids = member (item, "ids");

          g_assert_nonnull (file);
          if (ids == NULL)
            g_hash_table_insert (cache->lost,
                                 g_strdup (member_str (item, "id")),
                                 g_strdup (file));
          else
            for (gsize j = 0; j < json_object_array_length (ids); j++)
              g_hash_table_insert (
                  cache->lost,
                  g_strdup (json_object_get_string (
                      json_object_array_get_idx (ids, j))),
                  g_strdup (file));
        }
    }
}

/* Lost reports in --json results (one or more objects, on one line each
 * or printed over several): id → file, into `into`. */
static void
collect_lost_reports (const char *text, GHashTable *into)
{
  json_tokener *tokener = json_tokener_new ();
  size_t length = strlen (text);
  size_t at = 0;

  for (;;)
    {
      json_object *json;
      json_object *lost;

      while (at < length && g_ascii_isspace (text[at]))
        at++;
      if (at >= length)
        break;
      json = json_tokener_parse_ex (tokener, text + at, (int) (length - at));
      if (json == NULL)
        break;
      at += json_tokener_get_parse_end (tokener);
      json_tokener_reset (tokener);
      lost = member (json, "lostEvents");
      for (gsize j = 0; lost != NULL && j < json_object_array_length (lost);
           j++)
        {
          json_object *item = json_object_array_get_idx (lost, j);
          json_object *ids = member (item, "ids");

          for (gsize k = 0; ids != NULL && k < json_object_array_length (ids);
               k++)
            g_hash_table_replace (
                into,
                g_strdup (json_object_get_string (
                    json_object_array_get_idx (ids, k))),
                g_strdup (member_str (item, "file")));
        }
      json_object_put (json);
    }
  json_tokener_free (tokener);
}

/* "\n    file: N" per file of a lost table (id → file), most first. */
static int
compare_counts (gconstpointer a, gconstpointer b, gpointer user_data)
{
  GHashTable *counts = user_data;

  return GPOINTER_TO_INT (g_hash_table_lookup (counts, *(gpointer *) b))
         - GPOINTER_TO_INT (g_hash_table_lookup (counts, *(gpointer *) a));
}

static char *
lost_by_file (GHashTable *lost)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) files = NULL;
  GString *text = g_string_new (NULL);
  GHashTableIter iter;
  gpointer file;

  g_hash_table_iter_init (&iter, lost);
  while (g_hash_table_iter_next (&iter, NULL, &file))
    g_hash_table_insert (counts, file,
                         GINT_TO_POINTER (GPOINTER_TO_INT (
                             g_hash_table_lookup (counts, file)) + 1));
  files = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &file, NULL))
    g_ptr_array_add (files, file);
  g_ptr_array_sort_with_data (files, compare_counts, counts);
  for (guint i = 0; i < files->len; i++)
    g_string_append_printf (text, "\n    %s: %d", (char *) files->pdata[i],
                            GPOINTER_TO_INT (g_hash_table_lookup (
                                counts, files->pdata[i])));
  return g_string_free (text, FALSE);
}

static const char *
append_describe (Append *append, char buffer[160])
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (append->start
                                                               / 1000);
  g_autofree char *clock = g_date_time_format (time, "%H:%M:%S");

  g_snprintf (buffer, 160, "appended to %s at %s.%03d (%" G_GINT64_FORMAT
              " ms)", append->log, clock, (int) (append->start % 1000),
              append->end - append->start);
  return buffer;
}

/* For a message on `key`: `here` or `there` (acknowledged by `side` or by
 * `other`: `side` first) then the append; "" when neither acknowledged it.
 * (transfer full) */
static char *
acked_by (Side *side, Side *other, gconstpointer key, const char *here,
          const char *there)
{
  Append *by_me = g_hash_table_lookup (side->acked, key);
  Append *by_other = g_hash_table_lookup (other->acked, key);
  char buffer[160];

  if (by_me == NULL && by_other == NULL)
    return g_strdup ("");
  return g_strconcat (by_me != NULL ? here : there,
                      append_describe (by_me != NULL ? by_me : by_other,
                                       buffer), NULL);
}

/* --- The test ------------------------------------------------------------- */

static void
write_acked (Side *side)
{
  g_autofree char *path = g_strdup_printf ("%s/appends.tsv", side->dir);
  g_autoptr(GString) text = g_string_new (
      "# id\tlog\tstart_ms\tend_ms\texit\tin_cache_at_return\n");

  for (guint i = 0; i < side->appends->len; i++)
    {
      Append *append = side->appends->pdata[i];

      g_string_append_printf (text, "%s\t%s\t%" G_GINT64_FORMAT "\t%"
                              G_GINT64_FORMAT "\t%d\t%s\n",
                              append->id != NULL ? append->id : "-",
                              append->log, append->start, append->end,
                              append->status,
                              append->cached > 0 ? "yes"
                                : append->cached == 0 ? "no" : "unknown");
    }
  write_text (path, text->str);

  /* What the appends said on stderr, when they said anything. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < side->appends->len; i++)
    {
      Append *append = side->appends->pdata[i];

      if (append->err != NULL)
        g_string_append_printf (text,
                                "%s %s %" G_GINT64_FORMAT " exit %d:\n%s%s",
                                append->id != NULL ? append->id : "-",
                                append->log, append->start, append->status,
                                append->err,
                                g_str_has_suffix (append->err, "\n") ? ""
                                                                     : "\n");
    }
  g_free (path);
  path = g_strdup_printf ("%s/appends-stderr.txt", side->dir);
  write_text (path, text->str);
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return GPOINTER_TO_INT (a) - GPOINTER_TO_INT (b);
}

/* The appends of one side: figures, and the check made as each returned. */
static void
report_appends (Fixture *f, Side *side, Check *at_return)
{
  g_autoptr(GHashTable) by_status = g_hash_table_new (NULL, NULL);
  g_autoptr(GString) statuses = g_string_new (NULL);
  g_autoptr(GList) keys = NULL;
  const char *first_error = NULL;
  guint unreadable = 0;

  for (guint i = 0; i < side->appends->len; i++)
    {
      Append *append = side->appends->pdata[i];
      char buffer[160];

      g_hash_table_insert (
          by_status, GINT_TO_POINTER (append->status),
          GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (
                               by_status, GINT_TO_POINTER (append->status)))
                           + 1));
      if (append->status != 0 && first_error == NULL)
        first_error = append->err;
      if (append->status == 0 && append->id != NULL)
        {
          g_hash_table_insert (side->acked, append->id, append);
          unreadable += append->cached < 0;
          if (append->cached == 0)
            check_fail (at_return, "%s: %s %s: not in its cache (applied) when"
                        " append returned 0", side->name, append->id,
                        append_describe (append, buffer));
        }
    }
  keys = g_list_sort (g_hash_table_get_keys (by_status), compare_ints);
  for (GList *l = keys; l != NULL; l = l->next)
    g_string_append_printf (statuses, "%s%d × exit %d",
                            l == keys ? "" : ", ",
                            GPOINTER_TO_INT (g_hash_table_lookup (by_status,
                                                                  l->data)),
                            GPOINTER_TO_INT (l->data));
  report (f, "side %s: %u appends (%s): %u events acknowledged", side->name,
          side->appends->len, statuses->str, g_hash_table_size (side->acked));
  if (first_error != NULL)
    report (f, "side %s: first failed append said: %s", side->name,
            first_error);
  if (unreadable > 0)
    report (f, "side %s: the cache could not be read after %u appends (not"
            " checked then)", side->name, unreadable);
}

static void
test_two_devices (Fixture *f, gconstpointer user_data)
{
  double scale = jtest_scale ();
  gint64 seconds = MAX (APPEND_SECONDS_MIN, (gint64) (APPEND_SECONDS * scale));
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *why = NULL;
  g_autofree char *settled = NULL;
  g_autofree char *version = NULL;
  Check *at_return, *acked_missing, *acked_gone, *logs_missing, *lost_false,
        *lost_not_kept, *unexplained, *fresh_differs, *caches_differ,
        *verify_failed, *process_failed;
  Folder folders[2] = { { 0 } };
  Cache caches[2] = { { 0 } };
  Cache fresh[2] = { { 0 } };
  GHashTable *during[2];
  char *last_sync[2] = { NULL, NULL };
  gint64 settle_took = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 phase;
  guint failed_checks = 0;
  g_autoptr(GString) summary = g_string_new (NULL);

  if (f->syncthing == NULL)
    {
      g_test_skip ("syncthing is not on PATH (Debian package syncthing)");
      return;
    }
  {
    const char *argv[] = { f->syncthing, "--version", NULL };

    g_spawn_sync (NULL, (char **) argv, f->st_env, G_SPAWN_DEFAULT, NULL, NULL,
                  &version, NULL, NULL, NULL);
    report (f, "%s", version != NULL ? g_strstrip (version) : "syncthing ?");
  }
  at_return = check_new (f, "acked-not-in-cache-at-return",
                         "an acknowledged event is in its side's cache when"
                         " append returns");
  acked_missing = check_new (f, "acked-missing",
                             "every acknowledged event is in its side's cache"
                             " at the end, applied");
  acked_gone = check_new (f, "acked-gone-unreported",
                          "an acknowledged event in no log is reported lost by"
                          " its side");
  logs_missing = check_new (f, "logs-not-in-cache",
                            "every event of the logs is in both caches");
  lost_false = check_new (f, "lost-report-false",
                          "every event reported lost is in no log");
  lost_not_kept = check_new (f, "lost-not-kept",
                             "every event reported lost keeps its row");
  unexplained = check_new (f, "cache-extra",
                           "a cache holds only the logs' events and those it"
                           " reports lost");
  fresh_differs = check_new (f, "fresh-differs",
                             "a cache's rows for the logs' events equal a"
                             " fresh cache of the folder");
  caches_differ = check_new (f, "caches-differ",
                             "the two caches hold the same rows, but for"
                             " events only one reports lost");
  verify_failed = check_new (f, "verify", "`jsync verify` exits 0");
  process_failed = check_new (f, "exit-status",
                              "watch stops with 0 on SIGTERM; the last sync"
                              " and status exit 0");

  /* Syncthing: keys, config, start, connected. */
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &f->sides[i];
      g_autofree char *marker = g_build_filename (side->data, ".stfolder",
                                                  NULL);
      g_autofree char *conf = g_strdup_printf ("[jsync]\ndevice-id = e2e-%s\n",
                                               side->name);

      /* A folder of the config at start-up needs its marker already. */
      g_assert_cmpint (g_mkdir (marker, 0755), ==, 0);
      write_text (side->conf, conf);
      side->port = pick_port (held);
      side->gui_port = pick_port (held);
      syncthing_generate (f, side);
    }
  g_ptr_array_set_size (held, 0);
  syncthing_configure (&f->sides[0], &f->sides[1]);
  syncthing_configure (&f->sides[1], &f->sides[0]);
  /* One after the other: each dials the other from its own listening port,
   * and two dials at the same instant make one TCP connection (a
   * simultaneous open) on which both wait as TLS clients until a 20 s
   * timeout.  b starts once a listens, and so dials it first. */
  syncthing_start (f, &f->sides[0], 0);
  if (syncthing_wait_listening (f, &f->sides[0], &why))
    syncthing_start (f, &f->sides[1], 1);
  if (f->sides[1].syncthing == NULL || !syncthing_wait_started (f, &why))
    {
      g_autofree char *log_a = tail_text (f->sides[0].st_log, 20);
      g_autofree char *log_b = tail_text (f->sides[1].st_log, 20);

      g_test_message ("syncthing a:\n%s\nsyncthing b:\n%s", log_a, log_b);
      g_test_fail_printf ("Syncthing did not start: %s", why);
      return;
    }
  report (f, "Syncthing a %s on 127.0.0.1:%u (REST %u), b %s on 127.0.0.1:%u"
          " (REST %u): connected in %.1f s", f->sides[0].device,
          f->sides[0].port, f->sides[0].gui_port, f->sides[1].device,
          f->sides[1].port, f->sides[1].gui_port,
          (g_get_monotonic_time () - start) / 1e6);

  /* jsync watch on each side, then the writers. */
  for (guint i = 0; i < 2; i++)
    watch_start (f, &f->sides[i], 2 + i);
  phase = g_get_monotonic_time ();
  for (guint i = 0; i < G_N_ELEMENTS (f->writers); i++)
    {
      Writer *writer = &f->writers[i];

      writer->f = f;
      writer->side = &f->sides[i % 2];
      writer->index = i / 2;
      writer->seed = g_test_rand_int ();
      writer->end = phase + seconds * G_USEC_PER_SEC;
      writer->appends = g_ptr_array_new_with_free_func (append_free);
      writer->thread = g_thread_new ("writer", writer_run, writer);
    }
  for (guint i = 0; i < G_N_ELEMENTS (f->writers); i++)
    {
      Writer *writer = &f->writers[i];

      g_thread_join (writer->thread);
      writer->thread = NULL;
      g_ptr_array_extend_and_steal (writer->side->appends,
                                    g_steal_pointer (&writer->appends));
    }
  report (f, "appending: %" G_GINT64_FORMAT " s (scale %g), %d writers per"
          " side, %.1f s in all", seconds, scale, WRITERS_PER_SIDE,
          (g_get_monotonic_time () - phase) / 1e6);
  for (guint i = 0; i < 2; i++)
    {
      write_acked (&f->sides[i]);
      report_appends (f, &f->sides[i], at_return);
    }

  /* Syncthing settles, then stops: the folders cannot change any more. */
  if (!syncthing_settle (f, &settled, &settle_took, &why))
    {
      g_autofree char *log_a = tail_text (f->sides[0].st_log, 15);
      g_autofree char *log_b = tail_text (f->sides[1].st_log, 15);

      report (f, "%s", why);
      g_test_message ("syncthing a:\n%s\nsyncthing b:\n%s", log_a, log_b);
      g_test_fail_printf ("%s", why);
      return;
    }
  report (f, "Syncthing settled %.1f s after the writers stopped (%d s of"
          " them quiet)", settle_took / 1e6, QUIET_SECONDS);
  for (guint i = 0; i < 2; i++)
    {
      process_stop (f->sides[i].syncthing, SIGTERM, TRUE);
      g_clear_object (&f->sides[i].syncthing);
      fatal_pids[i] = 0;
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *now = tree_fingerprint (f->sides[i].data);

      if (strcmp (now, settled) != 0)
        {
          g_autofree char *difference = fingerprint_difference (
              settled, now, "the settled folder", "the folder now");

          g_test_fail_printf ("side %s's folder changed while Syncthing"
                              " stopped:%s", f->sides[i].name, difference);
          return;
        }
    }

  /* Each watch has had the quiet period to catch up: stop it (exit 0),
   * then a last sync per side. */
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &f->sides[i];
      g_autofree char *err = NULL;
      g_autofree char *out = NULL;
      g_autofree char *sync_err = NULL;
      g_autoptr(json_object) result = NULL;
      int status;

      process_stop (side->watch, SIGTERM, FALSE);
      fatal_pids[2 + i] = 0;
      err = read_text (side->watch_err);
      if (!g_subprocess_get_if_exited (side->watch)
          || g_subprocess_get_exit_status (side->watch) != 0
          || strstr (err, "stopped") == NULL)
        {
          g_autofree char *tail = tail_text (side->watch_err, 10);

          check_fail (process_failed, "%s: watch ended with %s %d:\n%s",
                      side->name,
                      g_subprocess_get_if_exited (side->watch) ? "exit"
                                                               : "signal",
                      g_subprocess_get_if_exited (side->watch)
                        ? g_subprocess_get_exit_status (side->watch)
                        : g_subprocess_get_term_sig (side->watch), tail);
        }
      g_clear_object (&side->watch);
      status = JSYNC (f, side, side->db, &out, &sync_err, "sync", "--json");
      if (status != 0)
        check_fail (process_failed, "%s: the last sync: exit %d: %s",
                    side->name, status, sync_err);
      result = json_tokener_parse (out);
      last_sync[i] = g_strdup (out != NULL ? out : "");
      report (f, "side %s: the last sync after the watch applied %"
              G_GINT64_FORMAT " event(s) from %zu file(s)", side->name,
              member_int (result, "eventsApplied", -1),
              member (result, "filesProcessed") != NULL
                ? json_object_array_length (member (result, "filesProcessed"))
                : 0);
    }

  /* What the folders hold now, and what each cache and a fresh one of the
   * folder hold. */
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &f->sides[i];
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *watch_out = read_text (side->watch_out);
      int status;

      folder_read (&folders[i], side->data);
      cache_read (f, side, side->db, &caches[i], TRUE);
      status = JSYNC (f, side, side->fresh, &out, &err, "sync", "--quiet");
      if (status != 0)
        check_fail (process_failed, "%s: a fresh sync of the folder: exit %d:"
                    " %s", side->name, status, err);
      cache_read (f, side, side->fresh, &fresh[i], FALSE);
      during[i] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         g_free);
      collect_lost_reports (watch_out, during[i]);
      collect_lost_reports (last_sync[i], during[i]);
      for (guint a = 0; a < side->appends->len; a++)
        {
          Append *append = side->appends->pdata[a];

          if (append->lost != NULL)
            collect_lost_reports (append->lost, during[i]);
        }
    }
  {
    guint found_again = 0;

    /* A report made during the run that the end no longer makes: the
     * event was found again (a copy that Syncthing delivered later, or a
     * report that was never true: the run cannot tell, so a note). */
    for (guint i = 0; i < 2; i++)
      {
        GHashTableIter iter;
        gpointer id, file;

        g_hash_table_iter_init (&iter, during[i]);
        while (g_hash_table_iter_next (&iter, &id, &file))
          if (!g_hash_table_contains (caches[i].lost, id))
            {
              g_autofree char *where = holders_text (
                  g_hash_table_lookup (folders[i].ids, id));

              if (found_again++ < EXAMPLES)
                report (f, "note: %s: %s was reported lost from %s during the"
                        " run; at the end %s", f->sides[i].name,
                        (char *) id, (char *) file,
                        *where != '\0' ? where : "no log holds it");
              if (found_again == EXAMPLES + 1)
                report (f, "note: ...");
            }
      }
    report (f, "the folder: %u logs, %u of them conflict copies made by"
            " Syncthing; %u events in %u lines (%u lines no event, %u partial"
            " last lines)", folders[0].logs, folders[0].conflict_copies,
            g_hash_table_size (folders[0].ids), folders[0].lines,
            folders[0].bad_lines, folders[0].partial_lines);
    report (f, "lost reports: a %u, b %u at the end (jsync status); during"
            " the run (watch, append and the last sync) a %u, b %u, of which"
            " %u were found again later", g_hash_table_size (caches[0].lost),
            g_hash_table_size (caches[1].lost), g_hash_table_size (during[0]),
            g_hash_table_size (during[1]), found_again);
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *by_file = lost_by_file (caches[i].lost);
        guint gone = 0, kept_by_other = 0;
        GHashTableIter iter;
        gpointer id;

        g_hash_table_iter_init (&iter, f->sides[i].acked);
        while (g_hash_table_iter_next (&iter, &id, NULL))
          if (!g_hash_table_contains (folders[i].ids, id))
            {
              gone++;
              kept_by_other += g_hash_table_contains (caches[1 - i].rows, id);
            }
        if (*by_file != '\0')
          report (f, "side %s: lost reports by file:%s", f->sides[i].name,
                  by_file);
        report (f, "side %s: %u acknowledged events are in no log at the"
                " end (%u of them also in the other side's cache)",
                f->sides[i].name, gone, kept_by_other);
      }
    /* Conflict copies that jsync read again from the start: rewritten in
     * place, as when Syncthing makes a second copy of a log with the same
     * name (the same device, the same second). */
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *watch_err = read_text (f->sides[i].watch_err);
        g_autoptr(GString) err = g_string_new (watch_err);
        g_autoptr(GHashTable) reread = g_hash_table_new_full (
            g_str_hash, g_str_equal, g_free, NULL);
        g_auto(GStrv) lines = NULL;

        for (guint a = 0; a < f->sides[i].appends->len; a++)
          {
            Append *append = f->sides[i].appends->pdata[a];

            if (append->err != NULL)
              g_string_append_printf (err, "\n%s", append->err);
          }
        lines = g_strsplit (err->str, "\n", -1);
        for (guint l = 0; lines[l] != NULL; l++)
          {
            const char *path = strstr (lines[l], "jsync: warning: ");
            const char *end;

            if (path == NULL
                || strstr (lines[l], ": read again from the start") == NULL)
              continue;
            path += strlen ("jsync: warning: ");
            end = strstr (path, ": read again from the start");
            if (g_strstr_len (path, end - path, ".sync-conflict-") != NULL)
              g_hash_table_add (reread, g_strndup (path, end - path));
          }
        report (f, "side %s: jsync saw %" G_GINT64_FORMAT " conflict copies"
                " in all, and read %u of them again from the start"
                " (rewritten in place)", f->sides[i].name,
                caches[i].conflict_sources, g_hash_table_size (reread));
      }
    /* Nothing written at all would prove nothing. */
    g_assert_cmpuint (g_hash_table_size (folders[0].ids), >, 0);
  }

  /* The checks, side by side. */
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &f->sides[i];
      Side *other = &f->sides[1 - i];
      Folder *folder = &folders[i];
      Cache *cache = &caches[i];
      Cache *mine_fresh = &fresh[i];
      GHashTableIter iter;
      gpointer key, value;
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status;

      report (f, "side %s: the cache holds %u events (%u in jsync_events, %"
              G_GINT64_FORMAT " failed lines), %u reported lost; a fresh cache"
              " of the folder holds %u", side->name,
              g_hash_table_size (cache->rows),
              g_hash_table_size (cache->status), cache->failed,
              g_hash_table_size (cache->lost),
              g_hash_table_size (mine_fresh->rows));

      /* Every acknowledged event, in its cache; in no log, reported lost. */
      g_hash_table_iter_init (&iter, side->acked);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          Append *append = value;
          GPtrArray *holders = g_hash_table_lookup (folder->ids, key);
          gint status_plus_one = GPOINTER_TO_INT (
              g_hash_table_lookup (cache->status, key));
          g_autofree char *where = holders_text (holders);
          char buffer[160];

          if (!g_hash_table_contains (cache->rows, key) || status_plus_one != 1)
            check_fail (acked_missing, "%s: %s %s: not in its cache (row %s,"
                        " jsync_events %s); in the logs: %s", side->name,
                        (char *) key, append_describe (append, buffer),
                        g_hash_table_contains (cache->rows, key) ? "yes"
                                                                  : "no",
                        status_plus_one == 0 ? "absent"
                          : status_plus_one == 1 ? "applied"
                          : status_plus_one == 2 ? "pending" : "failed",
                        holders != NULL ? where : "none");
          if (holders == NULL && !g_hash_table_contains (cache->lost, key))
            check_fail (acked_gone, "%s: %s %s: in no log, not reported lost"
                        " (in its cache: %s)", side->name, (char *) key,
                        append_describe (append, buffer),
                        g_hash_table_contains (cache->rows, key) ? "yes"
                                                                  : "no");
        }

      /* Every event of the logs, in the cache. */
      g_hash_table_iter_init (&iter, folder->ids);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (cache->rows, key))
          {
            g_autofree char *where = holders_text (value);
            g_autofree char *acked = acked_by (side, other, key,
                                               " (acknowledged here, ",
                                               " (acknowledged by the other"
                                               " side, ");

            check_fail (logs_missing, "%s: %s in %s is not in its cache%s",
                        side->name, (char *) key, where, acked);
          }

      /* Every lost report true; its row kept. */
      g_hash_table_iter_init (&iter, cache->lost);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          GPtrArray *holders = g_hash_table_lookup (folder->ids, key);
          g_autofree char *grep = folder_grep (folder, key);

          if (holders != NULL)
            {
              g_autofree char *where = holders_text (holders);
              gboolean same = FALSE;

              for (guint h = 0; h < holders->len; h++)
                same = same || strcmp (holders->pdata[h], value) == 0;
              check_fail (lost_false, "%s: %s reported lost from %s, but %s"
                          " holds it%s", side->name, (char *) key,
                          (char *) value, where,
                          same ? " (the very log it is reported lost from)"
                               : "");
            }
          else if (grep != NULL)
            g_test_message ("note: %s: %s reported lost: no event line holds"
                            " it, but the text of %s does", side->name,
                            (char *) key, grep);
          if (!g_hash_table_contains (cache->rows, key))
            check_fail (lost_not_kept, "%s: %s reported lost from %s has no"
                        " row", side->name, (char *) key, (char *) value);
        }

      /* Nothing else in the cache. */
      g_hash_table_iter_init (&iter, cache->rows);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (folder->ids, key)
            && !g_hash_table_contains (cache->lost, key))
          {
            g_autofree char *acked = acked_by (side, other, key,
                                               "; acknowledged here, ",
                                               "; acknowledged by the other"
                                               " side, ");

            check_fail (unexplained, "%s: %s is in the cache, in no log and"
                        " not reported lost%s", side->name, (char *) key,
                        acked);
          }

      /* The rows of the logs' events, as a fresh cache of the folder has
       * them (which must hold exactly the logs' events). */
      g_hash_table_iter_init (&iter, mine_fresh->rows);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          const char *row = g_hash_table_lookup (cache->rows, key);

          if (row != NULL && strcmp (row, value) != 0)
            check_fail (fresh_differs, "%s: %s: the cache has %s, a fresh"
                        " cache %s", side->name, (char *) key, row,
                        (char *) value);
          if (!g_hash_table_contains (folder->ids, key))
            check_fail (fresh_differs, "%s: %s: in a fresh cache of the"
                        " folder but in no complete log line (the test's"
                        " reading of the logs disagrees)", side->name,
                        (char *) key);
        }
      if (g_hash_table_size (mine_fresh->rows)
          != g_hash_table_size (folder->ids))
        check_fail (fresh_differs, "%s: a fresh cache holds %u events, the"
                    " logs %u", side->name,
                    g_hash_table_size (mine_fresh->rows),
                    g_hash_table_size (folder->ids));

      status = JSYNC (f, side, side->db, &out, &err, "verify");
      if (status != 0)
        check_fail (verify_failed, "%s: jsync verify: exit %d:\n%s%s",
                    side->name, status, out, err);
    }

  /* The two caches: the same rows but for events only one reports lost;
   * the folders are the same (the settle compared them). */
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, caches[0].rows);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        const char *row_b = g_hash_table_lookup (caches[1].rows, key);

        if (row_b != NULL && strcmp (row_b, value) != 0)
          check_fail (caches_differ, "%s: a has %s, b %s", (char *) key,
                      (char *) value, row_b);
        else if (row_b == NULL && !g_hash_table_contains (caches[0].lost, key))
          check_fail (caches_differ, "%s: only in a, which does not report it"
                      " lost", (char *) key);
      }
    g_hash_table_iter_init (&iter, caches[1].rows);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_hash_table_contains (caches[0].rows, key)
          && !g_hash_table_contains (caches[1].lost, key))
        check_fail (caches_differ, "%s: only in b, which does not report it"
                    " lost", (char *) key);
  }

  /* The verdict. */
  for (guint i = 0; i < f->checks->len; i++)
    {
      Check *check = f->checks->pdata[i];

      if (check->count == 0)
        {
          report (f, "ok: %s (%s)", check->name, check->what);
          continue;
        }
      failed_checks++;
      report (f, "FAILED: %s (%s): %u violation(s)%s%s", check->name,
              check->what, check->count, check->examples->str,
              check->count > EXAMPLES ? "\n    ..." : "");
      g_string_append_printf (summary, "%s%s (%u)",
                              summary->len > 0 ? ", " : "", check->name,
                              check->count);
    }
  report (f, "%.1f s in all", (g_get_monotonic_time () - start) / 1e6);
  for (guint i = 0; i < 2; i++)
    {
      folder_clear (&folders[i]);
      cache_clear (&caches[i]);
      cache_clear (&fresh[i]);
      g_hash_table_unref (during[i]);
      g_free (last_sync[i]);
    }
  if (failed_checks > 0)
    g_test_fail_printf ("%u check(s) failed: %s (details above and in"
                        " report.txt)", failed_checks, summary->str);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/syncthing/two-devices/append-watch", Fixture, NULL,
              fixture_setup, test_two_devices, fixture_teardown);
  return g_test_run ();
}
