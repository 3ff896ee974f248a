/* test-watch.c: `jsync watch` follows the data folder (docs/design.md
 * "Concurrency"; the program and jsync_coordinator_watch()).
 *
 * The program is started over a data folder (the echo fixture applier in
 * a private plugins folder), its stderr and stdout going to files; once
 * stderr says "watching", the test changes the folder the way apps and
 * sync tools do (append, create, new nested folders, replace by rename,
 * delete) and polls the cache with sqlite3 until the rows are there,
 * within FUNCTIONAL_DEADLINE seconds (generous for valgrind; a pass takes
 * a fraction of a second per step).  Then SIGTERM: exit 0, and the cache
 * must be complete (a sync after it finds nothing) and equal to one built
 * by plain syncs of the same states.  A `jsync rebuild` run meanwhile must
 * not lose the watch (it reopens the new file).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <jsync/jsync.h>
#include <sqlite3.h>

#include "jsync-test-core.h"

#define FUNCTIONAL_DEADLINE 10  /* seconds */

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: dir/data */
  char *db;                     /* owned: dir/cache.db, the watch's cache */
  char *reference;              /* owned: dir/reference.db */
  char *out;                    /* owned: dir/watch.out, the child's stdout */
  char *err;                    /* owned: dir/watch.err, its stderr */
  char **env;                   /* owned: the child's environment */
  GSubprocess *watch;           /* owned, nullable: the running watch */
} Fixture;

/* --- Files ---------------------------------------------------------------- */

static char *
data_path (Fixture *f, const char *relative)
{
  return g_build_filename (f->data, relative, NULL);
}

/* One event line for the echo applier, with its "\n". */
static char *
event_line (const char *id, gint64 timestamp)
{
  return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"echo_note\",\"timestamp\":%"
                          G_GINT64_FORMAT ",\"deviceId\":\"dev-a\"}\n", id,
                          timestamp);
}

/* Append events (as an app does: open, write, close). */
static void
append_events (Fixture *f, const char *relative, const char *const *ids)
{
  g_autofree char *path = data_path (f, relative);
  FILE *file = g_fopen (path, "a");

  g_assert_nonnull (file);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_autofree char *line = event_line (ids[i], 1000 + i);

      g_assert_cmpint (fputs (line, file), >=, 0);
    }
  g_assert_cmpint (fclose (file), ==, 0);
}

#define APPEND(f, file, ...) \
  append_events ((f), (file), (const char *const[]) { __VA_ARGS__, NULL })

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* --- Fixture -------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  static const char *const names[] = { "echo", NULL };
  g_autofree char *plugins = NULL;

  jtest_dirs_make (NULL, "jsync-watch", "cache.db", &f->dir, &f->data,
                   &f->db);
  f->reference = g_build_filename (f->dir, "reference.db", NULL);
  /* dir/plugins: echo.so alone. */
  plugins = g_build_filename (f->dir, "plugins", NULL);
  f->out = g_build_filename (f->dir, "watch.out", NULL);
  f->err = g_build_filename (f->dir, "watch.err", NULL);
  jtest_copy_fixture_plugins ("", plugins, names);

  f->env = jtest_child_environ ();
  f->env = g_environ_setenv (f->env, "JSYNC_PLUGIN_PATH", plugins, TRUE);
  g_setenv ("JSYNC_PLUGIN_PATH", plugins, TRUE);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  if (f->watch != NULL)
    {
      g_subprocess_force_exit (f->watch);
      g_subprocess_wait (f->watch, NULL, NULL);
      g_object_unref (f->watch);
    }
  jtest_dirs_free (f->dir, f->data, f->db);
  g_free (f->reference);
  g_free (f->out);
  g_free (f->err);
  g_strfreev (f->env);
}

/* Run jsync to its end; returns its exit status, stdout in *out. */
static int
run_jsync (Fixture *f, const char *db, char **out, const char *const *args)
{
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, db, args);
  JTestSpawn options = { .cwd = f->dir, .env = f->env };
  g_autoptr(JTestRun) run = jtest_spawn ((const char *const *) argv->pdata,
                                         &options);

  if (*run->err != '\0')
    g_test_message ("jsync %s: stderr:\n%s", args[0], run->err);
  g_assert_cmpint (run->signal, ==, 0);
  if (out != NULL)
    *out = g_steal_pointer (&run->out);
  return run->status;
}

#define RUN(f, db, out, ...) \
  run_jsync ((f), (db), (out), (const char *const[]) { __VA_ARGS__, NULL })

