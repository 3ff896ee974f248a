/* batchcount.c: the fixture applier that records its end_batch and late
 * calls.
 *
 * Events: every type starting with BATCH_PREFIX.  Rows: BATCH_NAME
 * "_events" (id TEXT PRIMARY KEY), one per event applied, and BATCH_NAME
 * "_batches" (seq INTEGER PRIMARY KEY, events INTEGER), one per end_batch
 * call, holding how many apply() calls came since the one before, so that
 * a test sees whether every applied event was followed by an end_batch in
 * its own transaction.  An event whose data has "failbatch": true makes
 * the next end_batch fail (JSYNC_APPLIER_ERROR_FAILED "end of batch
 * refused"): the core must fail that batch rather than commit it.  One
 * stream; clear deletes the events.  late() (ABI 1.2) takes every late
 * event in place (its rows are a set: the order does not matter) and notes
 * it in BATCH_NAME "_late" (id), which clear leaves alone; an event whose
 * data has "refuselate": true is refused.
 *
 * Built from this one file as three modules (meson.build beside it):
 *   batchcount  prefix "batchcount_"  through JSYNC_APPLIER_DEFINE(): this
 *                                     header's ABI minor, with end_batch
 *                                     and late
 *   minorzero   prefix "minorzero_"   BATCH_MINOR=0: a descriptor of ABI
 *                                     1.0 written by hand, which must still
 *                                     load and apply; its end_batch and
 *                                     late slots (reserved in 1.0) are set
 *                                     anyway, and the core must never call
 *                                     them
 *   minorone    prefix "minorone_"    BATCH_MINOR=1: the same for ABI 1.1,
 *                                     whose end_batch is called and whose
 *                                     late slot never is
 */
#include <jsync/jsync-plugin.h>

#include "../fixture-sql.h"

#define BATCH_EVENTS BATCH_NAME "_events"
#define BATCH_BATCHES BATCH_NAME "_batches"
#define BATCH_LATE BATCH_NAME "_late"

enum
{
  BATCH_SQL_INSERT,
  BATCH_SQL_BATCH,
  BATCH_SQL_CLEAR,
  BATCH_SQL_LATE,
  BATCH_SQL_N
};

static const char *const batch_sql[BATCH_SQL_N] = {
  [BATCH_SQL_INSERT] = "INSERT INTO " BATCH_EVENTS " (id) VALUES (?)",
  [BATCH_SQL_BATCH] = "INSERT INTO " BATCH_BATCHES " (events) VALUES (?)",
  [BATCH_SQL_CLEAR] = "DELETE FROM " BATCH_EVENTS,
  [BATCH_SQL_LATE] = "INSERT INTO " BATCH_LATE " (id) VALUES (?)",
};

typedef struct
{
  sqlite3_stmt *stmts[BATCH_SQL_N];     /* owned */
  gint64 applied;           /* apply() calls since the last end_batch */
  gboolean fail;            /* the next end_batch fails */
} BatchState;

static void
batch_free (gpointer data)
{
  BatchState *state = data;

  fixture_sql_finalize (state->stmts, BATCH_SQL_N);
  g_free (state);
}

static gpointer
batch_init (const JsyncApplierContext *context, GError **error)
{
  BatchState *state = g_new0 (BatchState, 1);

  if (!fixture_sql_prepare (context->db, batch_sql, state->stmts,
                            BATCH_SQL_N, error))
    {
      batch_free (state);
      return NULL;
    }
  return state;
}

/* A boolean of the event's data, FALSE when absent. */
static gboolean
batch_get_flag (const JsyncEvent *event, const char *key, gint64 *flag,
                GError **error)
{
  json_object *data_json;
  JsyncField field;

  jsync_json_lookup (jsync_event_get_json (event), "data", &data_json);
  return jsync_json_get_bool (data_json, key, &field, flag, error);
}

static gboolean
batch_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  BatchState *state = data;
  sqlite3_stmt *insert = state->stmts[BATCH_SQL_INSERT];
  gint64 fail;

  if (!batch_get_flag (event, "failbatch", &fail, error))
    return FALSE;
  jsync_sql_bind_text (insert, 1, jsync_event_get_id (event));
  if (!jsync_sql_run (insert, error))
    return FALSE;
  state->applied++;
  state->fail = state->fail || fail;
  return TRUE;
}

static gboolean
batch_late (gpointer data, const JsyncEvent *event, gboolean *applied,
            GError **error)
{
  BatchState *state = data;
  sqlite3_stmt *late = state->stmts[BATCH_SQL_LATE];
  gint64 refuse;

  *applied = FALSE;
  if (!batch_get_flag (event, "refuselate", &refuse, error))
    return FALSE;
  if (refuse)
    return TRUE;
  jsync_sql_bind_text (late, 1, jsync_event_get_id (event));
  if (!jsync_sql_run (late, error)
      || !batch_apply (state, event, error))
    return FALSE;
  *applied = TRUE;
  return TRUE;
}

static gboolean
batch_end_batch (gpointer data, GError **error)
{
  BatchState *state = data;
  gint64 applied = state->applied;

  state->applied = 0;
  if (state->fail)
    {
      state->fail = FALSE;
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_FAILED,
                   "end of batch refused");
      return FALSE;
    }
  sqlite3_bind_int64 (state->stmts[BATCH_SQL_BATCH], 1, applied);
  return jsync_sql_run (state->stmts[BATCH_SQL_BATCH], error);
}

static gboolean
batch_clear (gpointer data, GError **error)
{
  BatchState *state = data;

  return jsync_sql_run (state->stmts[BATCH_SQL_CLEAR], error);
}

#define BATCH_FIELDS                                                    \
  .name = BATCH_NAME,                                                   \
  .version = "1.0",                                                     \
  .description = "test fixture: records its end_batch calls",           \
  .prefixes = (const char *const[]) { BATCH_PREFIX, NULL },             \
  .schema_sql = "CREATE TABLE IF NOT EXISTS " BATCH_EVENTS              \
                " (id TEXT PRIMARY KEY);"                               \
                "CREATE TABLE IF NOT EXISTS " BATCH_BATCHES             \
                " (seq INTEGER PRIMARY KEY, events INTEGER);"           \
                "CREATE TABLE IF NOT EXISTS " BATCH_LATE                \
                " (id TEXT PRIMARY KEY);",                              \
  .schema_version = 1,                                                  \
  .tables = (const char *const[]) { BATCH_EVENTS, BATCH_BATCHES,        \
                                    BATCH_LATE, NULL },                 \
  .init = batch_init,                                                   \
  .apply = batch_apply,                                                 \
  .clear = batch_clear,                                                 \
  .free = batch_free,                                                   \
  .end_batch = batch_end_batch,                                         \
  .late = batch_late

#ifdef BATCH_MINOR
G_MODULE_EXPORT const JsyncApplierDesc jsync_applier_descriptor = {
  .abi_major = JSYNC_ABI_MAJOR,
  .abi_minor = BATCH_MINOR,
  .struct_size = sizeof (JsyncApplierDesc),
  BATCH_FIELDS,
};
#else
JSYNC_APPLIER_DEFINE (BATCH_FIELDS);
#endif
