/* test-conversation.c: the `conversation` applier, event by event.
 *
 * Each case applies a few events through the harness (one savepoint per
 * event, as the core does) and checks the rows a user would look at.  The
 * callbacks the harness does not drive (stream, clear_stream, clear,
 * finish_rebuild) are called on the harness's own state.  Event JSON is written with ' for " to stay readable.
 */
#include "applier-harness.h"
#include "jsync-test.h"

typedef struct
{
  Harness *harness;               /* owned */
  const JsyncApplierDesc *desc;   /* borrowed from the harness */
  gpointer state;                 /* borrowed from the harness */
  guint serial;                   /* for event ids */
} Fixture;

static void
fixture_set_up (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  f->harness = harness_new ((const char *[]) { "conversation", NULL });
  f->desc = harness_get_desc (f->harness, "conversation");
  f->state = harness_get_state (f->harness, "conversation");
}

static void
fixture_tear_down (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  harness_free (f->harness);
}

/* One event line: `routing` is a list of envelope members (or NULL),
 * `data` the data value (or NULL for none); ' stands for ". */
static char *
fixture_line (Fixture *f, const char *type, gint64 ts, const char *routing,
              const char *data)
{
  g_autoptr(GString) line = g_string_new (NULL);

  g_string_append_printf (line, "{'type':'%s'", type);
  if (routing != NULL)
    g_string_append_printf (line, ",%s", routing);
  if (data != NULL)
    g_string_append_printf (line, ",'data':%s", data);
  g_string_append_printf (line, ",'id':'event-%u','deviceId':'device-a',"
                          "'timestamp':%" G_GINT64_FORMAT "}",
                          ++f->serial, ts);
  g_strdelimit (line->str, "'", '"');
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static gboolean
fixture_apply (Fixture *f, const char *type, gint64 ts, const char *routing,
               const char *data, GError **error)
{
  g_autofree char *line = fixture_line (f, type, ts, routing, data);

  return harness_apply (f->harness, line, error);
}

static void
fixture_apply_ok (Fixture *f, const char *type, gint64 ts,
                  const char *routing, const char *data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fixture_apply (f, type, ts, routing, data, &error));
  g_assert_no_error (error);
}

/* fixture_apply_ok, then the full-text indexes must be exact. */
static void
fixture_apply_fts (Fixture *f, const char *type, gint64 ts,
                   const char *routing, const char *data)
{
  fixture_apply_ok (f, type, ts, routing, data);
  harness_assert_fts_ok (f->harness);
}

/* An event lent to a callback, built from a line. */
static void
event_init (JsyncEvent *event, json_object *json)
{
  *event = (JsyncEvent) { .struct_size = sizeof (JsyncEvent), .json = json,
                          .file = "test.jsonl", .line = 1,
                          .id = jtest_member_str (json, "id"),
                          .type = jtest_member_str (json, "type"),
                          .device_id = jtest_member_str (json, "deviceId"),
                          .timestamp = jtest_member_int (json, "timestamp") };
}

/* Assert the event fails as invalid with `message` and writes nothing.  It
 * is applied directly, outside any savepoint, so a partial write would
 * show. */
static void
fixture_apply_fails (Fixture *f, const char *type, gint64 ts,
                     const char *routing, const char *data,
                     const char *message)
{
  g_autofree char *line = fixture_line (f, type, ts, routing, data);
  g_autoptr(json_object) json = json_tokener_parse (line);
  g_autoptr(json_object) before = harness_dump (f->harness);
  g_autoptr(json_object) after = NULL;
  g_autoptr(GError) error = NULL;
  JsyncEvent event;

  g_assert_nonnull (json);
  event_init (&event, json);
  g_assert_false (f->desc->apply (f->state, &event, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
}

/* Assert columns of one row at once: `columns` joined by ",", `expected`
 * their values as SQL's quote () writes them ('text', an integer bare,
 * NULL), joined by "|", so that each value's type is checked with it. */
static void
assert_row (Fixture *f, const char *table, const char *id,
            const char *columns, const char *expected)
{
  g_auto(GStrv) names = g_strsplit (columns, ",", -1);
  g_autoptr(GString) sql = g_string_new ("SELECT ");
  g_autofree char *values = NULL;

  for (guint i = 0; names[i] != NULL; i++)
    g_string_append_printf (sql, "%squote (%s)", i > 0 ? " || '|' || " : "",
                            names[i]);
  g_string_append_printf (sql, " FROM %s WHERE id = '%s'", table, id);
  values = harness_query_text (f->harness, sql->str);
  g_assert_cmpstr (values, ==, expected);
}

/* One column of one row: text (without a '), or NULL for SQL NULL. */
static void
assert_column (Fixture *f, const char *table, const char *id,
               const char *column, const char *expected)
{
  g_autofree char *quoted = expected != NULL
                              ? g_strdup_printf ("'%s'", expected)
                              : g_strdup ("NULL");

  assert_row (f, table, id, column, quoted);
}

static void
assert_integer (Fixture *f, const char *table, const char *id,
                const char *column, gint64 expected)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, expected);

  assert_row (f, table, id, column, text);
}

static gint64
count_rows (Fixture *f, const char *table, const char *where)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s WHERE %s",
                                          table, where);

  return harness_query_int (f->harness, sql);
}

