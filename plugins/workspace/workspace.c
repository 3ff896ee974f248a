/* workspace.c: the bundled `workspace` applier.
 *
 * Projects Nexus workspace logs (workspaces/ws_<id>.jsonl, docs/format.md)
 * into the tables of schemas/workspace.sql.  Events handled, with the
 * fields read (`?` = optional; envelope keys first, then data.*):
 *
 *   workspace_created  data: id, name, description?, rootFolder?, created?,
 *                      lastAccessed?, isActive?, dedicatedAgentId?,
 *                      contextJson? (a JSON string, stored as given),
 *                      isArchived?
 *   workspace_updated  workspaceId; data: any of name, description,
 *                      rootFolder, lastAccessed, isActive, dedicatedAgentId,
 *                      contextJson, isArchived
 *   workspace_deleted  workspaceId; deletes the workspace and every session,
 *                      state and trace with that workspaceId
 *   session_created    workspaceId; data: id, name?, description?,
 *                      startTime?, endTime?, isActive?
 *   session_updated    workspaceId, sessionId; data: any of name,
 *                      description, startTime, endTime, isActive,
 *                      workspaceId (moves the session with its states and
 *                      traces to that workspace)
 *   state_saved        workspaceId, sessionId; data: id, name?,
 *                      description?, created?, stateJson? (a JSON string),
 *                      tags? (any JSON, stored as compact JSON text)
 *   state_updated      workspaceId, stateId, sessionId? (type-checked
 *                      only); data: any of name, description, stateJson,
 *                      tags
 *   state_deleted      workspaceId, stateId, sessionId? (type-checked only)
 *   trace_added        workspaceId, sessionId; data: id, content?,
 *                      traceType? (→ type), metadataJson? (a JSON string);
 *                      its timestamp is the event's
 *
 * Any other type under the prefixes is an unknown event type (an error).
 *
 * apply() implements the plain in-order meaning (docs/format.md "The
 * `workspace` applier"): a create inserts with defaults, or, for an id that
 * exists, sets only the columns whose keys it carries; an update sets the
 * keys present and is a no-op for a missing entity; null counts as absent
 * for a column with a default and is NULL elsewhere.  Every statement on
 * sessions, states and traces matches workspaceId as well as id (a
 * re-create of a state or trace also moves it to the sessionId it
 * carries); only a session move changes a row's workspaceId.  A workspace
 * id that is "undefined", "null" or blank fails the events that name one
 * (docs/format.md).  Every field is checked before anything is written.
 *
 * The applier is one stream (no stream callback): a session move makes
 * the rows of one workspace depend on the events of another, so no
 * workspace can be cleared and replayed alone.  A late event replays all
 * of the applier's events, unless late() applies it in place.
 *
 * Late creates in place (ABI 1.2).  late() takes a late create
 * (workspace_created, session_created, state_saved, trace_added) of a row
 * X of workspace W (for a state or trace: of session S) when
 *   (a) no row of X's table has the id X, and
 *   (b) workspace_changes holds no change with a key after the event's of
 *       (X's table, X) nor, for a state or trace, of ("moves", S);
 * anything else late is refused (the core replays).  (c) When W is
 * deleted later (workspace_deletes), the row is inserted, then deleted and
 * recorded as the first of those deletes would have (for X = W, (b)
 * refuses).  apply() records in workspace_changes, per (kind, id), the
 * latest key of the events that acted or could act on a row: every create
 * and update (X's table, its id), whether it matched a row or not; a
 * state_deleted (states, its id); a workspace_deleted
 * (workspaces, W) and each row it deletes (its table, its id), and in
 * workspace_deletes (W, its key); a session move that moved rows (moves,
 * S).
 * Why this is exact.  Let E be the applied events before the late event e
 * and L those after.  Whether an event fails depends only on its own
 * fields (everything is checked before anything is written), so the
 * failed events are the same in any order, and it suffices that e commutes
 * with every event f of L.  (1) X is absent after E: a row present after E
 * and absent now was deleted by an f of L, which recorded it (a
 * state_deleted names it; a workspace_deleted records every row it
 * deletes); so e inserts X with values from its own fields alone, in
 * either order.  (2) No f of L acts on X once it exists: an f naming X (a
 * create, update or delete of X's id) either found X, which then exists
 * now or was deleted later (recorded, by (1)), or found none (a create
 * would have made X, present now; an update or delete recorded it); a
 * move of S out of W recorded S; the first workspace_deleted of W after e,
 * if any, deletes X and records it, which (c) does, and nothing acts on X
 * after it (no record of X after e).
 * Rows of other ids are read by no statement of e, and e's row is read by
 * no statement of an f that names neither X, W nor S: every statement
 * matches a row by its id, or by its workspace (a delete) or session and
 * workspace (a move).  A re-create that moves a state or trace to another
 * session names X, so (a) or (b) refuses it.  clear() empties the table
 * with the rows; a replay fills it again in key order.
 *
 * Late updates in place (schema 4).  late() takes a late workspace_updated,
 * state_updated or session_updated without data.workspaceId (not a move)
 * of row X when workspace_changes holds no key after the event's for (X's
 * table, X) and, for a state, X is there now (matched as apply() matches
 * it) and there is none for ("moves", the session X is in now).  Exact:
 * every event that acts on X by naming it is recorded, and so is every row
 * a workspace_deleted removes, so no later event acted on X, which was
 * then as it is now when e comes in key order (there, or, for a workspace
 * or session, absent: e then changes nothing but its record, in either
 * order); a move of a state's session is the only later event that
 * changes X without naming it, checked; e writes only X's columns (the
 * FTS index follows its row) and reads no other row.  A late move is
 * refused: it moves the rows its session has now.
 *
 * Late updates overwritten (schema 5).  A late update (not a move) that
 * the rule above refuses is taken as a no-op when, for every column c it
 * sets (carries in data; null with a default counts as absent),
 * workspace_changes holds a key after the event's for ("<table>.<c>", X);
 * one that apply() would fail is refused.  apply() records that kind only
 * where an event wrote c of row X or removed X: an update or a create of
 * an existing id that matched the row (its carried columns); a
 * state_deleted that removed it and each workspace, session and state a
 * workspace_deleted removes (every column an update can set); the delete
 * of (c) above likewise.  An insert records no column.  Exact: if e
 * matched X in key order, each value it wrote was written again or X was
 * removed after it, and no statement reads a column an update sets (a SET
 * keeps what it does not carry, moves and deletes read ids, the FTS index
 * follows the row), so the rows are those of the order without e; if e
 * matched nothing, it was a no-op in order too.  Its records are a
 * replay's: (X's table, X) and each ("<table>.<c>", X) hold a later key
 * already.  A move between e and the rewrite changes no column e sets; an
 * update after a move that misses X writes and records nothing, so e
 * stays refused.
 *
 * Late updates partly overwritten (schema 6).  A late update of a
 * workspace or session (not a move) that the rules above refuse because
 * some column c it sets has no key after the event's for ("<table>.<c>",
 * X) is taken when workspace_changes holds no key after it for
 * ("<table>:inserted", X), which apply() records when a create inserts a
 * workspace or session, nor, for a session, for (moves, X): then it sets
 * now, on X matched as apply() matches it, only those columns (with their
 * records and its own), and is a no-op if X is not there.  Exact: some
 * column has no later record, so no later event removed X (a removal
 * records every column); none inserted it (recorded) nor moved it
 * (recorded; a workspace never moves, and a session changes workspace
 * only by its own move), so X was there, in its workspace, when e comes
 * in key order exactly if it is there now.  If not, e was a no-op then
 * too.  If so, e wrote its columns; the ones with a later record were
 * written again after it by events that read no column (as above), the
 * others by none, so the row is the current one with e's values for
 * those alone.  Its records are a replay's: the later ones stay (the
 * upsert keeps the greater key), e's own for the rest.  States are left
 * to the replay: a later re-create can move a state to another session,
 * whose earlier moves the check above would not see.
 *
 * Late state deletes in place (2.4.0).  late() takes a late state_deleted
 * of state X in workspace W when workspace_changes holds no key after the
 * event's for (states, X) and either X is there now (by id and W) and
 * there is none for ("moves", the session X is in), or no state has the
 * id X.  Exact: every event that acts on X by naming it is recorded, and
 * so is every row a workspace_deleted removes, so (i) X there now was
 * there in W when e comes in key order (its session moves only by a
 * recorded move, its workspace only by a move of that session), e deletes
 * it in either order, and no later event read it (none named it, no
 * delete of W removed it, no move of its session moved it); (ii) X absent
 * now was absent then (its removal would be recorded), and e deletes
 * nothing in either order.  Its records (its own, and the columns of the
 * row it removes) are those it writes in key order, and no later record
 * of X is there to replace.  A state of the id in another workspace is
 * refused: a later move may have taken it there.
 *
 * Full-text index: the schema's triggers note the workspaces each batch
 * touches (workspace_fts_pending), and end_batch updates workspace_fts from
 * them once per batch.  A rebuild drops those triggers (begin_rebuild) and
 * rebuilds the index once at the end (finish_rebuild), which puts the
 * triggers back.
 */
#include <jsync/jsync-plugin.h>

