/* jsync-watch.c: `jsync watch`: follow the data folder and sync after each
 * burst of changes.
 *
 * One GFileMonitor per folder (hidden folders and `ignore` globs skipped,
 * as sync skips them), added as folders appear and dropped as they go.  A
 * change to a *.jsonl name, or a folder appearing or going, marks a sync
 * as due; the sync runs WATCH_QUIET_MS after the last change, or at most
 * WATCH_MAX_DELAY_MS after the first one while changes keep coming.  Each
 * sync is an ordinary jsync_coordinator_sync(), under the writer lock for
 * that run alone, preceded by a check that the cache file is still the
 * one open (a `jsync rebuild` elsewhere swaps a new one in).  A failed
 * sync that the caller lets go on is retried after a delay that doubles
 * up to WATCH_MAX_RETRY_MS. */
#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <jsync/jsync.h>

#include "jsync-config.h"
#include "jsync-coordinator-private.h"

#define WATCH_QUIET_MS 200
#define WATCH_MAX_DELAY_MS 1000
#define WATCH_RATE_LIMIT_MS 100
#define WATCH_FIRST_RETRY_MS 1000
#define WATCH_MAX_RETRY_MS 30000

typedef struct
{
  JsyncCoordinator *coordinator;  /* borrowed */
  JsyncWatchFunc func;
  gpointer func_data;
  GMainContext *context;        /* owned: the thread-default one */
  GFile *root;                  /* owned: the data folder */
  GHashTable *folders;          /* owned: relative path ("" for the data
                                 * folder) → WatchFolder* (owned) */
  GPtrArray *dropped;           /* owned: monitors of dropped folders, freed
                                 * outside their own signal handlers */
  GSource *timer;               /* owned, nullable: the due sync */
  gint64 first_change;          /* µs, monotonic; 0 when no sync is due */
  gint64 last_change;
  gint64 not_before;            /* µs: no sync before (retry back-off) */
  guint retry_ms;
  GError *error;                /* owned, nullable: why watching stopped */
  gint stopping;                /* atomic */
} Watch;

typedef struct
{
  Watch *watch;                 /* borrowed */
  GFileMonitor *monitor;        /* owned */
  gulong handler;
} WatchFolder;

/* The running watch of each coordinator is reached by stop_watch from any
 * thread. */
G_LOCK_DEFINE_STATIC (watch_running);

static void watch_add_tree (Watch *w, const char *relative);

static void
watch_folder_free (gpointer data)
{
  WatchFolder *folder = data;

  g_signal_handler_disconnect (folder->monitor, folder->handler);
  g_file_monitor_cancel (folder->monitor);
  g_ptr_array_add (folder->watch->dropped, folder->monitor);
  g_free (folder);
}

/* --- Scheduling --------------------------------------------------------- */

static gboolean watch_timer_cb (gpointer data);

static void
watch_arm (Watch *w, gint64 delay_us)
{
  if (w->timer != NULL)
    {
      g_source_destroy (w->timer);
      g_source_unref (w->timer);
    }
  w->timer = g_timeout_source_new ((guint) MAX (0, (delay_us + 999) / 1000));
  g_source_set_callback (w->timer, watch_timer_cb, w, NULL);
  g_source_attach (w->timer, w->context);
}

/* Something sync reads changed: a sync is due. */
static void
watch_changed (Watch *w)
{
  gint64 now = g_get_monotonic_time ();

  if (w->first_change == 0)
    w->first_change = now;
  w->last_change = now;
  if (w->timer == NULL)
    watch_arm (w, MAX (WATCH_QUIET_MS * 1000, w->not_before - now));
}

static void
watch_stop (Watch *w)
{
  g_atomic_int_set (&w->stopping, TRUE);
  g_main_context_wakeup (w->context);
}

