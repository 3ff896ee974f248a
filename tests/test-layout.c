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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

static void
fixture_set_up (CliFixture *f, gconstpointer data)
{
  cli_fixture_setup (f, data);
}

static void
fixture_tear_down (CliFixture *f, gconstpointer data)
{
  cli_fixture_teardown (f, data);
}

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
 * conflicting copy): the id is not lost, whichever copy is the event. */
static void
test_lost_conflict_in_rewritten (CliFixture *f, gconstpointer data)
{
  /* "b" sorts after "a": the stored copy stays the event; "0" before. */
  const char *const contents[] = { "b", "0" };
  const char *const kept[] = { "a", "0" };
  guint i = GPOINTER_TO_UINT (data);
  g_autofree char *create = g_strdup (
      "{\"type\":\"metadata\",\"data\":{\"id\":\"c1\",\"title\":\"T\"},"
      "\"id\":\"e1\",\"deviceId\":\"d1\",\"timestamp\":1000}\n");
  g_autofree char *m1 = message_line ("e2", 2000, "m1", "a");
  g_autofree char *m1_other = message_line ("e2", 2000, "m1", contents[i]);
  g_autofree char *m2 = message_line ("e3", 3000, "m2", "two");
  g_autofree char *before = g_strconcat (create, m1, NULL);
  g_autofree char *after = g_strconcat (create, m1_other, m2, NULL);
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autofree char *content = NULL;

  cli_write (f, "conversations/conv_c1.jsonl", before);
  first = cli_sync (f);
  g_assert_cmpuint (first->events_applied, ==, 2);

  /* Rewritten in place: the bytes before the checkpoint changed. */
  cli_write (f, "conversations/conv_c1.jsonl", after);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*read again*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  result = cli_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (result->conflicts, ==, 1);
  g_assert_cmpuint (result->events_applied, ==, 1);
  g_assert_cmpuint (result->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
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
  static const struct
  {
    const char *id;
    const char *type;
    const char *ws;
    const char *entity;
  } events[] = {
    { "e1", "workspace_created", "A", "Alpha" },
    { "e2", "session_created", "A", "s1" },
    { "e3", "trace_added", "A", "t3" },
    { "e4", "trace_added", "A", "t4" },
    { "e5", "trace_added", "A", "t5" },
    { "e6", "trace_added", "A", "t6" },
    { "e7", "trace_added", "A", "t7" },
    { "e8", "trace_added", "A", "t8" },
    { "e9", "workspace_created", "D", "Delta" },
  };
  /* Each log and the events it holds (indexes into events[]), the
   * duplicates written again as they are. */
  static const struct
  {
    const char *path;
    const char *holds;
  } logs[] = {
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

      for (const char *c = logs[i].holds; *c != '\0'; c++)
        {
          guint e = (guint) (*c - '0');
          g_autofree char *line = workspace_line (
              events[e].id, 1000 + e, events[e].type, events[e].ws,
              events[e].entity);

          /* Readers split on \r?\n and skip blank lines. */
          g_string_append_printf (text, "%s%s\n", line,
                                  e % 2 == 0 ? "" : "\r\n");
          copies++;
        }
      cli_write (f, logs[i].path, text->str);
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

/* The rows of `table` as one text, in rowid order, with their rowids. */
static char *
table_text (CliFixture *f, const char *columns, const char *table)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT group_concat (row, '|') FROM (SELECT quote (rowid) || ','"
      " || %s AS row FROM %s ORDER BY rowid)", columns, table);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *text;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

/* Make the cache from SQL text (a dump). */
static void
load_cache (CliFixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db, &db, SQLITE_OPEN_READWRITE
                                    | SQLITE_OPEN_CREATE, NULL), ==,
                   SQLITE_OK);
  sqlite3_exec (db, sql, NULL, NULL, &message);
  g_assert_cmpstr (message, ==, NULL);
  sqlite3_close (db);
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
  const char *const core_tables[] = {
    "id,path,offset,line,tail_hash,gen,missing", "jsync_sources",
    "id,ts,device,type,applier,status,source,offset,length,line,hash,gen,"
    "hex (raw)", "jsync_events",
  };
  g_autofree char *sql = NULL;
  g_autofree char *fresh = g_build_filename (f->dir, "fresh.db", NULL);
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(json_object) expected = json_object_from_file (expected_path);
  g_autoptr(json_object) upgraded = NULL;
  g_autoptr(json_object) rebuilt = NULL;
  g_autoptr(GError) error = NULL;
  char *before[G_N_ELEMENTS (core_tables) / 2];
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
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    before[i] = table_text (f, core_tables[2 * i], core_tables[2 * i + 1]);

  /* Each changed applier says it rebuilds its tables; no log is read
   * again, no event is applied as new. */
  run = CLI_RUN_JSON (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->err, "workspace: schema version 1 → 2:"
                                      " rebuilding its tables"));
  g_assert_nonnull (strstr (run->err, "conversation: schema version 1 → 2:"
                                      " rebuilding its tables"));
  g_assert_null (strstr (run->err, "corrupt"));
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_len (run->json, "filesReread"), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_appliers"
                                   " WHERE schema_version = 2"), ==, 2);

  /* The core's tables are as they were: the same rows, the same rowids
   * (only the streams the workspace applier gives changed). */
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    {
      g_autofree char *after = table_text (f, core_tables[2 * i],
                                           core_tables[2 * i + 1]);

      g_assert_cmpstr (after, ==, before[i]);
      g_free (before[i]);
    }
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
  g_test_add (path, CliFixture, data, fixture_set_up, func,                 \
              fixture_tear_down)

  ADD ("/layout/both-and-copies", test_layouts, NULL);
  ADD ("/layout/upgrade", test_upgrade, NULL);
  ADD ("/layout/lost/conflict-stored-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (0));
  ADD ("/layout/lost/conflict-new-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (1));

  /* Needs the task applier (plugins/task): last. */
  ADD ("/layout/with-tasks/example-shards", test_example_shards, NULL);

#undef ADD
  return g_test_run ();
}
