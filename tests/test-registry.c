/* test-registry.c: loading, checking and routing applier modules, against
 * the fixture plugins of tests/plugins/ (each broken in one way; see their
 * head comments). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>

#include "jsync-registry.h"
#include "jsync-test.h"

typedef struct
{
  JsyncRegistry *registry;  /* owned */
  char *fixtures;           /* owned: build/tests/plugins */
  char *conflict;           /* owned: build/tests/plugins/conflict */
  gboolean has_nullsymbol;  /* nullsymbol.so is built only on ELF */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *nullsymbol = NULL;

  f->registry = jsync_registry_new ();
  f->fixtures = jtest_fixture_plugins ("");
  f->conflict = g_build_filename (f->fixtures, "conflict", NULL);
  nullsymbol = g_build_filename (f->fixtures, "nullsymbol." G_MODULE_SUFFIX,
                                 NULL);
  f->has_nullsymbol = g_file_test (nullsymbol, G_FILE_TEST_EXISTS);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  jsync_registry_free (f->registry);
  g_free (f->fixtures);
  g_free (f->conflict);
}

/* Expect the one warning a failed module gives: "<dir>/<name>.so: <reason>"
 * with the reason matching `reason` (a g_pattern). */
static void
expect_failure_warning (const char *dir, const char *name, const char *reason)
{
  g_autofree char *pattern = NULL;

  pattern = g_strdup_printf ("%s/%s." G_MODULE_SUFFIX ": %s", dir, name,
                             reason);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
}

/* The warnings of the fixture folder, in file-name order, skipping the
 * names in `disabled`. */
static void
expect_fixture_warnings (Fixture *f, const char *const *disabled)
{
  static const struct
  {
    const char *name;
    const char *reason;
  } broken[] = {
    { "badabi", "built for ABI 99.0, * (major versions differ)" },
    { "misnamed", "descriptor name \"other\" differs from the file name "
                  "\"misnamed\"" },
    { "newminor", "built for ABI 1.3, newer than *" },
    { "noname", "descriptor lacks the required field name" },
    { "nosymbol", "no descriptor: * does not export "
                  JSYNC_APPLIER_SYMBOL },
    { "notamodule", "cannot open module: *" },
    { "nullsymbol", "no descriptor: " JSYNC_APPLIER_SYMBOL " is NULL" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      if (disabled != NULL && g_strv_contains (disabled, broken[i].name))
        continue;
      if (strcmp (broken[i].name, "nullsymbol") == 0 && !f->has_nullsymbol)
        continue;
      expect_failure_warning (f->fixtures, broken[i].name, broken[i].reason);
    }
}

static gboolean
load_dirs (Fixture *f, const char *const *dirs, const char *const *disabled,
           GError **error)
{
  return jsync_registry_load (f->registry, dirs, disabled, error);
}

/* Load `dirs`: it succeeds, with exactly the warnings expected. */
static void
load_ok (Fixture *f, const char *const *dirs, const char *const *disabled)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (load_dirs (f, dirs, disabled, &error));
  g_assert_no_error (error);
  g_test_assert_expected_messages ();
}

/* Load the fixture folder alone, expecting its warnings. */
static void
load_fixtures (Fixture *f)
{
  const char *dirs[] = { f->fixtures, NULL };

  expect_fixture_warnings (f, NULL);
  load_ok (f, dirs, NULL);
}

static JsyncLoadFailure *
find_failure (Fixture *f, const char *name)
{
  GPtrArray *failures = jsync_registry_get_failures (f->registry);
  g_autofree char *file = g_strconcat (name, "." G_MODULE_SUFFIX, NULL);

  for (guint i = 0; i < failures->len; i++)
    {
      JsyncLoadFailure *failure = g_ptr_array_index (failures, i);
      g_autofree char *base = g_path_get_basename (failure->path);

      if (strcmp (base, file) == 0)
        return failure;
    }
  return NULL;
}

/* The failure of fixture `name`: at its path, its reason containing
 * `cause`. */
static void
assert_fixture_failure (Fixture *f, const char *name, const char *cause)
{
  g_autofree char *path = NULL;
  JsyncLoadFailure *failure;

  path = g_strdup_printf ("%s/%s." G_MODULE_SUFFIX, f->fixtures, name);
  failure = find_failure (f, name);
  g_assert_nonnull (failure);
  g_assert_cmpstr (failure->path, ==, path);
  g_assert_nonnull (strstr (failure->reason, cause));
  g_assert_null (jsync_registry_lookup (f->registry, name));
}

