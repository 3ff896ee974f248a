/* test-task.c: the bundled `task` applier, driven directly.
 *
 * Each case applies events through the harness (a savepoint and a batch
 * per event, as the core would) and reads back the rows a user would
 * query.  Events are written as their envelope members with ' for ";
 * task_apply() below adds the id, deviceId and a timestamp of 1000 times
 * the event's rank in the case, so the n-th event's time is n * 1000.
 * Rows read back as "value|value|..." lines, NULL for SQL NULL.
 */
#include <locale.h>

#include "applier-harness.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

typedef struct
{
  Harness *harness;             /* owned */
  guint serial;                 /* events applied so far */
} Fixture;

/* The appliers a case loads: the task applier, alone or beside the
 * workspace applier. */
static const char *const task_alone[] = { "task", NULL };
static const char *const task_with_workspace[] = { "workspace", "task", NULL };

/* One step of a case: an event to apply (its members), then, when query
 * is set, the rows the query must give. */
typedef struct
{
  const char *event;            /* nullable */
  const char *query;            /* nullable */
  const char *rows;
} TaskStep;

/* A case: its path, the appliers it loads, and, for the cases that are
 * only steps (task_run_steps), its steps. */
typedef struct
{
  const char *path;
  const char *const *appliers;
  const TaskStep *steps;         /* nullable */
  gsize n_steps;
  gboolean after_tree;          /* the steps come after apply_tree() */
} TaskCase;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const TaskCase *c = data;

  f->harness = harness_new (c->appliers);
  f->serial = 0;
}

static void
fixture_tear_down (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  harness_free (f->harness);
}

/* Apply one event given by its members (without id, deviceId and
 * timestamp); FALSE with error set when the applier rejects it. */
static gboolean
task_apply (Fixture *f, const char *members, GError **error)
{
  g_autofree char *line = NULL;

  f->serial++;
  line = g_strdup_printf ("{%s,'id':'event-%u','deviceId':'device',"
                          "'timestamp':%u}", members, f->serial,
                          f->serial * 1000);
  g_strdelimit (line, "'", '"');
  return harness_apply (f->harness, line, error);
}

static void
task_apply_ok (Fixture *f, const char *members)
{
  g_autoptr(GError) error = NULL;

  g_test_message ("%s", members);
  g_assert_true (task_apply (f, members, &error));
  g_assert_no_error (error);
}

/* An event the applier must reject, and the message it gives. */
typedef struct
{
  const char *members;
  const char *message;
} TaskInvalid;

/* Assert each event fails as invalid with its message, and that none of
 * them changed a row. */
static void
task_assert_invalid (Fixture *f, const TaskInvalid *invalid, gsize n)
{
  g_autoptr(json_object) before = harness_dump (f->harness);
  g_autoptr(json_object) after = NULL;

  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", invalid[i].members);
      g_assert_false (task_apply (f, invalid[i].members, &error));
      g_assert_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, invalid[i].message);
    }
  after = harness_dump (f->harness);
  g_assert_true (json_object_equal (after, before));
}

/* The rows of a query, one "a|b|c" line each, "NULL" for SQL NULL. */
static char *
task_rows (Fixture *f, const char *sql)
{
  g_autoptr(GString) rows = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (harness_get_db (f->harness), sql, -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      for (int i = 0; i < sqlite3_column_count (stmt); i++)
        {
          const char *text = (const char *) sqlite3_column_text (stmt, i);

          g_string_append_printf (rows, "%s%s", i > 0 ? "|" : "",
                                  text != NULL ? text : "NULL");
        }
      g_string_append_c (rows, '\n');
    }
  sqlite3_finalize (stmt);
  return g_string_free (g_steal_pointer (&rows), FALSE);
}

#define assert_rows(f, sql, expected)                   \
  G_STMT_START                                          \
  {                                                     \
    g_autofree char *rows_ = task_rows ((f), (sql));    \
    g_assert_cmpstr (rows_, ==, (expected));            \
  }                                                     \
  G_STMT_END

