/* test-layout.c: today's Nexus layouts, their conflict copies, an upgrade
 * in place, and what a rewritten log still holds.
 *
 * Nexus writes sharded logs, <category>/<stream>/shard-NNNNNN.jsonl, and
 * reads the flat <category>/<stem>.jsonl of older versions; file-sync
 * tools leave conflict copies of both.  jsync reads every *.jsonl alike
 * and counts each event id once (docs/format.md "Files").
 */
#include <locale.h>
#include <string.h>

#include <sqlite3.h>

#include "cli-run.h"

/* A message event of conversation c1, with `content`. */
static char *
message_line (const char *id, gint64 ts, const char *message,
              const char *content)
{
  return g_strdup_printf ("{\"type\":\"message\",\"conversationId\":\"c1\","
                          "\"data\":{\"id\":\"%s\",\"content\":\"%s\"},"
                          "\"id\":\"%s\",\"deviceId\":\"d1\",\"timestamp\":%"
                          G_GINT64_FORMAT "}\n", message, content, id, ts);
}

/* --- Lost events ---------------------------------------------------------- */

/* A log rewritten by a sync tool still holds an id, in another body (a
 * conflicting copy).  When that copy sorts first it is the event, in a
 * log: nothing is lost.  When the stored copy sorts first it stays the
 * event, but no log holds it any more: it is reported lost (and `jsync
 * recover` gives it back), or this cache would differ from a rebuild. */
static void
test_lost_conflict_in_rewritten (CliFixture *f, gconstpointer data)
{
  /* "b" sorts after "a": the stored copy stays the event; "0" before. */
  const char *const contents[] = { "b", "0" };
  const char *const kept[] = { "a", "0" };
  const guint lost[] = { 1, 0 };
  guint i = GPOINTER_TO_UINT (data);
  const char *create =
    "{\"type\":\"metadata\",\"data\":{\"id\":\"c1\",\"title\":\"T\"},"
    "\"id\":\"e1\",\"deviceId\":\"d1\",\"timestamp\":1000}\n";
  g_autofree char *m1 = message_line ("e2", 2000, "m1", "a");
  g_autofree char *m1_other = message_line ("e2", 2000, "m1", contents[i]);
  g_autofree char *m2 = message_line ("e3", 3000, "m2", "two");
  g_autofree char *before = g_strconcat (create, m1, NULL);
  g_autofree char *after = g_strconcat (create, m1_other, m2, NULL);
  g_autoptr(JsyncResult) result = NULL;

  cli_write (f, "conversations/conv_c1.jsonl", before);
  {
    g_autoptr(JsyncResult) first = cli_sync (f);

    g_assert_cmpuint (first->events_applied, ==, 2);
  }

  /* Rewritten in place: the bytes before the checkpoint changed. */
  cli_write (f, "conversations/conv_c1.jsonl", after);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*read again*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  if (lost[i] > 0)
    g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*no longer in it*");
  result = cli_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==,
                   lost[i]);
  g_assert_cmpuint (result->lost_events->len, ==, lost[i]);
  g_assert_cmpuint (result->conflicts, ==, 1);
  g_assert_cmpuint (result->events_applied, ==, 1);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM messages"), ==, 2);
  {
    g_autofree char *sql = g_strdup_printf (
        "SELECT count(*) FROM messages WHERE id = 'm1' AND content = '%s'",
        kept[i]);

    g_assert_cmpint (cli_sql_int (f, sql), ==, 1);
  }
  /* Nothing to report the next time either. */
  {
    g_autoptr(JsyncResult) again = cli_sync (f);

    g_assert_cmpuint (again->lost_events->len, ==, 0);
    g_assert_cmpuint (again->events_applied, ==, 0);
  }
}

/* A lost event's id shows up in another log in another body.  A copy that
 * sorts after the event does not bring it back: it stays lost; one that
 * sorts first is the event now, in a log: nothing is lost. */
static void
test_lost_conflict_elsewhere (CliFixture *f, gconstpointer data)
{
  const char *create =
    "{\"type\":\"metadata\",\"data\":{\"id\":\"c1\",\"title\":\"T\"},"
    "\"id\":\"e1\",\"deviceId\":\"d1\",\"timestamp\":1000}\n";
  g_autofree char *m1 = message_line ("e2", 2000, "m1", "a");
  g_autofree char *later = message_line ("e2", 2000, "m1", "b");
  g_autofree char *first = message_line ("e2", 2000, "m1", "0");
  g_autofree char *both = g_strconcat (create, m1, NULL);

  cli_write (f, "conversations/conv_c1.jsonl", both);
  jsync_result_free (cli_sync (f));
  cli_write (f, "conversations/conv_c1.jsonl", create);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*read again*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*no longer in it*");
  jsync_result_free (cli_sync (f));
  g_test_assert_expected_messages ();
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 1);

  cli_write (f, "conversations/conv_c1 (1).jsonl", later);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  jsync_result_free (cli_sync (f));
  g_test_assert_expected_messages ();
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 1);

  cli_write (f, "conversations/conv_c1 (2).jsonl", first);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  jsync_result_free (cli_sync (f));
  g_test_assert_expected_messages ();
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM messages"
                                   " WHERE content = '0'"), ==, 1);
}

