/* conversation.c: the bundled `conversation` applier.
 *
 * Projects Nexus conversation logs (conversations/conv_<id>.jsonl) into the
 * tables conversations and messages, with the FTS5 indexes conversation_fts
 * and message_fts (schemas/conversation.sql).  docs/format.md, "The
 * `conversation` applier", is the specification; the events and their
 * fields:
 *
 *   metadata              data: id, title?, created?, vault?, settings?
 *                         (the conversation's create)
 *   conversation_updated  conversationId; data: title?, updated?, settings?
 *   conversation_deleted  conversationId
 *   message               conversationId; data: id, role?, content?,
 *                         tool_calls?, tool_call_id?, state?, reasoning?,
 *                         sequenceNumber?, alternatives?,
 *                         activeAlternativeIndex?
 *   message_updated       conversationId, messageId; data: content?, state?,
 *                         reasoning?, tool_calls?, tool_call_id?,
 *                         alternatives?, activeAlternativeIndex?
 *   message_deleted       conversationId, messageId
 *   branch_created, branch_message, branch_message_updated, branch_updated
 *                         no effect (legacy)
 *
 * metadata and conversation_updated carrying settings (even null) set
 * workspaceId, sessionId (both also from settings.chatSettings),
 * workflowId, runTrigger, scheduledFor and runKey from it; without, they
 * stay.
 *
 * Field types: ids and texts are strings, times and indexes integers;
 * settings is any JSON value and tool_calls/alternatives an array (or
 * null/false for NULL), stored as compact JSON text.  A field of another
 * type fails the event before anything is written.  Any other type under
 * this applier's prefixes fails as an unknown event type.
 *
 * A create inserts with the defaults of docs/format.md; for an id that
 * exists it sets only the columns whose keys it carries (null counts as
 * absent where the column has a default).  An update sets only the keys it
 * carries and changes nothing when its entity does not exist.
 * messageCount is kept by the schema's triggers (+1 per message row
 * inserted, -1 per row deleted) and counted afresh when a conversation is
 * created; updated only rises.
 *
 * Full-text indexes: the schema's triggers note the rows each batch
 * touches (conversation_fts_pending, message_fts_pending), and end_batch
 * updates conversation_fts and message_fts from them once per batch.  A
 * rebuild drops those triggers (begin_rebuild) and rebuilds both indexes
 * once at the end (finish_rebuild), which puts the triggers back.
 *
 * Streams: one per conversation (metadata: data.id; the others: the
 * envelope's conversationId).  Statements touching messages always match
 * the conversation too, so one stream never changes another's rows; a
 * message create whose id already belongs to another conversation fails.
 *
 * Late events in place (ABI 1.2; docs/format.md).  apply() records in
 * conversation_changes, per (kind, id), the latest timestamp of the events
 * that acted or could act on it: a message id for every message,
 * message_updated and message_deleted naming it (found or not) and for
 * each message a conversation_deleted deletes; a conversation's life for
 * metadata and conversation_deleted; its columns for a conversation_updated
 * carrying title or settings (conversation_sets_columns()).  late() takes
 * a late event e of time t when no record of these is at or after t (a
 * tie refuses, whatever the devices):
 *   message_updated, message_deleted: the message id;
 *   message: the message id (data.id) and the conversation's life;
 *   conversation_updated: the life and, when it sets title or settings,
 *     the columns;
 *   branch_*: always (no effect).
 * metadata and conversation_deleted are refused, and so is an event
 * without its ids (the replay fails what is malformed).
 * Why this is exact.  Let L be the events applied after e.  Every event
 * that acts on a message row names its id, but conversation_deleted,
 * which records each row it deletes; so with no record of the id after t
 * no f of L touched the message: it is now as it was at t (there, or
 * absent), and e does to it now what it did then.  Nothing in L reads
 * e's row: no f names it, and messageCount (kept by the triggers: the
 * number of the conversation's rows whenever the conversation exists;
 * counted on a create) and the FTS notes follow the rows whatever the
 * order; sequenceNumber, alternatives and activeAlternativeIndex are
 * e's row's own columns.  A message also raises the conversation's
 * updated: with no life record after t the conversation exists now iff it
 * did at t, and updated is a maximum of what raised it (touches,
 * conversation_updated), so the rises commute; a later
 * conversation_deleted, which would take e's row, refuses it.  A create
 * of an id another conversation holds fails now as at t (no later event
 * took or made that row), and the failure replays the stream, which fails
 * it again.  A conversation_updated sets title, metadataJson and the
 * settings' columns, set later only by events recorded as life or
 * columns, and raises updated (commutes); with no life record after t the
 * conversation exists now iff it did then.  An update or create of e's
 * ids by an event of another stream is recorded too, so refuses e (more
 * than needed, never less).  The records of e are written as apply()
 * writes them, so later late events see e; clear() empties them and
 * clear_stream() leaves them (a replay writes the same ones again).
 */
#include <jsync/jsync-plugin.h>

#include "conversation-schema.h"

/* The applier's prepared statements, by name. */
typedef enum
{
  CONVERSATION_SQL_UPSERT_CONVERSATION,
  CONVERSATION_SQL_UPDATE_CONVERSATION,
  CONVERSATION_SQL_TOUCH,
  CONVERSATION_SQL_UPSERT_MESSAGE,
  CONVERSATION_SQL_UPDATE_MESSAGE,
  CONVERSATION_SQL_DELETE_MESSAGE,
  CONVERSATION_SQL_DELETE_MESSAGES,
  CONVERSATION_SQL_DELETE_CONVERSATION,
  CONVERSATION_SQL_CLEAR_MESSAGES,
  CONVERSATION_SQL_CLEAR_CONVERSATIONS,
  /* Late events in place (the header comment). */
  CONVERSATION_SQL_RECORD,
  CONVERSATION_SQL_RECORD_MESSAGES,
  CONVERSATION_SQL_CHANGED_SINCE,
  /* end_batch, per index, in this order (conversation_fts_update()). */
  CONVERSATION_SQL_CONVERSATION_FTS_ANY,
  CONVERSATION_SQL_CONVERSATION_FTS_DELETE,
  CONVERSATION_SQL_CONVERSATION_FTS_INSERT,
  CONVERSATION_SQL_CONVERSATION_FTS_EMPTY,
  CONVERSATION_SQL_MESSAGE_FTS_ANY,
  CONVERSATION_SQL_MESSAGE_FTS_DELETE,
  CONVERSATION_SQL_MESSAGE_FTS_INSERT,
  CONVERSATION_SQL_MESSAGE_FTS_EMPTY,
  /* One row of _INSERT's, indexed (conversation_fts_insert()). */
  CONVERSATION_SQL_CONVERSATION_FTS_ROW,
  CONVERSATION_SQL_MESSAGE_FTS_ROW,
  CONVERSATION_SQL_FTS_SAVEPOINT,
  CONVERSATION_SQL_FTS_RELEASE,
  CONVERSATION_N_SQL
} ConversationSql;

