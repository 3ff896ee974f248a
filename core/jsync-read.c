/* jsync-read.c: a log's new lines become events (docs/design.md "The sync
 * contract").
 *
 * Each complete line, read and parsed by the reading thread
 * (jsync-prefetch.c), becomes an Item: a bad line is recorded as failed,
 * a copy of an id in the batch or in jsync_events is a duplicate or a
 * conflicting copy ("Duplicates and conflicting copies"), a new event
 * with no applier is kept as pending, any other joins the batch.
 */
#include <string.h>
#include <sys/stat.h>

#include "jsync-sync-private.h"

/* --- Items --------------------------------------------------------------- */

void
item_free (gpointer data)
{
  Item *item = data;

  g_free (item->stream);
  json_object_put (item->json);
  g_free (item->raw);
  g_free (item->packed);
  g_free (item);
}

/* The item's line.  The reading thread lets a long line's bytes go once it
 * is packed (jsync-prefetch.c): the few paths that need them (a copy that
 * differs, a rejection) unpack them again.  NULL with `error` set when the
 * frame cannot be unpacked. */
const char *
item_get_raw (Run *run, Item *item, GError **error)
{
  g_autofree char *why = NULL;
  gsize length;

  if (item->raw != NULL)
    return item->raw;
  item->raw = jsync_line_codec_unpack (run->store->codec, item->packed,
                                       item->packed_length, &length, &why);
  if (item->raw == NULL)
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED,
                 "%s:%" G_GUINT64_FORMAT ": the line packed in memory: %s",
                 item->source->path, item->line, why);
  return item->raw;
}

JsyncApplierInstance *
read_route (Run *run, const char *type)
{
  JsyncPlugin *plugin = jsync_registry_route (run->context->registry, type);

  if (plugin == NULL)
    return NULL;
  return jsync_store_get_applier (run->store, plugin->desc->name);
}

/* An event of the batch.  It takes `json` (the envelope's strings are
 * borrowed from it) and `raw`, the line's bytes NUL-terminated, or copies
 * the line when raw is NULL and the line has its bytes (a long line the
 * reading thread packed has none: see item_get_raw()). */
Item *
read_make_item (Run *run, Source *source, const JsyncLine *line,
                JsyncEvent *event, json_object *json, gint64 hash, char *raw)
{
  Item *item = g_new0 (Item, 1);

  item->id = event->id;
  item->device = event->device_id;
  item->type = event->type;
  item->ts = event->timestamp;
  item->json = json;
  if (raw == NULL && line->data != NULL)
    {
      raw = g_malloc (line->length + 1);
      memcpy (raw, line->data, line->length);
      raw[line->length] = '\0';
    }
  item->raw = raw;
  item->length = line->length;
  item->source = source;
  item->offset = line->offset;
  item->line = line->line;
  item->hash = hash;
  item->applier = read_route (run, event->type);
  if (item->applier != NULL)
    {
      const JsyncApplierDesc *desc = item->applier->plugin->desc;
      const char *stream = NULL;

      event->file = source->path;
      event->line = line->line;
      event->offset = line->offset;
      if (desc->stream != NULL)
        stream = desc->stream (item->applier->state, event);
      item->stream = g_strdup (stream != NULL ? stream : "");
    }
  return item;
}

/* --- Duplicates and conflicting copies ----------------------------------- */

/* Compare a new copy of an event with the stored one: TRUE when they are
 * the same event as parsed JSON. */
gboolean
read_same_json (const char *a, gsize a_length, const char *b, gsize b_length)
{
  json_object *x = jsync_event_parse_json (a, a_length, NULL);
  json_object *y = jsync_event_parse_json (b, b_length, NULL);
  gboolean same = x != NULL && y != NULL && json_object_equal (x, y);

  json_object_put (x);
  json_object_put (y);
  return same;
}

/* Which copy is the event: the smaller (timestamp, deviceId, raw bytes). */
gboolean
read_new_copy_wins (gint64 new_ts, const char *new_device, const char *new_raw,
                    gsize new_length, gint64 old_ts, const char *old_device,
                    const char *old_raw, gsize old_length)
{
  int c;

  if (new_ts != old_ts)
    return new_ts < old_ts;
  if ((c = strcmp (new_device, old_device)) != 0)
    return c < 0;
  c = memcmp (new_raw, old_raw, MIN (new_length, old_length));
  if (c != 0)
    return c < 0;
  return new_length < old_length;
}

