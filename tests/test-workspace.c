/* test-workspace.c: the bundled `workspace` applier, driven directly.
 *
 * Event lines are written inline with single quotes for readability; they
 * become JSON by turning every ' into " (so a quote inside a JSON string is
 * written \\').  Rows are compared whole, table by table, as `jsync dump`
 * gives them.
 */
#include <locale.h>

#include "applier-harness.h"

typedef struct
{
  Harness *harness;                 /* owned */
  const JsyncApplierDesc *desc;     /* borrowed from the harness */
  gpointer state;                   /* borrowed from the harness: for the
                                     * callbacks the harness does not call */
} Fixture;

static char *
test_json (const char *line)
{
  char *json = g_strdup (line);

  g_strdelimit (json, "'", '"');
  return json;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->harness = harness_new ((const char *[]) { "workspace", NULL });
  f->desc = harness_get_desc (f->harness, "workspace");
  f->state = harness_get_state (f->harness, "workspace");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  harness_free (f->harness);
}

/* Apply one event through the harness (in a savepoint, as the core does). */
static void
apply_ok (Fixture *f, const char *line)
{
  g_autofree char *json = test_json (line);

  harness_apply_ok (f->harness, json);
}

/* Parse a line into an event that borrows from the returned JSON. */
static json_object *
test_event_parse (const char *line, JsyncEvent *event)
{
  g_autofree char *text = test_json (line);
  json_object *json = json_tokener_parse (text);
  json_object *value = NULL;

  g_assert_nonnull (json);
  *event = (JsyncEvent) { .struct_size = sizeof (JsyncEvent), .json = json };
  g_assert_true (json_object_object_get_ex (json, "type", &value));
  event->type = json_object_get_string (value);
  g_assert_true (json_object_object_get_ex (json, "id", &value));
  event->id = json_object_get_string (value);
  g_assert_true (json_object_object_get_ex (json, "deviceId", &value));
  event->device_id = json_object_get_string (value);
  g_assert_true (json_object_object_get_ex (json, "timestamp", &value));
  event->timestamp = json_object_get_int64 (value);
  event->file = "test.jsonl";
  event->line = 1;
  return json;
}

/* Apply an event the applier must reject, with no savepoint around it, and
 * check that it wrote nothing. */
static void
apply_invalid (Fixture *f, const char *line, const char *message)
{
  g_autoptr(GError) error = NULL;
  json_object *before = harness_dump (f->harness);
  json_object *after;
  JsyncEvent event;
  json_object *json = test_event_parse (line, &event);

  g_test_message ("%s", line);
  g_assert_false (f->desc->apply (f->state, &event, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
  json_object_put (json);

  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
  json_object_put (after);
  json_object_put (before);
}

/* Assert the rows of one table, given in canonical (dump) order. */
static void
assert_table (Fixture *f, const char *table, const char *rows)
{
  g_autofree char *text = test_json (rows);
  json_object *dump = harness_dump (f->harness);
  json_object *actual = json_object_new_object ();
  json_object *expected = json_object_new_object ();
  json_object *value = NULL;

  g_assert_true (json_object_object_get_ex (dump, table, &value));
  json_object_object_add (actual, table, json_object_get (value));
  value = json_tokener_parse (text);
  g_assert_nonnull (value);
  json_object_object_add (expected, table, value);
  harness_assert_dump_equal (actual, expected);
  json_object_put (expected);
  json_object_put (actual);
  json_object_put (dump);
}

#define assert_int(f, sql, expected) \
  g_assert_cmpint (harness_query_int ((f)->harness, (sql)), ==, (expected))

#define assert_text(f, sql, expected)                               \
  G_STMT_START                                                      \
  {                                                                 \
    g_autofree char *text_ = harness_query_text ((f)->harness, (sql)); \
    g_assert_cmpstr (text_, ==, (expected));                        \
  }                                                                 \
  G_STMT_END

static gint64
count_rows (Fixture *f)
{
  return harness_query_int (f->harness,
                            "SELECT (SELECT count(*) FROM workspaces)"
                            " + (SELECT count(*) FROM sessions)"
                            " + (SELECT count(*) FROM states)"
                            " + (SELECT count(*) FROM memory_traces)");
}

/* One workspace with a session, a state and a trace, all named after it. */
static void
apply_workspace_tree (Fixture *f, const char *ws, gint64 ts)
{
  g_autofree char *created = g_strdup_printf (
      "{'type':'workspace_created','data':{'id':'%s','name':'Tree %s',"
      "'description':'about %s','created':%" G_GINT64_FORMAT "},"
      "'id':'%s-e1','deviceId':'d1','timestamp':%" G_GINT64_FORMAT "}",
      ws, ws, ws, ts, ws, ts);
  g_autofree char *session = g_strdup_printf (
      "{'type':'session_created','workspaceId':'%s','data':{'id':'%s-s',"
      "'name':'Session'},'id':'%s-e2','deviceId':'d1','timestamp':%"
      G_GINT64_FORMAT "}", ws, ws, ws, ts + 1);
  g_autofree char *state = g_strdup_printf (
      "{'type':'state_saved','workspaceId':'%s','sessionId':'%s-s',"
      "'data':{'id':'%s-st','name':'State','tags':['x']},'id':'%s-e3',"
      "'deviceId':'d1','timestamp':%" G_GINT64_FORMAT "}",
      ws, ws, ws, ws, ts + 2);
  g_autofree char *trace = g_strdup_printf (
      "{'type':'trace_added','workspaceId':'%s','sessionId':'%s-s',"
      "'data':{'id':'%s-t','content':'did things','traceType':'search'},"
      "'id':'%s-e4','deviceId':'d1','timestamp':%" G_GINT64_FORMAT "}",
      ws, ws, ws, ws, ts + 3);

  apply_ok (f, created);
  apply_ok (f, session);
  apply_ok (f, state);
  apply_ok (f, trace);
}

/* The rows of the four tables for one workspace id. */
static gint64
count_workspace_rows (Fixture *f, const char *ws)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT (SELECT count(*) FROM workspaces WHERE id = '%s')"
      " + (SELECT count(*) FROM sessions WHERE workspaceId = '%s')"
      " + (SELECT count(*) FROM states WHERE workspaceId = '%s')"
      " + (SELECT count(*) FROM memory_traces WHERE workspaceId = '%s')",
      ws, ws, ws, ws);

  return harness_query_int (f->harness, sql);
}

/* --- The descriptor and the schema */

static void
test_descriptor (Fixture *f, gconstpointer data)
{
  const JsyncApplierDesc *desc = f->desc;
  const char *const prefixes[] = {
    "workspace_", "session_", "state_", "trace_", NULL,
  };
  const char *const tables[] = {
    "workspaces", "sessions", "states", "memory_traces", NULL,
  };

  g_assert_cmpint (desc->abi_major, ==, JSYNC_ABI_MAJOR);
  g_assert_cmpint (desc->abi_minor, ==, JSYNC_ABI_MINOR);
  g_assert_cmpint (desc->struct_size, ==, sizeof (JsyncApplierDesc));
  g_assert_cmpstr (desc->name, ==, "workspace");
  g_assert_nonnull (desc->version);
  g_assert_nonnull (desc->description);
  g_assert_true (g_strv_equal ((const char *const *) desc->prefixes,
                               prefixes));
  g_assert_true (g_strv_equal ((const char *const *) desc->tables, tables));
  g_assert_cmpint (desc->schema_version, ==, 6);
  g_assert_nonnull (desc->schema_sql);
  g_assert_nonnull (desc->search);
  g_assert_cmpstr (desc->search[0].fts, ==, "workspace_fts");
  g_assert_cmpstr (desc->search[0].table, ==, "workspaces");
  g_assert_cmpstr (desc->search[0].columns, ==, "name,description");
  g_assert_null (desc->search[1].fts);
  g_assert_nonnull (desc->init);
  g_assert_nonnull (desc->apply);
  /* One stream: a session move ties workspaces together. */
  g_assert_null (desc->stream);
  g_assert_null (desc->clear_stream);
  g_assert_nonnull (desc->clear);
  g_assert_nonnull (desc->finish_rebuild);
  g_assert_nonnull (desc->free);
  /* ABI 1.2: late creates in place. */
  g_assert_nonnull (desc->late);
}

static void
test_schema_idempotent (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  jsync_sql_exec (harness_get_db (f->harness), f->desc->schema_sql, &error);
  g_assert_no_error (error);
  assert_int (f, "SELECT count(*) FROM workspaces", 1);
  /* Every statement of the schema is IF NOT EXISTS. */
  assert_int (f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                 " AND sql IS NOT NULL", 6);
  assert_int (f, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'",
              3);
  harness_assert_fts_ok (f->harness);
}

/* --- workspace_created */