static const char *
plugin_name (Fixture *f, guint i)
{
  GPtrArray *plugins = jsync_registry_get_plugins (f->registry);
  JsyncPlugin *plugin = g_ptr_array_index (plugins, i);

  return plugin->name;
}

/* A copy of build/tests/plugins/<name>.so as <dir>/<name>.so, mode 0644. */
static char *
copy_fixture (Fixture *f, const char *name, const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, "." G_MODULE_SUFFIX, NULL);
  g_autofree char *from = g_build_filename (f->fixtures, file, NULL);
  g_autofree char *contents = NULL;
  char *to = g_build_filename (dir, file, NULL);
  gsize len;

  g_assert_true (g_file_get_contents (from, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents_full (to, contents, len,
                                           G_FILE_SET_CONTENTS_NONE, 0644,
                                           &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (to, 0644), ==, 0);
  return to;
}

/* A fresh folder, mode 0755, inside the test's isolated data folder. */
static char *
make_dir (const char *name)
{
  char *dir = g_build_filename (g_get_user_data_dir (), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  return dir;
}

/* --- Loading ------------------------------------------------------------ */

static void
test_load_fixtures (Fixture *f, gconstpointer data)
{
  GPtrArray *plugins;
  JsyncPlugin *echo;
  g_autofree char *echo_path = NULL;

  load_fixtures (f);

  /* failinit loads: its init fails only when the cache calls it. */
  plugins = jsync_registry_get_plugins (f->registry);
  g_assert_cmpuint (plugins->len, ==, 4);
  g_assert_cmpstr (plugin_name (f, 0), ==, "echo");
  g_assert_cmpstr (plugin_name (f, 1), ==, "echolong");
  g_assert_cmpstr (plugin_name (f, 2), ==, "failinit");
  g_assert_cmpstr (plugin_name (f, 3), ==, "reject");
  g_assert_cmpuint (jsync_registry_get_failures (f->registry)->len, ==,
                    f->has_nullsymbol ? 7 : 6);
  g_assert_cmpuint (jsync_registry_get_disabled (f->registry)->len, ==, 0);

  echo = jsync_registry_lookup (f->registry, "echo");
  g_assert_nonnull (echo);
  echo_path = g_build_filename (f->fixtures, "echo." G_MODULE_SUFFIX, NULL);
  g_assert_cmpstr (echo->path, ==, echo_path);
  g_assert_nonnull (echo->module);
  g_assert_cmpstr (echo->desc->name, ==, "echo");
  g_assert_cmpstr (echo->desc->prefixes[0], ==, "echo_");
  g_assert_null (jsync_registry_lookup (f->registry, "nope"));
}

static void
test_load_empty (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (load_dirs (f, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 0);
  g_assert_cmpuint (jsync_registry_get_failures (f->registry)->len, ==, 0);
  g_assert_null (jsync_registry_route (f->registry, "echo_x"));
}

static void
test_load_missing_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = NULL;
  const char *dirs[] = { NULL, NULL, NULL };

  missing = g_build_filename (g_get_user_data_dir (), "no-such-folder", NULL);
  dirs[0] = missing;
  dirs[1] = f->fixtures;
  expect_fixture_warnings (f, NULL);
  load_ok (f, dirs, NULL);
  g_assert_null (find_failure (f, "no-such-folder"));
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 4);
}

static void
test_load_not_a_folder (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *dir = make_dir ("not-a-folder");
  const char *dirs[] = { NULL, NULL };
  GPtrArray *failures;

  file = g_build_filename (dir, "plain-file", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, &error));
  dirs[0] = file;
  pattern = g_strdup_printf ("%s: not a folder", file);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
  load_ok (f, dirs, NULL);
  failures = jsync_registry_get_failures (f->registry);
  g_assert_cmpuint (failures->len, ==, 1);
  g_assert_cmpstr (((JsyncLoadFailure *) failures->pdata[0])->path, ==, file);
}

