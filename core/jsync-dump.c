/* jsync-dump.c: canonical JSON of cache tables. */
#include "jsync-dump.h"

#include <jsync/jsync.h>

/**
 * jsync_dump_table:
 * Read the whole table in a canonical order: ORDER BY 1, 2, ... n, so two
 * caches with the same rows give the same text.
 */
json_object *
jsync_dump_table (sqlite3 *db, const char *table, GError **error)
{
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autofree char *quoted = NULL;
  sqlite3_stmt *stmt = NULL;
  json_object *rows;
  int columns, rc;

  quoted = g_strdup_printf ("\"%s\"", table);
  g_string_printf (sql, "SELECT * FROM %s LIMIT 0", quoted);
  if (sqlite3_prepare_v2 (db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "dump %s: %s", table, sqlite3_errmsg (db));
      return NULL;
    }
  columns = sqlite3_column_count (stmt);
  sqlite3_finalize (stmt);

  g_string_printf (sql, "SELECT * FROM %s ORDER BY ", quoted);
  for (int i = 1; i <= columns; i++)
    g_string_append_printf (sql, i > 1 ? ", %d" : "%d", i);
  if (sqlite3_prepare_v2 (db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "dump %s: %s", table, sqlite3_errmsg (db));
      return NULL;
    }

  rows = json_object_new_array ();
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_object *row = json_object_new_object ();

      for (int i = 0; i < columns; i++)
        {
          json_object *value = NULL;

          switch (sqlite3_column_type (stmt, i))
            {
            case SQLITE_INTEGER:
              value = json_object_new_int64 (sqlite3_column_int64 (stmt, i));
              break;
            case SQLITE_FLOAT:
              value = json_object_new_double (sqlite3_column_double (stmt, i));
              break;
            case SQLITE_TEXT:
              value = json_object_new_string_len (
                  (const char *) sqlite3_column_text (stmt, i),
                  sqlite3_column_bytes (stmt, i));
              break;
            case SQLITE_BLOB:
              {
                g_autofree char *b64 = g_base64_encode (
                    sqlite3_column_blob (stmt, i),
                    sqlite3_column_bytes (stmt, i));
                value = json_object_new_string (b64);
              }
              break;
            default:
              break;
            }
          json_object_object_add (row, sqlite3_column_name (stmt, i), value);
        }
      json_object_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "dump %s: %s", table, sqlite3_errmsg (db));
      json_object_put (rows);
      rows = NULL;
    }
  sqlite3_finalize (stmt);
  return rows;
}