/* The statements of one index, from its _ANY one: _ANY, _DELETE, _INSERT
 * (the rows to index), _EMPTY. */

/* The SET of the six columns derived from the settings
 * (conversation_get_settings()), from (carried, value) parameter pairs. */
#define CONVERSATION_SETTINGS_SET(w, wv, s, sv, f, fv, t, tv, d, dv, k, kv) \
  "  workspaceId = CASE WHEN ?" w " THEN ?" wv " ELSE workspaceId END," \
  "  sessionId = CASE WHEN ?" s " THEN ?" sv " ELSE sessionId END," \
  "  workflowId = CASE WHEN ?" f " THEN ?" fv " ELSE workflowId END," \
  "  runTrigger = CASE WHEN ?" t " THEN ?" tv " ELSE runTrigger END," \
  "  scheduledFor = CASE WHEN ?" d " THEN ?" dv " ELSE scheduledFor END," \
  "  runKey = CASE WHEN ?" k " THEN ?" kv " ELSE runKey END"

/* conversation_changes keeps the latest timestamp per (kind, id). */
#define CONVERSATION_CHANGE_UPSERT \
  " ON CONFLICT (kind, id) DO UPDATE SET ts = excluded.ts" \
  " WHERE excluded.ts > ts"

/* The kinds of conversation_changes: a message id (every event naming it,
 * and a conversation_deleted for each message it deletes); a
 * conversation's life (metadata, conversation_deleted); its columns
 * (conversation_updated). */
typedef enum
{
  CONVERSATION_CHANGE_MESSAGE,
  CONVERSATION_CHANGE_LIFE,
  CONVERSATION_CHANGE_COLUMNS,
} ConversationChange;

/* Settable columns are bound in pairs: ?N is 1 when the event carries the
 * column (an existing row takes the value), ?N+1 is the value (with the
 * insert default already applied). */
