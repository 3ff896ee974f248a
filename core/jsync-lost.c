/* jsync-lost.c: lost events (docs/design.md "Lost events").
 *
 * Events last seen in a log that is gone, or that its new content no
 * longer holds, unless another log still holds a copy with the same JSON;
 * what the scan could not look into is unseen, not gone.
 */
#include <string.h>

#include "jsync-sync-private.h"

/* --- Copies elsewhere ---------------------------------------------------- */

/* Is the line a copy of the stored event `id`, with the same JSON? */
static gboolean
lost_same_as_stored (Run *run, const char *id, const JsyncLine *line,
                     gint64 hash, gboolean *same, GError **error)
{
  sqlite3_stmt *row;
  gsize length;
  g_autofree char *stored = NULL;

  *same = FALSE;
  if (!jsync_store_event_lookup (run->store, id, &row, error))
    return FALSE;
  if (row == NULL)
    return TRUE;
  stored = record_load_raw (row, JSYNC_LOOKUP_RAW, &length);
  *same = sqlite3_column_int64 (row, JSYNC_LOOKUP_HASH) == hash
          || read_same_json (stored, length, line->data, line->length);
  jsync_store_reset (row);
  return TRUE;
}

/* Is `other` a log that sync tools name like `path` (its conflict copies,
 * or the log they copy): the same folder and the same name up to the first
 * " (", " [" or ".sync-conflict-"? */
static gboolean
lost_is_sibling (const char *path, const char *other)
{
  static const char *const marks[] = { " (", " [", ".sync-conflict-",
                                       ".jsonl" };
  const char *name = strrchr (path, '/');
  gsize stem = strlen (path);

  name = name != NULL ? name + 1 : path;
  for (guint i = 0; i < G_N_ELEMENTS (marks); i++)
    {
      const char *mark = strstr (name, marks[i]);

      if (mark != NULL)
        stem = MIN (stem, (gsize) (mark - path));
    }
  return strcmp (path, other) != 0 && strncmp (path, other, stem) == 0
         && strchr (other + stem, '/') == NULL;
}

static gint
lost_compare_ids (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* A copy of a lost candidate found in another log. */
typedef struct
{
  Source *source;           /* borrowed */
  guint64 offset;
  guint64 line;
  gint64 hash;
  char *raw;                /* owned */
  gsize length;
} Found;

static void
found_free (gpointer data)
{
  Found *found = data;

  if (found == NULL)
    return;
  g_free (found->raw);
  g_free (found);
}

/* The logs that may hold copies of events last seen in `from`, in @others,
 * sorted (a log may be there twice): those that hold events of the same
 * streams, and those that sync tools name like `from`. */
static gboolean
lost_logs_to_search (Run *run, Source *from, GArray *others, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  if (!jsync_store_sources_sharing_streams (run->store, from->id, others,
                                            error))
    return FALSE;
  g_hash_table_iter_init (&iter, run->sources);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Source *sibling = value;

      if (sibling->known && lost_is_sibling (from->path, sibling->path))
        g_array_append_val (others, sibling->id);
    }
  g_array_sort (others, lost_compare_ids);
  return TRUE;
}

/* Look in `source` for copies of the ids in `wanted` with the same JSON as
 * the stored event; keep the smallest copy of each found. */
static gboolean
lost_search_log (Run *run, Source *source, GHashTable *wanted, GError **error)
{
  g_autoptr(JsyncReader) reader = NULL;
  JsyncLine line;

  /* One that cannot be read now holds nothing we can see. */
  reader = jsync_reader_open_below (run->context->data_dir, source->path,
                                    0, 0,
                                    run->context->max_line_bytes, NULL);
  while (reader != NULL && jsync_reader_next (reader, &line, NULL))
    {
      JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
      json_object *json;
      gint64 hash;
      gboolean same = FALSE;
      gpointer id = NULL;
      Found *found = NULL;

      if (line.too_long
          || (json = jsync_event_parse_json (line.data, line.length,
                                             NULL)) == NULL)
        continue;
      if (jsync_event_read_envelope (json, &event, NULL))
        g_hash_table_lookup_extended (wanted, event.id, &id,
                                      (gpointer *) &found);
      json_object_put (json);
      if (id == NULL)
        continue;
      hash = jsync_hash (line.data, line.length);
      if (found != NULL
          && (found->hash == hash
              || !read_new_copy_wins (0, "", line.data, line.length, 0, "",
                                      found->raw, found->length)))
        continue;
      if (!lost_same_as_stored (run, id, &line, hash, &same, error))
        return FALSE;
      if (!same)
        continue;
      found = g_new0 (Found, 1);
      found->source = source;
      found->offset = line.offset;
      found->line = line.line;
      found->hash = hash;
      found->raw = g_memdup2 (line.data, line.length);
      found->length = line.length;
      g_hash_table_insert (wanted, id, found);
    }
  return TRUE;
}

/* Move each record of `wanted` to its smallest copy left. */
static gboolean
lost_move_found (Run *run, GHashTable *wanted, GError **error)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Found *found = value;

      if (found != NULL
          && !jsync_store_event_move (run->store, key, found->source->id,
                                      found->offset, found->length,
                                      found->line, found->hash,
                                      found->source->gen, found->raw, error))
        return FALSE;
    }
  return TRUE;
}

/* Lost candidates (`ids`, last seen in `from`) that another present log
 * still holds, with the same JSON, are not lost: their record moves to
 * the smallest such copy (the rule's choice among what is left) and they
 * leave `ids`.
 * The logs looked in: those that sync tools name like `from` (a conflict
 * copy read before the log it copies, then deleted, loses nothing), and
 * those that hold events of the same streams.  Costs a read of those logs,
 * as a late event costs its stream. */
