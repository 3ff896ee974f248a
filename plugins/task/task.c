/* task.c: the bundled `task` applier.
 *
 * Projects the project and task events of later Nexus versions
 * (tasks/tasks_<workspaceId>/shard-NNNNNN.jsonl) into the tables of
 * schemas/task.sql.  docs/format.md, "The `task` applier", is the
 * specification.  Events and fields (`?` = optional; envelope keys first,
 * then data.*):
 *
 *   project_created        data: id, workspaceId, name, description?,
 *                          status?, created?, updated?, metadataJson?
 *   project_updated        projectId; data: any of name, description,
 *                          status, updated, metadataJson
 *   project_deleted        projectId
 *   task_created           data: id, projectId, workspaceId, title,
 *                          parentTaskId?, description?, status?,
 *                          priority?, created?, updated?, completedAt?,
 *                          dueDate?, assignee?, tagsJson?, metadataJson?
 *   task_updated           taskId; data: any of projectId, parentTaskId,
 *                          title, description, status, priority, updated,
 *                          completedAt, dueDate, assignee, tagsJson,
 *                          metadataJson (never workspaceId)
 *   task_deleted           taskId
 *   task_dependency_added  taskId, dependsOnTaskId
 *   task_dependency_removed  taskId, dependsOnTaskId
 *   task_note_linked       taskId, notePath, linkType?
 *   task_note_unlinked     taskId, notePath
 *
 * Ids, names and texts are strings (tagsJson and metadataJson JSON held in
 * a string, stored as given), times integers.  A field of another type, or
 * a create without one of its required fields, fails the event before
 * anything is written.  null counts as absent where a column has an insert
 * default, stores NULL where the column may be NULL, and fails elsewhere.
 *
 * A create inserts with defaults; for an id that exists it sets only the
 * columns whose keys it carries.  An update sets the keys it carries and
 * changes nothing when the row is not there.  Edges and links are inserted
 * or ignored.  Deletes cascade: task_deleted removes the task, every
 * dependency naming it on either side and its note links, and clears its
 * subtasks' parentTaskId; project_deleted removes the project and does so
 * for each of its tasks.  Parents are never checked.
 *
 * Workspace names: the workspaceId of a create may be a workspace's name.
 * Its raw value is kept in task_workspace_refs, and end_batch sets the
 * column of every project and task to that value resolved against the
 * workspaces table (the workspace applier's) as it stands then: a
 * workspace id stays; else the one non-archived workspace whose name
 * equals it, ASCII case aside; else the raw value.  The last batch thus
 * leaves a function of the final table, whatever the order the events and
 * workspaces came in.  A missing workspaces table resolves nothing; one
 * without isArchived counts every workspace as not archived.
 *
 * Streams: none, so the applier is one stream and a late event replays
 * all of its events (never another applier's).  No finer split keeps the
 * order exact: task_updated and task_deleted carry only the taskId, a
 * task_deleted removes edges that other tasks' events made and clears
 * other tasks' parentTaskId, a project_deleted removes tasks whose events
 * name no project, and a task moves between projects.  The folder
 * (tasks_<workspace>) decides nothing either: old writers named it after
 * the workspace's name, so one task's events can sit in two folders.
 */
#include <jsync/jsync-plugin.h>

#include "task-schema.h"

/* The most columns an entity takes from its events. */
#define TASK_MAX_COLUMNS 14

typedef enum
{
  TASK_KIND_TEXT,
  TASK_KIND_INTEGER,
} TaskKind;

/* What a column holds when a create does not carry it, and what null
 * means for it. */
typedef enum
{
  TASK_FALLBACK_NULL,           /* NULL; null stores NULL */
  TASK_FALLBACK_REQUIRED,       /* a create must carry it; null fails */
  TASK_FALLBACK_TEXT,           /* .text; null counts as absent */
  TASK_FALLBACK_TIMESTAMP,      /* the event's; null counts as absent */
} TaskFallback;

typedef struct
{
  const char *key;              /* the data key, and the column's name */
  TaskKind kind;
  TaskFallback fallback;
  const char *text;
  gboolean on_update;           /* the entity's update event sets it too */
} TaskColumn;

typedef struct
{
  const char *table;
  const char *ref_kind;         /* its kind in task_workspace_refs */
  const char *id_key;           /* envelope key of its update and delete */
  const TaskColumn *columns;    /* terminated by a NULL key */
} TaskEntity;