static const char *const conversation_sql[CONVERSATION_N_SQL] = {
  /* ?1 id; title, created, vaultName, metadataJson, then the settings'
   * columns (CONVERSATION_SETTINGS_SET) from ?2.  updated starts at
   * created; a re-create leaves it, and recounts messageCount (messages
   * may precede their conversation). */
  [CONVERSATION_SQL_UPSERT_CONVERSATION] =
    "INSERT INTO conversations (id, title, created, updated, vaultName,"
    "                           metadataJson, messageCount, workspaceId,"
    "                           sessionId, workflowId, runTrigger,"
    "                           scheduledFor, runKey)"
    " VALUES (?1, ?3, ?5, ?5, ?7, ?9,"
    "         (SELECT count(*) FROM messages WHERE conversationId = ?1),"
    "         ?11, ?13, ?15, ?17, ?19, ?21)"
    " ON CONFLICT (id) DO UPDATE SET"
    "  title = CASE WHEN ?2 THEN excluded.title ELSE title END,"
    "  created = CASE WHEN ?4 THEN excluded.created ELSE created END,"
    "  vaultName = CASE WHEN ?6 THEN excluded.vaultName ELSE vaultName END,"
    "  metadataJson = CASE WHEN ?8 THEN excluded.metadataJson"
    "                 ELSE metadataJson END,"
    "  messageCount = excluded.messageCount,"
    CONVERSATION_SETTINGS_SET ("10", "11", "12", "13", "14", "15", "16",
                               "17", "18", "19", "20", "21"),
  /* ?1 id; title, updated, metadataJson, then the settings' columns from
   * ?2. */
  [CONVERSATION_SQL_UPDATE_CONVERSATION] =
    "UPDATE conversations SET"
    "  title = CASE WHEN ?2 THEN ?3 ELSE title END,"
    "  updated = CASE WHEN ?4 THEN max (updated, ?5) ELSE updated END,"
    "  metadataJson = CASE WHEN ?6 THEN ?7 ELSE metadataJson END,"
    CONVERSATION_SETTINGS_SET ("8", "9", "10", "11", "12", "13", "14", "15",
                               "16", "17", "18", "19")
    " WHERE id = ?1",
  /* ?1 conversation id, ?2 a time updated rises to.  (messageCount is the
   * triggers' business.) */
  [CONVERSATION_SQL_TOUCH] =
    "UPDATE conversations SET updated = max (updated, ?2) WHERE id = ?1",
  /* ?1 id, ?2 conversationId, ?3 timestamp; role, content, state,
   * toolCallsJson, toolCallId, reasoningContent, sequenceNumber,
   * alternativesJson, activeAlternativeIndex from ?4.  A message of
   * another conversation is left alone (no change: the caller fails). */
  [CONVERSATION_SQL_UPSERT_MESSAGE] =
    "INSERT INTO messages (id, conversationId, timestamp, role, content,"
    "                      state, toolCallsJson, toolCallId,"
    "                      reasoningContent, sequenceNumber,"
    "                      alternativesJson, activeAlternativeIndex)"
    " VALUES (?1, ?2, ?3, ?5, ?7, ?9, ?11, ?13, ?15, ?17, ?19, ?21)"
    " ON CONFLICT (id) DO UPDATE SET"
    "  role = CASE WHEN ?4 THEN excluded.role ELSE role END,"
    "  content = CASE WHEN ?6 THEN excluded.content ELSE content END,"
    "  state = CASE WHEN ?8 THEN excluded.state ELSE state END,"
    "  toolCallsJson = CASE WHEN ?10 THEN excluded.toolCallsJson"
    "                  ELSE toolCallsJson END,"
    "  toolCallId = CASE WHEN ?12 THEN excluded.toolCallId"
    "               ELSE toolCallId END,"
    "  reasoningContent = CASE WHEN ?14 THEN excluded.reasoningContent"
    "                     ELSE reasoningContent END,"
    "  sequenceNumber = CASE WHEN ?16 THEN excluded.sequenceNumber"
    "                   ELSE sequenceNumber END,"
    "  alternativesJson = CASE WHEN ?18 THEN excluded.alternativesJson"
    "                     ELSE alternativesJson END,"
    "  activeAlternativeIndex = CASE WHEN ?20"
    "                           THEN excluded.activeAlternativeIndex"
    "                           ELSE activeAlternativeIndex END"
    " WHERE conversationId = excluded.conversationId",
  /* ?1 id, ?2 conversationId; content, state, reasoningContent,
   * toolCallsJson, toolCallId, alternativesJson, activeAlternativeIndex
   * from ?3. */
  [CONVERSATION_SQL_UPDATE_MESSAGE] =
    "UPDATE messages SET"
    "  content = CASE WHEN ?3 THEN ?4 ELSE content END,"
    "  state = CASE WHEN ?5 THEN ?6 ELSE state END,"
    "  reasoningContent = CASE WHEN ?7 THEN ?8 ELSE reasoningContent END,"
    "  toolCallsJson = CASE WHEN ?9 THEN ?10 ELSE toolCallsJson END,"
    "  toolCallId = CASE WHEN ?11 THEN ?12 ELSE toolCallId END,"
    "  alternativesJson = CASE WHEN ?13 THEN ?14 ELSE alternativesJson END,"
    "  activeAlternativeIndex = CASE WHEN ?15 THEN ?16"
    "                           ELSE activeAlternativeIndex END"
    " WHERE id = ?1 AND conversationId = ?2",
  [CONVERSATION_SQL_DELETE_MESSAGE] =
    "DELETE FROM messages WHERE id = ?1 AND conversationId = ?2",
  [CONVERSATION_SQL_DELETE_MESSAGES] =
    "DELETE FROM messages WHERE conversationId = ?1",
  [CONVERSATION_SQL_DELETE_CONVERSATION] =
    "DELETE FROM conversations WHERE id = ?1",
  [CONVERSATION_SQL_CLEAR_MESSAGES] = "DELETE FROM messages",
  [CONVERSATION_SQL_CLEAR_CONVERSATIONS] = "DELETE FROM conversations",
  /* conversation_changes (conversation.sql).  ?1 the kind
   * (ConversationChange), ?2 the id, ?3 a timestamp: record a change (the
   * latest stays); the same for the messages of conversation ?2 (a
   * delete's).  Is a change recorded at or after ?1 for message id ?2,
   * the life of conversation ?3 or the columns of ?4 (NULL: none). */
  [CONVERSATION_SQL_RECORD] =
    "INSERT INTO conversation_changes (kind, id, ts) VALUES (?1, ?2, ?3)"
    CONVERSATION_CHANGE_UPSERT,
  [CONVERSATION_SQL_RECORD_MESSAGES] =
    "INSERT INTO conversation_changes (kind, id, ts)"
    " SELECT ?1, id, ?3 FROM messages WHERE conversationId = ?2"
    CONVERSATION_CHANGE_UPSERT,
  [CONVERSATION_SQL_CHANGED_SINCE] =
    "SELECT 1 FROM conversation_changes WHERE ts >= ?1"
    " AND ((kind = 0 AND id = ?2) OR (kind = 1 AND id = ?3)"
    "      OR (kind = 2 AND id = ?4))",
  /* Per index (conversation.sql): is there anything to do; delete what the
   * index holds of the rows the batch changed or deleted; index the rows
   * the batch touched as they are now (the pending table drives the join);
   * forget the batch. */
  [CONVERSATION_SQL_CONVERSATION_FTS_ANY] =
    "SELECT 1 FROM conversation_fts_pending LIMIT 1",
  [CONVERSATION_SQL_CONVERSATION_FTS_DELETE] =
    "INSERT INTO conversation_fts (conversation_fts, rowid, id, title)"
    " SELECT 'delete', contentRowid, id, title"
    " FROM conversation_fts_pending WHERE indexed",
  [CONVERSATION_SQL_CONVERSATION_FTS_INSERT] =
    "SELECT c.rowid, c.id, c.title"
    " FROM conversation_fts_pending AS p"
    " CROSS JOIN conversations AS c ON c.rowid = p.contentRowid",
  [CONVERSATION_SQL_CONVERSATION_FTS_EMPTY] =
    "DELETE FROM conversation_fts_pending",
  [CONVERSATION_SQL_MESSAGE_FTS_ANY] =
    "SELECT 1 FROM message_fts_pending LIMIT 1",
  [CONVERSATION_SQL_MESSAGE_FTS_DELETE] =
    "INSERT INTO message_fts (message_fts, rowid, id, conversationId,"
    "                         content, reasoningContent)"
    " SELECT 'delete', contentRowid, id, conversationId, content,"
    "        reasoningContent"
    " FROM message_fts_pending WHERE indexed",
  [CONVERSATION_SQL_MESSAGE_FTS_INSERT] =
    "SELECT m.rowid, m.id, m.conversationId, m.content, m.reasoningContent"
    " FROM message_fts_pending AS p"
    " CROSS JOIN messages AS m ON m.rowid = p.contentRowid",
  [CONVERSATION_SQL_MESSAGE_FTS_EMPTY] = "DELETE FROM message_fts_pending",
  [CONVERSATION_SQL_CONVERSATION_FTS_ROW] =
    "INSERT INTO conversation_fts (rowid, id, title) VALUES (?1, ?2, ?3)",
  [CONVERSATION_SQL_MESSAGE_FTS_ROW] =
    "INSERT INTO message_fts (rowid, id, conversationId, content,"
    "                         reasoningContent) VALUES (?1, ?2, ?3, ?4, ?5)",
  /* Around the rows, as around an INSERT ... SELECT: FTS5 writes its
   * pending terms out once, and lets go of what it reads with. */
  [CONVERSATION_SQL_FTS_SAVEPOINT] = "SAVEPOINT conversation_fts",
  [CONVERSATION_SQL_FTS_RELEASE] = "RELEASE conversation_fts",
};

typedef struct
{
  sqlite3 *db;                                  /* borrowed */
  sqlite3_stmt *stmts[CONVERSATION_N_SQL];      /* owned */
} ConversationState;

/* One settable column as an event gives it. */
typedef struct
{
  JsyncField field;       /* how the key stood in data */
  gboolean carried;       /* an existing row takes this value */
  gboolean is_integer;
  const char *text;       /* NULL: SQL NULL (borrowed from the event) */
  gint64 integer;
} ConversationValue;

static void
conversation_free (gpointer data)
{
  ConversationState *state = data;

  for (guint i = 0; i < CONVERSATION_N_SQL; i++)
    sqlite3_finalize (state->stmts[i]);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConversationState, conversation_free)

