/* jsync-plugin.h: the applier ABI (version 1.2).
 *
 * This is the only jsync header an applier includes, and it is the whole
 * contract: if it is not in this header, it is not API.  An applier is a
 * shared object that exports one descriptor through JSYNC_APPLIER_DEFINE();
 * it never links against libjsync.  Build one out of tree with
 *
 *   cc -shared -fPIC $(pkg-config --cflags jsync-plugin) my.c -o my.so \
 *      $(pkg-config --libs jsync-plugin)
 *
 * Life of an applier, as the core drives it:
 *   1. The core opens the module (G_MODULE_BIND_LOCAL), reads the descriptor
 *      and checks abi_major == JSYNC_ABI_MAJOR, abi_minor <= JSYNC_ABI_MINOR,
 *      struct_size, the required fields, and that name equals the file stem.
 *      Nothing is called before these checks pass.
 *   2. On each cache connection: schema_sql is executed when the cache
 *      does not yet record this applier at this schema_version and version
 *      string (so a new version of an applier can change its triggers; the
 *      SQL must be idempotent: CREATE ... IF NOT EXISTS, DROP ... IF
 *      EXISTS), then init() returns the applier's state (prepared
 *      statements live there).
 *   3. apply() is called once per distinct event routed to the applier, in
 *      the order of the event key (timestamp, deviceId, id).  When an event
 *      arrives late (its key sorts before events already applied to its
 *      stream), the core calls clear_stream() and re-applies that stream's
 *      events in key order; an applier therefore only has to implement the
 *      plain in-order meaning of each event.  late() (ABI 1.2), when set,
 *      is offered each late event first, in key order, in place of apply()
 *      and inside the same savepoint and batch: when it applies the event
 *      in place (*applied = TRUE) its stream is not replayed.  It may do so
 *      only when the rows it writes are exactly those an in-order replay of
 *      the stream would give: no applied event with a later key can change
 *      the effect of this one, nor this one theirs.  Otherwise it writes
 *      nothing and sets *applied = FALSE; if any late event of a stream is
 *      refused, the core replays that stream as above (the replay clears
 *      what the group's earlier events wrote in place).  Returning FALSE
 *      fails the event as apply() does.
 *   4. A rebuild calls begin_rebuild(), applies every event, then
 *      finish_rebuild() (rebuild FTS indexes there).
 *   5. end_batch() (ABI 1.1), when set, is called once at the end of
 *      every batch, in a sync and in a rebuild alike: after all the
 *      batch's apply(), clear_stream() and clear() calls, inside the
 *      batch's transaction, just before the core commits it (its writes
 *      commit with the batch; its failure fails the batch).  Every attached
 *      applier gets it, whether the batch had events for it or not.  Fold
 *      per-batch work there, such as moving the changes that triggers
 *      queued up into the full-text indexes with one statement per index:
 *      FTS5 writes its pending terms out at every savepoint, so an index
 *      kept row by row gains a segment per event.
 *   6. free() releases the state (finalize statements there).
 *
 * The core owns the connection and every transaction.  An applier never
 * issues BEGIN, COMMIT, ROLLBACK, ATTACH or PRAGMA; each apply() runs inside
 * a SAVEPOINT of the core's, rolled back alone when apply() fails.  The
 * event and its JSON are lent for the duration of one call.
 */
#ifndef JSYNC_PLUGIN_H
#define JSYNC_PLUGIN_H

#include <string.h>

#include <glib.h>
#include <gmodule.h>
#include <json-c/json.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* ABI version.  Major changes break plugins; minor changes only add fields
 * in the reserved space, and a plugin built against a newer minor than the
 * core's is refused.  Minor 1 added end_batch, minor 2 late. */
#define JSYNC_ABI_MAJOR 1
#define JSYNC_ABI_MINOR 2

/* The name of the one symbol every applier exports. */
#define JSYNC_APPLIER_SYMBOL "jsync_applier_descriptor"

/* Error domain for failures an applier reports from its callbacks.  Interned
 * with a copy of the name (g_quark_from_string): a module that interned it
 * first from its own string constant would leave GLib's quark table
 * pointing into the module once it is unloaded. */
