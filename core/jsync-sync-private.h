/* jsync-sync-private.h: what the sync engine's files share.
 *
 * One run (Run) over a cache is driven by jsync-sync.c through the others,
 * each named by its prefix (functions shared between the files are
 * G_GNUC_INTERNAL, kept out of libjsync's symbols):
 *
 *   run_*     jsync-sync.c    the run driver and its passes
 *   scan_*, source_*
 *             jsync-scan.c    the data folder scan, the known logs, their
 *                             identity and checkpoint
 *   read_*, item_*
 *             jsync-read.c    lines → events; duplicates, conflicting copies
 *   record_*  jsync-record.c  jsync_events and jsync_failed rows of a run
 *   apply_*, group_*
 *             jsync-apply.c   batches, groups, replays, deferral, flush
 *   lost_*    jsync-lost.c    lost events, copies elsewhere, unseen folders
 *
 * Its entry points, for the coordinator, are in jsync-sync.h; a run knows
 * its caller only through the JsyncSyncContext it was given (run->context)
 * and uses below it the store, the registry, the reader and the prefetch.
 */
#ifndef JSYNC_SYNC_PRIVATE_H
#define JSYNC_SYNC_PRIVATE_H

#include <stddef.h>
#include <sys/stat.h>

#include <jsync/jsync.h>

#include "jsync-event.h"
#include "jsync-prefetch.h"
#include "jsync-reader.h"
#include "jsync-registry.h"
#include "jsync-result.h"
#include "jsync-store.h"
#include "jsync-sync.h"

/* Most bytes of event text a batch holds before it is applied. */
#define BATCH_MAX_BYTES (16 * 1024 * 1024)

/* Sources are cut out of blocks, each freed with its last Source: a sync
 * makes and drops one Source per log, tens of thousands each time. */
#define SOURCE_BLOCK_SIZE (256 * 1024)

typedef struct
{
  guint refs;               /* its Sources, and its maker while it fills */
  gsize used;
  gsize size;
  max_align_t data[];
} SourceBlock;

/* One log file in a run, made by source_new() with its strings. */
typedef struct
{
  gint64 id;                /* jsync_sources.id, 0 until inserted */
  char *path;               /* relative to the data folder: the end of abs */
  char *abs;                /* points to strings */
  struct stat st;           /* at scan */
  gboolean present;         /* found by this scan */
  gboolean known;           /* has a row */
  gboolean missing;         /* the row says it was gone */
  gboolean has_identity;    /* the row holds an identity */
  gint64 dev, ino, size, mtime;
  guint64 offset;           /* checkpoint */
  guint64 line;
  gint64 tail_hash;
  gint64 gen;
  gboolean rereading;
  gboolean reached_end;     /* read to its end in this run */
  gboolean dirty;           /* checkpoint to write with the batch */
  gboolean had_bytes;       /* listed in filesProcessed */
  const JsyncReadLimit *limit; /* borrowed, nullable: read up to there */
  SourceBlock *block;       /* holds this Source */
  char strings[];           /* abs, ending in path */
} Source;

/* One new event waiting in the batch. */
typedef struct
{
  const char *id;           /* borrowed from json */
  const char *device;       /* borrowed from json */
  const char *type;         /* borrowed from json */
  gint64 ts;
  char *stream;             /* owned, "" for none */
  JsyncApplierInstance *applier; /* borrowed */
  json_object *json;        /* owned */
  char *raw;                /* owned copy of the line; NULL for a long
                             * line kept packed only (item_get_raw()) */
  gsize length;
  char *packed;             /* owned, nullable: raw as the store keeps it */
  gsize packed_length;
  Source *source;           /* borrowed */
  guint64 offset;
  guint64 line;
  gint64 hash;
  JsyncEventStatus status;  /* once applied: JSYNC_EVENT_APPLIED or _FAILED */
} Item;

/* Events of one stream of one applier in a batch. */
typedef struct
{
  JsyncApplierInstance *applier;
  char *stream;             /* owned, NULL for the whole applier */
  GPtrArray *items;         /* of Item*, borrowed from the batch */
  gboolean force;           /* replay even without new events */
  gboolean replay;          /* clear and re-apply the stream */
  gboolean defer;           /* a rebuild's: recorded now, applied at the
                             * end (see apply_defer()) */
  gboolean late;            /* some events sort before the stream's last:
                             * offered to late() (ABI 1.2) before a replay */
  gint64 last_ts;           /* the stream's last key when late */
  char *last_device;        /* owned */
  char *last_id;            /* owned */
} Group;

