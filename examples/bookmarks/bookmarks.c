/* bookmarks.c: an example applier, built out of tree the way a user builds
 * one:
 *
 *   cc -shared -fPIC $(pkg-config --cflags jsync-plugin) bookmarks.c \
 *      -o bookmarks.so $(pkg-config --libs jsync-plugin)
 *
 * It projects the bookmark_ events of a small reading list (a format made
 * up for this example, given in README.md beside this file) into one
 * table, bookmarks, with an FTS5 index over the titles, bookmark_fts,
 * offered to `jsync search`.  The events and their
 * fields (`?` = optional; envelope keys first, then data.*):
 *
 *   bookmark_created  data: id, title?, folderId?, status?, due?
 *   bookmark_updated  bookmarkId; data: any of title, status, due
 *   bookmark_deleted  bookmarkId
 *
 * Types: ids, title and status are strings, due an integer (ms) or null.
 * null counts as absent for title and status (they have defaults) and
 * clears due.  A field of another type fails the event, and so does any
 * other type under the prefix (an unknown event type).
 *
 * apply() implements the plain in-order meaning of each event; jsync keeps
 * the order.  A create inserts the bookmark with these defaults: title
 * "Untitled", status the keyfile's default-status, due and folderId NULL,
 * created and updated the event's timestamp; a create for an id that
 * exists replaces folderId, title, status and due and keeps created.  An
 * update sets the keys it carries and updated; it changes nothing when the
 * bookmark does not exist at its point in the order.  A delete removes the
 * bookmark.
 *
 * Streams: one per bookmark (bookmark_created: data.id; the others:
 * bookmarkId).  Every statement matches one id, so one stream never
 * touches another's rows, and a late event re-applies the events of its
 * bookmark alone.
 *
 * Keyfile: [applier:bookmarks] default-status (a non-empty string, default
 * "todo").  A changed value applies to events applied after the change;
 * `jsync rebuild` applies it to all.
 */
#define G_LOG_DOMAIN "jsync-bookmarks"

#include <jsync/jsync-plugin.h>

/* The tables, idempotent: jsync runs this on every connection.  The FTS5
 * index reads its text from bookmarks (external content) and triggers keep it
 * exact; bookmarks rows are only ever updated in place (never INSERT OR
 * REPLACE, whose implicit delete fires no trigger), so a row keeps its
 * rowid. */
static const char bookmarks_schema_sql[] =
  "CREATE TABLE IF NOT EXISTS bookmarks ("
  "  id TEXT PRIMARY KEY,"
  "  folderId TEXT,"
  "  title TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  due INTEGER,"
  "  created INTEGER NOT NULL,"
  "  updated INTEGER NOT NULL"
  ");"
  "CREATE INDEX IF NOT EXISTS idx_bookmarks_folder"
  "  ON bookmarks (folderId, status);"
  "CREATE VIRTUAL TABLE IF NOT EXISTS bookmark_fts USING fts5 ("
  "  id, title, content = 'bookmarks', content_rowid = 'rowid'"
  ");"
  "CREATE TRIGGER IF NOT EXISTS bookmarks_fts_insert"
  "  AFTER INSERT ON bookmarks BEGIN"
  "  INSERT INTO bookmark_fts (rowid, id, title)"
  "    VALUES (new.rowid, new.id, new.title);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS bookmarks_fts_delete"
  "  AFTER DELETE ON bookmarks BEGIN"
  "  INSERT INTO bookmark_fts (bookmark_fts, rowid, id, title)"
  "    VALUES ('delete', old.rowid, old.id, old.title);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS bookmarks_fts_update"
  "  AFTER UPDATE OF id, title ON bookmarks BEGIN"
  "  INSERT INTO bookmark_fts (bookmark_fts, rowid, id, title)"
  "    VALUES ('delete', old.rowid, old.id, old.title);"
  "  INSERT INTO bookmark_fts (rowid, id, title)"
  "    VALUES (new.rowid, new.id, new.title);"
  "END;";

/* The prepared statements, by name. */
typedef enum
{
  BOOKMARKS_SQL_UPSERT,
  BOOKMARKS_SQL_UPDATE,
  BOOKMARKS_SQL_DELETE,
  BOOKMARKS_SQL_CLEAR,
  BOOKMARKS_N_SQL
} BookmarksSql;