static void
test_load_disabled (Fixture *f, gconstpointer data)
{
  const char *dirs[] = { f->fixtures, NULL };
  const char *disabled[] = { "echo", "badabi", "absent", NULL };
  GPtrArray *names;

  expect_fixture_warnings (f, disabled);
  load_ok (f, dirs, disabled);

  g_assert_null (jsync_registry_lookup (f->registry, "echo"));
  g_assert_nonnull (jsync_registry_lookup (f->registry, "echolong"));
  g_assert_null (find_failure (f, "badabi"));
  /* In file order, once each; "absent" has no module, so is not listed. */
  names = jsync_registry_get_disabled (f->registry);
  g_assert_cmpuint (names->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (names, 0), ==, "badabi");
  g_assert_cmpstr (g_ptr_array_index (names, 1), ==, "echo");
  /* echo's events now wait: echolong still takes its own. */
  g_assert_null (jsync_registry_route (f->registry, "echo_x"));
  g_assert_cmpstr (jsync_registry_route (f->registry, "echo_long_x")->name,
                   ==, "echolong");
}

/* --- Refusals ----------------------------------------------------------- */

/* A fixture module the registry refuses, and what its failure names. */
typedef struct
{
  const char *module;
  const char *cause;
} Refusal;

static const Refusal refuse_abi_mismatch = { "badabi", "ABI 99.0" };
static const Refusal refuse_no_symbol = { "nosymbol", JSYNC_APPLIER_SYMBOL };
static const Refusal refuse_missing_field = { "noname",
                                              "required field name" };

static void
test_reject (Fixture *f, gconstpointer data)
{
  const Refusal *refusal = data;

  load_fixtures (f);
  assert_fixture_failure (f, refusal->module, refusal->cause);
}

static void
test_reject_newer_minor (Fixture *f, gconstpointer data)
{
  g_autofree char *cause = g_strdup_printf ("ABI %d.%d, newer",
                                            JSYNC_ABI_MAJOR,
                                            JSYNC_ABI_MINOR + 1);

  load_fixtures (f);
  assert_fixture_failure (f, "newminor", cause);
}

static void
test_reject_null_symbol (Fixture *f, gconstpointer data)
{
  if (!f->has_nullsymbol)
    {
      g_test_skip ("nullsymbol is built only for ELF");
      return;
    }
  load_fixtures (f);
  assert_fixture_failure (f, "nullsymbol", "is NULL");
}

static void
test_reject_misnamed (Fixture *f, gconstpointer data)
{
  load_fixtures (f);
  assert_fixture_failure (f, "misnamed", "\"other\"");
  g_assert_null (jsync_registry_lookup (f->registry, "other"));
}

static void
test_reject_not_a_module (Fixture *f, gconstpointer data)
{
  load_fixtures (f);
  assert_fixture_failure (f, "notamodule", "cannot open module");
}

static void
test_reject_symlink (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ("links");
  g_autofree char *target = NULL;
  g_autofree char *link = NULL;
  const char *dirs[] = { dir, NULL };
  JsyncLoadFailure *failure;

  target = g_build_filename (f->fixtures, "echo." G_MODULE_SUFFIX, NULL);
  link = g_build_filename (dir, "echo." G_MODULE_SUFFIX, NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);

  expect_failure_warning (dir, "echo", "not a regular file");
  load_ok (f, dirs, NULL);
  failure = find_failure (f, "echo");
  g_assert_nonnull (failure);
  g_assert_cmpstr (failure->path, ==, link);
  g_assert_null (jsync_registry_lookup (f->registry, "echo"));
}

/* Load the folder `dir`, whose `writable` (it or a module in it) others
 * may write to: echo is refused with the reason that names `writable`, and
 * warned of. */
static void
load_refused_writable (Fixture *f, const char *dir, const char *writable)
{
  g_autofree char *reason = g_strdup_printf ("refused: %s is writable by "
                                             "other users (chmod o-w)",
                                             writable);
  const char *dirs[] = { dir, NULL };

  expect_failure_warning (dir, "echo", reason);
  load_ok (f, dirs, NULL);
  g_assert_cmpstr (find_failure (f, "echo")->reason, ==, reason);
}

static void
test_reject_writable_file (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ("writable-file");
  g_autofree char *echo = copy_fixture (f, "echo", dir);
  g_autofree char *reject = copy_fixture (f, "reject", dir);

  /* Group-writable alone is not refused: docs/design.md "The plugin
   * lifecycle" says "by other users". */
  g_assert_cmpint (g_chmod (echo, 0646), ==, 0);
  g_assert_cmpint (g_chmod (reject, 0664), ==, 0);
  load_refused_writable (f, dir, echo);
  g_assert_null (jsync_registry_lookup (f->registry, "echo"));
  g_assert_nonnull (jsync_registry_lookup (f->registry, "reject"));
}

