/* test-append.c: `jsync append`, the write path for apps (docs/design.md
 * "One path in"), through the program (JSYNC_BIN) and the library.
 *
 * What a user checks: the line in the log (envelope filled: a UUID v4 id,
 * this device's id, the time now; the body's members kept, first), that
 * exactly one line was added (after a "\n" when the file lacked one), that
 * the cache has the event as soon as the command returns, the device id
 * kept across runs (state file, or the keyfile's), and every refusal (exit
 * 2, a message, nothing written).  The applier is the echo fixture (and
 * reject, to see a failed event), copied into a private folder.
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>
#include <sqlite3.h>

#include "jsync-test-core.h"

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: dir/data, the data folder */
  char *db;                     /* owned: dir/cache.db */
  char *plugins;                /* owned: dir/plugins: echo.so, reject.so */
  char *state;                  /* owned: the child's XDG_STATE_HOME */
  char **env;                   /* owned: the child's environment */
} Fixture;

/* --- Files ---------------------------------------------------------------- */

static char *
data_path (Fixture *f, const char *relative)
{
  return g_build_filename (f->data, relative, NULL);
}

/* The file's text, or NULL when there is none. */
static char *
read_data (Fixture *f, const char *relative)
{
  g_autofree char *path = data_path (f, relative);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

static void
write_data (Fixture *f, const char *relative, const char *text)
{
  g_free (jtest_write_below (f->data, relative, text, FALSE));
}

/* --- Fixture -------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  static const char *const names[] = { "echo", "reject", NULL };

  jtest_dirs_make (NULL, "jsync-append", "cache.db", &f->dir, &f->data,
                   &f->db);
  f->plugins = g_build_filename (f->dir, "plugins", NULL);
  f->state = g_strdup (g_get_user_state_dir ());
  jtest_copy_fixture_plugins ("", f->plugins, names);
  f->env = jtest_child_environ ();
  f->env = g_environ_setenv (f->env, "XDG_STATE_HOME", f->state, TRUE);
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", f->plugins, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", f->plugins, TRUE);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  jtest_dirs_free (f->dir, f->data, f->db);
  g_free (f->plugins);
  g_free (f->state);
  g_strfreev (f->env);
}

static char *
write_keyfile (Fixture *f, const char *text)
{
  return jtest_write_below (f->dir, "jsync.conf", text, FALSE);
}

/* Run jsync with --data-dir and --db of the fixture, the arguments, and
 * `input` on its stdin (an empty stdin when NULL). */
static JTestRun *
run_input_argv (Fixture *f, const char *input, const char *const *args)
{
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, f->db, args);
  JTestSpawn options = { .cwd = f->dir, .env = f->env,
                         .stdin_text = input != NULL ? input : "" };

  return jtest_spawn_logged ((const char *const *) argv->pdata, &options);
}

#define RUN(f, ...) \
  run_input_argv ((f), NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define RUN_INPUT(f, input, ...) \
  run_input_argv ((f), (input), (const char *const[]) { __VA_ARGS__, NULL })

/* --- Checks --------------------------------------------------------------- */

static void
assert_uuid_v4 (const char *id)
{
  g_assert_nonnull (id);
  g_assert_true (g_uuid_string_is_valid (id));
  g_assert_cmpint (id[14], ==, '4');
  g_assert_nonnull (strchr ("89ab", id[19]));
  for (const char *p = id; *p != '\0'; p++)
    g_assert_false (g_ascii_isupper (*p));
}

static json_object *
parse_line (const char *line)
{
  json_object *json = json_tokener_parse (line);

  if (json == NULL)
    g_test_message ("not JSON: %s", line);
  g_assert_nonnull (json);
  g_assert_cmpint (json_object_get_type (json), ==, json_type_object);
  return json;
}

/* How many lines: "\n" characters. */
static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

/* The id printed on stdout by a run that exited `status`: one line, nothing
 * else. */
static char *
printed_id (JTestRun *run, int status)
{
  g_assert_cmpint (run->status, ==, status);
  g_assert_true (g_str_has_suffix (run->out, "\n"));
  g_assert_cmpuint (count_lines (run->out), ==, 1);
  return g_strndup (run->out, strlen (run->out) - 1);
}

/* `jsync append` of `body` to `file`: it must exit `status` and print the
 * event's id (in *id); the log's text after it in *text.
 * (transfer full) */
static JTestRun *
append_read (Fixture *f, const char *file, const char *body, int status,
             char **id, char **text)
{
  JTestRun *run = RUN (f, "append", file, body);

  *id = printed_id (run, status);
  *text = read_data (f, file);
  return run;
}

static gint64
cache_count (Fixture *f, const char *sql, const char *arg)
{
  return jtest_cache_int (f->db, sql, arg);
}

/* The cache's `table` has one row whose `column` is `value`. */
static void
assert_one_row (Fixture *f, const char *table, const char *column,
                const char *value)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(*) FROM %s WHERE %s = ?1", table, column);

  g_assert_cmpint (cache_count (f, sql, value), ==, 1);
}