static const char *const bookmarks_sql[BOOKMARKS_N_SQL] = {
  /* ?1 id, ?2 folderId, ?3 title, ?4 status, ?5 due, ?6 timestamp. */
  [BOOKMARKS_SQL_UPSERT] =
    "INSERT INTO bookmarks (id, folderId, title, status, due, created,"
    "                       updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
    " ON CONFLICT (id) DO UPDATE SET"
    "  folderId = excluded.folderId, title = excluded.title,"
    "  status = excluded.status, due = excluded.due,"
    "  updated = excluded.updated",
  /* ?1 id, ?2 title (NULL: keep), ?3 status (NULL: keep), ?4 1 when due is
   * carried, ?5 due, ?6 timestamp. */
  [BOOKMARKS_SQL_UPDATE] =
    "UPDATE bookmarks SET"
    "  title = coalesce (?2, title), status = coalesce (?3, status),"
    "  due = CASE WHEN ?4 THEN ?5 ELSE due END, updated = ?6"
    " WHERE id = ?1",
  [BOOKMARKS_SQL_DELETE] = "DELETE FROM bookmarks WHERE id = ?1",
  [BOOKMARKS_SQL_CLEAR] = "DELETE FROM bookmarks",
};

/* The applier's state: everything lives here, nothing in globals. */
typedef struct
{
  sqlite3 *db;                          /* borrowed */
  sqlite3_stmt *stmts[BOOKMARKS_N_SQL];     /* owned */
  char *default_status;                 /* owned */
} BookmarksState;

static void
bookmarks_free (gpointer data)
{
  BookmarksState *state = data;

  for (guint i = 0; i < BOOKMARKS_N_SQL; i++)
    sqlite3_finalize (state->stmts[i]);
  g_free (state->default_status);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BookmarksState, bookmarks_free)

/* [applier:bookmarks] default-status, or "todo".  (transfer full) */
static char *
bookmarks_read_default_status (const JsyncApplierContext *context,
                               GError **error)
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
bookmarks_init (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(BookmarksState) state = g_new0 (BookmarksState, 1);

  state->db = context->db;
  state->default_status = bookmarks_read_default_status (context, error);
  if (state->default_status == NULL)
    return NULL;
  for (guint i = 0; i < BOOKMARKS_N_SQL; i++)
    {
      state->stmts[i] = jsync_sql_prepare (state->db, bookmarks_sql[i], error);
      if (state->stmts[i] == NULL)
        return NULL;
    }
  return g_steal_pointer (&state);
}

/* --- Reading events */

/* The string at `key` of `parent`: NULL when absent or null, an error when
 * `required`.  `where` names `parent` in messages ("data." or ""). */
