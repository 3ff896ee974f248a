/* cli-run.c: the shared fixture of the search, verify, failed and progress
 * tests (see cli-run.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cli-run.h"

static void
cli_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
      || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        cli_remove_tree (child);
      }
  g_rmdir (path);
}

static void
cli_copy_file (const char *from, const char *to, int mode)
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

static void
cli_copy_tree (const char *from, const char *to)
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
        cli_copy_tree (source, target);
      else
        cli_copy_file (source, target, 0644);
    }
}

/* JSYNC_PLUGIN_PATH as the test was started with (meson's build/plugins). */
static const char *
cli_bundled_plugins (void)
{
  static char *path = NULL;

  if (path == NULL)
    {
      const char *env = g_getenv ("JSYNC_PLUGIN_PATH");

      path = env != NULL ? g_strdup (env)
                         : g_test_build_filename (G_TEST_BUILT, "..",
                                                  "plugins", NULL);
    }
  return path;
}

static const char *
cli_bin (void)
{
  static char *bin = NULL;

  if (bin == NULL)
    {
      const char *env = g_getenv ("JSYNC_BIN");

      bin = env != NULL ? g_strdup (env)
                        : g_test_build_filename (G_TEST_BUILT, "..", "jsync",
                                                 NULL);
    }
  return bin;
}

void
cli_fixture_setup (CliFixture *f, gconstpointer data)
{
  const char *bundled = cli_bundled_plugins ();

  f->dir = g_dir_make_tmp ("jsync-test-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->data = g_build_filename (f->dir, "data", NULL);
  f->db = g_build_filename (f->dir, "cache.db", NULL);
  g_assert_cmpint (g_mkdir (f->data, 0755), ==, 0);
  /* G_TEST_OPTION_ISOLATE_DIRS leaves /dev/null in the environment: hand
   * the child GLib's per-test folders themselves. */
  f->env = g_get_environ ();
  f->env = g_environ_setenv (f->env, "HOME", g_get_home_dir (), TRUE);
  f->env = g_environ_setenv (f->env, "XDG_CACHE_HOME", g_get_user_cache_dir (),
                             TRUE);
  f->env = g_environ_setenv (f->env, "XDG_CONFIG_HOME",
                             g_get_user_config_dir (), TRUE);
  f->env = g_environ_setenv (f->env, "XDG_STATE_HOME", g_get_user_state_dir (),
                             TRUE);
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", bundled, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", bundled, TRUE);
  f->config = jsync_config_new ();
  jsync_config_set_data_dir (f->config, f->data);
  jsync_config_set_database (f->config, f->db);
}

void
cli_fixture_teardown (CliFixture *f, gconstpointer data)
{
  cli_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->data);
  g_free (f->db);
  g_strfreev (f->env);
  jsync_config_free (f->config);
}

void
cli_fixture_copy_nexus (CliFixture *f)
{
  const char *nexus = g_test_get_filename (G_TEST_DIST, "data", "nexus", NULL);

  cli_copy_tree (nexus, f->data);
}

char *
cli_fixture_use_fixture_plugins (CliFixture *f, const char *from,
                                 const char *const *names)
{
  static guint serial = 0;
  g_autofree char *source = g_test_build_filename (G_TEST_BUILT, "plugins",
                                                   from, NULL);
  g_autofree char *name = g_strdup_printf ("plugins-%u", ++serial);
  char *folder = g_build_filename (f->dir, name, NULL);

  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *file = g_strconcat (names[i], ".so", NULL);
      g_autofree char *in = g_build_filename (source, file, NULL);
      g_autofree char *out = g_build_filename (folder, file, NULL);

      cli_copy_file (in, out, 0755);
    }
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", folder, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", folder, TRUE);
  return folder;
}

