/* tasks.c: an example applier, built out of tree the way a user builds one:
 *
 *   cc -shared -fPIC $(pkg-config --cflags jsync-plugin) tasks.c -o tasks.so \
 *      $(pkg-config --libs jsync-plugin)
 *
 * It projects the task_ events of later Nexus versions (the format is in
 * README.md beside this file) into one table, tasks, with an FTS5 index over
 * the titles, task_fts, offered to `jsync search`.  The events and their
 * fields (`?` = optional; envelope keys first, then data.*):
 *
 *   task_created  data: id, title?, projectId?, status?, due?
 *   task_updated  taskId; data: any of title, status, due
 *   task_deleted  taskId
 *
 * Types: ids, title and status are strings, due an integer (ms) or null.
 * null counts as absent for title and status (they have defaults) and
 * clears due.  A field of another type fails the event, and so does any
 * other type under the prefix (an unknown event type).
 *
 * apply() implements the plain in-order meaning of each event; jsync keeps
 * the order.  A create inserts the task with these defaults: title
 * "Untitled", status the keyfile's default-status, due and projectId NULL,
 * created and updated the event's timestamp; a create for an id that
 * exists replaces projectId, title, status and due and keeps created.  An
 * update sets the keys it carries and updated; it changes nothing when the
 * task does not exist at its point in the order.  A delete removes the
 * task.
 *
 * Streams: one per task (task_created: data.id; the others: taskId).  Every
 * statement matches one id, so one stream never touches another's rows,
 * and a late event re-applies the events of its task alone.
 *
 * Keyfile: [applier:tasks] default-status (a non-empty string, default
 * "todo").  A changed value applies to events applied after the change;
 * `jsync rebuild` applies it to all.
 */
#define G_LOG_DOMAIN "jsync-tasks"

#include <jsync/jsync-plugin.h>

/* The tables, idempotent: jsync runs this on every connection.  The FTS5
 * index reads its text from tasks (external content) and triggers keep it
 * exact; tasks rows are only ever updated in place (never INSERT OR
 * REPLACE, whose implicit delete fires no trigger), so a row keeps its
 * rowid. */
static const char tasks_schema_sql[] =
  "CREATE TABLE IF NOT EXISTS tasks ("
  "  id TEXT PRIMARY KEY,"
  "  projectId TEXT,"
  "  title TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  due INTEGER,"
  "  created INTEGER NOT NULL,"
  "  updated INTEGER NOT NULL"
  ");"
  "CREATE INDEX IF NOT EXISTS idx_tasks_project ON tasks (projectId, status);"
  "CREATE VIRTUAL TABLE IF NOT EXISTS task_fts USING fts5 ("
  "  id, title, content = 'tasks', content_rowid = 'rowid'"
  ");"
  "CREATE TRIGGER IF NOT EXISTS tasks_fts_insert AFTER INSERT ON tasks BEGIN"
  "  INSERT INTO task_fts (rowid, id, title)"
  "    VALUES (new.rowid, new.id, new.title);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS tasks_fts_delete AFTER DELETE ON tasks BEGIN"
  "  INSERT INTO task_fts (task_fts, rowid, id, title)"
  "    VALUES ('delete', old.rowid, old.id, old.title);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS tasks_fts_update"
  "  AFTER UPDATE OF id, title ON tasks BEGIN"
  "  INSERT INTO task_fts (task_fts, rowid, id, title)"
  "    VALUES ('delete', old.rowid, old.id, old.title);"
  "  INSERT INTO task_fts (rowid, id, title)"
  "    VALUES (new.rowid, new.id, new.title);"
  "END;";

/* The prepared statements, by name. */
typedef enum
{
  TASKS_SQL_UPSERT,
  TASKS_SQL_UPDATE,
  TASKS_SQL_DELETE,
  TASKS_SQL_CLEAR,
  TASKS_N_SQL
} TasksSql;

static const char *const tasks_sql[TASKS_N_SQL] = {
  /* ?1 id, ?2 projectId, ?3 title, ?4 status, ?5 due, ?6 timestamp. */
  [TASKS_SQL_UPSERT] =
    "INSERT INTO tasks (id, projectId, title, status, due, created, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
    " ON CONFLICT (id) DO UPDATE SET"
    "  projectId = excluded.projectId, title = excluded.title,"
    "  status = excluded.status, due = excluded.due,"
    "  updated = excluded.updated",
  /* ?1 id, ?2 title (NULL: keep), ?3 status (NULL: keep), ?4 1 when due is
   * carried, ?5 due, ?6 timestamp. */
  [TASKS_SQL_UPDATE] =
    "UPDATE tasks SET"
    "  title = coalesce (?2, title), status = coalesce (?3, status),"
    "  due = CASE WHEN ?4 THEN ?5 ELSE due END, updated = ?6"
    " WHERE id = ?1",
  [TASKS_SQL_DELETE] = "DELETE FROM tasks WHERE id = ?1",
  [TASKS_SQL_CLEAR] = "DELETE FROM tasks",
};

