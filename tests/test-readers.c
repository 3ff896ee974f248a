/* test-readers.c: the read-only commands (`status`, `failed`, `dump`,
 * `search`) beside a writer (issue 9, "logs that grow while jsync runs").
 *
 * They read a snapshot of the cache without the writer lock and never
 * wait for it: they succeed at once, with what was committed, while a sync
 * holds the lock (<db>.lock) or another SQLite connection holds a write
 * transaction on the cache.  They write nothing: a cache that does not
 * exist yet is not created (it reads as an empty one), and one of another
 * schema is left for the next sync to move aside.
 *
 * The keyfile's lock-timeout is 1 s, so a reader that waits for a lock
 * fails (exit 3) instead of succeeding.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cli-run.h"

/* A word of the example data found in messages and conversations. */
#define FOUND_WORD "outline"

typedef struct
{
  CliFixture cli;
  char *conf;               /* owned: a keyfile with lock-timeout = 1 */
} Fixture;

static void
readers_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) sync = NULL;

  cli_fixture_setup (&f->cli, data);
  f->conf = g_build_filename (f->cli.dir, "jsync.conf", NULL);
  g_file_set_contents (f->conf, "[jsync]\nlock-timeout = 1\n", -1, &error);
  g_assert_no_error (error);
  if (data != NULL)
    return;
  /* The example logs, with one line that is no event (for `failed`). */
  cli_fixture_copy_nexus (&f->cli);
  cli_write (&f->cli, "notes.jsonl", "{\"id\": \"n1\", oops\n");
  sync = CLI_RUN (&f->cli, "sync", "--config", f->conf);
  g_assert_cmpint (sync->status, ==, JSYNC_EXIT_EVENTS_FAILED);
}

static void
readers_teardown (Fixture *f, gconstpointer data)
{
  g_free (f->conf);
  cli_fixture_teardown (&f->cli, data);
}

/* The four read-only commands, each with --json. */
static const char *const reader_commands[][3] = {
  { "status", NULL, NULL },
  { "failed", NULL, NULL },
  { "dump", NULL, NULL },
  { "search", FOUND_WORD, NULL },
};

/* Run one reader with --json and `options` (NULL-terminated); it must
 * succeed (checked before its output is parsed, so that a failure says
 * why). (transfer full) */
static JTestRun *
run_reader_with (CliFixture *f, guint which, const char *const *options)
{
  const char *const *command = reader_commands[which];
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  JTestRun *run;

  for (guint i = 0; options[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) options[i]);
  for (guint i = 0; command[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) command[i]);
  g_ptr_array_add (args, (gpointer) "--json");
  g_ptr_array_add (args, NULL);
  run = cli_run_argv (f, (const char *const *) args->pdata);
  if (run->status != JSYNC_EXIT_OK)
    g_test_message ("%s: exit %d: %s", command[0], run->status, run->err);
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  run->json = json_tokener_parse (run->out);
  g_assert_nonnull (run->json);
  return run;
}

/* One reader's output, with the keyfile. (transfer full) */
static char *
run_reader (Fixture *f, guint which)
{
  const char *const options[] = { "--config", f->conf, NULL };
  g_autoptr(JTestRun) run = run_reader_with (&f->cli, which, options);

  return g_strdup (json_object_to_json_string (run->json));
}

/* Every reader's output. */
static GPtrArray *
run_readers (Fixture *f)
{
  GPtrArray *outputs = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (reader_commands); i++)
    g_ptr_array_add (outputs, run_reader (f, i));
  return outputs;
}

/* What the readers show of the example logs: they are not empty answers. */
static void
assert_outputs_sane (Fixture *f, GPtrArray *outputs)
{
  g_autoptr(json_object) status = json_tokener_parse (outputs->pdata[0]);
  g_autoptr(json_object) failed = json_tokener_parse (outputs->pdata[1]);
  g_autoptr(json_object) dump = json_tokener_parse (outputs->pdata[2]);
  g_autoptr(json_object) search = json_tokener_parse (outputs->pdata[3]);

  g_assert_cmpint (jtest_member_int (status, "eventsApplied"), ==,
                   cli_sql_int (&f->cli, "SELECT count(*) FROM jsync_events"
                                           " WHERE status = 0"));
  g_assert_cmpint (jtest_member_int (status, "eventsApplied"), >, 0);
  g_assert_cmpuint (jtest_member_len (failed, "failed"), ==, 1);
  g_assert_cmpuint (json_object_array_length (jtest_member_array (
                        jtest_member (dump, "tables"), "conversations")),
                    ==, cli_sql_int (&f->cli,
                                       "SELECT count(*) FROM conversations"));
  g_assert_cmpuint (jtest_member_len (search, "results"), >, 0);
}

/* A sync elsewhere holds the writer lock for longer than lock-timeout: the
 * readers neither wait for it nor fail, and read what is committed. */