/* --- Both layouts and the conflict copies -------------------------------- */

/* One workspace_created, session_created or trace_added line of
 * workspace `ws` (the id of the entity it creates is `entity`). */
static char *
workspace_line (const char *id, gint64 ts, const char *type, const char *ws,
                const char *entity)
{
  if (strcmp (type, "workspace_created") == 0)
    return g_strdup_printf ("{\"type\":\"workspace_created\",\"data\":"
                            "{\"id\":\"%s\",\"name\":\"%s\"},\"id\":\"%s\","
                            "\"deviceId\":\"d1\",\"timestamp\":%"
                            G_GINT64_FORMAT "}", ws, entity, id, ts);
  return g_strdup_printf ("{\"type\":\"%s\",\"workspaceId\":\"%s\","
                          "\"sessionId\":\"s1\",\"data\":{\"id\":\"%s\"},"
                          "\"id\":\"%s\",\"deviceId\":\"d1\",\"timestamp\":%"
                          G_GINT64_FORMAT "}", type, ws, entity, id, ts);
}

/* Sharded logs, a flat one, every kind of conflict copy beside a shard,
 * and Nexus's _meta files, in one data folder: every event once. */
static void
test_layouts (CliFixture *f, gconstpointer data)
{
  /* Event e<i + 1>: type, workspace, the entity it creates. */
  static const char *const events[][3] = {
    { "workspace_created", "A", "Alpha" },
    { "session_created", "A", "s1" },
    { "trace_added", "A", "t3" },
    { "trace_added", "A", "t4" },
    { "trace_added", "A", "t5" },
    { "trace_added", "A", "t6" },
    { "trace_added", "A", "t7" },
    { "trace_added", "A", "t8" },
    { "workspace_created", "D", "Delta" },
  };
  /* Each log and the events it holds (indexes into events[]), the
   * duplicates written again as they are. */
  static const char *const logs[][2] = {
    { "workspaces/ws_A/shard-000001.jsonl", "01" },
    { "workspaces/ws_A/shard-000002.jsonl", "2" },
    { "workspaces/ws_A/shard-000001 (1).jsonl", "03" },
    { "workspaces/ws_A/shard-000001 [Conflict].jsonl", "14" },
    { "workspaces/ws_A/shard-000001 (Ann's conflicted copy).jsonl", "05" },
    { "workspaces/ws_A/shard-000001_2.jsonl", "6" },
    { "workspaces/ws_A/shard-000001.sync-conflict-20260814-120000-ABC1234"
      ".jsonl", "27" },
    { "workspaces/ws_D.jsonl", "8" },
  };
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(JTestRun) run = NULL;
  guint copies = 0;

  for (guint i = 0; i < G_N_ELEMENTS (logs); i++)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (const char *c = logs[i][1]; *c != '\0'; c++)
        {
          guint e = (guint) (*c - '0');
          g_autofree char *id = g_strdup_printf ("e%u", e + 1);
          g_autofree char *line = workspace_line (id, 1000 + e, events[e][0],
                                                  events[e][1],
                                                  events[e][2]);

          /* Readers split on \r?\n and skip blank lines. */
          g_string_append_printf (text, "%s%s\n", line,
                                  e % 2 == 0 ? "" : "\r\n");
          copies++;
        }
      cli_write (f, logs[i][0], text->str);
    }
  /* Nexus's own files beside the logs are no events. */
  cli_write (f, "_meta/vault-root.json",
             "{\"schemaVersion\":1,\"migratedAt\":1760000000000}\n");
  cli_write (f, "_meta/shard-cursors.json", "[1, 2]\n");

  result = cli_sync (f);
  g_assert_cmpuint (result->events_applied, ==, G_N_ELEMENTS (events));
  g_assert_cmpuint (result->events_skipped, ==,
                    copies - G_N_ELEMENTS (events));
  g_assert_cmpuint (result->conflicts, ==, 0);
  g_assert_cmpuint (result->errors->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_sources"), ==,
                   G_N_ELEMENTS (logs));
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"), ==,
                   G_N_ELEMENTS (events));
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_failed"), ==,
                   0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM workspaces"), ==, 2);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM sessions"), ==, 1);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM memory_traces"), ==,
                   6);

  /* And a rebuild, which reads each log whole, ends at the same rows. */
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);
}