static void
test_reject_writable_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ("writable-folder");
  g_autofree char *echo = copy_fixture (f, "echo", dir);

  g_assert_cmpint (g_chmod (dir, 0757), ==, 0);
  load_refused_writable (f, dir, dir);
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 0);
}

static void
test_reject_group_writable_loads (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_dir ("group-writable");
  g_autofree char *echo = copy_fixture (f, "echo", dir);
  const char *dirs[] = { dir, NULL };

  /* docs/design.md "The plugin lifecycle" refuses "writable by other users"
   * only. */
  g_assert_cmpint (g_chmod (dir, 0775), ==, 0);
  g_assert_cmpint (g_chmod (echo, 0664), ==, 0);
  g_assert_true (load_dirs (f, dirs, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (jsync_registry_lookup (f->registry, "echo"));
}

/* --- Conflicts and shadowing -------------------------------------------- */

static void
test_conflict_prefix (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *dupprefix = NULL;
  const char *dirs[] = { f->fixtures, f->conflict, NULL };

  expect_fixture_warnings (f, NULL);
  g_assert_false (load_dirs (f, dirs, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG);
  g_assert_cmpint (jsync_error_exit_status (error), ==, JSYNC_EXIT_USAGE);

  echo = g_build_filename (f->fixtures, "echo." G_MODULE_SUFFIX, NULL);
  dupprefix = g_build_filename (f->conflict, "dupprefix." G_MODULE_SUFFIX,
                                NULL);
  jtest_assert_has (error->message, "\"echo_\"", echo, dupprefix);
}

static void
test_conflict_disabled (Fixture *f, gconstpointer data)
{
  const char *dirs[] = { f->fixtures, f->conflict, NULL };
  const char *disabled[] = { "dupprefix", NULL };

  /* [applier:dupprefix] enabled=false resolves it. */
  expect_fixture_warnings (f, NULL);
  load_ok (f, dirs, disabled);
  g_assert_cmpstr (jsync_registry_route (f->registry, "echo_x")->name, ==,
                   "echo");
}

static void
test_shadow_same_folder_twice (Fixture *f, gconstpointer data)
{
  const char *dirs[] = { f->fixtures, f->fixtures, NULL };

  /* Each failure is warned about once: the second listing is shadowed. */
  expect_fixture_warnings (f, NULL);
  load_ok (f, dirs, NULL);
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 4);
  g_assert_cmpuint (jsync_registry_get_failures (f->registry)->len, ==,
                    f->has_nullsymbol ? 7 : 6);
}

static void
test_shadow_first_folder_wins (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ("first");
  g_autofree char *echo = copy_fixture (f, "echo", dir);
  g_autofree char *badabi = NULL;
  const char *dirs[] = { dir, f->fixtures, NULL };
  const char *not_warned[] = { "badabi", NULL };

  /* echo.so in the first folder hides the fixture one.  A failing file
   * shadows too: echo's code renamed badabi.so fails there (misnamed), and
   * the fixture badabi.so is then neither loaded nor warned about. */
  badabi = g_build_filename (dir, "badabi." G_MODULE_SUFFIX, NULL);
  g_assert_cmpint (g_rename (echo, badabi), ==, 0);
  g_clear_pointer (&echo, g_free);
  echo = copy_fixture (f, "echo", dir);

  expect_failure_warning (dir, "badabi", "descriptor name \"echo\" *");
  expect_fixture_warnings (f, not_warned);
  load_ok (f, dirs, NULL);
  g_assert_cmpstr (jsync_registry_lookup (f->registry, "echo")->path, ==,
                   echo);
  g_assert_cmpstr (find_failure (f, "badabi")->path, ==, badabi);
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 4);
}

/* --- Routing ------------------------------------------------------------ */

static void
test_route_longest_prefix (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *type;
    const char *plugin;
  } cases[] = {
    { "echo_", "echo" },
    { "echo_x", "echo" },
    { "echo_long", "echo" },
    { "echo_long_", "echolong" },
    { "echo_long_x", "echolong" },
    { "reject_it", "reject" },
    { "failinit_x", "failinit" },
  };

  load_fixtures (f);
  /* Twice: the second answer comes from the cache. */
  for (int pass = 0; pass < 2; pass++)
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        JsyncPlugin *plugin = jsync_registry_route (f->registry,
                                                    cases[i].type);

        g_assert_nonnull (plugin);
        g_assert_cmpstr (plugin->name, ==, cases[i].plugin);
      }
}