/* The ids (first column) a search returns for `query`, joined by commas. */
static char *
search_ids (Fixture *f, const char *sql, const char *query)
{
  sqlite3 *db = harness_get_db (f->harness);
  g_autoptr(GString) ids = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  sqlite3_bind_text (stmt, 1, query, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_string_append_printf (ids, "%s%s", ids->len > 0 ? "," : "",
                            (const char *) sqlite3_column_text (stmt, 0));
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

/* Upstream's message search (newest first), and a conversation search by
 * title. */
#define search_messages(f, query)                                          \
  search_ids ((f), "SELECT m.* FROM messages m"                            \
              " JOIN message_fts f ON m.id = f.id"                         \
              " WHERE message_fts MATCH ? ORDER BY m.timestamp DESC",      \
              (query))
#define search_conversations(f, query)                                     \
  search_ids ((f), "SELECT c.id FROM conversations c"                      \
              " JOIN conversation_fts f ON c.rowid = f.rowid"              \
              " WHERE conversation_fts MATCH ? ORDER BY c.id", (query))

static void
assert_search (char *found, const char *expected)
{
  g_assert_cmpstr (found, ==, expected);
  g_free (found);
}

#define C1 "'conversationId':'c1'"
#define C2 "'conversationId':'c2'"

/* The columns derived from the settings, in the table's order. */
static const char *const settings_columns[] = {
  "workspaceId", "sessionId", "workflowId", "runTrigger", "scheduledFor",
  "runKey", NULL,
};

/* Assert the six derived columns of conversation `id` (as assert_row). */
static void
assert_settings (Fixture *f, const char *id, const char *expected)
{
  g_autofree char *columns = g_strjoinv (",", (char **) settings_columns);

  assert_row (f, "conversations", id, columns, expected);
}

/* --- The descriptor and the schema */

static void
test_descriptor (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  const char *const prefixes[] = { "metadata", "conversation_", "message",
                                   "branch_", NULL };
  const char *const tables[] = { "conversations", "messages", NULL };

  g_assert_cmpstr (f->desc->name, ==, "conversation");
  g_assert_nonnull (f->desc->version);
  g_assert_true (g_strv_equal ((const char *const *) f->desc->prefixes,
                               prefixes));
  g_assert_true (g_strv_equal ((const char *const *) f->desc->tables,
                               tables));
  g_assert_cmpint (f->desc->schema_version, ==, 3);
  /* ABI 1.2: late events in place. */
  g_assert_nonnull (f->desc->late);
  g_assert_cmpstr (f->desc->search[0].fts, ==, "message_fts");
  g_assert_cmpstr (f->desc->search[0].table, ==, "messages");
  g_assert_cmpstr (f->desc->search[0].columns, ==,
                   "content,reasoningContent");
  g_assert_cmpstr (f->desc->search[1].fts, ==, "conversation_fts");
  g_assert_cmpstr (f->desc->search[1].table, ==, "conversations");
  g_assert_cmpstr (f->desc->search[1].columns, ==, "title");
  g_assert_null (f->desc->search[2].fts);
  g_assert_nonnull (f->desc->stream);
  g_assert_nonnull (f->desc->clear_stream);
  g_assert_nonnull (f->desc->clear);
  g_assert_nonnull (f->desc->finish_rebuild);
}

static void
test_schema_idempotent (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture_apply_ok (f, "metadata", 1000, NULL, "{'id':'c1','title':'Kept'}");
  fixture_apply_ok (f, "message", 1100, C1, "{'id':'m1','content':'kept'}");
  g_assert_true (jsync_sql_exec (harness_get_db (f->harness),
                                 f->desc->schema_sql, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_rows (f, "conversations", "1"), ==, 1);
  g_assert_cmpint (count_rows (f, "messages", "1"), ==, 1);
  harness_assert_fts_ok (f->harness);
}

/* The plan SQLite picks for `sql`, its details joined by commas. */
static char *
query_plan (Fixture *f, const char *sql)
{
  g_autofree char *explain = g_strconcat ("EXPLAIN QUERY PLAN ", sql, NULL);
  g_autoptr(GString) plan = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (harness_get_db (f->harness), explain,
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (plan, "%s,",
                            (const char *) sqlite3_column_text (stmt, 3));
  sqlite3_finalize (stmt);
  return g_string_free (g_steal_pointer (&plan), FALSE);
}

/* Upstream's lookups use the indexes, without sorting. */
static void
test_schema_indexes (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autofree char *messages = query_plan (
      f, "SELECT * FROM messages WHERE conversationId = 'c1'"
      " ORDER BY sequenceNumber");
  g_autofree char *conversations = query_plan (
      f, "SELECT * FROM conversations ORDER BY updated DESC");

  g_assert_nonnull (strstr (messages, "USING INDEX"));
  g_assert_nonnull (strstr (messages, "(conversationId=?)"));
  g_assert_null (strstr (messages, "TEMP B-TREE"));
  g_assert_nonnull (strstr (conversations, "USING INDEX"));
  g_assert_null (strstr (conversations, "TEMP B-TREE"));

  /* Each column derived from the settings has its index. */
  for (guint i = 0; settings_columns[i] != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "SELECT id FROM conversations WHERE %s = 'x'", settings_columns[i]);
      g_autofree char *plan = query_plan (f, sql);

      g_test_message ("%s: %s", sql, plan);
      g_assert_nonnull (strstr (plan, "USING INDEX"));
    }
}

/* --- metadata */

static void
test_metadata_defaults (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1759103222598, NULL, "{'id':'c1'}");

  assert_row (f, "conversations", "c1",
              "title,created,updated,vaultName,metadataJson,messageCount",
              "'Untitled'|1759103222598|1759103222598|''|NULL|0");

  /* null is absent for columns with a default. */
  fixture_apply_ok (f, "metadata", 2000, NULL,
                    "{'id':'c2','title':null,'created':null,'vault':null,"
                    "'settings':null}");
  assert_row (f, "conversations", "c2",
              "title,created,updated,vaultName,metadataJson",
              "'Untitled'|2000|2000|''|NULL");
}

static void
test_metadata_fields (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1759103222598, NULL,
                    "{'id':'c1','title':'New conversation',"
                    "'created':1759103222594,'vault':'MyVault',"
                    "'settings':{'provider':'ollama','model':'qwen3:14b',"
                    "'temperature':0.7,'path':'a/b','tags':[]},"
                    "'unknownKey':true}");

  assert_row (f, "conversations", "c1",
              "title,created,updated,vaultName,metadataJson",
              "'New conversation'|1759103222594|1759103222594|'MyVault'|"
              "'{\"provider\":\"ollama\",\"model\":\"qwen3:14b\","
              "\"temperature\":0.7,\"path\":\"a/b\",\"tags\":[]}'");

  /* settings may be any JSON value. */
  fixture_apply_ok (f, "metadata", 2000, NULL,
                    "{'id':'c2','settings':'plain'}");
  assert_column (f, "conversations", "c2", "metadataJson", "\"plain\"");
}

static void
test_metadata_recreate (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1000, NULL,
                    "{'id':'c1','title':'First','created':900,"
                    "'vault':'V','settings':{'model':'m'}}");
  fixture_apply_ok (f, "message", 2000, C1, "{'id':'m1'}");
  fixture_apply_ok (f, "message", 3000, C1, "{'id':'m2'}");
  assert_integer (f, "conversations", "c1", "updated", 3000);

  /* Only the columns it carries; counters and updated stay. */
  fixture_apply_ok (f, "metadata", 4000, NULL,
                    "{'id':'c1','title':'Second'}");
  assert_row (f, "conversations", "c1",
              "title,created,updated,vaultName,metadataJson,messageCount",
              "'Second'|900|3000|'V'|'{\"model\":\"m\"}'|2");

  /* null: absent where a default exists, NULL elsewhere. */
  fixture_apply_ok (f, "metadata", 5000, NULL,
                    "{'id':'c1','title':null,'vault':null,'created':null,"
                    "'settings':null}");
  assert_row (f, "conversations", "c1",
              "title,vaultName,created,metadataJson,updated,messageCount",
              "'Second'|'V'|900|NULL|3000|2");

  fixture_apply_ok (f, "metadata", 6000, NULL,
                    "{'id':'c1','created':950,'vault':'W'}");
  assert_row (f, "conversations", "c1",
              "created,vaultName,updated",
              "950|'W'|3000");
  g_assert_cmpint (count_rows (f, "conversations", "1"), ==, 1);
  harness_assert_fts_ok (f->harness);
}

static void
test_metadata_messages_first (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 100, C1, "{'id':'m1'}");
  fixture_apply_ok (f, "message", 200, C1, "{'id':'m2'}");
  fixture_apply_ok (f, "message", 250, C2, "{'id':'m3'}");
  fixture_apply_ok (f, "metadata", 300, NULL, "{'id':'c1','created':50}");

  assert_integer (f, "conversations", "c1", "messageCount", 2);
  /* Messages before the create do not raise updated. */
  assert_integer (f, "conversations", "c1", "updated", 50);

  fixture_apply_ok (f, "message", 400, C1, "{'id':'m4'}");
  assert_integer (f, "conversations", "c1", "messageCount", 3);
  assert_integer (f, "conversations", "c1", "updated", 400);
}

/* --- conversation_updated */

static void
test_conversation_updated_rises (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1000, NULL, "{'id':'c1'}");

  fixture_apply_ok (f, "conversation_updated", 1100, C1,
                    "{'updated':5000}");
  assert_integer (f, "conversations", "c1", "updated", 5000);
  fixture_apply_ok (f, "conversation_updated", 1200, C1,
                    "{'updated':2000}");
  assert_integer (f, "conversations", "c1", "updated", 5000);

  /* A message event raises it to its timestamp, never lowers it. */
  fixture_apply_ok (f, "message", 3000, C1, "{'id':'m1'}");
  assert_integer (f, "conversations", "c1", "updated", 5000);
  fixture_apply_ok (f, "message", 6000, C1, "{'id':'m2'}");
  assert_integer (f, "conversations", "c1", "updated", 6000);

  /* Only message events and conversation_updated move it. */
  fixture_apply_ok (f, "message_updated", 9000,
                    C1 ",'messageId':'m1'", "{'content':'x'}");
  fixture_apply_ok (f, "message_deleted", 9500, C1 ",'messageId':'m2'",
                    NULL);
  fixture_apply_ok (f, "metadata", 9700, NULL, "{'id':'c1'}");
  fixture_apply_ok (f, "conversation_updated", 9800, C1, "{'title':'T'}");
  assert_integer (f, "conversations", "c1", "updated", 6000);
}

