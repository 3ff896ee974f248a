/* jsync-coordinator.c: the library API: open, sync, rebuild, reports. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <jsync/jsync.h>

#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-dump.h"
#include "jsync-result.h"
#include "jsync-sync.h"
#include "jsync-text.h"

/**
 * jsync_coordinator_remove_db_files:
 * Remove a SQLite file with its journal side files.
 */
void
jsync_coordinator_remove_db_files (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
}

/* Move a damaged cache aside as "<db>.corrupt" so a new one is built. */
static gboolean
coordinator_move_aside (const char *path, GError **error)
{
  g_autofree char *aside = g_strconcat (path, ".corrupt", NULL);

  jsync_coordinator_remove_db_files (aside);
  if (g_rename (path, aside) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: cannot move the damaged cache aside: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *side = g_strconcat (path, i == 0 ? "-wal" : "-shm", NULL);

      g_unlink (side);
    }
  return TRUE;
}

/* Open the live cache for a reader: no writer lock, nothing written (not
 * even a missing cache created), never waiting for a writer.  With no
 * cache yet, an empty one in memory stands in for it.  A damaged one, or
 * one of another core schema, is an error: moving it aside would take the
 * writer lock, and the next sync finds it as it opens it. */
static JsyncStore *
coordinator_open_reader (JsyncCoordinator *self, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean missing = FALSE;
  JsyncStore *store;

  store = jsync_store_open_read_only (
      self->db_path, jsync_config_get_lock_timeout (self->config), &missing,
      &local_error);
  if (store == NULL && missing)
    {
      g_message ("%s: no cache yet (nothing was synced): read as an empty"
                 " one", self->db_path);
      store = jsync_store_open_empty (error);
      if (store != NULL
          && !jsync_store_attach (store, self->registry,
                                  jsync_config_get_keyfile (self->config),
                                  FALSE, error))
        g_clear_pointer (&store, jsync_store_free);
      return store;
    }
  if (store == NULL)
    {
      if (g_error_matches (local_error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT))
        g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                     "%s (`jsync sync` moves it aside and rebuilds it from"
                     " the logs)", local_error->message);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!jsync_store_attach_read_only (store, self->registry, error))
    g_clear_pointer (&store, jsync_store_free);
  return store;
}

/* A rebuild's own folder "<db>.rebuild-XXXXXX", beside the cache (so the
 * swap is a rename on one file system), holding the file it builds.  Two
 * rebuilds at once each have theirs; each holds an flock on its folder
 * for as long as it builds, which is how a later rebuild tells the folder
 * of one that died (a crash, SIGKILL) from one still building. */
typedef struct
{
  char *dir;                    /* owned */
  char *db;                     /* owned: dir/cache.db */
  int fd;                       /* the folder, flocked */
} BuildDir;

static void
build_dir_remove (const char *dir)
{
  g_autofree char *db = g_build_filename (dir, "cache.db", NULL);

  jsync_coordinator_remove_db_files (db);
  g_rmdir (dir);
}

/* Remove the folders of rebuilds that are over (each unlocked). */
static void
build_dir_remove_stale (const char *db_path)
{
  g_autofree char *parent = g_path_get_dirname (db_path);
  g_autofree char *base = g_path_get_basename (db_path);
  g_autofree char *prefix = g_strconcat (base, ".rebuild-", NULL);
  g_autoptr(GDir) dir = g_dir_open (parent, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      int fd;

      if (!g_str_has_prefix (name, prefix))
        continue;
      path = g_build_filename (parent, name, NULL);
      fd = g_open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0)
        continue;
      /* Its rebuild holds the lock for as long as it builds. */
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        {
          g_debug ("%s: left by a rebuild that did not finish: removed",
                   path);
          build_dir_remove (path);
        }
      close (fd);
    }
}