#define JSYNC_APPLIER_ERROR (g_quark_from_string ("jsync-applier-error-quark"))

/* Error codes of JSYNC_APPLIER_ERROR.  Append only. */
typedef enum
{
  JSYNC_APPLIER_ERROR_FAILED,   /* anything else */
  JSYNC_APPLIER_ERROR_INVALID,  /* the event is malformed: a failed event */
  JSYNC_APPLIER_ERROR_SQL,      /* SQLite refused a statement */
  JSYNC_APPLIER_ERROR_CONFIG,   /* bad value in the applier's keyfile group */
} JsyncApplierError;

/* One event, lent to an applier for one call.  Read it with the accessors
 * below; fields may be added before `reserved` in later minor versions. */
typedef struct
{
  guint32 struct_size;      /* sizeof (JsyncEvent) of the core */
  const char *id;           /* envelope "id" */
  const char *type;         /* envelope "type" */
  const char *device_id;    /* envelope "deviceId" */
  gint64 timestamp;         /* envelope "timestamp", ms */
  json_object *json;        /* the whole line, parsed (borrowed) */
  const char *file;         /* path relative to the data folder */
  guint64 line;             /* 1-based line number in file */
  guint64 offset;           /* byte offset of the line in file */
  gpointer reserved[8];
} JsyncEvent;

/* Accessors: (transfer none). */
static inline const char *
jsync_event_get_id (const JsyncEvent *event)
{
  return event->id;
}

static inline const char *
jsync_event_get_type (const JsyncEvent *event)
{
  return event->type;
}

static inline const char *
jsync_event_get_device_id (const JsyncEvent *event)
{
  return event->device_id;
}

static inline gint64
jsync_event_get_timestamp (const JsyncEvent *event)
{
  return event->timestamp;
}

/* The whole parsed line: a JSON object. */
static inline json_object *
jsync_event_get_json (const JsyncEvent *event)
{
  return event->json;
}

static inline const char *
jsync_event_get_file (const JsyncEvent *event)
{
  return event->file;
}

static inline guint64
jsync_event_get_line (const JsyncEvent *event)
{
  return event->line;
}

/* What init() receives. */
typedef struct
{
  guint32 struct_size;      /* sizeof (JsyncApplierContext) of the core */
  sqlite3 *db;              /* the cache connection (borrowed) */
  GKeyFile *keyfile;        /* the whole configuration (borrowed, never NULL) */
  const char *group;        /* the applier's group, "applier:NAME"; it may be
                             * absent from keyfile */
  gpointer reserved[8];
} JsyncApplierContext;

/* A full-text table an applier offers to `jsync search`. */
typedef struct
{
  const char *fts;          /* the FTS5 table, e.g. "message_fts" */
  const char *table;        /* its content table, e.g. "messages" */
  const char *columns;      /* comma-separated columns of `table` to show */
} JsyncSearchTable;

typedef gpointer (*JsyncApplierInitFunc) (const JsyncApplierContext *context,
                                          GError **error);
typedef gboolean (*JsyncApplierApplyFunc) (gpointer state,
                                           const JsyncEvent *event,
                                           GError **error);
typedef const char *(*JsyncApplierStreamFunc) (gpointer state,
                                               const JsyncEvent *event);
typedef gboolean (*JsyncApplierClearStreamFunc) (gpointer state,
                                                 const char *stream,
                                                 GError **error);
typedef gboolean (*JsyncApplierStateFunc) (gpointer state, GError **error);
typedef gboolean (*JsyncApplierLateFunc) (gpointer state,
                                          const JsyncEvent *event,
                                          gboolean *applied, GError **error);
typedef void (*JsyncApplierFreeFunc) (gpointer state);

