/* jsync-test.c: the test kit (jsync-test.h).  The spawner and the JSON
 * checks come from tests/cli-run.c, the kill and timeout from
 * tests/program-harness.c. */
#include "jsync-test.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

/* --- A test program ----------------------------------------------------- */

void
jtest_init (int *argc, char ***argv)
{
  setlocale (LC_ALL, "");
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
}

double
jtest_scale (void)
{
  const char *text = g_getenv ("JSYNC_TEST_SCALE");
  double scale = g_ascii_strtod (text != NULL ? text : "1", NULL);

  return scale > 0 && scale <= 1 ? scale : 1.0;
}

char *
jtest_metadata_line (const char *id, const char *device, gint64 ts,
                     const char *conversation, const char *title)
{
  return g_strdup_printf (
      "{\"type\":\"metadata\",\"data\":{\"id\":\"%s\",\"title\":\"%s\","
      "\"created\":%" G_GINT64_FORMAT ",\"vault\":\"V\"},\"id\":\"%s\","
      "\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
      conversation, title, ts, id, device, ts);
}

/* --- Where things are ---------------------------------------------------- */

/* $`var` as the test started, else build/`built`; looked up once, as
 * threads of a test (test-concurrency's) start programs at once. */
static const char *
env_or_built (char **once, const char *var, const char *built)
{
  if (g_once_init_enter (once))
    {
      const char *env = g_getenv (var);

      g_once_init_leave (once, env != NULL
                                 ? g_strdup (env)
                                 : g_test_build_filename (G_TEST_BUILT, "..",
                                                          built, NULL));
    }
  return *once;
}

/**
 * jtest_bin:
 * $JSYNC_BIN, else build/jsync.
 */
const char *
jtest_bin (void)
{
  static char *bin = NULL;

  return env_or_built (&bin, "JSYNC_BIN", "jsync");
}

/**
 * jtest_bundled_plugins:
 * $JSYNC_PLUGIN_PATH as the test started, else build/plugins.
 */
const char *
jtest_bundled_plugins (void)
{
  static char *path = NULL;

  return env_or_built (&path, "JSYNC_PLUGIN_PATH", "plugins");
}

/**
 * jtest_fixture_plugins:
 * build/tests/plugins/<from>.
 */
char *
jtest_fixture_plugins (const char *from)
{
  return g_test_build_filename (G_TEST_BUILT, "plugins", from, NULL);
}

/**
 * jtest_copy_fixture_plugins:
 * Copies of fixture appliers, in a folder of their own.
 */
void
jtest_copy_fixture_plugins (const char *from, const char *to,
                            const char *const *names)
{
  g_autofree char *source = jtest_fixture_plugins (from);

  g_assert_cmpint (g_mkdir (to, 0755), ==, 0);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *file = g_strconcat (names[i], ".so", NULL);
      g_autofree char *in = g_build_filename (source, file, NULL);
      g_autofree char *out = g_build_filename (to, file, NULL);

      jtest_copy_file (in, out, 0755);
    }
}

/**
 * jtest_nexus_dir:
 * tests/data/nexus.
 */
const char *
jtest_nexus_dir (void)
{
  return g_test_get_filename (G_TEST_DIST, "data", "nexus", NULL);
}

/**
 * jtest_jsync_argv:
 * jsync --data-dir DATA --db DB ARGS...
 */
GPtrArray *
jtest_jsync_argv (const char *data, const char *db, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) jtest_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, (gpointer) data);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, (gpointer) db);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return argv;
}

/**
 * jtest_child_environ:
 * This environment, with the per-test HOME and XDG folders.
 */
char **
jtest_child_environ (void)
{
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "HOME", g_get_home_dir (), TRUE);
  env = g_environ_setenv (env, "XDG_CACHE_HOME", g_get_user_cache_dir (),
                          TRUE);
  env = g_environ_setenv (env, "XDG_CONFIG_HOME", g_get_user_config_dir (),
                          TRUE);
  env = g_environ_setenv (env, "XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  env = g_environ_setenv (env, "XDG_STATE_HOME", g_get_user_state_dir (),
                          TRUE);
  env = g_environ_setenv (env, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (),
                          TRUE);
  env = g_environ_setenv (env, "JSYNC_PLUGIN_PATH", jtest_bundled_plugins (),
                          FALSE);
  return env;
}

