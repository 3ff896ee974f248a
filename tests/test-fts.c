/* test-fts.c: the bundled appliers' full-text indexes (message_fts,
 * conversation_fts, workspace_fts) kept exact by incremental syncs, one
 * batch at a time (issue 4: FTS triggers note the rows a batch touches in
 * *_fts_pending tables, and end_batch folds them into the indexes).
 *
 * What a user checks: after syncs that create, update and delete messages,
 * conversations and workspaces, `search` finds the new text, never the old
 * text nor deleted rows, and FTS5's integrity-check passes; a cache made by
 * the older appliers, whose triggers wrote to the indexes row by row, stays
 * right after the upgrade; a rebuild leaves the triggers in place.  And
 * what makes sync fast: a batch of many events adds a bounded number of
 * FTS segments, not one per event.
 *
 * Event lines are written with ' for " to stay readable.
 */
#include <string.h>

#include "cli-run.h"

/* The FTS tables of the bundled appliers, and the tables their triggers
 * note changes in. */
static const char *const fts_tables[] = {
  "message_fts", "conversation_fts", "workspace_fts",
};

static const char *const pending_tables[] = {
  "message_fts_pending", "conversation_fts_pending", "workspace_fts_pending",
};

#define CONV "conversations/conv_c1.jsonl"
#define WORK "workspaces/ws_w1.jsonl"

/* Append one event to a log: the body `format` makes (with ' for ") gets
 * the envelope's id "<file>@<ts>", deviceId and timestamp. */
static void G_GNUC_PRINTF (4, 5)
add_event (CliFixture *f, const char *file, gint64 ts, const char *format,
           ...)
{
  g_autofree char *json = NULL;
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  json = g_strdup_vprintf (format, args);
  va_end (args);
  g_strdelimit (json, "'", '"');
  g_assert_cmpint (json[strlen (json) - 1], ==, '}');
  json[strlen (json) - 1] = '\0';
  line = g_strdup_printf ("%s,\"id\":\"%s@%" G_GINT64_FORMAT "\","
                          "\"deviceId\":\"d1\",\"timestamp\":%" G_GINT64_FORMAT
                          "}\n", json, file, ts, ts);
  cli_append (f, file, line);
}

/* The bodies most steps add, of conversation c1 and workspace w1, for
 * add_event: a message created (id, content, sequenceNumber), its content
 * changed (id, content), a message deleted (id), the workspace renamed
 * (name). */
#define ADD_MESSAGE                                                     \
  "{'type':'message','conversationId':'c1','data':{'id':'%s',"          \
  "'content':'%s','sequenceNumber':%d}}"
#define EDIT_MESSAGE                                                    \
  "{'type':'message_updated','conversationId':'c1',"                    \
  "'messageId':'%s','data':{'content':'%s'}}"
#define DELETE_MESSAGE                                                  \
  "{'type':'message_deleted','conversationId':'c1','messageId':'%s'}"
#define RENAME_WORKSPACE                                                \
  "{'type':'workspace_updated','workspaceId':'w1','data':{'name':'%s'}}"

/* Sync; asserts nothing failed. */
static void
sync_ok (CliFixture *f)
{
  g_autoptr(JsyncResult) result = cli_sync (f);

  g_assert_cmpuint (result->events_failed, ==, 0);
  g_assert_true (result->success);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The ids of `table` (a content table) whose text matches every word of
 * `query`, sorted, joined by ","; "" for none. (transfer full) */
static char *
found (CliFixture *f, const char *query, const char *table)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  JsyncSearchOptions options = { .limit = 1000, .table = table };
  json_object *json = jsync_coordinator_search (coordinator, query, &options,
                                                &error);
  json_object *results;
  char *joined;

  g_assert_no_error (error);
  g_assert_nonnull (json);
  results = jtest_member_array (json, "results");
  for (size_t i = 0; i < json_object_array_length (results); i++)
    g_ptr_array_add (ids, (gpointer) jtest_member_str (
                              json_object_array_get_idx (results, i), "id"));
  g_ptr_array_sort (ids, compare_strings);
  g_ptr_array_add (ids, NULL);
  joined = g_strjoinv (",", (char **) ids->pdata);
  json_object_put (json);
  return joined;
}