static gpointer
conversation_init (const JsyncApplierContext *context, GError **error)
{
  g_autoptr(ConversationState) state = g_new0 (ConversationState, 1);

  state->db = context->db;
  for (guint i = 0; i < CONVERSATION_N_SQL; i++)
    {
      state->stmts[i] = jsync_sql_prepare (state->db, conversation_sql[i],
                                           error);
      if (state->stmts[i] == NULL)
        return NULL;
    }
  return g_steal_pointer (&state);
}

/* --- Reading events */

/* A routing id of the envelope (conversationId, messageId): required. */
static gboolean
conversation_get_routing_id (const JsyncEvent *event, const char *key,
                             const char **out, GError **error)
{
  JsyncField field;

  if (!jsync_json_get_string (jsync_event_get_json (event), key, &field, out,
                              error))
    return FALSE;
  if (field != JSYNC_FIELD_SET)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "missing %s", key);
      return FALSE;
    }
  return TRUE;
}

/* data.id of a create: required. */
static gboolean
conversation_get_data_id (json_object *data, const char **out, GError **error)
{
  JsyncField field;

  if (!jsync_json_get_string (data, "id", &field, out, error))
    {
      g_prefix_error (error, "data.");
      return FALSE;
    }
  if (field != JSYNC_FIELD_SET)
    {
      g_set_error_literal (error, JSYNC_APPLIER_ERROR,
                           JSYNC_APPLIER_ERROR_INVALID, "missing data.id");
      return FALSE;
    }
  return TRUE;
}

/* A text column.  `fallback` is its insert default: a column with one
 * (non-NULL) takes null as absent; a column without one takes null as
 * NULL. */
static gboolean
conversation_get_text (json_object *data, const char *key,
                       const char *fallback, ConversationValue *value,
                       GError **error)
{
  *value = (ConversationValue) { 0 };
  if (!jsync_json_get_string (data, key, &value->field, &value->text, error))
    {
      g_prefix_error (error, "data.");
      return FALSE;
    }
  value->carried = value->field == JSYNC_FIELD_SET
                   || (value->field == JSYNC_FIELD_NULL && fallback == NULL);
  if (value->field != JSYNC_FIELD_SET)
    value->text = fallback;
  return TRUE;
}

/* An integer column; every one has an insert default, so null is absent. */
static gboolean
conversation_get_integer (json_object *data, const char *key,
                          gint64 fallback, ConversationValue *value,
                          GError **error)
{
  *value = (ConversationValue) { .is_integer = TRUE };
  if (!jsync_json_get_int64 (data, key, &value->field, &value->integer,
                             error))
    {
      g_prefix_error (error, "data.");
      return FALSE;
    }
  value->carried = value->field == JSYNC_FIELD_SET;
  if (!value->carried)
    value->integer = fallback;
  return TRUE;
}

/* A JSON array column (tool_calls, alternatives): an array is stored as
 * compact JSON text, null or false as NULL. */
static gboolean
conversation_get_array (json_object *data, const char *key,
                        ConversationValue *value, GError **error)
{
  json_object *json;

  *value = (ConversationValue) { 0 };
  value->field = jsync_json_lookup (data, key, &json);
  value->carried = value->field != JSYNC_FIELD_ABSENT;
  if (value->field != JSYNC_FIELD_SET)
    return TRUE;
  if (json_object_is_type (json, json_type_array))
    jsync_json_get_text (data, key, &value->field, &value->text);
  else if (!json_object_is_type (json, json_type_boolean)
           || json_object_get_boolean (json))
    {
      jsync_json_type_error (error, key, "an array");
      g_prefix_error (error, "data.");
      return FALSE;
    }
  return TRUE;
}

/* A column holding any JSON value as compact text (settings); null is
 * NULL. */
static void
conversation_get_json (json_object *data, const char *key,
                       ConversationValue *value)
{
  *value = (ConversationValue) { 0 };
  jsync_json_get_text (data, key, &value->field, &value->text);
  value->carried = value->field != JSYNC_FIELD_ABSENT;
}

/* The columns derived from the settings, in the statements' order. */
enum
{
  CONVERSATION_SETTING_WORKSPACE,
  CONVERSATION_SETTING_SESSION,
  CONVERSATION_SETTING_WORKFLOW,
  CONVERSATION_SETTING_RUN_TRIGGER,
  CONVERSATION_SETTING_SCHEDULED_FOR,
  CONVERSATION_SETTING_RUN_KEY,
  CONVERSATION_N_SETTINGS
};

static const char *const conversation_setting_keys[CONVERSATION_N_SETTINGS] = {
  "workspaceId", "sessionId", "workflowId", "runTrigger", "scheduledFor",
  "runKey",
};

/* settings.<key> unless it is missing or null, then (workspaceId and
 * sessionId only) settings.chatSettings.<key>; NULL when neither is
 * there. */
static json_object *
conversation_settings_lookup (json_object *settings, guint setting)
{
  const char *key = conversation_setting_keys[setting];
  json_object *chat = NULL;
  json_object *value = NULL;

  if (jsync_json_lookup (settings, key, &value) == JSYNC_FIELD_SET)
    return value;
  if (setting != CONVERSATION_SETTING_WORKSPACE
      && setting != CONVERSATION_SETTING_SESSION)
    return NULL;
  if (jsync_json_lookup (settings, "chatSettings", &chat) == JSYNC_FIELD_SET
      && jsync_json_lookup (chat, key, &value) == JSYNC_FIELD_SET)
    return value;
  return NULL;
}

/* The six columns derived from data.settings: carried when the event
 * carries settings (even null), each then recomputed.  A value of another
 * type than the column's (a string; scheduledFor an integer) is NULL, not
 * a failure. */
static void
conversation_get_settings (json_object *data, ConversationValue *values)
{
  json_object *settings = NULL;
  JsyncField field = jsync_json_lookup (data, "settings", &settings);

  for (guint i = 0; i < CONVERSATION_N_SETTINGS; i++)
    {
      json_object *value = NULL;

      values[i] = (ConversationValue) {
        .field = field,
        .carried = field != JSYNC_FIELD_ABSENT,
      };
      if (field == JSYNC_FIELD_SET)
        value = conversation_settings_lookup (settings, i);
      if (value == NULL)
        continue;
      if (i == CONVERSATION_SETTING_SCHEDULED_FOR)
        {
          values[i].is_integer = json_object_is_type (value, json_type_int);
          if (values[i].is_integer)
            values[i].integer = json_object_get_int64 (value);
        }
      else if (json_object_is_type (value, json_type_string)
               && strlen (json_object_get_string (value))
                  == (gsize) json_object_get_string_len (value))
        values[i].text = json_object_get_string (value);
    }
}