static gboolean
build_dir_claim (BuildDir *build, const char *db_path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (db_path);

  build->fd = -1;
  if (g_mkdir_with_parents (parent, 0700) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: cannot create the folder: %s", parent,
                   g_strerror (errno));
      return FALSE;
    }
  /* Until its lock is taken, a new folder looks like one left by a
   * rebuild that is over, and another jsync may remove it: a folder found
   * removed once locked is given up for a new one. */
  for (;;)
    {
      g_autofree char *template = g_strconcat (db_path, ".rebuild-XXXXXX",
                                               NULL);
      struct stat st;
      int fd;

      if (g_mkdtemp_full (template, 0700) == NULL)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "%s: cannot make a folder to rebuild in: %s", template,
                       g_strerror (errno));
          return FALSE;
        }
      fd = g_open (template, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
      if (fd >= 0 && flock (fd, LOCK_EX) == 0 && fstat (fd, &st) == 0
          && st.st_nlink > 0)
        {
          build->fd = fd;
          build->dir = g_steal_pointer (&template);
          build->db = g_build_filename (build->dir, "cache.db", NULL);
          return TRUE;
        }
      if (fd < 0 && errno != ENOENT)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s",
                       template, g_strerror (errno));
          return FALSE;
        }
      if (fd >= 0)
        close (fd);
    }
}

/* Remove what is left of the folder (nothing, after a swap) and free. */
static void
build_dir_release (BuildDir *build)
{
  if (build->dir != NULL)
    build_dir_remove (build->dir);
  if (build->fd >= 0)
    close (build->fd);
  g_free (build->dir);
  g_free (build->db);
}

/* Open the live cache, moving a damaged one aside, and attach appliers;
 * the caller holds the writer lock. */