static void
test_conversation_updated_fields (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1000, NULL,
                    "{'id':'c1','title':'Old','vault':'V'}");

  fixture_apply_ok (f, "conversation_updated", 2000, C1,
                    "{'title':'Prompts journal','settings':{'model':'x',"
                    "'temperature':0}}");
  assert_row (f, "conversations", "c1",
              "title,metadataJson,updated,vaultName",
              "'Prompts journal'|'{\"model\":\"x\",\"temperature\":0}'|1000|"
              "'V'");

  /* null title and updated are absent; null settings is NULL. */
  fixture_apply_ok (f, "conversation_updated", 3000, C1,
                    "{'title':null,'updated':null,'settings':null}");
  assert_row (f, "conversations", "c1",
              "title,updated,metadataJson",
              "'Prompts journal'|1000|NULL");

  /* No data: nothing to set. */
  fixture_apply_ok (f, "conversation_updated", 4000, C1, NULL);
  fixture_apply_ok (f, "conversation_updated", 4100, C1, "null");
  assert_column (f, "conversations", "c1", "title", "Prompts journal");
  harness_assert_fts_ok (f->harness);
}

static void
test_conversation_updated_missing (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "conversation_updated", 1000, C1,
                    "{'title':'T','updated':5000}");
  g_assert_cmpint (count_rows (f, "conversations", "1"), ==, 0);

  /* A later create is not affected by the earlier update. */
  fixture_apply_ok (f, "metadata", 2000, NULL, "{'id':'c1'}");
  assert_column (f, "conversations", "c1", "title", "Untitled");
  assert_integer (f, "conversations", "c1", "updated", 2000);
}

/* --- conversation_deleted */

/* What the deletions start from: c1 "One" with m1 (1000) and m2 (1100), c2
 * "Two" with m3. */
static void
apply_c1_c2 (Fixture *f)
{
  fixture_apply_ok (f, "metadata", 500, NULL, "{'id':'c1','title':'One'}");
  fixture_apply_ok (f, "message", 1000, C1, "{'id':'m1'}");
  fixture_apply_ok (f, "message", 1100, C1, "{'id':'m2'}");
  fixture_apply_ok (f, "metadata", 1200, NULL, "{'id':'c2','title':'Two'}");
  fixture_apply_ok (f, "message", 1300, C2, "{'id':'m3'}");
}

static void
test_conversation_deleted (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  apply_c1_c2 (f);
  /* Messages of a conversation not created (yet). */
  fixture_apply_ok (f, "message", 1500, "'conversationId':'c3'",
                    "{'id':'m4'}");

  fixture_apply_ok (f, "conversation_deleted", 2000, C1, NULL);
  g_assert_cmpint (count_rows (f, "conversations", "id = 'c1'"), ==, 0);
  g_assert_cmpint (count_rows (f, "messages", "conversationId = 'c1'"), ==,
                   0);
  g_assert_cmpint (count_rows (f, "conversations", "id = 'c2'"), ==, 1);
  g_assert_cmpint (count_rows (f, "messages", "conversationId = 'c2'"), ==,
                   1);
  assert_integer (f, "conversations", "c2", "messageCount", 1);

  fixture_apply_ok (f, "conversation_deleted", 2100, "'conversationId':'c3'",
                    NULL);
  g_assert_cmpint (count_rows (f, "messages", "conversationId = 'c3'"), ==,
                   0);
  /* Deleting what is gone is not an error. */
  fixture_apply_ok (f, "conversation_deleted", 2200, C1, NULL);

  /* A create later in the order is a new entity. */
  fixture_apply_ok (f, "metadata", 3000, NULL, "{'id':'c1'}");
  assert_row (f, "conversations", "c1",
              "title,messageCount,updated",
              "'Untitled'|0|3000");
  harness_assert_fts_ok (f->harness);
}

/* --- message */

static void
test_message_defaults (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1000, NULL, "{'id':'c1'}");
  fixture_apply_ok (f, "message", 1759103222789, C1, "{'id':'m1'}");

  assert_row (f, "messages", "m1",
              "conversationId,role,content,timestamp,state,toolCallsJson,"
              "toolCallId,reasoningContent,sequenceNumber,alternativesJson,"
              "activeAlternativeIndex",
              "'c1'|'user'|''|1759103222789|'complete'|NULL|NULL|NULL|0|"
              "NULL|0");
  assert_integer (f, "conversations", "c1", "messageCount", 1);
  assert_integer (f, "conversations", "c1", "updated", 1759103222789);

  /* null is absent for columns with a default. */
  fixture_apply_ok (f, "message", 2000, C1,
                    "{'id':'m2','role':null,'content':null,'state':null,"
                    "'sequenceNumber':null,'activeAlternativeIndex':null,"
                    "'reasoning':null,'tool_call_id':null,"
                    "'tool_calls':null,'alternatives':null}");
  assert_row (f, "messages", "m2",
              "role,content,state,sequenceNumber,activeAlternativeIndex,"
              "reasoningContent,toolCallId,toolCallsJson,alternativesJson",
              "'user'|''|'complete'|0|0|NULL|NULL|NULL|NULL");
  assert_integer (f, "conversations", "c1", "messageCount", 2);
}

static void
test_message_fields (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','role':'assistant','content':'Hello ⚠️',"
                    "'tool_calls':[{'id':'toolu_01','type':'function',"
                    "'function':{'name':'contentManager_read',"
                    "'arguments':'{\\'path\\':\\'Research/plan.md\\'}'},"
                    "'name':'contentManager_read',"
                    "'parameters':{'path':'Research/plan.md'},"
                    "'result':{'success':true},'success':true}],"
                    "'tool_call_id':'toolu_00','state':'streaming',"
                    "'reasoning':'Because.','sequenceNumber':7,"
                    "'alternatives':[{'id':'alt_1','content':'Other',"
                    "'timestamp':1765292100000}],"
                    "'activeAlternativeIndex':1}");

  assert_row (f, "messages", "m1",
              "role,content,toolCallsJson,toolCallId,state,reasoningContent,"
              "sequenceNumber,alternativesJson,activeAlternativeIndex,"
              "timestamp",
              "'assistant'|'Hello ⚠️'|'[{\"id\":\"toolu_01\","
              "\"type\":\"function\","
              "\"function\":{\"name\":\"contentManager_read\","
              "\"arguments\":\"{\\\"path\\\":\\\"Research/plan.md\\\"}\"},"
              "\"name\":\"contentManager_read\","
              "\"parameters\":{\"path\":\"Research/plan.md\"},"
              "\"result\":{\"success\":true},\"success\":true}]'|'toolu_00'|"
              "'streaming'|'Because.'|7|'[{\"id\":\"alt_1\","
              "\"content\":\"Other\",\"timestamp\":1765292100000}]'|1|1000");
}

static void
test_message_tool_calls (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','tool_calls':false,'alternatives':false}");
  assert_column (f, "messages", "m1", "toolCallsJson", NULL);
  assert_column (f, "messages", "m1", "alternativesJson", NULL);

  fixture_apply_ok (f, "message", 1100, C1,
                    "{'id':'m2','tool_calls':[],'alternatives':[]}");
  assert_column (f, "messages", "m2", "toolCallsJson", "[]");
  assert_column (f, "messages", "m2", "alternativesJson", "[]");

  /* Updates alike: an array, or null/false for NULL. */
  fixture_apply_ok (f, "message_updated", 1200, C1 ",'messageId':'m2'",
                    "{'tool_calls':[{'id':'t','extra':{'k':[1,2]}}],"
                    "'alternatives':false}");
  assert_column (f, "messages", "m2", "toolCallsJson",
                 "[{\"id\":\"t\",\"extra\":{\"k\":[1,2]}}]");
  assert_column (f, "messages", "m2", "alternativesJson", NULL);
  fixture_apply_ok (f, "message_updated", 1300, C1 ",'messageId':'m2'",
                    "{'tool_calls':false,'alternatives':[{'id':'a'}]}");
  assert_column (f, "messages", "m2", "toolCallsJson", NULL);
  assert_column (f, "messages", "m2", "alternativesJson", "[{\"id\":\"a\"}]");
  fixture_apply_ok (f, "message_updated", 1400, C1 ",'messageId':'m2'",
                    "{'tool_calls':[],'alternatives':null}");
  assert_column (f, "messages", "m2", "toolCallsJson", "[]");
  assert_column (f, "messages", "m2", "alternativesJson", NULL);
}

