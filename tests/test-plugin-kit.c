/* test-plugin-kit.c: the plugin kit as a user meets it.
 *
 * examples/bookmarks/bookmarks.c is built exactly as its README says, through
 * `sh -c` with cc and `pkg-config jsync-plugin` (tests/meson.build points
 * PKG_CONFIG_PATH at meson's uninstalled .pc files), once per run.  Each
 * case then drops the module into a private plugins folder beside copies of
 * the bundled appliers and runs the jsync binary (JSYNC_BIN) with
 * --plugins-dir naming that folder and JSYNC_PLUGIN_PATH unset, over a data
 * folder holding bookmark_ events beside Nexus ones, and checks what a user
 * would: `jsync plugins`, the sync results, and the rows of the cache.
 * Without cc or pkg-config every case is skipped.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "jsync-test.h"

/* The Nexus events of the data folder: three for the bundled appliers and
 * one (skill_created: Nexus's skills are out of scope) that no applier
 * takes. */
#define NEXUS_APPLIED 3
#define NEXUS_PENDING 1

static const char nexus_conversation[] =
  "{\"type\":\"metadata\",\"data\":{\"id\":\"c1\",\"title\":\"Seeds\","
  "\"created\":900,\"vault\":\"garden\"},\"id\":\"e-c1\","
  "\"deviceId\":\"dev-a\",\"timestamp\":900}\n"
  "\n"
  "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"id\":\"m1\","
  "\"role\":\"user\",\"content\":\"Which seeds?\",\"sequenceNumber\":0},"
  "\"id\":\"e-c2\",\"deviceId\":\"dev-a\",\"timestamp\":950}\n";

static const char nexus_workspace[] =
  "{\"type\":\"workspace_created\",\"data\":{\"id\":\"default\","
  "\"name\":\"Default\",\"rootFolder\":\"/\",\"created\":800},"
  "\"id\":\"e-w1\",\"deviceId\":\"dev-a\",\"timestamp\":800}\n";

static const char nexus_skill[] =
  "{\"type\":\"skill_created\",\"data\":{\"id\":\"s1\",\"name\":\"Garden\"},"
  "\"id\":\"e-s1\",\"deviceId\":\"dev-a\",\"timestamp\":700}\n";

/* Five bookmark events of one device: t3 is created and deleted, t2 takes the
 * keyfile's default status when there is one. */
#define BOOKMARK_EVENTS 5

static const char bookmark_log[] =
  "{\"type\":\"bookmark_created\",\"data\":{\"id\":\"t1\","
  "\"title\":\"Water the garden\",\"folderId\":\"p1\",\"status\":\"todo\","
  "\"due\":5000},\"id\":\"e-t1\",\"deviceId\":\"dev-a\",\"timestamp\":1000}\n"
  "{\"type\":\"bookmark_created\",\"data\":{\"id\":\"t2\",\"title\":\"Buy seeds\","
  "\"folderId\":\"p1\"},\"id\":\"e-t2\",\"deviceId\":\"dev-a\","
  "\"timestamp\":1100}\n"
  "{\"type\":\"bookmark_created\",\"data\":{\"id\":\"t3\","
  "\"title\":\"Call the plumber\"},\"id\":\"e-t3\",\"deviceId\":\"dev-a\","
  "\"timestamp\":1200}\n"
  "{\"type\":\"bookmark_deleted\",\"bookmarkId\":\"t3\",\"id\":\"e-t4\","
  "\"deviceId\":\"dev-a\",\"timestamp\":1300}\n"
  "{\"type\":\"bookmark_updated\",\"bookmarkId\":\"t1\",\"data\":{\"status\":\"doing\","
  "\"due\":null},\"id\":\"e-t5\",\"deviceId\":\"dev-a\",\"timestamp\":3000}\n";

/* The bookmarks table after bookmark_log: id|folderId|title|status|due|created|updated. */
static const char bookmark_rows[] =
  "t1|p1|Water the garden|doing|NULL|1000|3000\n"
  "t2|p1|Buy seeds|todo|NULL|1100|1100\n";

/* --- The module, built once --------------------------------------------- */

static char *kit_dir;           /* owned: temp folder of the build */
static char *kit_module;        /* owned: kit_dir/bookmarks.so, once built */

/* Build examples/bookmarks/bookmarks.c the user's way, the first time only.
 * Returns FALSE, with the test skipped, when cc or pkg-config is missing. */