/* Bind text (NULL: SQL NULL) without a copy: every text bound here is
 * borrowed from the event or the caller for the whole call, and every
 * statement is stepped, reset and cleared (jsync_sql_run) right after its
 * binds, so SQLite never reads it later.  A long message is then not
 * copied once more per statement. */
static void
conversation_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
}

/* Bind values as (carried, value) pairs from parameter `first` on. */
static void
conversation_bind_values (sqlite3_stmt *stmt, int first,
                          const ConversationValue *values, guint n_values)
{
  for (guint i = 0; i < n_values; i++)
    {
      int index = first + 2 * (int) i;

      sqlite3_bind_int (stmt, index, values[i].carried ? 1 : 0);
      if (values[i].is_integer)
        sqlite3_bind_int64 (stmt, index + 1, values[i].integer);
      else
        conversation_bind_text (stmt, index + 1, values[i].text);
    }
}

/* --- Writing rows */

/* Raise a conversation's updated to `updated`. */
static gboolean
conversation_touch (ConversationState *state, const char *conversation_id,
                    gint64 updated, GError **error)
{
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_TOUCH];

  conversation_bind_text (stmt, 1, conversation_id);
  sqlite3_bind_int64 (stmt, 2, updated);
  return jsync_sql_run (stmt, error);
}

/* Delete a conversation and every message of it. */
static gboolean
conversation_delete (ConversationState *state, const char *conversation_id,
                     GError **error)
{
  sqlite3_stmt *messages = state->stmts[CONVERSATION_SQL_DELETE_MESSAGES];
  sqlite3_stmt *conversation =
    state->stmts[CONVERSATION_SQL_DELETE_CONVERSATION];

  conversation_bind_text (messages, 1, conversation_id);
  if (!jsync_sql_run (messages, error))
    return FALSE;
  conversation_bind_text (conversation, 1, conversation_id);
  return jsync_sql_run (conversation, error);
}

/* Run an update (bound); that it found nothing (no conversation, or no
 * message `message_id` in it) is no error. */
static gboolean
conversation_run_update (ConversationState *state, sqlite3_stmt *stmt,
                         const JsyncEvent *event, const char *conversation_id,
                         const char *message_id, GError **error)
{
  if (!jsync_sql_run (stmt, error))
    return FALSE;
  if (sqlite3_changes (state->db) > 0)
    return TRUE;
  if (message_id == NULL)
    g_debug ("%s: no conversation %s: nothing to update",
             jsync_event_get_id (event), conversation_id);
  else
    g_debug ("%s: no message %s in conversation %s: nothing to update",
             jsync_event_get_id (event), message_id, conversation_id);
  return TRUE;
}

/* --- Late events: the record (the header comment) */

/* Record that the event changed, or may have changed, `id` of `kind`
 * (with CONVERSATION_SQL_RECORD_MESSAGES: every message of conversation
 * `id`). */
static gboolean
conversation_record (ConversationState *state, ConversationSql sql,
                     const JsyncEvent *event, ConversationChange kind,
                     const char *id, GError **error)
{
  sqlite3_stmt *stmt = state->stmts[sql];

  sqlite3_bind_int (stmt, 1, kind);
  conversation_bind_text (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, jsync_event_get_timestamp (event));
  return jsync_sql_run (stmt, error);
}

/* Does a conversation_updated with this data set a column other than
 * updated (which only rises, so any two orders agree on it)?  title or
 * settings there, even null. */
static gboolean
conversation_sets_columns (json_object *data)
{
  json_object *value;

  return jsync_json_lookup (data, "title", &value) != JSYNC_FIELD_ABSENT
         || jsync_json_lookup (data, "settings", &value) != JSYNC_FIELD_ABSENT;
}

/* --- The handlers */

static gboolean
conversation_apply_metadata (ConversationState *state,
                             const JsyncEvent *event, GError **error)
{
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_UPSERT_CONVERSATION];
  gint64 ts = jsync_event_get_timestamp (event);
  json_object *data;
  const char *id;
  /* title, created, vaultName, metadataJson, the settings' columns */
  ConversationValue values[4 + CONVERSATION_N_SETTINGS];

  if (!jsync_event_get_data (event, &data, error)
      || !conversation_get_data_id (data, &id, error)
      || !conversation_get_text (data, "title", "Untitled", &values[0], error)
      || !conversation_get_integer (data, "created", ts, &values[1], error)
      || !conversation_get_text (data, "vault", "", &values[2], error))
    return FALSE;
  conversation_get_json (data, "settings", &values[3]);
  conversation_get_settings (data, &values[4]);

  conversation_bind_text (stmt, 1, id);
  conversation_bind_values (stmt, 2, values, G_N_ELEMENTS (values));
  return jsync_sql_run (stmt, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                 CONVERSATION_CHANGE_LIFE, id, error);
}

static gboolean
conversation_apply_conversation_updated (ConversationState *state,
                                         const JsyncEvent *event,
                                         GError **error)
{
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_UPDATE_CONVERSATION];
  const char *conversation_id;
  json_object *data;
  /* title, updated, metadataJson, the settings' columns */
  ConversationValue values[3 + CONVERSATION_N_SETTINGS];

  if (!conversation_get_routing_id (event, "conversationId", &conversation_id,
                                    error)
      || !jsync_event_get_data (event, &data, error)
      || !conversation_get_text (data, "title", "Untitled", &values[0], error)
      || !conversation_get_integer (data, "updated", 0, &values[1], error))
    return FALSE;
  conversation_get_json (data, "settings", &values[2]);
  conversation_get_settings (data, &values[3]);

  conversation_bind_text (stmt, 1, conversation_id);
  conversation_bind_values (stmt, 2, values, G_N_ELEMENTS (values));
  return conversation_run_update (state, stmt, event, conversation_id, NULL,
                                  error)
         && (!conversation_sets_columns (data)
             || conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                     CONVERSATION_CHANGE_COLUMNS,
                                     conversation_id, error));
}

