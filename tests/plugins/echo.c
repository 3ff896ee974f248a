/* echo.c: the fixture applier that keeps every event it is given.
 *
 * Events: every type starting with ECHO_PREFIX, whatever its data.
 * Rows: ECHO_NAME "_events" (id TEXT PRIMARY KEY, type TEXT, payload TEXT):
 * the envelope id and type, and the event's "data" member as compact JSON
 * text (NULL when absent).  One stream (no stream callback); clear deletes
 * every row.  Applying the same event twice is an SQL error (the primary
 * key), so a test sees a core that fails to deduplicate.
 *
 * Built from this one file as four modules (tests/plugins/meson.build sets
 * ECHO_NAME, ECHO_PREFIX and ECHO_REJECT_BAD):
 *   echo       prefix "echo_"       the plain working applier
 *   echolong   prefix "echo_long_"  nests inside echo's: longest prefix wins
 *   reject     prefix "reject_"     ECHO_REJECT_BAD: an event whose data has
 *                                   "bad": true fails with
 *                                   JSYNC_APPLIER_ERROR_INVALID "rejected: bad
 *                                   is true" (a "bad" that is not a boolean
 *                                   fails as malformed) after it wrote its
 *                                   row; the core must roll that row back,
 *                                   record the event as failed and keep the
 *                                   others
 *   dupprefix  prefix "echo_"       in conflict/: claims echo's prefix
 *   echo (v2)  prefix "echo_"       in v2/: ECHO_SCHEMA_VERSION 2, whose
 *                                   table has one more column, note, holding
 *                                   'v2': the core must recreate the table
 *                                   and re-apply every echo event
 *   reject (fixed) prefix "reject_" in fixed/: without ECHO_REJECT_BAD, it
 *                                   accepts every event: swapped in for
 *                                   reject, `jsync failed --retry` applies
 *                                   what reject refused
 */
#include <jsync/jsync-plugin.h>

#include "fixture-sql.h"

#ifndef ECHO_NAME
#define ECHO_NAME "echo"
#endif
#ifndef ECHO_PREFIX
#define ECHO_PREFIX "echo_"
#endif

#define ECHO_TABLE ECHO_NAME "_events"

#ifndef ECHO_SCHEMA_VERSION
#define ECHO_SCHEMA_VERSION 1
#endif
#if ECHO_SCHEMA_VERSION == 1
#define ECHO_COLUMNS "(id TEXT PRIMARY KEY, type TEXT, payload TEXT)"
#else
#define ECHO_COLUMNS "(id TEXT PRIMARY KEY, type TEXT, payload TEXT," \
                     " note TEXT DEFAULT 'v2')"
#endif

enum
{
  ECHO_SQL_INSERT,
  ECHO_SQL_CLEAR,
  ECHO_SQL_N
};

static const char *const echo_sql[ECHO_SQL_N] = {
  [ECHO_SQL_INSERT] = "INSERT INTO " ECHO_TABLE
                      " (id, type, payload) VALUES (?, ?, ?)",
  [ECHO_SQL_CLEAR] = "DELETE FROM " ECHO_TABLE,
};

typedef struct
{
  sqlite3_stmt *stmts[ECHO_SQL_N];      /* owned */
} EchoState;

static void
echo_free (gpointer data)
{
  EchoState *state = data;

  fixture_sql_finalize (state->stmts, ECHO_SQL_N);
  g_free (state);
}

static gpointer
echo_init (const JsyncApplierContext *context, GError **error)
{
  EchoState *state = g_new0 (EchoState, 1);

  if (!fixture_sql_prepare (context->db, echo_sql, state->stmts, ECHO_SQL_N,
                            error))
    {
      echo_free (state);
      return NULL;
    }
  return state;
}

static gboolean
echo_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  EchoState *state = data;
  sqlite3_stmt *insert = state->stmts[ECHO_SQL_INSERT];
  JsyncField field;
  const char *payload;

#ifdef ECHO_REJECT_BAD
  json_object *data_json;
  gint64 bad;
#endif

  jsync_json_get_text (jsync_event_get_json (event), "data", &field,
                       &payload);
  jsync_sql_bind_text (insert, 1, jsync_event_get_id (event));
  jsync_sql_bind_text (insert, 2, jsync_event_get_type (event));
  jsync_sql_bind_text (insert, 3, payload);
  if (!jsync_sql_run (insert, error))
    {
      g_prefix_error (error, "insert: ");
      return FALSE;
    }

#ifdef ECHO_REJECT_BAD
  /* Rejected after the row is written: the core must undo the write. */
  jsync_json_lookup (jsync_event_get_json (event), "data", &data_json);
  if (!jsync_json_get_bool (data_json, "bad", &field, &bad, error))
    return FALSE;
  if (bad)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "rejected: bad is true");
      return FALSE;
    }
#endif
  return TRUE;
}

static gboolean
echo_clear (gpointer data, GError **error)
{
  EchoState *state = data;

  return jsync_sql_run (state->stmts[ECHO_SQL_CLEAR], error);
}

JSYNC_APPLIER_DEFINE (
  .name = ECHO_NAME,
  .version = "1.0",
  .description = "test fixture: stores " ECHO_PREFIX "* events",
  .prefixes = (const char *const[]) { ECHO_PREFIX, NULL },
  .schema_sql = "CREATE TABLE IF NOT EXISTS " ECHO_TABLE " " ECHO_COLUMNS ";",
  .schema_version = ECHO_SCHEMA_VERSION,
  .tables = (const char *const[]) { ECHO_TABLE, NULL },
  .init = echo_init,
  .apply = echo_apply,
  .clear = echo_clear,
  .free = echo_free);