static const TaskColumn task_project_columns[] = {
  { "workspaceId", TASK_KIND_TEXT, TASK_FALLBACK_REQUIRED },
  { "name", TASK_KIND_TEXT, TASK_FALLBACK_REQUIRED, NULL, TRUE },
  { "description", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { "status", TASK_KIND_TEXT, TASK_FALLBACK_TEXT, "active", TRUE },
  { "created", TASK_KIND_INTEGER, TASK_FALLBACK_TIMESTAMP },
  { "updated", TASK_KIND_INTEGER, TASK_FALLBACK_TIMESTAMP, NULL, TRUE },
  { "metadataJson", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { NULL },
};

static const TaskColumn task_task_columns[] = {
  { "projectId", TASK_KIND_TEXT, TASK_FALLBACK_REQUIRED, NULL, TRUE },
  /* A task keeps its workspace when it moves to another project. */
  { "workspaceId", TASK_KIND_TEXT, TASK_FALLBACK_REQUIRED },
  { "parentTaskId", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { "title", TASK_KIND_TEXT, TASK_FALLBACK_REQUIRED, NULL, TRUE },
  { "description", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { "status", TASK_KIND_TEXT, TASK_FALLBACK_TEXT, "todo", TRUE },
  { "priority", TASK_KIND_TEXT, TASK_FALLBACK_TEXT, "medium", TRUE },
  { "created", TASK_KIND_INTEGER, TASK_FALLBACK_TIMESTAMP },
  { "updated", TASK_KIND_INTEGER, TASK_FALLBACK_TIMESTAMP, NULL, TRUE },
  { "completedAt", TASK_KIND_INTEGER, TASK_FALLBACK_NULL, NULL, TRUE },
  { "dueDate", TASK_KIND_INTEGER, TASK_FALLBACK_NULL, NULL, TRUE },
  { "assignee", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { "tagsJson", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { "metadataJson", TASK_KIND_TEXT, TASK_FALLBACK_NULL, NULL, TRUE },
  { NULL },
};

G_STATIC_ASSERT (G_N_ELEMENTS (task_project_columns) - 1 <= TASK_MAX_COLUMNS);
G_STATIC_ASSERT (G_N_ELEMENTS (task_task_columns) - 1 <= TASK_MAX_COLUMNS);

typedef enum
{
  TASK_ENTITY_PROJECT,
  TASK_ENTITY_TASK,
  TASK_N_ENTITIES,
} TaskEntityId;

static const TaskEntity task_entities[TASK_N_ENTITIES] = {
  [TASK_ENTITY_PROJECT] = { "projects", "project", "projectId",
                            task_project_columns },
  [TASK_ENTITY_TASK] = { "tasks", "task", "taskId", task_task_columns },
};

/* The fixed statements, by name. */
typedef enum
{
  TASK_SQL_SET_REF,
  TASK_SQL_ADD_DEPENDENCY,
  TASK_SQL_REMOVE_DEPENDENCY,
  TASK_SQL_LINK,
  TASK_SQL_UNLINK,
  TASK_SQL_DELETE_PROJECT_REF,
  TASK_SQL_DELETE_PROJECT,
  TASK_SQL_PROBE_WORKSPACES,
  TASK_N_SQL
} TaskSql;

static const char *const task_sql[TASK_N_SQL] = {
  /* ?1 kind, ?2 id, ?3 raw workspaceId. */
  [TASK_SQL_SET_REF] =
    "INSERT INTO task_workspace_refs (kind, id, raw) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (kind, id) DO UPDATE SET raw = excluded.raw",
  /* ?1 taskId, ?2 dependsOnTaskId, ?3 created. */
  [TASK_SQL_ADD_DEPENDENCY] =
    "INSERT INTO task_dependencies (taskId, dependsOnTaskId, created)"
    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
  [TASK_SQL_REMOVE_DEPENDENCY] =
    "DELETE FROM task_dependencies WHERE taskId = ?1 AND dependsOnTaskId = ?2",
  /* ?1 taskId, ?2 notePath, ?3 linkType, ?4 created. */
  [TASK_SQL_LINK] =
    "INSERT INTO task_note_links (taskId, notePath, linkType, created)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
  [TASK_SQL_UNLINK] =
    "DELETE FROM task_note_links WHERE taskId = ?1 AND notePath = ?2",
  [TASK_SQL_DELETE_PROJECT_REF] =
    "DELETE FROM task_workspace_refs WHERE kind = 'project' AND id = ?1",
  [TASK_SQL_DELETE_PROJECT] = "DELETE FROM projects WHERE id = ?1",
  /* Is there a workspaces table, and has it isArchived?  (The workspace
   * applier owns it; it may be absent, or older.) */
  [TASK_SQL_PROBE_WORKSPACES] =
    "SELECT count(*), coalesce(sum(name = 'isArchived'), 0)"
    " FROM pragma_table_info('workspaces')",
};

/* What a deleted task takes with it, the tasks being VICTIMS (?1 the
 * task's or the project's id): run in this order, tasks last, as the
 * others find them through it. */
static const char *const task_cascade_sql[] = {
  "UPDATE tasks SET parentTaskId = NULL WHERE parentTaskId IN (VICTIMS)",
  "DELETE FROM task_dependencies"
  " WHERE taskId IN (VICTIMS) OR dependsOnTaskId IN (VICTIMS)",
  "DELETE FROM task_note_links WHERE taskId IN (VICTIMS)",
  "DELETE FROM task_workspace_refs WHERE kind = 'task' AND id IN (VICTIMS)",
  "DELETE FROM tasks WHERE id IN (VICTIMS)",
};

/* The victims of a task_deleted (the task, there or not) and of a
 * project_deleted (the tasks in the project). */
typedef enum
{
  TASK_CASCADE_TASK,
  TASK_CASCADE_PROJECT,
  TASK_N_CASCADES,
} TaskCascade;

static const char *const task_cascade_victims[TASK_N_CASCADES] = {
  [TASK_CASCADE_TASK] = "SELECT ?1",
  [TASK_CASCADE_PROJECT] = "SELECT id FROM tasks WHERE projectId = ?1",
};

/* end_batch: each entity's workspaceId from its raw value, for TABLE and
 * KIND, RESOLVED being the expression of raw (t.raw) for the workspaces
 * table at hand.  Only rows that change are written. */
static const char task_resolve_sql[] =
  "UPDATE TABLE SET workspaceId = r.ws"
  " FROM (SELECT t.id AS id, RESOLVED AS ws FROM task_workspace_refs AS t"
  "       WHERE t.kind = 'KIND') AS r"
  " WHERE TABLE.id = r.id AND TABLE.workspaceId IS NOT r.ws";

/* How raw resolves, by what the workspaces table is like. */
typedef enum
{
  TASK_WORKSPACES_NONE,         /* no table: raw stays */
  TASK_WORKSPACES_ALL_LIVE,     /* no isArchived column */
  TASK_WORKSPACES_ARCHIVABLE,
  TASK_N_WORKSPACES,
} TaskWorkspaces;

/* LIVE is the condition on a workspace w that it is not archived. */
static const char task_resolved_sql[] =
  "CASE WHEN EXISTS (SELECT 1 FROM workspaces AS w WHERE w.id = t.raw)"
  " THEN t.raw"
  " ELSE coalesce ((SELECT CASE WHEN count(*) = 1 THEN min (w.id) END"
  "                 FROM workspaces AS w"
  "                 WHERE lower (w.name) = lower (t.raw) AND LIVE),"
  "                t.raw)"
  " END";

static const char *const task_live_sql[TASK_N_WORKSPACES] = {
  [TASK_WORKSPACES_ALL_LIVE] = "1",
  [TASK_WORKSPACES_ARCHIVABLE] = "NOT coalesce (w.isArchived, 0)",
};

typedef struct
{
  sqlite3 *db;                  /* borrowed */
  GPtrArray *owned;             /* of sqlite3_stmt*: every statement below */
  sqlite3_stmt *stmts[TASK_N_SQL];
  sqlite3_stmt *upsert[TASK_N_ENTITIES];
  sqlite3_stmt *update[TASK_N_ENTITIES];
  sqlite3_stmt *cascade[TASK_N_CASCADES][G_N_ELEMENTS (task_cascade_sql)];
  /* Prepared at the first end_batch that needs them (the workspaces table
   * may come later than this applier); NULL until then. */
  sqlite3_stmt *resolve[TASK_N_WORKSPACES][TASK_N_ENTITIES];
} TaskState;

/* One column as an event gives it. */
typedef struct
{
  JsyncField field;
  gboolean carried;             /* an existing row takes the value */
  const char *text;             /* borrowed from the event */
  gint64 integer;
} TaskValue;

static void
task_finalize (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
task_free (gpointer data)
{
  TaskState *state = data;

  g_clear_pointer (&state->owned, g_ptr_array_unref);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TaskState, task_free)

/* --- Statements */

/* Prepare a statement the state owns. */
static sqlite3_stmt *
task_prepare (TaskState *state, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = jsync_sql_prepare (state->db, sql, error);

  if (stmt != NULL)
    g_ptr_array_add (state->owned, stmt);
  return stmt;
}

/* The same, of `template` with each (name, value) pair of the
 * NULL-terminated list replaced. */
static sqlite3_stmt *
task_prepare_template (TaskState *state, const char *template,
                       GError **error, ...)
{
  g_autoptr(GString) sql = g_string_new (template);
  const char *name;
  va_list args;

  va_start (args, error);
  while ((name = va_arg (args, const char *)) != NULL)
    g_string_replace (sql, name, va_arg (args, const char *), 0);
  va_end (args);
  return task_prepare (state, sql->str, error);
}

/* An entity's statements, from its columns.  Column i is bound as ?(2i+2),
 * 1 when the event carries it, and ?(2i+3), its value with the insert
 * default applied; ?1 is the id.  The upsert inserts, or sets the carried
 * columns of an existing row; the update only sets them. */
static gboolean
task_prepare_entity (TaskState *state, TaskEntityId id, GError **error)
{
  const TaskEntity *entity = &task_entities[id];
  g_autoptr(GString) names = g_string_new ("id");
  g_autoptr(GString) values = g_string_new ("?1");
  g_autoptr(GString) taken = g_string_new (NULL);
  g_autoptr(GString) set = g_string_new (NULL);
  g_autofree char *upsert = NULL;
  g_autofree char *update = NULL;

  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const char *key = entity->columns[i].key;

      g_string_append_printf (names, ", %s", key);
      g_string_append_printf (values, ", ?%u", 2 * i + 3);
      g_string_append_printf (taken,
                              "%s %s = CASE WHEN ?%u THEN excluded.%s"
                              " ELSE %s END", i > 0 ? "," : "", key,
                              2 * i + 2, key, key);
      g_string_append_printf (set,
                              "%s %s = CASE WHEN ?%u THEN ?%u ELSE %s END",
                              i > 0 ? "," : "", key, 2 * i + 2, 2 * i + 3,
                              key);
    }
  upsert = g_strdup_printf ("INSERT INTO %s (%s) VALUES (%s)"
                            " ON CONFLICT (id) DO UPDATE SET%s",
                            entity->table, names->str, values->str,
                            taken->str);
  update = g_strdup_printf ("UPDATE %s SET%s WHERE id = ?1", entity->table,
                            set->str);
  state->upsert[id] = task_prepare (state, upsert, error);
  state->update[id] = state->upsert[id] != NULL
                        ? task_prepare (state, update, error) : NULL;
  return state->update[id] != NULL;
}

static gpointer
task_init (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(TaskState) state = g_new0 (TaskState, 1);

  state->db = context->db;
  state->owned = g_ptr_array_new_with_free_func (task_finalize);
  for (guint i = 0; i < TASK_N_SQL; i++)
    if ((state->stmts[i] = task_prepare (state, task_sql[i], error)) == NULL)
      return NULL;
  for (guint e = 0; e < TASK_N_ENTITIES; e++)
    if (!task_prepare_entity (state, e, error))
      return NULL;
  for (guint c = 0; c < TASK_N_CASCADES; c++)
    for (guint i = 0; i < G_N_ELEMENTS (task_cascade_sql); i++)
      {
        state->cascade[c][i] = task_prepare_template (
            state, task_cascade_sql[i], error,
            "VICTIMS", task_cascade_victims[c], NULL);
        if (state->cascade[c][i] == NULL)
          return NULL;
      }
  return g_steal_pointer (&state);
}

/* --- Reading events */

/* A malformed event: the message is a printf format. */
#define task_set_invalid(error, ...)                                    \
  g_set_error ((error), JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID, \
               __VA_ARGS__)

/* Read an entity's columns from data into values[], for its create or its
 * update (which leaves the others ABSENT and not carried). */
static gboolean
task_read_columns (json_object *data, const TaskEntity *entity,
                   gboolean create, TaskValue *values, GError **error)
{
  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const TaskColumn *column = &entity->columns[i];
      TaskValue *value = &values[i];
      gboolean ok;

      *value = (TaskValue) { .field = JSYNC_FIELD_ABSENT };
      if (!create && !column->on_update)
        continue;
      if (column->kind == TASK_KIND_TEXT)
        ok = jsync_json_get_string (data, column->key, &value->field,
                                    &value->text, error);
      else
        ok = jsync_json_get_int64 (data, column->key, &value->field,
                                   &value->integer, error);
      if (!ok)
        {
          g_prefix_error (error, "data.");
          return FALSE;
        }
      switch (column->fallback)
        {
        case TASK_FALLBACK_REQUIRED:
          if (create && value->field == JSYNC_FIELD_ABSENT)
            {
              task_set_invalid (error, "missing data.%s", column->key);
              return FALSE;
            }
          if (value->field == JSYNC_FIELD_NULL)
            {
              task_set_invalid (error, "data.%s: expected a string",
                                column->key);
              return FALSE;
            }
          break;
        case TASK_FALLBACK_NULL:
          value->carried = value->field == JSYNC_FIELD_NULL;
          break;
        case TASK_FALLBACK_TEXT:
        case TASK_FALLBACK_TIMESTAMP:
          break;
        }
      value->carried |= value->field == JSYNC_FIELD_SET;
    }
  return TRUE;
}

/* Bind an entity's values (see task_prepare_entity). */
static void
task_bind_values (sqlite3_stmt *stmt, const TaskEntity *entity,
                  const TaskValue *values, gint64 timestamp)
{
  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const TaskColumn *column = &entity->columns[i];
      int index = 2 * (int) i + 2;

      sqlite3_bind_int (stmt, index, values[i].carried);
      if (values[i].field == JSYNC_FIELD_SET)
        {
          if (column->kind == TASK_KIND_TEXT)
            jsync_sql_bind_text (stmt, index + 1, values[i].text);
          else
            sqlite3_bind_int64 (stmt, index + 1, values[i].integer);
        }
      else if (column->fallback == TASK_FALLBACK_TEXT)
        jsync_sql_bind_text (stmt, index + 1, column->text);
      else if (column->fallback == TASK_FALLBACK_TIMESTAMP)
        sqlite3_bind_int64 (stmt, index + 1, timestamp);
      else
        sqlite3_bind_null (stmt, index + 1);
    }
}

/* --- The handlers */

typedef gboolean (*TaskHandler) (TaskState *state, const JsyncEvent *event,
                                 TaskEntityId entity, GError **error);

/* Read what a create or an update of `entity` carries: the id (data.id
 * of a create, the envelope's id_key of an update) and the columns. */
static gboolean
task_read_entity (const JsyncEvent *event, const TaskEntity *entity,
                  gboolean create, const char **id, TaskValue *values,
                  GError **error)
{
  json_object *data = NULL;
  JsyncField field = JSYNC_FIELD_SET;

  if (!create
      && !jsync_event_get_string (event, entity->id_key, TRUE, id, error))
    return FALSE;
  /* An absent or null data reads as an empty object. */
  if (!jsync_event_get_data (event, &data, error))
    return FALSE;
  if (create && !jsync_json_get_string (data, "id", &field, id, error))
    {
      g_prefix_error (error, "data.");
      return FALSE;
    }
  if (field != JSYNC_FIELD_SET)
    {
      task_set_invalid (error, "missing data.id");
      return FALSE;
    }
  return task_read_columns (data, entity, create, values, error);
}

/* project_created, task_created (an upsert, then the raw workspaceId kept
 * for end_batch, which resolves the row's); project_updated,
 * task_updated. */
static gboolean
task_apply_write (TaskState *state, const JsyncEvent *event, TaskEntityId id,
                  GError **error)
{
  const TaskEntity *entity = &task_entities[id];
  gboolean create = g_str_has_suffix (jsync_event_get_type (event),
                                      "_created");
  sqlite3_stmt *stmt = create ? state->upsert[id] : state->update[id];
  sqlite3_stmt *ref = state->stmts[TASK_SQL_SET_REF];
  TaskValue values[TASK_MAX_COLUMNS];
  const char *entity_id = NULL;
  const char *raw = NULL;

  if (!task_read_entity (event, entity, create, &entity_id, values, error))
    return FALSE;
  jsync_sql_bind_text (stmt, 1, entity_id);
  task_bind_values (stmt, entity, values, jsync_event_get_timestamp (event));
  if (!jsync_sql_run (stmt, error))
    return FALSE;
  if (!create)
    return TRUE;
  for (guint i = 0; entity->columns[i].key != NULL; i++)
    if (strcmp (entity->columns[i].key, "workspaceId") == 0)
      raw = values[i].text;
  jsync_sql_bind_text (ref, 1, entity->ref_kind);
  jsync_sql_bind_text (ref, 2, entity_id);
  jsync_sql_bind_text (ref, 3, raw);
  return jsync_sql_run (ref, error);
}

/* Run statements taking the id as ?1. */
static gboolean
task_run_with_id (sqlite3_stmt *const *stmts, guint n, const char *id,
                  GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      jsync_sql_bind_text (stmts[i], 1, id);
      if (!jsync_sql_run (stmts[i], error))
        return FALSE;
    }
  return TRUE;
}

/* project_deleted, task_deleted. */
static gboolean
task_apply_delete (TaskState *state, const JsyncEvent *event,
                   TaskEntityId id, GError **error)
{
  TaskCascade cascade = id == TASK_ENTITY_PROJECT ? TASK_CASCADE_PROJECT
                                                  : TASK_CASCADE_TASK;
  const char *entity_id;

  if (!jsync_event_get_string (event, task_entities[id].id_key, TRUE,
                               &entity_id, error)
      || !task_run_with_id (state->cascade[cascade],
                            G_N_ELEMENTS (task_cascade_sql), entity_id,
                            error))
    return FALSE;
  if (id != TASK_ENTITY_PROJECT)
    return TRUE;
  return task_run_with_id (&state->stmts[TASK_SQL_DELETE_PROJECT_REF], 2,
                           entity_id, error);
}

/* task_dependency_added, task_dependency_removed. */
static gboolean
task_apply_dependency (TaskState *state, const JsyncEvent *event,
                       TaskEntityId id, GError **error)
{
  gboolean added = g_str_has_suffix (jsync_event_get_type (event), "_added");
  sqlite3_stmt *stmt = state->stmts[added ? TASK_SQL_ADD_DEPENDENCY
                                          : TASK_SQL_REMOVE_DEPENDENCY];
  const char *task_id;
  const char *depends_on;

  if (!jsync_event_get_string (event, "taskId", TRUE, &task_id, error)
      || !jsync_event_get_string (event, "dependsOnTaskId", TRUE,
                                  &depends_on, error))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, task_id);
  jsync_sql_bind_text (stmt, 2, depends_on);
  if (added)
    sqlite3_bind_int64 (stmt, 3, jsync_event_get_timestamp (event));
  return jsync_sql_run (stmt, error);
}

/* task_note_linked, task_note_unlinked. */
static gboolean
task_apply_link (TaskState *state, const JsyncEvent *event, TaskEntityId id,
                 GError **error)
{
  gboolean linked = g_str_has_suffix (jsync_event_get_type (event),
                                      "_linked");
  sqlite3_stmt *stmt = state->stmts[linked ? TASK_SQL_LINK : TASK_SQL_UNLINK];
  const char *link_type = NULL;
  const char *task_id;
  const char *note_path;

  if (!jsync_event_get_string (event, "taskId", TRUE, &task_id, error)
      || !jsync_event_get_string (event, "notePath", TRUE, &note_path, error)
      || (linked
          && !jsync_event_get_string (event, "linkType", FALSE,
                                      &link_type, error)))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, task_id);
  jsync_sql_bind_text (stmt, 2, note_path);
  if (linked)
    {
      jsync_sql_bind_text (stmt, 3,
                           link_type != NULL ? link_type : "reference");
      sqlite3_bind_int64 (stmt, 4, jsync_event_get_timestamp (event));
    }
  return jsync_sql_run (stmt, error);
}

static const struct
{
  const char *type;
  TaskHandler apply;
  TaskEntityId entity;
} task_handlers[] = {
  { "project_created", task_apply_write, TASK_ENTITY_PROJECT },
  { "project_updated", task_apply_write, TASK_ENTITY_PROJECT },
  { "project_deleted", task_apply_delete, TASK_ENTITY_PROJECT },
  { "task_created", task_apply_write, TASK_ENTITY_TASK },
  { "task_updated", task_apply_write, TASK_ENTITY_TASK },
  { "task_deleted", task_apply_delete, TASK_ENTITY_TASK },
  { "task_dependency_added", task_apply_dependency, TASK_ENTITY_TASK },
  { "task_dependency_removed", task_apply_dependency, TASK_ENTITY_TASK },
  { "task_note_linked", task_apply_link, TASK_ENTITY_TASK },
  { "task_note_unlinked", task_apply_link, TASK_ENTITY_TASK },
};

/* --- The callbacks */

static gboolean
task_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  gssize i = jsync_handler_find (task_handlers, event, error);

  return i >= 0
         && (task_handlers[i].apply (data, event, task_handlers[i].entity,
                                     error)
             || jsync_handler_failed (event, error));
}