static void
watch_sync (Watch *w)
{
  JsyncCoordinator *c = w->coordinator;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean reopened = FALSE;
  gboolean go_on;

  w->first_change = 0;
  g_ptr_array_set_size (w->dropped, 0);
  if (jsync_coordinator_reopen_if_replaced (c, &reopened, &error))
    {
      if (reopened)
        g_message ("%s was replaced (a rebuild?): reopened", c->db_path);
      result = jsync_coordinator_sync (c, &error);
    }
  go_on = w->func != NULL ? w->func (result, error, w->func_data)
                          : result != NULL;
  if (!go_on)
    {
      if (error != NULL)
        w->error = g_steal_pointer (&error);
      watch_stop (w);
      return;
    }
  if (result == NULL)
    {
      w->not_before = g_get_monotonic_time () + w->retry_ms * (gint64) 1000;
      w->retry_ms = MIN (w->retry_ms * 2, WATCH_MAX_RETRY_MS);
      watch_changed (w);
      return;
    }
  w->not_before = 0;
  w->retry_ms = WATCH_FIRST_RETRY_MS;
  /* A rebuild that swapped its file in during this sync: this sync went
   * to the old file; the next one reads from the new file's checkpoints. */
  if (!jsync_coordinator_reopen_if_replaced (c, &reopened, &error))
    {
      g_warning ("%s", error->message);
      reopened = TRUE;
    }
  if (reopened && w->timer == NULL)
    {
      w->first_change = w->last_change = g_get_monotonic_time ();
      watch_arm (w, 0);
    }
}

static gboolean
watch_timer_cb (gpointer data)
{
  Watch *w = data;
  gint64 now = g_get_monotonic_time ();
  gint64 due = MIN (w->last_change + WATCH_QUIET_MS * 1000,
                    w->first_change + WATCH_MAX_DELAY_MS * 1000);

  g_clear_pointer (&w->timer, g_source_unref);
  due = MAX (due, w->not_before);
  if (w->first_change == 0)
    return G_SOURCE_REMOVE;
  if (now < due)
    watch_arm (w, due - now);
  else
    watch_sync (w);
  return G_SOURCE_REMOVE;
}

/* --- Folders and names ---------------------------------------------------- */

static gboolean
watch_is_ignored (Watch *w, const char *relative, const char *name)
{
  const char *const *globs = jsync_config_get_ignore (w->coordinator->config);

  if (name[0] == '.')
    return TRUE;
  for (guint i = 0; globs[i] != NULL; i++)
    if (g_pattern_match_simple (globs[i], relative)
        || g_pattern_match_simple (globs[i], name))
      return TRUE;
  return FALSE;
}

/* The name part of a relative path. */
static const char *
watch_base_name (const char *relative)
{
  const char *slash = strrchr (relative, '/');

  return slash != NULL ? slash + 1 : relative;
}

/* A name sync would read, were it a regular file. */
static gboolean
watch_is_log (Watch *w, const char *relative)
{
  const char *name = watch_base_name (relative);

  return g_str_has_suffix (name, ".jsonl")
         && !watch_is_ignored (w, relative, name);
}

/* Drop the monitors of `relative` and every folder below it. */
static gboolean
watch_drop_tree (Watch *w, const char *relative)
{
  g_autofree char *prefix = g_strconcat (relative, "/", NULL);
  GHashTableIter iter;
  gpointer key;
  gboolean dropped = FALSE;

  g_hash_table_iter_init (&iter, w->folders);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (strcmp (key, relative) == 0 || g_str_has_prefix (key, prefix))
      {
        g_debug ("watch: %s: no longer watched", (const char *) key);
        g_hash_table_iter_remove (&iter);
        dropped = TRUE;
      }
  return dropped;
}

/* `relative` is gone (deleted, or moved away). */
static void
watch_gone (Watch *w, const char *relative)
{
  if ((*relative != '\0' && watch_drop_tree (w, relative))
      || watch_is_log (w, relative) || *relative == '\0')
    watch_changed (w);
}

/* `relative` appeared (made, or moved in). */
static void
watch_appeared (Watch *w, const char *relative)
{
  g_autofree char *path = g_build_filename (w->coordinator->data_dir, relative,
                                            NULL);
  GStatBuf st;

  if (g_lstat (path, &st) == 0 && S_ISDIR (st.st_mode))
    {
      if (watch_is_ignored (w, relative, watch_base_name (relative)))
        return;
      watch_add_tree (w, relative);
      watch_changed (w);
    }
  else if (watch_is_log (w, relative))
    watch_changed (w);
}

static void
watch_on_event (GFileMonitor *monitor, GFile *file, GFile *other,
                GFileMonitorEvent event, gpointer data)
{
  Watch *w = ((WatchFolder *) data)->watch;
  g_autofree char *relative = g_file_get_relative_path (w->root, file);
  g_autofree char *other_relative = NULL;

  /* Events about the data folder itself (deleted, moved) have no relative
   * path: the sync that follows says what is wrong. */
  if (relative == NULL)
    relative = g_strdup ("");
  switch (event)
    {
    case G_FILE_MONITOR_EVENT_CHANGED:
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
    case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
      if (watch_is_log (w, relative))
        watch_changed (w);
      break;
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
      watch_appeared (w, relative);
      break;
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      watch_gone (w, relative);
      break;
    case G_FILE_MONITOR_EVENT_RENAMED:
      watch_gone (w, relative);
      other_relative = other != NULL ? g_file_get_relative_path (w->root, other)
                                     : NULL;
      if (other_relative != NULL)
        watch_appeared (w, other_relative);
      break;
    case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
    case G_FILE_MONITOR_EVENT_UNMOUNTED:
    case G_FILE_MONITOR_EVENT_MOVED:
    default:
      break;
    }
}