/* The echo applier has the event, with this type. */
static void
assert_cached (Fixture *f, const char *id, const char *type)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(*) FROM echo_events WHERE id = ?1 AND type = '%s'", type);

  g_assert_cmpint (cache_count (f, sql, id), ==, 1);
}

static char *
state_device_id (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->state, "jsync", "device-id",
                                            NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

/* --- The program ---------------------------------------------------------- */

static void
test_cli_envelope (Fixture *f, gconstpointer user_data)
{
  g_autofree char *id1 = NULL;
  g_autofree char *text1 = NULL;
  g_autoptr(JTestRun) first = append_read (
      f, "notes.jsonl",
      "{\"type\":\"echo_note\",\"data\":{\"text\":"
      "\"héllo / wörld\",\"n\":1.50}}", 0, &id1, &text1);
  g_autofree char *device = state_device_id (f);
  g_autoptr(JTestRun) second = NULL;
  g_autofree char *id2 = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *expected_start = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(json_object) event1 = NULL;
  g_autoptr(json_object) event2 = NULL;

  g_assert_cmpstr (first->err, ==, "");
  assert_uuid_v4 (id1);

  /* One line, the body's members first and as written, then the envelope. */
  g_assert_nonnull (text1);
  g_assert_true (g_str_has_suffix (text1, "\n"));
  g_assert_cmpuint (count_lines (text1), ==, 1);
  g_assert_true (g_str_has_prefix (text1,
                                   "{\"type\":\"echo_note\",\"data\":{\"text\":"
                                   "\"héllo / wörld\",\"n\":1.50},\"id\":\""));
  event1 = parse_line (text1);
  g_assert_cmpstr (jtest_member_str (event1, "id"), ==, id1);
  g_assert_nonnull (device);
  assert_uuid_v4 (device);
  g_assert_cmpstr (jtest_member_str (event1, "deviceId"), ==, device);
  g_assert_cmpint (jtest_member_int (event1, "timestamp"), >=, first->started);
  g_assert_cmpint (jtest_member_int (event1, "timestamp"), <=, first->ended);
  assert_cached (f, id1, "echo_note");

  /* A second run: a new id, the same device. */
  second = append_read (f, "notes.jsonl", "{\"type\":\"echo_other\"}", 0,
                        &id2, &text2);
  assert_uuid_v4 (id2);
  g_assert_cmpstr (id2, !=, id1);
  g_assert_true (g_str_has_prefix (text2, text1));
  lines = g_strsplit (text2 + strlen (text1), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_cmpstr (lines[1], ==, "");
  event2 = parse_line (lines[0]);
  expected_start = g_strdup_printf ("{\"type\":\"echo_other\",\"id\":\"%s\","
                                    "\"deviceId\":\"%s\",\"timestamp\":",
                                    id2, device);
  g_assert_true (g_str_has_prefix (lines[0], expected_start));
  g_assert_cmpint (jtest_member_int (event2, "timestamp"), >=, second->started);
  g_assert_cmpint (jtest_member_int (event2, "timestamp"), <=, second->ended);
  assert_cached (f, id2, "echo_other");
  assert_cached (f, id1, "echo_note");
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events", NULL),
                   ==, 2);
}

static void
test_cli_keyfile_device (Fixture *f, gconstpointer user_data)
{
  g_autofree char *keyfile = write_keyfile (f, "[jsync]\ndevice-id = laptop-1\n");
  g_autoptr(JTestRun) run = RUN (f, "--config", keyfile, "append", "a.jsonl",
                                 "{\"type\":\"echo_x\"}");
  g_autofree char *text = read_data (f, "a.jsonl");
  g_autofree char *state = state_device_id (f);
  g_autoptr(json_object) event = NULL;

  g_assert_cmpint (run->status, ==, 0);
  event = parse_line (text);
  g_assert_cmpstr (jtest_member_str (event, "deviceId"), ==, "laptop-1");
  /* Nothing made in the state folder when the keyfile says. */
  g_assert_null (state);
}

static void
test_cli_newline (Fixture *f, gconstpointer user_data)
{
  static const char *const torn =
      "{\"id\":\"old-1\",\"type\":\"echo_old\",\"timestamp\":5,"
      "\"deviceId\":\"dev-a\"}";
  g_autoptr(JTestRun) run = NULL;
  g_autofree char *text = NULL;
  g_autofree char *id = NULL;

  /* A last line without its "\n": the append completes it first. */
  write_data (f, "log.jsonl", torn);
  run = append_read (f, "log.jsonl", "{\"type\":\"echo_new\"}", 0, &id,
                     &text);
  g_assert_true (g_str_has_prefix (text, torn));
  g_assert_true (g_str_has_prefix (text + strlen (torn),
                                   "\n{\"type\":\"echo_new\",\"id\":\""));
  g_assert_true (g_str_has_suffix (text, "}\n"));
  g_assert_cmpuint (count_lines (text), ==, 2);
  assert_cached (f, "old-1", "echo_old");
  assert_cached (f, id, "echo_new");

  /* The file ends with "\n" now: no blank line before the next one. */
  {
    g_autofree char *id2 = NULL;
    g_autofree char *text2 = NULL;
    g_autoptr(JTestRun) again = append_read (f, "log.jsonl",
                                             "{\"type\":\"echo_newer\"}", 0,
                                             &id2, &text2);
    g_autofree char *expected = g_strdup_printf (
        "%s{\"type\":\"echo_newer\",\"id\":\"%s\"", text, id2);

    g_assert_true (g_str_has_prefix (text2, expected));
    assert_cached (f, id2, "echo_newer");
  }
}

/* A refused append: exit 2, a message with `word`, nothing written. */
static void
assert_refused (Fixture *f, const char *file, const char *body,
                const char *word)
{
  g_autoptr(JTestRun) run = RUN (f, "append", file, body);

  g_assert_cmpint (run->status, ==, 2);
  g_assert_cmpstr (run->out, ==, "");
  if (strstr (run->err, word) == NULL)
    g_test_message ("expected \"%s\" in: %s", word, run->err);
  g_assert_nonnull (strstr (run->err, word));
}

static void
test_cli_refused_body (Fixture *f, gconstpointer user_data)
{
  g_autofree char *text = NULL;

  write_data (f, "log.jsonl", "");
  assert_refused (f, "log.jsonl", "not json", "not a JSON object");
  assert_refused (f, "log.jsonl", "[1,2]", "not a JSON object");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo_x\"} tail",
                  "not a JSON object");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo_x\",}", "not a JSON object");
  assert_refused (f, "log.jsonl", "", "not a JSON object");
  assert_refused (f, "log.jsonl", "{\"data\":{}}", "\"type\"");
  assert_refused (f, "log.jsonl", "{\"type\":5}", "\"type\"");
  assert_refused (f, "log.jsonl", "{\"type\":\"\"}", "\"type\"");
  assert_refused (f, "log.jsonl", "{\"type\":null}", "\"type\"");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo_x\",\"id\":\"mine\"}",
                  "already has \"id\"");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo_x\",\"deviceId\":\"d\"}",
                  "already has \"deviceId\"");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo_x\",\"timestamp\":1}",
                  "already has \"timestamp\"");
  assert_refused (f, "log.jsonl", "{\"type\":\"echo\\u0000x\"}", "type");
  text = read_data (f, "log.jsonl");
  g_assert_cmpstr (text, ==, "");
  /* Nothing reached the cache either. */
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events", NULL),
                   ==, 0);
}