/* Today's tool calls carry more keys, and any type: kept as they are. */
static void
test_message_tool_calls_extended (Fixture *f,
                                  G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','role':'assistant','tool_calls':"
                    "[{'id':'call_1','type':'mcp','name':'searchContent',"
                    "'function':{'name':'searchContent',"
                    "'arguments':'{\\'q\\':1}'},"
                    "'parameters':{'query':'roses','limit':5},"
                    "'result':{'hits':[]},'success':true,'error':null,"
                    "'executionTime':42}],"
                    "'alternatives':[{'content':'other','tool_calls':"
                    "[{'id':'call_2','type':'anything','success':false,"
                    "'error':'boom'}]}]}");
  assert_column (f, "messages", "m1", "toolCallsJson",
                 "[{\"id\":\"call_1\",\"type\":\"mcp\","
                 "\"name\":\"searchContent\",\"function\":"
                 "{\"name\":\"searchContent\","
                 "\"arguments\":\"{\\\"q\\\":1}\"},"
                 "\"parameters\":{\"query\":\"roses\",\"limit\":5},"
                 "\"result\":{\"hits\":[]},\"success\":true,"
                 "\"error\":null,\"executionTime\":42}]");
  assert_column (f, "messages", "m1", "alternativesJson",
                 "[{\"content\":\"other\",\"tool_calls\":"
                 "[{\"id\":\"call_2\",\"type\":\"anything\","
                 "\"success\":false,\"error\":\"boom\"}]}]");
  fixture_apply_ok (f, "message_updated", 1100, C1 ",'messageId':'m1'",
                    "{'tool_calls':[{'id':'call_1','type':'mcp',"
                    "'result':'done','success':true}]}");
  assert_column (f, "messages", "m1", "toolCallsJson",
                 "[{\"id\":\"call_1\",\"type\":\"mcp\","
                 "\"result\":\"done\",\"success\":true}]");
}

static void
test_message_content_null (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 1000, C1, "{'id':'m1','content':null}");
  assert_column (f, "messages", "m1", "content", "");

  fixture_apply_ok (f, "message_updated", 1100, C1 ",'messageId':'m1'",
                    "{'content':'streamed text'}");
  assert_column (f, "messages", "m1", "content", "streamed text");
  /* A re-create's null is absent... */
  fixture_apply_ok (f, "message", 1200, C1, "{'id':'m1','content':null}");
  assert_column (f, "messages", "m1", "content", "streamed text");
  /* ...an update's null empties it. */
  fixture_apply_ok (f, "message_updated", 1300, C1 ",'messageId':'m1'",
                    "{'content':null}");
  assert_column (f, "messages", "m1", "content", "");
  harness_assert_fts_ok (f->harness);
}

static void
test_message_recreate (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 500, NULL, "{'id':'c1'}");
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','role':'assistant','content':'Answer',"
                    "'state':'streaming','reasoning':'Why',"
                    "'tool_calls':[{'id':'t'}],'tool_call_id':'x',"
                    "'sequenceNumber':3,'alternatives':[],"
                    "'activeAlternativeIndex':1}");

  fixture_apply_ok (f, "message", 2000, C1,
                    "{'id':'m1','sequenceNumber':4,'role':null,"
                    "'reasoning':null}");
  assert_row (f, "messages", "m1",
              "sequenceNumber,role,content,state,reasoningContent,"
              "toolCallsJson,toolCallId,alternativesJson,"
              "activeAlternativeIndex",
              "4|'assistant'|'Answer'|'streaming'|NULL|'[{\"id\":\"t\"}]'|"
              "'x'|'[]'|1");
  /* The message keeps its creation time; the conversation counts it once
   * and takes the event's time as its updated. */
  assert_integer (f, "messages", "m1", "timestamp", 1000);
  assert_integer (f, "conversations", "c1", "messageCount", 1);
  assert_integer (f, "conversations", "c1", "updated", 2000);
}

static void
test_message_other_conversation (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 500, NULL, "{'id':'c1'}");
  fixture_apply_ok (f, "metadata", 600, NULL, "{'id':'c2'}");
  fixture_apply_ok (f, "message", 1000, C1, "{'id':'m1','content':'mine'}");

  fixture_apply_fails (f, "message", 2000, C2,
                       "{'id':'m1','content':'theirs'}",
                       "message: data.id: message m1 belongs to another "
                       "conversation");
  assert_column (f, "messages", "m1", "conversationId", "c1");
  assert_column (f, "messages", "m1", "content", "mine");
  assert_integer (f, "conversations", "c2", "messageCount", 0);
  assert_integer (f, "conversations", "c2", "updated", 600);
}

/* --- message_updated */

static void
test_message_updated_fields (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','role':'assistant','content':'',"
                    "'state':'streaming','sequenceNumber':1,"
                    "'tool_call_id':'t0'}");

  fixture_apply_ok (f, "message_updated", 2000, C1 ",'messageId':'m1'",
                    "{'content':'Done','state':'complete',"
                    "'reasoning':'Thought','tool_call_id':'t1',"
                    "'activeAlternativeIndex':2,"
                    "'role':'user','sequenceNumber':9,'id':'other'}");
  assert_row (f, "messages", "m1",
              "content,state,reasoningContent,toolCallId,"
              "activeAlternativeIndex",
              "'Done'|'complete'|'Thought'|'t1'|2");
  /* Keys a message_updated does not carry are ignored. */
  assert_row (f, "messages", "m1",
              "role,sequenceNumber,timestamp",
              "'assistant'|1|1000");

  /* Only the keys present; null is absent where a default exists. */
  fixture_apply_ok (f, "message_updated", 3000, C1 ",'messageId':'m1'",
                    "{'state':null,'activeAlternativeIndex':null,"
                    "'reasoning':null,'tool_call_id':null}");
  assert_row (f, "messages", "m1",
              "content,state,activeAlternativeIndex,reasoningContent,"
              "toolCallId",
              "'Done'|'complete'|2|NULL|NULL");

  fixture_apply_ok (f, "message_updated", 3100, C1 ",'messageId':'m1'",
                    NULL);
  assert_column (f, "messages", "m1", "content", "Done");
}

static void
test_message_updated_missing (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(json_object) before = NULL;
  g_autoptr(json_object) after = NULL;

  fixture_apply_ok (f, "message_updated", 1000, C1 ",'messageId':'m1'",
                    "{'content':'early'}");
  g_assert_cmpint (count_rows (f, "messages", "1"), ==, 0);

  fixture_apply_ok (f, "message", 2000, C1, "{'id':'m1','content':'a'}");
  assert_column (f, "messages", "m1", "content", "a");

  /* The same message id in another conversation is another message. */
  before = harness_dump (f->harness);
  fixture_apply_ok (f, "message_updated", 3000, C2 ",'messageId':'m1'",
                    "{'content':'b'}");
  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
}

/* --- message_deleted */

static void
test_message_deleted (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  apply_c1_c2 (f);

  fixture_apply_ok (f, "message_deleted", 2000, C1 ",'messageId':'m1'",
                    NULL);
  g_assert_cmpint (count_rows (f, "messages", "id = 'm1'"), ==, 0);
  g_assert_cmpint (count_rows (f, "messages", "id = 'm2'"), ==, 1);
  assert_integer (f, "conversations", "c1", "messageCount", 1);
  assert_integer (f, "conversations", "c1", "updated", 1100);
  assert_integer (f, "conversations", "c2", "messageCount", 1);

  /* Another conversation's message, or a missing one: nothing. */
  fixture_apply_ok (f, "message_deleted", 2100, C1 ",'messageId':'m3'",
                    NULL);
  fixture_apply_ok (f, "message_deleted", 2200, C1 ",'messageId':'m1'",
                    NULL);
  g_assert_cmpint (count_rows (f, "messages", "id = 'm3'"), ==, 1);
  assert_integer (f, "conversations", "c1", "messageCount", 1);
  assert_integer (f, "conversations", "c2", "messageCount", 1);

  /* A create later in the order is a new message. */
  fixture_apply_ok (f, "message", 3000, C1, "{'id':'m1'}");
  assert_integer (f, "messages", "m1", "timestamp", 3000);
  assert_integer (f, "conversations", "c1", "messageCount", 2);
  harness_assert_fts_ok (f->harness);
}

/* --- Failed events */