#define assert_found(f, query, table, expected)                         \
  G_STMT_START                                                          \
  {                                                                     \
    g_autofree char *ids_ = found ((f), (query), (table));              \
    g_assert_cmpstr (ids_, ==, (expected));                             \
  }                                                                     \
  G_STMT_END

/* Each word of `words` (separated by spaces) is found in no table. */
static void
assert_gone (CliFixture *f, const char *words)
{
  g_auto(GStrv) each = g_strsplit (words, " ", -1);

  for (guint i = 0; each[i] != NULL; i++)
    assert_found (f, each[i], NULL, "");
}

/* Every index agrees with its table, and no batch left changes behind. */
static void
assert_fts_exact (CliFixture *f)
{
  g_autofree char *failure = jtest_cache_check_fts (f->db);

  g_assert_cmpstr (failure, ==, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (pending_tables); i++)
    {
      g_autofree char *pending = g_strdup_printf ("SELECT count(*) FROM %s",
                                                  pending_tables[i]);

      g_assert_cmpint (cli_sql_int (f, pending), ==, 0);
    }
}

/* sync_ok, then the indexes must be exact. */
static void
sync_exact (CliFixture *f)
{
  sync_ok (f);
  assert_fts_exact (f);
}

/* The cache equals a rebuild from the logs, FTS indexes included. */
static void
assert_verify_identical (CliFixture *f)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  json_object *report = jsync_coordinator_verify (coordinator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  if (!jtest_member_bool (report, "identical"))
    g_test_message ("%s", json_object_to_json_string_ext (
                                report, JSON_C_TO_STRING_PRETTY));
  g_assert_true (jtest_member_bool (report, "identical"));
  json_object_put (report);
}

/* A conversation with two messages and a workspace. */
static void
add_first_events (CliFixture *f)
{
  add_event (f, CONV, 1000,
             "{'type':'metadata','data':{'id':'c1','title':'Alpine trip',"
             "'created':1000,'vault':'v'}}");
  add_event (f, CONV, 1100, ADD_MESSAGE, "m1", "apples and bananas", 0);
  add_event (f, CONV, 1200,
             "{'type':'message','conversationId':'c1','data':{'id':'m2',"
             "'content':'carrots','reasoning':'crunchy',"
             "'sequenceNumber':1}}");
  add_event (f, WORK, 1000,
             "{'type':'workspace_created','data':{'id':'w1',"
             "'name':'Orchard planning','description':'pruning trees'}}");
}

/* Creates, updates and deletes over several syncs: search follows each
 * one, and the indexes stay exact. */
static void
test_sync_steps (CliFixture *f, gconstpointer data)
{
  add_first_events (f);
  sync_exact (f);
  assert_found (f, "bananas", "messages", "m1");
  assert_found (f, "crunchy", "messages", "m2");
  assert_found (f, "alpine", "conversations", "c1");
  assert_found (f, "orchard", "workspaces", "w1");

  /* Updates: the new text is found, the old text no longer. */
  add_event (f, CONV, 2000, EDIT_MESSAGE, "m1", "durian and elderberry");
  add_event (f, CONV, 2100,
             "{'type':'conversation_updated','conversationId':'c1',"
             "'data':{'title':'Baltic trip'}}");
  add_event (f, CONV, 2200, ADD_MESSAGE, "m3", "figs", 2);
  add_event (f, WORK, 2000, RENAME_WORKSPACE, "Vineyard planning");
  /* Only lastAccessed: the index has nothing to change. */
  add_event (f, WORK, 2100,
             "{'type':'workspace_updated','workspaceId':'w1',"
             "'data':{'lastAccessed':2100}}");
  sync_exact (f);
  assert_gone (f, "bananas apples alpine orchard");
  assert_found (f, "durian elderberry", "messages", "m1");
  assert_found (f, "figs", "messages", "m3");
  assert_found (f, "baltic", "conversations", "c1");
  assert_found (f, "planning", NULL, "w1");
  assert_found (f, "vineyard", "workspaces", "w1");
  assert_found (f, "pruning", "workspaces", "w1");

  /* Deletes: nothing of the deleted rows is found. */
  add_event (f, CONV, 3000, DELETE_MESSAGE, "m2");
  add_event (f, WORK, 3000,
             "{'type':'workspace_deleted','workspaceId':'w1'}");
  add_event (f, "workspaces/ws_w2.jsonl", 3100,
             "{'type':'workspace_created','data':{'id':'w2',"
             "'name':'Greenhouse','description':'pruning tomatoes'}}");
  sync_exact (f);
  assert_gone (f, "carrots crunchy vineyard");
  assert_found (f, "pruning", "workspaces", "w2");
  assert_found (f, "figs", "messages", "m3");

  /* A whole conversation goes, with its messages. */
  add_event (f, CONV, 4000,
             "{'type':'conversation_deleted','conversationId':'c1'}");
  sync_exact (f);
  assert_gone (f, "baltic figs durian");
  assert_verify_identical (f);
}

