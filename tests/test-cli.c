/* test-cli.c: the jsync program as a user runs it (docs/design.md "The
 * program's interface").
 *
 * Every case spawns the built binary (JSYNC_BIN) over a data folder made in
 * a fresh temp folder, with the cache inside that folder too, and checks
 * what a user would: the exit status, the one JSON object that --json
 * prints on stdout, the messages on stderr, and the cache itself (through
 * `jsync dump` or sqlite3).  The appliers are the bundled ones
 * (JSYNC_PLUGIN_PATH as meson sets it), the fixture folder
 * (build/tests/plugins: echo, reject and broken modules), or a private
 * folder holding copies of echo.so and reject.so alone, for runs whose
 * stderr must not carry the broken fixtures' warnings.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <jsync/jsync-plugin.h>
#include <sqlite3.h>

#include "jsync-test.h"


typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: the data folder, dir/data */
  char *db;                     /* owned: dir/cache.db */
  char **env;                   /* owned: the child's environment */
  const char *cwd;              /* borrowed: the child's folder, dir */
} Fixture;

/* --- Files ---------------------------------------------------------------- */

static char *
data_path (Fixture *f, const char *relative)
{
  return g_build_filename (f->data, relative, NULL);
}

/* Write (or replace, in place: same inode) a file of the data folder. */
static void
write_data (Fixture *f, const char *relative, const char *text)
{
  g_free (jtest_write_below (f->data, relative, text, FALSE));
}

static void
append_data (Fixture *f, const char *relative, const char *text)
{
  g_free (jtest_write_below (f->data, relative, text, TRUE));
}

static char *
write_keyfile (Fixture *f, const char *text)
{
  return jtest_write_below (f->dir, "jsync.conf", text, FALSE);
}

/* One event line for the echo (or reject) fixture, with its "\n". */
static char *
event_line (const char *id, const char *type, gint64 timestamp,
            const char *data)
{
  return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"%s\",\"timestamp\":%"
                          G_GINT64_FORMAT ",\"deviceId\":\"dev-a\"%s%s}\n",
                          id, type, timestamp, data != NULL ? ",\"data\":" : "",
                          data != NULL ? data : "");
}

static void
append_event (Fixture *f, const char *relative, const char *id,
              const char *type, gint64 timestamp)
{
  g_autofree char *line = event_line (id, type, timestamp, NULL);

  append_data (f, relative, line);
}

/* --- Fixture -------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  jtest_dirs_make (NULL, "jsync-cli", "cache.db", &f->dir, &f->data, &f->db);
  f->cwd = f->dir;
  f->env = jtest_child_environ ();
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  jtest_dirs_free (f->dir, f->data, f->db);
  g_strfreev (f->env);
}

static void
fixture_set_plugin_path (Fixture *f, const char *path)
{
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", path, TRUE);
}

/* Use the fixture folder with its broken modules (warnings on stderr). */
static void
fixture_use_fixture_plugins (Fixture *f)
{
  g_autofree char *dir = jtest_fixture_plugins ("");

  fixture_set_plugin_path (f, dir);
}

/* Use a private folder holding only echo.so and reject.so. */
static void
fixture_use_echo_plugins (Fixture *f)
{
  static const char *const names[] = { "echo", "reject", NULL };
  g_autofree char *dir = g_build_filename (f->dir, "plugins", NULL);

  jtest_copy_fixture_plugins ("", dir, names);
  fixture_set_plugin_path (f, dir);
}

static void
fixture_copy_nexus (Fixture *f)
{
  jtest_tree_remove (f->data);
  jtest_tree_copy (jtest_nexus_dir (), f->data);
}

/* --- Running the program -------------------------------------------------- */

static JTestRun *
run_argv (Fixture *f, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  JTestSpawn options = { .cwd = f->cwd, .env = f->env };

  g_ptr_array_add (argv, (gpointer) jtest_bin ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return jtest_spawn_logged ((const char *const *) argv->pdata, &options);
}

#define RUN(f, ...) run_argv ((f), (const char *const[]) { __VA_ARGS__, NULL })

/* Run with --data-dir and --db of the fixture, then the given arguments. */
static JTestRun *
run_here_argv (Fixture *f, const char *const *args)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();

  g_ptr_array_add (all, (gpointer) "--data-dir");
  g_ptr_array_add (all, f->data);
  g_ptr_array_add (all, (gpointer) "--db");
  g_ptr_array_add (all, f->db);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (all, (gpointer) args[i]);
  g_ptr_array_add (all, NULL);
  return run_argv (f, (const char *const *) all->pdata);
}

#define RUN_HERE(f, ...) \
  run_here_argv ((f), (const char *const[]) { __VA_ARGS__, NULL })

/* Run a --json command here and parse its stdout. */
static JTestRun *
run_json_argv (Fixture *f, const char *const *args)
{
  JTestRun *run = run_here_argv (f, args);

  run->json = jtest_parse_object (run->out);
  return run;
}

#define RUN_JSON(f, ...) \
  run_json_argv ((f), (const char *const[]) { __VA_ARGS__, "--json", NULL })

/* --- JSON ----------------------------------------------------------------- */

/* The sync or rebuild object: every documented key, of its type. */
static void
assert_result_shape (JTestRun *run, const char *command)
{
  json_object *json = run->json;

  g_assert_cmpint (jtest_member_int (json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (json, "command"), ==, command);
  jtest_member_bool (json, "success");
  g_assert_cmpint (jtest_member_int (json, "eventsApplied"), >=, 0);
  g_assert_cmpint (jtest_member_int (json, "eventsSkipped"), >=, 0);
  g_assert_cmpint (jtest_member_int (json, "eventsFailed"), >=, 0);
  g_assert_cmpint (jtest_member_int (json, "eventsPending"), >=, 0);
  jtest_member_array (json, "errors");
  g_assert_cmpint (jtest_member_int (json, "duration"), >=, 0);
  g_assert_cmpint (jtest_member_int (json, "duration"), <=,
                   run->ended - run->started + 1);
  jtest_member_array (json, "filesProcessed");
  jtest_member_array (json, "filesReread");
  jtest_member_array (json, "lostEvents");
  g_assert_cmpint (jtest_member_int (json, "lastSyncTimestamp"), >=,
                   run->started - 1000);
  g_assert_cmpint (jtest_member_int (json, "lastSyncTimestamp"), <=,
                   run->ended + 1000);
}

static void
assert_counts (json_object *json, gint64 applied, gint64 skipped,
               gint64 failed, gint64 pending)
{
  g_assert_cmpint (jtest_member_int (json, "eventsApplied"), ==, applied);
  g_assert_cmpint (jtest_member_int (json, "eventsSkipped"), ==, skipped);
  g_assert_cmpint (jtest_member_int (json, "eventsFailed"), ==, failed);
  g_assert_cmpint (jtest_member_int (json, "eventsPending"), ==, pending);
}

/* `jsync <command> --json`, asserted to exit 0 with these counts.
 * (transfer full) */
static JTestRun *
run_counts (Fixture *f, const char *command, gint64 applied, gint64 skipped,
            gint64 failed, gint64 pending)
{
  JTestRun *run = RUN_JSON (f, command);

  g_assert_cmpint (run->status, ==, 0);
  assert_counts (run->json, applied, skipped, failed, pending);
  return run;
}

/* With the echo appliers: events a, b and c (echo_t, at 1, 2 and 3)
 * appended to the logs named, then a sync that applies the three.
 * (transfer full) */
static JTestRun *
sync_abc (Fixture *f, const char *a_log, const char *b_log,
          const char *c_log)
{
  fixture_use_echo_plugins (f);
  append_event (f, a_log, "a", "echo_t", 1);
  append_event (f, b_log, "b", "echo_t", 2);
  append_event (f, c_log, "c", "echo_t", 3);
  return run_counts (f, "sync", 3, 0, 0, 0);
}

static void
assert_files_processed (json_object *json, const char *const *files)
{
  json_object *array = jtest_member_array (json, "filesProcessed");
  guint n = files != NULL ? g_strv_length ((char **) files) : 0;

  if (json_object_array_length (array) != n)
    g_test_message ("filesProcessed: %s", json_object_to_json_string (array));
  g_assert_cmpuint (json_object_array_length (array), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_true (jtest_array_has_string (array, files[i]));
}

/* --- The cache ------------------------------------------------------------ */

static sqlite3 *
open_cache (Fixture *f)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  return db;
}

static gint64
cache_count (Fixture *f, const char *sql)
{
  return jtest_cache_int (f->db, sql, NULL);
}

static gboolean
cache_has_table (Fixture *f, const char *table)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
      table);

  return cache_count (f, sql) > 0;
}