static JsyncStore *
coordinator_open_store_locked (JsyncCoordinator *self, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  JsyncStore *store;

  store = jsync_store_open_full (self->db_path, FALSE,
                                 jsync_config_get_lock_timeout (self->config),
                                 &local_error);
  if (store == NULL
      && g_error_matches (local_error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT))
    {
      g_warning ("%s; it is moved aside to %s.corrupt and rebuilt from the logs",
                 local_error->message, self->db_path);
      g_clear_error (&local_error);
      if (coordinator_move_aside (self->db_path, &local_error))
        store = jsync_store_open_full (
            self->db_path, FALSE, jsync_config_get_lock_timeout (self->config),
            &local_error);
    }
  if (store != NULL
      && !jsync_store_attach (store, self->registry,
                              jsync_config_get_keyfile (self->config), FALSE,
                              &local_error))
    g_clear_pointer (&store, jsync_store_free);
  if (store != NULL)
    {
      GStatBuf st;

      /* Under the lock, so this is the file just opened. */
      if (g_stat (self->db_path, &st) == 0)
        {
          self->db_dev = st.st_dev;
          self->db_ino = st.st_ino;
        }
    }
  if (store == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return store;
}

/* The same, taking the writer lock for the time it takes. */
static JsyncStore *
coordinator_open_store (JsyncCoordinator *self, GError **error)
{
  JsyncStore *store;
  int lock;

  if (self->read_only)
    return coordinator_open_reader (self, error);
  lock = jsync_store_lock (self->db_path,
                           jsync_config_get_lock_timeout (self->config), error);
  if (lock < 0)
    return NULL;
  store = coordinator_open_store_locked (self, error);
  /* What a killed rebuild left is removed by the next jsync to run. */
  build_dir_remove_stale (self->db_path);
  jsync_store_unlock (lock);
  return store;
}

/* Whether the cache's path still names the file open. */
static gboolean
coordinator_store_is_live (JsyncCoordinator *self)
{
  GStatBuf st;

  return self->store != NULL && g_stat (self->db_path, &st) == 0
         && (guint64) st.st_dev == self->db_dev
         && (guint64) st.st_ino == self->db_ino;
}

/**
 * jsync_coordinator_lock_live_store:
 * Check that the coordinator may write (`what` names the command for the
 * error), take the writer lock, then make sure the store open is the live cache:
 * a rebuild in another process may have swapped a new file in since it was
 * opened, and a writer must never write into the file it replaced (what it
 * wrote would be in no cache a later run opens).  Returns the lock's file
 * descriptor (jsync_store_unlock), or -1 with error set.
 */
int
jsync_coordinator_lock_live_store (JsyncCoordinator *self, const char *what,
                                   GError **error)
{
  JsyncStore *store;
  int lock;

  if (!jsync_coordinator_check_writable (self, what, error))
    return -1;
  lock = jsync_store_lock (self->db_path,
                           jsync_config_get_lock_timeout (self->config),
                           error);
  if (lock < 0 || coordinator_store_is_live (self))
    return lock;
  store = coordinator_open_store_locked (self, error);
  if (store == NULL)
    {
      jsync_store_unlock (lock);
      return -1;
    }
  jsync_store_free (self->store);
  self->store = store;
  return lock;
}

/**
 * jsync_coordinator_reopen_if_replaced:
 * Reopen the cache if its path now names another file than the one open.
 */
gboolean
jsync_coordinator_reopen_if_replaced (JsyncCoordinator *self,
                                      gboolean *reopened, GError **error)
{
  JsyncStore *store;

  *reopened = FALSE;
  if (coordinator_store_is_live (self))
    return TRUE;
  store = coordinator_open_store (self, error);
  if (store == NULL)
    return FALSE;
  jsync_store_free (self->store);
  self->store = store;
  *reopened = TRUE;
  return TRUE;
}

/**
 * jsync_coordinator_get_store:
 * The live cache, opened again when a rebuild swapped in the new file but
 * could not open it (an I/O error): each run starts from a usable cache.
 */
JsyncStore *
jsync_coordinator_get_store (JsyncCoordinator *self, GError **error)
{
  if (self->store == NULL)
    self->store = coordinator_open_store (self, error);
  return self->store;
}

/* Check the data folder, load the plugins, open the cache (for reading
 * only with read_only). */
static JsyncCoordinator *
coordinator_open (JsyncConfig *config, gboolean read_only, GError **error)
{
  g_autoptr(JsyncCoordinator) self = g_new0 (JsyncCoordinator, 1);
  g_auto(GStrv) path = jsync_config_dup_plugin_path (config);
  g_auto(GStrv) required = jsync_config_dup_required_plugin_dirs (config);
  g_auto(GStrv) disabled = jsync_config_dup_disabled_appliers (config);
  const char *data_dir = jsync_config_get_data_dir (config);
  char *real;

  self->config = config;
  self->read_only = read_only;
  real = realpath (data_dir, NULL);
  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "data folder %s: %s", data_dir,
                   real == NULL ? g_strerror (errno) : "not a folder");
      free (real);
      return NULL;
    }
  self->data_dir = g_strdup (real);
  free (real);
  if (access (self->data_dir, R_OK | X_OK) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "data folder %s: %s", data_dir, g_strerror (errno));
      return NULL;
    }
  for (guint i = 0; required[i] != NULL; i++)
    if (!g_file_test (required[i], G_FILE_TEST_IS_DIR))
      {
        g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                     "plugins folder %s: no such folder", required[i]);
        return NULL;
      }

  /* Intern the appliers' error domain from the core's copy of its name
   * before any module does from its own: GLib keeps the first pointer it
   * is given, and a module's is gone once the module is unloaded. */
  (void) JSYNC_APPLIER_ERROR;
  self->registry = jsync_registry_new ();
  if (!jsync_registry_load (self->registry, (const char *const *) path,
                            (const char *const *) disabled, error))
    return NULL;
  self->db_path = g_strdup (jsync_config_get_database (config));
  self->store = coordinator_open_store (self, error);
  if (self->store == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * jsync_coordinator_open:
 * Check the data folder, load the plugins, open the cache.
 */
JsyncCoordinator *
jsync_coordinator_open (JsyncConfig *config, GError **error)
{
  return coordinator_open (config, FALSE, error);
}

/**
 * jsync_coordinator_open_read_only:
 * The same for the reports alone, reading the cache without the writer
 * lock and writing nothing.
 */
JsyncCoordinator *
jsync_coordinator_open_read_only (JsyncConfig *config, GError **error)
{
  return coordinator_open (config, TRUE, error);
}

/**
 * jsync_coordinator_check_writable:
 * FALSE with JSYNC_ERROR_USAGE on a coordinator opened for reading only:
 * every entry point that writes starts with it.
 */
gboolean
jsync_coordinator_check_writable (JsyncCoordinator *self, const char *what,
                                  GError **error)
{
  if (!self->read_only)
    return TRUE;
  g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
               "%s: the cache was opened for reading only", what);
  return FALSE;
}

void
jsync_coordinator_free (JsyncCoordinator *self)
{
  if (self == NULL)
    return;
  jsync_store_free (self->store);
  if (self->registry != NULL)
    jsync_registry_free (self->registry);
  g_free (self->data_dir);
  g_free (self->db_path);
  g_free (self);
}

void
jsync_coordinator_set_progress (JsyncCoordinator *self, JsyncProgressFunc func,
                                gpointer user_data)
{
  self->progress = func;
  self->progress_data = user_data;
}

/**
 * jsync_coordinator_report:
 * Hand the progress function where a run is.
 */