static gboolean
kit_build (void)
{
  g_autofree char *cc = g_find_program_in_path ("cc");
  g_autofree char *pkg_config = g_find_program_in_path ("pkg-config");
  g_autofree char *source = NULL;
  g_autofree char *module = NULL;
  g_autoptr(JTestRun) run = NULL;

  if (kit_module != NULL)
    return TRUE;
  if (cc == NULL || pkg_config == NULL)
    {
      g_test_skip (cc == NULL ? "no cc in PATH" : "no pkg-config in PATH");
      return FALSE;
    }

  source = g_test_build_filename (G_TEST_DIST, "..", "examples", "bookmarks",
                                  "bookmarks.c", NULL);
  kit_dir = jtest_tree_make (NULL, "jsync-kit");
  module = g_build_filename (kit_dir, "bookmarks.so", NULL);
  {
    /* The command of examples/bookmarks/README.md, the paths as $1 and $2. */
    const char *const argv[] = {
      "sh", "-c",
      "cc -shared -fPIC $(pkg-config --cflags jsync-plugin) \"$1\" -o \"$2\" "
      "$(pkg-config --libs jsync-plugin)",
      "sh", source, module, NULL
    };

    g_test_message ("build: PKG_CONFIG_PATH=%s %s",
                    g_getenv ("PKG_CONFIG_PATH"), argv[2]);
    JTestSpawn options = { .cwd = kit_dir };

    run = jtest_spawn (argv, &options);
  }
  if (*run->err != '\0')
    g_test_message ("build stderr:\n%s", run->err);
  g_assert_cmpint (run->signal, ==, 0);
  g_assert_cmpint (run->status, ==, 0);
  /* The example builds without a warning at the compiler's defaults. */
  g_assert_cmpstr (run->err, ==, "");
  g_assert_true (g_file_test (module, G_FILE_TEST_IS_REGULAR));
  kit_module = g_steal_pointer (&module);
  return TRUE;
}

/* --- Fixture -------------------------------------------------------------- */

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: dir/data */
  char *plugins;                /* owned: dir/plugins, mode 0700 */
  char *db;                     /* owned: dir/cache.db */
  char *config;                 /* owned, nullable: a keyfile */
  char **env;                   /* owned: the child's environment */
} Fixture;

/* Write (or extend) a log of the data folder. */
static void
write_log (Fixture *f, const char *relative, const char *text, gboolean append)
{
  g_autofree char *path = g_build_filename (f->data, relative, NULL);

  jtest_write_text (path, text, append);
}

/* Drop the built module into the plugins folder, as a user does. */
static void
fixture_drop_in (Fixture *f)
{
  g_autofree char *to = g_build_filename (f->plugins, "bookmarks.so", NULL);

  jtest_copy_file (kit_module, to, 0755);
}

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  const char *bundled = jtest_bundled_plugins ();
  static const char *const names[] = { "conversation.so", "workspace.so",
                                       "task.so" };

  (void) user_data;
  if (!kit_build ())
    return;
  jtest_dirs_make (NULL, "jsync-kit-run", "cache.db", &f->dir, &f->data,
                   &f->db);
  f->plugins = g_build_filename (f->dir, "plugins", NULL);
  g_assert_cmpint (g_mkdir (f->plugins, 0700), ==, 0);
  /* The bundled appliers travel with it, so that the installed folder
   * (searched after --plugins-dir) cannot lend its own. */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (bundled, names[i], NULL);
      g_autofree char *to = g_build_filename (f->plugins, names[i], NULL);

      jtest_copy_file (from, to, 0755);
    }

  write_log (f, "conversations/conv_c1.jsonl", nexus_conversation, FALSE);
  write_log (f, "workspaces/ws_default.jsonl", nexus_workspace, FALSE);
  write_log (f, "skills/skill_s1.jsonl", nexus_skill, FALSE);
  write_log (f, "bookmarks/bookmarks_f1.jsonl", bookmark_log, FALSE);

  /* --plugins-dir, not JSYNC_PLUGIN_PATH, which would replace it. */
  f->env = jtest_child_environ ();
  f->env = g_environ_unsetenv (f->env, "JSYNC_PLUGIN_PATH");
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  (void) user_data;
  if (f->dir != NULL)
    jtest_dirs_free (f->dir, f->data, f->db);
  g_free (f->plugins);
  g_free (f->config);
  g_strfreev (f->env);
}