static gboolean
column_holds_json (const char *table, const char *column)
{
  static const char *const json_columns[][2] = {
    { "conversations", "metadataJson" },
    { "states", "tagsJson" },
    { "messages", "toolCallsJson" },
    { "messages", "alternativesJson" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (json_columns); i++)
    if (strcmp (table, json_columns[i][0]) == 0
        && strcmp (column, json_columns[i][1]) == 0)
      return TRUE;
  return FALSE;
}

static void
assert_cell_equal (const char *table, gsize row, const char *column,
                   json_object *expected, json_object *actual)
{
  if (column_holds_json (table, column) && expected != NULL && actual != NULL
      && json_object_is_type (expected, json_type_string)
      && json_object_is_type (actual, json_type_string))
    {
      json_object *e = json_tokener_parse (json_object_get_string (expected));
      json_object *a = json_tokener_parse (json_object_get_string (actual));
      gboolean equal;

      g_assert_nonnull (e);
      g_assert_nonnull (a);
      equal = json_object_equal (e, a);
      json_object_put (e);
      json_object_put (a);
      if (equal)
        return;
    }
  else if (json_object_equal (expected, actual))
    return;
  g_test_message ("%s[%" G_GSIZE_FORMAT "].%s: expected %s, got %s", table,
                  row, column, json_object_to_json_string (expected),
                  json_object_to_json_string (actual));
  g_assert_cmpstr (json_object_to_json_string (actual), ==,
                   json_object_to_json_string (expected));
}

/* `jsync dump` equals tests/data/nexus.expected.json. */
static void
assert_dump_is_nexus (Fixture *f)
{
  g_autoptr(JTestRun) run = RUN_HERE (f, "dump");
  const char *path = g_test_get_filename (G_TEST_DIST, "data", "nexus.expected.json",
                                          NULL);
  json_object *expected = json_object_from_file (path);
  json_object *actual;

  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (expected);
  actual = jtest_parse_object (run->out);
  g_assert_cmpint (json_object_object_length (actual), ==,
                   json_object_object_length (expected));
  json_object_object_foreach (expected, table, rows)
    {
      json_object *got = jtest_member_array (actual, table);

      g_assert_cmpuint (json_object_array_length (got), ==,
                        json_object_array_length (rows));
      for (gsize i = 0; i < json_object_array_length (rows); i++)
        {
          json_object *want_row = json_object_array_get_idx (rows, i);
          json_object *got_row = json_object_array_get_idx (got, i);

          g_assert_cmpint (json_object_object_length (got_row), ==,
                           json_object_object_length (want_row));
          json_object_object_foreach (want_row, column, value)
            assert_cell_equal (table, i, column, value,
                               jtest_member (got_row, column));
        }
    }
  json_object_put (actual);
  json_object_put (expected);
}

static gsize
expected_rows (const char *table)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data", "nexus.expected.json",
                                          NULL);
  json_object *expected = json_object_from_file (path);
  gsize n;

  g_assert_nonnull (expected);
  n = jtest_member_len (expected, table);
  json_object_put (expected);
  return n;
}

/* --- 1. The example data -------------------------------------------------- */

static void
test_example_sync (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  json_object *files;

  fixture_copy_nexus (f);
  first = RUN_HERE (f, "sync", "--json");
  g_assert_cmpint (first->status, ==, 0);
  first->json = jtest_parse_object (first->out);
  assert_result_shape (first, "sync");
  g_assert_true (jtest_member_bool (first->json, "success"));
  assert_counts (first->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  g_assert_cmpuint (jtest_member_len (first->json, "errors"), ==, 0);
  g_assert_cmpuint (jtest_member_len (first->json, "filesReread"), ==, 0);
  g_assert_cmpuint (jtest_member_len (first->json, "lostEvents"), ==, 0);
  files = jtest_member_array (first->json, "filesProcessed");
  g_assert_cmpuint (json_object_array_length (files), ==, JTEST_NEXUS_FILES);
  for (gsize i = 0; i < json_object_array_length (files); i++)
    {
      const char *file = json_object_get_string (
          json_object_array_get_idx (files, i));
      g_autofree char *path = data_path (f, file);

      g_assert_false (g_path_is_absolute (file));
      g_assert_true (g_str_has_suffix (file, ".jsonl"));
      g_assert_true (g_str_has_prefix (file, "conversations/conv_")
                     || g_str_has_prefix (file, "workspaces/ws_"));
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    }
  g_assert_true (jtest_array_has_string (files,
                                         "workspaces/ws_default.jsonl"));
  g_assert_true (jtest_array_has_string (
      files, "conversations/conv_conv_1733412345678_k3j9x2m1q.jsonl"));

  second = RUN_JSON (f, "sync");
  g_assert_cmpint (second->status, ==, 0);
  assert_result_shape (second, "sync");
  g_assert_true (jtest_member_bool (second->json, "success"));
  assert_counts (second->json, 0, 0, 0, 0);
  assert_files_processed (second->json, NULL);
  g_assert_cmpuint (jtest_member_len (second->json, "errors"), ==, 0);
}

static void
test_example_dump (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) wrapped = NULL;

  fixture_copy_nexus (f);
  sync = RUN_HERE (f, "sync");
  g_assert_cmpint (sync->status, ==, 0);
  assert_dump_is_nexus (f);

  /* dump --json wraps the same tables. */
  wrapped = RUN_JSON (f, "dump");
  g_assert_cmpint (wrapped->status, ==, 0);
  g_assert_cmpint (jtest_member_int (wrapped->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (wrapped->json, "command"), ==, "dump");
  g_assert_cmpuint (jtest_member_len (jtest_member (wrapped->json, "tables"),
                                      "messages"),
                    ==, expected_rows ("messages"));
}

/* The events a cache at `db` holds, by `status` of the program. */
static gint64
status_applied (Fixture *f, const char *db)
{
  g_autoptr(JTestRun) status = RUN (f, "--data-dir", f->data, "--db", db,
                                    "status", "--json");

  g_assert_cmpint (status->status, ==, 0);
  status->json = jtest_parse_object (status->out);
  return jtest_member_int (status->json, "eventsApplied");
}

static void
test_example_rebuild (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) rebuild = NULL;
  g_autoptr(JTestRun) kept = NULL;
  g_autoptr(JTestRun) keyed = NULL;
  g_autoptr(JTestRun) plain = NULL;
  g_autofree char *previous = g_strconcat (f->db, ".previous", NULL);
  g_autofree char *previous_wal = g_strconcat (previous, "-wal", NULL);
  g_autofree char *conf = write_keyfile (f, "[jsync]\nkeep-previous = true\n");
  g_autofree char *line = jtest_metadata_line ("x1", "d", 1000, "cx", "T");
  g_autofree char *extra = NULL;

  fixture_copy_nexus (f);
  sync = RUN_HERE (f, "sync");
  g_assert_cmpint (sync->status, ==, 0);
  g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));

  /* By default the replaced cache is removed: no second copy. */
  rebuild = RUN_JSON (f, "rebuild");
  g_assert_cmpint (rebuild->status, ==, 0);
  assert_result_shape (rebuild, "rebuild");
  g_assert_true (jtest_member_bool (rebuild->json, "success"));
  assert_counts (rebuild->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  g_assert_cmpuint (jtest_member_len (rebuild->json, "errors"), ==, 0);
  g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));
  assert_dump_is_nexus (f);

  /* --keep-previous keeps it whole: the cache before one more event. */
  extra = g_build_filename (f->data, "extra.jsonl", NULL);
  jtest_write_text (extra, line, FALSE);
  kept = RUN_HERE (f, "rebuild", "--keep-previous");
  g_assert_cmpint (kept->status, ==, 0);
  g_assert_true (g_file_test (previous, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (status_applied (f, previous), ==, JTEST_NEXUS_EVENTS);
  g_assert_cmpint (status_applied (f, f->db), ==, JTEST_NEXUS_EVENTS + 1);

  /* So does the keyfile's keep-previous; a plain rebuild then removes
   * the copy an earlier one kept, with its side files. */
  g_assert_cmpint (g_unlink (previous), ==, 0);
  keyed = RUN_HERE (f, "rebuild", "--config", conf);
  g_assert_cmpint (keyed->status, ==, 0);
  g_assert_true (g_file_test (previous, G_FILE_TEST_IS_REGULAR));
  jtest_write_text (previous_wal, "", FALSE);
  plain = RUN_HERE (f, "rebuild");
  g_assert_cmpint (plain->status, ==, 0);
  g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (previous_wal, G_FILE_TEST_EXISTS));
  g_assert_cmpint (status_applied (f, f->db), ==, JTEST_NEXUS_EVENTS + 1);
}