void
jsync_coordinator_report (JsyncCoordinator *self, const char *phase,
                          guint64 bytes_done, guint64 bytes_total,
                          guint64 events_done)
{
  JsyncProgress progress = {
    .phase = phase,
    .bytes_done = bytes_done,
    .bytes_total = bytes_total,
    .events_done = events_done,
  };

  if (self->progress != NULL)
    self->progress (&progress, self->progress_data);
}

/* The sync engine's progress, handed on as the coordinator's. */
static void
coordinator_sync_progress (const char *phase, guint64 bytes_done,
                           guint64 bytes_total, guint64 events_done,
                           gpointer user_data)
{
  jsync_coordinator_report (user_data, phase, bytes_done, bytes_total,
                            events_done);
}

/**
 * jsync_coordinator_sync_context:
 * What the sync engine takes from this coordinator for one call.
 */
void
jsync_coordinator_sync_context (JsyncCoordinator *self,
                                JsyncSyncContext *context)
{
  *context = (JsyncSyncContext) {
    .data_dir = self->data_dir,
    .registry = self->registry,
    .batch_size = jsync_config_get_batch_size (self->config),
    .max_line_bytes = jsync_config_get_max_line_bytes (self->config),
    .ignore = jsync_config_get_ignore (self->config),
    .strict = jsync_config_get_strict (self->config),
    .progress = coordinator_sync_progress,
    .progress_data = self,
  };
}

/* A corruption that SQLite reported mid-run in the live cache: the file is
 * moved aside now, under the writer lock, so that the next run (or the next
 * call: the store is reopened) rebuilds it from the logs; the error says
 * so.  Nothing to do for other errors. */
static void
coordinator_set_aside_if_corrupt (JsyncCoordinator *self, GError **error)
{
  g_autoptr(GError) move_error = NULL;
  char *message;
  int lock;

  if (error == NULL || !g_error_matches (*error, JSYNC_ERROR,
                                         JSYNC_ERROR_CORRUPT)
      || self->store == NULL)
    return;
  /* A reader never waits for a writer: if one holds the lock, it meets
   * the damage itself, or the next sync does. */
  lock = jsync_store_lock (self->db_path,
                           self->read_only
                             ? 0 : jsync_config_get_lock_timeout (self->config),
                           &move_error);
  if (lock < 0)
    return;
  g_clear_pointer (&self->store, jsync_store_free);
  if (coordinator_move_aside (self->db_path, &move_error))
    message = g_strdup_printf ("%s; the cache is moved aside to %s.corrupt"
                               " and the next run rebuilds it from the logs",
                               (*error)->message, self->db_path);
  else
    message = g_strdup_printf ("%s; %s", (*error)->message,
                               move_error->message);
  jsync_store_unlock (lock);
  g_free ((*error)->message);
  (*error)->message = message;
}

/**
 * jsync_coordinator_run_locked:
 * Run a step on the live cache under the writer lock, timed into a new
 * result.
 */
JsyncResult *
jsync_coordinator_run_locked (JsyncCoordinator *self, const char *what,
                              JsyncLiveStep step, gboolean set_aside,
                              GError **error)
{
  g_autoptr(JsyncResult) result = jsync_result_new ();
  gint64 start = g_get_monotonic_time ();
  JsyncSyncContext context;
  gboolean ok;
  int lock;

  lock = jsync_coordinator_lock_live_store (self, what, error);
  if (lock < 0)
    return NULL;
  jsync_coordinator_sync_context (self, &context);
  ok = step (&context, self->store, result, error);
  jsync_store_unlock (lock);
  if (!ok)
    {
      /* After the unlock: moving the cache aside takes the lock again. */
      if (set_aside)
        coordinator_set_aside_if_corrupt (self, error);
      return NULL;
    }
  jsync_result_finish (result, start);
  return g_steal_pointer (&result);
}

static gboolean
coordinator_sync_step (const JsyncSyncContext *context, JsyncStore *store,
                       JsyncResult *result, GError **error)
{
  return jsync_sync_run (context, store, FALSE, NULL, result, error);
}

/**
 * jsync_coordinator_sync:
 * Bring the cache up to date with the logs, under the writer lock.
 */
JsyncResult *
jsync_coordinator_sync (JsyncCoordinator *self, GError **error)
{
  return jsync_coordinator_run_locked (self, "sync", coordinator_sync_step,
                                       TRUE, error);
}