/* --- Running jsync -------------------------------------------------------- */

/* Run `jsync --data-dir D --db F --plugins-dir P [--config K] COMMAND
 * --json`; check the exit status and return stdout parsed.  (transfer
 * full) */
static json_object *
run_jsync (Fixture *f, const char *command, int expected_status)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(JTestRun) run = NULL;
  JTestSpawn options = { .cwd = f->dir, .env = f->env };

  g_ptr_array_add (argv, (gpointer) jtest_bin ());
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, f->data);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, f->db);
  g_ptr_array_add (argv, (gpointer) "--plugins-dir");
  g_ptr_array_add (argv, f->plugins);
  if (f->config != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--config");
      g_ptr_array_add (argv, f->config);
    }
  g_ptr_array_add (argv, (gpointer) command);
  g_ptr_array_add (argv, (gpointer) "--json");
  g_ptr_array_add (argv, NULL);

  g_test_message ("run: jsync --plugins-dir %s %s --json", f->plugins,
                  command);
  run = jtest_spawn ((const char *const *) argv->pdata, &options);
  if (*run->err != '\0')
    g_test_message ("stderr:\n%s", run->err);
  g_assert_cmpint (run->signal, ==, 0);
  g_assert_cmpint (run->status, ==, expected_status);
  return jtest_parse_object (run->out);
}

/* --- The cache ------------------------------------------------------------ */