typedef struct
{
  const JsyncSyncContext *context; /* borrowed: the caller's */
  JsyncStore *store;        /* borrowed */
  GHashTable *limits;       /* borrowed, nullable: path → JsyncReadLimit*;
                             * only the logs named are read, that far */
  JsyncResult *result;      /* borrowed */
  gboolean rebuilding;
  GHashTable *sources;      /* path → Source*, owned */
  GPtrArray *dirty;         /* of Source*, borrowed: checkpoints to write
                             * with the batch */
  GHashTable *sources_by_id; /* gint64* → Source*, borrowed */
  GPtrArray *batch;         /* of Item*, owned */
  GHashTable *batch_ids;    /* id → Item*, borrowed */
  GHashTable *forced;       /* "applier\x1fstream" → Group*, owned */
  gsize batch_bytes;
  gboolean stop;            /* --strict met a failure */
  guint64 lost_count;       /* rows in jsync_lost, to skip needless deletes */
  GPtrArray *unseen;        /* owned, nullable: of ScanUnseen*, what the
                             * scan could not look into */
  GHashTable *lost_found;   /* path → GPtrArray of ids found lost in this
                             * run, owned: reported at its end */
  guint64 bytes_done;
  guint64 bytes_total;
  gboolean careful;         /* a savepoint per event: the batch being
                             * applied again after a rejection */
  JsyncPrefetch *prefetch;  /* borrowed: the reading thread, if any */
  struct json_tokener *tok; /* owned: this thread's, for stored events */
  GHashTable *deferred;     /* group key → Group*, owned: a rebuild's
                             * streams to replay once, at its end; NULL
                             * outside a rebuild and during those replays */
  guint64 *seen;            /* owned, NULL unless the run began with no
                             * event stored: a Bloom filter of the ids
                             * stored since, to skip most lookups */
} Run;

/* Bits of the Bloom filter (2 MiB): a rebuild of ten million events still
 * skips most lookups. */
#define SEEN_BITS (G_GUINT64_CONSTANT (1) << 24)
#define SEEN_PROBES 7

/* A folder or entry the scan could not look into (a folder it may not
 * read, say): the logs known under it are not gone, only unseen. */
typedef struct
{
  char *path;                 /* relative to the data folder */
  char *message;
} ScanUnseen;

/* The functions the files share, by the file that defines them. */

/* jsync-sync.c */
G_GNUC_INTERNAL
void run_progress (Run *run, const char *phase, guint64 done, guint64 total);

/* jsync-scan.c */
G_GNUC_INTERNAL
void source_free (gpointer data);
G_GNUC_INTERNAL
Source *source_by_id (Run *run, gint64 id);
G_GNUC_INTERNAL
gboolean scan_load_sources (Run *run, GError **error);
G_GNUC_INTERNAL
gboolean scan_insert_source (Run *run, Source *source, GError **error);
G_GNUC_INTERNAL
gboolean scan_data_folder (Run *run, GPtrArray *found, GError **error);
G_GNUC_INTERNAL
gboolean scan_check_source (Run *run, Source *source, gboolean *read,
                            char **reason, GError **error);
G_GNUC_INTERNAL
void source_mark_dirty (Run *run, Source *source);
G_GNUC_INTERNAL
gboolean source_write_checkpoint (Run *run, Source *source, GError **error);

/* jsync-read.c */
G_GNUC_INTERNAL
void item_free (gpointer data);
G_GNUC_INTERNAL
const char *item_get_raw (Run *run, Item *item, GError **error);
G_GNUC_INTERNAL
JsyncApplierInstance *read_route (Run *run, const char *type);
G_GNUC_INTERNAL
Item *read_make_item (Run *run, Source *source, const JsyncLine *line,
                      JsyncEvent *event, json_object *json, gint64 hash,
                      char *raw);
G_GNUC_INTERNAL
gboolean read_same_json (const char *a, gsize a_length, const char *b,
                         gsize b_length);
G_GNUC_INTERNAL
gboolean read_new_copy_wins (gint64 new_ts, const char *new_device,
                             const char *new_raw, gsize new_length,
                             gint64 old_ts, const char *old_device,
                             const char *old_raw, gsize old_length);
G_GNUC_INTERNAL
void read_file_failed (Run *run, Source *source, const GError *why);
G_GNUC_INTERNAL
gboolean read_source (Run *run, Source *source, JsyncPrefetch *prefetch,
                      guint file, GError **error);

/* jsync-record.c */
G_GNUC_INTERNAL
gboolean record_failure (Run *run, Source *source, guint64 line,
                         guint64 offset, guint64 length, const char *event_id,
                         const char *raw, gsize raw_length, gboolean truncated,
                         const char *message, GError **error);
G_GNUC_INTERNAL
gboolean record_seen_add (Run *run, const char *id);
G_GNUC_INTERNAL
gboolean record_event (Run *run, const Item *item, JsyncEventStatus status,
                       GError **error);
G_GNUC_INTERNAL
gboolean record_item (Run *run, Item *item, GError **error);
G_GNUC_INTERNAL
char *record_load_raw (sqlite3_stmt *row, int column, gsize *length);

/* jsync-apply.c */
G_GNUC_INTERNAL
void apply_add_to_batch (Run *run, Item *item);
G_GNUC_INTERNAL
gboolean apply_batch_full (Run *run);
G_GNUC_INTERNAL
void group_free (gpointer data);
G_GNUC_INTERNAL
void apply_force_replay (Run *run, JsyncApplierInstance *applier,
                         const char *stream);
G_GNUC_INTERNAL
gboolean apply_replay_deferred (Run *run, GError **error);
G_GNUC_INTERNAL
gboolean apply_flush (Run *run, GError **error);

/* jsync-lost.c */
G_GNUC_INTERNAL
gboolean lost_find (Run *run, Source *source, gboolean whole_file,
                    GError **error);
G_GNUC_INTERNAL
void lost_report (Run *run);
G_GNUC_INTERNAL
gboolean lost_mark_missing (Run *run, GError **error);

#endif /* JSYNC_SYNC_PRIVATE_H */
