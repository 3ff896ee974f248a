/* test-config.c: the configuration: defaults, keyfile, setters, errors. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jsync-config.h"
#include "jsync-test.h"

/* Each test gets its own folder for keyfiles and data folders, inside the
 * temporary home that G_TEST_OPTION_ISOLATE_DIRS gives it. */
typedef struct
{
  char *dir;                  /* owned */
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = g_build_filename (g_get_user_config_dir (), "jsync", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->dir, 0700), ==, 0);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_free (fixture->dir);
}

/* Write @contents to @name below the fixture's folder (making folders).
 * (transfer full) */
static char *
write_file (Fixture *fixture, const char *name, const char *contents)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static char *
make_dir (Fixture *fixture, const char *name)
{
  char *path = g_build_filename (fixture->dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static void
assert_strv (const char *const *actual, const char *const *expected)
{
  g_assert_nonnull (actual);
  g_assert_cmpuint (g_strv_length ((char **) actual), ==,
                    g_strv_length ((char **) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (actual[i], ==, expected[i]);
}

/* Load the keyfile at @path into @config: asserted to succeed. */
static void
assert_loads (JsyncConfig *config, const char *path)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (jsync_config_load_file (config, path, &error));
  g_assert_no_error (error);
}

/* A configuration loaded from @contents, written to @name below the
 * fixture's folder (its path in *@path_out when not NULL): the load is
 * asserted to succeed, warning exactly @warnings (NULL-terminated patterns
 * in which "%s" stands for the keyfile's path; NULL for none).
 * (transfer full) */
static JsyncConfig *
load_keyfile (Fixture *fixture, const char *name, const char *contents,
              const char *const *warnings, char **path_out)
{
  JsyncConfig *config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, name, contents);

  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    {
      g_autofree char *pattern = g_strdup_printf (warnings[i], path);

      g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
    }
  assert_loads (config, path);
  g_test_assert_expected_messages ();
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return config;
}

/* Load @contents as a keyfile and expect it to fail with @message, in
 * which "%s" stands for the keyfile's path. */
static void
assert_load_fails (Fixture *fixture, const char *contents,
                   const char *message)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_file (fixture, "jsync.conf", contents);
  g_autofree char *expected = NULL;

  g_assert_false (jsync_config_load_file (config, path, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG);
  expected = g_strdup_printf (message, path);
  g_assert_cmpstr (error->message, ==, expected);

  /* A failed load leaves the configuration as it was. */
  g_assert_null (jsync_config_get_path (config));
  g_assert_cmpuint (jsync_config_get_batch_size (config), ==,
                    JSYNC_DEFAULT_BATCH_SIZE);
  g_assert_null (g_key_file_get_start_group (jsync_config_get_keyfile (config)));
}

/* "[jsync]\n@key=@value\n" fails to load with "<path>: [jsync] @key:
 * expected @expected, got "@value"". */
static void
assert_bad_value (Fixture *fixture, const char *key, const char *value,
                  const char *expected)
{
  g_autofree char *contents = g_strdup_printf ("[jsync]\n%s=%s\n", key,
                                               value);
  g_autofree char *message = g_strdup_printf (
      "%%s: [jsync] %s: expected %s, got \"%s\"", key, expected, value);

  assert_load_fails (fixture, contents, message);
}

static void
test_defaults (void)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_auto(GStrv) disabled = NULL;
  g_auto(GStrv) required = NULL;
  g_auto(GStrv) groups = NULL;
  GKeyFile *keyfile;

  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, ".");
  g_assert_null (jsync_config_get_plugins_dir (config));
  g_assert_cmpuint (jsync_config_get_batch_size (config), ==,
                    JSYNC_DEFAULT_BATCH_SIZE);
  g_assert_false (jsync_config_get_strict (config));
  g_assert_cmpint (jsync_config_get_max_line_bytes (config), ==,
                   64 * 1024 * 1024);
  g_assert_cmpuint (jsync_config_get_lock_timeout (config), ==, 30);
  g_assert_null (jsync_config_get_device_id (config));
  g_assert_null (jsync_config_get_path (config));
  g_assert_nonnull (jsync_config_get_ignore (config));
  g_assert_null (jsync_config_get_ignore (config)[0]);

  keyfile = jsync_config_get_keyfile (config);
  g_assert_nonnull (keyfile);
  groups = g_key_file_get_groups (keyfile, NULL);
  g_assert_cmpuint (g_strv_length (groups), ==, 0);

  disabled = jsync_config_dup_disabled_appliers (config);
  g_assert_nonnull (disabled);
  g_assert_cmpuint (g_strv_length (disabled), ==, 0);
  required = jsync_config_dup_required_plugin_dirs (config);
  g_assert_nonnull (required);
  g_assert_cmpuint (g_strv_length (required), ==, 0);

  /* Freeing NULL is allowed, as for every GLib free function. */
  jsync_config_free (NULL);
}