static void
assert_fts_ok (sqlite3 *db, const char *table)
{
  g_autofree char *sql = g_strdup_printf (
      "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", table, table);
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  if (rc != SQLITE_OK)
    g_test_message ("%s: %s", sql, message);
  sqlite3_free (message);
  g_assert_cmpint (rc, ==, SQLITE_OK);
}

static void
test_example_fts (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) sync = NULL;
  sqlite3 *db;
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;
  int rc;

  fixture_copy_nexus (f);
  sync = RUN_HERE (f, "sync");
  g_assert_cmpint (sync->status, ==, 0);

  db = open_cache (f);
  assert_fts_ok (db, "workspace_fts");
  assert_fts_ok (db, "conversation_fts");
  assert_fts_ok (db, "message_fts");

  /* Upstream's search, on a word of one message's content. */
  g_assert_cmpint (sqlite3_prepare_v2 (
                       db,
                       "SELECT m.id FROM messages m JOIN message_fts f"
                       " ON m.id = f.id WHERE message_fts MATCH ?"
                       " ORDER BY m.timestamp DESC",
                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, "frontmatter", -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0),
                   "33e6272e-d2bc-4ab6-b4a4-9542e1a2efd6") == 0)
      found = TRUE;
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  g_assert_true (found);
  sqlite3_finalize (stmt);

  g_assert_cmpint (sqlite3_prepare_v2 (
                       db,
                       "SELECT count(*) FROM workspaces w JOIN workspace_fts f"
                       " ON w.id = f.id WHERE workspace_fts MATCH 'garden'",
                       -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* A clean run of the example data says nothing alarming on stderr: no GLib
 * criticals (assertion failures betray memory misuse in the core). */
static void
test_example_clean_stderr (Fixture *f, gconstpointer user_data)
{
  const char *const commands[] = { "sync", "sync", "rebuild", "status",
                                   "plugins", "dump" };

  fixture_copy_nexus (f);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(JTestRun) run = RUN_HERE (f, commands[i], "--json");

      g_assert_cmpint (run->status, ==, 0);
      jtest_assert_lacks (run->err, "assertion", "CRITICAL", "error:");
    }
}

/* --- 2. Options ----------------------------------------------------------- */

static void
test_options_position (Fixture *f, gconstpointer user_data)
{
  g_autofree char *db_after = g_build_filename (f->dir, "after.db", NULL);
  g_autoptr(JTestRun) before = NULL;
  g_autoptr(JTestRun) after = NULL;
  g_autoptr(JTestRun) dump_before = NULL;
  g_autoptr(JTestRun) dump_after = NULL;

  fixture_copy_nexus (f);
  before = RUN (f, "--data-dir", f->data, "--db", f->db, "--json", "sync");
  after = RUN (f, "sync", "--data-dir", f->data, "--db", db_after, "--json");
  g_assert_cmpint (before->status, ==, 0);
  g_assert_cmpint (after->status, ==, 0);
  before->json = jtest_parse_object (before->out);
  after->json = jtest_parse_object (after->out);
  assert_result_shape (before, "sync");
  assert_result_shape (after, "sync");
  assert_counts (before->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  assert_counts (after->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  g_assert_true (json_object_equal (
      jtest_member (before->json, "filesProcessed"),
      jtest_member (after->json, "filesProcessed")));
  g_assert_true (g_file_test (db_after, G_FILE_TEST_IS_REGULAR));

  dump_before = RUN (f, "dump", "--db", f->db, "--data-dir", f->data);
  dump_after = RUN (f, "--db", db_after, "--data-dir", f->data, "dump");
  g_assert_cmpint (dump_before->status, ==, 0);
  g_assert_cmpint (dump_after->status, ==, 0);
  g_assert_cmpstr (dump_before->out, ==, dump_after->out);
}

static void
test_options_version (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN (f, "--version");

  g_assert_cmpint (run->status, ==, 0);
  g_assert_true (g_str_has_prefix (run->out, "jsync "));
  g_assert_true (g_ascii_isdigit (run->out[strlen ("jsync ")]));
  g_assert_true (g_str_has_prefix (run->out, "jsync 0.1.0"));
  /* The ABI the program's core loads plugins for is the header's. */
  {
    g_autofree char *abi = g_strdup_printf ("(applier ABI %d.%d)\n",
                                            JSYNC_ABI_MAJOR, JSYNC_ABI_MINOR);

    g_assert_true (g_str_has_suffix (run->out, abi));
  }
}

static void
test_options_help (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN (f, "--help");
  const char *const words[] = { "sync", "rebuild", "status", "plugins", "dump",
                                "--data-dir", "--db", "--json" };

  g_assert_cmpint (run->status, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    g_assert_nonnull (strstr (run->out, words[i]));
}

static void
test_options_unknown_command (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN_HERE (f, "frobnicate");

  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, "frobnicate"));
  g_assert_cmpstr (run->out, ==, "");
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
}

static void
test_options_unknown_option (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN_HERE (f, "sync", "--frobnicate");
  g_autoptr(JTestRun) extra = RUN_HERE (f, "sync", "status");

  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, "--frobnicate"));
  g_assert_cmpstr (run->out, ==, "");
  /* Two commands are a usage error too. */
  g_assert_cmpint (extra->status, ==, 2);
  g_assert_cmpstr (extra->out, ==, "");
  g_assert_cmpstr (extra->err, !=, "");
}

static void
test_options_batch_size (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) zero = RUN_HERE (f, "sync", "--batch-size", "0");
  g_autoptr(JTestRun) word = RUN_HERE (f, "sync", "--batch-size", "ten");
  g_autoptr(JTestRun) small = NULL;

  g_assert_cmpint (zero->status, ==, 2);
  g_assert_nonnull (strstr (zero->err, "batch-size"));
  g_assert_cmpint (word->status, ==, 2);

  /* A tiny batch gives the same cache. */
  fixture_copy_nexus (f);
  small = RUN_JSON (f, "sync", "--batch-size", "7");
  g_assert_cmpint (small->status, ==, 0);
  assert_counts (small->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  assert_dump_is_nexus (f);
}

static void
test_options_quiet (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) quiet = NULL;
  g_autoptr(JTestRun) json = NULL;
  g_autoptr(JTestRun) verbose = NULL;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  quiet = RUN_HERE (f, "sync", "--quiet");
  g_assert_cmpint (quiet->status, ==, 0);
  g_assert_cmpstr (quiet->out, ==, "");
  append_event (f, "a.jsonl", "a2", "echo_x", 2);
  json = RUN_JSON (f, "-q", "sync");
  g_assert_cmpint (json->status, ==, 0);
  assert_counts (json->json, 1, 0, 0, 0);
  append_event (f, "a.jsonl", "a3", "echo_x", 3);
  verbose = RUN_JSON (f, "-v", "sync", "-v");
  g_assert_cmpint (verbose->status, ==, 0);
  assert_counts (verbose->json, 1, 0, 0, 0);
}

/* No --data-dir: the current folder; no --db: a cache under
 * $XDG_CACHE_HOME/jsync (isolated by the test framework). */
static void
test_options_defaults (Fixture *f, gconstpointer user_data)
{
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "jsync",
                                             NULL);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) again = NULL;
  const char *name;
  guint dbs = 0;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  f->cwd = f->data;
  run = RUN (f, "--json");
  g_assert_cmpint (run->status, ==, 0);
  run->json = jtest_parse_object (run->out);
  assert_result_shape (run, "sync");
  assert_counts (run->json, 1, 0, 0, 0);

  dir = g_dir_open (cache, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".db"))
      dbs++;
  g_assert_cmpuint (dbs, ==, 1);
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));

  /* The same cache is found again. */
  again = RUN (f, "sync", "--json");
  g_assert_cmpint (again->status, ==, 0);
  again->json = jtest_parse_object (again->out);
  assert_counts (again->json, 0, 0, 0, 0);
}

