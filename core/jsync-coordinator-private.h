/* jsync-coordinator-private.h: what the coordinator's modules share. */
#ifndef JSYNC_COORDINATOR_PRIVATE_H
#define JSYNC_COORDINATOR_PRIVATE_H

#include <jsync/jsync.h>

#include "jsync-registry.h"
#include "jsync-store.h"
#include "jsync-sync.h"

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

/* The sync engine's context for one call, from this coordinator: its data
 * folder, registry and config values; progress goes through
 * jsync_coordinator_report() (so to self->progress as it is then). */
void jsync_coordinator_sync_context (JsyncCoordinator *self,
                                     JsyncSyncContext *context);

/* Reopen the cache when its file is no longer the one open (a rebuild in
 * another process swapped a new file in, or it was removed); *reopened
 * says whether it did.  On failure the old connection stays. */
gboolean jsync_coordinator_reopen_if_replaced (JsyncCoordinator *self,
                                               gboolean *reopened,
                                               GError **error);

/* Check that the coordinator may write (jsync_coordinator_check_writable()
 * with `what`), take the writer lock and make self->store the live cache
 * (reopened if a rebuild elsewhere swapped a new file in); the lock's fd,
 * or -1. */
int jsync_coordinator_lock_live_store (JsyncCoordinator *self,
                                       const char *what, GError **error);

/* One step on the live cache: a sync, or a retry of the failed events. */
typedef gboolean (*JsyncLiveStep) (const JsyncSyncContext *context,
                                   JsyncStore *store, JsyncResult *result,
                                   GError **error);

/* Take the writer lock (jsync_coordinator_lock_live_store() with `what`),
 * run `step` on the live cache and release the lock; the result, timed, or
 * NULL.  With `set_aside`, a cache that the step found corrupt is moved
 * aside. */
JsyncResult *jsync_coordinator_run_locked (JsyncCoordinator *self,
                                           const char *what,
                                           JsyncLiveStep step,
                                           gboolean set_aside,
                                           GError **error);

/* The live cache, opened again if a failed rebuild left none (an I/O error
 * after the swap); NULL with error set when it cannot be opened.  Every
 * entry point that uses self->store starts with it. (transfer none) */
JsyncStore *jsync_coordinator_get_store (JsyncCoordinator *self,
                                         GError **error);

G_END_DECLS

#endif /* JSYNC_COORDINATOR_PRIVATE_H */