static void
test_route_no_match (Fixture *f, gconstpointer data)
{
  static const char *const types[] = {
    "", "echo", "ech", "Echo_x", "xecho_", "workspace_created", "other_x",
    "badabi_x", "misnamed_x",
  };

  load_fixtures (f);
  for (int pass = 0; pass < 2; pass++)
    for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
      g_assert_null (jsync_registry_route (f->registry, types[i]));
}

static void
test_route_many_types (Fixture *f, gconstpointer data)
{
  load_fixtures (f);
  /* More distinct types than the cache holds: answers stay right. */
  for (int i = 0; i < 10000; i++)
    {
      g_autofree char *echo = g_strdup_printf ("echo_%d", i);
      g_autofree char *other = g_strdup_printf ("other_%d", i);

      g_assert_cmpstr (jsync_registry_route (f->registry, echo)->name, ==,
                       "echo");
      g_assert_null (jsync_registry_route (f->registry, other));
    }
}

/* --- The fixtures themselves (the core's end-to-end tests rely on them) */

static void
run_event (const JsyncApplierDesc *desc, gpointer state, const char *line,
           GError **error, gboolean *ok)
{
  json_object *json = json_tokener_parse (line);
  JsyncEvent event = {
    .struct_size = sizeof (JsyncEvent),
    .json = json,
    .file = "test.jsonl",
    .line = 1,
  };

  g_assert_nonnull (json);
  event.id = json_object_get_string (json_object_object_get (json, "id"));
  event.type = json_object_get_string (json_object_object_get (json, "type"));
  event.device_id = "dev";
  *ok = desc->apply (state, &event, error);
  json_object_put (json);
}