/* The applier's state: everything lives here, nothing in globals. */
typedef struct
{
  sqlite3 *db;                          /* borrowed */
  sqlite3_stmt *stmts[TASKS_N_SQL];     /* owned */
  char *default_status;                 /* owned */
} TasksState;

static void
tasks_free (gpointer data)
{
  TasksState *state = data;

  for (guint i = 0; i < TASKS_N_SQL; i++)
    sqlite3_finalize (state->stmts[i]);
  g_free (state->default_status);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TasksState, tasks_free)

/* [applier:tasks] default-status, or "todo".  (transfer full) */
static char *
tasks_read_default_status (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *value = NULL;

  if (!g_key_file_has_key (context->keyfile, context->group, "default-status",
                           NULL))
    return g_strdup ("todo");
  value = g_key_file_get_string (context->keyfile, context->group,
                                 "default-status", &local_error);
  if (value == NULL || *g_strstrip (value) == '\0')
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_CONFIG,
                   "[%s] default-status: %s", context->group,
                   local_error != NULL ? local_error->message
                                       : "expected a value, got an empty one");
      return NULL;
    }
  return g_steal_pointer (&value);
}

static gpointer
tasks_init (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(TasksState) state = g_new0 (TasksState, 1);

  state->db = context->db;
  state->default_status = tasks_read_default_status (context, error);
  if (state->default_status == NULL)
    return NULL;
  for (guint i = 0; i < TASKS_N_SQL; i++)
    {
      state->stmts[i] = jsync_sql_prepare (state->db, tasks_sql[i], error);
      if (state->stmts[i] == NULL)
        return NULL;
    }
  return g_steal_pointer (&state);
}

/* --- Reading events */

/* The event's data object; NULL when absent or null. */
static gboolean
tasks_get_data (const JsyncEvent *event, json_object **data, GError **error)
{
  if (jsync_json_lookup (jsync_event_get_json (event), "data", data)
      == JSYNC_FIELD_SET
      && !json_object_is_type (*data, json_type_object))
    {
      *data = NULL;
      jsync_json_type_error (error, "data", "an object");
      return FALSE;
    }
  return TRUE;
}

/* The string at `key` of `parent`: NULL when absent or null, an error when
 * `required`.  `where` names `parent` in messages ("data." or ""). */
static gboolean
tasks_get_string (json_object *parent, const char *where, const char *key,
                  gboolean required, const char **out, GError **error)
{
  JsyncField field;

  if (!jsync_json_get_string (parent, key, &field, out, error))
    {
      g_prefix_error (error, "%s", where);
      return FALSE;
    }
  if (required && field != JSYNC_FIELD_SET)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "missing %s%s", where, key);
      return FALSE;
    }
  return TRUE;
}

/* data.due: *carried is FALSE when absent; *due is NULL when null. */
static gboolean
tasks_get_due (json_object *data, gboolean *carried, const gint64 **due,
               gint64 *storage, GError **error)
{
  JsyncField field;

  if (!jsync_json_get_int64 (data, "due", &field, storage, error))
    {
      g_prefix_error (error, "data.");
      return FALSE;
    }
  *carried = field != JSYNC_FIELD_ABSENT;
  *due = field == JSYNC_FIELD_SET ? storage : NULL;
  return TRUE;
}

static void
tasks_bind_due (sqlite3_stmt *stmt, int index, const gint64 *due)
{
  if (due != NULL)
    sqlite3_bind_int64 (stmt, index, *due);
  else
    sqlite3_bind_null (stmt, index);
}

/* --- The handlers: every field is read and checked before anything is
 * written. */

static gboolean
tasks_apply_created (TasksState *state, const JsyncEvent *event,
                     GError **error)
{
  sqlite3_stmt *stmt = state->stmts[TASKS_SQL_UPSERT];
  const char *id, *title, *project_id, *status;
  json_object *data;
  const gint64 *due;
  gint64 due_value;
  gboolean carried;

  if (!tasks_get_data (event, &data, error)
      || !tasks_get_string (data, "data.", "id", TRUE, &id, error)
      || !tasks_get_string (data, "data.", "title", FALSE, &title, error)
      || !tasks_get_string (data, "data.", "projectId", FALSE, &project_id,
                            error)
      || !tasks_get_string (data, "data.", "status", FALSE, &status, error)
      || !tasks_get_due (data, &carried, &due, &due_value, error))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, id);
  jsync_sql_bind_text (stmt, 2, project_id);
  jsync_sql_bind_text (stmt, 3, title != NULL ? title : "Untitled");
  jsync_sql_bind_text (stmt, 4, status != NULL ? status
                                               : state->default_status);
  tasks_bind_due (stmt, 5, due);
  sqlite3_bind_int64 (stmt, 6, jsync_event_get_timestamp (event));
  return jsync_sql_run (stmt, error);
}