/* A copy of an event id already in the batch. */
static gboolean
read_duplicate_in_batch (Run *run, Item *existing, Item *item,
                         GError **error)
{
  gboolean same;

  if (existing->hash != item->hash
      && (item_get_raw (run, existing, error) == NULL
          || item_get_raw (run, item, error) == NULL))
    {
      item_free (item);
      return FALSE;
    }
  same = existing->hash == item->hash
         || read_same_json (existing->raw, existing->length, item->raw,
                            item->length);

  if (same)
    run->result->events_skipped++;
  else
    {
      run->result->conflicts++;
      g_warning ("%s:%" G_GUINT64_FORMAT ": event %s differs from its copy at"
                 " %s:%" G_GUINT64_FORMAT "; the one that sorts first is kept",
                 item->source->path, item->line, item->id,
                 existing->source->path, existing->line);
    }
  /* The smallest copy is kept even among copies with the same JSON: its
   * bytes take part in the rule against a copy that differs. */
  if (existing->hash != item->hash
      && read_new_copy_wins (item->ts, item->device, item->raw, item->length,
                             existing->ts, existing->device, existing->raw,
                             existing->length))
    {
      guint index;

      g_assert_true (g_ptr_array_find (run->batch, existing, &index));
      run->batch->pdata[index] = item;
      /* replace, not insert: the key must be the new item's id, as the
       * old one's is freed just below. */
      g_hash_table_replace (run->batch_ids, (gpointer) item->id, item);
      item_free (existing);
    }
  else
    item_free (item);
  return TRUE;
}

/* A copy with the same JSON as the stored event but smaller bytes: it
 * becomes the stored copy (same effect, nothing to re-apply). */
static gboolean
read_keep_smaller_copy (Run *run, Item *item, GError **error)
{
  return jsync_store_event_move (run->store, item->id, item->source->id,
                                 item->offset, item->length, item->line,
                                 item->hash, item->source->gen, item->raw,
                                 error);
}

/* A copy of a stored event read again in its own file: note where it now
 * is. */
static gboolean
read_relocate (Run *run, Item *item, gint64 stored_hash, gboolean own_reread,
               GError **error)
{
  if (own_reread && stored_hash == item->hash
      && !jsync_store_event_relocate (run->store, item->id, item->offset,
                                      item->length, item->line,
                                      item->source->gen, error))
    return FALSE;
  return TRUE;
}

/* The event (the copy that sorts first) is in a log again: no longer
 * lost.  A conflicting copy that sorts after it does not bring it back. */
static gboolean
read_found (Run *run, Item *item, GError **error)
{
  return run->lost_count == 0
         || jsync_store_lost_delete (run->store, item->id, error);
}

/* A conflicting copy that sorts before the stored one (of `stored_status`,
 * applied by `stored_applier` in `stored_stream`) is the event. */
static gboolean
read_replace_stored (Run *run, Item *item, int stored_status,
                     const char *stored_applier, const char *stored_stream,
                     GError **error)
{
  /* The new copy is the event: record it, and replay what changes. */
  if (stored_status == JSYNC_EVENT_APPLIED && stored_applier != NULL)
    {
      JsyncApplierInstance *old = jsync_store_get_applier (run->store,
                                                           stored_applier);

      if (old != NULL)
        apply_force_replay (run, old, old->plugin->desc->stream != NULL
                                          ? stored_stream : NULL);
    }
  if (item->applier != NULL)
    apply_force_replay (run, item->applier,
                        item->applier->plugin->desc->stream != NULL
                            ? item->stream : NULL);
  return record_event (run, item,
                       item->applier != NULL ? JSYNC_EVENT_APPLIED
                                             : JSYNC_EVENT_PENDING,
                       error);
}