#include "workspace-schema.h"

/* The most columns an entity takes from its events. */
#define WORKSPACE_MAX_COLUMNS 12

/* The JSON type a column is read as. */
typedef enum
{
  WORKSPACE_KIND_STRING,    /* a string, stored as given */
  WORKSPACE_KIND_INT,       /* an int64 */
  WORKSPACE_KIND_BOOL,      /* true/false/0/1, stored as 0/1 */
  WORKSPACE_KIND_JSON,      /* any value, stored as compact JSON text */
} WorkspaceKind;

/* What a column holds when an insert does not carry it. */
typedef enum
{
  WORKSPACE_DEFAULT_NONE,       /* NULL; an explicit null is stored */
  WORKSPACE_DEFAULT_REQUIRED,   /* a create must carry it; never null */
  WORKSPACE_DEFAULT_TEXT,       /* .text */
  WORKSPACE_DEFAULT_INT,        /* .integer */
  WORKSPACE_DEFAULT_TIMESTAMP,  /* the event's timestamp */
  WORKSPACE_DEFAULT_COPY,       /* the value of the earlier column .text */
} WorkspaceDefault;

/* Which events read a column from data. */
#define WORKSPACE_ON_CREATE (1u << 0)
#define WORKSPACE_ON_UPDATE (1u << 1)

typedef struct
{
  /* The data key; the statements name its value :key, and the SET
   * statement whether it is carried :has_key. */
  const char *key;
  WorkspaceKind kind;
  guint events;                 /* WORKSPACE_ON_*; 0: never from data */
  WorkspaceDefault fallback;    /* with a default, null counts as absent */
  const char *text;
  gint64 integer;
} WorkspaceColumn;

typedef enum
{
  WORKSPACE_ENTITY_WORKSPACE,
  WORKSPACE_ENTITY_SESSION,
  WORKSPACE_ENTITY_STATE,
  WORKSPACE_ENTITY_TRACE,
  WORKSPACE_N_ENTITIES,
} WorkspaceEntityId;

/* One table and how events reach it.  Both statements take :id, and
 * :workspaceId and :sessionId when the entity has them; INSERT takes every
 * column's :key (defaults resolved), SET every data column's :has_key and
 * :key and changes the row only where :has_key is true. */
typedef struct
{
  const char *table;
  const char *id_key;           /* envelope key naming it in an update or
                                 * delete; NULL if none has one */
  gboolean in_workspace;        /* has workspaceId, from the envelope */
  gboolean in_session;          /* has sessionId, from the envelope */
  const WorkspaceColumn *columns;   /* terminated by a NULL key */
  const char *inserted;         /* the kind recording the key of the create
                                 * that inserted a row (the header comment
                                 * "Late updates partly overwritten"); NULL
                                 * where that rule is not used */
  const char *insert_sql;
  const char *set_sql;
} WorkspaceEntity;

static const WorkspaceColumn workspace_workspace_columns[] = {
  { "name", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_REQUIRED },
  { "description", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_NONE },
  { "rootFolder", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_TEXT, "" },
  { "created", WORKSPACE_KIND_INT, WORKSPACE_ON_CREATE,
    WORKSPACE_DEFAULT_TIMESTAMP },
  { "lastAccessed", WORKSPACE_KIND_INT,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_COPY,
    "created" },
  { "isActive", WORKSPACE_KIND_BOOL, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_INT, NULL, 1 },
  { "dedicatedAgentId", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_NONE },
  { "contextJson", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_NONE },
  { "isArchived", WORKSPACE_KIND_BOOL,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_INT, NULL,
    0 },
  { NULL },
};

static const WorkspaceColumn workspace_session_columns[] = {
  { "name", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_TEXT, "Unnamed Session" },
  { "description", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_NONE },
  { "startTime", WORKSPACE_KIND_INT, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_TIMESTAMP },
  { "endTime", WORKSPACE_KIND_INT, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_NONE },
  { "isActive", WORKSPACE_KIND_BOOL, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_INT, NULL, 1 },
  { NULL },
};

static const WorkspaceColumn workspace_state_columns[] = {
  { "name", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_TEXT, "Unnamed State" },
  { "description", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_NONE },
  { "created", WORKSPACE_KIND_INT, WORKSPACE_ON_CREATE,
    WORKSPACE_DEFAULT_TIMESTAMP },
  { "stateJson", WORKSPACE_KIND_STRING,
    WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE, WORKSPACE_DEFAULT_TEXT, "{}" },
  { "tags", WORKSPACE_KIND_JSON, WORKSPACE_ON_CREATE | WORKSPACE_ON_UPDATE,
    WORKSPACE_DEFAULT_NONE },
  { NULL },
};

static const WorkspaceColumn workspace_trace_columns[] = {
  { "timestamp", WORKSPACE_KIND_INT, 0, WORKSPACE_DEFAULT_TIMESTAMP },
  { "traceType", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE,
    WORKSPACE_DEFAULT_NONE },
  { "content", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE,
    WORKSPACE_DEFAULT_TEXT, "" },
  { "metadataJson", WORKSPACE_KIND_STRING, WORKSPACE_ON_CREATE,
    WORKSPACE_DEFAULT_NONE },
  { NULL },
};

static const WorkspaceEntity workspace_entities[WORKSPACE_N_ENTITIES] = {
  [WORKSPACE_ENTITY_WORKSPACE] = {
    .table = "workspaces",
    .id_key = "workspaceId",
    .columns = workspace_workspace_columns,
    .inserted = "workspaces:inserted",
    .insert_sql =
      "INSERT INTO workspaces (id, name, description, rootFolder, created,"
      " lastAccessed, isActive, dedicatedAgentId, contextJson, isArchived)"
      " VALUES (:id, :name, :description, :rootFolder, :created,"
      " :lastAccessed, :isActive, :dedicatedAgentId, :contextJson,"
      " :isArchived)"
      " ON CONFLICT (id) DO NOTHING",
    .set_sql =
      "UPDATE workspaces SET"
      " name = CASE WHEN :has_name THEN :name ELSE name END,"
      " description = CASE WHEN :has_description THEN :description"
      "   ELSE description END,"
      " rootFolder = CASE WHEN :has_rootFolder THEN :rootFolder"
      "   ELSE rootFolder END,"
      " created = CASE WHEN :has_created THEN :created ELSE created END,"
      " lastAccessed = CASE WHEN :has_lastAccessed THEN :lastAccessed"
      "   ELSE lastAccessed END,"
      " isActive = CASE WHEN :has_isActive THEN :isActive ELSE isActive END,"
      " dedicatedAgentId = CASE WHEN :has_dedicatedAgentId"
      "   THEN :dedicatedAgentId ELSE dedicatedAgentId END,"
      " contextJson = CASE WHEN :has_contextJson THEN :contextJson"
      "   ELSE contextJson END,"
      " isArchived = CASE WHEN :has_isArchived THEN :isArchived"
      "   ELSE isArchived END"
      " WHERE id = :id",
  },
  [WORKSPACE_ENTITY_SESSION] = {
    .table = "sessions",
    .id_key = "sessionId",
    .in_workspace = TRUE,
    .columns = workspace_session_columns,
    .inserted = "sessions:inserted",
    .insert_sql =
      "INSERT INTO sessions (id, workspaceId, name, description, startTime,"
      " endTime, isActive)"
      " VALUES (:id, :workspaceId, :name, :description, :startTime,"
      " :endTime, :isActive)"
      " ON CONFLICT (id) DO NOTHING",
    .set_sql =
      "UPDATE sessions SET"
      " name = CASE WHEN :has_name THEN :name ELSE name END,"
      " description = CASE WHEN :has_description THEN :description"
      "   ELSE description END,"
      " startTime = CASE WHEN :has_startTime THEN :startTime"
      "   ELSE startTime END,"
      " endTime = CASE WHEN :has_endTime THEN :endTime ELSE endTime END,"
      " isActive = CASE WHEN :has_isActive THEN :isActive ELSE isActive END"
      " WHERE id = :id AND workspaceId = :workspaceId",
  },
  [WORKSPACE_ENTITY_STATE] = {
    .table = "states",
    .id_key = "stateId",
    .in_workspace = TRUE,
    .in_session = TRUE,
    .columns = workspace_state_columns,
    .insert_sql =
      "INSERT INTO states (id, sessionId, workspaceId, name, description,"
      " created, stateJson, tagsJson)"
      " VALUES (:id, :sessionId, :workspaceId, :name, :description,"
      " :created, :stateJson, :tags)"
      " ON CONFLICT (id) DO NOTHING",
    .set_sql =
      "UPDATE states SET"
      " sessionId = coalesce (:sessionId, sessionId),"
      " name = CASE WHEN :has_name THEN :name ELSE name END,"
      " description = CASE WHEN :has_description THEN :description"
      "   ELSE description END,"
      " created = CASE WHEN :has_created THEN :created ELSE created END,"
      " stateJson = CASE WHEN :has_stateJson THEN :stateJson"
      "   ELSE stateJson END,"
      " tagsJson = CASE WHEN :has_tags THEN :tags ELSE tagsJson END"
      " WHERE id = :id AND workspaceId = :workspaceId",
  },
  [WORKSPACE_ENTITY_TRACE] = {
    .table = "memory_traces",
    .id_key = NULL,
    .in_workspace = TRUE,
    .in_session = TRUE,
    .columns = workspace_trace_columns,
    .insert_sql =
      "INSERT INTO memory_traces (id, sessionId, workspaceId, timestamp,"
      " type, content, metadataJson)"
      " VALUES (:id, :sessionId, :workspaceId, :timestamp,"
      " :traceType, :content, :metadataJson)"
      " ON CONFLICT (id) DO NOTHING",
    .set_sql =
      "UPDATE memory_traces SET"
      " sessionId = :sessionId,"
      " type = CASE WHEN :has_traceType THEN :traceType ELSE type END,"
      " content = CASE WHEN :has_content THEN :content ELSE content END,"
      " metadataJson = CASE WHEN :has_metadataJson THEN :metadataJson"
      "   ELSE metadataJson END"
      " WHERE id = :id AND workspaceId = :workspaceId",
  },
};

