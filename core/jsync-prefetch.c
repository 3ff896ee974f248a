/* jsync-prefetch.c: logs read and parsed ahead, in a second thread.
 *
 * A sync spends about a third of its time reading lines, checking and
 * parsing them as JSON; the other two thirds are SQLite's.  This thread
 * does the first part for the files a run will read, in the order it will
 * read them, while the run's thread applies what was parsed before.
 * Records travel in blocks through a GAsyncQueue; the bytes in flight are
 * bounded, so memory does not grow when parsing runs ahead.  The events'
 * lines are packed here as jsync_events keeps them; when the cache has
 * no dictionary yet, the first lines are held back until one is trained
 * on them (a sample of a few MB), then packed and handed on.
 */
#include "jsync-prefetch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jsync/jsync.h>

/* Records in a block, and the bytes that make the thread hand it over
 * sooner. */
#define PREFETCH_BLOCK_RECORDS 256
#define PREFETCH_BLOCK_BYTES (512 * 1024)
/* Most bytes of lines parsed and not yet taken; one block always goes, so
 * a single line longer than this still passes. */
#define PREFETCH_MAX_IN_FLIGHT (4 * 1024 * 1024)
/* What a record costs beyond its line's bytes (the record, json-c's
 * objects are counted as the line's size again). */
#define PREFETCH_RECORD_COST 256
/* Most bytes of lines held back while the sample fills (lines that are
 * not events are no part of it). */
#define PREFETCH_MAX_HELD (8 * 1024 * 1024)
/* A line this long is not left in the reader's or the tokener's buffers. */
#define PREFETCH_LONG_LINE (1024 * 1024)

typedef struct
{
  GPtrArray *records;       /* of JsyncPrefetchRecord*, owned */
  gsize bytes;
} Block;

struct _JsyncPrefetch
{
  char *dir;                /* owned: the data folder */
  char **paths;             /* owned: relative to dir */
  guint64 *offsets;         /* owned */
  guint64 *lines;           /* owned */
  guint64 *limits;          /* owned, nullable */
  guint n_paths;
  guint64 max_line_bytes;
  JsyncPacker *packer;      /* owned, nullable: used by the thread */
  GPtrArray *held;          /* of JsyncPrefetchRecord*, owned, nullable:
                             * read while the sample fills */
  gsize held_bytes;         /* their lines' */

  GThread *thread;
  GAsyncQueue *blocks;      /* of Block*, filled by the thread */
  GAsyncQueue *trash;       /* of GPtrArray*, freed by the thread */
  GMutex lock;              /* guards in_flight and cancelled */
  GCond taken;              /* in_flight went down, or cancelled */
  gsize in_flight;
  gboolean cancelled;

  Block *current;           /* the block being taken, owned */
  guint next;               /* its next record */
};

static void
block_free (Block *block)
{
  if (block == NULL)
    return;
  g_ptr_array_unref (block->records);
  g_free (block);
}

static Block *
block_new (void)
{
  Block *block = g_new0 (Block, 1);

  block->records = g_ptr_array_new_with_free_func (
      (GDestroyNotify) jsync_prefetch_record_free);
  return block;
}

/**
 * jsync_prefetch_record_free:
 * Free a record, closing the file descriptor it still holds.
 */
void
jsync_prefetch_record_free (JsyncPrefetchRecord *record)
{
  if (record == NULL)
    return;
  if (record->fd >= 0)
    close (record->fd);
  g_clear_error (&record->error);
  json_object_put (record->json);
  g_free (record->data);
  g_free (record->packed);
  g_free (record);
}

/**
 * jsync_prefetch_record_steal_json:
 * The parsed line; the envelope's strings point into it. (transfer full)
 */
json_object *
jsync_prefetch_record_steal_json (JsyncPrefetchRecord *record)
{
  return g_steal_pointer (&record->json);
}

/**
 * jsync_prefetch_record_steal_data:
 * The line's bytes, NUL-terminated. (transfer full)
 */
char *
jsync_prefetch_record_steal_data (JsyncPrefetchRecord *record)
{
  record->line.data = NULL;
  return g_steal_pointer (&record->data);
}