static void
test_invalid_types (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  static const struct
  {
    const char *type;
    const char *routing;
    const char *data;
    const char *message;
  } cases[] = {
    { "metadata", NULL, "{'title':'x'}", "metadata: missing data.id" },
    { "metadata", NULL, NULL, "metadata: missing data.id" },
    { "metadata", NULL, "null", "metadata: missing data.id" },
    { "metadata", NULL, "{'id':null}", "metadata: missing data.id" },
    { "metadata", NULL, "'c9'", "metadata: data: expected an object" },
    { "metadata", NULL, "[]", "metadata: data: expected an object" },
    { "metadata", NULL, "{'id':5}", "metadata: data.id: expected a string" },
    { "metadata", NULL, "{'id':'c9','title':7}",
      "metadata: data.title: expected a string" },
    { "metadata", NULL, "{'id':'c9','created':'yesterday'}",
      "metadata: data.created: expected an integer" },
    { "metadata", NULL, "{'id':'c9','created':1.5}",
      "metadata: data.created: expected an integer" },
    { "metadata", NULL, "{'id':'c1','vault':false}",
      "metadata: data.vault: expected a string" },
    { "conversation_updated", NULL, "{'title':'T'}",
      "conversation_updated: missing conversationId" },
    { "conversation_updated", "'conversationId':7", "{'title':'T'}",
      "conversation_updated: conversationId: expected a string" },
    { "conversation_updated", C1, "{'title':'T','updated':'soon'}",
      "conversation_updated: data.updated: expected an integer" },
    { "conversation_updated", C1, "{'title':['T']}",
      "conversation_updated: data.title: expected a string" },
    { "conversation_deleted", NULL, NULL,
      "conversation_deleted: missing conversationId" },
    { "conversation_deleted", "'conversationId':null", NULL,
      "conversation_deleted: missing conversationId" },
    { "message", NULL, "{'id':'m9'}", "message: missing conversationId" },
    { "message", "'conversationId':5", "{'id':'m9'}",
      "message: conversationId: expected a string" },
    { "message", C1, "{}", "message: missing data.id" },
    { "message", C1, "{'id':'m9','sequenceNumber':'3'}",
      "message: data.sequenceNumber: expected an integer" },
    { "message", C1, "{'id':'m9','sequenceNumber':1e30}",
      "message: data.sequenceNumber: expected an integer" },
    { "message", C1, "{'id':'m9','sequenceNumber':99999999999999999999}",
      "message: data.sequenceNumber: expected an integer" },
    { "message", C1, "{'id':'m9','content':5}",
      "message: data.content: expected a string" },
    { "message", C1, "{'id':'m9','role':{}}",
      "message: data.role: expected a string" },
    { "message", C1, "{'id':'m9','tool_calls':{'id':'t'}}",
      "message: data.tool_calls: expected an array" },
    { "message", C1, "{'id':'m9','tool_calls':true}",
      "message: data.tool_calls: expected an array" },
    { "message", C1, "{'id':'m9','alternatives':'none'}",
      "message: data.alternatives: expected an array" },
    { "message", C1, "{'id':'m9','tool_call_id':1}",
      "message: data.tool_call_id: expected a string" },
    { "message", C1, "{'id':'m9','reasoning':true}",
      "message: data.reasoning: expected a string" },
    { "message", C1, "{'id':'m9','activeAlternativeIndex':true}",
      "message: data.activeAlternativeIndex: expected an integer" },
    { "message", C1, "{'id':'m1','content':'new','state':0}",
      "message: data.state: expected a string" },
    { "message_updated", C1, "{'content':'x'}",
      "message_updated: missing messageId" },
    { "message_updated", "'messageId':'m1'", "{'content':'x'}",
      "message_updated: missing conversationId" },
    { "message_updated", C1 ",'messageId':'m1'", "{'content':['x']}",
      "message_updated: data.content: expected a string" },
    { "message_updated", C1 ",'messageId':'m1'",
      "{'content':'x','reasoning':1}",
      "message_updated: data.reasoning: expected a string" },
    { "message_updated", C1 ",'messageId':'m1'",
      "{'content':'x','tool_calls':0}",
      "message_updated: data.tool_calls: expected an array" },
    { "message_updated", C1 ",'messageId':'m1'",
      "{'content':'x','activeAlternativeIndex':'1'}",
      "message_updated: data.activeAlternativeIndex: expected an integer" },
    { "message_updated", C1 ",'messageId':'m1'", "'x'",
      "message_updated: data: expected an object" },
    { "message_updated", C1 ",'messageId':'m1'", "{'content':'a\\u0000b'}",
      "message_updated: data.content: contains a NUL character" },
    { "message_deleted", C1, NULL, "message_deleted: missing messageId" },
    { "message_deleted", C1 ",'messageId':3", NULL,
      "message_deleted: messageId: expected a string" },
  };

  fixture_apply_ok (f, "metadata", 500, NULL, "{'id':'c1','title':'T'}");
  fixture_apply_ok (f, "message", 1000, C1, "{'id':'m1','content':'old'}");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u: %s %s", i, cases[i].type,
                      cases[i].data ? cases[i].data : "(no data)");
      fixture_apply_fails (f, cases[i].type, 5000, cases[i].routing,
                           cases[i].data, cases[i].message);
    }
  assert_integer (f, "conversations", "c1", "updated", 1000);
  assert_integer (f, "conversations", "c1", "messageCount", 1);
  g_assert_cmpint (count_rows (f, "conversations", "1"), ==, 1);
  g_assert_cmpint (count_rows (f, "messages", "1"), ==, 1);
}

static void
test_invalid_unknown_type (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  const char *const types[] = { "conversation_archived", "messages_x",
                                "metadata_v2", "message_reaction",
                                "conversation_", "messageupdated" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *message = g_strdup_printf ("%s: unknown event type",
                                                  types[i]);

      fixture_apply_fails (f, types[i], 1000, C1, "{'id':'x'}", message);
    }
}

/* --- The columns derived from the settings */