static gboolean
bookmarks_get_string (json_object *parent, const char *where, const char *key,
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
bookmarks_get_due (json_object *data, gboolean *carried, const gint64 **due,
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
bookmarks_bind_due (sqlite3_stmt *stmt, int index, const gint64 *due)
{
  if (due != NULL)
    sqlite3_bind_int64 (stmt, index, *due);
  else
    sqlite3_bind_null (stmt, index);
}

/* --- The handlers: every field is read and checked before anything is
 * written. */

static gboolean
bookmarks_apply_created (BookmarksState *state, const JsyncEvent *event,
                         GError **error)
{
  sqlite3_stmt *stmt = state->stmts[BOOKMARKS_SQL_UPSERT];
  const char *id, *title, *folder_id, *status;
  json_object *data;
  const gint64 *due;
  gint64 due_value;
  gboolean carried;

  if (!jsync_event_get_data (event, &data, error)
      || !bookmarks_get_string (data, "data.", "id", TRUE, &id, error)
      || !bookmarks_get_string (data, "data.", "title", FALSE, &title, error)
      || !bookmarks_get_string (data, "data.", "folderId", FALSE, &folder_id,
                                error)
      || !bookmarks_get_string (data, "data.", "status", FALSE, &status, error)
      || !bookmarks_get_due (data, &carried, &due, &due_value, error))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, id);
  jsync_sql_bind_text (stmt, 2, folder_id);
  jsync_sql_bind_text (stmt, 3, title != NULL ? title : "Untitled");
  jsync_sql_bind_text (stmt, 4, status != NULL ? status
                                               : state->default_status);
  bookmarks_bind_due (stmt, 5, due);
  sqlite3_bind_int64 (stmt, 6, jsync_event_get_timestamp (event));
  return jsync_sql_run (stmt, error);
}

static gboolean
bookmarks_apply_updated (BookmarksState *state, const JsyncEvent *event,
                         GError **error)
{
  sqlite3_stmt *stmt = state->stmts[BOOKMARKS_SQL_UPDATE];
  const char *bookmark_id, *title, *status;
  json_object *data;
  const gint64 *due;
  gint64 due_value;
  gboolean carried;

  if (!bookmarks_get_string (jsync_event_get_json (event), "", "bookmarkId",
                             TRUE, &bookmark_id, error)
      || !jsync_event_get_data (event, &data, error)
      || !bookmarks_get_string (data, "data.", "title", FALSE, &title, error)
      || !bookmarks_get_string (data, "data.", "status", FALSE, &status, error)
      || !bookmarks_get_due (data, &carried, &due, &due_value, error))
    return FALSE;

  jsync_sql_bind_text (stmt, 1, bookmark_id);
  jsync_sql_bind_text (stmt, 2, title);
  jsync_sql_bind_text (stmt, 3, status);
  sqlite3_bind_int (stmt, 4, carried ? 1 : 0);
  bookmarks_bind_due (stmt, 5, due);
  sqlite3_bind_int64 (stmt, 6, jsync_event_get_timestamp (event));
  if (!jsync_sql_run (stmt, error))
    return FALSE;
  if (sqlite3_changes (state->db) == 0)
    g_debug ("%s: no bookmark %s: nothing to update",
             jsync_event_get_id (event), bookmark_id);
  return TRUE;
}

static gboolean
bookmarks_apply_deleted (BookmarksState *state, const JsyncEvent *event,
                         GError **error)
{
  sqlite3_stmt *stmt = state->stmts[BOOKMARKS_SQL_DELETE];
  const char *bookmark_id;

  if (!bookmarks_get_string (jsync_event_get_json (event), "", "bookmarkId",
                             TRUE, &bookmark_id, error))
    return FALSE;
  jsync_sql_bind_text (stmt, 1, bookmark_id);
  return jsync_sql_run (stmt, error);
}

typedef gboolean (*BookmarksHandler) (BookmarksState *state,
                                      const JsyncEvent *event,
                                      GError **error);

static const struct
{
  const char *type;
  BookmarksHandler apply;
} bookmarks_handlers[] = {
  { "bookmark_created", bookmarks_apply_created },
  { "bookmark_updated", bookmarks_apply_updated },
  { "bookmark_deleted", bookmarks_apply_deleted },
};

/* --- The callbacks */

/* One event, in key order.  A FALSE return fails this event alone: jsync
 * rolls back its savepoint and records the event with the message, which
 * starts with the event type ("bookmark_updated: data.due: expected an
 * integer"); jsync adds the file, line and applier. */
static gboolean
bookmarks_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  gssize i = jsync_handler_find (bookmarks_handlers, event, error);

  return i >= 0
         && (bookmarks_handlers[i].apply (data, event, error)
             || jsync_handler_failed (event, error));
}

/* bookmark_created: data.id; bookmark_updated, bookmark_deleted:
 * bookmarkId.  Borrowed from the event. */
static const char *
bookmarks_stream (G_GNUC_UNUSED gpointer data, const JsyncEvent *event)
{
  return jsync_event_get_entity_id (event, "bookmark_created", "bookmarkId");
}

/* Every row of one stream: the bookmark itself. */
static gboolean
bookmarks_clear_stream (gpointer data, const char *stream, GError **error)
{
  BookmarksState *state = data;
  sqlite3_stmt *stmt = state->stmts[BOOKMARKS_SQL_DELETE];

  jsync_sql_bind_text (stmt, 1, stream);
  return jsync_sql_run (stmt, error);
}

static gboolean
bookmarks_clear (gpointer data, GError **error)
{
  BookmarksState *state = data;

  return jsync_sql_run (state->stmts[BOOKMARKS_SQL_CLEAR], error);
}

static gboolean
bookmarks_finish_rebuild (gpointer data, GError **error)
{
  BookmarksState *state = data;

  return jsync_sql_exec (state->db,
                         "INSERT INTO bookmark_fts (bookmark_fts)"
                         " VALUES ('rebuild');",
                         error);
}

static const char *const bookmarks_prefixes[] = { "bookmark_", NULL };

static const char *const bookmarks_tables[] = { "bookmarks", NULL };

static const JsyncSearchTable bookmarks_search[] = {
  { "bookmark_fts", "bookmarks", "title" },
  { NULL, NULL, NULL },
};

JSYNC_APPLIER_DEFINE (
  .name = "bookmarks",
  .version = "1.0.0",
  .description = "Bookmarks (bookmark_created, bookmark_updated,"
                 " bookmark_deleted)",
  .prefixes = bookmarks_prefixes,
  .schema_sql = bookmarks_schema_sql,
  .schema_version = 1,
  .tables = bookmarks_tables,
  .search = bookmarks_search,
  .init = bookmarks_init,
  .apply = bookmarks_apply,
  .stream = bookmarks_stream,
  .clear_stream = bookmarks_clear_stream,
  .clear = bookmarks_clear,
  .finish_rebuild = bookmarks_finish_rebuild,
  .free = bookmarks_free,
);