/* Wait until the watch's stderr holds `word`. */
static void
wait_for_stderr (Fixture *f, const char *word)
{
  gint64 deadline = g_get_monotonic_time () + FUNCTIONAL_DEADLINE * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (f->err, &text, NULL, NULL)
          && strstr (text, word) != NULL)
        return;
      if (g_get_monotonic_time () > deadline)
        {
          g_test_message ("watch stderr:\n%s", text ? text : "");
          g_assert_cmpstr (word, ==, "(in the watch's stderr in time)");
        }
      /* Still running (the identifier goes once it has exited). */
      if (g_subprocess_get_identifier (f->watch) == NULL)
        g_test_message ("watch stderr:\n%s", text ? text : "");
      g_assert_nonnull (g_subprocess_get_identifier (f->watch));
      g_usleep (20000);
    }
}

/* Start `jsync watch` (with more arguments) and wait until it watches. */
static void
start_watch_argv (Fixture *f, const char *const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, f->db, args);
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_set_environ (launcher, f->env);
  g_subprocess_launcher_set_cwd (launcher, f->dir);
  g_subprocess_launcher_set_stdout_file_path (launcher, f->out);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->err);
  f->watch = g_subprocess_launcher_spawnv (launcher,
                                           (const char *const *) argv->pdata,
                                           &error);
  g_assert_no_error (error);
  wait_for_stderr (f, "watching");
}

#define START_WATCH(f, ...) \
  start_watch_argv ((f), (const char *const[]) { "watch", __VA_ARGS__, NULL })

/* Stop the watch with `signal`: it must exit 0.  Returns its stderr. */
static char *
stop_watch (Fixture *f, int signal)
{
  g_autoptr(GError) error = NULL;
  char *err;

  g_subprocess_send_signal (f->watch, signal);
  g_subprocess_wait (f->watch, NULL, &error);
  g_assert_no_error (error);
  err = read_text (f->err);
  g_test_message ("watch stderr:\n%s", err);
  g_assert_true (g_subprocess_get_if_exited (f->watch));
  g_assert_cmpint (g_subprocess_get_exit_status (f->watch), ==, 0);
  g_clear_object (&f->watch);
  return err;
}

/* --- The cache ------------------------------------------------------------ */

/* One number from the cache at `db`; -1 when it cannot be read yet. */
static gint64
query_int (const char *db, const char *sql)
{
  return jtest_cache_try_int (db, sql, 2000);
}

/* Poll the watch's cache until `sql` gives `expected`. */
static void
wait_for_cache (Fixture *f, const char *sql, gint64 expected)
{
  gint64 deadline = g_get_monotonic_time () + FUNCTIONAL_DEADLINE * G_USEC_PER_SEC;
  gint64 value;

  while ((value = query_int (f->db, sql)) != expected)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *err = read_text (f->err);

          g_test_message ("%s gave %" G_GINT64_FORMAT "; watch stderr:\n%s", sql,
                          value, err);
          g_assert_cmpint (value, ==, expected);
        }
      g_usleep (20000);
    }
}

static void
wait_for_event (Fixture *f, const char *id)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(*) FROM echo_events WHERE id = '%s'", id);

  wait_for_cache (f, sql, 1);
}

/* One event appended to `file`, then waited for in the watch's cache. */
static void
append_seen (Fixture *f, const char *file, const char *id)
{
  APPEND (f, file, id);
  wait_for_event (f, id);
}

static void
wait_for_count (Fixture *f, gint64 expected)
{
  wait_for_cache (f, "SELECT count(*) FROM echo_events", expected);
}

static json_object *
dump_db (const char *db, Fixture *f)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();

  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, db);
  return jtest_dump (config);
}

/* The reference cache follows the same states by plain syncs. */
static void
sync_reference (Fixture *f)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (RUN (f, f->reference, &out, "sync", "--quiet"), ==, 0);
}

/* Rows of the watch's cache that differ from a fresh full sync's (in
 * `fresh`, attached): the watch's alone (not counting events of deleted
 * logs, which it keeps: docs/design.md "Lost events"), the fresh one's alone,
 * and rows of one id that differ. */
