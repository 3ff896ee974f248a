/* jsync-store-folders.c: jsync_folders, the folders of the data folder as
 * a scan last listed them (docs/design.md "Checkpoints"), so that the next
 * scan lists again only those that changed.
 */
#include <string.h>

#include "jsync-store.h"

#include "core-schema.h"

#define FOLDERS_CREATE "CREATE TABLE IF NOT EXISTS jsync_folders"

/* sqlite3_exec()'s callback: a row came. */
static int
folders_row_came (void *data, int n_columns, char **values, char **names)
{
  *(gboolean *) data = TRUE;
  return SQLITE_OK;
}

/* Whether the cache has the table (one made before it was added does not
 * until its first write of a folder). */
static gboolean
folders_exist (JsyncStore *store, gboolean *exist, GError **error)
{
  *exist = FALSE;
  if (sqlite3_exec (store->db,
                    "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'jsync_folders'",
                    folders_row_came, exist, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "read the schema");
      return FALSE;
    }
  return TRUE;
}

/* Step `stmt` (expecting no row), then finalize it. */
static gboolean
folders_run (JsyncStore *store, sqlite3_stmt *stmt, GError **error)
{
  gboolean ok = jsync_store_run (store, stmt, error);

  sqlite3_finalize (stmt);
  return ok;
}

/* Make the table in a cache that predates it, with its statement in
 * schemas/core.sql: the one statement from its CREATE on. */
static gboolean
folders_create (JsyncStore *store, GError **error)
{
  const char *sql = strstr (core_schema_sql, FOLDERS_CREATE);
  sqlite3_stmt *stmt = NULL;
  gboolean exist;

  g_assert (sql != NULL);
  if (!folders_exist (store, &exist, error))
    return FALSE;
  if (exist)
    return TRUE;
  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "create jsync_folders");
      return FALSE;
    }
  return folders_run (store, stmt, error);
}

/**
 * jsync_store_folders_read:
 * Every row of jsync_folders (columns JSYNC_FOLDER_*) into *stmt; NULL
 * there when the cache has no such table yet.
 */
gboolean
jsync_store_folders_read (JsyncStore *store, sqlite3_stmt **stmt,
                          GError **error)
{
  gboolean exist;

  *stmt = NULL;
  if (!folders_exist (store, &exist, error))
    return FALSE;
  if (!exist)
    return TRUE;
  if (sqlite3_prepare_v2 (store->db,
                          "SELECT path, dev, ino, mtime, ctime, listed,"
                          " entries FROM jsync_folders",
                          -1, stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "read jsync_folders");
      return FALSE;
    }
  return TRUE;
}

/* Prepare `sql` on jsync_folders, made first if need be.  (transfer full) */
static sqlite3_stmt *
folders_prepare (JsyncStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (!folders_create (store, error))
    return NULL;
  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "write jsync_folders");
      return NULL;
    }
  return stmt;
}

/**
 * jsync_store_folder_write:
 * A folder's listing, in place of the one before.
 */
gboolean
jsync_store_folder_write (JsyncStore *store, const JsyncFolder *folder,
                          GError **error)
{
  const gint64 numbers[] = {
    folder->dev, folder->ino, folder->mtime, folder->ctime, folder->listed
  };
  sqlite3_stmt *stmt = folders_prepare (
      store,
      "INSERT OR REPLACE INTO jsync_folders (path, dev, ino, mtime, ctime,"
      " listed, entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, folder->path, -1, SQLITE_STATIC);
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    sqlite3_bind_int64 (stmt, i + 2, numbers[i]);
  /* Not NULL even for an empty folder: a blob of no bytes. */
  sqlite3_bind_blob64 (stmt, 7,
                       folder->entries != NULL ? folder->entries : "",
                       folder->entries_length, SQLITE_STATIC);
  return folders_run (store, stmt, error);
}

/**
 * jsync_store_folder_forget:
 * Forget the listing of a folder.
 */
gboolean
jsync_store_folder_forget (JsyncStore *store, const char *path,
                           GError **error)
{
  sqlite3_stmt *stmt = folders_prepare (
      store, "DELETE FROM jsync_folders WHERE path = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_STATIC);
  return folders_run (store, stmt, error);
}