static gboolean
conversation_apply_conversation_deleted (ConversationState *state,
                                         const JsyncEvent *event,
                                         GError **error)
{
  const char *conversation_id;

  return conversation_get_routing_id (event, "conversationId",
                                      &conversation_id, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD_MESSAGES,
                                 event, CONVERSATION_CHANGE_MESSAGE,
                                 conversation_id, error)
         && conversation_delete (state, conversation_id, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                 CONVERSATION_CHANGE_LIFE, conversation_id,
                                 error);
}

static gboolean
conversation_apply_message (ConversationState *state, const JsyncEvent *event,
                            GError **error)
{
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_UPSERT_MESSAGE];
  gint64 ts = jsync_event_get_timestamp (event);
  const char *conversation_id;
  json_object *data;
  const char *id;
  /* role, content, state, toolCallsJson, toolCallId, reasoningContent,
   * sequenceNumber, alternativesJson, activeAlternativeIndex */
  ConversationValue values[9];

  if (!conversation_get_routing_id (event, "conversationId", &conversation_id,
                                    error)
      || !jsync_event_get_data (event, &data, error)
      || !conversation_get_data_id (data, &id, error)
      || !conversation_get_text (data, "role", "user", &values[0], error)
      || !conversation_get_text (data, "content", "", &values[1], error)
      || !conversation_get_text (data, "state", "complete", &values[2], error)
      || !conversation_get_array (data, "tool_calls", &values[3], error)
      || !conversation_get_text (data, "tool_call_id", NULL, &values[4],
                                 error)
      || !conversation_get_text (data, "reasoning", NULL, &values[5], error)
      || !conversation_get_integer (data, "sequenceNumber", 0, &values[6],
                                    error)
      || !conversation_get_array (data, "alternatives", &values[7], error)
      || !conversation_get_integer (data, "activeAlternativeIndex", 0,
                                    &values[8], error))
    return FALSE;

  conversation_bind_text (stmt, 1, id);
  conversation_bind_text (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, ts);
  conversation_bind_values (stmt, 4, values, G_N_ELEMENTS (values));
  if (!jsync_sql_run (stmt, error))
    return FALSE;
  if (sqlite3_changes (state->db) == 0)
    {
      /* The id exists with another conversationId: taking it would move a
       * row out of another stream. */
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "data.id: message %s belongs to another conversation", id);
      return FALSE;
    }
  return conversation_touch (state, conversation_id, ts, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                 CONVERSATION_CHANGE_MESSAGE, id, error);
}

static gboolean
conversation_apply_message_updated (ConversationState *state,
                                    const JsyncEvent *event, GError **error)
{
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_UPDATE_MESSAGE];
  const char *conversation_id;
  const char *message_id;
  json_object *data;
  /* content, state, reasoningContent, toolCallsJson, toolCallId,
   * alternativesJson, activeAlternativeIndex */
  ConversationValue values[7];

  if (!conversation_get_routing_id (event, "conversationId", &conversation_id,
                                    error)
      || !conversation_get_routing_id (event, "messageId", &message_id, error)
      || !jsync_event_get_data (event, &data, error)
      || !conversation_get_text (data, "content", "", &values[0], error)
      || !conversation_get_text (data, "state", "complete", &values[1], error)
      || !conversation_get_text (data, "reasoning", NULL, &values[2], error)
      || !conversation_get_array (data, "tool_calls", &values[3], error)
      || !conversation_get_text (data, "tool_call_id", NULL, &values[4],
                                 error)
      || !conversation_get_array (data, "alternatives", &values[5], error)
      || !conversation_get_integer (data, "activeAlternativeIndex", 0,
                                    &values[6], error))
    return FALSE;
  /* content: null empties the message (docs/format.md). */
  if (values[0].field == JSYNC_FIELD_NULL)
    values[0].carried = TRUE;

  conversation_bind_text (stmt, 1, message_id);
  conversation_bind_text (stmt, 2, conversation_id);
  conversation_bind_values (stmt, 3, values, G_N_ELEMENTS (values));
  return conversation_run_update (state, stmt, event, conversation_id,
                                  message_id, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                 CONVERSATION_CHANGE_MESSAGE, message_id,
                                 error);
}

/* branch_created, branch_message, branch_message_updated, branch_updated:
 * written by a few Nexus builds of December 2025 and ignored since, by
 * Nexus as here (a branch is now a conversation of its own). */
static gboolean
conversation_apply_nothing (G_GNUC_UNUSED ConversationState *state,
                            G_GNUC_UNUSED const JsyncEvent *event,
                            G_GNUC_UNUSED GError **error)
{
  return TRUE;
}

static gboolean
conversation_apply_message_deleted (ConversationState *state,
                                    const JsyncEvent *event, GError **error)
{
  const char *conversation_id;
  const char *message_id;
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_DELETE_MESSAGE];

  if (!conversation_get_routing_id (event, "conversationId", &conversation_id,
                                    error)
      || !conversation_get_routing_id (event, "messageId", &message_id, error))
    return FALSE;

  conversation_bind_text (stmt, 1, message_id);
  conversation_bind_text (stmt, 2, conversation_id);
  return jsync_sql_run (stmt, error)
         && conversation_record (state, CONVERSATION_SQL_RECORD, event,
                                 CONVERSATION_CHANGE_MESSAGE, message_id,
                                 error);
}

typedef gboolean (*ConversationHandler) (ConversationState *state,
                                         const JsyncEvent *event,
                                         GError **error);

/* What late() checks before it applies a late event in place (the header
 * comment, "Late events in place"). */
typedef enum
{
  CONVERSATION_LATE_REFUSED,        /* always replayed */
  CONVERSATION_LATE_TAKEN,          /* writes nothing: always in place */
  CONVERSATION_LATE_CONVERSATION,   /* the conversation's life and columns */
  CONVERSATION_LATE_MESSAGE,        /* the message (messageId) */
  CONVERSATION_LATE_MESSAGE_CREATE, /* the message (data.id), the
                                     * conversation's life */
} ConversationLate;

static const struct
{
  const char *type;
  ConversationHandler apply;
  ConversationLate late;
} conversation_handlers[] = {
  { "metadata", conversation_apply_metadata, CONVERSATION_LATE_REFUSED },
  { "conversation_updated", conversation_apply_conversation_updated,
    CONVERSATION_LATE_CONVERSATION },
  { "conversation_deleted", conversation_apply_conversation_deleted,
    CONVERSATION_LATE_REFUSED },
  { "message", conversation_apply_message, CONVERSATION_LATE_MESSAGE_CREATE },
  { "message_updated", conversation_apply_message_updated,
    CONVERSATION_LATE_MESSAGE },
  { "message_deleted", conversation_apply_message_deleted,
    CONVERSATION_LATE_MESSAGE },
  { "branch_created", conversation_apply_nothing, CONVERSATION_LATE_TAKEN },
  { "branch_message", conversation_apply_nothing, CONVERSATION_LATE_TAKEN },
  { "branch_message_updated", conversation_apply_nothing,
    CONVERSATION_LATE_TAKEN },
  { "branch_updated", conversation_apply_nothing, CONVERSATION_LATE_TAKEN },
};

