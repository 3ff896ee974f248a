/* jsync-store.h: the cache file: connection, bookkeeping, applier states. */
#ifndef JSYNC_STORE_H
#define JSYNC_STORE_H

#include <jsync/jsync.h>

#include "jsync-registry.h"

G_BEGIN_DECLS

/* Bump with any change to schemas/core.sql. */
#define JSYNC_CORE_SCHEMA_VERSION 3
/* The version before, which a writer upgrades in place: its lines are
 * packed once (jsync_store_upgrade_lines()); readers read it as it is. */
#define JSYNC_CORE_SCHEMA_UNPACKED 2

/* Lines of jsync_events, packed (jsync-store-lines.c). */
typedef struct _JsyncLineDict JsyncLineDict;
typedef struct _JsyncLineCodec JsyncLineCodec;
typedef struct _JsyncPacker JsyncPacker;

/* An applier attached to one connection. */
typedef struct
{
  JsyncPlugin *plugin;      /* borrowed from the registry */
  gpointer state;           /* owned: plugin->desc->free */
  gboolean needs_replay;    /* its tables were (re)created with events to
                             * re-apply: the next run replays them all */
} JsyncApplierInstance;

/* jsync_events.status.  The SQL in jsync-store.c writes them as numbers
 * ("status <> 0" is the partial index's condition). */
typedef enum
{
  JSYNC_EVENT_APPLIED = 0,
  JSYNC_EVENT_PENDING = 1,
  JSYNC_EVENT_FAILED = 2,
} JsyncEventStatus;

typedef enum
{
  JSYNC_STMT_EVENT_LOOKUP,
  JSYNC_STMT_EVENT_INSERT,
  JSYNC_STMT_EVENT_RELOCATE,
  JSYNC_STMT_EVENT_SEEN,
  JSYNC_STMT_EVENT_SET_STATUS,
  JSYNC_STMT_EVENT_SET_STREAM,
  JSYNC_STMT_STREAM_MAX,
  JSYNC_STMT_STREAM_EVENTS,
  JSYNC_STMT_APPLIER_EVENTS,
  JSYNC_STMT_FAILED_INSERT,
  JSYNC_STMT_SOURCE_INSERT,
  JSYNC_STMT_SOURCE_CHECKPOINT,
  JSYNC_STMT_LOST_INSERT,
  JSYNC_STMT_LOST_DELETE,
  JSYNC_STMT_EVENT_MOVE,
  JSYNC_STMT_LOST_CONTAINS,
  JSYNC_STMT_SAVEPOINT,
  JSYNC_STMT_ROLLBACK_TO,
  JSYNC_STMT_RELEASE,
  JSYNC_STMT_BATCH_SAVEPOINT,
  JSYNC_STMT_BATCH_ROLLBACK_TO,
  JSYNC_STMT_BATCH_RELEASE,
  JSYNC_STMT_N
} JsyncStmt;

typedef struct
{
  sqlite3 *db;              /* owned */
  char *path;               /* owned */
  GPtrArray *appliers;      /* of JsyncApplierInstance*, owned */
  GHashTable *by_name;      /* name → JsyncApplierInstance* (borrowed) */
  GPtrArray *init_failures; /* of JsyncLoadFailure-like "path: reason" char* */
  sqlite3_stmt *stmts[JSYNC_STMT_N];
  gboolean in_transaction;
  gboolean unjournaled;     /* a rebuild's file with no journal: nothing
                             * can be rolled back (see jsync_store_
                             * needs_journal_quark()) */
  JsyncLineCodec *codec;    /* jsync_line() of the connection (owned by
                             * the connection) */
  JsyncLineDict *dict;      /* borrowed from codec: the newest dictionary */
  gboolean dict_known;      /* dict is read from the file */
  guint32 dict_next_id;     /* the id of the next dictionary */
  JsyncPacker *packer;      /* owned, nullable: this thread's, with dict */
  gboolean lines_unpacked;  /* a cache of version
                             * JSYNC_CORE_SCHEMA_UNPACKED not packed yet */
} JsyncStore;

/* The error of a run on an unjournaled store that met something it would
 * have to roll back: start over with a journal. */
GQuark jsync_store_needs_journal_quark (void);

/* Open (or create) the cache at path.  `rebuilding` tunes it for a file
 * that is swapped in only when complete (no journal, no fsync).  A file
 * that is not a SQLite database, is corrupt, or has another core schema
 * version fails with JSYNC_ERROR_CORRUPT and the reason. */