/**
 * jsync_coordinator_build:
 * Build a new cache file completely from the logs; FALSE leaves the live
 * one as is.
 */
gboolean
jsync_coordinator_build (JsyncCoordinator *self, const char *path,
                         GHashTable *limits, JsyncBuildHook before_finish, JsyncResult *result,
                         GError **error)
{
  JsyncSyncContext context;
  JsyncStore *store;
  gboolean ok;

  jsync_coordinator_sync_context (self, &context);
  /* First with no journal: a third of the time goes to writing one, and
   * only an event an applier rejects needs it.  If one is met, the file
   * is thrown away and built again with a journal. */
  for (gboolean journal = FALSE;; journal = TRUE)
    {
      g_autoptr(GError) local_error = NULL;

      jsync_coordinator_remove_db_files (path);
      store = jsync_store_open (path, TRUE, error);
      if (store == NULL)
        return FALSE;
      store->unjournaled = !journal;
      ok = (journal
            || jsync_store_exec (store, "PRAGMA journal_mode = OFF;",
                                 &local_error))
           && jsync_store_attach (store, self->registry,
                                  jsync_config_get_keyfile (self->config),
                                  TRUE, &local_error)
           && jsync_sync_run (&context, store, TRUE, limits, result,
                               &local_error)
           && (before_finish == NULL
               || before_finish (self, store, result, &local_error));
      if (ok || journal
          || !g_error_matches (local_error, jsync_store_needs_journal_quark (),
                               0))
        {
          if (!ok)
            g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }
      g_debug ("%s: %s", path, local_error->message);
      jsync_store_free (store);
      jsync_result_clear (result);
    }
  jsync_coordinator_report (self, "index", 0, 0,
                            result->events_applied + result->events_skipped
                              + result->events_failed);
  ok = ok && jsync_store_begin (store, error);
  for (guint i = 0; ok && i < store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;
      g_autoptr(GError) local_error = NULL;

      if (desc->finish_rebuild != NULL
          && !desc->finish_rebuild (applier->state, &local_error))
        {
          g_autofree char *what = g_strconcat (applier->plugin->path,
                                               ": finish_rebuild", NULL);

          /* The cache failing (I/O, full disk) is said as such. */
          if (jsync_store_check_callback (store, what, local_error, error))
            g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED, "%s: %s",
                         what,
                         local_error != NULL ? local_error->message
                                             : "failed");
          ok = FALSE;
        }
    }
  ok = ok && jsync_store_commit (store, error);
  jsync_store_free (store);
  if (!ok)
    jsync_coordinator_remove_db_files (path);
  return ok;
}

/* Under the writer lock: bring the built file up to date with what the
 * logs received while it was built (an ordinary sync of it), so that it
 * holds at least what the live cache holds from the logs. */
static gboolean
coordinator_catch_up_build (JsyncCoordinator *self, const char *path,
                            JsyncResult *result, GError **error)
{
  JsyncStore *store = jsync_store_open_full (
      path, FALSE, jsync_config_get_lock_timeout (self->config), error);
  JsyncProgressFunc progress = self->progress;
  JsyncSyncContext context;
  gboolean ok;

  if (store == NULL)
    return FALSE;
  jsync_coordinator_sync_context (self, &context);
  /* Part of the "swap" phase: no scan and read phases of its own. */
  self->progress = NULL;
  ok = jsync_store_attach (store, self->registry,
                           jsync_config_get_keyfile (self->config), FALSE,
                           error)
       && jsync_sync_run (&context, store, FALSE, NULL, result, error)
       /* Its write-ahead log folded into the file, which alone is
        * swapped in (not left to the close). */
       && jsync_store_exec (store, "PRAGMA journal_mode = DELETE;", error);
  self->progress = progress;
  jsync_store_free (store);
  return ok;
}

/* A run that could not read every log must not be swapped in: it would
 * lack their events. */
static gboolean
coordinator_check_complete (JsyncResult *result, GError **error)
{
  g_autoptr(GString) files = NULL;

  if (result->files_failed == 0)
    return TRUE;
  files = g_string_new (NULL);
  for (guint i = 0; i < result->errors->len; i++)
    {
      JsyncEventError *failure = result->errors->pdata[i];

      if (failure->line != 0)
        continue;
      g_string_append_printf (files, "%s%s", files->len > 0 ? ", " : "",
                              failure->file);
    }
  g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
               "rebuild: %" G_GUINT64_FORMAT " log(s) could not be read (%s);"
               " the cache was left as it was",
               result->files_failed, files->str);
  return FALSE;
}

