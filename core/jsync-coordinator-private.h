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
};

/* Call the progress function, if any, with these figures. */
void jsync_coordinator_report (JsyncCoordinator *self, const char *phase,
                               guint64 bytes_done, guint64 bytes_total,
                               guint64 events_done);

/* One sync run over `store` (the live cache, or a rebuild's new file);
 * fills `result`.  FALSE when the run could not go on. */
gboolean jsync_sync_run (JsyncCoordinator *self, JsyncStore *store,
                         gboolean rebuilding, JsyncResult *result,
                         GError **error);

G_END_DECLS

#endif /* JSYNC_COORDINATOR_PRIVATE_H */