static void
task_run_steps (Fixture *f, const TaskStep *steps, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      if (steps[i].event != NULL)
        task_apply_ok (f, steps[i].event);
      if (steps[i].query != NULL)
        assert_rows (f, steps[i].query, steps[i].rows);
    }
}

#define RUN_STEPS(f, steps) task_run_steps ((f), (steps), G_N_ELEMENTS (steps))

static void apply_tree (Fixture *f);

static void
test_steps (Fixture *f, gconstpointer data)
{
  const TaskCase *c = data;

  if (c->after_tree)
    apply_tree (f);
  task_run_steps (f, c->steps, c->n_steps);
}

#define ASSERT_INVALID(f, invalid) \
  task_assert_invalid ((f), (invalid), G_N_ELEMENTS (invalid))

/* Every column of projects and tasks, in the schema's order. */
#define PROJECTS "SELECT * FROM projects ORDER BY id"
#define TASKS "SELECT * FROM tasks ORDER BY id"
#define DEPENDENCIES \
  "SELECT * FROM task_dependencies ORDER BY taskId, dependsOnTaskId"
#define LINKS "SELECT * FROM task_note_links ORDER BY taskId, notePath"

/* A project p in workspace w, and a task t in it (events 1 and 2). */
#define PROJECT_P \
  "'type':'project_created','data':{'id':'p','workspaceId':'w','name':'P'}"
#define TASK_T \
  "'type':'task_created','data':{'id':'t','projectId':'p'," \
  "'workspaceId':'w','title':'T'}"

/* --- The descriptor */

static const TaskInvalid invalid_types[] = {
  { "'type':'task_archived','taskId':'t'",
    "task_archived: unknown event type" },
};

static void
test_descriptor (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  const JsyncApplierDesc *desc = harness_get_desc (f->harness, "task");

  g_assert_cmpstr (desc->name, ==, "task");
  g_assert_cmpstr (desc->prefixes[0], ==, "project_");
  g_assert_cmpstr (desc->prefixes[1], ==, "task_");
  g_assert_null (desc->prefixes[2]);
  /* One stream: no finer split keeps the order (task.c's head comment). */
  g_assert_null (desc->stream);
  g_assert_nonnull (desc->end_batch);
  /* The schema runs twice without harm. */
  g_assert_true (jsync_sql_exec (harness_get_db (f->harness),
                                 desc->schema_sql, NULL));
  ASSERT_INVALID (f, invalid_types);
}

/* --- Projects */

static const TaskStep project_created_steps[] = {
  { PROJECT_P },
  { "'type':'project_created','data':{'id':'q',"
    "'workspaceId':'w','name':'Q','description':'about',"
    "'status':'paused','created':5,'updated':6,"
    "'metadataJson':'{\\'a\\':1}'}" },
  /* null: absent where there is a default, NULL elsewhere. */
  { "'type':'project_created','data':{'id':'r',"
    "'workspaceId':'w','name':'R','description':null,"
    "'status':null,'created':null,'metadataJson':null}",
    PROJECTS, "p|w|P|NULL|active|1000|1000|NULL\n"
              "q|w|Q|about|paused|5|6|{\"a\":1}\n"
              "r|w|R|NULL|active|3000|3000|NULL\n" },
};

static const TaskInvalid invalid_project_creates[] = {
  { "'type':'project_created','data':{'workspaceId':'w',"
    "'name':'P'}",
    "project_created: missing data.id" },
  { "'type':'project_created','data':{'id':'p',"
    "'name':'P'}",
    "project_created: missing data.workspaceId" },
  { "'type':'project_created','data':{'id':'p',"
    "'workspaceId':'w'}",
    "project_created: missing data.name" },
  { "'type':'project_created','data':{'id':'p',"
    "'workspaceId':'w','name':null}",
    "project_created: data.name: expected a string" },
  { "'type':'project_created','data':{'id':'p',"
    "'workspaceId':'w','name':'P','created':'now'}",
    "project_created: data.created: expected an integer" },
  { "'type':'project_created','data':[1]",
    "project_created: data: expected an object" },
};