/* The rows of one workspace (a stream), children first. */
static const char *const workspace_delete_sql[] = {
  "DELETE FROM memory_traces WHERE workspaceId = ?1",
  "DELETE FROM states WHERE workspaceId = ?1",
  "DELETE FROM sessions WHERE workspaceId = ?1",
  "DELETE FROM workspaces WHERE id = ?1",
};

/* A session moved to another workspace (session_updated with
 * data.workspaceId), with its states and traces: ?1 the new workspace, ?2
 * the session, ?3 the workspace it leaves. */
static const char *const workspace_move_sql[] = {
  "UPDATE memory_traces SET workspaceId = ?1"
  " WHERE sessionId = ?2 AND workspaceId = ?3",
  "UPDATE states SET workspaceId = ?1"
  " WHERE sessionId = ?2 AND workspaceId = ?3",
  "UPDATE sessions SET workspaceId = ?1 WHERE id = ?2 AND workspaceId = ?3",
};

/* An entity's INSERT or SET statement and the indexes of its parameters,
 * looked up once (0: the statement has no such parameter). */
typedef struct
{
  sqlite3_stmt *stmt;                   /* owned */
  int id;                               /* :id */
  int workspace_id;                     /* :workspaceId */
  int session_id;                       /* :sessionId */
  int value[WORKSPACE_MAX_COLUMNS];     /* :key, per column */
  int has[WORKSPACE_MAX_COLUMNS];       /* :has_key, per column (SET) */
} WorkspaceStatement;

/* end_batch's statements (workspace.sql): is there anything to do; delete
 * what the index holds of the workspaces the batch changed or deleted;
 * index the workspaces the batch touched as they are now (the pending
 * table drives the join); forget the batch.  In this order: a row deleted
 * and re-inserted in the batch (same rowid) ends up with its new values. */
enum
{
  WORKSPACE_FTS_ANY,
  WORKSPACE_FTS_DELETE,
  WORKSPACE_FTS_INSERT,
  WORKSPACE_FTS_EMPTY,
};

static const char *const workspace_fts_sql[] = {
  [WORKSPACE_FTS_ANY] = "SELECT 1 FROM workspace_fts_pending LIMIT 1",
  [WORKSPACE_FTS_DELETE] =
    "INSERT INTO workspace_fts (workspace_fts, rowid, id, name, description)"
    " SELECT 'delete', contentRowid, id, name, description"
    " FROM workspace_fts_pending WHERE indexed",
  [WORKSPACE_FTS_INSERT] =
    "INSERT INTO workspace_fts (rowid, id, name, description)"
    " SELECT w.rowid, w.id, w.name, w.description"
    " FROM workspace_fts_pending AS p"
    " CROSS JOIN workspaces AS w ON w.rowid = p.contentRowid",
  [WORKSPACE_FTS_EMPTY] = "DELETE FROM workspace_fts_pending",
};

/* workspace_changes (the header comment), all with ?1 the id, ?2 ?3 ?4 the
 * event's key (timestamp, deviceId, id) and ?5 the kind: record a change
 * (the latest key stays); is there a change after the key. */
#define WORKSPACE_CHANGE_UPSERT                                            \
  " ON CONFLICT (kind, id) DO UPDATE SET ts = excluded.ts,"              \
  " device = excluded.device, eventId = excluded.eventId"                \
  " WHERE (excluded.ts, excluded.device, excluded.eventId)"              \
  " > (ts, device, eventId)"

enum
{
  WORKSPACE_CHANGE_RECORD,
  WORKSPACE_CHANGE_AFTER,
  WORKSPACE_CHANGE_DELETED,
};

static const char *const workspace_changes_sql[] = {
  [WORKSPACE_CHANGE_RECORD] =
    "INSERT INTO workspace_changes (kind, id, ts, device, eventId)"
    " VALUES (?5, ?1, ?2, ?3, ?4)" WORKSPACE_CHANGE_UPSERT,
  [WORKSPACE_CHANGE_AFTER] =
    "SELECT 1 FROM workspace_changes WHERE kind = ?5 AND id = ?1"
    " AND (ts, device, eventId) > (?2, ?3, ?4)",
  /* The first delete of workspace ?1 after the key. */
  [WORKSPACE_CHANGE_DELETED] =
    "SELECT ts, device, eventId FROM workspace_deletes"
    " WHERE workspaceId = ?1 AND (ts, device, eventId) > (?2, ?3, ?4)"
    " ORDER BY ts, device, eventId LIMIT 1",
};

/* A workspace_deleted records each row it deletes and the workspace (?1),
 * before workspace_delete_sql. */
#define WORKSPACE_FORGET(table)                                            \
  "INSERT INTO workspace_changes (kind, id, ts, device, eventId)"        \
  " SELECT '" table "', id, ?2, ?3, ?4 FROM " table                      \
  " WHERE workspaceId = ?1" WORKSPACE_CHANGE_UPSERT

static const char *const workspace_forget_sql[] = {
  WORKSPACE_FORGET ("memory_traces"),
  WORKSPACE_FORGET ("states"),
  WORKSPACE_FORGET ("sessions"),
  "INSERT INTO workspace_changes (kind, id, ts, device, eventId)"
  " VALUES ('workspaces', ?1, ?2, ?3, ?4)" WORKSPACE_CHANGE_UPSERT,
  "INSERT INTO workspace_deletes (workspaceId, ts, device, eventId)"
  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
};

/* The kind of a session's move in workspace_changes. */
#define WORKSPACE_KIND_MOVES "moves"

typedef struct
{
  sqlite3 *db;                                          /* borrowed */
  WorkspaceStatement insert[WORKSPACE_N_ENTITIES];
  WorkspaceStatement set[WORKSPACE_N_ENTITIES];
  sqlite3_stmt *delete_stream[G_N_ELEMENTS (workspace_delete_sql)]; /* owned */
  sqlite3_stmt *move[G_N_ELEMENTS (workspace_move_sql)];  /* owned */
  sqlite3_stmt *delete_state;                           /* owned */
  sqlite3_stmt *fts[G_N_ELEMENTS (workspace_fts_sql)];  /* owned */
  sqlite3_stmt *changes[G_N_ELEMENTS (workspace_changes_sql)]; /* owned */
  sqlite3_stmt *forget[G_N_ELEMENTS (workspace_forget_sql)];   /* owned */
  sqlite3_stmt *exists[WORKSPACE_N_ENTITIES];           /* owned */
  sqlite3_stmt *remove[WORKSPACE_N_ENTITIES];           /* owned */
  sqlite3_stmt *current[WORKSPACE_N_ENTITIES];          /* owned */
  /* Per entity that updates reach, the kind "<table>.<key>" of each
   * column an update can set (else NULL), and the statement recording
   * them all for the rows a workspace_deleted removes. */
  char *column_kind[WORKSPACE_N_ENTITIES][WORKSPACE_MAX_COLUMNS]; /* owned */
  sqlite3_stmt *forget_columns[WORKSPACE_N_ENTITIES];   /* owned */
} WorkspaceApplier;

/* A value read from an event: field says whether it was there. */
typedef struct
{
  JsyncField field;
  const char *text;     /* STRING, JSON when SET (borrowed from the event) */
  gint64 integer;       /* INT, BOOL when SET */
} WorkspaceValue;

static void
workspace_free (gpointer state)
{
  WorkspaceApplier *self = state;

  for (guint i = 0; i < WORKSPACE_N_ENTITIES; i++)
    {
      sqlite3_finalize (self->insert[i].stmt);
      sqlite3_finalize (self->set[i].stmt);
    }
  for (guint i = 0; i < G_N_ELEMENTS (self->delete_stream); i++)
    sqlite3_finalize (self->delete_stream[i]);
  for (guint i = 0; i < G_N_ELEMENTS (self->move); i++)
    sqlite3_finalize (self->move[i]);
  sqlite3_finalize (self->delete_state);
  for (guint i = 0; i < G_N_ELEMENTS (self->fts); i++)
    sqlite3_finalize (self->fts[i]);
  for (guint i = 0; i < G_N_ELEMENTS (self->changes); i++)
    sqlite3_finalize (self->changes[i]);
  for (guint i = 0; i < G_N_ELEMENTS (self->forget); i++)
    sqlite3_finalize (self->forget[i]);
  for (guint i = 0; i < G_N_ELEMENTS (self->exists); i++)
    {
      sqlite3_finalize (self->exists[i]);
      sqlite3_finalize (self->remove[i]);
      sqlite3_finalize (self->current[i]);
      sqlite3_finalize (self->forget_columns[i]);
      for (guint j = 0; j < WORKSPACE_MAX_COLUMNS; j++)
        g_free (self->column_kind[i][j]);
    }
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkspaceApplier, workspace_free)