/* One batch that touches the same rows several times: a message created,
 * streamed (updated twice) and another created then deleted; a workspace
 * renamed twice; a conversation deleted and created again.  Only the end
 * state is indexed. */
static void
test_sync_one_batch (CliFixture *f, gconstpointer data)
{
  add_first_events (f);
  sync_ok (f);

  add_event (f, CONV, 2000, ADD_MESSAGE, "m3", "first draft", 2);
  add_event (f, CONV, 2100, EDIT_MESSAGE, "m3", "second draft");
  add_event (f, CONV, 2200,
             "{'type':'message_updated','conversationId':'c1',"
             "'messageId':'m3','data':{'content':'final version',"
             "'reasoning':'polished'}}");
  add_event (f, CONV, 2300, ADD_MESSAGE, "m4", "ephemeral", 3);
  add_event (f, CONV, 2400, DELETE_MESSAGE, "m4");
  add_event (f, CONV, 2500, EDIT_MESSAGE, "m1", "grapes");
  add_event (f, CONV, 2600, EDIT_MESSAGE, "m1", "apples and bananas");
  add_event (f, WORK, 2000, RENAME_WORKSPACE, "Hedge");
  add_event (f, WORK, 2100,
             "{'type':'workspace_updated','workspaceId':'w1',"
             "'data':{'name':'Meadow','description':'mowing'}}");
  add_event (f, "conversations/conv_c2.jsonl", 2000,
             "{'type':'metadata','data':{'id':'c2','title':'Kestrel'}}");
  add_event (f, "conversations/conv_c2.jsonl", 2100,
             "{'type':'conversation_deleted','conversationId':'c2'}");
  add_event (f, "conversations/conv_c2.jsonl", 2200,
             "{'type':'metadata','data':{'id':'c2','title':'Lapwing'}}");
  sync_exact (f);
  assert_gone (f, "draft ephemeral grapes hedge orchard pruning kestrel");
  assert_found (f, "final version", "messages", "m3");
  assert_found (f, "polished", "messages", "m3");
  assert_found (f, "bananas", "messages", "m1");
  assert_found (f, "meadow mowing", "workspaces", "w1");
  assert_found (f, "lapwing", "conversations", "c2");
  assert_verify_identical (f);
}

/* A late event (its key sorts before events already applied) makes the
 * core clear its stream and apply it again: the index follows. */
static void
test_sync_late_event (CliFixture *f, gconstpointer data)
{
  add_first_events (f);
  add_event (f, CONV, 3000, EDIT_MESSAGE, "m1", "quince");
  sync_ok (f);
  assert_found (f, "quince", "messages", "m1");

  /* Another device's update, older than the one applied: it is overtaken,
   * and its own new message stays. */
  add_event (f, "conversations/conv_c1 (phone).jsonl", 2000, EDIT_MESSAGE,
             "m1", "raspberry");
  add_event (f, "conversations/conv_c1 (phone).jsonl", 2500, ADD_MESSAGE,
             "m5", "strawberry", 5);
  sync_exact (f);
  assert_gone (f, "raspberry");
  assert_found (f, "quince", "messages", "m1");
  assert_found (f, "strawberry", "messages", "m5");
  assert_found (f, "carrots", "messages", "m2");
  assert_verify_identical (f);
}