static void
test_workspace_create_defaults (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  /* lastAccessed defaults to created, not to the event's timestamp. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2','name':'Two',"
               "'created':500},'id':'e2','deviceId':'d1','timestamp':2000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'One','description':null,"
                "'rootFolder':'','created':1000,'lastAccessed':1000,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0},"
                "{'id':'w2','name':'Two','description':null,"
                "'rootFolder':'','created':500,'lastAccessed':500,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0}]");
}

static void
test_workspace_create_full (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One',"
               "'description':'First','rootFolder':'Notes','created':10,"
               "'lastAccessed':20,'isActive':false,'dedicatedAgentId':'a1',"
               "'contextJson':'{ \\'purpose\\' : \\'x/y\\' }'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2','name':'Two',"
               "'isActive':0,'created':1757775354913},"
               "'id':'e2','deviceId':'d1','timestamp':1000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'One','description':'First',"
                "'rootFolder':'Notes','created':10,'lastAccessed':20,"
                "'isActive':0,'contextJson':'{ \\'purpose\\' : \\'x/y\\' }',"
                "'dedicatedAgentId':'a1','isArchived':0},"
                "{'id':'w2','name':'Two','description':null,"
                "'rootFolder':'','created':1757775354913,"
                "'lastAccessed':1757775354913,'isActive':0,"
                "'contextJson':null,'dedicatedAgentId':null,'isArchived':0}]");
}

static void
test_workspace_create_again (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One',"
               "'description':'First','rootFolder':'Notes','created':10,"
               "'dedicatedAgentId':'a1','contextJson':'{}'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'isActive':false,'lastAccessed':5000},"
               "'id':'e2','deviceId':'d1','timestamp':5000}");
  /* A replayed create carries name, rootFolder and created only. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'Again',"
               "'rootFolder':'/','created':3000},"
               "'id':'e3','deviceId':'d2','timestamp':6000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'Again','description':'First',"
                "'rootFolder':'/','created':3000,'lastAccessed':5000,"
                "'isActive':0,'contextJson':'{}','dedicatedAgentId':'a1',"
                "'isArchived':0}]");
}

static void
test_workspace_create_null (Fixture *f, gconstpointer data)
{
  /* On insert: null is absent where there is a default, NULL elsewhere. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One',"
               "'description':null,'rootFolder':null,'created':null,"
               "'lastAccessed':null,'isActive':null,'dedicatedAgentId':null,"
               "'contextJson':null},'id':'e1','deviceId':'d1',"
               "'timestamp':1000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'One','description':null,"
                "'rootFolder':'','created':1000,'lastAccessed':1000,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0}]");

  /* On an existing id: unchanged where there is a default, NULL elsewhere. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2','name':'Two',"
               "'description':'D','rootFolder':'R','created':10,"
               "'lastAccessed':20,'isActive':false,'dedicatedAgentId':'a',"
               "'contextJson':'{}'},'id':'e2','deviceId':'d1',"
               "'timestamp':1000}");
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2','name':'Two!',"
               "'description':null,'rootFolder':null,'created':null,"
               "'lastAccessed':null,'isActive':null,'dedicatedAgentId':null,"
               "'contextJson':null},'id':'e3','deviceId':'d1',"
               "'timestamp':2000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'One','description':null,"
                "'rootFolder':'','created':1000,'lastAccessed':1000,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0},"
                "{'id':'w2','name':'Two!','description':null,"
                "'rootFolder':'R','created':10,'lastAccessed':20,"
                "'isActive':0,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0}]");
}

/* --- workspace_updated */

static void
test_workspace_update (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One',"
               "'description':'First','rootFolder':'Notes','created':10,"
               "'dedicatedAgentId':'a1','contextJson':'{}'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");

  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'name':'New','isActive':false},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'New','description':'First',"
                "'rootFolder':'Notes','created':10,'lastAccessed':10,"
                "'isActive':0,'contextJson':'{}','dedicatedAgentId':'a1',"
                "'isArchived':0}]");

  /* null: NULL for description, agent and context; rootFolder, isActive
   * and lastAccessed have defaults and stay; created is not an update key. */
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'description':null,'dedicatedAgentId':null,"
               "'contextJson':null,'rootFolder':null,'isActive':null,"
               "'lastAccessed':null,'created':1},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'New','description':null,"
                "'rootFolder':'Notes','created':10,'lastAccessed':10,"
                "'isActive':0,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0}]");

  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'description':'Back','rootFolder':'/','isActive':1,"
               "'lastAccessed':4000,'dedicatedAgentId':'a2',"
               "'contextJson':'{\\'k\\':1}'},"
               "'id':'e4','deviceId':'d1','timestamp':4000}");
  /* No data at all: nothing to set. */
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'id':'e5','deviceId':'d1','timestamp':5000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'New','description':'Back',"
                "'rootFolder':'/','created':10,'lastAccessed':4000,"
                "'isActive':1,'contextJson':'{\\'k\\':1}',"
                "'dedicatedAgentId':'a2','isArchived':0}]");
}

static void
test_workspace_update_missing (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'name':'Ghost','lastAccessed':5},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  g_assert_cmpint (count_rows (f), ==, 0);

  /* It left nothing behind for a later create to pick up: name and
   * lastAccessed are the create's. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'Real'},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  g_assert_cmpint (count_rows (f), ==, 1);
  assert_text (f, "SELECT name || ' ' || created || ' ' || lastAccessed"
                  " FROM workspaces WHERE id = 'w1'", "Real 2000 2000");
}

/* --- workspace_deleted */

static void
test_workspace_delete (Fixture *f, gconstpointer data)
{
  apply_workspace_tree (f, "w1", 1000);
  apply_workspace_tree (f, "w2", 2000);
  /* A child whose session never came still belongs to its workspace. */
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'lost',"
               "'data':{'id':'t-lost'},'id':'e1','deviceId':'d1',"
               "'timestamp':2500}");
  g_assert_cmpint (count_workspace_rows (f, "w1"), ==, 5);
  g_assert_cmpint (count_workspace_rows (f, "w2"), ==, 4);

  apply_ok (f, "{'type':'workspace_deleted','workspaceId':'w1',"
               "'id':'e2','deviceId':'d1','timestamp':3000}");
  g_assert_cmpint (count_workspace_rows (f, "w1"), ==, 0);
  g_assert_cmpint (count_workspace_rows (f, "w2"), ==, 4);
  g_assert_cmpint (count_rows (f), ==, 4);

  /* Deleting what is not there is no error. */
  apply_ok (f, "{'type':'workspace_deleted','workspaceId':'w1',"
               "'id':'e3','deviceId':'d1','timestamp':3100}");
  g_assert_cmpint (count_rows (f), ==, 4);

  /* Created again later: a new entity, nothing of the old one. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'Anew'},"
               "'id':'e4','deviceId':'d1','timestamp':4000}");
  assert_table (f, "workspaces",
                "[{'id':'w1','name':'Anew','description':null,"
                "'rootFolder':'','created':4000,'lastAccessed':4000,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0},"
                "{'id':'w2','name':'Tree w2','description':'about w2',"
                "'rootFolder':'','created':2000,'lastAccessed':2000,"
                "'isActive':1,'contextJson':null,'dedicatedAgentId':null,"
                "'isArchived':0}]");
  g_assert_cmpint (count_workspace_rows (f, "w1"), ==, 1);
  harness_assert_fts_ok (f->harness);
}

/* --- session_created, session_updated */

static void
test_session_create (Fixture *f, gconstpointer data)
{
  /* No workspace row is needed: children may precede their parents. */
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1'},'id':'e1','deviceId':'d1',"
               "'timestamp':1000}");
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s2','name':'Two','description':'Chat',"
               "'startTime':5,'endTime':6,'isActive':false},"
               "'id':'e2','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'session_created','workspaceId':'w2',"
               "'data':{'id':'s3','name':null,'description':null,"
               "'startTime':null,'endTime':null,'isActive':null},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  assert_table (f, "sessions",
                "[{'id':'s1','workspaceId':'w1','name':'Unnamed Session',"
                "'description':null,'startTime':1000,'endTime':null,"
                "'isActive':1},"
                "{'id':'s2','workspaceId':'w1','name':'Two',"
                "'description':'Chat','startTime':5,'endTime':6,"
                "'isActive':0},"
                "{'id':'s3','workspaceId':'w2','name':'Unnamed Session',"
                "'description':null,'startTime':3000,'endTime':null,"
                "'isActive':1}]");
  g_assert_cmpint (count_rows (f), ==, 3);
}

static void
test_session_create_again (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1','name':'One','description':'Chat',"
               "'startTime':5},'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s1','data':{'endTime':7,'isActive':false},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  /* Carries only a name; startTime, endTime and isActive stay, and so
   * do they for a null name (which has a default). */
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1','name':'Again'},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1','name':null,'startTime':null,"
               "'isActive':null},'id':'e4','deviceId':'d1',"
               "'timestamp':4000}");
  /* The same id in another workspace's stream cannot touch this row. */
  apply_ok (f, "{'type':'session_created','workspaceId':'w2',"
               "'data':{'id':'s1','name':'Intruder','isActive':true},"
               "'id':'e5','deviceId':'d1','timestamp':5000}");
  assert_table (f, "sessions",
                "[{'id':'s1','workspaceId':'w1','name':'Again',"
                "'description':'Chat','startTime':5,'endTime':7,"
                "'isActive':0}]");
}