static void
test_cli_refused_path (Fixture *f, gconstpointer user_data)
{
  static const char *const body = "{\"type\":\"echo_x\"}";
  g_autofree char *outside = g_build_filename (f->dir, "outside.jsonl", NULL);
  g_autofree char *link_dir = data_path (f, "out");
  g_autofree char *link_file = data_path (f, "linked.jsonl");
  g_autofree char *inner_link = data_path (f, "inner");
  g_autofree char *keyfile = write_keyfile (f, "[jsync]\nignore = archive\n");
  g_autofree char *folder = data_path (f, "folder.jsonl");
  g_autofree char *escaped = g_build_filename (f->dir, "escaped.jsonl", NULL);
  g_autoptr(JTestRun) ignored = NULL;
  g_autofree char *text = NULL;

  write_data (f, "real/log.jsonl", "");
  g_assert_cmpint (symlink (f->dir, link_dir), ==, 0);
  g_assert_cmpint (symlink (outside, link_file), ==, 0);
  g_assert_cmpint (symlink ("real", inner_link), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);

  assert_refused (f, outside, body, "relative to the data folder");
  assert_refused (f, "../escaped.jsonl", body, "\"..\"");
  assert_refused (f, "real/../../escaped.jsonl", body, "\"..\"");
  assert_refused (f, "out/escaped.jsonl", body, "symbolic link");
  assert_refused (f, "linked.jsonl", body, "symbolic link");
  assert_refused (f, "inner/log.jsonl", body, "symbolic link");
  assert_refused (f, "notes.txt", body, "*.jsonl");
  assert_refused (f, "real", body, "*.jsonl");
  assert_refused (f, "", body, "*.jsonl");
  assert_refused (f, ".hidden.jsonl", body, "hidden");
  assert_refused (f, ".stversions/log.jsonl", body, "hidden");
  assert_refused (f, "folder.jsonl", body, "not a regular file");

  ignored = RUN (f, "--config", keyfile, "append", "archive/old.jsonl", body);
  g_assert_cmpint (ignored->status, ==, 2);
  g_assert_nonnull (strstr (ignored->err, "ignore"));

  /* Nothing made anywhere. */
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
  text = read_data (f, "real/log.jsonl");
  g_assert_cmpstr (text, ==, "");
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
  {
    g_autofree char *archive = data_path (f, "archive");
    g_autofree char *hidden = data_path (f, ".stversions");
    g_autofree char *notes = data_path (f, "notes.txt");

    g_assert_false (g_file_test (archive, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (hidden, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (notes, G_FILE_TEST_EXISTS));
  }
}

static void
test_cli_stdin (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN_INPUT (f,
                                       "{\n  \"type\": \"echo_piped\",\n"
                                       "  \"data\": {\"lines\": [1, 2]}\n}\n",
                                       "append", "piped.jsonl");
  g_autofree char *id = NULL;
  g_autofree char *text = read_data (f, "piped.jsonl");
  g_autofree char *expected = NULL;
  g_autoptr(JTestRun) empty = NULL;

  id = printed_id (run, 0);
  assert_uuid_v4 (id);
  /* Pretty input, one compact line out. */
  expected = g_strdup_printf ("{\"type\":\"echo_piped\",\"data\":{\"lines\":"
                              "[1,2]},\"id\":\"%s\",", id);
  g_assert_true (g_str_has_prefix (text, expected));
  g_assert_cmpuint (count_lines (text), ==, 1);
  assert_cached (f, id, "echo_piped");

  empty = RUN_INPUT (f, "", "append", "piped.jsonl");
  g_assert_cmpint (empty->status, ==, 2);
  g_assert_nonnull (strstr (empty->err, "not a JSON object"));
}

static void
test_cli_nested (Fixture *f, gconstpointer user_data)
{
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JTestRun) run = append_read (f, "./a//b/c/deep.jsonl",
                                         "{\"type\":\"echo_deep\"}", 0, &id,
                                         &text);
  g_autofree char *landed = read_data (f, "a/b/c/deep.jsonl");

  g_assert_nonnull (text);
  g_assert_cmpstr (landed, ==, text);
  g_assert_true (g_str_has_prefix (text, "{\"type\":\"echo_deep\""));
  assert_cached (f, id, "echo_deep");
  assert_one_row (f, "jsync_sources", "path", "a/b/c/deep.jsonl");
}

static void
test_cli_json (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) run = RUN (f, "append", "log.jsonl",
                                 "{\"type\":\"echo_j\"}", "--json", "--fsync");
  g_autoptr(json_object) json = NULL;
  g_autoptr(json_object) event = NULL;
  g_autofree char *text = read_data (f, "log.jsonl");
  json_object *value = NULL;
  static const char *const keys[] = {
    "version", "command", "id", "file", "success", "eventsApplied",
    "eventsSkipped", "eventsFailed", "eventsPending", "errors", "duration",
    "filesProcessed", "filesReread", "lostEvents", "lastSyncTimestamp",
  };
  guint i = 0;

  g_assert_cmpint (run->status, ==, 0);
  json = parse_line (run->out);
  event = parse_line (text);
  /* The documented keys, the first four in this order. */
  json_object_object_foreach (json, key, member)
    {
      (void) member;
      if (i < 4)
        g_assert_cmpstr (key, ==, keys[i]);
      i++;
    }
  for (i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      if (!json_object_object_get_ex (json, keys[i], NULL))
        g_test_message ("no \"%s\"", keys[i]);
      g_assert_true (json_object_object_get_ex (json, keys[i], NULL));
    }
  g_assert_cmpint (jtest_member_int (json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (json, "command"), ==, "append");
  g_assert_cmpstr (jtest_member_str (json, "id"), ==,
                   jtest_member_str (event, "id"));
  g_assert_cmpstr (jtest_member_str (json, "file"), ==, "log.jsonl");
  g_assert_true (jtest_member_bool (json, "success"));
  g_assert_cmpint (jtest_member_int (json, "eventsApplied"), ==, 1);
  g_assert_cmpint (jtest_member_int (json, "eventsFailed"), ==, 0);
  value = jtest_member_array (json, "filesProcessed");
  g_assert_cmpuint (json_object_array_length (value), ==, 1);
  g_assert_cmpstr (json_object_get_string (json_object_array_get_idx (value, 0)),
                   ==, "log.jsonl");
  g_assert_cmpint (jtest_member_int (json, "lastSyncTimestamp"), >=,
                   jtest_member_int (event, "timestamp"));
  assert_cached (f, jtest_member_str (event, "id"), "echo_j");
}

static void
test_cli_failed_event (Fixture *f, gconstpointer user_data)
{
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  /* Written, synced, rejected by its applier: exit 1, as sync says. */
  g_autoptr(JTestRun) run = append_read (
      f, "log.jsonl", "{\"type\":\"reject_x\",\"data\":{\"bad\":true}}", 1,
      &id, &text);

  g_assert_nonnull (strstr (text, id));
  g_assert_nonnull (strstr (run->err, "rejected"));
  assert_one_row (f, "jsync_failed", "event_id", id);
}

static void
test_cli_usage (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JTestRun) none = RUN (f, "append");
  g_autoptr(JTestRun) three = RUN (f, "append", "a.jsonl",
                                   "{\"type\":\"echo_x\"}", "extra");

  g_assert_cmpint (none->status, ==, 2);
  g_assert_cmpint (three->status, ==, 2);
}