static const TaskInvalid invalid_project_events[] = {
  { "'type':'project_updated','data':{'name':'Q'}",
    "project_updated: missing projectId" },
  { "'type':'project_updated','projectId':'p',"
    "'data':{'name':null}",
    "project_updated: data.name: expected a string" },
  { "'type':'project_deleted','projectId':7",
    "project_deleted: projectId: expected a string" },
};

static void
test_project_invalid (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ASSERT_INVALID (f, invalid_project_creates);
  task_apply_ok (f, PROJECT_P);
  ASSERT_INVALID (f, invalid_project_events);
  /* The failed events took their turns: p is the 7th. */
  assert_rows (f, PROJECTS, "p|w|P|NULL|active|7000|7000|NULL\n");
}

static const TaskStep project_updated_steps[] = {
  { "'type':'project_created','data':{'id':'p',"
    "'workspaceId':'w','name':'P','description':'d',"
    "'metadataJson':'{}'}" },
  /* Only the keys carried; null status keeps it, null description
   * clears it; workspaceId and created are not an update's. */
  { "'type':'project_updated','projectId':'p','data':{"
    "'name':'P2','status':null,'description':null,"
    "'updated':77,'workspaceId':'elsewhere','created':1}",
    PROJECTS, "p|w|P2|NULL|active|1000|77|{}\n" },
  { "'type':'project_updated','projectId':'p','data':{"
    "'status':'done','metadataJson':null}",
    PROJECTS, "p|w|P2|NULL|done|1000|77|NULL\n" },
  /* Nothing to update: no row appears. */
  { "'type':'project_updated','projectId':'q','data':{"
    "'name':'Q'}" },
  /* A create of an id that exists sets only its keys. */
  { "'type':'project_created','data':{'id':'p',"
    "'workspaceId':'w2','name':'P3'}",
    PROJECTS, "p|w2|P3|NULL|done|1000|77|NULL\n" },
};

/* Upstream's UNIQUE(workspaceId, name) with REPLACE deleted the first. */
static const TaskStep project_same_name_steps[] = {
  { PROJECT_P },
  { "'type':'project_created','data':{'id':'p2',"
    "'workspaceId':'w','name':'P'}",
    "SELECT id, workspaceId, name FROM projects ORDER BY id",
    "p|w|P\np2|w|P\n" },
};

/* --- Tasks */

static const TaskStep task_created_steps[] = {
  { TASK_T },
  { "'type':'task_created','data':{'id':'u','projectId':'p',"
    "'workspaceId':'w','parentTaskId':'t','title':'U',"
    "'description':'d','status':'doing','priority':'high',"
    "'created':5,'updated':6,'completedAt':7,'dueDate':8,"
    "'assignee':'ann','tagsJson':'[\\'x\\']',"
    "'metadataJson':'{}'}" },
  { "'type':'task_created','data':{'id':'v','projectId':'p',"
    "'workspaceId':'w','title':'V','parentTaskId':null,"
    "'status':null,'priority':null,'updated':null,"
    "'dueDate':null,'tagsJson':null}" },
  /* id projectId workspaceId parentTaskId title description status
   * priority created updated completedAt dueDate assignee tagsJson
   * metadataJson; t's project was never created: stored all the same. */
  { NULL,
    TASKS, "t|p|w|NULL|T|NULL|todo|medium|1000|1000|NULL|NULL|NULL|NULL"
           "|NULL\n"
           "u|p|w|t|U|d|doing|high|5|6|7|8|ann|[\"x\"]|{}\n"
           "v|p|w|NULL|V|NULL|todo|medium|3000|3000|NULL|NULL|NULL|NULL"
           "|NULL\n" },
};