JsyncStore *jsync_store_open (const char *path, gboolean rebuilding,
                              GError **error);
/* Seconds jsync_store_open waits for a lock held by another connection. */
#define JSYNC_STORE_LOCK_TIMEOUT 30
/* The same, waiting up to lock_timeout seconds (the keyfile's
 * lock-timeout) for a lock held by another connection, then failing with
 * JSYNC_ERROR_LOCKED. */
JsyncStore *jsync_store_open_full (const char *path, gboolean rebuilding,
                                   guint lock_timeout, GError **error);
void jsync_store_free (JsyncStore *store);
/* Open the cache for a reader (status, dump, search, failed): read-only,
 * with no schema change, no journal mode set, no lock but SQLite's own
 * (busy_timeout: lock_timeout seconds).  NULL with *missing set and no
 * error when there is no cache yet (no file, or no table in it); NULL
 * with JSYNC_ERROR_CORRUPT for a file that is not a cache of this core
 * schema version. */
JsyncStore *jsync_store_open_read_only (const char *path, guint lock_timeout,
                                        gboolean *missing, GError **error);
/* An empty cache in memory, bookkeeping tables made: what a reader shows
 * when there is no cache yet. */
JsyncStore *jsync_store_open_empty (GError **error);
/* The reads up to jsync_store_end_read() see one snapshot: a read
 * transaction, unless one is open already (*began is FALSE then). */
gboolean jsync_store_begin_read (JsyncStore *store, gboolean *began,
                                 GError **error);
void jsync_store_end_read (JsyncStore *store, gboolean began);

/* Create, upgrade and init every plugin of the registry on this
 * connection.  An init failure is recorded in init_failures and warned
 * about (its events stay pending). */
gboolean jsync_store_attach (JsyncStore *store, JsyncRegistry *registry,
                             GKeyFile *keyfile, gboolean rebuilding,
                             GError **error);
/* On a cache opened with jsync_store_open_read_only(): the registry's
 * appliers whose tables the cache holds at their schema version, without
 * init (state NULL); the others are left out with a message. */
gboolean jsync_store_attach_read_only (JsyncStore *store,
                                       JsyncRegistry *registry,
                                       GError **error);
JsyncApplierInstance *jsync_store_get_applier (JsyncStore *store,
                                               const char *name);

/* SQL with a JSYNC_ERROR_* error on failure (CORRUPT for SQLITE_CORRUPT
 * and SQLITE_NOTADB, IO for I/O and full-disk errors, FAILED otherwise). */
gboolean jsync_store_exec (JsyncStore *store, const char *sql,
                           GError **error);
void jsync_store_set_error (JsyncStore *store, GError **error,
                            const char *what);
/* Prepare `sql` for one use (sqlite3_finalize() it); NULL with the error
 * naming `what` when it cannot be. */
sqlite3_stmt *jsync_store_prepare (JsyncStore *store, const char *sql,
                                   const char *what, GError **error);
/* After an applier callback failed with `cause`: FALSE with a JSYNC_ERROR
 * when the cache itself failed (I/O, full disk, read-only, lock,
 * corruption, or the transaction rolled back by SQLite), TRUE when the
 * failure is the callback's own (a rejected event, a failed init). */
gboolean jsync_store_check_callback (JsyncStore *store, const char *what,
                                     const GError *cause, GError **error);
/* A bookkeeping statement, reset and ready to bind. (transfer none) */
sqlite3_stmt *jsync_store_stmt (JsyncStore *store, JsyncStmt which);
/* Step a statement expecting no row; resets it. */
gboolean jsync_store_run (JsyncStore *store, sqlite3_stmt *stmt,
                          GError **error);

/* The bookkeeping tables (jsync_*), one named function per statement; the
 * SQL text is in jsync-store.c.  Functions that give a row to read return
 * the statement stepped to it (NULL when there is none): read its columns
 * by the constants below, then jsync_store_reset() it. */

/* Reset a statement given by the functions below and clear its bindings. */
void jsync_store_reset (sqlite3_stmt *stmt);

/* Columns of jsync_store_event_lookup()'s row. */
enum
{
  JSYNC_LOOKUP_HASH = 0,
  JSYNC_LOOKUP_TS = 1,
  JSYNC_LOOKUP_DEVICE = 2,
  JSYNC_LOOKUP_STATUS = 3,
  JSYNC_LOOKUP_SOURCE = 4,
  JSYNC_LOOKUP_RAW = 8,
  JSYNC_LOOKUP_APPLIER = 9,
  JSYNC_LOOKUP_STREAM = 10,
};