/* --- 3. Usage and configuration errors: exit 2 ---------------------------- */

static void
test_config_missing_data_dir (Fixture *f, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (f->dir, "no-such-folder", NULL);
  g_autoptr(JTestRun) run = RUN (f, "sync", "--data-dir", missing, "--db",
                                 f->db, "--json");

  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, missing));
  g_assert_cmpstr (run->out, ==, "");
}

static void
test_config_missing_keyfile (Fixture *f, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (f->dir, "nope.conf", NULL);
  g_autoptr(JTestRun) run = RUN_HERE (f, "sync", "--config", missing);

  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, missing));
}

static void
test_config_malformed_value (Fixture *f, gconstpointer user_data)
{
  g_autofree char *conf = write_keyfile (f, "[jsync]\nbatch-size=ten\n");
  g_autoptr(JTestRun) run = RUN_HERE (f, "sync", "--config", conf);

  g_assert_cmpint (run->status, ==, 2);
  jtest_assert_has (run->err, conf, "[jsync]", "batch-size");
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
}

static void
test_config_missing_plugins_dir (Fixture *f, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (f->dir, "no-plugins", NULL);
  g_autofree char *conf = NULL;
  g_autofree char *text = g_strdup_printf ("[jsync]\nplugins-dir=%s\n",
                                           missing);
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) keyed = NULL;

  /* Named folders must exist even while JSYNC_PLUGIN_PATH overrides them. */
  run = RUN_HERE (f, "sync", "--plugins-dir", missing);
  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, missing));
  conf = write_keyfile (f, text);
  keyed = RUN_HERE (f, "sync", "--config", conf);
  g_assert_cmpint (keyed->status, ==, 2);
  g_assert_nonnull (strstr (keyed->err, missing));
}

/* Without JSYNC_PLUGIN_PATH, --plugins-dir is searched (first). */
static void
test_config_plugins_dir (Fixture *f, gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->dir, "plugins", NULL);
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) plugins = NULL;

  fixture_use_echo_plugins (f);
  f->env = g_environ_unsetenv (f->env, "JSYNC_PLUGIN_PATH");
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  run = RUN_JSON (f, "sync", "--plugins-dir", dir);
  g_assert_cmpint (run->status, ==, 0);
  assert_counts (run->json, 1, 0, 0, 0);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 1);
  plugins = RUN_JSON (f, "plugins", "--plugins-dir", dir);
  g_assert_cmpint (plugins->status, ==, 0);
  g_assert_true (jtest_array_has_string (jtest_member_array (plugins->json,
                                                             "searchPath"),
                                         dir));
}

static void
test_config_prefix_conflict (Fixture *f, gconstpointer user_data)
{
  g_autofree char *fixtures = jtest_fixture_plugins ("");
  g_autofree char *conflict = g_build_filename (fixtures, "conflict", NULL);
  g_autofree char *path = g_strconcat (fixtures, ":", conflict, NULL);
  g_autoptr(JTestRun) run = NULL;

  fixture_set_plugin_path (f, path);
  append_event (f, "a.jsonl", "e1", "echo_x", 1);
  run = RUN_HERE (f, "sync", "--json");
  g_assert_cmpint (run->status, ==, 2);
  jtest_assert_has (run->err, "dupprefix.so", "echo.so", "echo_");
  g_assert_cmpstr (run->out, ==, "");
}

static void
test_config_unreadable_data_dir (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root reads any folder");
      return;
    }
  g_assert_cmpint (g_chmod (f->data, 0), ==, 0);
  run = RUN_HERE (f, "sync");
  g_chmod (f->data, 0755);
  g_assert_cmpint (run->status, ==, 2);
  g_assert_nonnull (strstr (run->err, f->data));
}

/* The cache cannot be created: an environment error, exit 3. */
static void
test_config_cache_unwritable (Fixture *f, gconstpointer user_data)
{
  g_autofree char *file = g_build_filename (f->dir, "a-file", NULL);
  g_autofree char *db = g_build_filename (file, "cache.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;

  g_file_set_contents (file, "", 0, &error);
  g_assert_no_error (error);
  run = RUN (f, "sync", "--data-dir", f->data, "--db", db, "--json");
  g_assert_cmpint (run->status, ==, 3);
  g_assert_nonnull (strstr (run->err, file));
  g_assert_cmpstr (run->out, ==, "");
}

/* --- 4. The keyfile ------------------------------------------------------- */

static void
test_keyfile_paths (Fixture *f, gconstpointer user_data)
{
  g_autofree char *text = g_strdup_printf ("[jsync]\ndata-dir=%s\n"
                                           "database=%s\n", f->data, f->db);
  g_autofree char *conf = write_keyfile (f, text);
  g_autoptr(JTestRun) run = NULL;

  fixture_copy_nexus (f);
  run = RUN (f, "--config", conf, "sync", "--json");
  g_assert_cmpint (run->status, ==, 0);
  run->json = jtest_parse_object (run->out);
  assert_counts (run->json, JTEST_NEXUS_EVENTS, 0, 0, 0);
  g_assert_true (g_file_test (f->db, G_FILE_TEST_IS_REGULAR));
  assert_dump_is_nexus (f);
}

/* Without --config, $XDG_CONFIG_HOME/jsync/jsync.conf is read if present. */
static void
test_keyfile_default_location (Fixture *f, gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "jsync",
                                           NULL);
  g_autofree char *conf = g_build_filename (dir, "jsync.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[jsync]\ndata-dir=%s\n"
                                           "database=%s\n", f->data, f->db);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (conf, text, -1, &error);
  g_assert_no_error (error);
  run = RUN (f, "sync", "--json");
  g_assert_cmpint (run->status, ==, 0);
  run->json = jtest_parse_object (run->out);
  assert_counts (run->json, 1, 0, 0, 0);
  g_assert_true (g_file_test (f->db, G_FILE_TEST_IS_REGULAR));
}

static void
test_keyfile_overridden (Fixture *f, gconstpointer user_data)
{
  g_autofree char *other_data = g_build_filename (f->dir, "other", NULL);
  g_autofree char *other_db = g_build_filename (f->dir, "other.db", NULL);
  g_autofree char *text = g_strdup_printf ("[jsync]\ndata-dir=%s\n"
                                           "database=%s\n", f->data, f->db);
  g_autofree char *conf = write_keyfile (f, text);
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) run2 = NULL;
  const char *const only_b[] = { "b.jsonl", NULL };

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  g_assert_cmpint (g_mkdir (other_data, 0755), ==, 0);
  {
    g_autofree char *b = g_build_filename (other_data, "b.jsonl", NULL);
    g_autofree char *line = event_line ("b1", "echo_x", 2, NULL);
    g_autoptr(GError) error = NULL;

    g_file_set_contents (b, line, -1, &error);
    g_assert_no_error (error);
  }

  /* --db over database=: the keyfile's cache is not touched. */
  run = RUN (f, "--config", conf, "--db", other_db, "--json");
  g_assert_cmpint (run->status, ==, 0);
  run->json = jtest_parse_object (run->out);
  assert_counts (run->json, 1, 0, 0, 0);
  g_assert_true (g_file_test (other_db, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));

  /* --data-dir over data-dir=. */
  run2 = RUN (f, "sync", "--json", "--data-dir", other_data, "--config", conf);
  g_assert_cmpint (run2->status, ==, 0);
  run2->json = jtest_parse_object (run2->out);
  assert_counts (run2->json, 1, 0, 0, 0);
  assert_files_processed (run2->json, only_b);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id = 'b1'"), ==, 1);
}

static void
test_keyfile_unknown_key (Fixture *f, gconstpointer user_data)
{
  g_autofree char *conf = write_keyfile (f, "[jsync]\nfrobnicate=1\n"
                                            "[elsewhere]\nx=1\n");
  g_autoptr(JTestRun) run = NULL;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  run = RUN_JSON (f, "sync", "--config", conf);
  g_assert_cmpint (run->status, ==, 0);
  assert_counts (run->json, 1, 0, 0, 0);
  jtest_assert_has (run->err, "warning", "frobnicate", "elsewhere");
  g_assert_null (strstr (run->out, "frobnicate"));
}