/* --- The library ---------------------------------------------------------- */

static JsyncCoordinator *
open_coordinator (Fixture *f, JsyncConfig *config)
{
  JsyncCoordinator *coordinator;

  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, f->db);
  coordinator = jtest_open (config);
  return coordinator;
}

static void
test_lib_device_id (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncConfig) configured = jsync_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_get_user_state_dir (), "jsync",
                                            "device-id", NULL);
  g_autofree char *keyfile = write_keyfile (f, "[jsync]\ndevice-id = box\n");
  g_autofree char *first = jsync_config_dup_device_id (config, &error);
  g_autofree char *second = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *from_keyfile = NULL;
  g_autofree char *bad = NULL;

  g_assert_no_error (error);
  assert_uuid_v4 (first);
  g_file_get_contents (path, &stored, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_strstrip (stored), ==, first);
  second = jsync_config_dup_device_id (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, first);

  g_assert_true (jsync_config_load_file (configured, keyfile, &error));
  g_assert_no_error (error);
  from_keyfile = jsync_config_dup_device_id (configured, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (from_keyfile, ==, "box");

  /* A damaged state file is an error, never silently replaced. */
  g_file_set_contents (path, "\n\n", -1, &error);
  g_assert_no_error (error);
  bad = jsync_config_dup_device_id (config, &error);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG);
  g_assert_null (bad);
}

