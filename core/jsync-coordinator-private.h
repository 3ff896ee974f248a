/* jsync-coordinator-private.h: what the coordinator's modules share. */
#ifndef JSYNC_COORDINATOR_PRIVATE_H
#define JSYNC_COORDINATOR_PRIVATE_H

#include <jsync/jsync.h>

#include "jsync-registry.h"
#include "jsync-store.h"

G_BEGIN_DECLS

struct _JsyncCoordinator
{
  JsyncConfig *config;          /* borrowed */
  JsyncRegistry *registry;      /* owned */
  char *data_dir;               /* owned: absolute */
  char *db_path;                /* owned */
  JsyncStore *store;            /* owned: the live cache */
  JsyncProgressFunc progress;
  gpointer progress_data;
  guint64 db_dev;               /* identity of the cache file open, to */
  guint64 db_ino;               /* notice a rebuild elsewhere swapping */
  gpointer watch;               /* the running jsync_coordinator_watch() */
  gboolean read_only;           /* jsync_coordinator_open_read_only() */
};

/* FALSE with JSYNC_ERROR_USAGE ("what: ...") when the coordinator was
 * opened for reading only; the entry points that write call it first. */
gboolean jsync_coordinator_check_writable (JsyncCoordinator *self,
                                           const char *what, GError **error);

/* Call the progress function, if any, with these figures. */
void jsync_coordinator_report (JsyncCoordinator *self, const char *phase,
                               guint64 bytes_done, guint64 bytes_total,
                               guint64 events_done);

/* How far a run reads one log, at the most: a verify's rebuild reads each
 * log exactly as far as the cache it is compared with did, so that both
 * hold the same lines whatever was appended since. */
typedef struct
{
  guint64 offset;               /* a line boundary */
  gint64 tail_hash;             /* of the bytes before it */
} JsyncReadLimit;

/* A log no longer holds, before its limit, the bytes it held there
 * (replaced meanwhile): the run cannot read what was asked. */
#define JSYNC_SYNC_LIMIT_MOVED (jsync_sync_limit_moved_quark ())
GQuark jsync_sync_limit_moved_quark (void);

/* Run on a new cache file after its logs were read, before the appliers'
 * finish_rebuild. */
typedef gboolean (*JsyncBuildHook) (JsyncCoordinator *self, JsyncStore *store,
                                    JsyncResult *result, GError **error);

/* Build a new cache file at path from every log (what rebuild swaps in);
 * before_finish is nullable.  With `limits` (nullable: relative path →
 * JsyncReadLimit*), only the logs it names, each up to its limit.  On
 * failure the file is removed. */
gboolean jsync_coordinator_build (JsyncCoordinator *self, const char *path,
                                  GHashTable *limits,
                                  JsyncBuildHook before_finish,
                                  JsyncResult *result, GError **error);
/* Remove a SQLite file and its -wal, -shm and -journal files. */
void jsync_coordinator_remove_db_files (const char *path);

/* One sync run over `store` (the live cache, or a rebuild's new file);
 * fills `result`.  FALSE when the run could not go on. */
gboolean jsync_sync_run (JsyncCoordinator *self, JsyncStore *store,
                         gboolean rebuilding, GHashTable *limits,
                         JsyncResult *result, GError **error);
/* Apply the stored pending events that an applier takes now, each in its
 * place in the key order of its stream, without reading the logs. */
gboolean jsync_sync_catch_up (JsyncCoordinator *self, JsyncStore *store,
                              JsyncResult *result, GError **error);
/* The same for the failed events (status 2) that an applier takes: those
 * that apply are marked applied and their jsync_failed rows deleted; those
 * that fail again are recorded anew (in result too). */
gboolean jsync_sync_retry_failed (JsyncCoordinator *self, JsyncStore *store,
                                  JsyncResult *result, GError **error);

/* Reopen the cache when its file is no longer the one open (a rebuild in
 * another process swapped a new file in, or it was removed); *reopened
 * says whether it did.  On failure the old connection stays. */
gboolean jsync_coordinator_reopen_if_replaced (JsyncCoordinator *self,
                                               gboolean *reopened,
                                               GError **error);

/* Take the writer lock and make self->store the live cache (reopened if a
 * rebuild elsewhere swapped a new file in); the lock's fd, or -1. */
int jsync_coordinator_lock_live_store (JsyncCoordinator *self,
                                       GError **error);

/* The live cache, opened again if a failed rebuild left none (an I/O error
 * after the swap); NULL with error set when it cannot be opened.  Every
 * entry point that uses self->store starts with it. (transfer none) */
JsyncStore *jsync_coordinator_get_store (JsyncCoordinator *self,
                                         GError **error);

G_END_DECLS

#endif /* JSYNC_COORDINATOR_PRIVATE_H */
