/* fixture-sql.h: the prepared statements of the working fixture appliers
 * (echo, batchcount): one array indexed by the fixture's own enum,
 * prepared from a table of SQL texts in init and finalized in free.
 * Not API: test data only. */
#ifndef FIXTURE_SQL_H
#define FIXTURE_SQL_H

#include <jsync/jsync-plugin.h>

/* Finalize the @n statements of @stmts; NULL ones (never prepared) are
 * allowed. */
static inline void
fixture_sql_finalize (sqlite3_stmt **stmts, guint n)
{
  for (guint i = 0; i < n; i++)
    sqlite3_finalize (stmts[i]);
}

/* Prepare @sql[i] into @stmts[i] for each of the @n texts; on a failure,
 * what was prepared stays in @stmts for fixture_sql_finalize(). */
static inline gboolean
fixture_sql_prepare (sqlite3 *db, const char *const *sql,
                     sqlite3_stmt **stmts, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    if ((stmts[i] = jsync_sql_prepare (db, sql[i], error)) == NULL)
      return FALSE;
  return TRUE;
}

#endif /* FIXTURE_SQL_H */