static void
test_keyfile_values (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = NULL;
  g_autoptr(JsyncConfig) config = load_keyfile (
      fixture, "jsync.conf",
      "# comment\n"
      "[jsync]\n"
      "data-dir = /srv/vault/.nexus\n"
      "database = /var/cache/nexus.db\n"
      "plugins-dir = /opt/jsync/plugins\n"
      "batch-size = 250\n"
      "strict = true\n"
      "device-id = laptop-1\n"
      "max-line-bytes = 1048576\n"
      "lock-timeout = 0\n"
      "\n"
      "[applier:conversation]\n"
      "title-length = 80\n", NULL, &path);
  g_autoptr(GError) error = NULL;
  g_autofree char *option = NULL;

  g_assert_cmpstr (jsync_config_get_path (config), ==, path);
  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, "/srv/vault/.nexus");
  g_assert_cmpstr (jsync_config_get_database (config), ==,
                   "/var/cache/nexus.db");
  g_assert_cmpstr (jsync_config_get_plugins_dir (config), ==,
                   "/opt/jsync/plugins");
  g_assert_cmpuint (jsync_config_get_batch_size (config), ==, 250);
  g_assert_true (jsync_config_get_strict (config));
  g_assert_cmpstr (jsync_config_get_device_id (config), ==, "laptop-1");
  g_assert_cmpint (jsync_config_get_max_line_bytes (config), ==, 1048576);
  g_assert_cmpuint (jsync_config_get_lock_timeout (config), ==, 0);

  /* An applier's own keys are left to it, in the keyfile. */
  option = g_key_file_get_string (jsync_config_get_keyfile (config),
                                  "applier:conversation", "title-length",
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (option, ==, "80");
}

/* The setters win over the keyfile whichever comes first. */
static void
check_setters_win (JsyncConfig *config)
{
  g_auto(GStrv) required = NULL;

  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, "/cli/data");
  g_assert_cmpstr (jsync_config_get_database (config), ==, "/cli/cache.db");
  g_assert_cmpstr (jsync_config_get_plugins_dir (config), ==, "/cli/plugins");
  g_assert_cmpuint (jsync_config_get_batch_size (config), ==, 7);
  g_assert_false (jsync_config_get_strict (config));
  /* Keys with no setter still come from the keyfile. */
  g_assert_cmpstr (jsync_config_get_device_id (config), ==, "desk");

  required = jsync_config_dup_required_plugin_dirs (config);
  assert_strv ((const char *const *) required,
               (const char *const[]) { "/cli/plugins", "/file/plugins",
                                       NULL });
}

static const char precedence_keyfile[] =
  "[jsync]\n"
  "data-dir=/file/data\n"
  "database=/file/cache.db\n"
  "plugins-dir=/file/plugins\n"
  "batch-size=500\n"
  "strict=true\n"
  "device-id=desk\n";