static const TaskInvalid invalid_task_creates[] = {
  { "'type':'task_created','data':{'projectId':'p',"
    "'workspaceId':'w','title':'T'}",
    "task_created: missing data.id" },
  { "'type':'task_created','data':{'id':'t',"
    "'workspaceId':'w','title':'T'}",
    "task_created: missing data.projectId" },
  { "'type':'task_created','data':{'id':'t',"
    "'projectId':'p','title':'T'}",
    "task_created: missing data.workspaceId" },
  { "'type':'task_created','data':{'id':'t',"
    "'projectId':'p','workspaceId':'w'}",
    "task_created: missing data.title" },
  { "'type':'task_created','data':{'id':'t',"
    "'projectId':'p','workspaceId':null,'title':'T'}",
    "task_created: data.workspaceId: expected a string" },
  { "'type':'task_created','data':{'id':'t',"
    "'projectId':'p','workspaceId':'w','title':'T',"
    "'dueDate':1.5}",
    "task_created: data.dueDate: expected an integer" },
  { "'type':'task_created','data':{'id':'t',"
    "'projectId':'p','workspaceId':'w','title':'T',"
    "'tagsJson':['x']}",
    "task_created: data.tagsJson: expected a string" },
};

static const TaskInvalid invalid_task_events[] = {
  { "'type':'task_updated','data':{'title':'U'}",
    "task_updated: missing taskId" },
  { "'type':'task_updated','taskId':'t',"
    "'data':{'projectId':null}",
    "task_updated: data.projectId: expected a string" },
  { "'type':'task_updated','taskId':'t',"
    "'data':{'completedAt':'yesterday'}",
    "task_updated: data.completedAt: expected an integer" },
  { "'type':'task_deleted'",
    "task_deleted: missing taskId" },
  { "'type':'task_dependency_added','taskId':'t'",
    "task_dependency_added: missing dependsOnTaskId" },
  { "'type':'task_dependency_removed',"
    "'dependsOnTaskId':'t'",
    "task_dependency_removed: missing taskId" },
  { "'type':'task_note_linked','taskId':'t'",
    "task_note_linked: missing notePath" },
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'a.md','linkType':3",
    "task_note_linked: linkType: expected a string" },
  { "'type':'task_note_unlinked','notePath':'a.md'",
    "task_note_unlinked: missing taskId" },
};

static void
test_task_invalid (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  ASSERT_INVALID (f, invalid_task_creates);
  task_apply_ok (f, TASK_T);
  ASSERT_INVALID (f, invalid_task_events);
}

static const TaskStep task_updated_steps[] = {
  { "'type':'task_created','data':{'id':'t','projectId':'p',"
    "'workspaceId':'w','parentTaskId':'s','title':'T',"
    "'priority':'low','assignee':'ann','dueDate':9}" },
  { "'type':'task_updated','taskId':'t','data':{"
    "'status':'done','completedAt':50,'updated':51}",
    "SELECT parentTaskId, status, priority, completedAt,"
    " updated, dueDate, assignee FROM tasks", "s|done|low|50|51|9|ann\n" },
  /* null clears parentTaskId, completedAt, dueDate and assignee; keeps
   * status and priority (they have defaults). */
  { "'type':'task_updated','taskId':'t','data':{"
    "'parentTaskId':null,'completedAt':null,'dueDate':null,"
    "'assignee':null,'status':null,'priority':null}",
    "SELECT parentTaskId, status, priority, completedAt,"
    " updated, dueDate, assignee FROM tasks",
    "NULL|done|low|NULL|51|NULL|NULL\n" },
  /* A move to another project keeps the workspace; workspaceId and
   * created are not an update's. */
  { "'type':'task_updated','taskId':'t','data':{"
    "'projectId':'q','workspaceId':'w2','created':1,"
    "'title':'T2','tagsJson':'[]'}",
    "SELECT projectId, workspaceId, created, title, tagsJson"
    " FROM tasks", "q|w|1000|T2|[]\n" },
  /* No such task: nothing. */
  { "'type':'task_updated','taskId':'x','data':{"
    "'title':'X'}",
    "SELECT id FROM tasks", "t\n" },
  /* A create of an id that exists sets only its keys, workspaceId too. */
  { "'type':'task_created','data':{'id':'t','projectId':'p',"
    "'workspaceId':'w3','title':'T3'}",
    "SELECT projectId, workspaceId, title, status, priority"
    " FROM tasks", "p|w3|T3|done|low\n" },
};

/* --- Dependencies and note links */