static void
test_session_update (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1','name':'One','description':'Chat',"
               "'startTime':5},'id':'e1','deviceId':'d1','timestamp':1000}");

  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s1','data':{'endTime':9,'isActive':0},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  assert_table (f, "sessions",
                "[{'id':'s1','workspaceId':'w1','name':'One',"
                "'description':'Chat','startTime':5,'endTime':9,"
                "'isActive':0}]");

  /* name, startTime and isActive have defaults: null leaves them;
   * description and endTime become NULL. */
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s1','data':{'name':null,'isActive':null,"
               "'description':null,'endTime':null,'startTime':null},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  assert_table (f, "sessions",
                "[{'id':'s1','workspaceId':'w1','name':'One',"
                "'description':null,'startTime':5,'endTime':null,"
                "'isActive':0}]");
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s1','data':{'startTime':1},"
               "'id':'e3b','deviceId':'d1','timestamp':3500}");
  assert_int (f, "SELECT startTime FROM sessions WHERE id = 's1'", 1);

  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s1','data':{'name':'Renamed',"
               "'description':'Back','isActive':true},"
               "'id':'e4','deviceId':'d1','timestamp':4000}");
  /* Another workspace's stream, a missing session: no-ops, no errors. */
  apply_ok (f, "{'type':'session_updated','workspaceId':'w2',"
               "'sessionId':'s1','data':{'name':'Intruder'},"
               "'id':'e5','deviceId':'d1','timestamp':5000}");
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'nope','data':{'name':'Ghost'},"
               "'id':'e6','deviceId':'d1','timestamp':6000}");
  assert_table (f, "sessions",
                "[{'id':'s1','workspaceId':'w1','name':'Renamed',"
                "'description':'Back','startTime':1,'endTime':null,"
                "'isActive':1}]");
}

/* --- state_saved, state_deleted */

static void
test_state_save (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'st1'},'id':'e1','deviceId':'d1',"
               "'timestamp':1000}");
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'st2','name':'Two','description':'Desc',"
               "'created':5,'stateJson':'{ \\'a\\' : 1 }',"
               "'tags':[ 'x', 'a/b' ]},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s2',"
               "'data':{'id':'st3','name':null,'created':null,"
               "'stateJson':null,'tags':null,'description':null},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s2',"
               "'data':{'id':'st4','tags':{ 'k' : [1, true] }},"
               "'id':'e4','deviceId':'d1','timestamp':4000}");
  assert_table (f, "states",
                "[{'id':'st1','sessionId':'s1','workspaceId':'w1',"
                "'name':'Unnamed State','description':null,'created':1000,"
                "'stateJson':'{}','tagsJson':null},"
                "{'id':'st2','sessionId':'s1','workspaceId':'w1',"
                "'name':'Two','description':'Desc','created':5,"
                "'stateJson':'{ \\'a\\' : 1 }',"
                "'tagsJson':'[\\'x\\',\\'a/b\\']'},"
                "{'id':'st3','sessionId':'s2','workspaceId':'w1',"
                "'name':'Unnamed State','description':null,'created':3000,"
                "'stateJson':'{}','tagsJson':null},"
                "{'id':'st4','sessionId':'s2','workspaceId':'w1',"
                "'name':'Unnamed State','description':null,'created':4000,"
                "'stateJson':'{}','tagsJson':'{\\'k\\':[1,true]}'}]");
  /* tags are stored as compact JSON text, slashes unescaped. */
  assert_text (f, "SELECT tagsJson FROM states WHERE id = 'st2'",
               "[\"x\",\"a/b\"]");
  assert_text (f, "SELECT tagsJson FROM states WHERE id = 'st4'",
               "{\"k\":[1,true]}");
}

static void
test_state_save_again (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'st1','name':'One','description':'Desc',"
               "'created':5,'stateJson':'{\\'a\\':1}','tags':['x']},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s2',"
               "'data':{'id':'st1','name':'Again','stateJson':null},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  apply_ok (f, "{'type':'state_saved','workspaceId':'w2','sessionId':'s9',"
               "'data':{'id':'st1','name':'Intruder'},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  assert_table (f, "states",
                "[{'id':'st1','sessionId':'s2','workspaceId':'w1',"
                "'name':'Again','description':'Desc','created':5,"
                "'stateJson':'{\\'a\\':1}','tagsJson':'[\\'x\\']'}]");
}

static void
test_state_delete (Fixture *f, gconstpointer data)
{
  apply_workspace_tree (f, "w1", 1000);
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'w1-s',"
               "'data':{'id':'st2'},'id':'e1','deviceId':'d1',"
               "'timestamp':2000}");

  apply_ok (f, "{'type':'state_deleted','workspaceId':'w1',"
               "'sessionId':'w1-s','stateId':'w1-st',"
               "'id':'e2','deviceId':'d1','timestamp':3000}");
  /* Another workspace's stream, a missing state: no-ops, no errors. */
  apply_ok (f, "{'type':'state_deleted','workspaceId':'w2',"
               "'sessionId':'w1-s','stateId':'st2',"
               "'id':'e3','deviceId':'d1','timestamp':3100}");
  apply_ok (f, "{'type':'state_deleted','workspaceId':'w1','stateId':'nope',"
               "'id':'e4','deviceId':'d1','timestamp':3200}");
  assert_table (f, "states",
                "[{'id':'st2','sessionId':'w1-s','workspaceId':'w1',"
                "'name':'Unnamed State','description':null,'created':2000,"
                "'stateJson':'{}','tagsJson':null}]");
  assert_int (f, "SELECT count(*) FROM workspaces", 1);
  assert_int (f, "SELECT count(*) FROM sessions", 1);
  assert_int (f, "SELECT count(*) FROM memory_traces", 1);
}

/* --- trace_added */

static void
test_trace_add (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'t1'},'id':'e1','deviceId':'d1',"
               "'timestamp':1000}");
  /* The timestamp is always the event's, whatever data says. */
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'t2','content':'Edited','traceType':'file_edit',"
               "'metadataJson':'{ \\'tool\\': \\'x\\' }','timestamp':5},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'s2',"
               "'data':{'id':'t3','content':null,'traceType':null,"
               "'metadataJson':null},'id':'e3','deviceId':'d1',"
               "'timestamp':3000}");
  assert_table (f, "memory_traces",
                "[{'id':'t1','sessionId':'s1','workspaceId':'w1',"
                "'timestamp':1000,'type':null,'content':'',"
                "'metadataJson':null},"
                "{'id':'t2','sessionId':'s1','workspaceId':'w1',"
                "'timestamp':2000,'type':'file_edit','content':'Edited',"
                "'metadataJson':'{ \\'tool\\': \\'x\\' }'},"
                "{'id':'t3','sessionId':'s2','workspaceId':'w1',"
                "'timestamp':3000,'type':null,'content':'',"
                "'metadataJson':null}]");
}

static void
test_trace_add_again (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'t1','content':'First','traceType':'search',"
               "'metadataJson':'{}'},'id':'e1','deviceId':'d1',"
               "'timestamp':1000}");
  /* A duplicate carrying content only: its timestamp, type and metadata
   * are not the trace's. */
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'t1','content':'Second'},'id':'e2',"
               "'deviceId':'d2','timestamp':2000}");
  apply_ok (f, "{'type':'trace_added','workspaceId':'w2','sessionId':'s1',"
               "'data':{'id':'t1','content':'Intruder'},'id':'e3',"
               "'deviceId':'d2','timestamp':3000}");
  assert_table (f, "memory_traces",
                "[{'id':'t1','sessionId':'s1','workspaceId':'w1',"
                "'timestamp':1000,'type':'search','content':'Second',"
                "'metadataJson':'{}'}]");
}

/* --- Rejected events */

