/* program-harness.c: run the jsync program from a test (program-harness.h). */
#include "program-harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

static const char *
program_bin (void)
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

/**
 * program_new:
 * A scratch folder with an empty data folder, and the child's environment.
 */
Program *
program_new (const char *root)
{
  Program *program = g_new0 (Program, 1);

  program->dir = g_build_filename (root, "jsync-program-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (program->dir));
  program->data = g_build_filename (program->dir, "data", NULL);
  program->db = g_build_filename (program->dir, "cache.db", NULL);
  g_assert_cmpint (g_mkdir (program->data, 0755), ==, 0);
  program->env = g_get_environ ();
  program->env = g_environ_setenv (program->env, "HOME", g_get_home_dir (),
                                   TRUE);
  program->env = g_environ_setenv (program->env, "XDG_CACHE_HOME",
                                   g_get_user_cache_dir (), TRUE);
  program->env = g_environ_setenv (program->env, "XDG_CONFIG_HOME",
                                   g_get_user_config_dir (), TRUE);
  program->env = g_environ_setenv (program->env, "XDG_DATA_HOME",
                                   g_get_user_data_dir (), TRUE);
  program->env = g_environ_setenv (program->env, "XDG_STATE_HOME",
                                   g_get_user_state_dir (), TRUE);
  program->env = g_environ_setenv (program->env, "XDG_RUNTIME_DIR",
                                   g_get_user_runtime_dir (), TRUE);
  if (g_environ_getenv (program->env, "JSYNC_PLUGIN_PATH") == NULL)
    {
      g_autofree char *bundled = g_test_build_filename (G_TEST_BUILT, "..",
                                                        "plugins", NULL);

      program->env = g_environ_setenv (program->env, "JSYNC_PLUGIN_PATH",
                                       bundled, TRUE);
    }
  return program;
}

static void
program_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
      || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        program_remove_tree (child);
      }
  g_rmdir (path);
}

void
program_free (Program *program)
{
  if (program == NULL)
    return;
  program_remove_tree (program->dir);
  g_free (program->dir);
  g_free (program->data);
  g_free (program->db);
  g_strfreev (program->env);
  g_free (program);
}

void
program_run_free (ProgramRun *run)
{
  if (run == NULL)
    return;
  g_free (run->out);
  g_free (run->err);
  if (run->json != NULL)
    json_object_put (run->json);
  g_free (run);
}

static int
program_open_output (const char *path)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static char *
program_read_output (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/**
 * program_spawn:
 * Run the program, perhaps killing it (see the header).
 */
ProgramRun *
program_spawn (Program *program, const char *db, const char *const *args,
               gint64 kill_after, gint64 timeout)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out_path = g_build_filename (program->dir, "stdout.txt",
                                                NULL);
  g_autofree char *err_path = g_build_filename (program->dir, "stderr.txt",
                                                NULL);
  ProgramRun *run = g_new0 (ProgramRun, 1);
  int null_fd = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0);
  int out_fd = program_open_output (out_path);
  int err_fd = program_open_output (err_path);
  struct rusage usage = { 0 };
  gint64 start;
  GPid pid = 0;
  int status = 0;
  pid_t done;

  g_ptr_array_add (argv, (gpointer) program_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, program->data);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, (gpointer) (db != NULL ? db : program->db));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  start = g_get_monotonic_time ();
  g_spawn_async_with_fds (program->dir, (char **) argv->pdata, program->env,
                          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                          null_fd, out_fd, err_fd, &error);
  g_assert_no_error (error);
  close (null_fd);
  close (out_fd);
  close (err_fd);

  if (kill_after >= 0)
    {
      g_usleep (kill_after);
      kill (pid, SIGKILL);
      do
        done = wait4 (pid, &status, 0, &usage);
      while (done < 0 && errno == EINTR);
    }
  else
    for (;;)
      {
        done = wait4 (pid, &status, WNOHANG, &usage);
        if (done < 0 && errno == EINTR)
          continue;
        if (done != 0)
          break;
        if (timeout > 0 && g_get_monotonic_time () - start > timeout)
          {
            run->timed_out = TRUE;
            kill (pid, SIGKILL);
            do
              done = wait4 (pid, &status, 0, &usage);
            while (done < 0 && errno == EINTR);
            break;
          }
        g_usleep (500);
      }
  g_assert_cmpint (done, ==, pid);
  run->duration = g_get_monotonic_time () - start;
  run->peak_rss = usage.ru_maxrss;
  if (WIFEXITED (status))
    run->status = WEXITSTATUS (status);
  else
    {
      run->status = -1;
      run->signal = WIFSIGNALED (status) ? WTERMSIG (status) : 0;
    }
  run->out = program_read_output (out_path);
  run->err = program_read_output (err_path);
  return run;
}