static gint64
count_rows (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

static void
test_fixture_appliers (Fixture *f, gconstpointer data)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  JsyncPlugin *echo, *reject, *failinit;
  JsyncApplierContext context = {
    .struct_size = sizeof (JsyncApplierContext),
    .keyfile = keyfile,
  };
  sqlite3 *db = NULL;
  gpointer state;
  gboolean ok;

  load_fixtures (f);
  echo = jsync_registry_lookup (f->registry, "echo");
  reject = jsync_registry_lookup (f->registry, "reject");
  failinit = jsync_registry_lookup (f->registry, "failinit");
  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  context.db = db;

  /* echo keeps id, type and data. */
  context.group = "applier:echo";
  g_assert_true (jsync_sql_exec (db, echo->desc->schema_sql, &error));
  g_assert_no_error (error);
  state = echo->desc->init (&context, &error);
  g_assert_no_error (error);
  g_assert_nonnull (state);
  run_event (echo->desc, state,
             "{\"id\":\"e1\",\"type\":\"echo_a\",\"data\":{\"k\":[1,2]}}",
             &error, &ok);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (count_rows (db, "SELECT count(*) FROM echo_events WHERE "
                                   "id = 'e1' AND type = 'echo_a' AND "
                                   "payload = '{\"k\":[1,2]}'"), ==, 1);
  g_assert_true (echo->desc->clear (state, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (db, "SELECT count(*) FROM echo_events"), ==, 0);
  echo->desc->free (state);

  /* reject refuses "bad": true as invalid, after writing its row (undoing
   * that is the core's job, tested in test-sync), and keeps the rest. */
  context.group = "applier:reject";
  g_assert_true (jsync_sql_exec (db, reject->desc->schema_sql, &error));
  g_assert_no_error (error);
  state = reject->desc->init (&context, &error);
  g_assert_no_error (error);
  run_event (reject->desc, state,
             "{\"id\":\"r1\",\"type\":\"reject_a\",\"data\":{\"bad\":true}}",
             &error, &ok);
  g_assert_false (ok);
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "rejected: bad is true");
  g_clear_error (&error);
  run_event (reject->desc, state,
             "{\"id\":\"r2\",\"type\":\"reject_a\",\"data\":{\"bad\":false}}",
             &error, &ok);
  g_assert_no_error (error);
  g_assert_true (ok);
  run_event (reject->desc, state, "{\"id\":\"r3\",\"type\":\"reject_b\"}",
             &error, &ok);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (count_rows (db, "SELECT count(*) FROM reject_events"), ==,
                   3);
  reject->desc->free (state);

  /* failinit: loaded above, fails only now. */
  context.group = "applier:failinit";
  g_assert_null (failinit->desc->init (&context, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "init: cannot open the frobnicator");

  sqlite3_close (db);
}

/* --- ABI minors: end_batch (1.1), late (1.2) beside descriptors of 1.0
 * and 1.1 (batch/) */

/* end_batch took the first reserved slot and late the next: every field
 * before them keeps its place and the descriptor its size, so 1.0 and 1.1
 * modules still fit. */
static void
test_abi_layout (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (JSYNC_ABI_MINOR, >=, 2);
  g_assert_cmpuint (G_STRUCT_OFFSET (JsyncApplierDesc, end_batch), ==,
                    G_STRUCT_OFFSET (JsyncApplierDesc, free)
                      + sizeof (gpointer));
  g_assert_cmpuint (G_STRUCT_OFFSET (JsyncApplierDesc, late), ==,
                    G_STRUCT_OFFSET (JsyncApplierDesc, end_batch)
                      + sizeof (gpointer));
  g_assert_cmpuint (sizeof (JsyncApplierDesc), ==,
                    G_STRUCT_OFFSET (JsyncApplierDesc, end_batch)
                      + 16 * sizeof (gpointer));
}

/* Every minor loads, with no failure; late is read from 1.2 only. */
static void
test_abi_minors_load (Fixture *f, gconstpointer data)
{
  g_autofree char *batch = g_build_filename (f->fixtures, "batch", NULL);
  const char *dirs[] = { batch, NULL };
  g_autoptr(GError) error = NULL;
  JsyncPlugin *current;
  JsyncPlugin *zero;
  JsyncPlugin *one;

  g_assert_true (load_dirs (f, dirs, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (jsync_registry_get_failures (f->registry)->len, ==, 0);
  g_assert_cmpuint (jsync_registry_get_plugins (f->registry)->len, ==, 3);
  current = jsync_registry_lookup (f->registry, "batchcount");
  zero = jsync_registry_lookup (f->registry, "minorzero");
  one = jsync_registry_lookup (f->registry, "minorone");
  g_assert_nonnull (current);
  g_assert_nonnull (zero);
  g_assert_nonnull (one);
  g_assert_cmpuint (current->desc->abi_minor, ==, JSYNC_ABI_MINOR);
  g_assert_cmpuint (zero->desc->abi_minor, ==, 0);
  g_assert_cmpuint (one->desc->abi_minor, ==, 1);
  g_assert_cmpstr (jsync_registry_route (f->registry, "minorzero_x")->name,
                   ==, "minorzero");
  g_assert_cmpstr (jsync_registry_route (f->registry, "minorone_x")->name,
                   ==, "minorone");
  /* The slot is set in all three descriptors. */
  g_assert_nonnull (one->desc->late);
  g_assert_true (jsync_plugin_get_late (current) == current->desc->late);
  g_assert_null (jsync_plugin_get_late (zero));
  g_assert_null (jsync_plugin_get_late (one));
}

/* A data folder and a cache under the test's own folder, synced with the
 * batch/ fixtures alone. */
typedef struct
{
  char *data;               /* owned */
  char *db;                 /* owned */
  char *plugin_path;        /* owned: JSYNC_PLUGIN_PATH before the test */
} BatchWorld;

static void
batch_world_init (BatchWorld *w, Fixture *f)
{
  g_autofree char *batch = g_build_filename (f->fixtures, "batch", NULL);

  w->data = g_build_filename (g_get_user_cache_dir (), "data", NULL);
  w->db = g_build_filename (g_get_user_cache_dir (), "cache.db", NULL);
  g_assert_cmpint (g_mkdir_with_parents (w->data, 0755), ==, 0);
  w->plugin_path = g_strdup (g_getenv ("JSYNC_PLUGIN_PATH"));
  g_setenv ("JSYNC_PLUGIN_PATH", batch, TRUE);
}

static void
batch_world_clear (BatchWorld *w)
{
  if (w->plugin_path != NULL)
    g_setenv ("JSYNC_PLUGIN_PATH", w->plugin_path, TRUE);
  else
    g_unsetenv ("JSYNC_PLUGIN_PATH");
  g_free (w->data);
  g_free (w->db);
  g_free (w->plugin_path);
}

/* Append `count` events of `type`, ids <type>-<first>..., to log.jsonl. */
static void
batch_append (BatchWorld *w, const char *type, guint first, guint count,
              const char *data)
{
  g_autofree char *path = g_build_filename (w->data, "log.jsonl", NULL);
  FILE *file = fopen (path, "ab");

  g_assert_nonnull (file);
  for (guint i = first; i < first + count; i++)
    fprintf (file, "{\"id\":\"%s-%u\",\"type\":\"%s\",\"deviceId\":\"d\","
             "\"timestamp\":%u,\"data\":%s}\n", type, i, type, 1000 + i,
             data);
  g_assert_cmpint (fclose (file), ==, 0);
}

/* One sync; NULL with error set when the run failed. */
static JsyncResult *
batch_sync (BatchWorld *w, guint batch_size, GError **error)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) coordinator = NULL;

  jsync_config_set_data_dir (config, w->data);
  jsync_config_set_database (config, w->db);
  jsync_config_set_batch_size (config, batch_size);
  coordinator = jsync_coordinator_open (config, error);
  if (coordinator == NULL)
    return NULL;
  return jsync_coordinator_sync (coordinator, error);
}

static gint64
batch_count (BatchWorld *w, const char *sql)
{
  return jtest_cache_int (w->db, sql, NULL);
}

/* The core calls a 1.1 applier's end_batch at the end of every batch,
 * before the commit: each committed batch holds its own end_batch row, and
 * together they account for every event.  A 1.0 applier is synced as
 * before, its end_batch slot never read. */
static void
test_abi_end_batch_called (Fixture *f, gconstpointer data)
{
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  g_autoptr(GError) error = NULL;
  BatchWorld w = { 0 };

  batch_world_init (&w, f);
  batch_append (&w, "batchcount_a", 0, 5, "{}");
  batch_append (&w, "minorzero_a", 0, 5, "{}");
  first = batch_sync (&w, 2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_cmpuint (first->events_applied, ==, 10);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_events"),
                   ==, 5);
  g_assert_cmpint (batch_count (&w, "SELECT total(events)"
                                    " FROM batchcount_batches"), ==, 5);
  /* Ten events two at a time: at least three batches had batchcount's. */
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_batches"
                                    " WHERE events > 0"), >=, 3);
  g_assert_cmpint (batch_count (&w, "SELECT max(events)"
                                    " FROM batchcount_batches"), <=, 2);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM minorzero_events"),
                   ==, 5);
  g_assert_cmpint (batch_count (&w, "SELECT count(*)"
                                    " FROM minorzero_batches"), ==, 0);

  /* After the others in key order: applied alone, nothing replayed. */
  batch_append (&w, "batchcount_b", 10, 1, "{}");
  second = batch_sync (&w, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (second->events_applied, ==, 1);
  g_assert_cmpint (batch_count (&w, "SELECT total(events)"
                                    " FROM batchcount_batches"), ==, 6);
  batch_world_clear (&w);
}

