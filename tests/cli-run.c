/* cli-run.c: the shared fixture of the search, verify, failed and progress
 * tests (see cli-run.h). */
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cli-run.h"

void
cli_fixture_setup (CliFixture *f, gconstpointer data)
{
  const char *bundled = jtest_bundled_plugins ();

  jtest_dirs_make (NULL, "jsync-test", "cache.db", &f->dir, &f->data, &f->db);
  f->env = jtest_child_environ ();
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", bundled, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", bundled, TRUE);
  f->config = jsync_config_new ();
  jsync_config_set_data_dir (f->config, f->data);
  jsync_config_set_database (f->config, f->db);
}

void
cli_fixture_teardown (CliFixture *f, gconstpointer data)
{
  jtest_dirs_free (f->dir, f->data, f->db);
  g_strfreev (f->env);
  jsync_config_free (f->config);
}

void
cli_fixture_setup_nexus (CliFixture *f, gconstpointer data)
{
  g_autoptr(JsyncResult) result = NULL;

  cli_fixture_setup (f, data);
  cli_fixture_copy_nexus (f);
  result = cli_sync (f);
  g_assert_cmpuint (result->events_applied, ==, JTEST_NEXUS_EVENTS);
  g_assert_cmpuint (result->events_failed, ==, 0);
}

void
cli_fixture_copy_nexus (CliFixture *f)
{
  jtest_tree_copy (jtest_nexus_dir (), f->data);
}

char *
cli_fixture_use_fixture_plugins (CliFixture *f, const char *from,
                                 const char *const *names)
{
  static guint serial = 0;
  g_autofree char *name = g_strdup_printf ("plugins-%u", ++serial);
  char *folder = g_build_filename (f->dir, name, NULL);

  jtest_copy_fixture_plugins (from, folder, names);
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", folder, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", folder, TRUE);
  return folder;
}

void
cli_write (CliFixture *f, const char *relative, const char *text)
{
  g_free (jtest_write_below (f->data, relative, text, FALSE));
}

void
cli_append (CliFixture *f, const char *relative, const char *text)
{
  g_free (jtest_write_below (f->data, relative, text, TRUE));
}

JsyncCoordinator *
cli_open (CliFixture *f)
{
  return jtest_open (f->config);
}

JsyncResult *
cli_sync (CliFixture *f)
{
  return jtest_sync (f->config);
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
  return jtest_cache_int (f->db, sql, NULL);
}

/* --- Running the program -------------------------------------------------- */

static JTestRun *
cli_run_full (CliFixture *f, const char *const *args, gboolean json,
              JTestTty tty)
{
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, f->db, args);
  JTestSpawn options = { .cwd = f->dir, .env = f->env, .json = json,
                         .tty = tty };

  if (json)
    g_ptr_array_insert (argv, argv->len - 1, (gpointer) "--json");
  return jtest_spawn_logged ((const char *const *) argv->pdata, &options);
}

JTestRun *
cli_run_argv (CliFixture *f, const char *const *args)
{
  return cli_run_full (f, args, FALSE, JTEST_TTY_NONE);
}

JTestRun *
cli_run_json_argv (CliFixture *f, const char *const *args)
{
  return cli_run_full (f, args, TRUE, JTEST_TTY_NONE);
}

JTestRun *
cli_run_tty_argv (CliFixture *f, gboolean tty_stdout, const char *const *args)
{
  return cli_run_full (f, args, FALSE,
                       tty_stdout ? JTEST_TTY_STDOUT : JTEST_TTY_STDERR);
}