/* --- Statements and parameters */

/* Find parameter :<prefix><key> of a statement; it must be there, so that
 * no value can be dropped silently. */
static gboolean
workspace_find_param (const WorkspaceEntity *entity, sqlite3_stmt *stmt,
                      const char *prefix, const char *key, int *index,
                      GError **error)
{
  g_autofree char *name = g_strconcat (":", prefix, key, NULL);

  *index = sqlite3_bind_parameter_index (stmt, name);
  if (*index > 0)
    return TRUE;
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_FAILED,
               "%s: a statement lacks %s", entity->table, name);
  return FALSE;
}

/* Prepare an entity's INSERT (set FALSE) or SET statement and find the
 * parameters it must take. */
static gboolean
workspace_statement_prepare (WorkspaceStatement *st, sqlite3 *db,
                             const WorkspaceEntity *entity, gboolean set,
                             GError **error)
{
  guint n = 0;

  while (entity->columns[n].key != NULL)
    n++;
  if (n > WORKSPACE_MAX_COLUMNS)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_FAILED,
                   "%s: more than %d columns", entity->table,
                   WORKSPACE_MAX_COLUMNS);
      return FALSE;
    }
  st->stmt = jsync_sql_prepare (db, set ? entity->set_sql : entity->insert_sql,
                                error);
  if (st->stmt == NULL
      || !workspace_find_param (entity, st->stmt, "", "id", &st->id, error)
      || (entity->in_workspace
          && !workspace_find_param (entity, st->stmt, "", "workspaceId",
                                    &st->workspace_id, error))
      || (entity->in_session
          && !workspace_find_param (entity, st->stmt, "", "sessionId",
                                    &st->session_id, error)))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const char *key = entity->columns[i].key;

      /* SET takes only what events can carry. */
      if (set && entity->columns[i].events == 0)
        continue;
      if (!workspace_find_param (entity, st->stmt, "", key, &st->value[i],
                                 error)
          || (set && !workspace_find_param (entity, st->stmt, "has_", key,
                                            &st->has[i], error)))
        return FALSE;
    }
  return TRUE;
}

static void
workspace_bind_value (sqlite3_stmt *stmt, int index,
                      const WorkspaceColumn *column,
                      const WorkspaceValue *value)
{
  if (value->field != JSYNC_FIELD_SET)
    sqlite3_bind_null (stmt, index);
  else if (column->kind == WORKSPACE_KIND_STRING
           || column->kind == WORKSPACE_KIND_JSON)
    jsync_sql_bind_text (stmt, index, value->text);
  else
    sqlite3_bind_int64 (stmt, index, value->integer);
}

/* Bind an INSERT: every column, with its default where the event did not
 * carry it. */
static void
workspace_bind_insert (const WorkspaceStatement *st,
                       const WorkspaceEntity *entity,
                       const WorkspaceValue *values, gint64 timestamp)
{
  WorkspaceValue resolved[WORKSPACE_MAX_COLUMNS];

  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const WorkspaceColumn *column = &entity->columns[i];
      WorkspaceValue *value = &resolved[i];

      *value = values[i];
      if (value->field == JSYNC_FIELD_ABSENT)
        {
          value->field = JSYNC_FIELD_SET;
          switch (column->fallback)
            {
            case WORKSPACE_DEFAULT_NONE:
            case WORKSPACE_DEFAULT_REQUIRED:
              value->field = JSYNC_FIELD_NULL;
              break;
            case WORKSPACE_DEFAULT_TEXT:
              value->text = column->text;
              break;
            case WORKSPACE_DEFAULT_INT:
              value->integer = column->integer;
              break;
            case WORKSPACE_DEFAULT_TIMESTAMP:
              value->integer = timestamp;
              break;
            case WORKSPACE_DEFAULT_COPY:
              for (guint j = 0; j < i; j++)
                if (strcmp (entity->columns[j].key, column->text) == 0)
                  *value = resolved[j];
              break;
            }
        }
      workspace_bind_value (st->stmt, st->value[i], column, value);
    }
}

/* Bind a SET: each data column with whether the event carried it. */
static void
workspace_bind_set (const WorkspaceStatement *st,
                    const WorkspaceEntity *entity,
                    const WorkspaceValue *values)
{
  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const WorkspaceColumn *column = &entity->columns[i];

      if (column->events == 0)
        continue;
      sqlite3_bind_int (st->stmt, st->has[i],
                        values[i].field != JSYNC_FIELD_ABSENT);
      workspace_bind_value (st->stmt, st->value[i], column, &values[i]);
    }
}

/* Bind the ids the statement takes. */
static void
workspace_bind_ids (const WorkspaceStatement *st, const char *id,
                    const char *workspace_id, const char *session_id)
{
  jsync_sql_bind_text (st->stmt, st->id, id);
  if (st->workspace_id > 0)
    jsync_sql_bind_text (st->stmt, st->workspace_id, workspace_id);
  if (st->session_id > 0)
    jsync_sql_bind_text (st->stmt, st->session_id, session_id);
}

static gboolean
workspace_run (sqlite3_stmt *stmt, const JsyncEvent *event, GError **error)
{
  if (jsync_sql_run (stmt, error))
    return TRUE;
  g_prefix_error (error, "%s: ", jsync_event_get_type (event));
  return FALSE;
}

/* Run an entity's SET statement for the row `id`. */
static gboolean
workspace_run_set (const WorkspaceStatement *set,
                   const WorkspaceEntity *entity, const char *id,
                   const char *workspace_id, const char *session_id,
                   const WorkspaceValue *values, const JsyncEvent *event,
                   GError **error)
{
  workspace_bind_ids (set, id, workspace_id, session_id);
  workspace_bind_set (set, entity, values);
  return workspace_run (set->stmt, event, error);
}

/* --- Reading events */

/* Set an INVALID error "<type>: <message>". */
static void G_GNUC_PRINTF (3, 4)
workspace_set_invalid (GError **error, const JsyncEvent *event,
                       const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
               "%s: %s", jsync_event_get_type (event), message);
}

/* An envelope string (a routing id); required ones must be strings. */
static gboolean
workspace_get_routing (const JsyncEvent *event, const char *key,
                       gboolean required, const char **out, GError **error)
{
  return jsync_event_get_string (event, key, required, out, error)
         || jsync_handler_failed (event, error);
}

/* The workspace id of a workspace_created (data.id) or of the envelope
 * (workspaceId) of the events that name one: Nexus writers have left
 * "undefined", "null" and blank ones, which name no workspace. */
static gboolean
workspace_check_workspace_id (const JsyncEvent *event, const char *what,
                              const char *id, GError **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (id));

  if (*stripped != '\0' && strcmp (id, "undefined") != 0
      && strcmp (id, "null") != 0)
    return TRUE;
  workspace_set_invalid (error, event, "%s: \"%s\" names no workspace",
                         what, id);
  return FALSE;
}

/* The data object, or NULL when it is absent or null; the error starts
 * with the event type. */
static gboolean
workspace_get_data (const JsyncEvent *event, json_object **data,
                    GError **error)
{
  return jsync_event_get_data (event, data, error)
         || jsync_handler_failed (event, error);
}

static const char *
workspace_kind_expected (WorkspaceKind kind)
{
  switch (kind)
    {
    case WORKSPACE_KIND_STRING:
      return "a string";
    case WORKSPACE_KIND_INT:
      return "an integer";
    case WORKSPACE_KIND_BOOL:
      return "a boolean";
    case WORKSPACE_KIND_JSON:
    default:
      return "a JSON value";
    }
}

static gboolean
workspace_read_value (json_object *data, const WorkspaceColumn *column,
                      WorkspaceValue *value, GError **error)
{
  switch (column->kind)
    {
    case WORKSPACE_KIND_STRING:
      return jsync_json_get_string (data, column->key, &value->field,
                                    &value->text, error);
    case WORKSPACE_KIND_INT:
      return jsync_json_get_int64 (data, column->key, &value->field,
                                   &value->integer, error);
    case WORKSPACE_KIND_BOOL:
      return jsync_json_get_bool (data, column->key, &value->field,
                                  &value->integer, error);
    case WORKSPACE_KIND_JSON:
    default:
      jsync_json_get_text (data, column->key, &value->field, &value->text);
      return TRUE;
    }
}

/* Read the data columns the event kind (WORKSPACE_ON_*) carries into
 * values[], parallel to entity->columns; the others are ABSENT. */