static void
set_all (JsyncConfig *config)
{
  jsync_config_set_data_dir (config, "/cli/data");
  jsync_config_set_database (config, "/cli/cache.db");
  jsync_config_set_plugins_dir (config, "/cli/plugins");
  jsync_config_set_batch_size (config, 7);
  jsync_config_set_strict (config, FALSE);
}

static void
test_precedence_setter_first (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      precedence_keyfile);

  set_all (config);
  assert_loads (config, path);
  check_setters_win (config);

  /* Nor does loading again change that. */
  assert_loads (config, path);
  check_setters_win (config);
}

static void
test_precedence_setter_after (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = load_keyfile (fixture, "jsync.conf",
                                                precedence_keyfile, NULL,
                                                NULL);

  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, "/file/data");
  g_assert_true (jsync_config_get_strict (config));
  set_all (config);
  check_setters_win (config);

  /* Clearing a path setter falls back to the keyfile. */
  jsync_config_set_data_dir (config, NULL);
  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, "/file/data");
}

static void
test_relative_paths (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = load_keyfile (
      fixture, "conf/jsync.conf",
      "[jsync]\n"
      "data-dir=vault/.nexus\n"
      "database=../cache/./nexus.db\n"
      "plugins-dir=plugins\n", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (fixture->dir, "conf", "vault",
                                                ".nexus", NULL);
  g_autofree char *database = g_build_filename (fixture->dir, "cache",
                                                "nexus.db", NULL);
  g_autofree char *plugins_dir = g_build_filename (fixture->dir, "conf",
                                                   "plugins", NULL);
  g_autofree char *cwd = g_get_current_dir ();

  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, data_dir);
  g_assert_cmpstr (jsync_config_get_database (config), ==, database);
  g_assert_cmpstr (jsync_config_get_plugins_dir (config), ==, plugins_dir);

  /* A keyfile named by a relative path: still its own folder, made
   * absolute, whatever the current folder becomes later. */
  g_assert_cmpint (g_chdir (fixture->dir), ==, 0);
  g_assert_true (jsync_config_load_file (config, "conf/jsync.conf", &error));
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpstr (jsync_config_get_path (config), ==, "conf/jsync.conf");
  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, data_dir);
  g_assert_cmpstr (jsync_config_get_database (config), ==, database);
  g_assert_cmpstr (jsync_config_get_plugins_dir (config), ==, plugins_dir);

  /* Setters' paths are taken as given (relative to the current folder). */
  jsync_config_set_data_dir (config, "here");
  g_assert_cmpstr (jsync_config_get_data_dir (config), ==, "here");
}