/* The tables holding rows: dumped, compared, and what clear() empties. */
static const char *const task_tables[] = {
  "projects", "tasks", "task_dependencies", "task_note_links",
  "task_workspace_refs", NULL,
};

/* Empty every table of task_tables. */
static gboolean
task_clear (gpointer data, GError **error)
{
  TaskState *state = data;

  for (guint i = 0; task_tables[i] != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM %s",
                                              task_tables[i]);

      if (!jsync_sql_exec (state->db, sql, error))
        return FALSE;
    }
  return TRUE;
}

/* What the workspaces table is like now. */
static gboolean
task_probe_workspaces (TaskState *state, TaskWorkspaces *out, GError **error)
{
  sqlite3_stmt *probe = state->stmts[TASK_SQL_PROBE_WORKSPACES];
  int rc = sqlite3_step (probe);

  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int (probe, 0) == 0 ? TASK_WORKSPACES_NONE
           : sqlite3_column_int (probe, 1) == 0 ? TASK_WORKSPACES_ALL_LIVE
           : TASK_WORKSPACES_ARCHIVABLE;
  else
    jsync_sql_set_error (state->db, error, "workspaces");
  sqlite3_reset (probe);
  return rc == SQLITE_ROW;
}

/* The end of a batch: every project's and task's workspaceId becomes its
 * raw value resolved against the workspaces table as it now stands. */