static void
test_invalid (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *line;
    const char *message;
  } cases[] = {
    { "{'type':'workspace_created','data':{'id':5,'name':'X'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.id: expected a string" },
    { "{'type':'workspace_created','data':{'name':'X'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: missing data.id" },
    { "{'type':'workspace_created','data':{'id':null,'name':'X'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: missing data.id" },
    { "{'type':'workspace_created','id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: missing data.id" },
    { "{'type':'workspace_created','data':'w9',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data: expected an object" },
    { "{'type':'workspace_created','data':{'id':'w9'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: missing data.name" },
    { "{'type':'workspace_created','data':{'id':'w9','name':null},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: missing data.name" },
    { "{'type':'workspace_created','data':{'id':'w9','name':['X']},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.name: expected a string" },
    { "{'type':'workspace_created','data':{'id':'w9','name':'X',"
      "'created':'1000'},'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.created: expected an integer" },
    { "{'type':'workspace_created','data':{'id':'w9','name':'X',"
      "'created':1.5},'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.created: expected an integer" },
    { "{'type':'workspace_created','data':{'id':'w9','name':'X',"
      "'isActive':'yes'},'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.isActive: expected a boolean" },
    { "{'type':'workspace_created','data':{'id':'w9','name':'X',"
      "'isActive':2},'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_created: data.isActive: expected a boolean" },
    { "{'type':'workspace_created','data':{'id':'w9','name':'X',"
      "'contextJson':{'purpose':'p'}},'id':'x','deviceId':'d1',"
      "'timestamp':1}",
      "workspace_created: data.contextJson: expected a string" },
    /* A create for an existing id is checked whole before any write. */
    { "{'type':'workspace_created','data':{'id':'w1','name':'Changed',"
      "'description':'Changed','lastAccessed':'late'},'id':'x',"
      "'deviceId':'d1','timestamp':1}",
      "workspace_created: data.lastAccessed: expected an integer" },
    { "{'type':'workspace_updated','data':{'name':'X'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: missing workspaceId" },
    { "{'type':'workspace_updated','workspaceId':7,'data':{'name':'X'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: workspaceId: expected a string" },
    { "{'type':'workspace_updated','workspaceId':'w1','data':{'name':null},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: data.name: expected a string" },
    { "{'type':'workspace_updated','workspaceId':'w1',"
      "'data':{'name':'Changed','lastAccessed':'late'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: data.lastAccessed: expected an integer" },
    { "{'type':'workspace_updated','workspaceId':'w1',"
      "'data':{'dedicatedAgentId':3},'id':'x','deviceId':'d1',"
      "'timestamp':1}",
      "workspace_updated: data.dedicatedAgentId: expected a string" },
    { "{'type':'workspace_updated','workspaceId':'w1','data':[1],"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: data: expected an object" },
    { "{'type':'workspace_deleted','id':'x','deviceId':'d1','timestamp':1}",
      "workspace_deleted: missing workspaceId" },
    { "{'type':'workspace_deleted','workspaceId':null,"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_deleted: missing workspaceId" },
    { "{'type':'session_created','data':{'id':'s9'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_created: missing workspaceId" },
    { "{'type':'session_created','workspaceId':'w1','data':{'name':'S'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_created: missing data.id" },
    { "{'type':'session_created','workspaceId':'w1',"
      "'data':{'id':'s9','startTime':'now'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_created: data.startTime: expected an integer" },
    { "{'type':'session_updated','sessionId':'w1-s','data':{'name':'S'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: missing workspaceId" },
    { "{'type':'session_updated','workspaceId':'w1','data':{'name':'S'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: missing sessionId" },
    { "{'type':'session_updated','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'name':'Changed','endTime':true},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: data.endTime: expected an integer" },
    { "{'type':'state_saved','workspaceId':'w1','data':{'id':'st9'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_saved: missing sessionId" },
    { "{'type':'state_saved','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'id':'st9','stateJson':{'a':1}},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_saved: data.stateJson: expected a string" },
    { "{'type':'state_saved','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'id':'st9','created':true},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_saved: data.created: expected an integer" },
    { "{'type':'state_deleted','workspaceId':'w1','sessionId':'w1-s',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_deleted: missing stateId" },
    { "{'type':'state_deleted','workspaceId':'w1','stateId':1,"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_deleted: stateId: expected a string" },
    { "{'type':'state_deleted','workspaceId':'w1','sessionId':1,"
      "'stateId':'w1-st','id':'x','deviceId':'d1','timestamp':1}",
      "state_deleted: sessionId: expected a string" },
    { "{'type':'trace_added','workspaceId':'w1','data':{'id':'t9'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "trace_added: missing sessionId" },
    { "{'type':'trace_added','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'id':'t9','content':5},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "trace_added: data.content: expected a string" },
    { "{'type':'trace_added','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'id':'t9','traceType':false},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "trace_added: data.traceType: expected a string" },
    { "{'type':'trace_added','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'id':'t9','metadataJson':{'tool':'x'}},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "trace_added: data.metadataJson: expected a string" },
    { "{'type':'workspace_archived','workspaceId':'w1',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_archived: unknown event type" },
    { "{'type':'session_deleted','workspaceId':'w1','sessionId':'w1-s',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_deleted: unknown event type" },
    { "{'type':'state_renamed','workspaceId':'w1','stateId':'w1-st',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "state_renamed: unknown event type" },
    { "{'type':'state_updated','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'name':'X'},'id':'x','deviceId':'d1','timestamp':1}",
      "state_updated: missing stateId" },
    { "{'type':'state_updated','stateId':'w1-st',"
      "'data':{'name':'X'},'id':'x','deviceId':'d1','timestamp':1}",
      "state_updated: missing workspaceId" },
    { "{'type':'state_updated','workspaceId':'w1','stateId':'w1-st',"
      "'sessionId':7,'id':'x','deviceId':'d1','timestamp':1}",
      "state_updated: sessionId: expected a string" },
    { "{'type':'state_updated','workspaceId':'w1','stateId':'w1-st',"
      "'data':{'stateJson':{}},'id':'x','deviceId':'d1','timestamp':1}",
      "state_updated: data.stateJson: expected a string" },
    { "{'type':'state_updated','workspaceId':'w1','stateId':'w1-st',"
      "'data':{'name':5},'id':'x','deviceId':'d1','timestamp':1}",
      "state_updated: data.name: expected a string" },
    { "{'type':'workspace_updated','workspaceId':'w1',"
      "'data':{'isArchived':'yes'},'id':'x','deviceId':'d1','timestamp':1}",
      "workspace_updated: data.isArchived: expected a boolean" },
    { "{'type':'session_updated','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'workspaceId':null},'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: data.workspaceId: expected a string" },
    { "{'type':'session_updated','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'workspaceId':2},'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: data.workspaceId: expected a string" },
    { "{'type':'session_updated','workspaceId':'w1','sessionId':'w1-s',"
      "'data':{'workspaceId':'w2','startTime':'now'},"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "session_updated: data.startTime: expected an integer" },
    { "{'type':'trace_','workspaceId':'w1',"
      "'id':'x','deviceId':'d1','timestamp':1}",
      "trace_: unknown event type" },
  };

  apply_workspace_tree (f, "w1", 1000);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    apply_invalid (f, cases[i].line, cases[i].message);
  g_assert_cmpint (count_rows (f), ==, 4);
}

/* Through the harness: the savepoint is released and the next event goes
 * on as usual. */
static void
test_invalid_then_valid (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bad = test_json (
      "{'type':'session_created','workspaceId':'w1',"
      "'data':{'id':'s1','isActive':'no'},"
      "'id':'e1','deviceId':'d1','timestamp':1000}");

  g_assert_false (harness_apply (f->harness, bad, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "session_created: data.isActive: expected a boolean");
  g_assert_cmpint (count_rows (f), ==, 0);
  apply_ok (f, "{'type':'session_created','workspaceId':'w1',"
               "'data':{'id':'s1','isActive':0},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  assert_int (f, "SELECT isActive FROM sessions WHERE id = 's1'", 0);
}

/* --- Workspace ids that name no workspace */

static void
test_blank_workspace_ids (Fixture *f, gconstpointer data)
{
  static const char *const ids[] = { "", "  ", "undefined", "null" };

  apply_workspace_tree (f, "w1", 1000);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const struct
      {
        const char *format;
        const char *message;
      } cases[] = {
        { "{'type':'workspace_created','data':{'id':'%s','name':'X'},"
          "'id':'x','deviceId':'d1','timestamp':1}",
          "workspace_created: data.id: '%s' names no workspace" },
        { "{'type':'workspace_updated','workspaceId':'%s',"
          "'data':{'name':'X'},'id':'x','deviceId':'d1','timestamp':1}",
          "workspace_updated: workspaceId: '%s' names no workspace" },
        { "{'type':'workspace_deleted','workspaceId':'%s',"
          "'id':'x','deviceId':'d1','timestamp':1}",
          "workspace_deleted: workspaceId: '%s' names no workspace" },
        { "{'type':'session_created','workspaceId':'%s',"
          "'data':{'id':'s9'},'id':'x','deviceId':'d1','timestamp':1}",
          "session_created: workspaceId: '%s' names no workspace" },
        { "{'type':'state_saved','workspaceId':'%s','sessionId':'w1-s',"
          "'data':{'id':'st9'},'id':'x','deviceId':'d1','timestamp':1}",
          "state_saved: workspaceId: '%s' names no workspace" },
        { "{'type':'trace_added','workspaceId':'%s','sessionId':'w1-s',"
          "'data':{'id':'t9'},'id':'x','deviceId':'d1','timestamp':1}",
          "trace_added: workspaceId: '%s' names no workspace" },
      };

      for (guint j = 0; j < G_N_ELEMENTS (cases); j++)
        {
          g_autofree char *line = g_strdup_printf (cases[j].format, ids[i]);
          g_autofree char *message = g_strdup_printf (cases[j].message,
                                                      ids[i]);

          g_strdelimit (message, "'", '"');
          apply_invalid (f, line, message);
        }
    }
  /* A null or missing one is missing, as before. */
  apply_invalid (f, "{'type':'workspace_created','data':{'id':null,"
                    "'name':'X'},'id':'x','deviceId':'d1','timestamp':1}",
                 "workspace_created: missing data.id");
  apply_invalid (f, "{'type':'trace_added','workspaceId':null,"
                    "'sessionId':'w1-s','data':{'id':'t9'},"
                    "'id':'x','deviceId':'d1','timestamp':1}",
                 "trace_added: missing workspaceId");
  /* Not checked where the format does not ask it: nothing to update. */
  apply_ok (f, "{'type':'session_updated','workspaceId':'undefined',"
               "'sessionId':'w1-s','data':{'name':'X'},"
               "'id':'e9','deviceId':'d1','timestamp':9000}");
  apply_ok (f, "{'type':'state_updated','workspaceId':'','stateId':'w1-st',"
               "'data':{'name':'X'},'id':'e10','deviceId':'d1',"
               "'timestamp':9001}");
  g_assert_cmpint (count_rows (f), ==, 4);
  assert_int (f, "SELECT count(*) FROM sessions WHERE name = 'X'"
                 " OR id IN (SELECT id FROM states WHERE name = 'X')", 0);
}

/* --- isArchived */

static void
test_is_archived (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2','name':'Two',"
               "'isArchived':null},'id':'e2','deviceId':'d1',"
               "'timestamp':1000}");
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w3','name':'Old',"
               "'isArchived':true},'id':'e3','deviceId':'d1',"
               "'timestamp':1000}");
  assert_text (f, "SELECT group_concat(id || '=' || isArchived, ' ')"
                  " FROM (SELECT * FROM workspaces ORDER BY id)",
               "w1=0 w2=0 w3=1");

  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'isArchived':true,'lastAccessed':2000},"
               "'id':'e4','deviceId':'d1','timestamp':2000}");
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w3',"
               "'data':{'isArchived':0,'lastAccessed':2000},"
               "'id':'e5','deviceId':'d1','timestamp':2000}");
  /* null has the default: it leaves the value. */
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'isArchived':null,'lastAccessed':3000},"
               "'id':'e6','deviceId':'d1','timestamp':3000}");
  /* A re-create without the key leaves it too. */
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1','name':'One'},"
               "'id':'e7','deviceId':'d1','timestamp':4000}");
  assert_text (f, "SELECT group_concat(id || '=' || isArchived, ' ')"
                  " FROM (SELECT * FROM workspaces ORDER BY id)",
               "w1=1 w2=0 w3=0");
  assert_int (f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                 " AND name = 'idx_workspaces_archived'", 1);
}