/* Swap the built file in, under the writer lock.  The cache's path names
 * a whole cache at every instant: the new file replaces the old one in
 * one rename.  The old cache is then gone (a reader that has it open goes
 * on reading it until it closes it), unless `keep` asks to keep it as
 * "<db>.previous": then it gets that second name first.  Otherwise a
 * "<db>.previous" left by an earlier rebuild goes too, once the new cache
 * is in place. */
static gboolean
coordinator_swap (JsyncCoordinator *self, const char *building, gboolean keep,
                  GError **error)
{
  g_autofree char *previous = g_strconcat (self->db_path, ".previous", NULL);
  g_autofree char *wal = g_strconcat (self->db_path, "-wal", NULL);
  g_autofree char *previous_wal = g_strconcat (previous, "-wal", NULL);
  g_autofree char *shm = g_strconcat (self->db_path, "-shm", NULL);

  g_clear_pointer (&self->store, jsync_store_free);
  if (keep)
    {
      jsync_coordinator_remove_db_files (previous);
      /* Where hard links are not to be had, a rename: for that instant
       * the path names no cache, and a reader opening it then finds
       * none. */
      if (link (self->db_path, previous) != 0 && errno != ENOENT
          && g_rename (self->db_path, previous) != 0 && errno != ENOENT)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "%s: cannot keep it as %s: %s", self->db_path,
                       previous, g_strerror (errno));
          return FALSE;
        }
    }
  /* A WAL that closing could not checkpoint (a reader still had the old
   * cache open) holds committed writes of the old cache: it goes with it,
   * before the new file takes the path, which must never pair with
   * another file's WAL.  A reader holding them open keeps its own. */
  if (!keep || g_rename (wal, previous_wal) != 0)
    g_unlink (wal);
  g_unlink (shm);
  if (g_rename (building, self->db_path) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", building,
                   g_strerror (errno));
      return FALSE;
    }
  if (!keep)
    jsync_coordinator_remove_db_files (previous);
  return TRUE;
}

/**
 * jsync_coordinator_rebuild:
 * Build a new cache from every log in a folder of its own, without the
 * writer lock; then, under the lock, catch it up with what the logs
 * received meanwhile and swap it in.  A rebuild that could not read every
 * log leaves the live cache as it is.
 */
JsyncResult *
jsync_coordinator_rebuild (JsyncCoordinator *self, GError **error)
{
  g_autoptr(JsyncResult) result = jsync_result_new ();
  BuildDir build = { 0 };
  gint64 start = g_get_monotonic_time ();
  guint64 lost;
  gboolean keep;
  gboolean ok;
  int lock;

  if (!jsync_coordinator_check_writable (self, "rebuild", error)
      || jsync_coordinator_get_store (self, error) == NULL)
    return NULL;
  /* The old cache is the only place left of lost events: it is kept
   * whatever keep-previous says. */
  if (!jsync_store_count_of (self->store, JSYNC_COUNT_LOST, &lost, error))
    return NULL;
  keep = lost > 0 || jsync_config_get_keep_previous (self->config);
  if (lost > 0)
    g_warning ("rebuild: %" G_GUINT64_FORMAT " event(s) applied before are in"
               " no log any more (see `jsync status`); the new cache will not"
               " have them, the old one is kept as %s.previous", lost,
               self->db_path);
  ok = build_dir_claim (&build, self->db_path, error)
       && jsync_coordinator_build (self, build.db, NULL, NULL, result, error)
       && coordinator_check_complete (result, error);
  if (ok)
    {
      jsync_coordinator_report (self, "swap", 0, 0,
                                result->events_applied + result->events_skipped
                                  + result->events_failed);
      lock = jsync_store_lock (self->db_path,
                               jsync_config_get_lock_timeout (self->config),
                               error);
      ok = lock >= 0;
    }
  if (ok)
    {
      ok = coordinator_catch_up_build (self, build.db, result, error)
           && coordinator_check_complete (result, error)
           && coordinator_swap (self, build.db, keep, error);
      if (ok)
        self->store = coordinator_open_store_locked (self, error);
      jsync_store_unlock (lock);
      ok = ok && self->store != NULL;
    }
  build_dir_release (&build);
  if (!ok)
    return NULL;
  jsync_result_finish (result, start);
  return g_steal_pointer (&result);
}