/* The number of segments of an FTS index: its _idx shadow table has a row
 * per leaf page, keyed by segment id. */
static gint64
segments (CliFixture *f, const char *fts)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(DISTINCT segid) FROM %s_idx", fts);

  return cli_sql_int (f, sql);
}

/* Messages, message updates, title and name changes for the conversation
 * and workspace of add_first_events(), from time `ts` on. */
static void
add_many_events (CliFixture *f, gint64 ts, guint n)
{
  for (guint i = 0; i < n; i++, ts += 10)
    {
      g_autofree char *body = NULL;

      switch (i % 4)
        {
        case 0:
          body = g_strdup_printf ("{'type':'message','conversationId':'c1',"
                                  "'data':{'id':'n%" G_GINT64_FORMAT "',"
                                  "'content':'word%u text',"
                                  "'sequenceNumber':%u}}", ts, i, i + 10);
          break;
        case 1:
          body = g_strdup_printf ("{'type':'message_updated',"
                                  "'conversationId':'c1','messageId':'m1',"
                                  "'data':{'content':'edit%u'}}", i);
          break;
        case 2:
          body = g_strdup_printf ("{'type':'conversation_updated',"
                                  "'conversationId':'c1',"
                                  "'data':{'title':'title%u'}}", i);
          break;
        default:
          body = g_strdup_printf ("{'type':'workspace_updated',"
                                  "'workspaceId':'w1',"
                                  "'data':{'name':'name%u'}}", i);
          break;
        }
      add_event (f, i % 4 == 3 ? WORK : CONV, ts, "%s", body);
    }
}

/* A batch of N events adds O(1) segments to each index, not O(N): FTS5
 * writes a segment at every savepoint, and each event runs in one, so the
 * indexes must not be written event by event.  Merging is turned off in
 * the test's cache so that the count is the number of segments written. */
static void
test_segments_per_batch (CliFixture *f, gconstpointer data)
{
  gint64 one[G_N_ELEMENTS (fts_tables)];
  gint64 before[G_N_ELEMENTS (fts_tables)];

  add_first_events (f);
  sync_ok (f);
  for (gsize i = 0; i < G_N_ELEMENTS (fts_tables); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s (%s, rank) VALUES ('automerge', 0);"
          "INSERT INTO %s (%s, rank) VALUES ('crisismerge', 1999);",
          fts_tables[i], fts_tables[i], fts_tables[i], fts_tables[i]);

      cli_sql (f, sql);
    }

  /* One event of each kind the loop makes, in one batch. */
  for (gsize i = 0; i < G_N_ELEMENTS (fts_tables); i++)
    one[i] = segments (f, fts_tables[i]);
  add_many_events (f, 2000, 4);
  sync_ok (f);
  for (gsize i = 0; i < G_N_ELEMENTS (fts_tables); i++)
    {
      one[i] = segments (f, fts_tables[i]) - one[i];
      g_assert_cmpint (one[i], >=, 1);
    }

  /* 200 of them, in one batch (the default batch is 1000 events). */
  for (gsize i = 0; i < G_N_ELEMENTS (fts_tables); i++)
    before[i] = segments (f, fts_tables[i]);
  add_many_events (f, 3000, 200);
  sync_ok (f);
  for (gsize i = 0; i < G_N_ELEMENTS (fts_tables); i++)
    {
      gint64 added = segments (f, fts_tables[i]) - before[i];

      g_test_message ("%s: %" G_GINT64_FORMAT " segment(s) for 4 events, %"
                      G_GINT64_FORMAT " for 200", fts_tables[i], one[i],
                      added);
      g_assert_cmpint (added, <=, one[i]);
    }
  assert_fts_exact (f);
  assert_found (f, "word196", "messages", "n4960");
  assert_found (f, "edit197", "messages", "m1");
  assert_found (f, "title198", "conversations", "c1");
  assert_found (f, "name199", "workspaces", "w1");
}