static void
test_writer_lock (Fixture *f, gconstpointer data)
{
  g_autofree char *lock = g_strconcat (f->cli.db, ".lock", NULL);
  g_autoptr(GPtrArray) locked = NULL;
  g_autoptr(GPtrArray) unlocked = NULL;
  int fd;

  /* As jsync_store_lock() takes it. */
  fd = g_open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  locked = run_readers (f);
  g_assert_cmpint (flock (fd, LOCK_UN), ==, 0);
  close (fd);

  unlocked = run_readers (f);
  for (guint i = 0; i < locked->len; i++)
    g_assert_cmpstr (locked->pdata[i], ==, unlocked->pdata[i]);
  assert_outputs_sane (f, unlocked);
}

/* Another SQLite client holds a write transaction with uncommitted
 * changes: the readers succeed at once and show the committed state. */
static void
test_write_transaction (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) before = run_readers (f);
  g_autoptr(GPtrArray) during = NULL;
  g_autoptr(GPtrArray) after = NULL;
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->cli.db, &db, SQLITE_OPEN_READWRITE,
                                    NULL),
                   ==, SQLITE_OK);
  sqlite3_exec (db,
                "BEGIN IMMEDIATE;"
                "UPDATE conversations SET title = 'uncommitted ' || title;"
                "UPDATE jsync_events SET status = 1 WHERE rowid % 2 = 0;"
                "DELETE FROM jsync_failed;"
                "DELETE FROM messages;",
                NULL, NULL, &message);
  g_assert_cmpstr (message, ==, NULL);
  during = run_readers (f);
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (db);

  after = run_readers (f);
  for (guint i = 0; i < before->len; i++)
    {
      g_assert_cmpstr (during->pdata[i], ==, before->pdata[i]);
      g_assert_cmpstr (after->pdata[i], ==, before->pdata[i]);
    }
  assert_outputs_sane (f, before);
}

/* Before the first sync: the readers show an empty cache and create
 * nothing, not even the cache's folder or the lock file. */
static void
test_no_cache (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->cli.dir, "cache", NULL);
  g_autofree char *db = g_build_filename (folder, "jsync.db", NULL);

  cli_fixture_copy_nexus (&f->cli);
  for (guint i = 0; i < G_N_ELEMENTS (reader_commands); i++)
    {
      const char *const options[] = { "--db", db, NULL };
      g_autoptr(JTestRun) run = run_reader_with (&f->cli, i, options);

      if (i == 0)
        {
          g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==,
                           0);
          g_assert_cmpuint (json_object_array_length (
                                jtest_member_array (run->json, "files")),
                            ==, 0);
          g_assert_nonnull (strstr (run->err, "no cache yet"));
        }
      else if (i == 1)
        g_assert_cmpuint (json_object_array_length (
                              jtest_member_array (run->json, "failed")),
                          ==, 0);
      else if (i == 2)
        g_assert_cmpuint (json_object_array_length (
                              jtest_member_array (jtest_member (run->json,
                                                                "tables"),
                                                    "conversations")),
                          ==, 0);
      else
        g_assert_cmpuint (json_object_array_length (
                              jtest_member_array (run->json, "results")),
                          ==, 0);
      g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
    }
}

/* A cache of an older jsync schema: a reader cannot upgrade it (that
 * writes), so it says so (exit 3) and leaves the file as it is; the next
 * sync moves it aside and rebuilds it. */
static void
test_old_schema (Fixture *f, gconstpointer data)
{
  g_autofree char *aside = g_strconcat (f->cli.db, ".corrupt", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) sync = NULL;
  sqlite3 *db = NULL;

  cli_fixture_copy_nexus (&f->cli);
  g_assert_cmpint (sqlite3_open (f->cli.db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TABLE jsync_meta (key TEXT PRIMARY"
                                 " KEY, value);"
                                 "INSERT INTO jsync_meta VALUES"
                                 " ('core_schema_version', 1);",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  g_file_get_contents (f->cli.db, &before, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (reader_commands); i++)
    {
      const char *const *command = reader_commands[i];
      g_autoptr(JTestRun) run = NULL;

      run = command[1] != NULL ? CLI_RUN (&f->cli, command[0], command[1])
                               : CLI_RUN (&f->cli, command[0]);
      g_assert_cmpint (run->status, ==, JSYNC_EXIT_ENVIRONMENT);
      g_assert_nonnull (strstr (run->err, "core schema version 1"));
      g_assert_nonnull (strstr (run->err, "jsync sync"));
      g_assert_false (g_file_test (aside, G_FILE_TEST_EXISTS));
    }
  g_file_get_contents (f->cli.db, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, before);

  sync = CLI_RUN (&f->cli, "sync");
  g_assert_cmpint (sync->status, ==, JSYNC_EXIT_OK);
  g_assert_true (g_file_test (aside, G_FILE_TEST_IS_REGULAR));
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  /* data: NULL for a synced copy of the example logs, else nothing. */
#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, readers_setup, func, readers_teardown)
  ADD ("/readers/lock/writer-lock", NULL, test_writer_lock);
  ADD ("/readers/lock/write-transaction", NULL, test_write_transaction);
  ADD ("/readers/cache/none", "empty", test_no_cache);
  ADD ("/readers/cache/old-schema", "empty", test_old_schema);
#undef ADD
  return g_test_run ();
}