/* The event counts of `status --json`: their keys, in the order of the
 * object and of JsyncCount. */
static const char *const coordinator_count_keys[] = {
  [JSYNC_COUNT_APPLIED] = "eventsApplied",
  [JSYNC_COUNT_PENDING] = "eventsPending",
  [JSYNC_COUNT_FAILED] = "eventsFailed",
};

/* An applier of `status --json` and `plugins --json`: its name and version
 * (the caller adds the rest). */
static json_object *
coordinator_applier_json (const JsyncApplierDesc *desc)
{
  json_object *item = json_object_new_object ();

  json_object_object_add (item, "name", json_object_new_string (desc->name));
  json_object_object_add (item, "version",
                          json_object_new_string (desc->version));
  return item;
}

/**
 * jsync_coordinator_status:
 * Files and checkpoints, event counts, failed, pending and lost events,
 * appliers with their row counts.
 */
/* The appliers of `status --json` with the rows of each table; NULL with
 * the error when a count cannot be read. */
static json_object *
coordinator_status_appliers (JsyncStore *store, GError **error)
{
  json_object *appliers = json_object_new_array ();

  for (guint i = 0; i < store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;
      json_object *item = coordinator_applier_json (desc);
      json_object *tables = json_object_new_object ();

      json_object_object_add (item, "schemaVersion",
                              json_object_new_int (desc->schema_version));
      json_object_object_add (item, "rows", tables);
      json_object_array_add (appliers, item);
      for (guint t = 0; desc->tables[t] != NULL; t++)
        {
          g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM \"%s\"",
                                                  desc->tables[t]);
          gint64 rows;

          if (!jsync_store_query_int (store, sql, &rows, error))
            {
              json_object_put (appliers);
              return NULL;
            }
          json_object_object_add (tables, desc->tables[t],
                                  json_object_new_int64 (rows));
        }
    }
  return appliers;
}

/**
 * jsync_coordinator_status:
 * Files and checkpoints, event counts, failed, pending and lost events,
 * appliers with their row counts.
 */
json_object *
jsync_coordinator_status (JsyncCoordinator *self, GError **error)
{
  json_object *status = json_object_new_object ();
  JsyncStore *store = jsync_coordinator_get_store (self, error);
  guint64 counts[G_N_ELEMENTS (coordinator_count_keys)];
  json_object *files = NULL, *pending = NULL, *lost = NULL, *appliers = NULL;
  gboolean began = FALSE;
  gboolean ok;

  /* One snapshot for every figure, whatever a writer commits meanwhile. */
  ok = store != NULL && jsync_store_begin_read (store, &began, error)
       && (files = jsync_store_report_rows (store, JSYNC_REPORT_SOURCES,
                                            error)) != NULL
       && (pending = jsync_store_report_rows (store,
                                              JSYNC_REPORT_PENDING_TYPES,
                                              error)) != NULL
       && (lost = jsync_store_report_rows (store, JSYNC_REPORT_LOST,
                                           error)) != NULL;
  for (JsyncCount c = 0; ok && c < G_N_ELEMENTS (coordinator_count_keys); c++)
    ok = jsync_store_count_of (store, c, &counts[c], error);
  ok = ok && (appliers = coordinator_status_appliers (store, error)) != NULL;
  if (store != NULL)
    jsync_store_end_read (store, began);
  if (!ok)
    {
      json_object_put (files);
      json_object_put (pending);
      json_object_put (lost);
      json_object_put (status);
      coordinator_set_aside_if_corrupt (self, error);
      return NULL;
    }
  json_object_object_add (status, "version", json_object_new_int (1));
  json_object_object_add (status, "command", json_object_new_string ("status"));
  json_object_object_add (status, "database",
                          jsync_json_new_text (self->db_path));
  json_object_object_add (status, "dataDir",
                          jsync_json_new_text (self->data_dir));
  json_object_object_add (status, "files", files);
  for (JsyncCount c = 0; c < G_N_ELEMENTS (coordinator_count_keys); c++)
    json_object_object_add (status, coordinator_count_keys[c],
                            json_object_new_int64 (counts[c]));
  json_object_object_add (status, "pendingTypes", pending);
  json_object_object_add (status, "lostEvents", lost);
  json_object_object_add (status, "appliers", appliers);
  return status;
}

/* A failure of `plugins --json`: {"path":path,"reason":reason}, added to
 * `failures`; a NULL path is null. */