/* The stored event `id`: *row is its row (NULL when none).  FALSE with
 * the error when the cache could not say. */
gboolean jsync_store_event_lookup (JsyncStore *store, const char *id,
                                   sqlite3_stmt **row, GError **error);

/* One row of jsync_events, as jsync_store_event_insert() writes it. */
typedef struct
{
  const char *id;
  gint64 ts;
  const char *device;
  const char *type;
  const char *applier;      /* nullable: none takes it (pending) */
  const char *stream;       /* nullable: "" */
  JsyncEventStatus status;
  gint64 source;            /* jsync_sources.id */
  guint64 offset;
  guint64 length;           /* of raw */
  guint64 line;
  gint64 hash;
  gint64 gen;
  const char *raw;          /* nullable: the line */
  const char *packed;       /* nullable: raw packed (jsync_packer_pack()),
                             * else it is packed here */
  gsize packed_length;
} JsyncEventRow;

/* Record an event (in place of its earlier record, if any). */
gboolean jsync_store_event_insert (JsyncStore *store, const JsyncEventRow *row,
                                   GError **error);
/* An event read again in its own log: where the log now holds it. */
gboolean jsync_store_event_relocate (JsyncStore *store, const char *id,
                                     guint64 offset, guint64 length,
                                     guint64 line, gint64 gen,
                                     GError **error);
/* An event seen in generation `gen` of its log. */
gboolean jsync_store_event_seen (JsyncStore *store, const char *id,
                                 gint64 gen, GError **error);
gboolean jsync_store_event_set_status (JsyncStore *store, const char *id,
                                       JsyncEventStatus status,
                                       GError **error);
/* The stream an event's applier now gives it. */
gboolean jsync_store_event_set_stream (JsyncStore *store, const char *id,
                                       const char *stream, GError **error);
/* Move an event's record to another copy of it (`raw`, `length` bytes,
 * in log `source` of generation `gen`). */
gboolean jsync_store_event_move (JsyncStore *store, const char *id,
                                 gint64 source, guint64 offset,
                                 guint64 length, guint64 line, gint64 hash,
                                 gint64 gen, const char *raw,
                                 GError **error);

/* Columns of jsync_store_stream_last()'s row. */
enum
{
  JSYNC_LAST_TS = 0,
  JSYNC_LAST_DEVICE = 1,
  JSYNC_LAST_ID = 2,
};

/* The applied event of `applier`'s `stream` that sorts last: *row is its
 * row (NULL when the stream holds none). */
gboolean jsync_store_stream_last (JsyncStore *store, const char *applier,
                                  const char *stream, sqlite3_stmt **row,
                                  GError **error);

/* Columns of jsync_store_stream_events()' rows. */
enum
{
  JSYNC_STORED_ID = 0,
  JSYNC_STORED_TS = 1,
  JSYNC_STORED_DEVICE = 2,
  JSYNC_STORED_SOURCE = 3,
  JSYNC_STORED_OFFSET = 4,
  JSYNC_STORED_RAW = 7,
  JSYNC_STORED_LINE = 8,
  JSYNC_STORED_STREAM = 9,
};

/* The applied events of `applier`'s `stream` (all its streams when NULL),
 * in key order: step it (sqlite3_step), then jsync_store_reset() it.
 * (transfer none) */
sqlite3_stmt *jsync_store_stream_events (JsyncStore *store,
                                         const char *applier,
                                         const char *stream);

/* Columns of jsync_store_events_with_status()' rows. */
enum
{
  JSYNC_STATUS_ROW_TYPE = 3,
  JSYNC_STATUS_ROW_SOURCE = 4,
  JSYNC_STATUS_ROW_OFFSET = 5,
  JSYNC_STATUS_ROW_LINE = 7,
  JSYNC_STATUS_ROW_HASH = 8,
  JSYNC_STATUS_ROW_RAW = 9,
};

/* The events of `status` (not applied), in key order: step it, then
 * sqlite3_finalize() it.  NULL with the error when it cannot be read. */
sqlite3_stmt *jsync_store_events_with_status (JsyncStore *store,
                                              JsyncEventStatus status,
                                              GError **error);
/* The ids (char*, owned) of the events last seen in log `source`, into
 * `ids` in their order; only those seen before generation `gen` unless
 * `gen` is -1. */