/* --- state_updated */

static void
test_state_update (Fixture *f, gconstpointer data)
{
  apply_ok (f, "{'type':'state_saved','workspaceId':'w1','sessionId':'s1',"
               "'data':{'id':'st1','name':'One','description':'Desc',"
               "'created':5,'stateJson':'{\\'a\\':1}','tags':['x']},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'state_updated','workspaceId':'w1','sessionId':'s2',"
               "'stateId':'st1','data':{'name':'Renamed',"
               "'stateJson':'{\\'a\\':2}','tags':['y', 'z']},"
               "'id':'e2','deviceId':'d1','timestamp':2000}");
  /* The sessionId an update carries moves nothing. */
  assert_table (f, "states",
                "[{'id':'st1','sessionId':'s1','workspaceId':'w1',"
                "'name':'Renamed','description':'Desc','created':5,"
                "'stateJson':'{\\'a\\':2}','tagsJson':'[\\'y\\',\\'z\\']'}]");

  /* null: name and stateJson have defaults and stay; description and tags
   * become NULL.  created is no update key. */
  apply_ok (f, "{'type':'state_updated','workspaceId':'w1',"
               "'stateId':'st1','data':{'name':null,'stateJson':null,"
               "'description':null,'tags':null,'created':1},"
               "'id':'e3','deviceId':'d1','timestamp':3000}");
  assert_table (f, "states",
                "[{'id':'st1','sessionId':'s1','workspaceId':'w1',"
                "'name':'Renamed','description':null,'created':5,"
                "'stateJson':'{\\'a\\':2}','tagsJson':null}]");

  /* A missing state, or one of another workspace: no-ops, no errors. */
  apply_ok (f, "{'type':'state_updated','workspaceId':'w1',"
               "'stateId':'nope','data':{'name':'Ghost'},"
               "'id':'e4','deviceId':'d1','timestamp':4000}");
  apply_ok (f, "{'type':'state_updated','workspaceId':'w2',"
               "'stateId':'st1','data':{'name':'Intruder'},"
               "'id':'e5','deviceId':'d1','timestamp':5000}");
  g_assert_cmpint (count_rows (f), ==, 1);
  assert_text (f, "SELECT name FROM states WHERE id = 'st1'", "Renamed");
}

/* --- A session moved to another workspace */

static void
test_session_move (Fixture *f, gconstpointer data)
{
  g_autoptr(Harness) other = harness_new ((const char *[]) { "workspace",
                                                             NULL });
  Fixture alone = { .harness = other };

  apply_workspace_tree (f, "w1", 1000);
  apply_workspace_tree (f, "w2", 2000);
  /* Another session of w1 stays. */
  apply_ok (f, "{'type':'trace_added','workspaceId':'w1',"
               "'sessionId':'s-other','data':{'id':'t-other'},"
               "'id':'e1','deviceId':'d1',"
               "'timestamp':2500}");
  /* The move, as Nexus writes it: in the old workspace's log... */
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'w1-s','data':{'workspaceId':'w2',"
               "'name':'Moved'},'id':'e2','deviceId':'d1','timestamp':3000}");
  /* Sessions, states and traces by workspace. */
  assert_text (f, "SELECT group_concat (workspaceId || ':' || n, ' ') FROM"
                  " (SELECT workspaceId, count(*) AS n FROM"
                  "  (SELECT workspaceId FROM sessions UNION ALL"
                  "   SELECT workspaceId FROM states UNION ALL"
                  "   SELECT workspaceId FROM memory_traces)"
                  "  GROUP BY workspaceId ORDER BY workspaceId)",
               "w1:1 w2:6");
  assert_text (f, "SELECT group_concat(workspaceId, ' ') FROM"
                  " (SELECT workspaceId FROM sessions WHERE id = 'w1-s'"
                  "  UNION ALL SELECT workspaceId FROM states"
                  "  WHERE sessionId = 'w1-s'"
                  "  UNION ALL SELECT workspaceId FROM memory_traces"
                  "  WHERE sessionId = 'w1-s')", "w2 w2 w2");
  /* ...then a create of the same id in the new one: a re-create. */
  apply_ok (f, "{'type':'session_created','workspaceId':'w2',"
               "'data':{'id':'w1-s','name':'Moved','startTime':1001},"
               "'id':'e3','deviceId':'d1','timestamp':3001}");
  /* The old workspace no longer holds it: its events miss it. */
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'w1-s','data':{'name':'Stale',"
               "'workspaceId':'w3'},'id':'e4','deviceId':'d1',"
               "'timestamp':4000}");
  apply_ok (f, "{'type':'state_deleted','workspaceId':'w1',"
               "'sessionId':'w1-s','stateId':'w1-st',"
               "'id':'e5','deviceId':'d1','timestamp':4001}");
  /* A move of a session that is not there moves nothing. */
  apply_ok (f, "{'type':'session_updated','workspaceId':'w1',"
               "'sessionId':'s-other','data':{'workspaceId':'w2'},"
               "'id':'e6','deviceId':'d1','timestamp':4002}");
  assert_table (f, "sessions",
                "[{'id':'w1-s','workspaceId':'w2','name':'Moved',"
                "'description':null,'startTime':1001,'endTime':null,"
                "'isActive':1},"
                "{'id':'w2-s','workspaceId':'w2','name':'Session',"
                "'description':null,'startTime':2001,'endTime':null,"
                "'isActive':1}]");
  assert_table (f, "memory_traces",
                "[{'id':'t-other','sessionId':'s-other','workspaceId':'w1',"
                "'timestamp':2500,'type':null,'content':'',"
                "'metadataJson':null},"
                "{'id':'w1-t','sessionId':'w1-s','workspaceId':'w2',"
                "'timestamp':1003,'type':'search','content':'did things',"
                "'metadataJson':null},"
                "{'id':'w2-t','sessionId':'w2-s','workspaceId':'w2',"
                "'timestamp':2003,'type':'search','content':'did things',"
                "'metadataJson':null}]");
  assert_text (f, "SELECT workspaceId FROM states WHERE id = 'w1-st'", "w2");

  /* The new workspace's delete takes what moved with it. */
  apply_ok (f, "{'type':'workspace_deleted','workspaceId':'w2',"
               "'id':'e7','deviceId':'d1','timestamp':5000}");
  apply_workspace_tree (&alone, "w1", 1000);
  apply_ok (&alone, "{'type':'trace_added','workspaceId':'w1',"
                    "'sessionId':'s-other','data':{'id':'t-other'},"
                    "'id':'e1','deviceId':'d1','timestamp':2500}");
  apply_ok (&alone, "{'type':'session_updated','workspaceId':'w1',"
                    "'sessionId':'w1-s','data':{'workspaceId':'w9'},"
                    "'id':'e2','deviceId':'d1','timestamp':3000}");
  apply_ok (&alone, "{'type':'workspace_deleted','workspaceId':'w9',"
                    "'id':'e3','deviceId':'d1','timestamp':5000}");
  {
    json_object *actual = harness_dump (f->harness);
    json_object *expected = harness_dump (other);

    harness_assert_dump_equal (actual, expected);
    json_object_put (actual);
    json_object_put (expected);
  }
}

/* What the core does with a late event: clear the applier (one stream),
 * re-apply its events in key order.  The result is the rebuild's. */
static void
test_clear_replay (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_DIST),
                                           "data", "nexus", "workspaces",
                                           NULL);
  g_autoptr(GError) error = NULL;
  json_object *before;
  json_object *after;

  harness_replay_dir (f->harness, dir);
  before = harness_dump (f->harness);

  g_assert_true (f->desc->clear (f->state, &error));
  g_assert_no_error (error);
  harness_end_batch (f->harness);
  g_assert_cmpint (count_rows (f), ==, 0);
  harness_replay_dir (f->harness, dir);

  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
  json_object_put (after);
  json_object_put (before);
  harness_assert_fts_ok (f->harness);
}