static void
test_keyfile_disabled_applier (Fixture *f, gconstpointer user_data)
{
  g_autofree char *conf = write_keyfile (f, "[applier:echo]\nenabled=false\n");
  g_autoptr(JTestRun) off = NULL;
  g_autoptr(JTestRun) plugins = NULL;
  g_autoptr(JTestRun) on = NULL;
  g_autoptr(JTestRun) again = NULL;
  g_autoptr(GError) error = NULL;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  append_event (f, "a.jsonl", "a2", "reject_x", 2);
  append_event (f, "a.jsonl", "a3", "echo_y", 3);

  off = RUN_JSON (f, "sync", "--config", conf);
  g_assert_cmpint (off->status, ==, 0);
  assert_counts (off->json, 1, 0, 0, 2);
  plugins = RUN_JSON (f, "plugins", "--config", conf);
  g_assert_cmpint (plugins->status, ==, 0);
  g_assert_true (jtest_array_has_string (jtest_member_array (plugins->json,
                                                             "disabled"),
                                         "echo"));
  if (cache_has_table (f, "echo_events"))
    g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 0);

  /* Enabled again: it catches up on what waited. */
  g_file_set_contents (conf, "[applier:echo]\nenabled=true\n", -1, &error);
  g_assert_no_error (error);
  on = RUN_JSON (f, "sync", "--config", conf);
  g_assert_cmpint (on->status, ==, 0);
  assert_counts (on->json, 2, 0, 0, 0);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 2);

  again = run_counts (f, "sync", 0, 0, 0, 0);
}

/* --- 5. Bad input: never fatal, never silent ------------------------------ */

typedef struct
{
  guint line;
  const char *text;
} Line;

/* logs/a.jsonl: good events around four bad ones, one pending. */
static const Line bad_input[] = {
  { 1, "{\"id\":\"g1\",\"type\":\"echo_a\",\"timestamp\":1000,"
       "\"deviceId\":\"d\",\"data\":{\"n\":1}}\n" },
  { 2, "{\"id\":\"broken\",\"type\":\"echo_a\",\"timestamp\":\n" },
  { 3, "{\"id\":\"badts\",\"type\":\"echo_a\",\"timestamp\":\"x\","
       "\"deviceId\":\"d\"}\n" },
  { 4, "\n" },
  { 5, "[1,2,3]\n" },
  { 6, "{\"id\":\"g2\",\"type\":\"echo_b\",\"timestamp\":1001,"
       "\"deviceId\":\"d\"}\n" },
  { 7, "{\"id\":\"rj\",\"type\":\"reject_a\",\"timestamp\":1002,"
       "\"deviceId\":\"d\",\"data\":{\"bad\":true}}\n" },
  { 8, "{\"id\":\"g3\",\"type\":\"reject_a\",\"timestamp\":1003,"
       "\"deviceId\":\"d\",\"data\":{\"bad\":false}}\n" },
  { 9, "{\"id\":\"p1\",\"type\":\"nobody_a\",\"timestamp\":1004,"
       "\"deviceId\":\"d\"}\n" },
  { 10, "{\"id\":\"g4\",\"type\":\"echo_c\",\"timestamp\":1005,"
        "\"deviceId\":\"d\"}\n" },
};

static gsize
bad_input_offset (guint line)
{
  gsize offset = 0;

  for (guint i = 0; i < G_N_ELEMENTS (bad_input) && bad_input[i].line < line;
       i++)
    offset += strlen (bad_input[i].text);
  return offset;
}

static void
write_bad_input (Fixture *f)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_input); i++)
    {
      if (i == 0)
        write_data (f, "logs/a.jsonl", bad_input[i].text);
      else
        append_data (f, "logs/a.jsonl", bad_input[i].text);
    }
}

static void
assert_error (json_object *errors, gsize index, guint line, const char *id)
{
  json_object *error = json_object_array_get_idx (errors, index);

  g_assert_nonnull (error);
  g_assert_cmpstr (jtest_member_str (error, "file"), ==, "logs/a.jsonl");
  g_assert_cmpint (jtest_member_int (error, "line"), ==, line);
  g_assert_cmpint (jtest_member_int (error, "offset"), ==,
                   bad_input_offset (line));
  if (id == NULL)
    g_assert_null (jtest_member (error, "id"));
  else
    g_assert_cmpstr (jtest_member_str (error, "id"), ==, id);
  g_assert_cmpuint (strlen (jtest_member_str (error, "message")), >, 0);
}

static void
test_bad_input_recorded (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(JTestRun) status = NULL;
  json_object *errors;
  const char *const logs_a[] = { "logs/a.jsonl", NULL };
  const guint bad_lines[] = { 2, 3, 5, 7 };

  fixture_use_fixture_plugins (f);
  write_bad_input (f);

  first = RUN_JSON (f, "sync");
  g_assert_cmpint (first->status, ==, 1);
  assert_result_shape (first, "sync");
  g_assert_false (jtest_member_bool (first->json, "success"));
  assert_counts (first->json, 4, 0, 4, 1);
  assert_files_processed (first->json, logs_a);
  errors = jtest_member_array (first->json, "errors");
  g_assert_cmpuint (json_object_array_length (errors), ==, 4);
  assert_error (errors, 0, 2, NULL);
  assert_error (errors, 1, 3, "badts");
  assert_error (errors, 2, 5, NULL);
  assert_error (errors, 3, 7, "rj");
  g_assert_nonnull (strstr (jtest_member_str (
                                json_object_array_get_idx (errors, 3), "message"),
                            "bad is true"));
  for (guint i = 0; i < G_N_ELEMENTS (bad_lines); i++)
    {
      g_autofree char *where = g_strdup_printf ("logs/a.jsonl:%u",
                                                bad_lines[i]);

      g_assert_nonnull (strstr (first->err, where));
    }
  /* The good events are in the cache. */
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 3);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id IN ('g1', 'g2', 'g4')"), ==, 3);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM reject_events"), ==, 1);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM reject_events"
                                   " WHERE id = 'g3'"), ==, 1);

  /* Nothing is reported twice; the record keeps them. */
  second = run_counts (f, "sync", 0, 0, 0, 1);
  g_assert_cmpuint (jtest_member_len (second->json, "errors"), ==, 0);
  status = RUN_JSON (f, "status");
  g_assert_cmpint (status->status, ==, 0);
  g_assert_cmpint (jtest_member_int (status->json, "eventsFailed"), ==, 4);
  g_assert_cmpint (jtest_member_int (status->json, "eventsPending"), ==, 1);
}

static void
test_bad_input_strict (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) strict = NULL;
  g_autoptr(JTestRun) keyfile = NULL;
  g_autofree char *conf = write_keyfile (f, "[jsync]\nstrict=true\n");
  g_autofree char *other_db = g_build_filename (f->dir, "other.db", NULL);

  fixture_use_fixture_plugins (f);
  write_bad_input (f);
  strict = RUN_HERE (f, "sync", "--strict", "--json");
  g_assert_cmpint (strict->status, ==, 1);
  g_assert_nonnull (strstr (strict->err, "logs/a.jsonl:2"));
  jtest_assert_lacks (strict->err, "logs/a.jsonl:3", "logs/a.jsonl:7");
  g_assert_null (strstr (strict->out, "logs/a.jsonl:3"));

  /* The key does the same. */
  keyfile = RUN (f, "--config", conf, "--data-dir", f->data, "--db", other_db);
  g_assert_cmpint (keyfile->status, ==, 1);
  g_assert_nonnull (strstr (keyfile->err, "logs/a.jsonl:2"));
  g_assert_null (strstr (keyfile->err, "logs/a.jsonl:3"));
}

static void
test_bad_input_pending (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) status = NULL;
  json_object *types;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "e1", "echo_x", 1);
  append_event (f, "a.jsonl", "t1", "task_created", 2);
  append_event (f, "a.jsonl", "t2", "branch_created", 3);
  append_event (f, "a.jsonl", "t3", "task_updated", 4);
  run = RUN_JSON (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_true (jtest_member_bool (run->json, "success"));
  assert_counts (run->json, 1, 0, 0, 3);

  status = RUN_JSON (f, "status");
  g_assert_cmpint (status->status, ==, 0);
  g_assert_cmpint (jtest_member_int (status->json, "eventsPending"), ==, 3);
  types = jtest_member_array (status->json, "pendingTypes");
  g_assert_cmpuint (json_object_array_length (types), ==, 3);
}