gboolean jsync_store_event_ids_of_source (JsyncStore *store, gint64 source,
                                          gint64 gen, GPtrArray *ids,
                                          GError **error);
/* The other logs (gint64 ids, into `sources`, in order) that hold events
 * of the streams that log `source` holds events of. */
gboolean jsync_store_sources_sharing_streams (JsyncStore *store,
                                              gint64 source,
                                              GArray *sources,
                                              GError **error);

/* Record a line that did not become an applied event. */
gboolean jsync_store_failed_insert (JsyncStore *store, gint64 source,
                                    const char *file, guint64 line,
                                    guint64 offset, guint64 length,
                                    const char *event_id, const char *message,
                                    const char *raw, gsize raw_length,
                                    gboolean truncated, GError **error);
/* Columns of jsync_store_failed_read()' rows. */
enum
{
  JSYNC_FAILED_FILE = 0,
  JSYNC_FAILED_LINE = 1,
  JSYNC_FAILED_OFFSET = 2,
  JSYNC_FAILED_LENGTH = 3,
  JSYNC_FAILED_ID = 4,
  JSYNC_FAILED_MESSAGE = 5,
  JSYNC_FAILED_TRUNCATED = 6,
  JSYNC_FAILED_RETRYABLE = 7,     /* the event is failed, not the line */
};

/* Every failure record, in file and line order: step it, then
 * sqlite3_finalize() it.  NULL with the error when it cannot be read. */
sqlite3_stmt *jsync_store_failed_read (JsyncStore *store, GError **error);
/* Forget the failure records of event `id` with these bytes. */
gboolean jsync_store_failed_forget (JsyncStore *store, const char *id,
                                    const char *raw, gsize length,
                                    GError **error);
/* Forget the failure records of log `source` but those of failed events. */
gboolean jsync_store_failed_forget_lines (JsyncStore *store, gint64 source,
                                          GError **error);

/* Columns of jsync_store_sources_read()' rows. */
enum
{
  JSYNC_SOURCE_ID = 0,
  JSYNC_SOURCE_PATH = 1,
  JSYNC_SOURCE_DEV = 2,
  JSYNC_SOURCE_INO = 3,
  JSYNC_SOURCE_SIZE = 4,
  JSYNC_SOURCE_MTIME = 5,
  JSYNC_SOURCE_OFFSET = 6,
  JSYNC_SOURCE_LINE = 7,
  JSYNC_SOURCE_TAIL_HASH = 8,
  JSYNC_SOURCE_GEN = 9,
  JSYNC_SOURCE_REREADING = 10,
  JSYNC_SOURCE_MISSING = 11,
};

/* Every row of jsync_sources: step it, then sqlite3_finalize() it.  NULL
 * with the error when it cannot be read. */
sqlite3_stmt *jsync_store_sources_read (JsyncStore *store, GError **error);
/* Columns of jsync_store_checkpoints_read()' rows. */
enum
{
  JSYNC_CHECKPOINT_PATH = 0,
  JSYNC_CHECKPOINT_OFFSET = 1,
  JSYNC_CHECKPOINT_TAIL_HASH = 2,
};

/* The checkpoint of every log not missing: step it, then
 * sqlite3_finalize() it.  NULL with the error when it cannot be read. */
sqlite3_stmt *jsync_store_checkpoints_read (JsyncStore *store,
                                            GError **error);
/* Copy the applied events of `live` that are lost (jsync_lost) into
 * `build` as pending events, in a transaction of its own, under a log row
 * of their own ("(lost events)", missing).  *kept: any was copied. */
gboolean jsync_store_keep_lost_events (JsyncStore *live, JsyncStore *build,
                                       gboolean *kept, GError **error);
/* A new log's row; its id in *id. */
gboolean jsync_store_source_insert (JsyncStore *store, const char *path,
                                    gint64 *id, GError **error);

/* A log's checkpoint and identity, as jsync_sources keeps them. */
typedef struct
{
  gint64 id;
  gboolean has_identity;    /* else dev, ino, size and mtime are NULL */
  gint64 dev, ino, size, mtime;
  guint64 offset;
  guint64 line;
  gint64 tail_hash;
  gint64 gen;
  gboolean rereading;
  gboolean missing;
} JsyncCheckpoint;

gboolean jsync_store_source_checkpoint (JsyncStore *store,
                                        const JsyncCheckpoint *checkpoint,
                                        GError **error);

gboolean jsync_store_lost_insert (JsyncStore *store, const char *file,
                                  const char *id, GError **error);