static void
test_lib_append (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) c = open_coordinator (f, config);
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  /* Not NUL-terminated where it ends: length says. */
  static const char body[] = "{\"type\":\"echo_lib\",\"data\":{\"k\":\"v\"}}TRAILING";
  g_autofree char *id = jsync_coordinator_append (c, "lib/log.jsonl", body,
                                                  strlen (body) - 8,
                                                  JSYNC_APPEND_FSYNC, &result,
                                                  &error);
  g_autofree char *id2 = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *text = NULL;
  g_autofree char *device = NULL;
  g_autoptr(json_object) event = NULL;

  g_assert_no_error (error);
  assert_uuid_v4 (id);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->events_applied, ==, 1);
  g_assert_true (result->success);
  assert_cached (f, id, "echo_lib");
  text = read_data (f, "lib/log.jsonl");
  event = parse_line (text);
  device = jsync_config_dup_device_id (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (jtest_member_str (event, "deviceId"), ==, device);

  /* No result wanted. */
  id2 = jsync_coordinator_append (c, "lib/log.jsonl", "{\"type\":\"echo_two\"}",
                                  -1, JSYNC_APPEND_NONE, NULL, &error);
  g_assert_no_error (error);
  assert_cached (f, id2, "echo_two");

  /* A refusal: the usage error, nothing written. */
  refused = jsync_coordinator_append (c, "lib/log.jsonl",
                                      "{\"type\":\"echo_x\",\"id\":\"x\"}", -1,
                                      JSYNC_APPEND_NONE, NULL, &error);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE);
  g_assert_null (refused);
  g_clear_pointer (&text, g_free);
  text = read_data (f, "lib/log.jsonl");
  g_assert_cmpuint (count_lines (text), ==, 2);
  g_assert_null (strstr (text, "\"x\""));
  g_assert_cmpint (cache_count (f, "SELECT count(*) FROM echo_events", NULL),
                   ==, 2);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/append/cli/envelope", test_cli_envelope);
  JTEST_ADD ("/append/cli/keyfile-device", test_cli_keyfile_device);
  JTEST_ADD ("/append/cli/newline", test_cli_newline);
  JTEST_ADD ("/append/cli/refused-body", test_cli_refused_body);
  JTEST_ADD ("/append/cli/refused-path", test_cli_refused_path);
  JTEST_ADD ("/append/cli/stdin", test_cli_stdin);
  JTEST_ADD ("/append/cli/nested", test_cli_nested);
  JTEST_ADD ("/append/cli/json", test_cli_json);
  JTEST_ADD ("/append/cli/failed-event", test_cli_failed_event);
  JTEST_ADD ("/append/cli/usage", test_cli_usage);
  JTEST_ADD ("/append/lib/device-id", test_lib_device_id);
  JTEST_ADD ("/append/lib/append", test_lib_append);
  return g_test_run ();
}