/* --- The callbacks */

static gboolean
conversation_apply (gpointer data, const JsyncEvent *event, GError **error)
{
  gssize i = jsync_handler_find (conversation_handlers, event, error);

  return i >= 0
         && (conversation_handlers[i].apply (data, event, error)
             || jsync_handler_failed (event, error));
}

/* A late event (the header comment, "Late events in place"): applied now
 * when no applied event at or after its time can have changed what it
 * acts on, or been changed by it; anything else is refused.  An event
 * without the ids it needs is refused too (the replay fails it). */
static gboolean
conversation_late (gpointer data, const JsyncEvent *event, gboolean *applied,
                   GError **error)
{
  ConversationState *state = data;
  sqlite3_stmt *stmt = state->stmts[CONVERSATION_SQL_CHANGED_SINCE];
  json_object *json = jsync_event_get_json (event);
  json_object *body = NULL;
  gssize i = jsync_handler_find (conversation_handlers, event, NULL);
  ConversationLate late = i >= 0 ? conversation_handlers[i].late
                                 : CONVERSATION_LATE_REFUSED;
  const char *conversation_id =
      jsync_json_get_string_or_null (json, "conversationId");
  /* Per ConversationChange, the id whose records must all be before the
   * event, or NULL. */
  const char *ids[3] = { NULL, NULL, NULL };
  int rc;

  *applied = FALSE;
  jsync_json_lookup (json, "data", &body);
  switch (late)
    {
    case CONVERSATION_LATE_REFUSED:
      return TRUE;
    case CONVERSATION_LATE_TAKEN:
      break;
    case CONVERSATION_LATE_CONVERSATION:
      ids[CONVERSATION_CHANGE_LIFE] = conversation_id;
      if (conversation_sets_columns (body))
        ids[CONVERSATION_CHANGE_COLUMNS] = conversation_id;
      break;
    case CONVERSATION_LATE_MESSAGE:
      ids[CONVERSATION_CHANGE_MESSAGE] =
          jsync_json_get_string_or_null (json, "messageId");
      break;
    case CONVERSATION_LATE_MESSAGE_CREATE:
      ids[CONVERSATION_CHANGE_MESSAGE] =
          jsync_json_get_string_or_null (body, "id");
      ids[CONVERSATION_CHANGE_LIFE] = conversation_id;
      break;
    }
  if (late != CONVERSATION_LATE_TAKEN
      && (conversation_id == NULL
          || (late >= CONVERSATION_LATE_MESSAGE
              && ids[CONVERSATION_CHANGE_MESSAGE] == NULL)))
    return TRUE;

  sqlite3_bind_int64 (stmt, 1, jsync_event_get_timestamp (event));
  for (guint kind = 0; kind < G_N_ELEMENTS (ids); kind++)
    conversation_bind_text (stmt, 2 + (int) kind, ids[kind]);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    jsync_sql_set_error (state->db, error, "step");
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    return rc == SQLITE_ROW;
  if (!conversation_handlers[i].apply (state, event, error))
    return jsync_handler_failed (event, error);
  *applied = TRUE;
  return TRUE;
}

/* metadata: data.id; every other event: the envelope's conversationId. */
static const char *
conversation_stream (G_GNUC_UNUSED gpointer data, const JsyncEvent *event)
{
  return jsync_event_get_entity_id (event, "metadata", "conversationId");
}

static gboolean
conversation_clear_stream (gpointer data, const char *stream, GError **error)
{
  return conversation_delete (data, stream, error);
}

/* The scripts of clear, begin_rebuild and finish_rebuild. */
enum
{
  CONVERSATION_SCRIPT_CLEAR,
  CONVERSATION_SCRIPT_BEGIN_REBUILD,
  CONVERSATION_SCRIPT_FINISH_REBUILD,
};

static const char *const conversation_scripts[] = {
  /* Empty both indexes at once rather than row by row: with every row
   * noted as new to the batch (indexed = 0), the delete triggers note
   * nothing, and end_batch indexes whatever the batch puts back.  clear
   * then deletes the rows. */
  [CONVERSATION_SCRIPT_CLEAR] =
    "INSERT INTO conversation_fts (conversation_fts) VALUES ('delete-all');"
    "INSERT INTO message_fts (message_fts) VALUES ('delete-all');"
    "DELETE FROM conversation_fts_pending;"
    "DELETE FROM message_fts_pending;"
    "DELETE FROM conversation_changes;"
    "INSERT INTO conversation_fts_pending (contentRowid, indexed)"
    " SELECT rowid, 0 FROM conversations;"
    "INSERT INTO message_fts_pending (contentRowid, indexed)"
    " SELECT rowid, 0 FROM messages;",
  /* A rebuild fills the tables without the FTS triggers and indexes once
   * at the end: kept up to date on every write, the indexes would tokenize
   * a streamed message once per update, and FTS5 writes its pending terms
   * to disk at every savepoint, that is at every event.  The names are
   * those of conversation.sql. */
  [CONVERSATION_SCRIPT_BEGIN_REBUILD] =
    "DROP TRIGGER IF EXISTS conversations_fts_insert;"
    "DROP TRIGGER IF EXISTS conversations_fts_delete;"
    "DROP TRIGGER IF EXISTS conversations_fts_update;"
    "DROP TRIGGER IF EXISTS messages_fts_insert;"
    "DROP TRIGGER IF EXISTS messages_fts_delete;"
    "DROP TRIGGER IF EXISTS messages_fts_update;",
  /* Index everything and forget what any batch noted (the rebuild covers
   * it); finish_rebuild then puts the triggers back (the schema is
   * idempotent). */
  [CONVERSATION_SCRIPT_FINISH_REBUILD] =
    "INSERT INTO conversation_fts (conversation_fts) VALUES ('rebuild');"
    "INSERT INTO message_fts (message_fts) VALUES ('rebuild');"
    "DELETE FROM conversation_fts_pending;"
    "DELETE FROM message_fts_pending;",
};