static gboolean
workspace_read_columns (const JsyncEvent *event, json_object *data,
                        const WorkspaceEntity *entity, guint on,
                        WorkspaceValue *values, GError **error)
{
  for (guint i = 0; entity->columns[i].key != NULL; i++)
    {
      const WorkspaceColumn *column = &entity->columns[i];
      WorkspaceValue *value = &values[i];

      *value = (WorkspaceValue) { .field = JSYNC_FIELD_ABSENT };
      if ((column->events & on) == 0)
        continue;
      if (!workspace_read_value (data, column, value, error))
        {
          g_prefix_error (error, "%s: data.", jsync_event_get_type (event));
          return FALSE;
        }
      switch (column->fallback)
        {
        case WORKSPACE_DEFAULT_NONE:
          break;
        case WORKSPACE_DEFAULT_REQUIRED:
          /* No default and NOT NULL: null is never a value. */
          if (on == WORKSPACE_ON_CREATE && value->field != JSYNC_FIELD_SET)
            {
              workspace_set_invalid (error, event, "missing data.%s",
                                     column->key);
              return FALSE;
            }
          if (value->field == JSYNC_FIELD_NULL)
            {
              workspace_set_invalid (error, event, "data.%s: expected %s",
                                     column->key,
                                     workspace_kind_expected (column->kind));
              return FALSE;
            }
          break;
        case WORKSPACE_DEFAULT_TEXT:
        case WORKSPACE_DEFAULT_INT:
        case WORKSPACE_DEFAULT_TIMESTAMP:
        case WORKSPACE_DEFAULT_COPY:
          if (value->field == JSYNC_FIELD_NULL)
            value->field = JSYNC_FIELD_ABSENT;
          break;
        }
    }
  return TRUE;
}

/* --- Changes (the header comment) */

/* An event key (timestamp, deviceId, id). */
typedef struct
{
  gint64 ts;
  const char *device;
  const char *id;
} WorkspaceKey;

static WorkspaceKey
workspace_event_key (const JsyncEvent *event)
{
  return (WorkspaceKey) { jsync_event_get_timestamp (event),
                          jsync_event_get_device_id (event),
                          jsync_event_get_id (event) };
}

/* Bind the id ?1 and the key ?2 ?3 ?4 (the event's, or `key`). */
static void
workspace_bind_key (sqlite3_stmt *stmt, const char *id,
                    const JsyncEvent *event, const WorkspaceKey *key)
{
  WorkspaceKey own = workspace_event_key (event);

  if (key == NULL)
    key = &own;
  jsync_sql_bind_text (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, key->ts);
  jsync_sql_bind_text (stmt, 3, key->device);
  jsync_sql_bind_text (stmt, 4, key->id);
}

/* Record that the event (or the one of `key`) may have acted on the row
 * `id` of `kind`. */
static gboolean
workspace_record_change (WorkspaceApplier *self, const JsyncEvent *event,
                         const WorkspaceKey *key, const char *kind,
                         const char *id, GError **error)
{
  sqlite3_stmt *stmt = self->changes[WORKSPACE_CHANGE_RECORD];

  workspace_bind_key (stmt, id, event, key);
  jsync_sql_bind_text (stmt, 5, kind);
  return workspace_run (stmt, event, error);
}

/* Step a bound query: does it return a row?  The statement is reset. */
static gboolean
workspace_any_row (WorkspaceApplier *self, sqlite3_stmt *stmt,
                   gboolean *found, GError **error)
{
  int rc = sqlite3_step (stmt);

  *found = rc == SQLITE_ROW;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    jsync_sql_set_error (self->db, error, "step");
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Is a change of the row `id` of `kind` recorded after the event's key? */
static gboolean
workspace_changed_after (WorkspaceApplier *self, const JsyncEvent *event,
                         const char *kind, const char *id, gboolean *found,
                         GError **error)
{
  sqlite3_stmt *stmt = self->changes[WORKSPACE_CHANGE_AFTER];

  workspace_bind_key (stmt, id, event, NULL);
  jsync_sql_bind_text (stmt, 5, kind);
  return workspace_any_row (self, stmt, found, error);
}

/* Record that the event (or the one of `key`) set the columns an update
 * can set of the row `id`: those `values` carries, or, when the row was
 * deleted (values NULL), all of them. */
static gboolean
workspace_record_columns (WorkspaceApplier *self, const JsyncEvent *event,
                          const WorkspaceKey *key,
                          const WorkspaceEntity *entity, const char *id,
                          const WorkspaceValue *values, GError **error)
{
  char **kinds = self->column_kind[entity - workspace_entities];

  for (guint i = 0; entity->columns[i].key != NULL; i++)
    if (kinds[i] != NULL
        && (values == NULL || values[i].field != JSYNC_FIELD_ABSENT)
        && !workspace_record_change (self, event, key, kinds[i], id, error))
      return FALSE;
  return TRUE;
}

/* --- Handlers */

typedef gboolean (*WorkspaceHandlerFunc) (WorkspaceApplier *self,
                                          const JsyncEvent *event,
                                          const WorkspaceEntity *entity,
                                          GError **error);

/* workspace_created, session_created, state_saved, trace_added. */
static gboolean
workspace_apply_create (WorkspaceApplier *self, const JsyncEvent *event,
                        const WorkspaceEntity *entity, GError **error)
{
  const WorkspaceStatement *insert = &self->insert[entity - workspace_entities];
  const WorkspaceStatement *set = &self->set[entity - workspace_entities];
  WorkspaceValue values[WORKSPACE_MAX_COLUMNS];
  json_object *data = NULL;
  const char *id = NULL;
  const char *workspace_id = NULL;
  const char *session_id = NULL;
  JsyncField field;

  if (!workspace_get_data (event, &data, error)
      || (entity->in_workspace
          && !workspace_get_routing (event, "workspaceId", TRUE,
                                     &workspace_id, error))
      || (entity->in_session
          && !workspace_get_routing (event, "sessionId", TRUE, &session_id,
                                     error)))
    return FALSE;
  if (!jsync_json_get_string (data, "id", &field, &id, error))
    {
      g_prefix_error (error, "%s: data.", jsync_event_get_type (event));
      return FALSE;
    }
  if (field != JSYNC_FIELD_SET)
    {
      workspace_set_invalid (error, event, "missing data.id");
      return FALSE;
    }
  if ((entity->in_workspace
       ? !workspace_check_workspace_id (event, "workspaceId", workspace_id,
                                        error)
       : !workspace_check_workspace_id (event, "data.id", id, error))
      || !workspace_read_columns (event, data, entity, WORKSPACE_ON_CREATE,
                                  values, error))
    return FALSE;

  workspace_bind_ids (insert, id, workspace_id, session_id);
  workspace_bind_insert (insert, entity, values,
                         jsync_event_get_timestamp (event));
  if (!workspace_run (insert->stmt, event, error))
    return FALSE;
  if (sqlite3_changes (self->db) > 0 && entity->inserted != NULL
      && !workspace_record_change (self, event, NULL, entity->inserted, id,
                                   error))
    return FALSE;
  /* When the id exists, a create sets only what it carries. */
  if (sqlite3_changes (self->db) == 0
      && (!workspace_run_set (set, entity, id, workspace_id, session_id,
                              values, event, error)
          || (sqlite3_changes (self->db) > 0
              && !workspace_record_columns (self, event, NULL, entity, id,
                                            values, error))))
    return FALSE;
  return workspace_record_change (self, event, NULL, entity->table, id,
                                  error);
}

/* Read and check an update (workspace_updated, session_updated,
 * state_updated): its ids and the columns it sets.  The sessionId of a
 * state_updated is checked, not used: the state stays in its session. */
static gboolean
workspace_read_update (const JsyncEvent *event, const WorkspaceEntity *entity,
                       const char **id, const char **workspace_id,
                       WorkspaceValue *values, GError **error)
{
  json_object *data = NULL;
  const char *session_id = NULL;

  *workspace_id = NULL;
  return workspace_get_data (event, &data, error)
         && (!entity->in_workspace
             || workspace_get_routing (event, "workspaceId", TRUE,
                                       workspace_id, error))
         && (!entity->in_session
             || workspace_get_routing (event, "sessionId", FALSE,
                                       &session_id, error))
         && workspace_get_routing (event, entity->id_key, TRUE, id, error)
         && (entity->in_workspace
             || workspace_check_workspace_id (event, entity->id_key, *id,
                                              error))
         && workspace_read_columns (event, data, entity, WORKSPACE_ON_UPDATE,
                                    values, error);
}

/* workspace_updated, session_updated, state_updated; *matched tells
 * whether the row was there (recorded as a change either way, its
 * columns only then). */
static gboolean
workspace_update_row (WorkspaceApplier *self, const JsyncEvent *event,
                      const WorkspaceEntity *entity, gboolean *matched,
                      GError **error)
{
  const WorkspaceStatement *set = &self->set[entity - workspace_entities];
  WorkspaceValue values[WORKSPACE_MAX_COLUMNS];
  const char *id = NULL;
  const char *workspace_id = NULL;

  if (!workspace_read_update (event, entity, &id, &workspace_id, values,
                              error)
      || !workspace_run_set (set, entity, id, workspace_id, NULL, values,
                             event, error))
    return FALSE;
  *matched = sqlite3_changes (self->db) > 0;
  return (!*matched
          || workspace_record_columns (self, event, NULL, entity, id, values,
                                       error))
         && workspace_record_change (self, event, NULL, entity->table, id,
                                     error);
}

static gboolean
workspace_apply_update (WorkspaceApplier *self, const JsyncEvent *event,
                        const WorkspaceEntity *entity, GError **error)
{
  gboolean matched;

  return workspace_update_row (self, event, entity, &matched, error);
}

/* session_updated: the update, then, when data.workspaceId names another
 * workspace and the session was there, its move with the states and
 * traces of that session in the workspace it leaves (as Nexus's own move
 * does; its applier moves only the session). */
static gboolean
workspace_apply_session_updated (WorkspaceApplier *self,
                                 const JsyncEvent *event,
                                 const WorkspaceEntity *entity,
                                 GError **error)
{
  json_object *data = NULL;
  const char *to = NULL;
  const char *from = NULL;
  const char *session_id = NULL;
  gboolean matched;
  JsyncField field;

  if (!workspace_get_data (event, &data, error))
    return FALSE;
  if (!jsync_json_get_string (data, "workspaceId", &field, &to, error))
    {
      g_prefix_error (error, "%s: data.", jsync_event_get_type (event));
      return FALSE;
    }
  if (field == JSYNC_FIELD_NULL)
    {
      workspace_set_invalid (error, event,
                             "data.workspaceId: expected a string");
      return FALSE;
    }
  if (!workspace_update_row (self, event, entity, &matched, error))
    return FALSE;
  if (field != JSYNC_FIELD_SET || !matched)
    return TRUE;

  /* Both were checked by the update. */
  workspace_get_routing (event, "workspaceId", TRUE, &from, NULL);
  workspace_get_routing (event, entity->id_key, TRUE, &session_id, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (self->move); i++)
    {
      jsync_sql_bind_text (self->move[i], 1, to);
      jsync_sql_bind_text (self->move[i], 2, session_id);
      jsync_sql_bind_text (self->move[i], 3, from);
      if (!workspace_run (self->move[i], event, error))
        return FALSE;
    }
  return workspace_record_change (self, event, NULL, WORKSPACE_KIND_MOVES,
                                  session_id, error);
}

/* Delete one workspace and every row with its workspaceId, recording them
 * as changed by the event. */
static gboolean
workspace_delete_stream (WorkspaceApplier *self, const char *workspace_id,
                         const JsyncEvent *event, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->forget); i++)
    {
      workspace_bind_key (self->forget[i], workspace_id, event, NULL);
      if (!jsync_sql_run (self->forget[i], error))
        return FALSE;
    }
  for (guint i = 0; i < WORKSPACE_N_ENTITIES; i++)
    {
      if (self->forget_columns[i] == NULL)
        continue;
      workspace_bind_key (self->forget_columns[i], workspace_id, event, NULL);
      if (!jsync_sql_run (self->forget_columns[i], error))
        return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (self->delete_stream); i++)
    {
      jsync_sql_bind_text (self->delete_stream[i], 1, workspace_id);
      if (!jsync_sql_run (self->delete_stream[i], error))
        return FALSE;
    }
  return TRUE;
}