/**
 * jsync_prefetch_record_steal_packed:
 * The line packed, NULL when it is kept as it is. (transfer full)
 */
char *
jsync_prefetch_record_steal_packed (JsyncPrefetchRecord *record)
{
  return g_steal_pointer (&record->packed);
}

static JsyncPrefetchRecord *
prefetch_record_new (JsyncPrefetchKind kind, guint file)
{
  JsyncPrefetchRecord *record = g_new0 (JsyncPrefetchRecord, 1);

  record->kind = kind;
  record->file = file;
  record->fd = -1;
  return record;
}

/* Hand a block over, first waiting while too much is in flight.  FALSE
 * when cancelled. */
static gboolean
prefetch_push (JsyncPrefetch *self, Block **block)
{
  gboolean cancelled;

  if ((*block)->records->len == 0)
    return TRUE;
  g_mutex_lock (&self->lock);
  while (!self->cancelled && self->in_flight > 0
         && self->in_flight + (*block)->bytes > PREFETCH_MAX_IN_FLIGHT)
    g_cond_wait (&self->taken, &self->lock);
  cancelled = self->cancelled;
  if (!cancelled)
    self->in_flight += (*block)->bytes;
  g_mutex_unlock (&self->lock);
  if (cancelled)
    return FALSE;
  g_async_queue_push (self->blocks, *block);
  *block = block_new ();
  return TRUE;
}

static void
prefetch_add (Block *block, JsyncPrefetchRecord *record)
{
  g_ptr_array_add (block->records, record);
  block->bytes += PREFETCH_RECORD_COST + 2 * record->line.length;
}

static gboolean
prefetch_block_full (Block *block)
{
  return block->records->len >= PREFETCH_BLOCK_RECORDS
         || block->bytes >= PREFETCH_BLOCK_BYTES;
}

/* Pack an event's line. */
static void
prefetch_pack (JsyncPrefetch *self, JsyncPrefetchRecord *record)
{
  if (self->packer == NULL || record->kind != JSYNC_PREFETCH_LINE
      || record->json == NULL || record->error != NULL
      || record->packed != NULL)
    return;
  record->packed_length = jsync_packer_pack (self->packer, record->line.data,
                                             record->line.length,
                                             &record->packed);
  if (record->packed != NULL)
    record->dict = jsync_packer_get_dict (self->packer);
}

/* Add a record to the block, handing the block over when full.  FALSE
 * when cancelled. */
static gboolean
prefetch_emit (JsyncPrefetch *self, Block **block,
               JsyncPrefetchRecord *record)
{
  prefetch_pack (self, record);
  prefetch_add (*block, record);
  return !prefetch_block_full (*block) || prefetch_push (self, block);
}

/* Train on the sample and hand on the records held meanwhile.  FALSE when
 * cancelled. */
static gboolean
prefetch_release_held (JsyncPrefetch *self, Block **block)
{
  g_autoptr(GPtrArray) held = g_steal_pointer (&self->held);
  gboolean ok = TRUE;

  jsync_packer_train (self->packer);
  for (guint i = 0; i < held->len; i++)
    {
      JsyncPrefetchRecord *record = g_steal_pointer (&held->pdata[i]);

      if (ok)
        ok = prefetch_emit (self, block, record);
      else
        jsync_prefetch_record_free (record);
    }
  return ok;
}

/* A record read: held back while the sample fills, else handed on.  FALSE
 * when cancelled. */
static gboolean
prefetch_take (JsyncPrefetch *self, Block **block,
               JsyncPrefetchRecord *record)
{
  if (self->held == NULL)
    return prefetch_emit (self, block, record);
  g_ptr_array_add (self->held, record);
  self->held_bytes += record->line.length;
  if ((record->kind == JSYNC_PREFETCH_LINE && record->json != NULL
       && record->error == NULL
       && jsync_packer_sample (self->packer, record->line.data,
                               record->line.length))
      || self->held_bytes >= PREFETCH_MAX_HELD)
    return prefetch_release_held (self, block);
  return TRUE;
}

/* What jsync_prefetch_free() puts in the trash to end the thread. */
static char prefetch_stop_marker;

/* Free what the consumer is done with, here: the objects were made in
 * this thread's malloc arena, and freeing them in the consumer's thread
 * would contend for its lock.  With `wait`, until the stop marker. */