/* A copy of an event id already recorded in the cache. */
static gboolean
read_duplicate_stored (Run *run, Item *item, sqlite3_stmt *row,
                       GError **error)
{
  gint64 stored_hash = sqlite3_column_int64 (row, JSYNC_LOOKUP_HASH);
  gint64 stored_ts = sqlite3_column_int64 (row, JSYNC_LOOKUP_TS);
  g_autofree char *stored_device = g_strdup (
      (const char *) sqlite3_column_text (row, JSYNC_LOOKUP_DEVICE));
  int stored_status = sqlite3_column_int (row, JSYNC_LOOKUP_STATUS);
  gint64 stored_source = sqlite3_column_int64 (row, JSYNC_LOOKUP_SOURCE);
  g_autofree char *stored_applier = g_strdup (
      (const char *) sqlite3_column_text (row, JSYNC_LOOKUP_APPLIER));
  g_autofree char *stored_stream = g_strdup (
      (const char *) sqlite3_column_text (row, JSYNC_LOOKUP_STREAM));
  g_autofree char *stored_raw = NULL;
  gsize stored_length = 0;
  gboolean own_reread = stored_source == item->source->id
                        && item->source->rereading;

  if (!read_relocate (run, item, stored_hash, own_reread, error))
    return FALSE;
  if (stored_hash == item->hash)
    {
      run->result->events_skipped++;
      return read_found (run, item, error);
    }
  if (item_get_raw (run, item, error) == NULL)
    return FALSE;

  stored_raw = record_load_raw (row, JSYNC_LOOKUP_RAW, &stored_length);
  if (read_same_json (stored_raw, stored_length, item->raw, item->length))
    {
      run->result->events_skipped++;
      if (!read_found (run, item, error))
        return FALSE;
      if (read_new_copy_wins (item->ts, item->device, item->raw, item->length,
                              stored_ts, stored_device, stored_raw,
                              stored_length))
        return read_keep_smaller_copy (run, item, error);
      /* Its own file, read again, still holds it (in other bytes): it is
       * seen in this generation, so not lost. */
      if (own_reread)
        return jsync_store_event_seen (run->store, item->id,
                                       item->source->gen, error);
      return TRUE;
    }
  run->result->conflicts++;
  g_warning ("%s:%" G_GUINT64_FORMAT ": event %s differs from the copy read"
             " before; the one that sorts first is kept",
             item->source->path, item->line, item->id);
  /* The stored copy stays the event.  When its own file, read again,
   * holds the id only in this other body, the event is in no log any more:
   * it stays lost, reported, and `jsync recover` writes it back, so that
   * every device keeps the copy that sorts first (docs/design.md "Lost
   * events"). */
  if (!read_new_copy_wins (item->ts, item->device, item->raw, item->length,
                           stored_ts, stored_device, stored_raw,
                           stored_length))
    return TRUE;

  return read_found (run, item, error)
         && read_replace_stored (run, item, stored_status, stored_applier,
                                 stored_stream, error);
}

/* --- Reading lines ------------------------------------------------------- */

/* A new event with no applier now: kept whole, as pending. */
static gboolean
read_keep_pending (Run *run, Item *item, GError **error)
{
  if (!record_event (run, item, JSYNC_EVENT_PENDING, error))
    return FALSE;
  g_debug ("%s:%" G_GUINT64_FORMAT ": no applier takes \"%s\": pending",
           item->source->path, item->line, item->type);
  return TRUE;
}

/* One complete line of a log, read and parsed by the prefetch thread. */
static gboolean
read_line (Run *run, Source *source, JsyncPrefetchRecord *record,
           GError **error)
{
  const JsyncLine *line = &record->line;
  sqlite3_stmt *lookup;
  Item *item, *existing;

  if (line->too_long)
    {
      g_autofree char *message = g_strdup_printf (
          "line of %" G_GUINT64_FORMAT " bytes exceeds max-line-bytes (%"
          G_GINT64_FORMAT "); its first %zu bytes are kept",
          line->full_length, run->context->max_line_bytes,
          line->length);

      return record_failure (run, source, line->line, line->offset,
                             line->full_length, NULL, line->data,
                             line->length, TRUE, message, error);
    }
  if (record->error != NULL)
    return record_failure (run, source, line->line, line->offset,
                           line->length, record->event.id, line->data,
                           line->length, FALSE, record->error->message,
                           error);

  /* A dictionary trained by the reading thread is written before the
   * first row packed with it (outside the batch's savepoints). */
  if (record->dict != NULL
      && !jsync_store_dict_save (run->store, record->dict, error))
    return FALSE;
  item = read_make_item (run, source, line, &record->event,
                         jsync_prefetch_record_steal_json (record),
                         record->hash,
                         jsync_prefetch_record_steal_data (record));
  item->packed_length = record->packed_length;
  item->packed = jsync_prefetch_record_steal_packed (record);
  existing = g_hash_table_lookup (run->batch_ids, item->id);
  if (existing != NULL)
    return read_duplicate_in_batch (run, existing, item, error);

  /* The batch's events are recorded when applied: adding their ids now
   * keeps the filter a superset of what is stored. */
  if (run->seen != NULL && !record_seen_add (run, item->id))
    goto new_event;
  if (!jsync_store_event_lookup (run->store, item->id, &lookup, error))
    {
      item_free (item);
      return FALSE;
    }
  if (lookup != NULL)
    {
      gboolean ok = read_duplicate_stored (run, item, lookup, error);

      jsync_store_reset (lookup);
      item_free (item);
      return ok;
    }

new_event:
  if (item->applier == NULL)
    {
      gboolean ok = read_keep_pending (run, item, error);

      item_free (item);
      return ok;
    }
  apply_add_to_batch (run, item);
  return TRUE;
}

/* A log that cannot be read now: reported, skipped this run, checkpoint
 * unmoved past what was read; the run goes on with the others. */
void
read_file_failed (Run *run, Source *source, const GError *why)
{
  g_warning ("%s: cannot be read: %s", source->path, why->message);
  run->result->files_failed++;
  jsync_result_add_error (run->result, source->path, 0, source->offset, NULL,
                          why->message);
}