/* --- Upgrade in place ----------------------------------------------------- */

/* The core's tables an upgrade leaves alone, by the columns it must not
 * change (not the identity of the files, which are copies here, nor the
 * stream, which the workspace applier gives anew, nor raw, where the line
 * is now packed: test-store's /store/upgrade compares the lines). */
static const char *const kept_tables[][2] = {
  { "jsync_sources", "id, path, offset, line, tail_hash, gen, missing" },
  { "jsync_events", "id, ts, device, type, applier, status, source, offset,"
                    " length, line, hash, gen" },
};

/* Keep those rows, with their rowids, in before_<table>. */
static void
snapshot_kept_tables (CliFixture *f)
{
  for (guint i = 0; i < G_N_ELEMENTS (kept_tables); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "CREATE TABLE before_%s AS SELECT rowid AS r, %s FROM %s",
          kept_tables[i][0], kept_tables[i][1], kept_tables[i][0]);

      cli_sql (f, sql);
    }
}

/* The rows differ from before_<table> in neither direction; drop it. */
static void
assert_kept_tables (CliFixture *f)
{
  for (guint i = 0; i < G_N_ELEMENTS (kept_tables); i++)
    {
      const char *table = kept_tables[i][0];
      g_autofree char *now = g_strdup_printf ("SELECT rowid, %s FROM %s",
                                              kept_tables[i][1], table);
      g_autofree char *sql = g_strdup_printf (
          "SELECT (SELECT count(*) FROM (%s EXCEPT SELECT * FROM before_%s))"
          " + (SELECT count(*) FROM (SELECT * FROM before_%s EXCEPT %s))",
          now, table, table, now);
      g_autofree char *drop = g_strdup_printf ("DROP TABLE before_%s", table);

      g_test_message ("%s", sql);
      g_assert_cmpint (cli_sql_int (f, sql), ==, 0);
      cli_sql (f, drop);
    }
}

/* Make the cache from SQL text (a dump). */
static void
load_cache (CliFixture *f, const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (f->db, &db), ==, SQLITE_OK);
  sqlite3_close (db);
  cli_sql (f, sql);
}

/* `jsync dump` of a cache.  (transfer full) */
static json_object *
dump_of (CliFixture *f, const char *db)
{
  const char *const args[] = { "dump", NULL };
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, db, args);
  JTestSpawn options = { .env = f->env, .json = TRUE };
  g_autoptr(JTestRun) run = jtest_spawn ((const char *const *) argv->pdata,
                                         &options);

  g_assert_cmpint (run->status, ==, 0);
  return json_object_get (run->json);
}

/* The cache records the applier as `jsync plugins` finds it today: its
 * version (whatever release that is) and the given schema version. */
static void
assert_recorded_as_loaded (CliFixture *f, const char *name, gint64 schema)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (f, "plugins");
  json_object *plugins = jtest_member_array (run->json, "plugins");
  const char *version = NULL;
  g_autofree char *sql = NULL;

  g_assert_cmpint (run->status, ==, 0);
  for (gsize i = 0; i < json_object_array_length (plugins); i++)
    {
      json_object *plugin = json_object_array_get_idx (plugins, i);

      if (g_strcmp0 (jtest_member_str (plugin, "name"), name) == 0)
        {
          version = jtest_member_str (plugin, "version");
          g_assert_cmpint (jtest_member_int (plugin, "schemaVersion"), ==,
                           schema);
        }
    }
  g_assert_nonnull (version);
  sql = g_strdup_printf ("SELECT count(*) FROM jsync_appliers"
                         " WHERE name = '%s' AND version = '%s'"
                         " AND schema_version = %" G_GINT64_FORMAT,
                         name, version, schema);
  g_assert_cmpint (cli_sql_int (f, sql), ==, 1);
}

/* A cache made by the previous release (commit e3ecabf, appliers workspace
 * 1.1.0 and conversation 0.3.0, both schema 1) from tests/data/nexus, as
 * `sqlite3 .dump` wrote it, synced by today's appliers: their tables are
 * made again from the stored events, nothing else is touched, and the
 * cache is what a rebuild makes. */