/* --- Temporary trees ----------------------------------------------------- */

/**
 * jtest_tree_make:
 * A fresh folder under root.
 */
char *
jtest_tree_make (const char *root, const char *prefix)
{
  g_autofree char *name = g_strconcat (prefix, "-XXXXXX", NULL);
  char *dir = g_build_filename (root != NULL ? root : g_get_tmp_dir (), name,
                                NULL);

  g_assert_nonnull (g_mkdtemp (dir));
  return dir;
}

/**
 * jtest_copy_file:
 * One file, with that mode.
 */
void
jtest_copy_file (const char *from, const char *to, int mode)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;

  g_file_get_contents (from, &text, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (to, text, length, G_FILE_SET_CONTENTS_NONE, mode,
                            &error);
  g_assert_no_error (error);
}

/**
 * jtest_tree_copy:
 * A folder, recursively.
 */
void
jtest_tree_copy (const char *from, const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (from, 0, &error);
  const char *name;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *source = g_build_filename (from, name, NULL);
      g_autofree char *target = g_build_filename (to, name, NULL);

      if (g_file_test (source, G_FILE_TEST_IS_DIR))
        jtest_tree_copy (source, target);
      else
        jtest_copy_file (source, target, 0644);
    }
}

/**
 * jtest_dirs_make:
 * A test's root, data folder and cache path.
 */
void
jtest_dirs_make (const char *root, const char *prefix, const char *db_name,
                 char **dir, char **data, char **db)
{
  *dir = jtest_tree_make (root, prefix);
  *data = g_build_filename (*dir, "data", NULL);
  *db = g_build_filename (*dir, db_name, NULL);
  g_assert_cmpint (g_mkdir (*data, 0755), ==, 0);
}

/**
 * jtest_dirs_free:
 * The folders of jtest_dirs_make, gone.
 */
void
jtest_dirs_free (char *dir, char *data, char *db)
{
  jtest_tree_remove (dir);
  g_free (dir);
  g_free (data);
  g_free (db);
}

/**
 * jtest_write_text:
 * A file written or appended to, in place.
 */
void
jtest_write_text (const char *path, const char *text, gboolean append)
{
  g_autofree char *dir = g_path_get_dirname (path);
  FILE *file;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_fopen (path, append ? "ab" : "wb");
  g_assert_nonnull (file);
  g_assert_cmpint (fputs (text, file), >=, 0);
  g_assert_cmpint (fclose (file), ==, 0);
}

/**
 * jtest_write_below:
 * jtest_write_text on dir/relative.
 */
char *
jtest_write_below (const char *dir, const char *relative, const char *text,
                   gboolean append)
{
  char *path = g_build_filename (dir, relative, NULL);

  jtest_write_text (path, text, append);
  return path;
}

/**
 * jtest_tree_remove:
 * A file or a folder and all below it; links are removed, not followed.
 */
void
jtest_tree_remove (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
      || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  /* Tests take the permissions away from folders (unreadable,
   * unwritable): give them back, or the folder stays. */
  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        jtest_tree_remove (child);
      }
  g_rmdir (path);
}

static void
tree_files_below (const char *top, const char *relative, gboolean hidden,
                  GPtrArray *paths)
{
  g_autofree char *dir_path = relative != NULL
                                ? g_build_filename (top, relative, NULL)
                                : g_strdup (top);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = relative != NULL
                                 ? g_build_filename (relative, name, NULL)
                                 : g_strdup (name);
      g_autofree char *path = g_build_filename (top, child, NULL);

      if ((name[0] == '.' && !hidden)
          || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        tree_files_below (top, child, hidden, paths);
      else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (paths, g_steal_pointer (&child));
    }
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
jtest_tree_files (const char *top, gboolean hidden)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  tree_files_below (top, NULL, hidden, paths);
  g_ptr_array_sort (paths, compare_paths);
  return paths;
}