static void
prefetch_empty_trash (JsyncPrefetch *self, gboolean wait)
{
  gpointer garbage;

  while ((garbage = wait ? g_async_queue_pop (self->trash)
                         : g_async_queue_try_pop (self->trash))
         != NULL)
    {
      if (garbage == &prefetch_stop_marker)
        return;
      g_ptr_array_unref (garbage);
    }
}

/* Parse one line into its record. */
static void
prefetch_parse (struct json_tokener *tok, JsyncPrefetchRecord *record)
{
  record->event.struct_size = sizeof (JsyncEvent);
  if (record->line.too_long)
    return;
  record->hash = jsync_hash (record->line.data, record->line.length);
  record->json = jsync_event_parse_json_with (tok, record->line.data,
                                              record->line.length,
                                              &record->error);
  if (record->json != NULL)
    jsync_event_read_envelope (record->json, &record->event, &record->error);
}

/* A long line's bytes again, from its frame: one that is no event keeps
 * them in its failure record. */
static void
prefetch_unpack_whole (JsyncPrefetch *self, JsyncPrefetchRecord *record)
{
  g_autoptr(JsyncUnpacker) unpacker = jsync_unpacker_new (
      self->packer, record->packed, record->packed_length);
  GString *line = g_string_sized_new (record->line.length);
  g_autofree char *why = NULL;
  const char *piece;
  gsize length;

  while (jsync_unpacker_next (unpacker, &piece, &length, &why))
    g_string_append_len (line, piece, length);
  /* (A frame made a moment ago by this thread.) */
  if (why != NULL || line->len != record->line.length)
    g_error ("a line just packed cannot be unpacked: %s",
             why != NULL ? why : "its length differs");
  record->data = g_string_free (line, FALSE);
  record->line.data = record->data;
  g_clear_pointer (&record->packed, g_free);
  record->packed_length = 0;
  record->dict = NULL;
}

/* Parse a long line the way that holds it least: packed first and its
 * bytes let go, then unpacked into json-c a piece at a time, so that the
 * line, json-c's buffer and the string json-c makes of a long text are
 * never all held at once.  While its event is applied, the frame stands
 * for the line (item_get_raw()).  A line that does not pack smaller is
 * parsed whole; one that is no event gets its bytes back. */
static void
prefetch_parse_long (JsyncPrefetch *self, struct json_tokener *tok,
                     JsyncPrefetchRecord *record)
{
  g_autoptr(JsyncUnpacker) unpacker = NULL;
  struct json_tokener *pieces;
  g_autofree char *why = NULL;
  const char *piece;
  gsize length;

  record->event.struct_size = sizeof (JsyncEvent);
  record->hash = jsync_hash (record->line.data, record->line.length);
  if (!jsync_event_check_line (record->line.data, record->line.length,
                               &record->error))
    return;
  record->packed_length = jsync_packer_pack (self->packer, record->line.data,
                                             record->line.length,
                                             &record->packed);
  if (record->packed == NULL)
    {
      prefetch_parse (tok, record);
      return;
    }
  record->dict = jsync_packer_get_dict (self->packer);
  g_clear_pointer (&record->data, g_free);
  record->line.data = NULL;

  pieces = jsync_event_piece_tokener_new ();
  unpacker = jsync_unpacker_new (self->packer, record->packed,
                                 record->packed_length);
  while (record->json == NULL && record->error == NULL
         && jsync_unpacker_next (unpacker, &piece, &length, &why))
    record->json = jsync_event_parse_piece (pieces, piece, length,
                                            &record->error);
  json_tokener_free (pieces);
  if (why != NULL)
    g_error ("a line just packed cannot be unpacked: %s", why);
  if (record->json == NULL && record->error == NULL)
    g_set_error_literal (&record->error, JSYNC_APPLIER_ERROR,
                         JSYNC_APPLIER_ERROR_INVALID,
                         "not valid JSON: the line ends inside a value");
  if (record->json != NULL)
    jsync_event_read_envelope (record->json, &record->event, &record->error);
  if (record->error != NULL)
    prefetch_unpack_whole (self, record);
}