/* Parse stdout as exactly one JSON object and nothing else. */
static json_object *
program_parse_object (const char *text)
{
  json_tokener *tokener = json_tokener_new ();
  size_t length = strlen (text);
  json_object *json = json_tokener_parse_ex (tokener, text, (int) length);
  enum json_tokener_error status = json_tokener_get_error (tokener);
  size_t end = json_tokener_get_parse_end (tokener);

  if (status != json_tokener_success)
    g_test_message ("stdout: %s", text);
  g_assert_cmpstr (json_tokener_error_desc (status), ==,
                   json_tokener_error_desc (json_tokener_success));
  g_assert_cmpint (json_object_get_type (json), ==, json_type_object);
  for (size_t i = end; i < length; i++)
    g_assert_true (g_ascii_isspace (text[i]));
  json_tokener_free (tokener);
  return json;
}

/**
 * program_run:
 * Run to the end, logged; parse --json output.
 */
ProgramRun *
program_run (Program *program, const char *const *args)
{
  g_autofree char *line = g_strjoinv (" ", (char **) args);
  ProgramRun *run = program_spawn (program, NULL, args, -1,
                                   60 * G_USEC_PER_SEC);
  gboolean json = FALSE;

  g_test_message ("run: jsync %s → exit %d, %" G_GINT64_FORMAT " ms, peak %"
                  G_GINT64_FORMAT " KiB", line, run->status,
                  run->duration / 1000, run->peak_rss);
  if (*run->err != '\0')
    g_test_message ("stderr:\n%s", run->err);
  g_assert_false (run->timed_out);
  g_assert_cmpint (run->signal, ==, 0);
  for (guint i = 0; args[i] != NULL; i++)
    if (strcmp (args[i], "--json") == 0)
      json = TRUE;
  if (json)
    run->json = program_parse_object (run->out);
  return run;
}

/**
 * program_dump:
 * Every table of a cache, through `jsync dump`.
 */
json_object *
program_dump (Program *program, const char *db)
{
  const char *const args[] = { "dump", NULL };
  g_autoptr(ProgramRun) run = program_spawn (program, db, args, -1,
                                             60 * G_USEC_PER_SEC);

  if (run->status != 0)
    g_test_message ("jsync dump: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  return program_parse_object (run->out);
}

/**
 * program_compare_caches:
 * Which table differs between two caches, if any.
 */
char *
program_compare_caches (Program *program, const char *a, const char *b)
{
  json_object *x = program_dump (program, a);
  json_object *y = program_dump (program, b);
  char *difference = NULL;

  json_object_object_foreach (y, table, rows)
    {
      json_object *other = NULL;

      json_object_object_get_ex (x, table, &other);
      if (difference == NULL && !json_object_equal (other, rows))
        difference = g_strdup_printf (
            "table %s differs:\n  %s: %s\n  %s: %s", table, a,
            other != NULL ? json_object_to_json_string (other) : "(none)", b,
            json_object_to_json_string (rows));
    }
  if (difference == NULL
      && json_object_object_length (x) != json_object_object_length (y))
    difference = g_strdup ("the lists of tables differ");
  json_object_put (x);
  json_object_put (y);
  return difference;
}

/**
 * program_check_fts:
 * FTS5 integrity-check (with rank = 1, which SQLite 3.40 needs to compare
 * an external-content index with its table) on every index of a cache.
 */
char *
program_check_fts (const char *db)
{
  static const char *const fts[] = { "workspace_fts", "conversation_fts",
                                     "message_fts" };
  sqlite3 *handle = NULL;
  char *failure = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  for (guint i = 0; failure == NULL && i < G_N_ELEMENTS (fts); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", fts[i],
          fts[i]);

      if (sqlite3_exec (handle, sql, NULL, NULL, NULL) != SQLITE_OK)
        failure = g_strdup_printf ("%s: %s", fts[i], sqlite3_errmsg (handle));
    }
  sqlite3_close (handle);
  return failure;
}

/**
 * program_query_int:
 * One integer from a cache.
 */
gint64
program_query_int (const char *db, const char *sql)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (handle));
  g_assert_nonnull (stmt);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return value;
}

/**
 * program_member:
 * A member that must be there.
 */
json_object *
program_member (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value))
    g_test_message ("no \"%s\" in %s", key, json_object_to_json_string (object));
  g_assert_true (json_object_object_get_ex (object, key, NULL));
  return value;
}

/**
 * program_member_int:
 * An integer member that must be there.
 */
gint64
program_member_int (json_object *object, const char *key)
{
  json_object *value = program_member (object, key);

  g_assert_cmpint (json_object_get_type (value), ==, json_type_int);
  return json_object_get_int64 (value);
}