/* Append events of type <name>_<suffix> (as batch_append) for each of
 * `names`. */
static void
batch_append_each (BatchWorld *w, const char *const *names,
                   const char *suffix, guint first)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *type = g_strconcat (names[i], suffix, NULL);

      batch_append (w, type, first, first == 0 ? 5 : 1, "{}");
    }
}

/* One sync, asserting what it applied and how it met late events. */
static void
batch_sync_late (BatchWorld *w, guint64 applied, guint64 in_place,
                 guint64 refused, guint64 replayed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = batch_sync (w, 100, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (result->events_applied, ==, applied);
  g_assert_cmpuint (result->late_in_place, ==, in_place);
  g_assert_cmpuint (result->late_refused, ==, refused);
  g_assert_cmpuint (result->streams_replayed, ==, replayed);
}

/* A 1.2 applier's late() takes a late event in place of a replay of its
 * stream; a 1.0 or 1.1 applier's stream is replayed, its late slot never
 * read.  When late() refuses one event of a group, the stream is replayed
 * with them all, what late() wrote of the others cleared. */
static void
test_abi_late (Fixture *f, gconstpointer data)
{
  const char *const all[] = { "batchcount", "minorzero", "minorone", NULL };
  BatchWorld w = { 0 };

  batch_world_init (&w, f);
  batch_append_each (&w, all, "_a", 0);
  batch_sync_late (&w, 15, 0, 0, 0);

  /* Timestamp 1001: before the last event of each stream (1004). */
  batch_append_each (&w, all, "_late", 1);
  batch_sync_late (&w, 3, 1, 0, 2);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_late"
                                    " WHERE id = 'batchcount_late-1'"),
                   ==, 1);
  for (guint i = 0; all[i] != NULL; i++)
    {
      g_autofree char *late = g_strdup_printf (
          "SELECT count(*) FROM %s_late", all[i]);
      g_autofree char *events = g_strdup_printf (
          "SELECT count(*) FROM %s_events", all[i]);

      g_assert_cmpint (batch_count (&w, late), ==, i == 0 ? 1 : 0);
      g_assert_cmpint (batch_count (&w, events), ==, 6);
    }

  /* Two late events: the first taken, the second refused. */
  batch_append (&w, "batchcount_late", 2, 1, "{}");
  batch_append (&w, "batchcount_late", 3, 1, "{\"refuselate\":true}");
  batch_sync_late (&w, 2, 0, 1, 1);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_late"),
                   ==, 2);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_events"),
                   ==, 8);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM jsync_events"),
                   ==, 20);
  batch_world_clear (&w);
}

