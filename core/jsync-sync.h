/* jsync-sync.h: the sync engine, as the coordinator calls it.
 *
 * The engine (jsync-sync.c and the files sharing jsync-sync-private.h)
 * knows nothing of the coordinator: each call takes a JsyncSyncContext
 * with what a run needs (the data folder, the config values it reads, the
 * appliers, where its progress goes), built by the coordinator for the
 * call, and the store to run over (docs/design.md "Architecture").
 */
#ifndef JSYNC_SYNC_H
#define JSYNC_SYNC_H

#include <jsync/jsync.h>

#include "jsync-registry.h"
#include "jsync-store.h"

G_BEGIN_DECLS

/* Where a run is: its phase ("scan", "read"), the bytes of the logs it
 * reads, done and in all, and the events applied, skipped or failed. */
typedef void (*JsyncSyncProgressFunc) (const char *phase, guint64 bytes_done,
                                       guint64 bytes_total,
                                       guint64 events_done,
                                       gpointer user_data);

/* What a run takes from its caller; every pointer is borrowed for the
 * call. */
typedef struct
{
  const char *data_dir;         /* borrowed: absolute */
  JsyncRegistry *registry;      /* borrowed: routes a type to its applier */
  guint batch_size;             /* events applied in one transaction */
  gint64 max_line_bytes;        /* longer lines fail */
  const char *const *ignore;    /* borrowed: globs the scan skips,
                                 * NULL-terminated */
  gboolean strict;              /* stop at the first failed event */
  JsyncSyncProgressFunc progress; /* nullable */
  gpointer progress_data;
} JsyncSyncContext;

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

/* One sync run over `store` (the live cache, or a rebuild's new file);
 * fills `result`.  With `limits` (nullable: relative path →
 * JsyncReadLimit*), only the logs it names, each up to its limit.  FALSE
 * when the run could not go on. */
gboolean jsync_sync_run (const JsyncSyncContext *context, JsyncStore *store,
                         gboolean rebuilding, GHashTable *limits,
                         JsyncResult *result, GError **error);
/* Apply the stored pending events that an applier takes now, each in its
 * place in the key order of its stream, without reading the logs. */
gboolean jsync_sync_catch_up (const JsyncSyncContext *context,
                              JsyncStore *store, JsyncResult *result,
                              GError **error);
/* The same for the failed events (status 2) that an applier takes: those
 * that apply are marked applied and their jsync_failed rows deleted; those
 * that fail again are recorded anew (in result too). */
gboolean jsync_sync_retry_failed (const JsyncSyncContext *context,
                                  JsyncStore *store, JsyncResult *result,
                                  GError **error);

G_END_DECLS

#endif /* JSYNC_SYNC_H */