/* The file opened (`st`: its stat then) is the one the scan checked, or
 * one changed or put in its place since (an append, a sync tool's replace)
 * that still holds the checkpoint's bytes; else it is skipped as failed,
 * to be checked again at the next run.  The identity recorded for the
 * file is `st`: the reader reads nothing past its size. */
static gboolean
read_check_opened (Run *run, Source *source, int fd, const struct stat *st)
{
  g_autoptr(GError) why = NULL;
  gint64 tail = 0;

  if (st->st_dev == source->st.st_dev && st->st_ino == source->st.st_ino
      && st->st_size == source->st.st_size
      && st->st_mtim.tv_sec == source->st.st_mtim.tv_sec
      && st->st_mtim.tv_nsec == source->st.st_mtim.tv_nsec)
    return TRUE;
  if (source->offset > 0
      && (!jsync_tail_hash (fd, source->offset, &tail, &why)
          || tail != source->tail_hash))
    {
      g_clear_error (&why);
      g_set_error (&why, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: replaced during this run by a file that differs"
                   " before its checkpoint; it is checked again at the next"
                   " run", source->abs);
      read_file_failed (run, source, why);
      return FALSE;
    }
  source->st = *st;
  return TRUE;
}

/* A log read to its end (from `start`): its identity is that of the file
 * read, and its checkpoint is written with the batch. */
static gboolean
read_reached_end (Run *run, Source *source, int fd, guint64 start,
                  GError **error)
{
  if (!jsync_tail_hash (fd, source->offset, &source->tail_hash, error))
    return FALSE;
  /* (At offset 0 there is nothing before to compare.) */
  if (source->limit != NULL
      && (source->offset != source->limit->offset
          || (source->offset > 0
              && source->tail_hash != source->limit->tail_hash)))
    {
      g_set_error (error, JSYNC_SYNC_LIMIT_MOVED, 0,
                   "%s: its bytes before %" G_GUINT64_FORMAT " changed while"
                   " it was read", source->path, source->limit->offset);
      return FALSE;
    }
  source->reached_end = TRUE;
  source->has_identity = TRUE;
  source->dev = source->st.st_dev;
  source->ino = source->st.st_ino;
  source->size = source->st.st_size;
  source->mtime = (gint64) source->st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
                  + source->st.st_mtim.tv_nsec;
  source_mark_dirty (run, source);
  if (source->offset > start)
    {
      source->had_bytes = TRUE;
      g_ptr_array_add (run->result->files_processed, g_strdup (source->path));
    }
  run->bytes_done += source->st.st_size > (off_t) start
                         ? (guint64) source->st.st_size - start : 0;
  return TRUE;
}

/* Read a log's new complete lines (file number `file` of the prefetch),
 * flushing batches as they fill. */
gboolean
read_source (Run *run, Source *source, JsyncPrefetch *prefetch,
             guint file, GError **error)
{
  g_autoptr(JsyncPrefetchRecord) opened = jsync_prefetch_next (prefetch);
  guint64 start = source->offset;
  int fd;

  if (opened->kind == JSYNC_PREFETCH_OPEN_FAILED)
    {
      read_file_failed (run, source, opened->error);
      return TRUE;
    }
  fd = opened->fd;
  if (!read_check_opened (run, source, fd, &opened->st))
    {
      jsync_prefetch_skip_file (prefetch, file);
      return TRUE;
    }
  if (!jsync_store_begin (run->store, error))
    return FALSE;
  /* The identity is written only once the file was read to its end. */
  source->has_identity = FALSE;
  for (;;)
    {
      g_autoptr(JsyncPrefetchRecord) record = jsync_prefetch_next (prefetch);

      if (record->kind == JSYNC_PREFETCH_READ_FAILED)
        {
          read_file_failed (run, source, record->error);
          return TRUE;
        }
      if (record->kind == JSYNC_PREFETCH_END)
        {
          /* Blank lines at the end move the checkpoint too. */
          source->offset = record->offset;
          source->line = record->lines;
          break;
        }
      if (!read_line (run, source, record, error))
        return FALSE;
      source->offset = record->offset;
      source->line = record->lines;
      source_mark_dirty (run, source);
      if (apply_batch_full (run))
        {
          if (!jsync_tail_hash (fd, source->offset, &source->tail_hash,
                                error))
            return FALSE;
          if (!apply_flush (run, error))
            return FALSE;
          run_progress (run, "read", run->bytes_done + source->offset - start,
                        run->bytes_total);
          if (run->stop)
            {
              jsync_prefetch_skip_file (prefetch, file);
              return TRUE;
            }
          if (!jsync_store_begin (run->store, error))
            return FALSE;
        }
    }
  return read_reached_end (run, source, fd, start, error);
}