/* workspace_deleted. */
static gboolean
workspace_apply_workspace_deleted (WorkspaceApplier *self,
                                   const JsyncEvent *event,
                                   const WorkspaceEntity *entity,
                                   GError **error)
{
  const char *workspace_id = NULL;

  if (!workspace_get_routing (event, "workspaceId", TRUE, &workspace_id,
                              error)
      || !workspace_check_workspace_id (event, "workspaceId", workspace_id,
                                        error))
    return FALSE;
  if (!workspace_delete_stream (self, workspace_id, event, error))
    {
      g_prefix_error (error, "%s: ", jsync_event_get_type (event));
      return FALSE;
    }
  return TRUE;
}

/* state_deleted. */
static gboolean
workspace_apply_state_deleted (WorkspaceApplier *self,
                               const JsyncEvent *event,
                               const WorkspaceEntity *entity, GError **error)
{
  const char *workspace_id = NULL;
  const char *session_id = NULL;
  const char *id = NULL;

  if (!workspace_get_routing (event, "workspaceId", TRUE, &workspace_id,
                              error)
      || !workspace_get_routing (event, "sessionId", FALSE, &session_id,
                                 error)
      || !workspace_get_routing (event, entity->id_key, TRUE, &id, error))
    return FALSE;

  jsync_sql_bind_text (self->delete_state, 1, id);
  jsync_sql_bind_text (self->delete_state, 2, workspace_id);
  return workspace_run (self->delete_state, event, error)
         && (sqlite3_changes (self->db) == 0
             || workspace_record_columns (self, event, NULL, entity, id, NULL,
                                          error))
         && workspace_record_change (self, event, NULL, entity->table, id,
                                     error);
}

/* The handler table: one row per event type. */
static const struct
{
  const char *type;
  WorkspaceHandlerFunc handler;
  WorkspaceEntityId entity;
} workspace_handlers[] = {
  { "workspace_created", workspace_apply_create, WORKSPACE_ENTITY_WORKSPACE },
  { "workspace_updated", workspace_apply_update, WORKSPACE_ENTITY_WORKSPACE },
  { "workspace_deleted", workspace_apply_workspace_deleted,
    WORKSPACE_ENTITY_WORKSPACE },
  { "session_created", workspace_apply_create, WORKSPACE_ENTITY_SESSION },
  { "session_updated", workspace_apply_session_updated,
    WORKSPACE_ENTITY_SESSION },
  { "state_saved", workspace_apply_create, WORKSPACE_ENTITY_STATE },
  { "state_updated", workspace_apply_update, WORKSPACE_ENTITY_STATE },
  { "state_deleted", workspace_apply_state_deleted, WORKSPACE_ENTITY_STATE },
  { "trace_added", workspace_apply_create, WORKSPACE_ENTITY_TRACE },
};

/* --- The descriptor's callbacks */

/* Prepare n statements of sql[] into stmts[]. */
static gboolean
workspace_prepare_all (sqlite3 *db, const char *const *sql,
                       sqlite3_stmt **stmts, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      stmts[i] = jsync_sql_prepare (db, sql[i], error);
      if (stmts[i] == NULL)
        return FALSE;
    }
  return TRUE;
}

/* The column kinds of entity i and, when updates reach it, the statement
 * recording them all for each row a workspace_deleted removes (by its
 * workspaceId, or its id for a workspace). */
static gboolean
workspace_prepare_columns (WorkspaceApplier *self, guint i, GError **error)
{
  const WorkspaceEntity *entity = &workspace_entities[i];
  g_autoptr(GString) kinds = g_string_new (NULL);
  g_autofree char *sql = NULL;

  if (entity->id_key == NULL)
    return TRUE;
  for (guint j = 0; entity->columns[j].key != NULL; j++)
    {
      if ((entity->columns[j].events & WORKSPACE_ON_UPDATE) == 0)
        continue;
      self->column_kind[i][j] = g_strconcat (entity->table, ".",
                                             entity->columns[j].key, NULL);
      g_string_append_printf (kinds, "%s('%s')", kinds->len > 0 ? ", " : "",
                              self->column_kind[i][j]);
    }
  sql = g_strdup_printf (
      "INSERT INTO workspace_changes (kind, id, ts, device, eventId)"
      " SELECT k.column1, t.id, ?2, ?3, ?4 FROM %s AS t"
      " CROSS JOIN (VALUES %s) AS k WHERE t.%s = ?1" WORKSPACE_CHANGE_UPSERT,
      entity->table, kinds->str, entity->in_workspace ? "workspaceId" : "id");
  self->forget_columns[i] = jsync_sql_prepare (self->db, sql, error);
  return self->forget_columns[i] != NULL;
}