/* The descriptor.  Export it only through JSYNC_APPLIER_DEFINE(). */
typedef struct
{
  guint16 abi_major;        /* JSYNC_ABI_MAJOR the plugin was built with */
  guint16 abi_minor;        /* JSYNC_ABI_MINOR the plugin was built with */
  guint32 struct_size;      /* sizeof (JsyncApplierDesc) the plugin saw */

  const char *name;         /* required; equals the module's file stem */
  const char *version;      /* required; the plugin's own version */
  const char *description;  /* one line, nullable */

  /* Required, NULL-terminated, non-empty strings.  The applier takes every
   * event whose type starts with one of them; the longest prefix wins. */
  const char *const *prefixes;

  const char *schema_sql;   /* required; idempotent DDL of its tables */
  gint schema_version;      /* bump it and the core rebuilds these tables */
  /* Required, NULL-terminated: the tables schema_sql creates that hold rows
   * (dumped, compared and dropped on a schema change), FTS tables excluded. */
  const char *const *tables;
  /* Nullable, terminated by an entry whose fts is NULL. */
  const JsyncSearchTable *search;

  JsyncApplierInitFunc init;                /* required */
  JsyncApplierApplyFunc apply;              /* required */
  /* Nullable.  The stream an event belongs to: the set of rows it can touch
   * (a conversation, a workspace), returned as a string borrowed from the
   * event, or NULL for the empty stream.  An applier without it is one
   * stream, so a late event replays all its events.  The cache records each
   * event's stream when it is applied: a version that gives events other
   * streams must bump schema_version, so that its events are replayed whole
   * and recorded again in their new streams. */
  JsyncApplierStreamFunc stream;
  /* Required when stream is set: delete every row of one stream. */
  JsyncApplierClearStreamFunc clear_stream;
  JsyncApplierStateFunc clear;              /* required: empty its tables */
  JsyncApplierStateFunc begin_rebuild;      /* nullable */
  JsyncApplierStateFunc finish_rebuild;     /* nullable */
  JsyncApplierFreeFunc free;                /* required */
  /* Nullable (ABI 1.1; read only from a descriptor of minor >= 1): at the
   * end of every batch, before the commit (lifecycle step 5). */
  JsyncApplierStateFunc end_batch;
  /* Nullable (ABI 1.2; read only from a descriptor of minor >= 2): a late
   * event applied in place, or refused (lifecycle step 3). */
  JsyncApplierLateFunc late;

  gpointer reserved[14];
} JsyncApplierDesc;

/* Define the module's descriptor: JSYNC_APPLIER_DEFINE (.name = "x", ...).
 * The ABI fields are filled in here, never by hand. */
#define JSYNC_APPLIER_DEFINE(...)                                       \
  G_MODULE_EXPORT const JsyncApplierDesc jsync_applier_descriptor = {   \
    .abi_major = JSYNC_ABI_MAJOR,                                       \
    .abi_minor = JSYNC_ABI_MINOR,                                       \
    .struct_size = sizeof (JsyncApplierDesc),                           \
    __VA_ARGS__                                                         \
  }

/* --- Helpers (static inline: they are part of the header, not of libjsync) */

/* Set error from the connection's last error: "what: message (code)". */
static inline void
jsync_sql_set_error (sqlite3 *db, GError **error, const char *what)
{
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_SQL,
               "%s: %s (%d)", what, sqlite3_errmsg (db),
               sqlite3_extended_errcode (db));
}

/* Run SQL that returns no rows (DDL, several statements allowed). */
static inline gboolean
jsync_sql_exec (sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_SQL,
                   "%s (%d)", msg ? msg : "unknown error",
                   sqlite3_extended_errcode (db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

/* Prepare one persistent statement; NULL with error set on failure. */
static inline sqlite3_stmt *
jsync_sql_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                          NULL) != SQLITE_OK)
    {
      jsync_sql_set_error (db, error, "prepare");
      return NULL;
    }
  return stmt;
}

/* Step a statement that returns no rows, then reset it and clear its
 * bindings, whatever the outcome. */
static inline gboolean
jsync_sql_run (sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  gboolean ok = (rc == SQLITE_DONE || rc == SQLITE_ROW);

  if (!ok)
    jsync_sql_set_error (sqlite3_db_handle (stmt), error, "step");
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return ok;
}