/* Rows of a query, "a|b|c\n" each, NULL as "NULL".  (transfer full) */
static char *
query (Fixture *f, const char *sql)
{
  g_autoptr(GString) text = g_string_new (NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    g_test_message ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_cmpint (rc, ==, SQLITE_OK);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      for (int i = 0; i < sqlite3_column_count (stmt); i++)
        {
          const char *value = (const char *) sqlite3_column_text (stmt, i);

          g_string_append_printf (text, "%s%s", i > 0 ? "|" : "",
                                  value != NULL ? value : "NULL");
        }
      g_string_append_c (text, '\n');
    }
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
bookmark_table (Fixture *f)
{
  return query (f, "SELECT id, folderId, title, status, due, created,"
                   " updated FROM bookmarks ORDER BY id");
}

/* The bookmark ids whose title matches an FTS5 query, through bookmark_fts. */
static char *
bookmark_search (Fixture *f, const char *match)
{
  char *sql = sqlite3_mprintf ("SELECT t.id FROM bookmarks t JOIN bookmark_fts f"
                               " ON t.id = f.id WHERE bookmark_fts MATCH %Q"
                               " ORDER BY t.id", match);
  char *rows = query (f, sql);

  sqlite3_free (sql);
  return rows;
}

/* The dump after a rebuild equals the dump before it: the incremental
 * runs reached what one pass over every event gives. */
static void
assert_rebuild_agrees (Fixture *f)
{
  json_object *before = run_jsync (f, "dump", 0);
  json_object *after;

  json_object_put (run_jsync (f, "rebuild", 0));
  after = run_jsync (f, "dump", 0);
  g_assert_cmpstr (json_object_to_json_string (jtest_member (before,
                                                            "tables")),
                   ==,
                   json_object_to_json_string (jtest_member (after, "tables")));
  json_object_put (before);
  json_object_put (after);
}

/* A sync that applies `applied` events (any number when -1), fails none and
 * leaves the nexus's pending one alone. */
static void
assert_sync_settles (Fixture *f, gint64 applied)
{
  json_object *result = run_jsync (f, "sync", 0);

  g_assert_true (json_object_get_boolean (jtest_member (result, "success")));
  if (applied >= 0)
    g_assert_cmpint (jtest_member_int (result, "eventsApplied"), ==, applied);
  g_assert_cmpint (jtest_member_int (result, "eventsFailed"), ==, 0);
  g_assert_cmpint (jtest_member_int (result, "eventsPending"), ==,
                   NEXUS_PENDING);
  json_object_put (result);
}

/* The bookmarks table holds `rows`; the FTS query `hit`, when given, finds t1
 * alone and `miss` finds nothing; a rebuild agrees with it all. */
static void
assert_bookmarks (Fixture *f, const char *rows, const char *hit,
                  const char *miss)
{
  g_autofree char *table = bookmark_table (f);

  g_assert_cmpstr (table, ==, rows);
  if (hit != NULL)
    {
      g_autofree char *found = bookmark_search (f, hit);
      g_autofree char *none = bookmark_search (f, miss);

      g_assert_cmpstr (found, ==, "t1\n");
      g_assert_cmpstr (none, ==, "");
    }
  assert_rebuild_agrees (f);
}

/* --- Tests ---------------------------------------------------------------- */

/* `jsync plugins` finds the module in --plugins-dir with its prefix. */
static void
test_plugins_listed (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = NULL;
  json_object *json, *plugins, *bookmarks = NULL, *failures;

  if (f->dir == NULL)
    return;
  fixture_drop_in (f);
  json = run_jsync (f, "plugins", 0);
  g_assert_cmpstr (json_object_get_string (
                     json_object_array_get_idx (
                       jtest_member (json, "searchPath"), 0)),
                   ==, f->plugins);
  plugins = jtest_member (json, "plugins");
  for (size_t i = 0; i < json_object_array_length (plugins); i++)
    {
      json_object *plugin = json_object_array_get_idx (plugins, i);

      if (g_strcmp0 (json_object_get_string (jtest_member (plugin, "name")),
                     "bookmarks") == 0)
        bookmarks = plugin;
    }
  g_assert_nonnull (bookmarks);
  path = g_build_filename (f->plugins, "bookmarks.so", NULL);
  g_assert_cmpstr (json_object_get_string (jtest_member (bookmarks, "path")), ==,
                   path);
  g_assert_cmpstr (json_object_get_string (jtest_member (bookmarks, "version")), ==,
                   "1.0.0");
  g_assert_cmpstr (json_object_to_json_string (jtest_member (bookmarks,
                                                            "prefixes")),
                   ==, "[ \"bookmark_\" ]");
  g_assert_cmpstr (json_object_to_json_string (jtest_member (bookmarks,
                                                            "tables")),
                   ==, "[ \"bookmarks\" ]");
  g_assert_cmpstr (json_object_to_json_string (jtest_member (bookmarks,
                                                            "search")),
                   ==, "[ \"bookmark_fts\" ]");
  g_assert_true (json_object_get_boolean (jtest_member (bookmarks, "active")));
  failures = jtest_member (json, "failures");
  for (size_t i = 0; i < json_object_array_length (failures); i++)
    g_test_message ("load failure: %s", json_object_to_json_string (
                                          json_object_array_get_idx (failures,
                                                                     i)));
  g_assert_cmpint (json_object_array_length (failures), ==, 0);
  json_object_put (json);
}

/* sync applies the bookmark events beside the Nexus ones; the keyfile's
 * [applier:bookmarks] group reaches init; FTS finds titles. */
static void
test_sync_rows (Fixture *f, gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *conversations = NULL;

  if (f->dir == NULL)
    return;
  fixture_drop_in (f);
  f->config = g_build_filename (f->dir, "jsync.conf", NULL);
  g_file_set_contents (f->config, "[applier:bookmarks]\ndefault-status = inbox\n",
                       -1, &error);
  g_assert_no_error (error);

  assert_sync_settles (f, NEXUS_APPLIED + BOOKMARK_EVENTS);
  conversations = query (f, "SELECT id, title, messageCount"
                            " FROM conversations");
  g_assert_cmpstr (conversations, ==, "c1|Seeds|1\n");
  assert_bookmarks (f,
                    "t1|p1|Water the garden|doing|NULL|1000|3000\n"
                    "t2|p1|Buy seeds|inbox|NULL|1100|1100\n",
                    "garden", "plumber");
}

/* Another device's event with an older timestamp arrives after newer ones
 * were applied: it takes its place in the order. */
static void
test_sync_late (Fixture *f, gconstpointer user_data)
{
  if (f->dir == NULL)
    return;
  fixture_drop_in (f);
  assert_sync_settles (f, NEXUS_APPLIED + BOOKMARK_EVENTS);
  assert_bookmarks (f, bookmark_rows, NULL, NULL);

  /* At 2000, before t1's update at 3000: the status it sets is overwritten
   * by that update, the title it sets is not. */
  write_log (f, "bookmarks/bookmarks_f1.sync-conflict-20260101-120000-DEVB.jsonl",
             "{\"type\":\"bookmark_updated\",\"bookmarkId\":\"t1\","
             "\"data\":{\"status\":\"done\",\"title\":\"Water the roses\"},"
             "\"id\":\"e-late\",\"deviceId\":\"dev-b\",\"timestamp\":2000}\n",
             FALSE);
  assert_sync_settles (f, -1);
  assert_bookmarks (f,
                    "t1|p1|Water the roses|doing|NULL|1000|3000\n"
                    "t2|p1|Buy seeds|todo|NULL|1100|1100\n",
                    "roses", "garden");
}

/* Bookmark events that arrived before the applier existed wait as pending and
 * are applied once it is dropped in. */
static void
test_sync_pending (Fixture *f, gconstpointer user_data)
{
  g_autofree char *tables = NULL;
  json_object *result, *types;

  if (f->dir == NULL)
    return;
  result = run_jsync (f, "sync", 0);
  g_assert_cmpint (jtest_member_int (result, "eventsApplied"), ==,
                   NEXUS_APPLIED);
  g_assert_cmpint (jtest_member_int (result, "eventsPending"), ==,
                   NEXUS_PENDING + BOOKMARK_EVENTS);
  json_object_put (result);
  tables = query (f, "SELECT count(*) FROM sqlite_master"
                     " WHERE name = 'bookmarks'");
  g_assert_cmpstr (tables, ==, "0\n");

  result = run_jsync (f, "status", 0);
  types = jtest_member (result, "pendingTypes");
  g_assert_cmpstr (json_object_to_json_string_ext (types,
                                                   JSON_C_TO_STRING_PLAIN),
                   ==,
                   "[{\"type\":\"bookmark_created\",\"count\":3},"
                   "{\"type\":\"bookmark_deleted\",\"count\":1},"
                   "{\"type\":\"bookmark_updated\",\"count\":1},"
                   "{\"type\":\"skill_created\",\"count\":1}]");
  json_object_put (result);

  fixture_drop_in (f);
  assert_sync_settles (f, BOOKMARK_EVENTS);
  assert_bookmarks (f, bookmark_rows, NULL, NULL);
}

/* A malformed bookmark event fails alone, with a message naming the file, the
 * line, the applier, the event type and the key. */
static void
test_sync_failed (Fixture *f, gconstpointer user_data)
{
  g_autofree char *rows = NULL;
  json_object *result, *errors, *first;

  if (f->dir == NULL)
    return;
  fixture_drop_in (f);
  write_log (f, "bookmarks/bookmarks_f1.jsonl",
             "{\"type\":\"bookmark_updated\",\"bookmarkId\":\"t2\","
             "\"data\":{\"due\":\"tomorrow\",\"status\":\"done\"},"
             "\"id\":\"e-bad\",\"deviceId\":\"dev-a\",\"timestamp\":4000}\n",
             TRUE);
  result = run_jsync (f, "sync", 1);
  g_assert_cmpint (jtest_member_int (result, "eventsApplied"), ==,
                   NEXUS_APPLIED + BOOKMARK_EVENTS);
  g_assert_cmpint (jtest_member_int (result, "eventsFailed"), ==, 1);
  errors = jtest_member (result, "errors");
  g_assert_cmpint (json_object_array_length (errors), ==, 1);
  first = json_object_array_get_idx (errors, 0);
  g_assert_cmpstr (json_object_get_string (jtest_member (first, "file")), ==,
                   "bookmarks/bookmarks_f1.jsonl");
  g_assert_cmpint (jtest_member_int (first, "line"), ==, BOOKMARK_EVENTS + 1);
  g_assert_cmpstr (json_object_get_string (jtest_member (first, "id")), ==,
                   "e-bad");
  g_assert_nonnull (strstr (json_object_get_string (jtest_member (first,
                                                                  "message")),
                            "bookmark_updated: data.due: expected an integer"));
  json_object_put (result);

  /* Nothing of the failed event was written. */
  rows = bookmark_table (f);
  g_assert_cmpstr (rows, ==, bookmark_rows);
}

int
main (int argc, char **argv)
{
  int status;

  jtest_init (&argc, &argv);

  JTEST_ADD ("/plugin-kit/plugins/listed", test_plugins_listed);
  JTEST_ADD ("/plugin-kit/sync/rows", test_sync_rows);
  JTEST_ADD ("/plugin-kit/sync/late", test_sync_late);
  JTEST_ADD ("/plugin-kit/sync/pending", test_sync_pending);
  JTEST_ADD ("/plugin-kit/sync/failed", test_sync_failed);

  status = g_test_run ();
  if (kit_dir != NULL)
    jtest_tree_remove (kit_dir);
  g_free (kit_dir);
  g_free (kit_module);
  return status;
}