static void
test_error_batch_size (Fixture *fixture, gconstpointer user_data)
{
  static const char *const bad[] = { "ten", "0", "-5", "12abc", "" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_bad_value (fixture, "batch-size", bad[i], "a positive integer");
  assert_bad_value (fixture, "batch-size", "1000001",
                    "a positive integer no greater than 1000000");
}

static void
test_error_batch_size_limit (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = load_keyfile (fixture, "jsync.conf",
                                                "[jsync]\nbatch-size=1000000\n",
                                                NULL, NULL);

  g_assert_cmpuint (jsync_config_get_batch_size (config), ==, 1000000);
}

static void
test_error_strict (Fixture *fixture, gconstpointer user_data)
{
  assert_bad_value (fixture, "strict", "yes", "true or false");
}

static void
test_error_enabled (Fixture *fixture, gconstpointer user_data)
{
  assert_load_fails (fixture,
                     "[applier:workspace]\nenabled=false\n"
                     "[applier:conversation]\nenabled=maybe\n",
                     "%s: [applier:conversation] enabled: expected true or "
                     "false, got \"maybe\"");
}

static void
test_error_numbers (Fixture *fixture, gconstpointer user_data)
{
  assert_bad_value (fixture, "max-line-bytes", "0", "a positive integer");
  assert_bad_value (fixture, "lock-timeout", "-1", "a non-negative integer");
  assert_bad_value (fixture, "lock-timeout", "1.5", "a non-negative integer");
}

static void
test_error_empty_values (Fixture *fixture, gconstpointer user_data)
{
  assert_load_fails (fixture, "[jsync]\ndata-dir=\n",
                     "%s: [jsync] data-dir: expected a value, got an empty "
                     "one");
  assert_load_fails (fixture, "[jsync]\ndevice-id=\n",
                     "%s: [jsync] device-id: expected a value, got an empty "
                     "one");
}

static void
test_warning_unknown_key (Fixture *fixture, gconstpointer user_data)
{
  static const char *const warnings[] = {
    "%s: [jsync] bach-size: unknown key", NULL,
  };
  g_autoptr(JsyncConfig) config = load_keyfile (
      fixture, "jsync.conf", "[jsync]\nbach-size=10\nstrict=true\n",
      warnings, NULL);

  g_assert_cmpuint (jsync_config_get_batch_size (config), ==,
                    JSYNC_DEFAULT_BATCH_SIZE);
  g_assert_true (jsync_config_get_strict (config));
}

static void
test_warning_unknown_group (Fixture *fixture, gconstpointer user_data)
{
  static const char *const warnings[] = {
    "%s: [sync]: unknown group", "%s: [applier:]: unknown group", NULL,
  };
  g_autoptr(JsyncConfig) config = load_keyfile (
      fixture, "jsync.conf",
      "[sync]\nbatch-size=10\n[applier:]\nenabled=false\n"
      "[jsync]\nbatch-size=20\n", warnings, NULL);

  g_assert_cmpuint (jsync_config_get_batch_size (config), ==, 20);
}

static void
test_error_missing_file (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "missing.conf",
                                            NULL);
  g_autofree char *prefix = g_strconcat (path, ": ", NULL);

  g_assert_false (jsync_config_load_file (config, path, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_cmpuint (strlen (error->message), >, strlen (prefix));
  g_assert_null (jsync_config_get_path (config));
}

static void
test_error_syntax (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      "[jsync]\nthis is not a key file\n");
  g_autofree char *prefix = g_strconcat (path, ": ", NULL);

  g_assert_false (jsync_config_load_file (config, path, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_cmpint (jsync_error_exit_status (error), ==, JSYNC_EXIT_USAGE);
}

/* The default database of a configuration whose data folder is @dir.
 * (transfer full) */
static char *
default_database (const char *dir)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();

  jsync_config_set_data_dir (config, dir);
  return g_strdup (jsync_config_get_database (config));
}

static void
test_database_default (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *a = make_dir (fixture, "a");
  g_autofree char *b = make_dir (fixture, "b");
  g_autofree char *link = g_build_filename (fixture->dir, "link-to-a", NULL);
  g_autofree char *a_dotted = g_build_filename (fixture->dir, "b", "..", "a",
                                                NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autofree char *cache_dir = g_build_filename (g_get_user_cache_dir (),
                                                 "jsync", NULL);
  g_autofree char *db_a = default_database (a);
  g_autofree char *db_b = default_database (b);
  g_autofree char *db_missing = default_database (missing);
  g_autofree char *folder = NULL;
  g_autofree char *name = NULL;
  g_autofree char *cwd = g_get_current_dir ();

  /* $XDG_CACHE_HOME/jsync/<16 hex>.db */
  folder = g_path_get_dirname (db_a);
  g_assert_cmpstr (folder, ==, cache_dir);
  name = g_path_get_basename (db_a);
  g_assert_cmpuint (strlen (name), ==, 16 + strlen (".db"));
  g_assert_true (g_str_has_suffix (name, ".db"));
  for (guint i = 0; i < 16; i++)
    g_assert_true (g_ascii_isxdigit (name[i]) && !g_ascii_isupper (name[i]));

  /* The same folder, however named, gives the same file; another folder
   * another file. */
  g_assert_cmpint (symlink (a, link), ==, 0);
  {
    g_autofree char *db_link = default_database (link);
    g_autofree char *db_dotted = default_database (a_dotted);
    g_autofree char *db_again = default_database (a);

    g_assert_cmpstr (db_link, ==, db_a);
    g_assert_cmpstr (db_dotted, ==, db_a);
    g_assert_cmpstr (db_again, ==, db_a);
  }
  g_assert_cmpstr (db_b, !=, db_a);

  /* A folder that does not exist yet still has a name. */
  g_assert_true (g_str_has_prefix (db_missing, cache_dir));
  g_assert_cmpstr (db_missing, !=, db_a);

  /* The default "." is the current folder. */
  g_assert_cmpint (g_chdir (a), ==, 0);
  {
    g_autofree char *db_dot = default_database (NULL);

    g_assert_cmpint (g_chdir (cwd), ==, 0);
    g_assert_cmpstr (db_dot, ==, db_a);
  }

  /* Changing the data folder changes the default. */
  {
    g_autoptr(JsyncConfig) config = jsync_config_new ();

    jsync_config_set_data_dir (config, a);
    g_assert_cmpstr (jsync_config_get_database (config), ==, db_a);
    jsync_config_set_data_dir (config, b);
    g_assert_cmpstr (jsync_config_get_database (config), ==, db_b);
  }
}

static void
test_plugin_path_env (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      "[jsync]\nplugins-dir=/file/plugins\n");
  g_autofree char *env = g_strjoin (G_SEARCHPATH_SEPARATOR_S, "/env/one", "",
                                    "/env/two", NULL);
  g_auto(GStrv) dirs = NULL;
  g_auto(GStrv) required = NULL;

  assert_loads (config, path);
  jsync_config_set_plugins_dir (config, "/cli/plugins");

  g_assert_true (g_setenv ("JSYNC_PLUGIN_PATH", env, TRUE));
  dirs = jsync_config_dup_plugin_path (config);
  assert_strv ((const char *const *) dirs,
               (const char *const[]) { "/env/one", "/env/two", NULL });

  /* The folders named explicitly are still required. */
  required = jsync_config_dup_required_plugin_dirs (config);
  assert_strv ((const char *const *) required,
               (const char *const[]) { "/cli/plugins", "/file/plugins",
                                       NULL });

  /* Set but empty counts as unset. */
  g_assert_true (g_setenv ("JSYNC_PLUGIN_PATH", "", TRUE));
  g_clear_pointer (&dirs, g_strfreev);
  dirs = jsync_config_dup_plugin_path (config);
  g_assert_cmpuint (g_strv_length (dirs), ==, 3);
  g_assert_cmpstr (dirs[0], ==, "/cli/plugins");
  g_assert_cmpstr (dirs[1], ==, "/file/plugins");

  g_unsetenv ("JSYNC_PLUGIN_PATH");
}

static void
test_plugin_path_default (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "conf/jsync.conf",
                                      "[jsync]\nplugins-dir=plugins\n");
  g_autofree char *file_dir = g_build_filename (fixture->dir, "conf",
                                                "plugins", NULL);
  g_auto(GStrv) installed = NULL;
  g_auto(GStrv) dirs = NULL;
  g_auto(GStrv) required = NULL;

  g_unsetenv ("JSYNC_PLUGIN_PATH");

  /* With nothing named, the installed folder alone. */
  installed = jsync_config_dup_plugin_path (config);
  g_assert_cmpuint (g_strv_length (installed), ==, 1);
  g_assert_true (g_path_is_absolute (installed[0]));

  /* Then --plugins-dir, the keyfile's (from its folder), the installed. */
  assert_loads (config, path);
  jsync_config_set_plugins_dir (config, "/cli/plugins");
  dirs = jsync_config_dup_plugin_path (config);
  assert_strv ((const char *const *) dirs,
               (const char *const[]) { "/cli/plugins", file_dir, installed[0],
                                       NULL });
  required = jsync_config_dup_required_plugin_dirs (config);
  assert_strv ((const char *const *) required,
               (const char *const[]) { "/cli/plugins", file_dir, NULL });

  /* The keyfile's alone. */
  jsync_config_set_plugins_dir (config, NULL);
  g_clear_pointer (&dirs, g_strfreev);
  dirs = jsync_config_dup_plugin_path (config);
  assert_strv ((const char *const *) dirs,
               (const char *const[]) { file_dir, installed[0], NULL });
}

static void
test_disabled_appliers (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      "[applier:workspace]\nenabled=false\n"
                                      "[applier:conversation]\nenabled=true\n"
                                      "[applier:notes]\ncolour=blue\n"
                                      "[applier:tasks]\nenabled = false\n"
                                      "limit=3\n");
  g_auto(GStrv) disabled = NULL;

  assert_loads (config, path);
  disabled = jsync_config_dup_disabled_appliers (config);
  assert_strv ((const char *const *) disabled,
               (const char *const[]) { "workspace", "tasks", NULL });
}

