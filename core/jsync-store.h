/* jsync-store.h: the cache file: connection, bookkeeping, applier states. */
#ifndef JSYNC_STORE_H
#define JSYNC_STORE_H

#include <jsync/jsync.h>

#include "jsync-registry.h"

G_BEGIN_DECLS

/* Bump with any change to schemas/core.sql. */
#define JSYNC_CORE_SCHEMA_VERSION 2

/* An applier attached to one connection. */
typedef struct
{
  JsyncPlugin *plugin;      /* borrowed from the registry */
  gpointer state;           /* owned: plugin->desc->free */
  gboolean needs_replay;    /* its tables were (re)created with events to
                             * re-apply: the next run replays them all */
} JsyncApplierInstance;

typedef enum
{
  JSYNC_STMT_EVENT_LOOKUP,
  JSYNC_STMT_EVENT_INSERT,
  JSYNC_STMT_EVENT_RELOCATE,
  JSYNC_STMT_EVENT_SEEN,
  JSYNC_STMT_EVENT_SET_STATUS,
  JSYNC_STMT_STREAM_MAX,
  JSYNC_STMT_STREAM_EVENTS,
  JSYNC_STMT_APPLIER_EVENTS,
  JSYNC_STMT_FAILED_INSERT,
  JSYNC_STMT_SOURCE_INSERT,
  JSYNC_STMT_SOURCE_CHECKPOINT,
  JSYNC_STMT_LOST_INSERT,
  JSYNC_STMT_LOST_DELETE,
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

gboolean jsync_store_begin (JsyncStore *store, GError **error);
/* Call every attached applier's end_batch (ABI 1.1), in load order, before
 * a batch's commit.  A failure names the plugin: a JSYNC_ERROR of the
 * cache's kind when the cache itself failed (jsync_store_check_callback),
 * JSYNC_ERROR_FAILED otherwise; the caller rolls the batch back. */
gboolean jsync_store_end_batch (JsyncStore *store, GError **error);
gboolean jsync_store_commit (JsyncStore *store, GError **error);
void jsync_store_rollback (JsyncStore *store);

/* Take the advisory writer lock on "<db>.lock", waiting up to timeout
 * seconds; returns the fd to pass to jsync_store_unlock, or -1 with
 * JSYNC_ERROR_LOCKED. */
int jsync_store_lock (const char *db_path, guint timeout, GError **error);
void jsync_store_unlock (int fd);

G_END_DECLS

#endif /* JSYNC_STORE_H */