void
cli_write (CliFixture *f, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (f->data, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  FILE *file;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  /* In place (same inode), as a sync tool that rewrites a log would. */
  file = g_fopen (path, "w");
  g_assert_nonnull (file);
  g_assert_cmpint (fputs (text, file), >=, 0);
  g_assert_cmpint (fclose (file), ==, 0);
}

void
cli_append (CliFixture *f, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (f->data, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  FILE *file;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_fopen (path, "a");
  g_assert_nonnull (file);
  g_assert_cmpint (fputs (text, file), >=, 0);
  g_assert_cmpint (fclose (file), ==, 0);
}

JsyncCoordinator *
cli_open (CliFixture *f)
{
  g_autoptr(GError) error = NULL;
  JsyncCoordinator *coordinator = jsync_coordinator_open (f->config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (coordinator);
  return coordinator;
}

JsyncResult *
cli_sync (CliFixture *f)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  JsyncResult *result = jsync_coordinator_sync (coordinator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

void
cli_sql (CliFixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  sqlite3_exec (db, sql, NULL, NULL, &message);
  g_assert_cmpstr (message, ==, NULL);
  sqlite3_close (db);
}

gint64
cli_sql_int (CliFixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_nonnull (stmt);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* --- Running the program -------------------------------------------------- */

static GPtrArray *
cli_argv (CliFixture *f, const char *const *args, gboolean json)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_autoptr(GString) line = g_string_new (cli_bin ());

  g_ptr_array_add (argv, (gpointer) cli_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, f->data);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, f->db);
  for (guint i = 0; args[i] != NULL; i++)
    {
      g_ptr_array_add (argv, (gpointer) args[i]);
      g_string_append_printf (line, " '%s'", args[i]);
    }
  if (json)
    g_ptr_array_add (argv, (gpointer) "--json");
  g_ptr_array_add (argv, NULL);
  g_test_message ("run: JSYNC_PLUGIN_PATH=%s %s%s",
                  g_environ_getenv (f->env, "JSYNC_PLUGIN_PATH"), line->str,
                  json ? " --json" : "");
  return argv;
}

static void
cli_check_exit (CliRun *run, int wait_status)
{
  if (*run->err != '\0')
    g_test_message ("stderr:\n%s", run->err);
  if (!WIFEXITED (wait_status))
    g_test_message ("jsync did not exit normally (wait status %d)",
                    wait_status);
  g_assert_cmpint (WIFEXITED (wait_status), ==, 1);
  run->status = WEXITSTATUS (wait_status);
}

static CliRun *
cli_run_full (CliFixture *f, const char *const *args, gboolean json)
{
  g_autoptr(GPtrArray) argv = cli_argv (f, args, json);
  g_autoptr(GError) error = NULL;
  CliRun *run = g_new0 (CliRun, 1);
  int wait_status = 0;

  g_spawn_sync (f->dir, (char **) argv->pdata, f->env, G_SPAWN_DEFAULT, NULL,
                NULL, &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  cli_check_exit (run, wait_status);
  return run;
}

CliRun *
cli_run_argv (CliFixture *f, const char *const *args)
{
  return cli_run_full (f, args, FALSE);
}

CliRun *
cli_run_json_argv (CliFixture *f, const char *const *args)
{
  CliRun *run = cli_run_full (f, args, TRUE);
  json_tokener *tokener = json_tokener_new ();
  size_t length = strlen (run->out);

  /* Strict JSON, and every string valid UTF-8, as any consumer wants. */
  json_tokener_set_flags (tokener, JSON_TOKENER_STRICT
                                     | JSON_TOKENER_VALIDATE_UTF8);
  run->json = json_tokener_parse_ex (tokener, run->out, (int) length);
  if (run->json == NULL)
    g_test_message ("stdout: %s", run->out);
  g_assert_cmpstr (json_tokener_error_desc (json_tokener_get_error (tokener)),
                   ==, json_tokener_error_desc (json_tokener_success));
  g_assert_cmpint (json_object_get_type (run->json), ==, json_type_object);
  for (size_t i = json_tokener_get_parse_end (tokener); i < length; i++)
    g_assert_true (g_ascii_isspace (run->out[i]));
  json_tokener_free (tokener);
  return run;
}

CliRun *
cli_run_tty_argv (CliFixture *f, gboolean tty_stdout, const char *const *args)
{
  g_autoptr(GPtrArray) argv = cli_argv (f, args, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) terminal = g_string_new (NULL);
  g_autofree char *other_path = NULL;
  g_autofree char *other = NULL;
  struct winsize size = { .ws_row = 24, .ws_col = 100 };
  CliRun *run = g_new0 (CliRun, 1);
  int master, slave, other_fd;
  int wait_status = 0;
  GPid pid;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  g_assert_cmpint (ioctl (master, TIOCSWINSZ, &size), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);
  other_fd = g_file_open_tmp ("jsync-test-XXXXXX", &other_path, &error);
  g_assert_no_error (error);

  g_spawn_async_with_fds (f->dir, (char **) argv->pdata, f->env,
                          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, -1,
                          tty_stdout ? slave : other_fd,
                          tty_stdout ? other_fd : slave, &error);
  g_assert_no_error (error);
  close (slave);
  close (other_fd);
  for (;;)
    {
      char buffer[4096];
      ssize_t n = read (master, buffer, sizeof buffer);

      if (n > 0)
        g_string_append_len (terminal, buffer, n);
      else if (n < 0 && errno == EINTR)
        continue;
      else
        break;                  /* EIO: the child closed the terminal */
    }
  close (master);
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_file_get_contents (other_path, &other, NULL, &error);
  g_assert_no_error (error);
  g_unlink (other_path);
  run->out = tty_stdout ? g_strdup (terminal->str) : g_steal_pointer (&other);
  run->err = tty_stdout ? g_steal_pointer (&other) : g_strdup (terminal->str);
  cli_check_exit (run, wait_status);
  return run;
}

void
cli_run_free (CliRun *run)
{
  if (run == NULL)
    return;
  g_free (run->out);
  g_free (run->err);
  if (run->json != NULL)
    json_object_put (run->json);
  g_free (run);
}

/* --- JSON ----------------------------------------------------------------- */

json_object *
cli_member (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value))
    g_test_message ("no key \"%s\" in %s", key,
                    json_object_to_json_string (object));
  g_assert_true (json_object_object_get_ex (object, key, NULL));
  return value;
}

gint64
cli_member_int (json_object *object, const char *key)
{
  json_object *value = cli_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_int);
  return json_object_get_int64 (value);
}

const char *
cli_member_str (json_object *object, const char *key)
{
  json_object *value = cli_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_string);
  return json_object_get_string (value);
}

gboolean
cli_member_bool (json_object *object, const char *key)
{
  json_object *value = cli_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_boolean);
  return json_object_get_boolean (value);
}

json_object *
cli_member_array (json_object *object, const char *key)
{
  json_object *value = cli_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_array);
  return value;
}