static void
test_ignore (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      "[jsync]\n"
                                      "ignore=*.tmp;drafts/*;;old\\;copy;\n");

  assert_loads (config, path);
  assert_strv (jsync_config_get_ignore (config),
               (const char *const[]) { "*.tmp", "drafts/*", "old;copy",
                                       NULL });
}

/* keep-previous: off by default, on from the keyfile, the setter over
 * it; anything but a boolean is an error. */
static void
test_keep_previous (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *path = write_file (fixture, "jsync.conf",
                                      "[jsync]\nkeep-previous = true\n");

  g_assert_false (jsync_config_get_keep_previous (config));
  assert_loads (config, path);
  g_assert_true (jsync_config_get_keep_previous (config));
  jsync_config_set_keep_previous (config, FALSE);
  g_assert_false (jsync_config_get_keep_previous (config));
  assert_loads (config, path);
  g_assert_false (jsync_config_get_keep_previous (config));
  assert_bad_value (fixture, "keep-previous", "1x", "true or false");
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

#define ADD(name, func) \
  g_test_add ((name), Fixture, NULL, fixture_set_up, (func), \
              fixture_tear_down)

  g_test_add_func ("/config/defaults", test_defaults);
  ADD ("/config/keyfile/values", test_keyfile_values);
  ADD ("/config/keyfile/relative-paths", test_relative_paths);
  ADD ("/config/precedence/setter-first", test_precedence_setter_first);
  ADD ("/config/precedence/setter-after", test_precedence_setter_after);
  ADD ("/config/error/batch-size", test_error_batch_size);
  ADD ("/config/keyfile/batch-size-limit", test_error_batch_size_limit);
  ADD ("/config/error/strict", test_error_strict);
  ADD ("/config/error/enabled", test_error_enabled);
  ADD ("/config/error/numbers", test_error_numbers);
  ADD ("/config/error/empty-values", test_error_empty_values);
  ADD ("/config/error/missing-file", test_error_missing_file);
  ADD ("/config/error/syntax", test_error_syntax);
  ADD ("/config/warning/unknown-key", test_warning_unknown_key);
  ADD ("/config/warning/unknown-group", test_warning_unknown_group);
  ADD ("/config/database/default", test_database_default);
  ADD ("/config/plugin-path/env", test_plugin_path_env);
  ADD ("/config/plugin-path/default", test_plugin_path_default);
  ADD ("/config/appliers/disabled", test_disabled_appliers);
  ADD ("/config/ignore", test_ignore);
  ADD ("/config/keep-previous", test_keep_previous);

#undef ADD

  return g_test_run ();
}