static void
test_plugins_broken (Fixture *f, gconstpointer user_data)
{
  static const char *const broken[] = { "badabi.so", "newminor.so",
                                        "noname.so", "misnamed.so",
                                        "nosymbol.so", "nullsymbol.so",
                                        "notamodule.so" };
  g_autofree char *fixtures = jtest_fixture_plugins ("");
  g_autoptr(JTestRun) plugins = NULL;
  g_autoptr(JTestRun) sync = NULL;
  json_object *failures, *loaded;
  gboolean echo = FALSE, reject = FALSE;

  fixture_use_fixture_plugins (f);
  append_event (f, "a.jsonl", "e1", "echo_x", 1);

  plugins = RUN_JSON (f, "plugins");
  g_assert_cmpint (plugins->status, ==, 0);
  g_assert_cmpint (jtest_member_int (plugins->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (plugins->json, "command"), ==, "plugins");
  failures = jtest_member_array (plugins->json, "failures");
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autofree char *path = g_build_filename (fixtures, broken[i], NULL);
      gboolean listed = FALSE;

      for (gsize k = 0; k < json_object_array_length (failures); k++)
        {
          json_object *failure = json_object_array_get_idx (failures, k);

          if (g_strcmp0 (jtest_member_str (failure, "path"), path) == 0)
            {
              listed = TRUE;
              g_assert_cmpuint (strlen (jtest_member_str (failure, "reason")),
                                >, 0);
            }
        }
      if (!listed)
        g_test_message ("%s not in failures", path);
      g_assert_true (listed);
      g_assert_nonnull (strstr (plugins->err, path));
    }

  loaded = jtest_member_array (plugins->json, "plugins");
  for (gsize i = 0; i < json_object_array_length (loaded); i++)
    {
      json_object *plugin = json_object_array_get_idx (loaded, i);
      const char *name = jtest_member_str (plugin, "name");
      json_object *prefixes = jtest_member_array (plugin, "prefixes");

      if (g_strcmp0 (name, "echo") == 0)
        {
          echo = TRUE;
          g_assert_cmpuint (json_object_array_length (prefixes), ==, 1);
          g_assert_true (jtest_array_has_string (prefixes, "echo_"));
          g_assert_true (g_str_has_suffix (jtest_member_str (plugin, "path"),
                                           "/echo.so"));
        }
      else if (g_strcmp0 (name, "reject") == 0)
        {
          reject = TRUE;
          g_assert_cmpuint (json_object_array_length (prefixes), ==, 1);
          g_assert_true (jtest_array_has_string (prefixes, "reject_"));
        }
      for (guint b = 0; b < G_N_ELEMENTS (broken); b++)
        g_assert_false (g_str_has_suffix (jtest_member_str (plugin, "path"),
                                          broken[b]));
    }
  g_assert_true (echo);
  g_assert_true (reject);

  /* A sync goes on without them, saying so on stderr. */
  sync = run_counts (f, "sync", 1, 0, 0, 0);
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autofree char *path = g_build_filename (fixtures, broken[i], NULL);

      g_assert_nonnull (strstr (sync->err, path));
    }
  g_assert_nonnull (strstr (sync->err, "failinit"));
}

static void
test_plugins_text (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = NULL;

  fixture_use_fixture_plugins (f);
  run = RUN_HERE (f, "plugins");
  g_assert_cmpint (run->status, ==, 0);
  jtest_assert_has (run->out, "echo", "reject_", "badabi.so");
}

/* A plugin in a folder others may write to is refused; its events wait. */
static void
test_plugins_writable_by_others (Fixture *f, gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->dir, "plugins", NULL);
  g_autofree char *echo = g_build_filename (dir, "echo.so", NULL);
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) plugins = NULL;
  g_autoptr(JTestRun) fixed = NULL;
  json_object *failures;
  gboolean listed = FALSE;

  fixture_use_echo_plugins (f);
  append_event (f, "a.jsonl", "a1", "echo_x", 1);
  g_assert_cmpint (g_chmod (echo, 0757), ==, 0);
  sync = run_counts (f, "sync", 0, 0, 0, 1);
  g_assert_nonnull (strstr (sync->err, echo));

  plugins = RUN_JSON (f, "plugins");
  g_assert_cmpint (plugins->status, ==, 0);
  failures = jtest_member_array (plugins->json, "failures");
  for (gsize i = 0; i < json_object_array_length (failures); i++)
    if (g_strcmp0 (jtest_member_str (json_object_array_get_idx (failures, i),
                                     "path"),
                   echo) == 0)
      listed = TRUE;
  g_assert_true (listed);

  g_assert_cmpint (g_chmod (echo, 0755), ==, 0);
  fixed = run_counts (f, "sync", 1, 0, 0, 0);
}

/* --- 6. Incremental behaviour --------------------------------------------- */

static void
test_incremental_append (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  const char *const both[] = { "x.jsonl", "sub/y.jsonl", NULL };
  const char *const only_y[] = { "sub/y.jsonl", NULL };

  fixture_use_echo_plugins (f);
  append_event (f, "x.jsonl", "a", "echo_t", 1);
  write_data (f, "sub/y.jsonl", "");
  append_event (f, "sub/y.jsonl", "b", "echo_t", 2);
  first = run_counts (f, "sync", 2, 0, 0, 0);
  assert_files_processed (first->json, both);

  append_data (f, "sub/y.jsonl", "\n");
  append_event (f, "sub/y.jsonl", "c", "echo_t", 3);
  second = run_counts (f, "sync", 1, 0, 0, 0);
  assert_files_processed (second->json, only_y);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 3);
}

static void
test_incremental_torn_line (Fixture *f, gconstpointer user_data)
{
  g_autofree char *line = event_line ("b", "echo_t", 2, "{\"n\":2}");
  g_autofree char *head = g_strndup (line, 25);
  g_autoptr(JTestRun) torn = NULL;
  g_autoptr(JTestRun) whole = NULL;
  g_autoptr(JTestRun) again = NULL;
  const char *const only_x[] = { "x.jsonl", NULL };

  fixture_use_echo_plugins (f);
  append_event (f, "x.jsonl", "a", "echo_t", 1);
  append_data (f, "x.jsonl", head);
  torn = run_counts (f, "sync", 1, 0, 0, 0);
  g_assert_cmpuint (jtest_member_len (torn->json, "errors"), ==, 0);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id = 'b'"), ==, 0);

  append_data (f, "x.jsonl", line + 25);
  whole = run_counts (f, "sync", 1, 0, 0, 0);
  assert_files_processed (whole->json, only_x);
  g_assert_cmpuint (jtest_member_len (whole->json, "filesReread"), ==, 0);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id = 'b' AND payload = '{\"n\":2}'"),
                   ==, 1);

  again = RUN_JSON (f, "sync");
  assert_counts (again->json, 0, 0, 0, 0);
}

static void
test_incremental_conflict_copy (Fixture *f, gconstpointer user_data)
{
  const char *copy = "x.sync-conflict-20250101-120000-ABC.jsonl";
  g_autofree char *original = NULL;
  g_autofree char *x_path = data_path (f, "x.jsonl");
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(GError) error = NULL;
  const char *const only_copy[] = { copy, NULL };

  first = sync_abc (f, "x.jsonl", "x.jsonl", "x.jsonl");

  g_file_get_contents (x_path, &original, NULL, &error);
  g_assert_no_error (error);
  write_data (f, copy, original);
  append_event (f, copy, "d", "echo_t", 4);
  second = run_counts (f, "sync", 1, 3, 0, 0);
  assert_files_processed (second->json, only_copy);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 4);
}

/* x.jsonl holds a and b; y.jsonl holds y at `y_ts`.  After a first sync, a
 * sync tool overwrites x.jsonl in place with c and d (ts 3, 4). */
static JTestRun *
rewrite_scenario (Fixture *f, gint64 y_ts)
{
  g_autofree char *c = event_line ("c", "echo_t", 3, NULL);
  g_autofree char *d = event_line ("d", "echo_t", 4, "{\"long\":\"enough\"}");
  g_autofree char *text = g_strconcat (c, d, NULL);
  g_autoptr(JTestRun) first = NULL;

  fixture_use_echo_plugins (f);
  append_event (f, "x.jsonl", "a", "echo_t", 1);
  append_event (f, "x.jsonl", "b", "echo_t", 2);
  append_event (f, "y.jsonl", "y", "echo_t", y_ts);
  first = run_counts (f, "sync", 3, 0, 0, 0);

  write_data (f, "x.jsonl", text);
  return RUN_JSON (f, "sync");
}