/* --- Running a program --------------------------------------------------- */

/* A temporary file, unlinked at once: its descriptor alone is kept. */
static int
spawn_temp_fd (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("jsync-test-XXXXXX", &path, &error);

  g_assert_no_error (error);
  g_unlink (path);
  if (text != NULL)
    {
      size_t length = strlen (text);

      g_assert_cmpint (write (fd, text, length), ==, (ssize_t) length);
      g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
    }
  return fd;
}

static char *
spawn_read_fd (int fd)
{
  GString *text = g_string_new (NULL);

  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  for (;;)
    {
      char buffer[65536];
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n > 0)
        g_string_append_len (text, buffer, n);
      else if (n < 0 && errno == EINTR)
        continue;
      else
        break;
    }
  close (fd);
  return g_string_free (text, FALSE);
}

/* The master side of a new pseudo-terminal; its slave in *slave. */
static int
spawn_open_pty (int *slave)
{
  struct winsize size = { .ws_row = 24, .ws_col = 100 };
  int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);

  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  g_assert_cmpint (ioctl (master, TIOCSWINSZ, &size), ==, 0);
  *slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (*slave, >=, 0);
  return master;
}

/* Read what is there on the terminal, for 10 ms at most; FALSE once the
 * child closed it (EIO). */
static gboolean
spawn_read_pty (int master, GString *terminal)
{
  struct pollfd pfd = { .fd = master, .events = POLLIN };
  char buffer[4096];
  ssize_t n;

  if (poll (&pfd, 1, 10) <= 0)
    return TRUE;
  n = read (master, buffer, sizeof buffer);
  if (n > 0)
    g_string_append_len (terminal, buffer, n);
  return n > 0 || (n < 0 && errno == EINTR);
}

/**
 * jtest_spawn:
 * Run a program (see the header).
 */
JTestRun *
jtest_spawn (const char *const *argv, const JTestSpawn *options)
{
  static const JTestSpawn defaults = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) terminal = g_string_new (NULL);
  JTestRun *run = g_new0 (JTestRun, 1);
  struct rusage usage = { 0 };
  int in_fd, out_fd, err_fd;
  int master = -1, slave = -1;
  gboolean killed = FALSE;
  int status = 0;
  gint64 start, elapsed;
  GPid pid = 0;
  pid_t done;

  if (options == NULL)
    options = &defaults;
  in_fd = options->stdin_text != NULL
            ? spawn_temp_fd (options->stdin_text)
            : g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (in_fd, >=, 0);
  out_fd = spawn_temp_fd (NULL);
  err_fd = spawn_temp_fd (NULL);
  if (options->tty != JTEST_TTY_NONE)
    master = spawn_open_pty (&slave);

  run->started = g_get_real_time () / 1000;
  start = g_get_monotonic_time ();
  g_spawn_async_with_fds (options->cwd, (char **) argv,
                          (char **) options->env,
                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                          NULL, NULL, &pid, in_fd,
                          options->tty == JTEST_TTY_STDOUT ? slave : out_fd,
                          options->tty == JTEST_TTY_STDERR ? slave : err_fd,
                          &error);
  g_assert_no_error (error);
  close (in_fd);
  if (slave >= 0)
    close (slave);

  for (;;)
    {
      if (master >= 0)
        {
          /* The terminal is read while the child runs: it would block on
           * a full one. */
          if (!spawn_read_pty (master, terminal))
            {
              close (master);
              master = -1;
            }
          done = 0;
        }
      else
        {
          done = wait4 (pid, &status, WNOHANG, &usage);
          if (done < 0 && errno == EINTR)
            continue;
          if (done != 0)
            break;
          /* Not past the moment of the kill: it may be a few µs away. */
          elapsed = g_get_monotonic_time () - start;
          if (options->kill_signal != 0 && !killed
              && options->kill_after - elapsed < 500)
            g_usleep (MAX (options->kill_after - elapsed, 0));
          else
            g_usleep (500);
        }
      elapsed = g_get_monotonic_time () - start;
      if (options->kill_signal != 0 && !killed
          && elapsed >= options->kill_after)
        {
          killed = TRUE;
          kill (pid, options->kill_signal);
        }
      if (!run->timed_out && options->timeout_ms > 0
          && elapsed > options->timeout_ms * 1000)
        {
          run->timed_out = TRUE;
          kill (pid, SIGKILL);
        }
    }
  g_assert_cmpint (done, ==, pid);
  run->ended = g_get_real_time () / 1000;
  jtest_run_set_exit (run, status, start, usage.ru_maxrss);
  run->out = spawn_read_fd (out_fd);
  run->err = spawn_read_fd (err_fd);
  if (options->tty == JTEST_TTY_STDOUT)
    {
      g_free (run->out);
      run->out = g_strdup (terminal->str);
    }
  else if (options->tty == JTEST_TTY_STDERR)
    {
      g_free (run->err);
      run->err = g_strdup (terminal->str);
    }
  if (options->json && run->signal == 0 && !run->timed_out)
    run->json = jtest_parse_object (run->out);
  return run;
}