static const TaskStep dependencies_steps[] = {
  /* Tasks need not exist, and nothing checks for cycles or self-edges. */
  { "'type':'task_dependency_added','taskId':'a',"
    "'dependsOnTaskId':'b'" },
  { "'type':'task_dependency_added','taskId':'a',"
    "'dependsOnTaskId':'b'" },
  { "'type':'task_dependency_added','taskId':'b',"
    "'dependsOnTaskId':'a'" },
  { "'type':'task_dependency_added','taskId':'c',"
    "'dependsOnTaskId':'c'" },
  /* Added twice: one edge, created by the first. */
  { NULL,
    DEPENDENCIES, "a|b|1000\nb|a|3000\nc|c|4000\n" },
  { "'type':'task_dependency_removed','taskId':'a',"
    "'dependsOnTaskId':'b'" },
  { "'type':'task_dependency_removed','taskId':'x',"
    "'dependsOnTaskId':'y'",
    DEPENDENCIES, "b|a|3000\nc|c|4000\n" },
};

static const TaskStep note_links_steps[] = {
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'a.md'" },
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'b.md','linkType':'output'" },
  { "'type':'task_note_linked','taskId':'u',"
    "'notePath':'a.md','linkType':null" },
  /* A relink with another linkType changes nothing. */
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'a.md','linkType':'input'",
    LINKS, "t|a.md|reference|1000\nt|b.md|output|2000\n"
           "u|a.md|reference|3000\n" },
  { "'type':'task_note_unlinked','taskId':'t',"
    "'notePath':'a.md'",
    LINKS, "t|b.md|output|2000\nu|a.md|reference|3000\n" },
  /* Linked again after the unlink: a new link. */
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'a.md','linkType':'input'",
    LINKS, "t|a.md|input|6000\nt|b.md|output|2000\n"
           "u|a.md|reference|3000\n" },
};

/* --- Deletes */

/* Projects p and q; t and its subtask s in p, u in q with parent t;
 * edges t→u, u→t, s→u; links of t and u. */
static const TaskStep tree_steps[] = {
  { PROJECT_P },
  { "'type':'project_created','data':{'id':'q',"
    "'workspaceId':'w','name':'Q'}" },
  { TASK_T },
  { "'type':'task_created','data':{'id':'s','projectId':'p',"
    "'workspaceId':'w','title':'S','parentTaskId':'t'}" },
  { "'type':'task_created','data':{'id':'u','projectId':'q',"
    "'workspaceId':'w','title':'U','parentTaskId':'t'}" },
  { "'type':'task_dependency_added','taskId':'t',"
    "'dependsOnTaskId':'u'" },
  { "'type':'task_dependency_added','taskId':'u',"
    "'dependsOnTaskId':'t'" },
  { "'type':'task_dependency_added','taskId':'s',"
    "'dependsOnTaskId':'u'" },
  { "'type':'task_note_linked','taskId':'t',"
    "'notePath':'t.md'" },
  { "'type':'task_note_linked','taskId':'u',"
    "'notePath':'u.md'" },
};

static void
apply_tree (Fixture *f)
{
  RUN_STEPS (f, tree_steps);
}

static const TaskStep task_deleted_steps[] = {
  /* t's edges on either side and its links go; its subtasks stay,
   * without a parent. */
  { "'type':'task_deleted','taskId':'t'",
    "SELECT id, projectId, parentTaskId FROM tasks ORDER BY id",
    "s|p|NULL\nu|q|NULL\n" },
  { NULL, DEPENDENCIES, "s|u|8000\n" },
  { NULL, LINKS, "u|u.md|reference|10000\n" },
  { NULL, "SELECT kind, id FROM task_workspace_refs ORDER BY kind, id",
    "project|p\nproject|q\ntask|s\ntask|u\n" },
  /* A task that is not there still takes its edges and links along. */
  { "'type':'task_dependency_added','taskId':'x','dependsOnTaskId':'u'" },
  { "'type':'task_deleted','taskId':'x'", DEPENDENCIES, "s|u|8000\n" },
};