/* One log read again from its start, `file`, with a reason. */
static void
assert_reread_one (json_object *json, const char *file)
{
  json_object *reread = jtest_member_array (json, "filesReread");
  json_object *entry;

  g_assert_cmpuint (json_object_array_length (reread), ==, 1);
  entry = json_object_array_get_idx (reread, 0);
  g_assert_cmpstr (jtest_member_str (entry, "file"), ==, file);
  g_assert_cmpuint (strlen (jtest_member_str (entry, "reason")), >, 0);
}

/* One log with lost events, `file`, and two of them: `id1` and `id2`. */
static void
assert_lost_one (json_object *json, const char *file, const char *id1,
                 const char *id2)
{
  json_object *lost = jtest_member_array (json, "lostEvents");
  json_object *ids;

  g_assert_cmpuint (json_object_array_length (lost), ==, 1);
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (lost, 0),
                                     "file"),
                   ==, file);
  ids = jtest_member_array (json_object_array_get_idx (lost, 0), "ids");
  g_assert_cmpuint (json_object_array_length (ids), ==, 2);
  g_assert_true (jtest_array_has_string (ids, id1));
  g_assert_true (jtest_array_has_string (ids, id2));
}

/* The rewrite is reported, its lost events named, their effects kept:
 * no error, the five events' rows in the cache. */
static void
assert_rewrite_reported (Fixture *f, JTestRun *second)
{
  g_assert_cmpint (second->status, ==, 0);
  g_assert_cmpint (jtest_member_int (second->json, "eventsApplied"), ==, 2);
  g_assert_cmpint (jtest_member_int (second->json, "eventsFailed"), ==, 0);
  assert_reread_one (second->json, "x.jsonl");
  g_assert_nonnull (strstr (second->err, "x.jsonl"));
  assert_lost_one (second->json, "x.jsonl", "a", "b");
  g_assert_cmpuint (jtest_member_len (second->json, "errors"), ==, 0);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 5);
}

/* Two different bodies under one id: the one that sorts first is the event,
 * even when it arrives second; a warning, and the exit status unchanged. */
static void
test_incremental_conflicting_copies (Fixture *f, gconstpointer user_data)
{
  g_autofree char *late = event_line ("k", "echo_t", 5, "{\"v\":\"late\"}");
  g_autofree char *early = event_line ("k", "echo_t", 4, "{\"v\":\"early\"}");
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;

  fixture_use_echo_plugins (f);
  write_data (f, "x.jsonl", late);
  first = run_counts (f, "sync", 1, 0, 0, 0);

  write_data (f, "y.jsonl", early);
  second = RUN_JSON (f, "sync");
  g_assert_cmpint (second->status, ==, 0);
  g_assert_true (jtest_member_bool (second->json, "success"));
  g_assert_cmpint (jtest_member_int (second->json, "eventsFailed"), ==, 0);
  g_assert_cmpint (jtest_member_int (second->json, "conflicts"), ==, 1);
  jtest_assert_has (second->err, "y.jsonl:1", "warning");
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id = 'k'"
                                   " AND payload = '{\"v\":\"early\"}'"), ==, 1);
}

static void
test_incremental_rewritten (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) second = NULL;

  /* y sorts first: c and d come after everything the applier holds. */
  second = rewrite_scenario (f, 0);
  assert_rewrite_reported (f, second);
}

/* Same, but c and d sort before y, so the applier's stream is re-applied
 * from the stored events: a and b are no longer in x.jsonl, yet docs/design.md
 * "Lost events" says the cache keeps their effects (the cache keeps each
 * event's line for this). */
static void
test_incremental_rewritten_late (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) second = NULL;

  second = rewrite_scenario (f, 9);
  assert_rewrite_reported (f, second);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id IN ('a', 'b')"), ==, 2);
}

static void
test_incremental_truncated (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = data_path (f, "x.jsonl");
  g_autofree char *first_line = event_line ("a", "echo_t", 1, NULL);
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;

  first = sync_abc (f, "x.jsonl", "x.jsonl", "x.jsonl");

  g_assert_cmpint (truncate (path, (off_t) strlen (first_line)), ==, 0);
  second = RUN_JSON (f, "sync");
  g_assert_cmpint (second->status, ==, 0);
  g_assert_cmpint (jtest_member_int (second->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_int (second->json, "eventsFailed"), ==, 0);
  assert_reread_one (second->json, "x.jsonl");
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 3);
}

/* A deleted log: its events are lost, their effects kept, and said so. */
static void
test_incremental_deleted (Fixture *f, gconstpointer user_data)
{
  g_autofree char *y = data_path (f, "y.jsonl");
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(JTestRun) status = NULL;
  g_autoptr(JTestRun) rebuild = NULL;

  first = sync_abc (f, "x.jsonl", "y.jsonl", "y.jsonl");

  g_assert_cmpint (g_unlink (y), ==, 0);
  second = run_counts (f, "sync", 0, 0, 0, 0);
  assert_lost_one (second->json, "y.jsonl", "b", "c");
  g_assert_nonnull (strstr (second->err, "y.jsonl"));
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 3);

  status = RUN_JSON (f, "status");
  g_assert_cmpint (status->status, ==, 0);
  g_assert_cmpuint (jtest_member_len (status->json, "lostEvents"), ==, 2);

  /* A rebuild drops them, and warns first. */
  rebuild = run_counts (f, "rebuild", 1, 0, 0, 0);
  jtest_assert_has (rebuild->err, "warning", "2 event");
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"), ==, 1);
}

/* A sync of the echo appliers over x.jsonl (its one event "a") and the
 * logs a test put beside it for the scan to pass over: x.jsonl alone is
 * read, its event applied.  (transfer full) */
static JTestRun *
sync_only_x (Fixture *f)
{
  const char *const only_x[] = { "x.jsonl", NULL };
  JTestRun *run;

  fixture_use_echo_plugins (f);
  append_event (f, "x.jsonl", "a", "echo_t", 1);
  run = run_counts (f, "sync", 1, 0, 0, 0);
  assert_files_processed (run->json, only_x);
  return run;
}

static void
test_incremental_stversions (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = NULL;

  write_data (f, ".stversions/x~20250101-120000.jsonl", "");
  append_event (f, ".stversions/x~20250101-120000.jsonl", "old", "echo_t", 0);
  write_data (f, "sub/.hidden.jsonl", "");
  append_event (f, "sub/.hidden.jsonl", "hidden", "echo_t", 0);
  run = sync_only_x (f);
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id IN ('old', 'hidden')"), ==, 0);
}

static void
test_incremental_symlink (Fixture *f, gconstpointer user_data)
{
  g_autofree char *outside = g_build_filename (f->dir, "outside.jsonl", NULL);
  g_autofree char *link = data_path (f, "link.jsonl");
  g_autofree char *line = event_line ("s", "echo_t", 1, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;

  g_file_set_contents (outside, line, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (symlink (outside, link), ==, 0);
  run = sync_only_x (f);
  jtest_assert_has (run->err, "link.jsonl", "warning");
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events"
                                   " WHERE id = 's'"), ==, 0);
}

/* --- 7. The cache file ---------------------------------------------------- */

static void
test_cache_locked (Fixture *f, gconstpointer user_data)
{
  g_autofree char *lock = g_strconcat (f->db, ".lock", NULL);
  g_autofree char *conf = write_keyfile (f, "[jsync]\nlock-timeout=1\n");
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) after = NULL;
  int fd;

  fixture_use_echo_plugins (f);
  append_event (f, "x.jsonl", "a", "echo_t", 1);
  fd = g_open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);

  run = RUN_HERE (f, "sync", "--config", conf, "--json");
  g_assert_cmpint (run->status, ==, 3);
  g_assert_nonnull (strstr (run->err, "lock"));
  g_assert_cmpint (run->ended - run->started, <, 5000);

  g_assert_cmpint (flock (fd, LOCK_UN), ==, 0);
  close (fd);
  after = RUN_JSON (f, "sync", "--config", conf);
  g_assert_cmpint (after->status, ==, 0);
  assert_counts (after->json, 1, 0, 0, 0);
}