static gboolean
task_end_batch (gpointer data, GError **error)
{
  TaskState *state = data;
  TaskWorkspaces workspaces;

  if (!task_probe_workspaces (state, &workspaces, error))
    return FALSE;
  for (guint e = 0; e < TASK_N_ENTITIES; e++)
    {
      sqlite3_stmt **stmt = &state->resolve[workspaces][e];

      if (*stmt == NULL)
        {
          const char *resolved = workspaces == TASK_WORKSPACES_NONE
                                   ? "t.raw" : task_resolved_sql;

          *stmt = task_prepare_template (
              state, task_resolve_sql, error,
              "RESOLVED", resolved, "LIVE",
              task_live_sql[workspaces] != NULL ? task_live_sql[workspaces]
                                                : "1",
              "TABLE", task_entities[e].table,
              "KIND", task_entities[e].ref_kind, NULL);
          if (*stmt == NULL)
            return FALSE;
        }
      if (!jsync_sql_run (*stmt, error))
        {
          g_prefix_error (error, "%s: workspaceId: ", task_entities[e].table);
          return FALSE;
        }
    }
  return TRUE;
}

static const char *const task_prefixes[] = { "project_", "task_", NULL };

JSYNC_APPLIER_DEFINE (
  .name = "task",
  .version = "1.0.0",
  .description = "Nexus projects, tasks, their dependencies and note links",
  .prefixes = task_prefixes,
  .schema_sql = task_schema_sql, .schema_version = 1, .tables = task_tables,
  /* No stream, no rebuild hooks (see the head comment). */
  .init = task_init, .apply = task_apply, .clear = task_clear,
  .end_batch = task_end_batch, .free = task_free,
);