/* The FTS triggers of conversation 0.2.0 and workspace 1.0.0, which wrote
 * to the indexes row by row. */
static const char old_triggers[] =
  "CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations"
  " BEGIN INSERT INTO conversation_fts (rowid, id, title)"
  " VALUES (new.rowid, new.id, new.title); END;"
  "CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations"
  " BEGIN INSERT INTO conversation_fts (conversation_fts, rowid, id, title)"
  " VALUES ('delete', old.rowid, old.id, old.title); END;"
  "CREATE TRIGGER conversations_fts_update AFTER UPDATE OF id, title"
  " ON conversations"
  " BEGIN INSERT INTO conversation_fts (conversation_fts, rowid, id, title)"
  " VALUES ('delete', old.rowid, old.id, old.title);"
  " INSERT INTO conversation_fts (rowid, id, title)"
  " VALUES (new.rowid, new.id, new.title); END;"
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
  " BEGIN INSERT INTO message_fts (rowid, id, conversationId, content,"
  " reasoningContent) VALUES (new.rowid, new.id, new.conversationId,"
  " new.content, new.reasoningContent); END;"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
  " BEGIN INSERT INTO message_fts (message_fts, rowid, id, conversationId,"
  " content, reasoningContent) VALUES ('delete', old.rowid, old.id,"
  " old.conversationId, old.content, old.reasoningContent); END;"
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF id, conversationId,"
  " content, reasoningContent ON messages"
  " BEGIN INSERT INTO message_fts (message_fts, rowid, id, conversationId,"
  " content, reasoningContent) VALUES ('delete', old.rowid, old.id,"
  " old.conversationId, old.content, old.reasoningContent);"
  " INSERT INTO message_fts (rowid, id, conversationId, content,"
  " reasoningContent) VALUES (new.rowid, new.id, new.conversationId,"
  " new.content, new.reasoningContent); END;"
  "CREATE TRIGGER workspace_fts_insert AFTER INSERT ON workspaces"
  " BEGIN INSERT INTO workspace_fts (rowid, id, name, description)"
  " VALUES (new.rowid, new.id, new.name, new.description); END;"
  "CREATE TRIGGER workspace_fts_delete AFTER DELETE ON workspaces"
  " BEGIN INSERT INTO workspace_fts (workspace_fts, rowid, id, name,"
  " description) VALUES ('delete', old.rowid, old.id, old.name,"
  " old.description); END;"
  "CREATE TRIGGER workspace_fts_update AFTER UPDATE ON workspaces"
  " WHEN old.rowid IS NOT new.rowid OR old.id IS NOT new.id"
  " OR old.name IS NOT new.name OR old.description IS NOT new.description"
  " BEGIN INSERT INTO workspace_fts (workspace_fts, rowid, id, name,"
  " description) VALUES ('delete', old.rowid, old.id, old.name,"
  " old.description);"
  " INSERT INTO workspace_fts (rowid, id, name, description)"
  " VALUES (new.rowid, new.id, new.name, new.description); END;";

/* Turn the fixture's cache into one the older appliers made: their
 * triggers, no pending tables, their versions recorded. */
static void
make_old_cache (CliFixture *f)
{
  g_autofree char *sql = g_strconcat (
      "BEGIN;"
      "DROP TRIGGER conversations_fts_insert;"
      "DROP TRIGGER conversations_fts_delete;"
      "DROP TRIGGER conversations_fts_update;"
      "DROP TRIGGER messages_fts_insert;"
      "DROP TRIGGER messages_fts_delete;"
      "DROP TRIGGER messages_fts_update;"
      "DROP TRIGGER workspace_fts_insert;"
      "DROP TRIGGER workspace_fts_delete;"
      "DROP TRIGGER workspace_fts_update;"
      "DROP TABLE conversation_fts_pending;"
      "DROP TABLE message_fts_pending;"
      "DROP TABLE workspace_fts_pending;",
      old_triggers,
      "UPDATE jsync_appliers SET version = '0.2.0'"
      " WHERE name = 'conversation';"
      "UPDATE jsync_appliers SET version = '1.0.0' WHERE name = 'workspace';"
      "COMMIT;", NULL);

  cli_sql (f, sql);
}