static void
test_upgrade (CliFixture *f, gconstpointer data)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data",
                                          "nexus-e3ecabf.sql", NULL);
  const char *expected_path = g_test_get_filename (G_TEST_DIST, "data",
                                                   "nexus.expected.json",
                                                   NULL);
  g_autofree char *sql = NULL;
  g_autofree char *fresh = g_build_filename (f->dir, "fresh.db", NULL);
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(json_object) expected = json_object_from_file (expected_path);
  g_autoptr(json_object) upgraded = NULL;
  g_autoptr(json_object) rebuilt = NULL;
  g_autoptr(GError) error = NULL;
  const char *late =
    "{\"type\":\"workspace_updated\",\"workspaceId\":\"default\","
    "\"data\":{\"name\":\"Too late\",\"isArchived\":true},"
    "\"id\":\"late-1\",\"deviceId\":\"d9\",\"timestamp\":1000}\n";

  cli_fixture_copy_nexus (f);
  g_file_get_contents (path, &sql, NULL, &error);
  g_assert_no_error (error);
  load_cache (f, sql);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_appliers"
                                   " WHERE schema_version = 1"), ==, 2);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM pragma_table_info"
                                   " ('workspaces') WHERE name = 'isArchived'"),
                   ==, 0);
  snapshot_kept_tables (f);

  /* Each changed applier says it rebuilds its tables; no log is read
   * again, no event is applied as new. */
  run = CLI_RUN_JSON (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->err, "workspace: schema version 1 → 6:"
                                      " rebuilding its tables"));
  g_assert_nonnull (strstr (run->err, "conversation: schema version 1 → 3:"
                                      " rebuilding its tables"));
  g_assert_null (strstr (run->err, "corrupt"));
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_len (run->json, "filesReread"), ==, 0);
  assert_recorded_as_loaded (f, "workspace", 6);
  assert_recorded_as_loaded (f, "conversation", 3);

  /* The core's tables are as they were: the same rows, the same rowids
   * (only the streams the workspace applier gives changed). */
  assert_kept_tables (f);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"
                                   " WHERE applier = 'workspace'"
                                   " AND stream <> ''"), ==, 0);

  /* The new columns are there, and the rows are the rebuild's. */
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM pragma_table_info"
                                   " ('conversations') WHERE name IN"
                                   " ('workspaceId', 'sessionId', 'workflowId',"
                                   " 'runTrigger', 'scheduledFor', 'runKey')"),
                   ==, 6);
  upgraded = dump_of (f, f->db);
  g_assert_true (json_object_equal (upgraded, expected));
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);

  /* A late event of the one workspace stream is put in its place: the
   * stored events count, whatever stream the old version gave them. */
  cli_append (f, "workspaces/ws_default.jsonl", late);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  {
    const char *const args[] = { "sync", NULL };
    g_autoptr(GPtrArray) argv = jtest_jsync_argv (f->data, fresh, args);
    JTestSpawn options = { .env = f->env };
    g_autoptr(JTestRun) fresh_run = jtest_spawn (
        (const char *const *) argv->pdata, &options);

    g_assert_cmpint (fresh_run->status, ==, 0);
  }
  g_clear_pointer (&upgraded, json_object_put);
  upgraded = dump_of (f, f->db);
  rebuilt = dump_of (f, fresh);
  g_assert_true (json_object_equal (upgraded, rebuilt));
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM workspaces"
                                   " WHERE name = 'Too late'"), ==, 0);
}

/* --- The example of today's layout ---------------------------------------- */

/* tests/data/nexus-shards: every event taken (none pending, none failed),
 * each once; the cache is nexus-shards.expected.json, and a rebuild's. */
static void
test_example_shards (CliFixture *f, gconstpointer data)
{
  const char *expected_path = g_test_get_filename (
      G_TEST_DIST, "data", "nexus-shards.expected.json", NULL);
  g_autoptr(json_object) expected = json_object_from_file (expected_path);
  g_autoptr(json_object) actual = NULL;
  g_autoptr(JTestRun) run = NULL;

  jtest_tree_copy (g_test_get_filename (G_TEST_DIST, "data", "nexus-shards",
                                        NULL), f->data);
  run = CLI_RUN_JSON (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  /* 80 distinct events; 4 lines are copies in the conflict copies. */
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 80);
  g_assert_cmpint (jtest_member_int (run->json, "eventsSkipped"), ==, 4);
  g_assert_cmpint (jtest_member_int (run->json, "eventsPending"), ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "eventsFailed"), ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "conflicts"), ==, 0);
  /* The 16 logs; _meta/vault-root.json is none. */
  g_assert_cmpint (jtest_member_len (run->json, "filesProcessed"), ==, 16);

  actual = dump_of (f, f->db);
  g_assert_true (json_object_equal (actual, expected));
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func, data)                                               \
  g_test_add (path, CliFixture, data, cli_fixture_setup, func,              \
              cli_fixture_teardown)

  ADD ("/layout/both-and-copies", test_layouts, NULL);
  ADD ("/layout/upgrade", test_upgrade, NULL);
  ADD ("/layout/lost/conflict-stored-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (0));
  ADD ("/layout/lost/conflict-new-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (1));
  ADD ("/layout/lost/conflict-elsewhere", test_lost_conflict_elsewhere, NULL);

  /* Needs the task applier (plugins/task): last. */
  ADD ("/layout/with-tasks/example-shards", test_example_shards, NULL);

#undef ADD
  return g_test_run ();
}