static gboolean
lost_find_elsewhere (Run *run, Source *from, GPtrArray *ids, GError **error)
{
  /* id → Found* (NULL until a copy is found) */
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal, NULL,
                                                        found_free);
  g_autoptr(GArray) others = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (!lost_logs_to_search (run, from, others, error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_insert (wanted, ids->pdata[i], NULL);

  for (guint i = 0; i < others->len; i++)
    {
      Source *source = source_by_id (run, g_array_index (others, gint64, i));

      /* Each log once (a sibling may hold events of the stream too). */
      if (source == NULL || !source->present
          || (i > 0 && g_array_index (others, gint64, i - 1) == source->id))
        continue;
      if (!lost_search_log (run, source, wanted, error))
        return FALSE;
    }

  if (!lost_move_found (run, wanted, error))
    return FALSE;
  /* Keep the ids still lost, in their order. */
  for (guint i = ids->len; i > 0; i--)
    if (g_hash_table_lookup (wanted, ids->pdata[i - 1]) != NULL)
      g_ptr_array_remove_index (ids, i - 1);
  return TRUE;
}

/* --- Lost events --------------------------------------------------------- */

/* Events last seen in a file being read again that its new content no
 * longer holds: lost (docs/design.md "Lost events"). */
gboolean
lost_find (Run *run, Source *source, gboolean whole_file, GError **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (!jsync_store_event_ids_of_source (run->store, source->id,
                                        whole_file ? -1 : source->gen, ids,
                                        error))
    return FALSE;
  if (ids->len > 0 && !lost_find_elsewhere (run, source, ids, error))
    return FALSE;
  if (ids->len == 0)
    return TRUE;
  for (guint i = 0; i < ids->len; i++)
    if (!jsync_store_lost_insert (run->store, source->path, ids->pdata[i],
                                  error))
      return FALSE;
  run->lost_count += ids->len;
  /* Reported at the end of the run (lost_report): a copy read later in
   * the run (a conflict copy merged into another log, say) is not lost. */
  {
    GPtrArray *found = g_hash_table_lookup (run->lost_found, source->path);

    if (found == NULL)
      {
        found = g_ptr_array_new_with_free_func (g_free);
        g_hash_table_insert (run->lost_found, g_strdup (source->path), found);
      }
    g_ptr_array_extend_and_steal (found, g_steal_pointer (&ids));
  }
  return TRUE;
}

/* Report the events found lost in this run that no log gave back since. */
void
lost_report (Run *run)
{
  g_autoptr(GList) paths = g_list_sort (g_hash_table_get_keys (run->lost_found),
                                        (GCompareFunc) strcmp);

  for (GList *l = paths; l != NULL; l = l->next)
    {
      GPtrArray *found = g_hash_table_lookup (run->lost_found, l->data);
      GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < found->len; i++)
        if (jsync_store_lost_contains (run->store, l->data, found->pdata[i]))
          g_ptr_array_add (ids, g_strdup (found->pdata[i]));
      if (ids->len == 0)
        {
          g_ptr_array_unref (ids);
          continue;
        }
      g_warning ("%s: %u event(s) applied from this file are no longer in it;"
                 " the cache keeps their effects (a rebuild would drop them)",
                 (const char *) l->data, ids->len);
      jsync_result_add_lost (run->result, l->data, ids);
    }
}

/* --- Unseen folders ------------------------------------------------------ */

/* Is `path` the unseen entry `unseen` or under it? */
static gboolean
lost_is_under (const char *path, const char *unseen)
{
  gsize length = strlen (unseen);

  return length == 0
         || (strncmp (path, unseen, length) == 0
             && (path[length] == '\0' || path[length] == G_DIR_SEPARATOR));
}

/* Does the scan's view of `path` lack something it could not look into? */
static gboolean
lost_is_unseen (Run *run, const char *path)
{
  for (guint i = 0; run->unseen != NULL && i < run->unseen->len; i++)
    if (lost_is_under (path, ((ScanUnseen *) run->unseen->pdata[i])->path))
      return TRUE;
  return FALSE;
}

/* What the scan could not look into fails the run (exit 3), as a log that
 * cannot be read does; each is reported once. */
static void
lost_report_unseen (Run *run)
{
  for (guint i = 0; run->unseen != NULL && i < run->unseen->len; i++)
    {
      ScanUnseen *unseen = run->unseen->pdata[i];
      const char *path = *unseen->path != '\0' ? unseen->path : ".";

      g_warning ("%s: %s; the logs under it are looked for again at the"
                 " next run", path, unseen->message);
      run->result->files_failed++;
      jsync_result_add_error (run->result, path, 0, 0, NULL,
                              unseen->message);
    }
}

/* Files gone since the last run: their events are lost (kept, reported).
 * A file the scan did not see because it could not look into its folder
 * is not gone. */
gboolean
lost_mark_missing (Run *run, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  lost_report_unseen (run);
  g_hash_table_iter_init (&iter, run->sources);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Source *source = value;

      if (source->present || !source->known || source->missing
          || lost_is_unseen (run, source->path))
        continue;
      if (!jsync_store_begin (run->store, error)
          || !lost_find (run, source, TRUE, error))
        return FALSE;
      source->missing = TRUE;
      source->has_identity = FALSE;
      if (!source_write_checkpoint (run, source, error))
        return FALSE;
    }
  return jsync_store_commit (run->store, error);
}
