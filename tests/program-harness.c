/* program-harness.c: run the jsync program from a test (program-harness.h). */
#include "program-harness.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

/**
 * program_new:
 * A scratch folder with an empty data folder, and the child's environment.
 */
Program *
program_new (const char *root)
{
  Program *program = g_new0 (Program, 1);

  jtest_dirs_make (root, "jsync-program", "cache.db", &program->dir,
                   &program->data, &program->db);
  program->env = jtest_child_environ ();
  return program;
}

void
program_free (Program *program)
{
  if (program == NULL)
    return;
  jtest_dirs_free (program->dir, program->data, program->db);
  g_strfreev (program->env);
  g_free (program);
}

/**
 * program_spawn:
 * Run the program, perhaps killing it (see the header).
 */
JTestRun *
program_spawn (Program *program, const char *db, const char *const *args,
               gint64 kill_after, gint64 timeout)
{
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (program->data,
                                                db != NULL ? db : program->db,
                                                args);
  JTestSpawn options = { .cwd = program->dir, .env = program->env,
                         .kill_signal = kill_after >= 0 ? SIGKILL : 0,
                         .kill_after = kill_after,
                         .timeout_ms = timeout > 0 ? MAX (timeout / 1000, 1)
                                                   : 0 };

  return jtest_spawn ((const char *const *) argv->pdata, &options);
}

/**
 * program_run:
 * Run to the end, logged; parse --json output.
 */
JTestRun *
program_run (Program *program, const char *const *args)
{
  g_autofree char *line = g_strjoinv (" ", (char **) args);
  JTestRun *run = program_spawn (program, NULL, args, -1,
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
    run->json = jtest_parse_object (run->out);
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
  g_autoptr(JTestRun) run = program_spawn (program, db, args, -1,
                                             60 * G_USEC_PER_SEC);

  if (run->status != 0)
    g_test_message ("jsync dump: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  return jtest_parse_object (run->out);
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

char *
program_check_fts (const char *db)
{
  return jtest_cache_check_fts (db);
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