static const TaskStep project_deleted_steps[] = {
  /* p, its tasks t and s, their edges and links go; u (in q) loses its
   * parent. */
  { "'type':'project_deleted','projectId':'p'", "SELECT id FROM projects",
    "q\n" },
  { NULL, "SELECT id, projectId, parentTaskId FROM tasks", "u|q|NULL\n" },
  { NULL, DEPENDENCIES, "" },
  { NULL, LINKS, "u|u.md|reference|10000\n" },
  { NULL, "SELECT kind, id FROM task_workspace_refs ORDER BY kind, id",
    "project|q\ntask|u\n" },
  /* A project never created: its tasks go all the same. */
  { "'type':'task_created','data':{'id':'v','projectId':'z',"
    "'workspaceId':'w','title':'V'}" },
  { "'type':'project_deleted','projectId':'z'", "SELECT id FROM tasks",
    "u\n" },
};

static void
test_clear (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  const JsyncApplierDesc *desc = harness_get_desc (f->harness, "task");
  g_autoptr(GError) error = NULL;

  apply_tree (f);
  g_assert_true (desc->clear (harness_get_state (f->harness, "task"),
                              &error));
  g_assert_no_error (error);
  assert_rows (f, "SELECT (SELECT count(*) FROM projects)"
                  " + (SELECT count(*) FROM tasks)"
                  " + (SELECT count(*) FROM task_dependencies)"
                  " + (SELECT count(*) FROM task_note_links)"
                  " + (SELECT count(*) FROM task_workspace_refs)",
               "0\n");
}

/* --- Workspace names */

/* Create the workspaces table by hand (as the workspace applier would),
 * with or without isArchived. */
static void
make_workspaces (Fixture *f, gboolean archivable)
{
  g_autofree char *sql = g_strdup_printf (
      "CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL%s);"
      "INSERT INTO workspaces (id, name) VALUES ('w-dev1', 'Dev'),"
      " ('w-dev2', 'dev'), ('w-ops', 'Ops'), ('w-old', 'Old');",
      archivable ? ", isArchived INTEGER DEFAULT 0" : "");

  g_assert_true (jsync_sql_exec (harness_get_db (f->harness), sql, NULL));
  if (archivable)
    g_assert_true (jsync_sql_exec (harness_get_db (f->harness),
                                   "UPDATE workspaces SET isArchived = 1"
                                   " WHERE id = 'w-old'", NULL));
}

/* Projects naming a workspace by id, by name in other case, by an
 * ambiguous name, by an archived one's name, by no workspace's; and a
 * task naming one by name. */
static void
apply_named (Fixture *f)
{
  static const char *const raws[] = { "w-ops", "ops", "dev", "Old", "none" };

  for (guint i = 0; i < G_N_ELEMENTS (raws); i++)
    {
      g_autofree char *event = g_strdup_printf (
          "'type':'project_created','data':{'id':'p%u','workspaceId':'%s',"
          "'name':'P'}", i, raws[i]);

      task_apply_ok (f, event);
    }
  task_apply_ok (f, "'type':'task_created','data':{'id':'t','projectId':'p0',"
                    "'workspaceId':'OPS','title':'T'}");
}

static void
test_names (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  make_workspaces (f, TRUE);
  apply_named (f);
  assert_rows (f, "SELECT id, workspaceId FROM projects ORDER BY id",
               "p0|w-ops\np1|w-ops\np2|dev\np3|Old\np4|none\n");
  assert_rows (f, "SELECT workspaceId FROM tasks", "w-ops\n");
  /* The raw values are kept. */
  assert_rows (f, "SELECT raw FROM task_workspace_refs ORDER BY kind, id",
               "w-ops\nops\ndev\nOld\nnone\nOPS\n");
}

/* Before the workspace applier has isArchived, no workspace is archived. */
static void
test_names_unarchivable (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  make_workspaces (f, FALSE);
  apply_named (f);
  assert_rows (f, "SELECT id, workspaceId FROM projects ORDER BY id",
               "p0|w-ops\np1|w-ops\np2|dev\np3|w-old\np4|none\n");
}