/* A cache of the older appliers: the next sync replaces their triggers,
 * and creates, updates and deletes after it are indexed exactly. */
static void
test_upgrade_old_triggers (CliFixture *f, gconstpointer data)
{
  add_first_events (f);
  sync_ok (f);
  make_old_cache (f);
  /* The old triggers are live: a change is indexed at once.  (No
   * coordinator is opened before the sync: opening one upgrades.) */
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM sqlite_schema"
                                   " WHERE name LIKE '%fts_pending'"), ==, 0);
  cli_sql (f, "UPDATE workspaces SET description = 'grafting' WHERE id = 'w1'");
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM workspace_fts"
                                   " WHERE workspace_fts MATCH 'grafting'"),
                   ==, 1);
  cli_sql (f, "UPDATE workspaces SET description = 'pruning trees'"
              " WHERE id = 'w1'");
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM workspace_fts"
                                   " WHERE workspace_fts MATCH 'grafting'"),
                   ==, 0);

  add_event (f, CONV, 2000, EDIT_MESSAGE, "m1", "durian");
  add_event (f, CONV, 2100, DELETE_MESSAGE, "m2");
  add_event (f, CONV, 2200,
             "{'type':'conversation_updated','conversationId':'c1',"
             "'data':{'title':'Baltic trip'}}");
  add_event (f, CONV, 2300, ADD_MESSAGE, "m3", "figs", 2);
  add_event (f, WORK, 2000, RENAME_WORKSPACE, "Vineyard");
  sync_ok (f);

  /* The new versions are recorded, their triggers and tables in place. */
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_appliers"
                                   " WHERE (name = 'conversation'"
                                   " AND version <> '0.2.0')"
                                   " OR (name = 'workspace'"
                                   " AND version <> '1.0.0')"), ==, 2);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM sqlite_schema"
                                   " WHERE type = 'trigger'"
                                   " AND name LIKE '%fts%'"
                                   " AND sql LIKE '%fts_pending%'"), ==, 9);
  assert_fts_exact (f);
  assert_gone (f, "bananas carrots alpine orchard");
  assert_found (f, "durian", "messages", "m1");
  assert_found (f, "baltic", "conversations", "c1");
  assert_found (f, "figs", "messages", "m3");
  assert_found (f, "vineyard", "workspaces", "w1");
  assert_verify_identical (f);
}

/* A rebuild indexes once at the end and leaves the triggers in place, the
 * pending tables empty: syncs after it keep the indexes exact. */
static void
test_rebuild_then_sync (CliFixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = NULL;

  add_first_events (f);
  /* The coordinator closed before the checks. */
  {
    g_autoptr(JsyncCoordinator) coordinator = cli_open (f);

    result = jsync_coordinator_rebuild (coordinator, &error);
  }
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->events_applied, ==, 4);

  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM sqlite_schema"
                                   " WHERE type = 'trigger'"
                                   " AND sql LIKE '%fts_pending%'"), ==, 9);
  assert_fts_exact (f);
  assert_found (f, "bananas", "messages", "m1");
  assert_found (f, "orchard", "workspaces", "w1");

  add_event (f, CONV, 2000, EDIT_MESSAGE, "m1", "durian");
  add_event (f, WORK, 2000, RENAME_WORKSPACE, "Vineyard");
  sync_exact (f);
  assert_gone (f, "bananas orchard");
  assert_found (f, "durian", "messages", "m1");
  assert_found (f, "vineyard", "workspaces", "w1");
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  CLI_ADD ("/fts/sync/steps", test_sync_steps);
  CLI_ADD ("/fts/sync/one-batch", test_sync_one_batch);
  CLI_ADD ("/fts/sync/late-event", test_sync_late_event);
  CLI_ADD ("/fts/segments/per-batch", test_segments_per_batch);
  CLI_ADD ("/fts/upgrade/old-triggers", test_upgrade_old_triggers);
  CLI_ADD ("/fts/rebuild/then-sync", test_rebuild_then_sync);
  return g_test_run ();
}