/**
 * jtest_run_set_exit:
 * A run's status, signal, duration and peak RSS.
 */
void
jtest_run_set_exit (JTestRun *run, int wait_status, gint64 start,
                    gint64 peak_rss)
{
  run->duration = g_get_monotonic_time () - start;
  run->peak_rss = peak_rss;
  if (WIFEXITED (wait_status))
    run->status = WEXITSTATUS (wait_status);
  else
    {
      run->status = -1;
      run->signal = WIFSIGNALED (wait_status) ? WTERMSIG (wait_status) : 0;
    }
}

/**
 * jtest_spawn_logged:
 * jtest_spawn with its command line and stderr in the test's log.
 */
JTestRun *
jtest_spawn_logged (const char *const *argv, const JTestSpawn *options)
{
  g_autoptr(GString) line = g_string_new ("run:");
  const char *plugins = NULL;
  JTestRun *run;

  if (options != NULL && options->env != NULL)
    plugins = g_environ_getenv ((char **) options->env, "JSYNC_PLUGIN_PATH");
  if (plugins != NULL)
    g_string_append_printf (line, " JSYNC_PLUGIN_PATH=%s", plugins);
  for (guint i = 0; argv[i] != NULL; i++)
    g_string_append_printf (line, " '%s'", argv[i]);
  g_test_message ("%s", line->str);

  run = jtest_spawn (argv, options);
  if (*run->err != '\0')
    g_test_message ("stderr:\n%s", run->err);
  if (run->signal != 0)
    g_test_message ("%s did not exit normally (signal %d)", argv[0],
                    run->signal);
  g_assert_cmpint (run->signal, ==, 0);
  return run;
}

/**
 * jtest_run_free:
 * Free a run.
 */
void
jtest_run_free (JTestRun *run)
{
  if (run != NULL)
    {
      g_clear_pointer (&run->json, json_object_put);
      g_free (run->out);
      g_free (run->err);
      g_free (run);
    }
}

/**
 * jtest_parse_object:
 * One strict JSON object, asserted.
 */
json_object *
jtest_parse_object (const char *text)
{
  json_tokener *tokener = json_tokener_new ();
  size_t length = strlen (text);
  json_object *json;

  /* Strict JSON, and every string valid UTF-8, as any consumer wants. */
  json_tokener_set_flags (tokener, JSON_TOKENER_STRICT
                                     | JSON_TOKENER_VALIDATE_UTF8);
  json = json_tokener_parse_ex (tokener, text, (int) length);
  if (json == NULL)
    g_test_message ("stdout: %s", text);
  g_assert_cmpstr (json_tokener_error_desc (json_tokener_get_error (tokener)),
                   ==, json_tokener_error_desc (json_tokener_success));
  g_assert_cmpint (json_object_get_type (json), ==, json_type_object);
  for (size_t i = json_tokener_get_parse_end (tokener); i < length; i++)
    g_assert_true (g_ascii_isspace (text[i]));
  json_tokener_free (tokener);
  return json;
}