/* Without a workspaces table, raw values stay. */
static void
test_names_no_table (Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  apply_named (f);
  assert_rows (f, "SELECT id, workspaceId FROM projects ORDER BY id",
               "p0|w-ops\np1|ops\np2|dev\np3|Old\np4|none\n");
}

/* The column follows the workspaces table as it ends, whatever came first:
 * a workspace created after the task, renamed, made ambiguous, deleted. */
static const TaskStep names_follow_workspaces_steps[] = {
  { "'type':'task_created','data':{'id':'t','projectId':'p',"
    "'workspaceId':'ops','title':'T'}",
    "SELECT workspaceId FROM tasks", "ops\n" },
  { "'type':'workspace_created','data':{'id':'w-ops',"
    "'name':'Ops'}",
    "SELECT workspaceId FROM tasks", "w-ops\n" },
  { "'type':'workspace_updated','workspaceId':'w-ops',"
    "'data':{'name':'Operations'}",
    "SELECT workspaceId FROM tasks", "ops\n" },
  { "'type':'workspace_created','data':{'id':'w-ops2',"
    "'name':'OPS'}",
    "SELECT workspaceId FROM tasks", "w-ops2\n" },
  { "'type':'workspace_updated','workspaceId':'w-ops',"
    "'data':{'name':'ops'}",
    "SELECT workspaceId FROM tasks", "ops\n" },
  { "'type':'workspace_deleted','workspaceId':'w-ops2'",
    "SELECT workspaceId FROM tasks", "w-ops\n" },
  /* A workspace whose id is the raw value wins over names. */
  { "'type':'workspace_created','data':{'id':'ops',"
    "'name':'Other'}",
    "SELECT workspaceId FROM tasks", "ops\n" },
  /* A move keeps the resolved workspace. */
  { "'type':'task_updated','taskId':'t','data':{"
    "'projectId':'q'}",
    "SELECT projectId, workspaceId FROM tasks", "q|ops\n" },
};

typedef void (*TaskTestFunc) (Fixture *f, gconstpointer data);

/* The cases that are only steps. */
#define STEP_CASE(path, appliers, steps) \
  { path, appliers, steps, G_N_ELEMENTS (steps), FALSE }
#define TREE_CASE(path, steps) \
  { path, task_alone, steps, G_N_ELEMENTS (steps), TRUE }

static const TaskCase step_cases[] = {
  TREE_CASE ("/task/delete/task", task_deleted_steps),
  TREE_CASE ("/task/delete/project", project_deleted_steps),
  STEP_CASE ("/task/project/created", task_alone, project_created_steps),
  STEP_CASE ("/task/project/updated", task_alone, project_updated_steps),
  STEP_CASE ("/task/project/same-name", task_alone, project_same_name_steps),
  STEP_CASE ("/task/task/created", task_alone, task_created_steps),
  STEP_CASE ("/task/task/updated", task_alone, task_updated_steps),
  STEP_CASE ("/task/dependencies", task_alone, dependencies_steps),
  STEP_CASE ("/task/note-links", task_alone, note_links_steps),
  STEP_CASE ("/task/names/follow-workspaces", task_with_workspace,
             names_follow_workspaces_steps),
};

/* Add the cases given as (path, function) pairs, up to a NULL path, each
 * with a harness of the task applier alone. */
static void
add_cases (const char *path, ...)
{
  static const TaskCase alone = { NULL, task_alone };
  va_list args;

  va_start (args, path);
  for (; path != NULL; path = va_arg (args, const char *))
    g_test_add (path, Fixture, &alone, fixture_set_up,
                va_arg (args, TaskTestFunc), fixture_tear_down);
  va_end (args);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (step_cases); i++)
    g_test_add (step_cases[i].path, Fixture, &step_cases[i], fixture_set_up,
                test_steps, fixture_tear_down);
  add_cases ("/task/descriptor", test_descriptor,
             "/task/project/invalid", test_project_invalid,
             "/task/task/invalid", test_task_invalid,
             "/task/clear", test_clear,
             "/task/names/resolve", test_names,
             "/task/names/unarchivable", test_names_unarchivable,
             "/task/names/no-table", test_names_no_table,
             NULL);
  return g_test_run ();
}