static gint64
count_unlike_fresh (Fixture *f, const char *fresh)
{
  static const char *const sql =
      "SELECT (SELECT count(*) FROM main.echo_events WHERE id NOT IN"
      "          (SELECT id FROM fresh.echo_events)"
      "        AND id NOT IN (SELECT id FROM main.jsync_lost))"
      "     + (SELECT count(*) FROM fresh.echo_events WHERE id NOT IN"
      "          (SELECT id FROM main.echo_events))"
      "     + (SELECT count(*) FROM fresh.echo_events x"
      "          JOIN main.echo_events y USING (id)"
      "        WHERE x.type IS NOT y.type OR x.payload IS NOT y.payload)";
  g_autofree char *attach = g_strdup_printf ("ATTACH '%s' AS fresh", fresh);
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &handle, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (handle, attach, NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return value;
}

/* After the watch: a sync of its cache finds nothing left to do; the
 * cache equals the reference (plain syncs of the same states) and a fresh
 * full sync of the final folder, but for the events of deleted logs. */
static void
assert_watch_complete (Fixture *f)
{
  g_autofree char *out = NULL;
  g_autofree char *fresh_out = NULL;
  g_autofree char *fresh = g_build_filename (f->dir, "fresh.db", NULL);
  g_autoptr(json_object) result = NULL;
  g_autoptr(json_object) mine = NULL;
  g_autoptr(json_object) reference = NULL;

  g_assert_cmpint (RUN (f, fresh, &fresh_out, "sync", "--quiet"), ==, 0);
  g_assert_cmpint (count_unlike_fresh (f, fresh), ==, 0);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM echo_events"), ==,
                   query_int (fresh, "SELECT count(*) FROM echo_events")
                     + query_int (f->db, "SELECT count(*) FROM jsync_lost"));

  g_assert_cmpint (RUN (f, f->db, &out, "sync", "--json"), ==, 0);
  result = jtest_parse_object (out);
  g_assert_cmpint (jtest_member_int (result, "eventsApplied"), ==, 0);
  g_assert_cmpuint (jtest_member_len (result, "filesProcessed"), ==, 0);
  mine = dump_db (f->db, f);
  reference = dump_db (f->reference, f);
  if (!json_object_equal (mine, reference))
    g_assert_cmpstr (json_object_to_json_string (mine), ==,
                     json_object_to_json_string (reference));
}

/* --- Tests ---------------------------------------------------------------- */

static void
test_follow (Fixture *f, gconstpointer user_data)
{
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  g_autofree char *extra = NULL;
  g_autofree char *a = data_path (f, "a.jsonl");
  g_autofree char *b = data_path (f, "b.jsonl");
  g_autofree char *sub = data_path (f, "sub");
  g_autofree char *deeper = data_path (f, "sub/deeper");
  g_autofree char *hidden = data_path (f, ".hidden");
  g_autofree char *replacement = data_path (f, "a.jsonl.part");

  APPEND (f, "a.jsonl", "a1", "a2");
  START_WATCH (f, NULL);
  /* The first sync happened before "watching". */
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM echo_events"), ==, 2);
  sync_reference (f);

  /* An app appends to a log. */
  append_seen (f, "a.jsonl", "a3");
  sync_reference (f);

  /* A new log. */
  append_seen (f, "b.jsonl", "b1");
  sync_reference (f);

  /* New nested folders with a log written at once, then more in it (the
   * new folder is watched). */
  g_assert_cmpint (g_mkdir_with_parents (deeper, 0755), ==, 0);
  append_seen (f, "sub/deeper/c.jsonl", "c1");
  append_seen (f, "sub/deeper/c.jsonl", "c2");
  sync_reference (f);

  /* A hidden folder is not followed: its log is never read. */
  g_assert_cmpint (g_mkdir (hidden, 0755), ==, 0);
  APPEND (f, ".hidden/h.jsonl", "h1");

  /* A sync tool replaces a log by rename: the same events and one more. */
  text = read_text (a);
  extra = event_line ("a4", 2000);
  {
    g_autofree char *replaced = g_strconcat (text, extra, NULL);
    g_autoptr(GError) error = NULL;

    g_file_set_contents (replacement, replaced, -1, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (g_rename (replacement, a), ==, 0);
  wait_for_event (f, "a4");
  wait_for_count (f, 7);
  sync_reference (f);

  /* A log deleted: its event stays (docs/design.md "Lost events"), recorded. */
  g_assert_cmpint (g_unlink (b), ==, 0);
  wait_for_cache (f, "SELECT count(*) FROM jsync_lost WHERE file = 'b.jsonl'",
                  1);
  sync_reference (f);

  /* A whole folder deleted, then made again: followed anew. */
  jtest_tree_remove (sub);
  wait_for_cache (f, "SELECT count(*) FROM jsync_lost"
                     " WHERE file = 'sub/deeper/c.jsonl'", 2);
  sync_reference (f);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  append_seen (f, "sub/again.jsonl", "s1");
  append_seen (f, "sub/again.jsonl", "s2");
  sync_reference (f);

  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM echo_events"
                                     " WHERE id = 'h1'"), ==, 0);
  err = stop_watch (f, SIGTERM);
  g_assert_nonnull (strstr (err, "stopped"));
  assert_watch_complete (f);
}

static void
test_rebuild (Fixture *f, gconstpointer user_data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  APPEND (f, "log.jsonl", "r1", "r2");
  START_WATCH (f, NULL);
  /* Another process swaps a new cache file in. */
  g_assert_cmpint (RUN (f, f->db, &out, "rebuild", "--quiet"), ==, 0);
  APPEND (f, "log.jsonl", "r3");
  /* The new file (what every other reader opens) gets it. */
  wait_for_event (f, "r3");
  append_seen (f, "log.jsonl", "r4");
  err = stop_watch (f, SIGTERM);
  g_assert_nonnull (strstr (err, "reopened"));
  sync_reference (f);
  assert_watch_complete (f);
}