static void
test_clear (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  apply_workspace_tree (f, "w1", 1000);
  apply_workspace_tree (f, "w2", 2000);
  g_assert_true (f->desc->clear (f->state, &error));
  g_assert_no_error (error);
  harness_end_batch (f->harness);
  g_assert_cmpint (count_rows (f), ==, 0);
  harness_assert_fts_ok (f->harness);
  assert_int (f, "SELECT count(*) FROM workspace_fts"
                 " WHERE workspace_fts MATCH 'tree'", 0);

  /* Usable again afterwards. */
  apply_workspace_tree (f, "w1", 3000);
  g_assert_cmpint (count_rows (f), ==, 4);
}

/* --- Full-text search */

/* Apply one event, then check the index is exact. */
static void
apply_fts_ok (Fixture *f, const char *line)
{
  apply_ok (f, line);
  harness_assert_fts_ok (f->harness);
}

#define FTS_IDS(match) \
  "SELECT group_concat(id, ' ') FROM (SELECT w.id FROM workspaces w" \
  " JOIN workspace_fts f ON w.rowid = f.rowid" \
  " WHERE workspace_fts MATCH '" match "' ORDER BY w.id)"

static void
test_fts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  apply_ok (f, "{'type':'workspace_created','data':{'id':'w1',"
               "'name':'Garden planning','description':'roses and tulips'},"
               "'id':'e1','deviceId':'d1','timestamp':1000}");
  apply_ok (f, "{'type':'workspace_created','data':{'id':'w2',"
               "'name':'Reading notes','description':'garden books'},"
               "'id':'e2','deviceId':'d1','timestamp':1000}");
  assert_text (f, FTS_IDS ("garden"), "w1 w2");
  assert_text (f, FTS_IDS ("name:garden"), "w1");

  apply_fts_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
                   "'data':{'name':'Orchard plans'},"
                   "'id':'e3','deviceId':'d1','timestamp':2000}");
  assert_text (f, FTS_IDS ("orchard"), "w1");
  assert_text (f, FTS_IDS ("name:garden"), NULL);
  assert_int (f, "SELECT count(*) FROM workspace_fts"
                 " WHERE workspace_fts MATCH 'planning'", 0);

  /* Updates that leave the text alone keep it exact too. */
  apply_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
               "'data':{'lastAccessed':3000,'isActive':false},"
               "'id':'e4','deviceId':'d1','timestamp':3000}");
  apply_fts_ok (f, "{'type':'workspace_updated','workspaceId':'w1',"
                   "'data':{'description':null},"
                   "'id':'e5','deviceId':'d1','timestamp':3100}");
  assert_int (f, "SELECT count(*) FROM workspace_fts"
                 " WHERE workspace_fts MATCH 'roses'", 0);

  /* A re-create changes the text through the same path. */
  apply_fts_ok (f, "{'type':'workspace_created','data':{'id':'w2',"
                   "'name':'Library','description':'novels'},"
                   "'id':'e6','deviceId':'d1','timestamp':4000}");
  assert_text (f, FTS_IDS ("novels OR library"), "w2");
  assert_text (f, FTS_IDS ("reading OR books"), NULL);

  apply_fts_ok (f, "{'type':'workspace_deleted','workspaceId':'w2',"
                   "'id':'e7','deviceId':'d1','timestamp':5000}");
  assert_text (f, FTS_IDS ("library"), NULL);
  assert_text (f, FTS_IDS ("orchard"), "w1");

  /* finish_rebuild rebuilds the index from the table, even an empty one. */
  jsync_sql_exec (harness_get_db (f->harness),
                  "INSERT INTO workspace_fts (workspace_fts)"
                  " VALUES ('delete-all')", &error);
  g_assert_no_error (error);
  assert_text (f, FTS_IDS ("orchard"), NULL);
  g_assert_true (f->desc->finish_rebuild (f->state, &error));
  g_assert_no_error (error);
  harness_assert_fts_ok (f->harness);
  assert_text (f, FTS_IDS ("orchard"), "w1");
  assert_int (f, "SELECT count(*) FROM workspace_fts", 1);
}

/* --- The example data folder */

static void
test_replay_nexus (Fixture *f, gconstpointer data)
{
  static const char *const tables[] = {
    "workspaces", "sessions", "states", "memory_traces",
  };
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_DIST),
                                           "data", "nexus", "workspaces",
                                           NULL);
  g_autofree char *path = g_build_filename (g_test_get_dir (G_TEST_DIST),
                                            "data", "nexus.expected.json",
                                            NULL);
  json_object *all = json_object_from_file (path);
  json_object *expected = json_object_new_object ();
  json_object *actual;

  g_assert_nonnull (all);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      json_object *rows = NULL;

      g_assert_true (json_object_object_get_ex (all, tables[i], &rows));
      json_object_object_add (expected, tables[i], json_object_get (rows));
    }
  harness_replay_dir (f->harness, dir);
  actual = harness_dump (f->harness);
  harness_assert_dump_equal (actual, expected);
  harness_assert_fts_ok (f->harness);
  json_object_put (actual);
  json_object_put (expected);
  json_object_put (all);
}

/* --- Late events in place (ABI 1.2) */

/* The cases of harness_add_late_cases().  Event lines: device d1 wrote
 * them in order, d2 the late one (the id is also the timestamp, in
 * tenths). */
#define LATE_EVENT(type, routing, data, id, device, ts)                     \
  "{'type':'" type "'," routing "'data':" data ",'id':'" id "',"          \
  "'deviceId':'" device "','timestamp':" ts "}"
#define LATE_W(ws) "'workspaceId':'" ws "',"
#define LATE_WS(ws, session) LATE_W (ws) "'sessionId':'" session "',"
#define LATE_WORKSPACE(ws, ts)                                              \
  LATE_EVENT ("workspace_created", "", "{'id':'" ws "','name':'W'}",       \
              "e" ts, "d1", ts)
#define LATE_SESSION(ws, session, ts)                                       \
  LATE_EVENT ("session_created", LATE_W (ws), "{'id':'" session "'}",      \
              "e" ts, "d1", ts)
/* Workspace w1 with session s1, the start of several cases. */
#define LATE_W1_S1                                                          \
  LATE_WORKSPACE ("w1", "100"), LATE_SESSION ("w1", "s1", "200")
/* The late event of most cases (at 300, by d2). */
#define LATE_LATE(type, routing, data)                                      \
  LATE_EVENT (type, routing, data, "e300", "d2", "300")
/* The late trace and state of several cases. */
#define LATE_T1 LATE_LATE ("trace_added", LATE_WS ("w1", "s1"), "{'id':'t1'}")
#define LATE_ST1                                                            \
  LATE_LATE ("state_saved", LATE_WS ("w1", "s1"), "{'id':'st1'}")
/* State st1 of session s1 saved in `ws` (at 250, by d1), and the late
 * update of st1 in w1, of the state cases. */
#define LATE_ST1_SAVED(ws)                                                  \
  LATE_EVENT ("state_saved", LATE_WS (ws, "s1"), "{'id':'st1'}", "e250",    \
              "d1", "250")
#define LATE_ST1_UPDATE                                                     \
  LATE_LATE ("state_updated", LATE_W ("w1") "'stateId':'st1',",             \
             "{'name':'Late'}")
/* The late delete of st1 in w1, of the state delete cases. */
#define LATE_ST1_DELETE                                                     \
  LATE_LATE ("state_deleted", LATE_WS ("w1", "s1") "'stateId':'st1',", "{}")
/* The event after the late one in most cases (at 400, by d1). */
#define LATE_LATER(type, routing, data)                                     \
  LATE_EVENT (type, routing, data, "e400", "d1", "400")

/* Workspace w1 and its late update. */
#define LATE_W1_UPDATED                                                     \
  LATE_WORKSPACE ("w1", "100"),                                             \
  LATE_LATE ("workspace_updated", LATE_W ("w1"),                            \
             "{'name':'Early','isArchived':true}")
/* A late update of session s1 of w1, then its move to w2 (at 400). */
#define LATE_S1_RENAMED_MOVED                                               \
  LATE_W1_S1,                                                               \
  LATE_LATE ("session_updated", LATE_WS ("w1", "s1"), "{'name':'Late'}"),   \
  LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),                      \
              "{'workspaceId':'w2'}")

/* The applier's own records (workspace_changes, workspace_deletes) as
 * text, which a late event taken in place must leave as a replay would. */
#define LATE_BOOKKEEPING                                                    \
  "SELECT coalesce (group_concat (row, ' '), '') FROM"                     \
  " (SELECT kind || ':' || id || '@' || ts || ',' || device || ','"        \
  "  || eventId AS row FROM workspace_changes"                             \
  "  UNION ALL SELECT 'deleted:' || workspaceId || '@' || ts || ','"       \
  "  || device || ',' || eventId FROM workspace_deletes ORDER BY row)"