/* Read one file into blocks.  FALSE when cancelled. */
static gboolean
prefetch_file (JsyncPrefetch *self, struct json_tokener **tok, guint file,
               Block **block)
{
  g_autoptr(JsyncReader) reader = NULL;
  JsyncPrefetchRecord *record = prefetch_record_new (JSYNC_PREFETCH_OPENED,
                                                     file);

  reader = jsync_reader_open_below (self->dir, self->paths[file],
                                    self->offsets[file], self->lines[file],
                                    self->max_line_bytes, &record->error);
  if (reader != NULL && self->limits != NULL)
    jsync_reader_set_limit (reader, self->limits[file]);
  if (reader == NULL)
    record->kind = JSYNC_PREFETCH_OPEN_FAILED;
  else if ((record->st = *jsync_reader_get_stat (reader),
            record->fd = dup (jsync_reader_get_fd (reader))) < 0)
    {
      int saved_errno = errno;

      record->kind = JSYNC_PREFETCH_OPEN_FAILED;
      g_set_error (&record->error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s",
                   self->paths[file], g_strerror (saved_errno));
    }
  if (record->kind == JSYNC_PREFETCH_OPEN_FAILED)
    return prefetch_take (self, block, record);
  if (!prefetch_take (self, block, record))
    return FALSE;

  for (;;)
    {
      JsyncLine line;
      GError *read_error = NULL;

      if (!jsync_reader_next (reader, &line, &read_error))
        {
          record = prefetch_record_new (read_error != NULL
                                            ? JSYNC_PREFETCH_READ_FAILED
                                            : JSYNC_PREFETCH_END,
                                        file);
          record->error = read_error;
          record->offset = jsync_reader_get_offset (reader);
          record->lines = jsync_reader_get_line (reader);
          return prefetch_take (self, block, record);
        }
      record = prefetch_record_new (JSYNC_PREFETCH_LINE, file);
      record->line = line;
      record->data = g_malloc (line.length + 1);
      memcpy (record->data, line.data, line.length);
      record->data[line.length] = '\0';
      record->line.data = record->data;
      record->offset = jsync_reader_get_offset (reader);
      record->lines = jsync_reader_get_line (reader);
      /* A long line is not held three times over while it is parsed and
       * handed on: the reader's copy goes now, the tokener's after. */
      if (line.length > PREFETCH_LONG_LINE)
        jsync_reader_trim (reader);
      if (line.length > PREFETCH_LONG_LINE && self->packer != NULL)
        prefetch_parse_long (self, *tok, record);
      else
        prefetch_parse (*tok, record);
      if (line.length > PREFETCH_LONG_LINE)
        {
          json_tokener_free (*tok);
          *tok = jsync_event_tokener_new ();
        }
      if (!prefetch_take (self, block, record))
        return FALSE;
      /* (An empty block: one was just handed over.) */
      if ((*block)->records->len == 0)
        prefetch_empty_trash (self, FALSE);
    }
}

static gpointer
prefetch_thread (gpointer data)
{
  JsyncPrefetch *self = data;
  struct json_tokener *tok = jsync_event_tokener_new ();
  Block *block = block_new ();

  gboolean ok = TRUE;

  for (guint i = 0; ok && i < self->n_paths; i++)
    ok = prefetch_file (self, &tok, i, &block);
  /* Fewer lines than a full sample: trained on what there is. */
  if (ok && self->held != NULL)
    ok = prefetch_release_held (self, &block);
  if (ok)
    prefetch_push (self, &block);
  block_free (block);
  json_tokener_free (tok);
  prefetch_empty_trash (self, TRUE);
  return NULL;
}

/**
 * jsync_prefetch_dispose:
 * Have the reading thread free `garbage` (transfer full), an array whose
 * free function may run in any thread.
 */
void
jsync_prefetch_dispose (JsyncPrefetch *prefetch, GPtrArray *garbage)
{
  g_async_queue_push (prefetch->trash, garbage);
}

/**
 * jsync_prefetch_start:
 * Start the reading thread over `paths`.
 */