/* An event lost before is found again. */
gboolean jsync_store_lost_delete (JsyncStore *store, const char *id,
                                  GError **error);
/* Is (file, id) still in jsync_lost?  TRUE as well when the cache cannot
 * say. */
gboolean jsync_store_lost_contains (JsyncStore *store, const char *file,
                                    const char *id);

/* Columns of jsync_store_lost_events_read()' rows. */
enum
{
  JSYNC_LOST_FILE = 0,
  JSYNC_LOST_ID = 1,
  JSYNC_LOST_RAW = 2,
};

/* The lost events the cache holds a line of, one row each (with the first
 * file it was lost from, when more than one), in key order (by file
 * first with `by_file`): step it, then sqlite3_finalize() it.  NULL with
 * the error when it cannot be read. */
sqlite3_stmt *jsync_store_lost_events_read (JsyncStore *store,
                                            gboolean by_file, GError **error);

/* The first column of the first row of `sql` (a count), into *value;
 * FALSE with the error when it cannot be read. */
gboolean jsync_store_query_int (JsyncStore *store, const char *sql,
                                gint64 *value, GError **error);

typedef enum
{
  JSYNC_COUNT_APPLIED,      /* events applied */
  JSYNC_COUNT_PENDING,      /* events pending */
  JSYNC_COUNT_FAILED,       /* rows of jsync_failed */
  JSYNC_COUNT_LOST,         /* rows of jsync_lost */
  JSYNC_COUNT_ANY_EVENT,    /* 1 when the cache holds any event, else 0 */
  JSYNC_COUNT_N
} JsyncCount;

gboolean jsync_store_count_of (JsyncStore *store, JsyncCount what,
                               guint64 *count, GError **error);

typedef enum
{
  JSYNC_REPORT_SOURCES,       /* the logs with their checkpoints */
  JSYNC_REPORT_PENDING_TYPES, /* {type, count} of the pending events */
  JSYNC_REPORT_LOST,          /* {file, id} of the lost events */
  JSYNC_REPORT_N
} JsyncReport;

/* The rows of `jsync status` (and verify's lost events), each an object of
 * its columns.  (transfer full) */
json_object *jsync_store_report_rows (JsyncStore *store, JsyncReport what,
                                      GError **error);

gboolean jsync_store_begin (JsyncStore *store, GError **error);
/* Call every attached applier's end_batch (ABI 1.1), in load order, before
 * a batch's commit.  A failure names the plugin: a JSYNC_ERROR of the
 * cache's kind when the cache itself failed (jsync_store_check_callback),
 * JSYNC_ERROR_FAILED otherwise; the caller rolls the batch back. */
gboolean jsync_store_end_batch (JsyncStore *store, GError **error);
gboolean jsync_store_commit (JsyncStore *store, GError **error);
void jsync_store_rollback (JsyncStore *store);

/* Fold the write-ahead log of the cache at `path` into its file, waiting
 * up to `timeout` seconds for readers (*complete: all of it). */
gboolean jsync_store_fold_log (const char *path, guint timeout,
                               gboolean *complete, GError **error);

/* Take the advisory writer lock on "<db>.lock", waiting up to timeout
 * seconds; returns the fd to pass to jsync_store_unlock, or -1 with
 * JSYNC_ERROR_LOCKED. */
int jsync_store_lock (const char *db_path, guint timeout, GError **error);
void jsync_store_unlock (int fd);

/* --- Lines of jsync_events (jsync-store-lines.c) --- */

/* Give a connection the SQL function jsync_line(raw): the line a row of
 * jsync_events keeps, as its bytes, however it is kept.  (transfer none:
 * the connection owns it) NULL when SQLite refuses it. */
JsyncLineCodec *jsync_line_codec_add (sqlite3 *db);
/* The line kept as `data`; NULL with *why (transfer full) when it cannot
 * be unpacked.  (transfer full: NUL-terminated) */
char *jsync_line_codec_unpack (JsyncLineCodec *codec, const void *data,
                               gsize length, gsize *line_length, char **why);

/* A dictionary of the cache (a row of jsync_dicts), which any thread may
 * use. */
JsyncLineDict *jsync_line_dict_ref (JsyncLineDict *dict);
void jsync_line_dict_unref (JsyncLineDict *dict);
guint32 jsync_line_dict_get_id (const JsyncLineDict *dict);