static void
coordinator_add_failure (json_object *failures, const char *path,
                         const char *reason)
{
  json_object *item = json_object_new_object ();

  json_object_object_add (item, "path", jsync_json_new_text (path));
  json_object_object_add (item, "reason", jsync_json_new_text (reason));
  json_object_array_add (failures, item);
}

static json_object *
coordinator_strv_to_json (const char *const *strv)
{
  json_object *array = json_object_new_array ();

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_object_array_add (array, jsync_json_new_text (strv[i]));
  return array;
}

/**
 * jsync_coordinator_plugins:
 * The routing table, every loaded applier, and every load failure.
 */
json_object *
jsync_coordinator_plugins (JsyncCoordinator *self)
{
  json_object *json = json_object_new_object ();
  json_object *plugins = json_object_new_array ();
  json_object *failures = json_object_new_array ();
  g_auto(GStrv) path = jsync_config_dup_plugin_path (self->config);
  GPtrArray *loaded = jsync_registry_get_plugins (self->registry);
  GPtrArray *failed = jsync_registry_get_failures (self->registry);
  GPtrArray *disabled = jsync_registry_get_disabled (self->registry);
  json_object *disabled_json = json_object_new_array ();

  json_object_object_add (json, "version", json_object_new_int (1));
  json_object_object_add (json, "command", json_object_new_string ("plugins"));
  json_object_object_add (json, "searchPath",
                          coordinator_strv_to_json ((const char *const *) path));
  for (guint i = 0; i < loaded->len; i++)
    {
      JsyncPlugin *plugin = loaded->pdata[i];
      const JsyncApplierDesc *desc = plugin->desc;
      json_object *item = coordinator_applier_json (desc);
      json_object *search = json_object_new_array ();

      json_object_object_add (item, "description",
                              desc->description
                                ? json_object_new_string (desc->description)
                                : NULL);
      json_object_object_add (item, "path", jsync_json_new_text (plugin->path));
      json_object_object_add (item, "prefixes",
                              coordinator_strv_to_json (desc->prefixes));
      json_object_object_add (item, "schemaVersion",
                              json_object_new_int (desc->schema_version));
      json_object_object_add (item, "tables",
                              coordinator_strv_to_json (desc->tables));
      for (guint s = 0; desc->search != NULL && desc->search[s].fts != NULL; s++)
        json_object_array_add (search,
                               json_object_new_string (desc->search[s].fts));
      json_object_object_add (item, "search", search);
      json_object_object_add (item, "active",
                              json_object_new_boolean (
                                  self->store != NULL
                                  && jsync_store_get_applier (self->store,
                                                           desc->name) != NULL));
      json_object_array_add (plugins, item);
    }
  json_object_object_add (json, "plugins", plugins);
  for (guint i = 0; i < failed->len; i++)
    {
      JsyncLoadFailure *failure = failed->pdata[i];

      coordinator_add_failure (failures, failure->path, failure->reason);
    }
  /* Appliers whose init failed: no file of their own to name. */
  for (guint i = 0; self->store != NULL && i < self->store->init_failures->len;
       i++)
    coordinator_add_failure (failures, NULL,
                             self->store->init_failures->pdata[i]);
  json_object_object_add (json, "failures", failures);
  for (guint i = 0; i < disabled->len; i++)
    json_object_array_add (disabled_json,
                           jsync_json_new_text (disabled->pdata[i]));
  json_object_object_add (json, "disabled", disabled_json);
  return json;
}

/**
 * jsync_coordinator_dump:
 * Every table of the attached appliers in canonical form.
 */
json_object *
jsync_coordinator_dump (JsyncCoordinator *self, GError **error)
{
  json_object *dump = json_object_new_object ();
  gboolean began = FALSE;

  if (jsync_coordinator_get_store (self, error) == NULL
      || !jsync_store_begin_read (self->store, &began, error))
    {
      json_object_put (dump);
      return NULL;
    }
  for (guint i = 0; i < self->store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = self->store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;

      for (guint t = 0; desc->tables[t] != NULL; t++)
        {
          json_object *rows = jsync_dump_table (self->store->db, desc->tables[t],
                                                error);

          if (rows == NULL)
            {
              jsync_store_end_read (self->store, began);
              json_object_put (dump);
              return NULL;
            }
          json_object_object_add (dump, desc->tables[t], rows);
        }
    }
  jsync_store_end_read (self->store, began);
  return dump;
}