/* --- Text -------------------------------------------------------------- */

void
jtest_assert_strings (const char *file, int line, const char *func,
                      const char *expression, const char *text,
                      gboolean present, const char *const *strings)
{
  g_assert_nonnull (text);
  for (guint i = 0; strings[i] != NULL; i++)
    if ((strstr (text, strings[i]) != NULL) != present)
      {
        g_autofree char *message = g_strdup_printf (
            "%s %s \"%s\"", expression,
            present ? "does not hold" : "holds", strings[i]);

        /* The whole text, for the reader of the log: what it held. */
        g_test_message ("%s: %s", expression, text);
        g_assertion_message (G_LOG_DOMAIN, file, line, func, message);
      }
}

/* --- The cache ----------------------------------------------------------- */

gint64
jtest_cache_int (const char *db, const char *sql, const char *arg)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (handle));
  g_assert_nonnull (stmt);
  if (arg != NULL)
    sqlite3_bind_text (stmt, 1, arg, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return value;
}

gint64
jtest_cache_try_int (const char *db, const char *sql, int busy_ms)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
      sqlite3_busy_timeout (handle, busy_ms);
      if (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL) == SQLITE_OK
          && sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
    }
  sqlite3_close (handle);
  return value;
}

char *
jtest_cache_check_fts (const char *db)
{
  static const char *const fts[] = { "workspace_fts", "conversation_fts",
                                     "message_fts" };
  sqlite3 *handle = NULL;
  char *failure = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  /* rank = 1: without it SQLite 3.40 does not compare an external-content
   * index with its table. */
  for (guint i = 0; failure == NULL && i < G_N_ELEMENTS (fts); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s (%s, rank) VALUES ('integrity-check', 1)", fts[i],
          fts[i]);

      if (sqlite3_exec (handle, sql, NULL, NULL, NULL) != SQLITE_OK)
        failure = g_strdup_printf ("%s: %s", fts[i], sqlite3_errmsg (handle));
    }
  sqlite3_close (handle);
  return failure;
}

/* --- JSON members -------------------------------------------------------- */

/**
 * jtest_member:
 * A member that must be there (NULL when its value is JSON null).
 */
json_object *
jtest_member (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value))
    g_test_message ("no key \"%s\" in %s", key,
                    json_object_to_json_string (object));
  g_assert_true (json_object_object_get_ex (object, key, NULL));
  return value;
}

/**
 * jtest_member_int:
 * An integer member.
 */
gint64
jtest_member_int (json_object *object, const char *key)
{
  json_object *value = jtest_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_int);
  return json_object_get_int64 (value);
}

/**
 * jtest_member_str:
 * A string member; NULL when it is JSON null.
 */
const char *
jtest_member_str (json_object *object, const char *key)
{
  json_object *value = jtest_member (object, key);

  if (value == NULL)
    return NULL;
  g_assert_cmpint (json_object_get_type (value), ==, json_type_string);
  return json_object_get_string (value);
}

/**
 * jtest_member_bool:
 * A boolean member.
 */
gboolean
jtest_member_bool (json_object *object, const char *key)
{
  json_object *value = jtest_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_boolean);
  return json_object_get_boolean (value);
}

/**
 * jtest_member_array:
 * An array member.
 */
json_object *
jtest_member_array (json_object *object, const char *key)
{
  json_object *value = jtest_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_array);
  return value;
}

/**
 * jtest_member_len:
 * The length of an array member.
 */
gsize
jtest_member_len (json_object *object, const char *key)
{
  return json_object_array_length (jtest_member_array (object, key));
}

/**
 * jtest_array_has_string:
 * Whether an array holds that string.
 */
gboolean
jtest_array_has_string (json_object *array, const char *text)
{
  for (size_t i = 0; i < json_object_array_length (array); i++)
    if (g_strcmp0 (json_object_get_string (json_object_array_get_idx (array,
                                                                      i)),
                   text)
        == 0)
      return TRUE;
  return FALSE;
}
