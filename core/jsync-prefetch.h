/* jsync-prefetch.h: logs read and parsed ahead, in a second thread. */
#ifndef JSYNC_PREFETCH_H
#define JSYNC_PREFETCH_H

#include "jsync-event.h"
#include "jsync-reader.h"
#include "jsync-store.h"

G_BEGIN_DECLS

typedef enum
{
  JSYNC_PREFETCH_OPENED,      /* fd: the file opened (the consumer owns it) */
  JSYNC_PREFETCH_OPEN_FAILED, /* error: it could not be opened */
  JSYNC_PREFETCH_LINE,        /* one complete line */
  JSYNC_PREFETCH_READ_FAILED, /* error: reading stopped here */
  JSYNC_PREFETCH_END,         /* offset, line: the end was reached */
} JsyncPrefetchKind;

/* What the reading thread found, in file order.  A file's records are
 * OPENED or OPEN_FAILED, then its LINEs, then END or READ_FAILED. */
typedef struct
{
  JsyncPrefetchKind kind;
  guint file;                 /* index in the list given to _start */
  int fd;                     /* OPENED */
  struct stat st;             /* OPENED: the file when opened; nothing past
                               * its size is read */
  GError *error;              /* owned: OPEN_FAILED, READ_FAILED; for a LINE
                               * that is not an event, why (the envelope's
                               * id is then still set when it was valid) */
  JsyncLine line;             /* LINE: data points into `data` */
  char *data;                 /* owned: the line, NUL-terminated; NULL
                               * (and line.data too) for a long line once
                               * packed: the frame stands for it */
  json_object *json;          /* owned: the parsed line, NULL when not */
  JsyncEvent event;           /* its envelope, borrowed from json */
  gint64 hash;                /* of the line's bytes */
  char *packed;               /* owned, nullable: an event's line packed
                               * (jsync_packer_pack()) */
  gsize packed_length;
  JsyncLineDict *dict;        /* nullable: packed with it (the packer's,
                               * alive as long as the prefetch) */
  guint64 offset;             /* checkpoint after this record */
  guint64 lines;
} JsyncPrefetchRecord;

typedef struct _JsyncPrefetch JsyncPrefetch;

/* Start reading `paths` (relative to the folder `dir`, opened with
 * jsync_reader_open_below()), each from its `offsets` / `lines` (the
 * checkpoint), in that order, and up to its `limits` (nullable;
 * G_MAXUINT64: none) at the most.  With `packer` (transfer full,
 * nullable), the events' lines are packed there too. */
JsyncPrefetch *jsync_prefetch_start (const char *dir,
                                     const char *const *paths,
                                     const guint64 *offsets,
                                     const guint64 *lines,
                                     const guint64 *limits, guint n_paths,
                                     guint64 max_line_bytes,
                                     JsyncPacker *packer);
/* The next record (transfer full; free with jsync_prefetch_record_free),
 * waiting for it. */
JsyncPrefetchRecord *jsync_prefetch_next (JsyncPrefetch *prefetch);
/* Throw away the rest of the current file's records. */
void jsync_prefetch_skip_file (JsyncPrefetch *prefetch, guint file);
void jsync_prefetch_record_free (JsyncPrefetchRecord *record);
/* Steal the parsed line out of a LINE record. */
json_object *jsync_prefetch_record_steal_json (JsyncPrefetchRecord *record);
char *jsync_prefetch_record_steal_data (JsyncPrefetchRecord *record);
char *jsync_prefetch_record_steal_packed (JsyncPrefetchRecord *record);
/* Have the reading thread free `garbage` (transfer full): the parsed
 * lines were allocated there. */
void jsync_prefetch_dispose (JsyncPrefetch *prefetch, GPtrArray *garbage);
/* Stop the thread (unread records are dropped) and free. */
void jsync_prefetch_free (JsyncPrefetch *prefetch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncPrefetch, jsync_prefetch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncPrefetchRecord, jsync_prefetch_record_free)

G_END_DECLS

#endif /* JSYNC_PREFETCH_H */