static void
test_settings_metadata (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  /* The settings of conversation c<i + 1>, and its six columns. */
  static const char *const cases[][2] = {
    /* All six, and chatSettings, which the top-level keys win over. */
    { "{'workspaceId':'w1','sessionId':'s1','workflowId':'wf1',"
      "'runTrigger':'scheduled','scheduledFor':1760000000000,"
      "'runKey':'wf1:1760000000000',"
      "'chatSettings':{'workspaceId':'w9','sessionId':'s9'}}",
      "'w1'|'s1'|'wf1'|'scheduled'|1760000000000|'wf1:1760000000000'" },
    /* chatSettings when the top-level key is missing or null; '' is a
     * value and does not fall through. */
    { "{'workspaceId':null,"
      "'chatSettings':{'workspaceId':'w2','sessionId':'s2'}}",
      "'w2'|'s2'|NULL|NULL|NULL|NULL" },
    { "{'workspaceId':'','chatSettings':{'workspaceId':'w3'}}",
      "''|NULL|NULL|NULL|NULL|NULL" },
    /* Another type than the column's: NULL, not a failure. */
    { "{'workspaceId':5,'sessionId':{'id':'s'},'workflowId':true,"
      "'runTrigger':['manual'],'scheduledFor':1.5,'runKey':null,"
      "'chatSettings':{'workspaceId':'w4'}}",
      "NULL|NULL|NULL|NULL|NULL|NULL" },
    { "{'scheduledFor':'1760000000000','chatSettings':'w5'}",
      "NULL|NULL|NULL|NULL|NULL|NULL" },
    /* No settings, null settings, settings that are no object. */
    { NULL, "NULL|NULL|NULL|NULL|NULL|NULL" },
    { "null", "NULL|NULL|NULL|NULL|NULL|NULL" },
    { "['workspaceId']", "NULL|NULL|NULL|NULL|NULL|NULL" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *id = g_strdup_printf ("c%u", i + 1);
      g_autofree char *metadata = g_strdup_printf (
          "{'id':'%s'%s%s}", id, cases[i][0] != NULL ? ",'settings':" : "",
          cases[i][0] != NULL ? cases[i][0] : "");

      g_test_message ("%s", metadata);
      fixture_apply_ok (f, "metadata", 1000, NULL, metadata);
      assert_settings (f, id, cases[i][1]);
    }
  assert_column (f, "conversations", "c8", "metadataJson", "[\"workspaceId\"]");
}

static void
test_settings_updated (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  const char *settings = "{'workspaceId':'w1','sessionId':'s1',"
                         "'workflowId':'wf1','runTrigger':'manual',"
                         "'scheduledFor':5,'runKey':'k'}";
  g_autofree char *metadata = g_strdup_printf ("{'id':'c1','settings':%s}",
                                               settings);

  fixture_apply_ok (f, "metadata", 1000, NULL, metadata);
  /* Without settings: the six stay, whatever else changes. */
  fixture_apply_ok (f, "conversation_updated", 1100, C1,
                    "{'title':'Renamed','updated':1100}");
  fixture_apply_ok (f, "metadata", 1200, NULL,
                    "{'id':'c1','title':'Again'}");
  assert_settings (f, "c1", "'w1'|'s1'|'wf1'|'manual'|5|'k'");

  /* With settings: all six recomputed, a missing key is NULL. */
  fixture_apply_ok (f, "conversation_updated", 1300, C1,
                    "{'settings':{'chatSettings':{'sessionId':'s2'},"
                    "'runTrigger':'catch_up'}}");
  assert_settings (f, "c1", "NULL|'s2'|NULL|'catch_up'|NULL|NULL");
  assert_column (f, "conversations", "c1", "metadataJson",
                 "{\"chatSettings\":{\"sessionId\":\"s2\"},"
                 "\"runTrigger\":\"catch_up\"}");

  /* settings: null clears them all, and metadataJson. */
  fixture_apply_ok (f, "conversation_updated", 1400, C1, "{'settings':null}");
  assert_settings (f, "c1", "NULL|NULL|NULL|NULL|NULL|NULL");
  assert_column (f, "conversations", "c1", "metadataJson", NULL);

  /* A re-create with settings recomputes them too. */
  fixture_apply_ok (f, "metadata", 1500, NULL,
                    "{'id':'c1','settings':{'workspaceId':'w5'}}");
  assert_settings (f, "c1", "'w5'|NULL|NULL|NULL|NULL|NULL");
  assert_column (f, "conversations", "c1", "title", "Again");
}

/* --- branch_* (legacy) */

static void
test_branch_events (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(json_object) before = NULL;
  g_autoptr(json_object) after = NULL;

  fixture_apply_ok (f, "metadata", 1000, NULL, "{'id':'c1','title':'T'}");
  fixture_apply_ok (f, "message", 1100, C1, "{'id':'m1','content':'hi'}");
  before = harness_dump (f->harness);
  fixture_apply_ok (f, "branch_created", 1200,
                    C1 ",'parentMessageId':'m1'",
                    "{'id':'b1','type':'alternative','inheritContext':true,"
                    "'metadataJson':'{}'}");
  fixture_apply_ok (f, "branch_message", 1300, C1 ",'branchId':'b1'",
                    "{'id':'m2','role':'user','content':'branch text'}");
  fixture_apply_ok (f, "branch_message_updated", 1400,
                    C1 ",'branchId':'b1','messageId':'m2'",
                    "{'content':'changed'}");
  fixture_apply_ok (f, "branch_updated", 1500, C1 ",'branchId':'b1'",
                    "{'metadataJson':null,'updated':1500}");
  /* Even without what they should carry: nothing is read. */
  fixture_apply_ok (f, "branch_message", 1600, NULL, "'junk'");
  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
  fixture_apply_fails (f, "branch_deleted", 1700, C1, NULL,
                       "branch_deleted: unknown event type");
}

/* --- Streams */

static void
assert_stream (Fixture *f, const char *type, const char *routing,
               const char *data, const char *expected)
{
  g_autofree char *line = fixture_line (f, type, 1000, routing, data);
  g_autoptr(json_object) json = json_tokener_parse (line);
  JsyncEvent event;

  event_init (&event, json);
  g_assert_cmpstr (f->desc->stream (f->state, &event), ==, expected);
}

static void
test_stream (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  assert_stream (f, "metadata", NULL, "{'id':'c1','title':'T'}", "c1");
  assert_stream (f, "metadata", "'conversationId':'c2'", "{'id':'c1'}",
                 "c1");
  assert_stream (f, "metadata", NULL, NULL, NULL);
  assert_stream (f, "metadata", NULL, "{'id':5}", NULL);
  assert_stream (f, "metadata", NULL, "'c1'", NULL);
  assert_stream (f, "conversation_updated", C1, "{'title':'T'}", "c1");
  assert_stream (f, "conversation_deleted", C1, NULL, "c1");
  assert_stream (f, "message", C1, "{'id':'c2'}", "c1");
  assert_stream (f, "message_updated", C1 ",'messageId':'m1'", "{}", "c1");
  assert_stream (f, "message_deleted", C1 ",'messageId':'m1'", NULL, "c1");
  assert_stream (f, "conversation_archived", C1, NULL, "c1");
  assert_stream (f, "branch_message", C1 ",'branchId':'b1'", "{'id':'m1'}",
                 "c1");
  assert_stream (f, "message", NULL, "{'id':'m1'}", NULL);
  assert_stream (f, "message", "'conversationId':7", "{'id':'m1'}", NULL);
}

/* The events of two conversations; only c2's when `c1` is FALSE. */
static void
apply_two_conversations (Fixture *f, gboolean c1)
{
  if (c1)
    {
      fixture_apply_ok (f, "message", 900, C1, "{'id':'m0','content':'a'}");
      fixture_apply_ok (f, "metadata", 1000, NULL,
                        "{'id':'c1','title':'Alpha'}");
      fixture_apply_ok (f, "message", 1100, C1,
                        "{'id':'m1','content':'alpha text'}");
    }
  fixture_apply_ok (f, "metadata", 1200, NULL, "{'id':'c2','title':'Beta'}");
  fixture_apply_ok (f, "message", 1300, C2,
                    "{'id':'m2','content':'beta text'}");
  fixture_apply_ok (f, "message_updated", 1400, C2 ",'messageId':'m2'",
                    "{'content':'beta final','reasoning':'r'}");
  if (c1)
    fixture_apply_ok (f, "conversation_updated", 1500, C1,
                      "{'updated':1600}");
}

static void
test_clear_stream (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(Harness) reference = harness_new ((const char *[]) {
                                                "conversation", NULL });
  Harness *own = f->harness;
  g_autoptr(json_object) full = NULL;
  g_autoptr(json_object) expected = NULL;
  g_autoptr(json_object) actual = NULL;
  g_autoptr(json_object) replayed = NULL;
  g_autoptr(GError) error = NULL;

  /* What the cache holds with c2's events alone. */
  f->harness = reference;
  apply_two_conversations (f, FALSE);
  expected = harness_dump (reference);
  f->harness = own;

  apply_two_conversations (f, TRUE);
  full = harness_dump (f->harness);
  g_assert_true (f->desc->clear_stream (f->state, "c1", &error));
  g_assert_no_error (error);
  harness_end_batch (f->harness);
  actual = harness_dump (f->harness);
  harness_assert_dump_equal (actual, expected);
  harness_assert_fts_ok (f->harness);
  assert_search (search_messages (f, "alpha"), "");
  assert_search (search_conversations (f, "alpha"), "");

  /* A stream with no rows, and the empty stream. */
  g_assert_true (f->desc->clear_stream (f->state, "c9", &error));
  g_assert_no_error (error);
  g_assert_true (f->desc->clear_stream (f->state, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&actual, json_object_put);
  actual = harness_dump (f->harness);
  harness_assert_dump_equal (actual, expected);

  /* Re-applying the stream's events, as the core does, restores it. */
  fixture_apply_ok (f, "message", 900, C1, "{'id':'m0','content':'a'}");
  fixture_apply_ok (f, "metadata", 1000, NULL, "{'id':'c1','title':'Alpha'}");
  fixture_apply_ok (f, "message", 1100, C1,
                    "{'id':'m1','content':'alpha text'}");
  fixture_apply_ok (f, "conversation_updated", 1500, C1, "{'updated':1600}");
  replayed = harness_dump (f->harness);
  harness_assert_dump_equal (replayed, full);
  harness_assert_fts_ok (f->harness);
}

static void
test_clear (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  apply_two_conversations (f, TRUE);
  g_assert_true (f->desc->clear (f->state, &error));
  g_assert_no_error (error);
  harness_end_batch (f->harness);
  g_assert_cmpint (count_rows (f, "conversations", "1"), ==, 0);
  g_assert_cmpint (count_rows (f, "messages", "1"), ==, 0);
  harness_assert_fts_ok (f->harness);
  assert_search (search_messages (f, "text"), "");
  assert_search (search_conversations (f, "beta"), "");

  apply_two_conversations (f, TRUE);
  g_assert_cmpint (count_rows (f, "messages", "1"), ==, 3);
  harness_assert_fts_ok (f->harness);
}

/* --- Full-text search */

static void
test_fts_messages (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 500, NULL, "{'id':'c1'}");
  fixture_apply_ok (f, "message", 1000, C1,
                    "{'id':'m1','content':'alpha garden'}");
  fixture_apply_ok (f, "message", 2000, C1,
                    "{'id':'m2','content':'garden bravo'}");
  assert_search (search_messages (f, "garden"), "m2,m1");
  assert_search (search_messages (f, "alpha"), "m1");

  /* Update: the new text is found, the old is not. */
  fixture_apply_fts (f, "message_updated", 3000, C1 ",'messageId':'m1'",
                     "{'content':'charlie','reasoning':'delta thinking'}");
  assert_search (search_messages (f, "alpha"), "");
  assert_search (search_messages (f, "charlie"), "m1");
  assert_search (search_messages (f, "delta"), "m1");
  assert_search (search_messages (f, "garden"), "m2");

  /* Updating other columns keeps the index exact. */
  fixture_apply_fts (f, "message_updated", 3100, C1 ",'messageId':'m1'",
                     "{'state':'complete','activeAlternativeIndex':1}");
  assert_search (search_messages (f, "charlie"), "m1");

  /* A re-create that changes the text. */
  fixture_apply_fts (f, "message", 3500, C1,
                     "{'id':'m2','content':'echo','reasoning':'foxtrot'}");
  assert_search (search_messages (f, "garden"), "");
  assert_search (search_messages (f, "echo"), "m2");
  assert_search (search_messages (f, "foxtrot"), "m2");

  fixture_apply_fts (f, "message_updated", 3600, C1 ",'messageId':'m2'",
                     "{'reasoning':null,'content':null}");
  assert_search (search_messages (f, "echo OR foxtrot"), "");

  /* Delete. */
  fixture_apply_fts (f, "message_deleted", 4000, C1 ",'messageId':'m1'",
                     NULL);
  assert_search (search_messages (f, "charlie OR delta"), "");

  fixture_apply_ok (f, "message", 4100, C1, "{'id':'m3','content':'golf'}");
  fixture_apply_fts (f, "conversation_deleted", 5000, C1, NULL);
  assert_search (search_messages (f, "golf"), "");
}

static void
test_fts_conversations (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  fixture_apply_ok (f, "metadata", 1000, NULL,
                    "{'id':'c1','title':'Garden planning'}");
  fixture_apply_ok (f, "metadata", 1100, NULL,
                    "{'id':'c2','title':'Garden tools'}");
  assert_search (search_conversations (f, "garden"), "c1,c2");

  fixture_apply_fts (f, "conversation_updated", 2000, C1,
                     "{'title':'Budget review','updated':2000}");
  assert_search (search_conversations (f, "planning"), "");
  assert_search (search_conversations (f, "budget"), "c1");

  /* messageCount and updated change without touching the title. */
  fixture_apply_fts (f, "message", 2100, C1, "{'id':'m1'}");

  fixture_apply_fts (f, "metadata", 3000, NULL,
                     "{'id':'c2','title':'Recipe ideas'}");
  assert_search (search_conversations (f, "garden"), "");
  assert_search (search_conversations (f, "recipe"), "c2");

  fixture_apply_fts (f, "conversation_deleted", 4000, C1, NULL);
  assert_search (search_conversations (f, "budget"), "");
}

static void
test_fts_rebuild (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  apply_two_conversations (f, TRUE);
  /* Lose both indexes, as a bulk load without triggers would. */
  g_assert_true (jsync_sql_exec (harness_get_db (f->harness),
                                 "INSERT INTO message_fts (message_fts)"
                                 " VALUES ('delete-all');"
                                 "INSERT INTO conversation_fts"
                                 " (conversation_fts) VALUES ('delete-all');",
                                 &error));
  g_assert_no_error (error);
  assert_search (search_messages (f, "text"), "");

  g_assert_true (f->desc->finish_rebuild (f->state, &error));
  g_assert_no_error (error);
  harness_assert_fts_ok (f->harness);
  assert_search (search_messages (f, "text"), "m1");
  assert_search (search_messages (f, "final"), "m2");
  assert_search (search_conversations (f, "alpha OR beta"), "c1,c2");
}

/* --- Late events in place (ABI 1.2) */

/* The cases of harness_add_late_cases().  Device d1 wrote the history,
 * d2 the late event (at 300 in most cases); the event id is its
 * timestamp. */
#define LATE(type, routing, data, device, ts)                               \
  "{'type':'" type "'," routing "'data':" data ",'id':'e" ts "',"         \
  "'deviceId':'" device "','timestamp':" ts "}"
#define IN_C1 "'conversationId':'c1',"
#define OF_C1(m) IN_C1 "'messageId':'" m "',"
#define LATE_C1 LATE ("metadata", "", "{'id':'c1','title':'T'}", "d1", "100")
#define LATE_M1                                                             \
  LATE ("message", IN_C1, "{'id':'m1','content':'first'}", "d1", "200")
#define LATE_BY_D2(type, routing, data) LATE (type, routing, data, "d2", "300")
#define LATE_AT(type, routing, data, ts) LATE (type, routing, data, "d1", ts)
/* A message after the late event, and the late delete of m1. */
#define LATE_M2 LATE_AT ("message", IN_C1, "{'id':'m2'}", "400")
#define LATE_M1_DELETED LATE_BY_D2 ("message_deleted", OF_C1 ("m1"), "{}")

/* The applier's own record (conversation_changes) as text. */
#define LATE_RECORDS                                                        \
  "SELECT coalesce (group_concat (kind || ':' || id || '@' || ts, ' '),"   \
  " '') FROM (SELECT * FROM conversation_changes ORDER BY kind, id)"

static const HarnessLateCase late_cases[] = {
  /* A late message (the late corpus's): later events on other messages
   * and the conversation's columns; messageCount and updated come out as
   * in key order. */
  { "in-place/message", 2, TRUE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("message", IN_C1,
                  "{'id':'m9','role':'assistant','content':'late',"
                  "'sequenceNumber':5,'alternatives':['a'],"
                  "'activeAlternativeIndex':1}"),
      LATE_AT ("message", IN_C1, "{'id':'m2','sequenceNumber':2}", "400"),
      LATE_AT ("message_updated", OF_C1 ("m1"), "{'content':'edited'}",
               "500"),
      LATE_AT ("conversation_updated", IN_C1,
               "{'title':'Renamed','updated':250}", "600"),
      NULL } },
  /* Its update, and the message it follows (from the same device). */
  { "in-place/message-updated", 3, TRUE,
    { LATE_C1, LATE_M1,
      LATE ("message", IN_C1, "{'id':'m9','state':'streaming'}", "d2",
            "250"),
      LATE_BY_D2 ("message_updated", OF_C1 ("m9"),
                  "{'content':'done','state':'complete'}"),
      LATE_M2,
      NULL } },
  { "in-place/message-deleted", 2, TRUE,
    { LATE_C1, LATE_M1, LATE_M1_DELETED,
      LATE_M2,
      NULL } },
  /* A message deleted before the late create of its id. */
  { "in-place/message-after-delete", 3, TRUE,
    { LATE_C1, LATE_M1,
      LATE_AT ("message_deleted", OF_C1 ("m1"), "{}", "250"),
      LATE_BY_D2 ("message", IN_C1, "{'id':'m1','content':'back'}"),
      LATE_M2,
      NULL } },
  /* A message of a conversation that has no metadata (yet or ever). */
  { "in-place/no-conversation", 0, TRUE,
    { LATE_BY_D2 ("message", "'conversationId':'c2',", "{'id':'m9'}"),
      LATE_AT ("message", "'conversationId':'c2',", "{'id':'m8'}", "400"),
      NULL } },
  /* A late conversation_updated: later messages raise updated past it. */
  { "in-place/conversation-updated", 2, TRUE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("conversation_updated", IN_C1,
                  "{'title':'Late','updated':300,'settings':"
                  "{'workspaceId':'w1'}}"),
      LATE_M2,
      LATE_AT ("message_updated", OF_C1 ("m2"), "{'content':'x'}", "500"),
      NULL } },
  /* Late and later conversation_updated: only one of them sets a column
   * other than updated. */
  { "in-place/conversation-updated-time", 2, TRUE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("conversation_updated", IN_C1, "{'updated':300}"),
      LATE_AT ("conversation_updated", IN_C1,
               "{'title':'Later','updated':350}", "400"),
      NULL } },
  { "in-place/conversation-updated-title", 2, TRUE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("conversation_updated", IN_C1,
                  "{'title':'Late','updated':900}"),
      LATE_AT ("conversation_updated", IN_C1, "{'updated':350}", "400"),
      NULL } },
  { "in-place/branch", 2, TRUE,
    { LATE_C1, LATE_M1, LATE_BY_D2 ("branch_message", IN_C1, "{'id':'b'}"),
      LATE_M2,
      NULL } },
  /* Refused: a later update of the message. */
  { "refused/message-updated-later", 2, FALSE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("message_updated", OF_C1 ("m1"), "{'content':'early'}"),
      LATE_AT ("message_updated", OF_C1 ("m1"), "{'content':'later'}", "400"),
      NULL } },
  /* Refused: a later key at the same time (another device's). */
  { "refused/same-time", 2, FALSE,
    { LATE_C1, LATE_M1,
      LATE_BY_D2 ("message_updated", OF_C1 ("m1"), "{'content':'early'}"),
      LATE ("message_updated", OF_C1 ("m1"), "{'content':'later'}", "d3",
            "300"),
      NULL } },
  /* Refused: the message was created later (the update missed it). */
  { "refused/message-created-later", 1, FALSE,
    { LATE_C1,
      LATE_BY_D2 ("message_updated", OF_C1 ("m9"), "{'content':'early'}"),
      LATE_AT ("message", IN_C1, "{'id':'m9','content':'later'}", "400"),
      NULL } },
  /* Refused: the late create's message deleted later... */
  { "refused/message-deleted-later", 1, FALSE,
    { LATE_C1, LATE_BY_D2 ("message", IN_C1, "{'id':'m9'}"),
      LATE_AT ("message_deleted", OF_C1 ("m9"), "{}", "400"),
      NULL } },
  /* ...or created again later, with fewer columns. */
  { "refused/message-re-created", 1, FALSE,
    { LATE_C1,
      LATE_BY_D2 ("message", IN_C1, "{'id':'m9','role':'assistant',"
                  "'content':'early'}"),
      LATE_AT ("message", IN_C1, "{'id':'m9','content':'again'}", "400"),
      NULL } },
  /* Refused: a late delete of a message created again later. */
  { "refused/message-deleted-re-created", 2, FALSE,
    { LATE_C1, LATE_M1, LATE_M1_DELETED,
      LATE_AT ("message", IN_C1, "{'id':'m1','content':'again'}", "400"),
      NULL } },
  /* Refused: a later conversation_deleted would take the late message. */
  { "refused/conversation-deleted-later", 1, FALSE,
    { LATE_C1, LATE_BY_D2 ("message", IN_C1, "{'id':'m9'}"),
      LATE_AT ("conversation_deleted", IN_C1, "{}", "400"),
      NULL } },
  /* Refused: the conversation was created after the late message (whose
   * time then moved nothing). */
  { "refused/conversation-created-later", 0, FALSE,
    { LATE_BY_D2 ("message", IN_C1, "{'id':'m9'}"),
      LATE_AT ("metadata", "", "{'id':'c1','created':50}", "400"),
      NULL } },
  /* Refused: the late create's id was a message of another conversation
   * (in key order the create fails), deleted later with it. */
  { "refused/deleted-elsewhere", 1, FALSE,
    { LATE ("message", "'conversationId':'c2',", "{'id':'m9'}", "d1", "100"),
      LATE_BY_D2 ("message", IN_C1, "{'id':'m9'}"),
      LATE_AT ("conversation_deleted", "'conversationId':'c2',", "{}", "400"),
      NULL } },
  /* Refused: a later update or re-create sets the title again. */
  { "refused/conversation-updated-later", 1, FALSE,
    { LATE_C1,
      LATE_BY_D2 ("conversation_updated", IN_C1, "{'title':'early'}"),
      LATE_AT ("conversation_updated", IN_C1, "{'title':'later'}", "400"),
      NULL } },
  { "refused/conversation-settings-later", 1, FALSE,
    { LATE_C1,
      LATE_BY_D2 ("conversation_updated", IN_C1,
                  "{'settings':{'workspaceId':'w1'}}"),
      LATE_AT ("conversation_updated", IN_C1,
               "{'settings':{'workspaceId':'w2'}}", "400"),
      NULL } },
  { "refused/conversation-re-created", 1, FALSE,
    { LATE_C1,
      LATE_BY_D2 ("conversation_updated", IN_C1, "{'title':'early'}"),
      LATE_AT ("metadata", "", "{'id':'c1','title':'again'}", "400"),
      NULL } },
  /* Refused: a late metadata (later messages raised updated past its
   * created) and a late conversation_deleted (a later message stays). */
  { "refused/metadata", 0, FALSE,
    { LATE_BY_D2 ("metadata", "", "{'id':'c1','created':50}"),
      LATE_M2,
      NULL } },
  { "refused/conversation-deleted", 1, FALSE,
    { LATE_C1, LATE_BY_D2 ("conversation_deleted", IN_C1, "{}"),
      LATE_M2,
      NULL } },
};

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add ("/conversation/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
  ADD ("descriptor", test_descriptor);
  ADD ("schema/idempotent", test_schema_idempotent);
  ADD ("schema/indexes", test_schema_indexes);
  ADD ("metadata/defaults", test_metadata_defaults);
  ADD ("metadata/fields", test_metadata_fields);
  ADD ("metadata/recreate", test_metadata_recreate);
  ADD ("metadata/messages-first", test_metadata_messages_first);
  ADD ("conversation-updated/rises", test_conversation_updated_rises);
  ADD ("conversation-updated/fields", test_conversation_updated_fields);
  ADD ("conversation-updated/missing", test_conversation_updated_missing);
  ADD ("conversation-deleted/cascade", test_conversation_deleted);
  ADD ("message/defaults", test_message_defaults);
  ADD ("message/fields", test_message_fields);
  ADD ("message/tool-calls", test_message_tool_calls);
  ADD ("message/content-null", test_message_content_null);
  ADD ("message/recreate", test_message_recreate);
  ADD ("message/other-conversation", test_message_other_conversation);
  ADD ("message-updated/fields", test_message_updated_fields);
  ADD ("message-updated/missing", test_message_updated_missing);
  ADD ("message-deleted/one", test_message_deleted);
  ADD ("invalid/types", test_invalid_types);
  ADD ("invalid/unknown-type", test_invalid_unknown_type);
  ADD ("message/tool-calls-extended", test_message_tool_calls_extended);
  ADD ("settings/metadata", test_settings_metadata);
  ADD ("settings/updated", test_settings_updated);
  ADD ("branch/no-op", test_branch_events);
  ADD ("stream/values", test_stream);
  ADD ("stream/clear", test_clear_stream);
  ADD ("clear", test_clear);
  ADD ("fts/messages", test_fts_messages);
  ADD ("fts/conversations", test_fts_conversations);
  ADD ("fts/rebuild", test_fts_rebuild);
#undef ADD
  harness_add_late_cases ("/conversation/late/", "conversation",
                          LATE_RECORDS, late_cases,
                          G_N_ELEMENTS (late_cases));

  return g_test_run ();
}