/* How a key stands in a JSON object. */
typedef enum
{
  JSYNC_FIELD_ABSENT,       /* the key is not there */
  JSYNC_FIELD_NULL,         /* the key holds null */
  JSYNC_FIELD_SET,          /* the key holds a value of the asked type */
} JsyncField;

/* Look up `key` in `parent` (which may be NULL: then ABSENT).  Returns
 * ABSENT, NULL, or SET with *out the value (borrowed). */
static inline JsyncField
jsync_json_lookup (json_object *parent, const char *key, json_object **out)
{
  json_object *value = NULL;

  *out = NULL;
  if (parent == NULL || !json_object_is_type (parent, json_type_object)
      || !json_object_object_get_ex (parent, key, &value))
    return JSYNC_FIELD_ABSENT;
  if (value == NULL)
    return JSYNC_FIELD_NULL;
  *out = value;
  return JSYNC_FIELD_SET;
}

/* The string at `key` of `parent`, or NULL when absent or not a string.
 * (transfer none) */
static inline const char *
jsync_json_get_string_or_null (json_object *parent, const char *key)
{
  json_object *value;

  if (jsync_json_lookup (parent, key, &value) != JSYNC_FIELD_SET
      || !json_object_is_type (value, json_type_string))
    return NULL;
  return json_object_get_string (value);
}

/* The usual stream of an event: data.id for an event of type `create_type`
 * (the entity's create), else the envelope's `key` (e.g. "workspaceId").
 * NULL when absent. (transfer none) */
static inline const char *
jsync_event_get_entity_id (const JsyncEvent *event, const char *create_type,
                           const char *key)
{
  json_object *json = jsync_event_get_json (event);
  json_object *data;

  if (strcmp (jsync_event_get_type (event), create_type) == 0)
    {
      jsync_json_lookup (json, "data", &data);
      return jsync_json_get_string_or_null (data, "id");
    }
  return jsync_json_get_string_or_null (json, key);
}

static inline void
jsync_json_type_error (GError **error, const char *key, const char *expected)
{
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
               "%s: expected %s", key, expected);
}

/* A string field.  Sets *field and *out (borrowed, NULL unless SET);
 * a present value of another type, or a string holding a NUL character, is
 * an error naming the key. */
static inline gboolean
jsync_json_get_string (json_object *parent, const char *key,
                       JsyncField *field, const char **out, GError **error)
{
  json_object *value;

  *field = jsync_json_lookup (parent, key, &value);
  *out = NULL;
  if (*field != JSYNC_FIELD_SET)
    return TRUE;
  if (!json_object_is_type (value, json_type_string))
    {
      jsync_json_type_error (error, key, "a string");
      return FALSE;
    }
  *out = json_object_get_string (value);
  /* An escaped NUL ("\u0000") would cut the text short in C and SQLite. */
  if (strlen (*out) != (size_t) json_object_get_string_len (value))
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "%s: contains a NUL character", key);
      *out = NULL;
      return FALSE;
    }
  return TRUE;
}

/* An integer field (int64; a double, or an integer out of int64 range, is
 * an error). */
static inline gboolean
jsync_json_get_int64 (json_object *parent, const char *key,
                      JsyncField *field, gint64 *out, GError **error)
{
  json_object *value;

  *field = jsync_json_lookup (parent, key, &value);
  *out = 0;
  if (*field != JSYNC_FIELD_SET)
    return TRUE;
  if (!json_object_is_type (value, json_type_int)
      || (json_object_get_int64 (value) == INT64_MAX
          && json_object_get_uint64 (value) != (uint64_t) INT64_MAX))
    {
      jsync_json_type_error (error, key, "an integer");
      return FALSE;
    }
  *out = json_object_get_int64 (value);
  return TRUE;
}

/* A boolean field: true/false, or the integers 0 and 1; *out is 0 or 1. */
static inline gboolean
jsync_json_get_bool (json_object *parent, const char *key,
                     JsyncField *field, gint64 *out, GError **error)
{
  json_object *value;

  *field = jsync_json_lookup (parent, key, &value);
  *out = 0;
  if (*field != JSYNC_FIELD_SET)
    return TRUE;
  if (json_object_is_type (value, json_type_boolean))
    *out = json_object_get_boolean (value) ? 1 : 0;
  else if (json_object_is_type (value, json_type_int)
           && (json_object_get_int64 (value) == 0
               || json_object_get_int64 (value) == 1))
    *out = json_object_get_int64 (value);
  else
    {
      jsync_json_type_error (error, key, "a boolean");
      return FALSE;
    }
  return TRUE;
}