JsyncPrefetch *
jsync_prefetch_start (const char *dir, const char *const *paths,
                      const guint64 *offsets, const guint64 *lines,
                      const guint64 *limits, guint n_paths,
                      guint64 max_line_bytes, JsyncPacker *packer)
{
  JsyncPrefetch *self = g_new0 (JsyncPrefetch, 1);

  self->dir = g_strdup (dir);
  self->paths = g_new0 (char *, n_paths + 1);
  for (guint i = 0; i < n_paths; i++)
    self->paths[i] = g_strdup (paths[i]);
  self->offsets = g_memdup2 (offsets, n_paths * sizeof (guint64));
  self->lines = g_memdup2 (lines, n_paths * sizeof (guint64));
  if (limits != NULL)
    self->limits = g_memdup2 (limits, n_paths * sizeof (guint64));
  self->n_paths = n_paths;
  self->max_line_bytes = max_line_bytes;
  self->packer = packer;
  if (packer != NULL && jsync_packer_wants_sample (packer))
    self->held = g_ptr_array_new_with_free_func (
        (GDestroyNotify) jsync_prefetch_record_free);
  self->blocks = g_async_queue_new_full ((GDestroyNotify) block_free);
  self->trash = g_async_queue_new ();
  g_mutex_init (&self->lock);
  g_cond_init (&self->taken);
  self->thread = g_thread_new ("jsync-prefetch", prefetch_thread, self);
  return self;
}

/* The block holding the next record, waiting for one when needed. */
static Block *
prefetch_current (JsyncPrefetch *self)
{
  if (self->current != NULL && self->next < self->current->records->len)
    return self->current;
  if (self->current != NULL)
    {
      g_mutex_lock (&self->lock);
      self->in_flight -= self->current->bytes;
      g_cond_signal (&self->taken);
      g_mutex_unlock (&self->lock);
      block_free (self->current);
    }
  self->current = g_async_queue_pop (self->blocks);
  self->next = 0;
  return self->current;
}

/**
 * jsync_prefetch_next:
 * The next record, in file order; the caller must not ask past the last
 * file's END or READ_FAILED record.
 */
JsyncPrefetchRecord *
jsync_prefetch_next (JsyncPrefetch *prefetch)
{
  Block *block = prefetch_current (prefetch);
  JsyncPrefetchRecord *record = block->records->pdata[prefetch->next];

  block->records->pdata[prefetch->next++] = NULL;
  return record;
}

/**
 * jsync_prefetch_skip_file:
 * Drop the records left of `file` (after its reading was abandoned).
 */
void
jsync_prefetch_skip_file (JsyncPrefetch *prefetch, guint file)
{
  for (;;)
    {
      Block *block = prefetch_current (prefetch);
      JsyncPrefetchRecord *record = block->records->pdata[prefetch->next];
      gboolean last;

      if (record->file != file)
        return;
      last = record->kind == JSYNC_PREFETCH_END
             || record->kind == JSYNC_PREFETCH_READ_FAILED
             || record->kind == JSYNC_PREFETCH_OPEN_FAILED;
      jsync_prefetch_record_free (jsync_prefetch_next (prefetch));
      if (last)
        return;
    }
}

/**
 * jsync_prefetch_free:
 * Stop the thread and drop what it read and nobody took.
 */
void
jsync_prefetch_free (JsyncPrefetch *prefetch)
{
  if (prefetch == NULL)
    return;
  g_mutex_lock (&prefetch->lock);
  prefetch->cancelled = TRUE;
  g_cond_broadcast (&prefetch->taken);
  g_mutex_unlock (&prefetch->lock);
  g_async_queue_push (prefetch->trash, &prefetch_stop_marker);
  g_thread_join (prefetch->thread);
  block_free (prefetch->current);
  g_async_queue_unref (prefetch->blocks);
  g_async_queue_unref (prefetch->trash);
  g_mutex_clear (&prefetch->lock);
  g_cond_clear (&prefetch->taken);
  g_free (prefetch->dir);
  g_strfreev (prefetch->paths);
  g_free (prefetch->offsets);
  g_free (prefetch->lines);
  g_free (prefetch->limits);
  if (prefetch->held != NULL)
    g_ptr_array_unref (prefetch->held);
  jsync_packer_free (prefetch->packer);
  g_free (prefetch);
}