static const HarnessLateCase late_cases[] = {
  /* A late trace, with later events on other rows: another trace of its
   * session, another session moved out of its workspace, another workspace
   * deleted, an update of a state that is not there. */
  { "in-place/trace", 3, TRUE,
    { LATE_W1_S1,
      LATE_SESSION ("w1", "s2", "250"),
      LATE_LATE ("trace_added", LATE_WS ("w1", "s1"),
                 "{'id':'t1','content':'early'}"),
      LATE_LATER ("trace_added", LATE_WS ("w1", "s1"), "{'id':'t2'}"),
      LATE_EVENT ("session_updated", LATE_WS ("w1", "s2"),
                  "{'workspaceId':'w2'}", "e500", "d1", "500"),
      LATE_EVENT ("workspace_deleted", LATE_W ("w9"), "{}", "e600", "d1",
                  "600"),
      LATE_EVENT ("state_updated", LATE_W ("w1") "'stateId':'st9',",
                  "{'name':'N'}", "e700", "d1", "700"),
      NULL } },
  /* A late session, then a late workspace, with later events elsewhere. */
  { "in-place/session", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_EVENT ("session_created", LATE_W ("w1"),
                  "{'id':'s1','name':'Late'}", "e200", "d2", "200"),
      LATE_SESSION ("w1", "s2", "300"),
      LATE_LATER ("session_updated", LATE_WS ("w1", "s2"), "{'name':'S2'}"),
      NULL } },
  { "in-place/workspace", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_EVENT ("workspace_created", "",
                  "{'id':'w2','name':'Late','created':5}", "e200", "d2",
                  "200"),
      LATE_SESSION ("w1", "s1", "300"),
      LATE_LATER ("workspace_updated", LATE_W ("w1"), "{'name':'W1'}"),
      NULL } },
  /* An update that missed the state came before the late create: it does
   * not hold the create back. */
  { "in-place/after-missed-update", 3, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_EVENT ("state_updated", LATE_W ("w1") "'stateId':'st1',",
                  "{'name':'Missed'}", "e150", "d1", "150"),
      LATE_SESSION ("w1", "s1", "200"),
      LATE_LATE ("state_saved", LATE_WS ("w1", "s1"),
                 "{'id':'st1','name':'Late'}"),
      LATE_SESSION ("w1", "s2", "400"),
      NULL } },
  /* Refused: its row exists (a later re-create made it). */
  { "refused/re-created", 1, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("trace_added", LATE_WS ("w1", "s1"),
                 "{'id':'t1','content':'early'}"),
      LATE_LATER ("trace_added", LATE_WS ("w1", "s1"),
                  "{'id':'t1','traceType':'again'}"),
      NULL } },
  /* Refused: a later update of its id found no row then. */
  { "refused/updated", 1, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_ST1,
      LATE_LATER ("state_updated", LATE_W ("w1") "'stateId':'st1',",
                  "{'name':'Renamed'}"),
      NULL } },
  /* Refused: a later state_deleted of its id. */
  { "refused/state-deleted", 1, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_ST1,
      LATE_LATER ("state_deleted", LATE_W ("w1") "'stateId':'st1',", "{}"),
      NULL } },
  /* A later delete of its workspace: applied, then deleted by it (and
   * recorded as that delete would have); the workspace is used again. */
  { "in-place/workspace-deleted", 2, TRUE,
    { LATE_W1_S1,
      LATE_T1,
      LATE_LATER ("workspace_deleted", LATE_W ("w1"), "{}"),
      LATE_EVENT ("trace_added", LATE_WS ("w1", "s1"), "{'id':'t2'}", "e500",
                  "d1", "500"),
      NULL } },
  /* A late state_deleted of a state there, with later events on others
   * (Late state deletes in place). */
  { "in-place/state-deleted", 3, TRUE,
    { LATE_W1_S1,
      LATE_ST1_SAVED ("w1"),
      LATE_ST1_DELETE,
      LATE_LATER ("state_saved", LATE_WS ("w1", "s1"), "{'id':'st2'}"),
      LATE_EVENT ("state_updated", LATE_W ("w1") "'stateId':'st2',",
                  "{'name':'N'}", "e500", "d1", "500"),
      NULL } },
  /* A late state_deleted of a state that never was: a no-op, recorded. */
  { "in-place/state-deleted-missing", 2, TRUE,
    { LATE_W1_S1,
      LATE_ST1_DELETE,
      LATE_LATER ("state_saved", LATE_WS ("w1", "s1"), "{'id':'st2'}"),
      NULL } },
  /* Refused: the state is saved after the late delete. */
  { "refused/state-deleted-saved-later", 2, FALSE,
    { LATE_W1_S1,
      LATE_ST1_DELETE,
      LATE_LATER ("state_saved", LATE_WS ("w1", "s1"), "{'id':'st1'}"),
      NULL } },
  /* Refused: its session moved away later, taking the state (found by
   * its id in the other workspace). */
  { "refused/state-deleted-moved-away", 3, FALSE,
    { LATE_W1_S1,
      LATE_ST1_SAVED ("w1"),
      LATE_ST1_DELETE,
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'workspaceId':'w2'}"),
      NULL } },
  /* Refused: the state was in another workspace at the delete, and its
   * session moved here later. */
  { "refused/state-deleted-moved-here", 4, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_WORKSPACE ("w2", "110"),
      LATE_SESSION ("w2", "s1", "200"),
      LATE_ST1_SAVED ("w2"),
      LATE_ST1_DELETE,
      LATE_LATER ("session_updated", LATE_WS ("w2", "s1"),
                  "{'workspaceId':'w1'}"),
      NULL } },
  /* Refused: a late workspace deleted later. */
  { "refused/workspace-deleted", 0, FALSE,
    { LATE_LATE ("workspace_created", "", "{'id':'w1','name':'Late'}"),
      LATE_LATER ("workspace_deleted", LATE_W ("w1"), "{}"),
      NULL } },
  /* Refused: its id was a row of another workspace, deleted later with it
   * (in key order the late create finds that row and changes nothing). */
  { "refused/deleted-elsewhere", 2, FALSE,
    { LATE_EVENT ("state_saved", LATE_WS ("w9", "s9"), "{'id':'st1'}",
                  "e100", "d1", "100"),
      LATE_WORKSPACE ("w1", "200"),
      LATE_ST1,
      LATE_LATER ("workspace_deleted", LATE_W ("w9"), "{}"),
      NULL } },
  /* Refused: its session moved out of its workspace later. */
  { "refused/moved", 2, FALSE,
    { LATE_W1_S1,
      LATE_T1,
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'workspaceId':'w2'}"),
      NULL } },
  /* Refused: a late session whose move came later (and missed it then). */
  { "refused/session-moved", 1, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_SESSION ("w1", "s1", "300"),
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'workspaceId':'w2'}"),
      NULL } },
  /* Refused: a late workspace updated later. */
  { "refused/workspace-updated", 0, FALSE,
    { LATE_LATE ("workspace_created", "", "{'id':'w1','name':'Late'}"),
      LATE_LATER ("workspace_updated", LATE_W ("w1"), "{'name':'Renamed'}"),
      NULL } },
  /* Late updates of rows no later event acted on: a workspace, a session
   * (later events on other rows), a state (a later trace of its session). */
  { "in-place/workspace-updated", 1, TRUE,
    { LATE_W1_UPDATED,
      LATE_LATER ("session_created", LATE_W ("w1"), "{'id':'s1'}"),
      LATE_EVENT ("workspace_updated", LATE_W ("w2"), "{'name':'Other'}",
                  "e500", "d1", "500"),
      NULL } },
  { "in-place/session-updated", 2, TRUE,
    { LATE_W1_S1,
      LATE_LATE ("session_updated", LATE_WS ("w1", "s1"),
                 "{'name':'Late','description':'d'}"),
      LATE_SESSION ("w1", "s2", "400"),
      LATE_EVENT ("session_updated", LATE_WS ("w1", "s2"),
                  "{'workspaceId':'w2'}", "e500", "d1", "500"),
      NULL } },
  { "in-place/state-updated", 3, TRUE,
    { LATE_W1_S1,
      LATE_EVENT ("state_saved", LATE_WS ("w1", "s1"),
                  "{'id':'st1','name':'Saved'}", "e250", "d1", "250"),
      LATE_ST1_UPDATE,
      LATE_LATER ("trace_added", LATE_WS ("w1", "s1"), "{'id':'t1'}"),
      NULL } },
  /* Late updates of a workspace deleted before them and of a session
   * that never was: no row in key order either, only their records. */
  { "in-place/workspace-updated-deleted", 2, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_EVENT ("workspace_deleted", LATE_W ("w1"), "{}", "e200", "d1",
                  "200"),
      LATE_LATE ("workspace_updated", LATE_W ("w1"), "{'name':'Gone'}"),
      LATE_LATER ("workspace_updated", LATE_W ("w2"), "{'name':'Other'}"),
      NULL } },
  { "in-place/session-updated-missing", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("session_updated", LATE_WS ("w1", "s9"), "{'name':'No'}"),
      LATE_SESSION ("w1", "s1", "400"),
      NULL } },
  /* Late updates whose every column later events set again: a no-op.  A
   * later update (with more columns), a re-create of the id, a later
   * delete of the state, of the session's workspace, of the workspace. */
  { "in-place/overwritten", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("workspace_updated", LATE_W ("w1"),
                 "{'name':'Early','lastAccessed':5}"),
      LATE_LATER ("workspace_updated", LATE_W ("w1"),
                  "{'name':'Later','description':'d'}"),
      LATE_EVENT ("workspace_updated", LATE_W ("w1"), "{'lastAccessed':9}",
                  "e500", "d1", "500"),
      NULL } },
  { "in-place/overwritten-by-create", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("workspace_updated", LATE_W ("w1"), "{'name':'Early'}"),
      LATE_LATER ("workspace_created", "", "{'id':'w1','name':'Again'}"),
      NULL } },
  { "in-place/overwritten-state-deleted", 3, TRUE,
    { LATE_W1_S1,
      LATE_ST1_SAVED ("w1"),
      LATE_ST1_UPDATE,
      LATE_LATER ("state_deleted", LATE_W ("w1") "'stateId':'st1',", "{}"),
      NULL } },
  { "in-place/overwritten-workspace-deleted", 2, TRUE,
    { LATE_W1_S1,
      LATE_LATE ("session_updated", LATE_WS ("w1", "s1"),
                 "{'name':'Late','endTime':7}"),
      LATE_LATER ("workspace_deleted", LATE_W ("w1"), "{}"),
      NULL } },
  { "in-place/overwritten-deleted", 1, TRUE,
    { LATE_W1_UPDATED,
      LATE_LATER ("workspace_deleted", LATE_W ("w1"), "{}"),
      LATE_EVENT ("workspace_created", "", "{'id':'w1','name':'New'}",
                  "e500", "d1", "500"),
      NULL } },
  /* A session moved after the late update: the update after the move sets
   * its column again. */
  { "in-place/overwritten-after-move", 2, TRUE,
    { LATE_S1_RENAMED_MOVED,
      LATE_EVENT ("session_updated", LATE_WS ("w2", "s1"), "{'name':'S'}",
                  "e500", "d1", "500"),
      NULL } },
  /* Late updates some of whose columns later events set again: those
   * stay, the others are set now (a workspace, a session); a workspace or
   * session that is not there takes nothing. */
  { "in-place/partly-overwritten", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("workspace_updated", LATE_W ("w1"),
                 "{'name':'Early','description':'d'}"),
      LATE_LATER ("workspace_updated", LATE_W ("w1"), "{'name':'Later'}"),
      NULL } },
  { "in-place/partly-overwritten-session", 2, TRUE,
    { LATE_W1_S1,
      LATE_LATE ("session_updated", LATE_WS ("w1", "s1"),
                 "{'name':'Late','endTime':7}"),
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'name':'Later','isActive':false}"),
      NULL } },
  { "in-place/partly-overwritten-missing", 1, TRUE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_LATE ("workspace_updated", LATE_W ("w9"),
                 "{'name':'Early','description':'d'}"),
      LATE_LATER ("workspace_updated", LATE_W ("w9"), "{'name':'Later'}"),
      NULL } },
  /* Refused: the workspace a late update partly overwritten missed was
   * created later (in key order the update finds no row). */
  { "refused/partly-overwritten-created-later", 1, FALSE,
    { LATE_WORKSPACE ("w0", "100"),
      LATE_LATE ("workspace_updated", LATE_W ("w1"),
                 "{'name':'Early','description':'d'}"),
      LATE_LATER ("workspace_created", "", "{'id':'w1','name':'W'}"),
      LATE_EVENT ("workspace_updated", LATE_W ("w1"), "{'name':'Later'}",
                  "e500", "d1", "500"),
      NULL } },
  /* Refused: the session a late update partly overwritten missed moved
   * into its workspace later. */
  { "refused/partly-overwritten-moved-here", 3, FALSE,
    { LATE_W1_S1,
      LATE_WORKSPACE ("w2", "250"),
      LATE_LATE ("session_updated", LATE_WS ("w2", "s1"),
                 "{'name':'Late','endTime':7}"),
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'workspaceId':'w2'}"),
      LATE_EVENT ("session_updated", LATE_WS ("w2", "s1"), "{'name':'S'}",
                  "e500", "d1", "500"),
      NULL } },
  /* Refused: the update after a move of the session missed it (it names
   * the workspace the session left), and the late update's name is set by
   * no later event. */
  { "refused/overwrite-missed-move", 2, FALSE,
    { LATE_S1_RENAMED_MOVED,
      LATE_EVENT ("session_updated", LATE_WS ("w1", "s1"),
                  "{'name':'Missed'}", "e500", "d1", "500"),
      NULL } },
  /* Refused: the state a late update missed was saved later (an insert
   * records no column: the row it makes is new). */
  { "refused/saved-later", 2, FALSE,
    { LATE_W1_S1,
      LATE_ST1_UPDATE,
      LATE_LATER ("state_saved", LATE_WS ("w1", "s1"), "{'id':'st1'}"),
      NULL } },
  /* Refused: a late update of a state whose session moved into the
   * update's workspace later (in key order the update finds no state
   * there, and the move then brings the state without its values). */
  { "refused/state-updated-moved", 3, FALSE,
    { LATE_WORKSPACE ("w1", "100"),
      LATE_SESSION ("w2", "s1", "200"),
      LATE_ST1_SAVED ("w2"),
      LATE_ST1_UPDATE,
      LATE_LATER ("session_updated", LATE_WS ("w2", "s1"),
                  "{'workspaceId':'w1'}"),
      NULL } },
  /* Refused: a late update of a state that a later move of its session
   * took out of the update's workspace (in key order it moves with the
   * update's values). */
  { "refused/state-moved-away", 3, FALSE,
    { LATE_W1_S1,
      LATE_ST1_SAVED ("w1"),
      LATE_ST1_UPDATE,
      LATE_LATER ("session_updated", LATE_WS ("w1", "s1"),
                  "{'workspaceId':'w2'}"),
      NULL } },
  /* Refused: a late move (now it would also move a later trace). */
  { "refused/late-move", 2, FALSE,
    { LATE_W1_S1,
      LATE_LATE ("session_updated", LATE_WS ("w1", "s1"),
                 "{'workspaceId':'w2'}"),
      LATE_LATER ("trace_added", LATE_WS ("w1", "s1"), "{'id':'t1'}"),
      NULL } },
};