/* Watch the folder `relative` and every folder below it that sync reads. */
static void
watch_add_tree (Watch *w, const char *relative)
{
  g_autofree char *path = g_build_filename (w->coordinator->data_dir, relative,
                                            NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  WatchFolder *folder;
  GFileMonitor *monitor;
  const char *name;

  if (g_hash_table_contains (w->folders, relative))
    return;
  monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL,
                                      &error);
  if (monitor == NULL)
    {
      g_warning ("%s: not watched: %s", *relative ? relative : path,
                 error->message);
      return;
    }
  g_file_monitor_set_rate_limit (monitor, WATCH_RATE_LIMIT_MS);
  folder = g_new0 (WatchFolder, 1);
  folder->watch = w;
  folder->monitor = monitor;
  folder->handler = g_signal_connect (monitor, "changed",
                                      G_CALLBACK (watch_on_event), folder);
  g_hash_table_insert (w->folders, g_strdup (relative), folder);
  g_debug ("watch: %s: watched", *relative ? relative : path);

  /* Listed after the monitor is in place, so a folder made meanwhile is
   * seen either here or as an event (adding is idempotent). */
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = *relative ? g_build_filename (relative, name, NULL)
                                         : g_strdup (name);
      g_autofree char *child_path = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (!watch_is_ignored (w, child, name)
          && g_lstat (child_path, &st) == 0 && S_ISDIR (st.st_mode))
        watch_add_tree (w, child);
    }
}

/* --- The API ---------------------------------------------------------------- */

/**
 * jsync_coordinator_watch:
 * Sync now and after every burst of changes until stopped; iterates the
 * thread-default main context meanwhile.
 */
gboolean
jsync_coordinator_watch (JsyncCoordinator *self, JsyncWatchFunc func,
                         gpointer user_data, GError **error)
{
  Watch *w;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!jsync_coordinator_check_writable (self, "watch", error))
    return FALSE;
  G_LOCK (watch_running);
  if (self->watch != NULL)
    {
      G_UNLOCK (watch_running);
      g_set_error_literal (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                           "this coordinator is already watching");
      return FALSE;
    }
  w = g_new0 (Watch, 1);
  self->watch = w;
  G_UNLOCK (watch_running);

  w->coordinator = self;
  w->func = func;
  w->func_data = user_data;
  w->context = g_main_context_ref_thread_default ();
  w->root = g_file_new_for_path (self->data_dir);
  w->folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      watch_folder_free);
  w->dropped = g_ptr_array_new_with_free_func (g_object_unref);
  w->retry_ms = WATCH_FIRST_RETRY_MS;

  watch_add_tree (w, "");
  if (!g_hash_table_contains (w->folders, ""))
    g_set_error (&w->error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                 "data folder %s: cannot be watched", self->data_dir);
  else
    {
      /* The first sync, once the monitors are in place. */
      w->first_change = w->last_change = g_get_monotonic_time ();
      watch_arm (w, 0);
      while (!g_atomic_int_get (&w->stopping))
        g_main_context_iteration (w->context, TRUE);
    }

  G_LOCK (watch_running);
  self->watch = NULL;
  G_UNLOCK (watch_running);
  if (w->timer != NULL)
    {
      g_source_destroy (w->timer);
      g_source_unref (w->timer);
    }
  g_hash_table_destroy (w->folders);
  g_ptr_array_unref (w->dropped);
  g_object_unref (w->root);
  g_main_context_unref (w->context);
  ok = w->error == NULL;
  if (!ok)
    g_propagate_error (error, w->error);
  g_free (w);
  return ok;
}

/**
 * jsync_coordinator_stop_watch:
 * Make a running jsync_coordinator_watch() return after the sync in hand.
 */
void
jsync_coordinator_stop_watch (JsyncCoordinator *self)
{
  g_return_if_fail (self != NULL);

  G_LOCK (watch_running);
  if (self->watch != NULL)
    watch_stop (self->watch);
  G_UNLOCK (watch_running);
}