/* The event's data object in *data (borrowed): NULL when absent or null;
 * any other type is an error "data: expected an object". */
static inline gboolean
jsync_event_get_data (const JsyncEvent *event, json_object **data,
                      GError **error)
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

/* A string of the envelope in *out (borrowed): NULL when absent or null,
 * an error "missing KEY" then when `required`. */
static inline gboolean
jsync_event_get_string (const JsyncEvent *event, const char *key,
                        gboolean required, const char **out, GError **error)
{
  JsyncField field;

  if (!jsync_json_get_string (jsync_event_get_json (event), key, &field, out,
                              error))
    return FALSE;
  if (required && field != JSYNC_FIELD_SET)
    {
      g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
                   "missing %s", key);
      return FALSE;
    }
  return TRUE;
}

/* Any JSON value, serialized compactly into *out (borrowed from the value,
 * valid while the event is).  NULL is reported as JSYNC_FIELD_NULL. */
static inline void
jsync_json_get_text (json_object *parent, const char *key,
                     JsyncField *field, const char **out)
{
  json_object *value;

  *field = jsync_json_lookup (parent, key, &value);
  *out = NULL;
  if (*field == JSYNC_FIELD_SET)
    *out = json_object_to_json_string_ext (value,
                                           JSON_C_TO_STRING_PLAIN
                                           | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Run stmts[1] to stmts[n - 1] in order (as jsync_sql_run) when stmts[0],
 * a query, gives a row; nothing when it gives none.  For end_batch: bring
 * an FTS index up to date with the rows its triggers noted, writing
 * nothing when the batch touched none. */
static inline gboolean
jsync_sql_run_if_any (sqlite3_stmt *const *stmts, guint n, GError **error)
{
  int rc = sqlite3_step (stmts[0]);

  sqlite3_reset (stmts[0]);
  if (rc == SQLITE_DONE)
    return TRUE;
  if (rc != SQLITE_ROW)
    {
      jsync_sql_set_error (sqlite3_db_handle (stmts[0]), error, "step");
      return FALSE;
    }
  for (guint i = 1; i < n; i++)
    if (!jsync_sql_run (stmts[i], error))
      return FALSE;
  return TRUE;
}

/* Bind a text or NULL. */
static inline void
jsync_sql_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* The row of the event's type in a handler table: `n` rows of `size`
 * bytes each, whose first member is the event type (a `const char *`).
 * Returns its index, or -1 with JSYNC_APPLIER_ERROR_INVALID set to
 * "TYPE: unknown event type".  Call it through jsync_handler_find. */
static inline gssize
jsync_handler_find_sized (gconstpointer table, gsize n, gsize size,
                          const JsyncEvent *event, GError **error)
{
  const char *type = jsync_event_get_type (event);

  for (gsize i = 0; i < n; i++)
    if (strcmp (type, *(const char *const *) ((const char *) table
                                              + i * size)) == 0)
      return (gssize) i;
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_INVALID,
               "%s: unknown event type", type);
  return -1;
}

/* The index of the event's type in `table`, a static array of handler
 * structs whose first member is the type, or -1 with the error set. */
#define jsync_handler_find(table, event, error)                         \
  jsync_handler_find_sized ((table), G_N_ELEMENTS (table),              \
                            sizeof ((table)[0]), (event), (error))

/* Prefix error with the event's type ("task_updated: missing data.id")
 * and return FALSE: for apply, when the event's handler failed. */
static inline gboolean
jsync_handler_failed (const JsyncEvent *event, GError **error)
{
  g_prefix_error (error, "%s: ", jsync_event_get_type (event));
  return FALSE;
}

G_END_DECLS

#endif /* JSYNC_PLUGIN_H */