/* A malformed late create: without its ids it is left to the replay (which
 * fails it); with a blank workspace id late() fails it as apply() does,
 * writing nothing. */
static void
test_late_malformed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gboolean applied = TRUE;
  json_object *before, *after, *json;
  JsyncEvent event;

  apply_workspace_tree (f, "w1", 1000);
  before = harness_dump (f->harness);
  json = test_event_parse (LATE_EVENT ("trace_added", LATE_WS ("w1", "w1-s"),
                                       "{'content':'no id'}", "e1", "d2",
                                       "500"), &event);
  g_assert_true (f->desc->late (f->state, &event, &applied, &error));
  g_assert_no_error (error);
  g_assert_false (applied);
  json_object_put (json);

  applied = TRUE;
  json = test_event_parse (LATE_EVENT ("trace_added", LATE_WS (" ", "w1-s"),
                                       "{'id':'t1'}", "e2", "d2", "500"),
                           &event);
  g_assert_false (f->desc->late (f->state, &event, &applied, &error));
  g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "trace_added: workspaceId: \" \" names no workspace");
  g_assert_false (applied);
  json_object_put (json);

  after = harness_dump (f->harness);
  harness_assert_dump_equal (after, before);
  json_object_put (after);
  json_object_put (before);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/workspace/descriptor", test_descriptor);
  ADD ("/workspace/schema/idempotent", test_schema_idempotent);
  ADD ("/workspace/create/defaults", test_workspace_create_defaults);
  ADD ("/workspace/create/full", test_workspace_create_full);
  ADD ("/workspace/create/again", test_workspace_create_again);
  ADD ("/workspace/create/null", test_workspace_create_null);
  ADD ("/workspace/update/present-keys", test_workspace_update);
  ADD ("/workspace/update/missing", test_workspace_update_missing);
  ADD ("/workspace/delete/cascade", test_workspace_delete);
  ADD ("/workspace/session/create", test_session_create);
  ADD ("/workspace/session/create-again", test_session_create_again);
  ADD ("/workspace/session/update", test_session_update);
  ADD ("/workspace/state/save", test_state_save);
  ADD ("/workspace/state/save-again", test_state_save_again);
  ADD ("/workspace/state/delete", test_state_delete);
  ADD ("/workspace/trace/add", test_trace_add);
  ADD ("/workspace/trace/add-again", test_trace_add_again);
  ADD ("/workspace/invalid/fields", test_invalid);
  ADD ("/workspace/invalid/then-valid", test_invalid_then_valid);
  ADD ("/workspace/invalid/blank-ids", test_blank_workspace_ids);
  ADD ("/workspace/archived", test_is_archived);
  ADD ("/workspace/state/update", test_state_update);
  ADD ("/workspace/session/move", test_session_move);
  ADD ("/workspace/clear-replay", test_clear_replay);
  ADD ("/workspace/clear", test_clear);
  ADD ("/workspace/fts/exact", test_fts);
  ADD ("/workspace/replay/nexus", test_replay_nexus);
  ADD ("/workspace/late/malformed", test_late_malformed);
  harness_add_late_cases ("/workspace/late/", "workspace", LATE_BOOKKEEPING,
                          late_cases, G_N_ELEMENTS (late_cases));

#undef ADD
  return g_test_run ();
}