static gboolean
conversation_run_script (gpointer data, guint script, GError **error)
{
  return jsync_sql_exec (((ConversationState *) data)->db,
                         conversation_scripts[script], error);
}

static gboolean
conversation_clear (gpointer data, GError **error)
{
  ConversationState *state = data;

  return conversation_run_script (data, CONVERSATION_SCRIPT_CLEAR, error)
         && jsync_sql_run (state->stmts[CONVERSATION_SQL_CLEAR_MESSAGES], error)
         && jsync_sql_run (state->stmts[CONVERSATION_SQL_CLEAR_CONVERSATIONS],
                           error);
}

static gboolean
conversation_begin_rebuild (gpointer data, GError **error)
{
  return conversation_run_script (data, CONVERSATION_SCRIPT_BEGIN_REBUILD,
                                  error);
}

static gboolean
conversation_finish_rebuild (gpointer data, GError **error)
{
  return conversation_run_script (data, CONVERSATION_SCRIPT_FINISH_REBUILD,
                                  error)
         && jsync_sql_exec (((ConversationState *) data)->db,
                            conversation_schema_sql, error);
}

/* Index the rows `rows` gives (the columns of `insert`, in order), within
 * a savepoint.  Not an INSERT ... SELECT: there SQLite hands FTS5 each text
 * as a copy (it is read without its NUL), so a long message would be held
 * twice more; here the text read is bound as it is, with its NUL (-1:
 * FTS5 takes it so). */
static gboolean
conversation_fts_insert (ConversationState *state, sqlite3_stmt *rows,
                         sqlite3_stmt *insert, GError **error)
{
  gboolean inserted = TRUE;
  int rc;

  if (!jsync_sql_run (state->stmts[CONVERSATION_SQL_FTS_SAVEPOINT], error))
    return FALSE;
  while (inserted && (rc = sqlite3_step (rows)) == SQLITE_ROW)
    {
      for (int i = 0; i < sqlite3_column_count (rows); i++)
        {
          const char *text;
          int length;

          if (sqlite3_column_type (rows, i) != SQLITE_TEXT)
            {
              sqlite3_bind_value (insert, i + 1,
                                  sqlite3_column_value (rows, i));
              continue;
            }
          text = (const char *) sqlite3_column_text (rows, i);
          length = sqlite3_column_bytes (rows, i);
          sqlite3_bind_text (insert, i + 1, text,
                             strlen (text) == (gsize) length ? -1 : length,
                             SQLITE_STATIC);
        }
      inserted = sqlite3_step (insert) == SQLITE_DONE;
      if (inserted)
        {
          sqlite3_reset (insert);
          sqlite3_clear_bindings (insert);
        }
    }
  /* `rows` first: the connection is then left with the error that stopped
   * the loop (the core reads it). */
  sqlite3_reset (rows);
  if (!inserted)
    {
      sqlite3_reset (insert);
      sqlite3_clear_bindings (insert);
    }
  if (inserted && rc == SQLITE_DONE)
    return jsync_sql_run (state->stmts[CONVERSATION_SQL_FTS_RELEASE], error);
  jsync_sql_set_error (state->db, error, "step");
  return FALSE;
}

/* Bring one index up to date with what the batch noted, from the index's
 * _ANY statement on (`row`: its _ROW one): nothing is written when the
 * batch touched no row.  The deletes go first, so a row deleted and
 * re-inserted in the batch (same rowid) ends up indexed with its new
 * values. */
static gboolean
conversation_fts_update (ConversationState *state, ConversationSql first,
                         ConversationSql row, const char *name,
                         GError **error)
{
  sqlite3_stmt **stmts = &state->stmts[first];
  int rc = sqlite3_step (stmts[0]);

  sqlite3_reset (stmts[0]);
  if (rc == SQLITE_DONE
      || (rc == SQLITE_ROW && jsync_sql_run (stmts[1], error)
          && conversation_fts_insert (state, stmts[2], state->stmts[row],
                                      error)
          && jsync_sql_run (stmts[3], error)))
    return TRUE;
  if (rc != SQLITE_ROW)
    jsync_sql_set_error (state->db, error, "step");
  g_prefix_error (error, "%s: ", name);
  return FALSE;
}

/* The end of a batch: the indexes take in the batch's changes. */
static gboolean
conversation_end_batch (gpointer data, GError **error)
{
  ConversationState *state = data;

  return conversation_fts_update (state,
                                  CONVERSATION_SQL_CONVERSATION_FTS_ANY,
                                  CONVERSATION_SQL_CONVERSATION_FTS_ROW,
                                  "conversation_fts", error)
         && conversation_fts_update (state, CONVERSATION_SQL_MESSAGE_FTS_ANY,
                                     CONVERSATION_SQL_MESSAGE_FTS_ROW,
                                     "message_fts", error);
}

static const char *const conversation_prefixes[] = {
  "metadata", "conversation_", "message", "branch_", NULL
};

static const char *const conversation_tables[] = {
  "conversations", "messages", NULL
};

static const JsyncSearchTable conversation_search[] = {
  { "message_fts", "messages", "content,reasoningContent" },
  { "conversation_fts", "conversations", "title" },
  { NULL, NULL, NULL },
};

JSYNC_APPLIER_DEFINE (
  .name = "conversation",
  /* 0.2.0: messageCount triggers; a new version makes the core run the
   * schema on caches made by 0.1.0, which adds them (their counts are
   * exact: 0.1.0 recounted).  0.3.0: FTS triggers that note rows for
   * end_batch; the schema replaces the older ones (the indexes they kept
   * are exact, so nothing is re-indexed).  0.4.0 (schema 2): the columns
   * derived from the settings, branch_* taken as no-ops; the core rebuilds
   * the tables from the stored events.  0.5.0 (schema 3): late events in
   * place, conversation_changes; the core replays the events, which
   * records them. */
  .version = "0.5.0",
  .description = "Nexus conversations and their messages",
  .prefixes = conversation_prefixes,
  .schema_sql = conversation_schema_sql,
  .schema_version = 3,
  .tables = conversation_tables,
  .search = conversation_search,
  .init = conversation_init,
  .apply = conversation_apply,
  .stream = conversation_stream,
  .clear_stream = conversation_clear_stream,
  .clear = conversation_clear,
  .begin_rebuild = conversation_begin_rebuild,
  .finish_rebuild = conversation_finish_rebuild,
  .free = conversation_free,
  .end_batch = conversation_end_batch,
  .late = conversation_late,
);