static void
test_json (Fixture *f, gconstpointer user_data)
{
  g_autofree char *text = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 applied = 0;
  guint n = 0;

  APPEND (f, "log.jsonl", "j1");
  START_WATCH (f, "--json");
  APPEND (f, "log.jsonl", "j2", "j3");
  wait_for_count (f, 3);
  err = stop_watch (f, SIGINT);

  /* One result object a line, one line a sync; logs on stderr only. */
  text = read_text (f->out);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(json_object) json = NULL;

      if (lines[i + 1] == NULL)
        {
          g_assert_cmpstr (lines[i], ==, "");
          break;
        }
      json = jtest_parse_object (lines[i]);
      g_assert_cmpint (jtest_member_int (json, "version"), ==, 1);
      g_assert_cmpstr (jtest_member_str (json, "command"), ==, "watch");
      applied += jtest_member_int (json, "eventsApplied");
      n++;
    }
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpint (applied, ==, 3);
  g_assert_nonnull (strstr (err, "watching"));
}

/* A constant stream of changes (one every 50 ms, never a quiet 200 ms):
 * syncs still come, about every second, not only once it ends. */
static void
test_stream (Fixture *f, gconstpointer user_data)
{
  gint64 end;
  gint64 during;
  guint n = 0;
  g_autofree char *err = NULL;

  APPEND (f, "stream.jsonl", "s0");
  START_WATCH (f, NULL);
  end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    {
      g_autofree char *id = g_strdup_printf ("s%u", ++n);

      APPEND (f, "stream.jsonl", id);
      g_usleep (50000);
    }
  during = query_int (f->db, "SELECT count(*) FROM echo_events");
  g_test_message ("%" G_GINT64_FORMAT " of %u events in the cache while they"
                  " kept coming", during, n + 1);
  g_assert_cmpint (during, >, 1);
  wait_for_count (f, n + 1);
  err = stop_watch (f, SIGTERM);
}

/* --- The library ---------------------------------------------------------- */

typedef struct
{
  Fixture *f;
  guint calls;
  guint64 applied;
} LibWatch;

/* First sync: write an event; the next syncs: stop once it is applied. */
static gboolean
lib_synced (const JsyncResult *result, const GError *error, gpointer data)
{
  LibWatch *watch = data;

  g_assert_no_error ((GError *) error);
  g_assert_nonnull (result);
  watch->applied += result->events_applied;
  if (watch->calls++ == 0)
    APPEND (watch->f, "lib/new.jsonl", "l2");
  return watch->applied < 2;
}

static void
test_lib_func (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) c = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lib = data_path (f, "lib");
  LibWatch watch = { .f = f };

  g_assert_cmpint (g_mkdir (lib, 0755), ==, 0);
  APPEND (f, "lib/old.jsonl", "l1");
  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, f->db);
  c = jtest_open (config);
  g_assert_true (jsync_coordinator_watch (c, lib_synced, &watch, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (watch.calls, >=, 2);
  g_assert_cmpuint (watch.applied, ==, 2);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM echo_events"), ==, 2);
  /* Watching again works (the first one cleaned up). */
  watch.applied = 1;
  watch.calls = 1;
  APPEND (f, "lib/new.jsonl", "l3");
  g_assert_true (jsync_coordinator_watch (c, lib_synced, &watch, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM echo_events"), ==, 3);
}

static gpointer
lib_watch_thread (gpointer data)
{
  JsyncCoordinator *c = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (context);
  ok = jsync_coordinator_watch (c, NULL, NULL, &error);
  g_main_context_pop_thread_default (context);
  g_assert_no_error (error);
  return GINT_TO_POINTER (ok);
}

static void
test_lib_stop (Fixture *f, gconstpointer user_data)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) c = NULL;
  GThread *thread;

  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, f->db);
  c = jtest_open (config);
  /* Stopping when nothing watches does nothing. */
  jsync_coordinator_stop_watch (c);

  thread = g_thread_new ("watch", lib_watch_thread, c);
  append_seen (f, "t.jsonl", "t1");
  jsync_coordinator_stop_watch (c);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/watch/cli/follow", test_follow);
  JTEST_ADD ("/watch/cli/rebuild", test_rebuild);
  JTEST_ADD ("/watch/cli/json", test_json);
  JTEST_ADD ("/watch/cli/stream", test_stream);
  JTEST_ADD ("/watch/lib/func", test_lib_func);
  JTEST_ADD ("/watch/lib/stop", test_lib_stop);
  return g_test_run ();
}