/* A failed end_batch fails its batch: the run stops with an error naming
 * the module, and none of the batch's events is committed. */
static void
test_abi_end_batch_fails (Fixture *f, gconstpointer data)
{
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  BatchWorld w = { 0 };

  batch_world_init (&w, f);
  batch_append (&w, "batchcount_a", 0, 2, "{}");
  batch_append (&w, "batchcount_b", 0, 1, "{\"failbatch\":true}");
  result = batch_sync (&w, 1000, &error);
  g_assert_null (result);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "batchcount." G_MODULE_SUFFIX
                                            ": end_batch: end of batch"
                                            " refused"));
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM batchcount_events"),
                   ==, 0);
  g_assert_cmpint (batch_count (&w, "SELECT count(*) FROM jsync_events"),
                   ==, 0);
  batch_world_clear (&w);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);
  /* Intern the appliers' error domain from this program's copy of its name,
   * as jsync_coordinator_open() does: the fixtures tests make modules set
   * errors in it, and GLib would keep the first module's pointer, gone
   * once the module is unloaded (a crash in the next lookup). */
  (void) JSYNC_APPLIER_ERROR;

  JTEST_ADD ("/registry/load/fixtures", test_load_fixtures);
  JTEST_ADD ("/registry/load/empty", test_load_empty);
  JTEST_ADD ("/registry/load/missing-folder", test_load_missing_folder);
  JTEST_ADD ("/registry/load/not-a-folder", test_load_not_a_folder);
  JTEST_ADD ("/registry/load/disabled", test_load_disabled);
#define ADD_REFUSAL(path, refusal) \
  g_test_add (path, Fixture, &refusal, fixture_setup, test_reject, \
              fixture_teardown)
  ADD_REFUSAL ("/registry/reject/abi-mismatch", refuse_abi_mismatch);
  JTEST_ADD ("/registry/reject/newer-minor", test_reject_newer_minor);
  ADD_REFUSAL ("/registry/reject/no-symbol", refuse_no_symbol);
  JTEST_ADD ("/registry/reject/null-symbol", test_reject_null_symbol);
  ADD_REFUSAL ("/registry/reject/missing-field", refuse_missing_field);
#undef ADD_REFUSAL
  JTEST_ADD ("/registry/reject/misnamed", test_reject_misnamed);
  JTEST_ADD ("/registry/reject/not-a-module", test_reject_not_a_module);
  JTEST_ADD ("/registry/reject/symlink", test_reject_symlink);
  JTEST_ADD ("/registry/reject/writable-file", test_reject_writable_file);
  JTEST_ADD ("/registry/reject/writable-folder", test_reject_writable_folder);
  JTEST_ADD ("/registry/reject/group-writable-loads",
       test_reject_group_writable_loads);
  JTEST_ADD ("/registry/conflict/prefix", test_conflict_prefix);
  JTEST_ADD ("/registry/conflict/disabled", test_conflict_disabled);
  JTEST_ADD ("/registry/shadow/same-folder-twice",
             test_shadow_same_folder_twice);
  JTEST_ADD ("/registry/shadow/first-folder-wins",
             test_shadow_first_folder_wins);
  JTEST_ADD ("/registry/route/longest-prefix", test_route_longest_prefix);
  JTEST_ADD ("/registry/route/no-match", test_route_no_match);
  JTEST_ADD ("/registry/route/many-types", test_route_many_types);
  JTEST_ADD ("/registry/fixtures/appliers", test_fixture_appliers);
  JTEST_ADD ("/registry/abi/layout", test_abi_layout);
  JTEST_ADD ("/registry/abi/minors-load", test_abi_minors_load);
  JTEST_ADD ("/registry/abi/end-batch-called", test_abi_end_batch_called);
  JTEST_ADD ("/registry/abi/end-batch-fails", test_abi_end_batch_fails);
  JTEST_ADD ("/registry/abi/late", test_abi_late);


  return g_test_run ();
}