static gboolean
tasks_apply_updated (TasksState *state, const JsyncEvent *event,
                     GError **error)
{
  sqlite3_stmt *stmt = state->stmts[TASKS_SQL_UPDATE];
  const char *task_id, *title, *status;
  json_object *data;
  const gint64 *due;
  gint64 due_value;
  gboolean carried;

  if (!tasks_get_string (jsync_event_get_json (event), "", "taskId", TRUE,
                         &task_id, error)
      || !tasks_get_data (event, &data, error)
      || !tasks_get_string (data, "data.", "title", FALSE, &title, error)
      || !tasks_get_string (data, "data.", "status", FALSE, &status, error)
      || !tasks_get_due (data, &carried, &due, &due_value, error))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, task_id);
  jsync_sql_bind_text (stmt, 2, title);
  jsync_sql_bind_text (stmt, 3, status);
  sqlite3_bind_int (stmt, 4, carried ? 1 : 0);
  tasks_bind_due (stmt, 5, due);
  sqlite3_bind_int64 (stmt, 6, jsync_event_get_timestamp (event));
  if (!jsync_sql_run (stmt, error))
    return FALSE;
  if (sqlite3_changes (state->db) == 0)
    g_debug ("%s: no task %s: nothing to update", jsync_event_get_id (event),
             task_id);
  return TRUE;
}

static gboolean
tasks_apply_deleted (TasksState *state, const JsyncEvent *event,
                     GError **error)
{
  sqlite3_stmt *stmt = state->stmts[TASKS_SQL_DELETE];
  const char *task_id;

  if (!tasks_get_string (jsync_event_get_json (event), "", "taskId", TRUE,
                         &task_id, error))
    return FALSE;
  jsync_sql_bind_text (stmt, 1, task_id);
  return jsync_sql_run (stmt, error);
}

typedef gboolean (*TasksHandler) (TasksState *state, const JsyncEvent *event,
                                  GError **error);

static const struct
{
  const char *type;
  TasksHandler apply;
} tasks_handlers[] = {
  { "task_created", tasks_apply_created },
  { "task_updated", tasks_apply_updated },
  { "task_deleted", tasks_apply_deleted },
};

/* --- The callbacks */

/* One event, in key order.  A FALSE return fails this event alone: jsync
 * rolls back its savepoint and records the event with the message, which
 * starts with the event type ("task_updated: data.due: expected an
 * integer"); jsync adds the file, line and applier. */
static gboolean
tasks_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  const char *type = jsync_event_get_type (event);

  for (guint i = 0; i < G_N_ELEMENTS (tasks_handlers); i++)
    if (strcmp (type, tasks_handlers[i].type) == 0)
      {
        if (tasks_handlers[i].apply (data, event, error))
          return TRUE;
        g_prefix_error (error, "%s: ", type);
        return FALSE;
      }
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
               "%s: unknown event type", type);
  return FALSE;
}

/* task_created: data.id; task_updated, task_deleted: taskId.  Borrowed from
 * the event. */
static const char *
tasks_stream (G_GNUC_UNUSED gpointer data, const JsyncEvent *event)
{
  return jsync_event_get_entity_id (event, "task_created", "taskId");
}

/* Every row of one stream: the task itself. */
static gboolean
tasks_clear_stream (gpointer data, const char *stream, GError **error)
{
  TasksState *state = data;
  sqlite3_stmt *stmt = state->stmts[TASKS_SQL_DELETE];

  jsync_sql_bind_text (stmt, 1, stream);
  return jsync_sql_run (stmt, error);
}

static gboolean
tasks_clear (gpointer data, GError **error)
{
  TasksState *state = data;

  return jsync_sql_run (state->stmts[TASKS_SQL_CLEAR], error);
}

static gboolean
tasks_finish_rebuild (gpointer data, GError **error)
{
  TasksState *state = data;

  return jsync_sql_exec (state->db,
                         "INSERT INTO task_fts (task_fts) VALUES ('rebuild');",
                         error);
}

static const char *const tasks_prefixes[] = { "task_", NULL };

static const char *const tasks_tables[] = { "tasks", NULL };

static const JsyncSearchTable tasks_search[] = {
  { "task_fts", "tasks", "title" },
  { NULL, NULL, NULL },
};

JSYNC_APPLIER_DEFINE (
  .name = "tasks",
  .version = "1.0.0",
  .description = "Nexus tasks (task_created, task_updated, task_deleted)",
  .prefixes = tasks_prefixes,
  .schema_sql = tasks_schema_sql,
  .schema_version = 1,
  .tables = tasks_tables,
  .search = tasks_search,
  .init = tasks_init,
  .apply = tasks_apply,
  .stream = tasks_stream,
  .clear_stream = tasks_clear_stream,
  .clear = tasks_clear,
  .finish_rebuild = tasks_finish_rebuild,
  .free = tasks_free,
);