static gpointer
workspace_init (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(WorkspaceApplier) self = g_new0 (WorkspaceApplier, 1);

  self->db = context->db;
  for (guint i = 0; i < WORKSPACE_N_ENTITIES; i++)
    {
      const WorkspaceEntity *entity = &workspace_entities[i];

      if (!workspace_statement_prepare (&self->insert[i], self->db, entity,
                                        FALSE, error)
          || !workspace_statement_prepare (&self->set[i], self->db, entity,
                                           TRUE, error))
        return NULL;
    }
  self->delete_state = jsync_sql_prepare (self->db,
                                          "DELETE FROM states"
                                          " WHERE id = ?1 AND workspaceId = ?2",
                                          error);
  if (self->delete_state == NULL
      || !workspace_prepare_all (self->db, workspace_delete_sql,
                                 self->delete_stream,
                                 G_N_ELEMENTS (self->delete_stream), error)
      || !workspace_prepare_all (self->db, workspace_move_sql, self->move,
                                 G_N_ELEMENTS (self->move), error)
      || !workspace_prepare_all (self->db, workspace_fts_sql, self->fts,
                                 G_N_ELEMENTS (self->fts), error)
      || !workspace_prepare_all (self->db, workspace_changes_sql,
                                 self->changes, G_N_ELEMENTS (self->changes),
                                 error)
      || !workspace_prepare_all (self->db, workspace_forget_sql, self->forget,
                                 G_N_ELEMENTS (self->forget), error))
    return NULL;
  for (guint i = 0; i < WORKSPACE_N_ENTITIES; i++)
    {
      g_autofree char *exists = g_strdup_printf (
          "SELECT 1 FROM %s WHERE id = ?1", workspace_entities[i].table);
      g_autofree char *remove = g_strdup_printf (
          "DELETE FROM %s WHERE id = ?1", workspace_entities[i].table);
      /* The row an update matches, with its session. */
      g_autofree char *current = g_strdup_printf (
          "SELECT %s FROM %s WHERE id = ?1%s",
          workspace_entities[i].in_session ? "sessionId" : "NULL",
          workspace_entities[i].table,
          workspace_entities[i].in_workspace ? " AND workspaceId = ?2" : "");

      self->exists[i] = jsync_sql_prepare (self->db, exists, error);
      if (self->exists[i] == NULL)
        return NULL;
      self->remove[i] = jsync_sql_prepare (self->db, remove, error);
      if (self->remove[i] == NULL)
        return NULL;
      self->current[i] = jsync_sql_prepare (self->db, current, error);
      if (self->current[i] == NULL
          || !workspace_prepare_columns (self, i, error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

static gboolean
workspace_apply (gpointer state, const JsyncEvent *event, GError **error)
{
  gssize i = jsync_handler_find (workspace_handlers, event, error);

  return i >= 0
         && workspace_handlers[i].handler (
             state, event, &workspace_entities[workspace_handlers[i].entity],
             error);
}

/* A row a late create checks in workspace_changes. */
typedef struct
{
  const char *kind;
  const char *id;
} WorkspaceChange;

/* Is the row `id` there now, as an update or a state_deleted matches it
 * (by id, and workspace for the entities in one)?  *session_id gets its
 * session (for a state or trace), NULL when it is not there. */
static gboolean
workspace_current_session (WorkspaceApplier *self,
                           const WorkspaceEntity *entity, const char *id,
                           const char *workspace_id, gboolean *there,
                           char **session_id, GError **error)
{
  sqlite3_stmt *current = self->current[entity - workspace_entities];
  int rc;

  jsync_sql_bind_text (current, 1, id);
  if (entity->in_workspace)
    jsync_sql_bind_text (current, 2, workspace_id);
  rc = sqlite3_step (current);
  *there = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    *session_id = g_strdup ((const char *) sqlite3_column_text (current, 0));
  else if (rc != SQLITE_DONE)
    jsync_sql_set_error (self->db, error, "step");
  sqlite3_reset (current);
  sqlite3_clear_bindings (current);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* A late update some of whose columns no later event set (the header
 * comment "Late updates partly overwritten"): when no applied event after
 * it inserted its row or moved it, it sets those columns of the row there
 * now, and is a no-op if there is none; otherwise it is refused.  `values`
 * are the update's, read by workspace_read_update(). */
static gboolean
workspace_late_partly (WorkspaceApplier *self, const JsyncEvent *event,
                       const WorkspaceEntity *entity, const char *id,
                       const char *workspace_id, WorkspaceValue *values,
                       gboolean *applied, GError **error)
{
  const WorkspaceStatement *set = &self->set[entity - workspace_entities];
  char **kinds = self->column_kind[entity - workspace_entities];
  g_autofree char *session_id = NULL;
  gboolean there = FALSE;
  gboolean found = FALSE;

  if (!workspace_changed_after (self, event, entity->inserted, id, &found,
                                error)
      || (!found && entity->in_workspace
          && !workspace_changed_after (self, event, WORKSPACE_KIND_MOVES, id,
                                       &found, error))
      || (!found
          && !workspace_current_session (self, entity, id, workspace_id,
                                         &there, &session_id, error)))
    return FALSE;
  if (found)
    return TRUE;
  if (there)
    {
      /* What later events set again stays as they left it. */
      for (guint i = 0; entity->columns[i].key != NULL; i++)
        {
          gboolean later = FALSE;

          if (values[i].field == JSYNC_FIELD_ABSENT)
            continue;
          if (!workspace_changed_after (self, event, kinds[i], id, &later,
                                        error))
            return FALSE;
          if (later)
            values[i].field = JSYNC_FIELD_ABSENT;
        }
      if (!workspace_run_set (set, entity, id, workspace_id, NULL, values,
                              event, error)
          || !workspace_record_columns (self, event, NULL, entity, id, values,
                                        error))
        return FALSE;
    }
  if (!workspace_record_change (self, event, NULL, entity->table, id, error))
    return FALSE;
  *applied = TRUE;
  return TRUE;
}

/* A late update that later events overwrote (the header comment "Late
 * updates overwritten"): taken as a no-op when each column it sets was
 * set again, or its row deleted, by an applied event after it; else
 * taken as workspace_late_partly() says, for the entities it serves.  An
 * update apply() would fail is refused. */
static gboolean
workspace_late_overwritten (WorkspaceApplier *self, const JsyncEvent *event,
                            const WorkspaceEntity *entity, gboolean *applied,
                            GError **error)
{
  char **kinds = self->column_kind[entity - workspace_entities];
  WorkspaceValue values[WORKSPACE_MAX_COLUMNS];
  g_autoptr(GError) invalid = NULL;
  const char *id = NULL;
  const char *workspace_id = NULL;
  gboolean found = TRUE;

  if (!workspace_read_update (event, entity, &id, &workspace_id, values,
                              &invalid))
    return TRUE;
  for (guint i = 0; found && entity->columns[i].key != NULL; i++)
    if (values[i].field != JSYNC_FIELD_ABSENT
        && !workspace_changed_after (self, event, kinds[i], id, &found,
                                     error))
      return FALSE;
  if (!found)
    return entity->inserted == NULL
           || workspace_late_partly (self, event, entity, id, workspace_id,
                                     values, applied, error);
  /* Its record, as apply() writes it (a later one is there). */
  if (!workspace_record_change (self, event, NULL, entity->table, id, error))
    return FALSE;
  *applied = TRUE;
  return TRUE;
}

/* A late state_deleted (the header comment "Late state deletes in
 * place"): applied now when no applied event after it named its state
 * and, if the state is there now, none moved its session; a state of its
 * id in another workspace is refused. */
static gboolean
workspace_late_state_deleted (WorkspaceApplier *self,
                              const JsyncEvent *event,
                              const WorkspaceEntity *entity,
                              gboolean *applied, GError **error)
{
  sqlite3_stmt *exists = self->exists[entity - workspace_entities];
  const char *id = NULL;
  const char *workspace_id = NULL;
  const char *session = NULL;
  g_autofree char *session_id = NULL;
  gboolean there = FALSE;
  gboolean found = FALSE;

  /* One without its ids is left to the replay, which fails it. */
  if (!workspace_get_routing (event, entity->id_key, TRUE, &id, NULL)
      || !workspace_get_routing (event, "workspaceId", TRUE, &workspace_id,
                                 NULL)
      || !workspace_get_routing (event, "sessionId", FALSE, &session, NULL))
    return TRUE;
  if (!workspace_current_session (self, entity, id, workspace_id, &there,
                                  &session_id, error)
      || !workspace_changed_after (self, event, entity->table, id, &found,
                                   error))
    return FALSE;
  if (!found && there
      && !workspace_changed_after (self, event, WORKSPACE_KIND_MOVES,
                                   session_id, &found, error))
    return FALSE;
  if (!found && !there)
    {
      jsync_sql_bind_text (exists, 1, id);
      if (!workspace_any_row (self, exists, &found, error))
        return FALSE;
    }
  if (found)
    return TRUE;
  if (!workspace_apply_state_deleted (self, event, entity, error))
    return FALSE;
  *applied = TRUE;
  return TRUE;
}

/* A late update (the header comment "Late updates in place"): applied
 * now with `handler` when no applied event after it acted on its row or
 * moved its session, else taken as workspace_late_overwritten() says. */
static gboolean
workspace_late_update (WorkspaceApplier *self, const JsyncEvent *event,
                       const WorkspaceEntity *entity,
                       WorkspaceHandlerFunc handler, gboolean *applied,
                       GError **error)
{
  json_object *data = NULL;
  json_object *to = NULL;
  const char *id = NULL;
  const char *workspace_id = NULL;
  g_autofree char *session_id = NULL;
  gboolean there = FALSE;
  gboolean found = FALSE;

  jsync_json_lookup (jsync_event_get_json (event), "data", &data);
  /* A move, or an update without its ids, is left to the replay (which
   * also fails a malformed one). */
  if (jsync_json_lookup (data, "workspaceId", &to) != JSYNC_FIELD_ABSENT
      || !workspace_get_routing (event, entity->id_key, TRUE, &id, NULL)
      || (entity->in_workspace
          && !workspace_get_routing (event, "workspaceId", TRUE,
                                     &workspace_id, NULL)))
    return TRUE;

  if (!workspace_current_session (self, entity, id, workspace_id, &there,
                                  &session_id, error))
    return FALSE;
  /* A state must be there, in a session whose moves can be checked; a
   * workspace or session that is not is taken when (b) finds nothing, as
   * the update then found no row in key order either. */
  if (entity->in_session && !there)
    found = TRUE;
  else if (!workspace_changed_after (self, event, entity->table, id, &found,
                                     error)
           || (!found && entity->in_session
               && !workspace_changed_after (self, event, WORKSPACE_KIND_MOVES,
                                            session_id, &found, error)))
    return FALSE;
  if (found)
    return workspace_late_overwritten (self, event, entity, applied, error);
  if (!handler (self, event, entity, error))
    return FALSE;
  *applied = TRUE;
  return TRUE;
}

/* A late event (the header comment "Late creates in place"): a create
 * whose row no applied event can have touched is applied now, an update
 * as workspace_late_update() says; anything else is refused. */
static gboolean
workspace_late (gpointer state, const JsyncEvent *event, gboolean *applied,
                GError **error)
{
  WorkspaceApplier *self = state;
  json_object *json = jsync_event_get_json (event);
  const WorkspaceEntity *entity = NULL;
  gssize handler;
  json_object *data = NULL;
  const char *id;
  const char *workspace_id;
  const char *session_id;
  WorkspaceChange changes[2];
  guint n = 1;
  gboolean found = FALSE;
  WorkspaceKey deleted = { 0 };
  g_autofree char *deleted_device = NULL;
  g_autofree char *deleted_id = NULL;

  *applied = FALSE;
  handler = jsync_handler_find (workspace_handlers, event, NULL);
  if (handler >= 0)
    {
      WorkspaceHandlerFunc func = workspace_handlers[handler].handler;
      const WorkspaceEntity *named =
          &workspace_entities[workspace_handlers[handler].entity];

      if (func == workspace_apply_create)
        entity = named;
      else if (func == workspace_apply_update
               || func == workspace_apply_session_updated)
        return workspace_late_update (self, event, named, func, applied,
                                      error);
      else if (func == workspace_apply_state_deleted)
        return workspace_late_state_deleted (self, event, named, applied,
                                             error);
    }
  jsync_json_lookup (json, "data", &data);
  id = jsync_json_get_string_or_null (data, "id");
  workspace_id = entity != NULL && entity->in_workspace
                     ? jsync_json_get_string_or_null (json, "workspaceId")
                     : id;
  session_id = jsync_json_get_string_or_null (json, "sessionId");
  /* What is not a create with its ids is left to the replay, which also
   * fails a malformed one. */
  if (entity == NULL || id == NULL || workspace_id == NULL
      || (entity->in_session && session_id == NULL))
    return TRUE;

  /* (a), then (b): refused at the first found. */
  jsync_sql_bind_text (self->exists[entity - workspace_entities], 1, id);
  if (!workspace_any_row (self, self->exists[entity - workspace_entities],
                          &found, error))
    return FALSE;
  changes[0] = (WorkspaceChange) { entity->table, id };
  if (entity->in_session)
    changes[n++] = (WorkspaceChange) { WORKSPACE_KIND_MOVES, session_id };
  for (guint i = 0; !found && i < n; i++)
    if (!workspace_changed_after (self, event, changes[i].kind, changes[i].id,
                                  &found, error))
      return FALSE;
  if (found)
    return TRUE;

  /* (c): a later delete of its workspace. */
  if (entity->in_workspace)
    {
      sqlite3_stmt *stmt = self->changes[WORKSPACE_CHANGE_DELETED];
      int rc;

      workspace_bind_key (stmt, workspace_id, event, NULL);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          deleted.ts = sqlite3_column_int64 (stmt, 0);
          deleted_device = g_strdup ((const char *) sqlite3_column_text (
              stmt, 1));
          deleted_id = g_strdup ((const char *) sqlite3_column_text (stmt,
                                                                     2));
        }
      else if (rc != SQLITE_DONE)
        jsync_sql_set_error (self->db, error, "step");
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return FALSE;
    }
  if (!workspace_apply_create (self, event, entity, error))
    return FALSE;
  if (deleted_id != NULL)
    {
      /* That delete takes the row, and records it. */
      sqlite3_stmt *remove = self->remove[entity - workspace_entities];

      deleted.device = deleted_device;
      deleted.id = deleted_id;
      jsync_sql_bind_text (remove, 1, id);
      if (!workspace_run (remove, event, error)
          || !workspace_record_columns (self, event, &deleted, entity, id,
                                        NULL, error)
          || !workspace_record_change (self, event, &deleted, entity->table,
                                       id, error))
        return FALSE;
    }
  *applied = TRUE;
  return TRUE;
}

/* The scripts of clear, begin_rebuild and finish_rebuild. */
enum
{
  WORKSPACE_SCRIPT_CLEAR,
  WORKSPACE_SCRIPT_BEGIN_REBUILD,
  WORKSPACE_SCRIPT_FINISH_REBUILD,
};

static const char *const workspace_scripts[] = {
  /* The index is emptied at once rather than row by row: with every
   * workspace noted as new to the batch (indexed = 0), the delete trigger
   * notes nothing, and end_batch indexes whatever the batch puts back. */
  [WORKSPACE_SCRIPT_CLEAR] =
    "INSERT INTO workspace_fts (workspace_fts) VALUES ('delete-all');"
    "DELETE FROM workspace_fts_pending;"
    "INSERT INTO workspace_fts_pending (contentRowid, indexed)"
    " SELECT rowid, 0 FROM workspaces;"
    "DELETE FROM memory_traces;"
    "DELETE FROM states;"
    "DELETE FROM sessions;"
    "DELETE FROM workspaces;"
    "DELETE FROM workspace_changes;"
    "DELETE FROM workspace_deletes;",
  /* A rebuild fills workspaces without the FTS triggers and indexes once
   * at the end.  The names are those of workspace.sql. */
  [WORKSPACE_SCRIPT_BEGIN_REBUILD] =
    "DROP TRIGGER IF EXISTS workspace_fts_insert;"
    "DROP TRIGGER IF EXISTS workspace_fts_delete;"
    "DROP TRIGGER IF EXISTS workspace_fts_update;",
  /* Index everything and forget what any batch noted (the rebuild covers
   * it); finish_rebuild then puts the triggers back (the schema is
   * idempotent). */
  [WORKSPACE_SCRIPT_FINISH_REBUILD] =
    "INSERT INTO workspace_fts (workspace_fts) VALUES ('rebuild');"
    "DELETE FROM workspace_fts_pending;",
};

/* Run one of workspace_scripts. */
static gboolean
workspace_run_script (gpointer state, guint script, GError **error)
{
  WorkspaceApplier *self = state;

  return jsync_sql_exec (self->db, workspace_scripts[script], error);
}

static gboolean
workspace_clear (gpointer state, GError **error)
{
  return workspace_run_script (state, WORKSPACE_SCRIPT_CLEAR, error);
}

static gboolean
workspace_begin_rebuild (gpointer state, GError **error)
{
  return workspace_run_script (state, WORKSPACE_SCRIPT_BEGIN_REBUILD, error);
}

static gboolean
workspace_finish_rebuild (gpointer state, GError **error)
{
  return workspace_run_script (state, WORKSPACE_SCRIPT_FINISH_REBUILD, error)
         && jsync_sql_exec (((WorkspaceApplier *) state)->db,
                            workspace_schema_sql, error);
}

/* The end of a batch: the index takes in the batch's changes.  Nothing is
 * written when the batch touched no workspace. */
static gboolean
workspace_end_batch (gpointer state, GError **error)
{
  WorkspaceApplier *self = state;

  if (jsync_sql_run_if_any (self->fts, G_N_ELEMENTS (self->fts), error))
    return TRUE;
  g_prefix_error (error, "workspace_fts: ");
  return FALSE;
}

static const char *const workspace_prefixes[] = {
  "workspace_", "session_", "state_", "trace_", NULL,
};

static const char *const workspace_tables[] = {
  "workspaces", "sessions", "states", "memory_traces", NULL,
};

static const JsyncSearchTable workspace_search[] = {
  { "workspace_fts", "workspaces", "name,description" },
  { NULL },
};

JSYNC_APPLIER_DEFINE (
  .name = "workspace",
  /* 1.1.0: FTS triggers that note rows for end_batch; the schema replaces
   * the older ones (the index they kept is exact: nothing is re-indexed).
   * 2.0.0 (schema 2): isArchived, state_updated, session moves, one
   * stream; the core rebuilds the tables from the stored events.
   * 2.1.0 (schema 3): late creates in place, workspace_changes (the
   * replay on upgrade fills it).
   * 2.2.0 (schema 4): late updates in place, every create and update
   * recorded.
   * 2.3.0 (schema 5): late updates that later events overwrote taken as
   * no-ops, the columns each event set recorded.
   * 2.4.0: late state deletes in place (no new records).
   * 2.5.0 (schema 6): late updates partly overwritten taken in place,
   * the create that inserted each workspace and session recorded. */
  .version = "2.5.0",
  .description = "Nexus workspaces, sessions, states and memory traces",
  .prefixes = workspace_prefixes,
  .schema_sql = workspace_schema_sql,
  .schema_version = 6,
  .tables = workspace_tables,
  .search = workspace_search,
  .init = workspace_init,
  .apply = workspace_apply,
  .clear = workspace_clear,
  .begin_rebuild = workspace_begin_rebuild,
  .finish_rebuild = workspace_finish_rebuild,
  .free = workspace_free,
  .end_batch = workspace_end_batch,
  .late = workspace_late,
);