/* What packs the lines a run reads, for one thread at a time: with the
 * cache's dictionary, or one trained on the cache's lines now when it
 * holds enough, or else one it trains on the first lines read (see
 * jsync_packer_wants_sample()).  NULL with the error when the cache
 * cannot be read. */
JsyncPacker *jsync_store_packer_new (JsyncStore *store, GError **error);
void jsync_packer_free (JsyncPacker *packer);
/* Pack a line: the length of *packed (transfer full), or 0 with *packed
 * NULL when the line is better kept as it is. */
gsize jsync_packer_pack (JsyncPacker *packer, const char *line, gsize length,
                         char **packed);
/* TRUE until trained: give it the lines (jsync_packer_sample()) until
 * that returns TRUE or there are no more, then jsync_packer_train(), then
 * pack them. */
gboolean jsync_packer_wants_sample (JsyncPacker *packer);
gboolean jsync_packer_sample (JsyncPacker *packer, const char *line,
                              gsize length);
void jsync_packer_train (JsyncPacker *packer);
/* The dictionary it packs with, NULL if none.  (transfer none) */
JsyncLineDict *jsync_packer_get_dict (JsyncPacker *packer);
/* A frame the packer made, unpacked a piece at a time: each call to
 * _next gives the next piece (transfer none: until the next call); FALSE
 * at the end, or with *why (transfer full) when the frame is damaged. */
typedef struct _JsyncUnpacker JsyncUnpacker;
JsyncUnpacker *jsync_unpacker_new (JsyncPacker *packer, const void *frame,
                                   gsize length);
gboolean jsync_unpacker_next (JsyncUnpacker *unpacker, const char **piece,
                              gsize *length, char **why);
void jsync_unpacker_free (JsyncUnpacker *unpacker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncUnpacker, jsync_unpacker_free)
/* Write a dictionary lines were packed with into the cache (in the open
 * transaction), before any row packed with it; nothing when it is there. */
gboolean jsync_store_dict_save (JsyncStore *store, JsyncLineDict *dict,
                                GError **error);
/* Pack a line on the store's own thread (as jsync_packer_pack()). */
gboolean jsync_store_pack_line (JsyncStore *store, const char *line,
                                gsize length, char **packed,
                                gsize *packed_length, GError **error);
/* After a rollback: forget the dictionaries it took back. */
void jsync_store_lines_rolled_back (JsyncStore *store);

/* Where a long step of the store is: as JsyncSyncProgressFunc. */
typedef void (*JsyncStoreProgressFunc) (const char *phase, guint64 done,
                                        guint64 total, guint64 events_done,
                                        gpointer user_data);
/* Pack the lines of a cache of version JSYNC_CORE_SCHEMA_UNPACKED, once,
 * telling `progress` (phase "upgrade"); nothing to do for others. */
gboolean jsync_store_upgrade_lines (JsyncStore *store,
                                    JsyncStoreProgressFunc progress,
                                    gpointer progress_data, GError **error);

/* --- jsync_folders (core/jsync-store-folders.c) -------------------------- */

/* A folder of the data folder as a scan listed it. */
typedef struct
{
  const char *path;         /* relative to the data folder, "" for it */
  gint64 dev, ino;
  gint64 mtime, ctime;      /* ns */
  gint64 listed;            /* ns of the real-time clock */
  const char *entries;      /* names, each ending in NUL */
  gsize entries_length;     /* bytes, the last NUL included */
} JsyncFolder;

/* Columns of jsync_store_folders_read()'s rows, in JsyncFolder's order. */
typedef enum
{
  JSYNC_FOLDER_PATH,
  JSYNC_FOLDER_DEV,
  JSYNC_FOLDER_INO,
  JSYNC_FOLDER_MTIME,
  JSYNC_FOLDER_CTIME,
  JSYNC_FOLDER_LISTED,
  JSYNC_FOLDER_ENTRIES,
} JsyncFolderColumn;

/* Every row of jsync_folders into *stmt: step it, then sqlite3_finalize()
 * it; *stmt is NULL when the cache predates the table. */
gboolean jsync_store_folders_read (JsyncStore *store, sqlite3_stmt **stmt,
                                   GError **error);
/* Write a folder's listing, in the open transaction; a cache that predates
 * the table gains it first. */
gboolean jsync_store_folder_write (JsyncStore *store,
                                   const JsyncFolder *folder, GError **error);
/* Forget the listing of the folder at `path`. */
gboolean jsync_store_folder_forget (JsyncStore *store, const char *path,
                                    GError **error);

G_END_DECLS

#endif /* JSYNC_STORE_H */