static void
test_cache_corrupt (Fixture *f, gconstpointer user_data)
{
  g_autofree char *corrupt = g_strconcat (f->db, ".corrupt", NULL);
  g_autoptr(GString) garbage = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;

  fixture_copy_nexus (f);
  for (guint i = 0; i < 256; i++)
    g_string_append (garbage, "this is not a SQLite database\n");
  g_file_set_contents (f->db, garbage->str, garbage->len, &error);
  g_assert_no_error (error);

  run = run_counts (f, "sync", JTEST_NEXUS_EVENTS, 0, 0, 0);
  jtest_assert_has (run->err, "moved aside", corrupt);
  g_assert_true (g_file_test (corrupt, G_FILE_TEST_IS_REGULAR));
  assert_dump_is_nexus (f);
}

/* --- 8. status, and stdout for --json ------------------------------------- */

static void
test_status_json (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) status = NULL;
  json_object *files, *appliers;
  gboolean workspace = FALSE, conversation = FALSE;

  fixture_copy_nexus (f);
  sync = RUN_HERE (f, "sync");
  g_assert_cmpint (sync->status, ==, 0);
  status = RUN_JSON (f, "status");
  g_assert_cmpint (status->status, ==, 0);
  g_assert_cmpint (jtest_member_int (status->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (status->json, "command"), ==, "status");
  g_assert_cmpint (jtest_member_int (status->json, "eventsApplied"), ==,
                   JTEST_NEXUS_EVENTS);
  g_assert_cmpint (jtest_member_int (status->json, "eventsPending"), ==, 0);
  g_assert_cmpint (jtest_member_int (status->json, "eventsFailed"), ==, 0);

  files = jtest_member_array (status->json, "files");
  g_assert_cmpuint (json_object_array_length (files), ==, JTEST_NEXUS_FILES);
  for (gsize i = 0; i < json_object_array_length (files); i++)
    {
      json_object *file = json_object_array_get_idx (files, i);
      g_autofree char *path = data_path (f, jtest_member_str (file, "file"));
      GStatBuf st;

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      /* Every example log ends with "\n": read to its end. */
      g_assert_cmpint (jtest_member_int (file, "offset"), ==, st.st_size);
    }

  appliers = jtest_member_array (status->json, "appliers");
  for (gsize i = 0; i < json_object_array_length (appliers); i++)
    {
      json_object *applier = json_object_array_get_idx (appliers, i);
      json_object *rows = jtest_member (applier, "rows");
      const char *name = jtest_member_str (applier, "name");
      const char *const ws_tables[] = { "workspaces", "sessions", "states",
                                        "memory_traces", NULL };
      const char *const conv_tables[] = { "conversations", "messages", NULL };
      const char *const *tables = NULL;

      if (g_strcmp0 (name, "workspace") == 0)
        {
          workspace = TRUE;
          tables = ws_tables;
        }
      else if (g_strcmp0 (name, "conversation") == 0)
        {
          conversation = TRUE;
          tables = conv_tables;
        }
      for (guint t = 0; tables != NULL && tables[t] != NULL; t++)
        g_assert_cmpint (jtest_member_int (rows, tables[t]), ==,
                         expected_rows (tables[t]));
    }
  g_assert_true (workspace);
  g_assert_true (conversation);
}

static void
test_status_text (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) sync = NULL;
  g_autoptr(JTestRun) status = NULL;
  g_autofree char *applied = g_strdup_printf ("%d applied", JTEST_NEXUS_EVENTS);

  fixture_copy_nexus (f);
  sync = RUN_HERE (f, "sync");
  g_assert_cmpint (sync->status, ==, 0);
  g_assert_nonnull (strstr (sync->out, applied));
  status = RUN_HERE (f, "status");
  g_assert_cmpint (status->status, ==, 0);
  jtest_assert_has (status->out, applied, "workspaces/ws_default.jsonl",
                    "conversation");
}

/* Whatever goes wrong, --json prints one object on stdout and nothing else;
 * warnings (broken plugins, bad lines) go to stderr. */
static void
test_json_stdout_only (Fixture *f, gconstpointer user_data)
{
  const char *const commands[] = { "sync", "status", "plugins", "dump",
                                   "rebuild", "sync" };

  fixture_use_fixture_plugins (f);
  write_bad_input (f);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(JTestRun) run = RUN_JSON (f, commands[i]);

      g_assert_cmpint (run->status, <=, 1);
      g_assert_cmpint (jtest_member_int (run->json, "version"), ==, 1);
      g_assert_cmpstr (jtest_member_str (run->json, "command"), ==,
                       commands[i]);
      g_assert_nonnull (strstr (run->err, "warning"));
      g_assert_null (strstr (run->out, "warning"));
    }
}

int main (int argc, char **argv);

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/cli/example/sync", test_example_sync);
  JTEST_ADD ("/cli/example/dump", test_example_dump);
  JTEST_ADD ("/cli/example/rebuild", test_example_rebuild);
  JTEST_ADD ("/cli/example/fts", test_example_fts);
  JTEST_ADD ("/cli/example/clean-stderr", test_example_clean_stderr);
  JTEST_ADD ("/cli/options/position", test_options_position);
  JTEST_ADD ("/cli/options/version", test_options_version);
  JTEST_ADD ("/cli/options/help", test_options_help);
  JTEST_ADD ("/cli/options/unknown-command", test_options_unknown_command);
  JTEST_ADD ("/cli/options/unknown-option", test_options_unknown_option);
  JTEST_ADD ("/cli/options/batch-size", test_options_batch_size);
  JTEST_ADD ("/cli/options/quiet", test_options_quiet);
  JTEST_ADD ("/cli/options/defaults", test_options_defaults);
  JTEST_ADD ("/cli/config/missing-data-dir", test_config_missing_data_dir);
  JTEST_ADD ("/cli/config/unreadable-data-dir",
             test_config_unreadable_data_dir);
  JTEST_ADD ("/cli/config/cache-unwritable", test_config_cache_unwritable);
  JTEST_ADD ("/cli/config/missing-keyfile", test_config_missing_keyfile);
  JTEST_ADD ("/cli/config/malformed-value", test_config_malformed_value);
  JTEST_ADD ("/cli/config/missing-plugins-dir",
             test_config_missing_plugins_dir);
  JTEST_ADD ("/cli/config/plugins-dir", test_config_plugins_dir);
  JTEST_ADD ("/cli/config/prefix-conflict", test_config_prefix_conflict);
  JTEST_ADD ("/cli/keyfile/paths", test_keyfile_paths);
  JTEST_ADD ("/cli/keyfile/default-location", test_keyfile_default_location);
  JTEST_ADD ("/cli/keyfile/overridden", test_keyfile_overridden);
  JTEST_ADD ("/cli/keyfile/unknown-key", test_keyfile_unknown_key);
  JTEST_ADD ("/cli/keyfile/disabled-applier", test_keyfile_disabled_applier);
  JTEST_ADD ("/cli/bad-input/recorded", test_bad_input_recorded);
  JTEST_ADD ("/cli/bad-input/strict", test_bad_input_strict);
  JTEST_ADD ("/cli/bad-input/pending", test_bad_input_pending);
  JTEST_ADD ("/cli/plugins/broken", test_plugins_broken);
  JTEST_ADD ("/cli/plugins/text", test_plugins_text);
  JTEST_ADD ("/cli/plugins/writable-by-others",
             test_plugins_writable_by_others);
  JTEST_ADD ("/cli/incremental/append", test_incremental_append);
  JTEST_ADD ("/cli/incremental/torn-line", test_incremental_torn_line);
  JTEST_ADD ("/cli/incremental/conflict-copy", test_incremental_conflict_copy);
  JTEST_ADD ("/cli/incremental/conflicting-copies",
       test_incremental_conflicting_copies);
  JTEST_ADD ("/cli/incremental/rewritten", test_incremental_rewritten);
  JTEST_ADD ("/cli/incremental/rewritten-late",
             test_incremental_rewritten_late);
  JTEST_ADD ("/cli/incremental/truncated", test_incremental_truncated);
  JTEST_ADD ("/cli/incremental/deleted", test_incremental_deleted);
  JTEST_ADD ("/cli/incremental/stversions", test_incremental_stversions);
  JTEST_ADD ("/cli/incremental/symlink", test_incremental_symlink);
  JTEST_ADD ("/cli/cache/locked", test_cache_locked);
  JTEST_ADD ("/cli/cache/corrupt", test_cache_corrupt);
  JTEST_ADD ("/cli/status/json", test_status_json);
  JTEST_ADD ("/cli/status/text", test_status_text);
  JTEST_ADD ("/cli/json/stdout-only", test_json_stdout_only);

  return g_test_run ();
}
