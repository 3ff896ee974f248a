/* test-faults.c: I/O faults (issue 3, "Reliability", item 2), through the
 * library API in this process.
 *
 * A test VFS wraps SQLite's default one and is registered as the default
 * before the library opens any cache.  Its file methods fail the Nth call
 * of xRead, xWrite, xTruncate, xSync or xLock (once, or from the Nth call
 * on: a full disk), or open the cache read-only.  For every N up to the
 * number of calls a fault-free run makes, a sync (and a rebuild) runs with
 * the fault, and must either fail cleanly (NULL, a JSYNC_ERROR that maps to
 * exit status 3 and names the cache) or succeed with everything written.
 * Then, faults off: the cache passes PRAGMA integrity_check, no checkpoint
 * is past an event the cache does not hold, and the next sync ends equal to
 * a fresh reference cache (canonical dump, FTS integrity-check rank=1).
 *
 * Beside the VFS: SQLITE_BUSY from another process holding a write
 * transaction, and logs that vanish, turn unreadable or are replaced while
 * a sync runs (from its progress callback).
 *
 * Each sweep prints its figures (calls, runs that met the fault, clean
 * failures) to the TAP log, and the total of faults injected at the end.
 * JSYNC_TEST_SCALE (0 < scale <= 1, default 1) sweeps every 1/scale-th N
 * only (from a random start), for the sanitizer and valgrind passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>
#include <sqlite3.h>

#include "jsync-config.h"
#include "jsync-test-core.h"

/* --- The fault VFS -------------------------------------------------------- */

typedef enum
{
  OP_READ,
  OP_WRITE,
  OP_TRUNCATE,
  OP_SYNC,
  OP_LOCK,
  OP_SHM_LOCK,                  /* taking a lock of the WAL index */
  OP_N
} FaultOp;

static const char *const op_names[OP_N] = {
  [OP_READ] = "xRead",
  [OP_WRITE] = "xWrite",
  [OP_TRUNCATE] = "xTruncate",
  [OP_SYNC] = "xSync",
  [OP_LOCK] = "xLock",
  [OP_SHM_LOCK] = "xShmLock",
};

typedef struct
{
  sqlite3_file base;
  sqlite3_file *real;           /* follows this struct in SQLite's buffer */
} FaultFile;

static struct
{
  sqlite3_vfs vfs;
  sqlite3_vfs *real;            /* borrowed: SQLite's default VFS */
  sqlite3_io_methods methods;
  guint64 calls[OP_N];          /* since the last fault_reset */
  FaultOp op;
  guint64 nth;                  /* 0: no fault */
  int code;
  gboolean persistent;          /* fail the Nth call and every later one */
  gboolean readonly;            /* open main databases read-only */
  guint64 fired;                /* faults injected since the last reset */
  guint64 injected;             /* faults injected by this process */
} fault;

/* Count a call; the code to return instead of making it, or SQLITE_OK. */
static int
fault_check (FaultOp op)
{
  guint64 n = ++fault.calls[op];

  if (fault.nth == 0 || op != fault.op)
    return SQLITE_OK;
  if (n == fault.nth || (fault.persistent && n > fault.nth))
    {
      fault.fired++;
      fault.injected++;
      return fault.code;
    }
  return SQLITE_OK;
}

static void
fault_reset (void)
{
  memset (fault.calls, 0, sizeof fault.calls);
  fault.nth = 0;
  fault.persistent = FALSE;
  fault.readonly = FALSE;
  fault.fired = 0;
}

static void
fault_arm (FaultOp op, guint64 nth, int code, gboolean persistent)
{
  fault_reset ();
  fault.op = op;
  fault.nth = nth;
  fault.code = code;
  fault.persistent = persistent;
}

#define REAL(file) (((FaultFile *) (file))->real)

static int
fault_close (sqlite3_file *file)
{
  return REAL (file)->pMethods->xClose (REAL (file));
}

static int
fault_read (sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset)
{
  int rc = fault_check (OP_READ);

  if (rc != SQLITE_OK)
    return rc;
  return REAL (file)->pMethods->xRead (REAL (file), buffer, amount, offset);
}

static int
fault_write (sqlite3_file *file, const void *buffer, int amount,
             sqlite3_int64 offset)
{
  int rc = fault_check (OP_WRITE);

  if (rc != SQLITE_OK)
    return rc;
  return REAL (file)->pMethods->xWrite (REAL (file), buffer, amount, offset);
}

static int
fault_truncate (sqlite3_file *file, sqlite3_int64 size)
{
  int rc = fault_check (OP_TRUNCATE);

  if (rc != SQLITE_OK)
    return rc;
  return REAL (file)->pMethods->xTruncate (REAL (file), size);
}

/* Counted and failed, but never passed on: no power is cut in this test,
 * and the sweeps make thousands of them. */
static int
fault_sync (sqlite3_file *file, int flags)
{
  return fault_check (OP_SYNC);
}

static int
fault_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
  return REAL (file)->pMethods->xFileSize (REAL (file), size);
}

static int
fault_lock (sqlite3_file *file, int level)
{
  int rc = fault_check (OP_LOCK);

  if (rc != SQLITE_OK)
    return rc;
  return REAL (file)->pMethods->xLock (REAL (file), level);
}

static int
fault_unlock (sqlite3_file *file, int level)
{
  return REAL (file)->pMethods->xUnlock (REAL (file), level);
}

static int
fault_check_reserved_lock (sqlite3_file *file, int *out)
{
  return REAL (file)->pMethods->xCheckReservedLock (REAL (file), out);
}

static int
fault_file_control (sqlite3_file *file, int op, void *arg)
{
  return REAL (file)->pMethods->xFileControl (REAL (file), op, arg);
}

static int
fault_sector_size (sqlite3_file *file)
{
  return REAL (file)->pMethods->xSectorSize (REAL (file));
}

static int
fault_device_characteristics (sqlite3_file *file)
{
  return REAL (file)->pMethods->xDeviceCharacteristics (REAL (file));
}

static int
fault_shm_map (sqlite3_file *file, int page, int size, int extend,
               void volatile **out)
{
  return REAL (file)->pMethods->xShmMap (REAL (file), page, size, extend, out);
}

static int
fault_shm_lock (sqlite3_file *file, int offset, int n, int flags)
{
  if (flags & SQLITE_SHM_LOCK)
    {
      int rc = fault_check (OP_SHM_LOCK);

      if (rc != SQLITE_OK)
        return rc;
    }
  return REAL (file)->pMethods->xShmLock (REAL (file), offset, n, flags);
}

static void
fault_shm_barrier (sqlite3_file *file)
{
  REAL (file)->pMethods->xShmBarrier (REAL (file));
}

static int
fault_shm_unmap (sqlite3_file *file, int delete_flag)
{
  return REAL (file)->pMethods->xShmUnmap (REAL (file), delete_flag);
}

static int
fault_fetch (sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
  return REAL (file)->pMethods->xFetch (REAL (file), offset, amount, out);
}

static int
fault_unfetch (sqlite3_file *file, sqlite3_int64 offset, void *page)
{
  return REAL (file)->pMethods->xUnfetch (REAL (file), offset, page);
}

static int
fault_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
            int *out_flags)
{
  FaultFile *wrapper = (FaultFile *) file;
  int rc;

  wrapper->real = (sqlite3_file *) (wrapper + 1);
  if (fault.readonly && (flags & SQLITE_OPEN_MAIN_DB))
    flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_READONLY;
  rc = fault.real->xOpen (fault.real, name, wrapper->real, flags, out_flags);
  file->pMethods = wrapper->real->pMethods != NULL ? &fault.methods : NULL;
  return rc;
}

static int
fault_delete (sqlite3_vfs *vfs, const char *name, int sync_dir)
{
  return fault.real->xDelete (fault.real, name, sync_dir);
}

static int
fault_access (sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
  return fault.real->xAccess (fault.real, name, flags, out);
}

static int
fault_full_pathname (sqlite3_vfs *vfs, const char *name, int size, char *out)
{
  return fault.real->xFullPathname (fault.real, name, size, out);
}

static void *
fault_dl_open (sqlite3_vfs *vfs, const char *name)
{
  return fault.real->xDlOpen (fault.real, name);
}

static void
fault_dl_error (sqlite3_vfs *vfs, int size, char *out)
{
  fault.real->xDlError (fault.real, size, out);
}

static void (*fault_dl_sym (sqlite3_vfs *vfs, void *handle,
                            const char *symbol)) (void)
{
  return fault.real->xDlSym (fault.real, handle, symbol);
}

static void
fault_dl_close (sqlite3_vfs *vfs, void *handle)
{
  fault.real->xDlClose (fault.real, handle);
}

static int
fault_randomness (sqlite3_vfs *vfs, int size, char *out)
{
  return fault.real->xRandomness (fault.real, size, out);
}

static int
fault_sleep (sqlite3_vfs *vfs, int microseconds)
{
  return fault.real->xSleep (fault.real, microseconds);
}

static int
fault_current_time (sqlite3_vfs *vfs, double *out)
{
  return fault.real->xCurrentTime (fault.real, out);
}

static int
fault_get_last_error (sqlite3_vfs *vfs, int size, char *out)
{
  return fault.real->xGetLastError (fault.real, size, out);
}

static int
fault_current_time_int64 (sqlite3_vfs *vfs, sqlite3_int64 *out)
{
  return fault.real->xCurrentTimeInt64 (fault.real, out);
}

/* Wrap the default VFS and make the wrapper the default. */
static void
fault_register (void)
{
  fault.real = sqlite3_vfs_find (NULL);
  g_assert_nonnull (fault.real);
  g_assert_cmpint (fault.real->iVersion, >=, 2);
  fault.vfs = (sqlite3_vfs) {
    .iVersion = 2,
    .szOsFile = sizeof (FaultFile) + fault.real->szOsFile,
    .mxPathname = fault.real->mxPathname,
    .zName = "jsync-faults",
    .xOpen = fault_open,
    .xDelete = fault_delete,
    .xAccess = fault_access,
    .xFullPathname = fault_full_pathname,
    .xDlOpen = fault_dl_open,
    .xDlError = fault_dl_error,
    .xDlSym = fault_dl_sym,
    .xDlClose = fault_dl_close,
    .xRandomness = fault_randomness,
    .xSleep = fault_sleep,
    .xCurrentTime = fault_current_time,
    .xGetLastError = fault_get_last_error,
    .xCurrentTimeInt64 = fault_current_time_int64,
  };
  fault.methods = (sqlite3_io_methods) {
    .iVersion = 3,
    .xClose = fault_close,
    .xRead = fault_read,
    .xWrite = fault_write,
    .xTruncate = fault_truncate,
    .xSync = fault_sync,
    .xFileSize = fault_file_size,
    .xLock = fault_lock,
    .xUnlock = fault_unlock,
    .xCheckReservedLock = fault_check_reserved_lock,
    .xFileControl = fault_file_control,
    .xSectorSize = fault_sector_size,
    .xDeviceCharacteristics = fault_device_characteristics,
    .xShmMap = fault_shm_map,
    .xShmLock = fault_shm_lock,
    .xShmBarrier = fault_shm_barrier,
    .xShmUnmap = fault_shm_unmap,
    .xFetch = fault_fetch,
    .xUnfetch = fault_unfetch,
  };
  g_assert_cmpint (sqlite3_vfs_register (&fault.vfs, 1), ==, SQLITE_OK);
}

/* --- Messages --------------------------------------------------------------- */

/* The library's warnings are expected here by the hundred (every fault
 * that reaches it is reported); they are kept, for the cases that check
 * one was given, rather than printed. */
static GPtrArray *warnings;

static void
log_collect (const char *domain, GLogLevelFlags level, const char *message,
             gpointer user_data)
{
  if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL))
    g_ptr_array_add (warnings, g_strdup (message));
}

static gboolean
log_is_fatal (const char *domain, GLogLevelFlags level, const char *message,
              gpointer user_data)
{
  return g_strcmp0 (domain, "jsync") != 0
         || (level & G_LOG_LEVEL_CRITICAL) != 0;
}

static gboolean
warned (const char *pattern)
{
  for (guint i = 0; i < warnings->len; i++)
    if (g_pattern_match_simple (pattern, warnings->pdata[i]))
      return TRUE;
  return FALSE;
}

/* --- Files -------------------------------------------------------------- */

static void
write_file (const char *path, const char *text, gssize length)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents_full (path, text, length, G_FILE_SET_CONTENTS_NONE,
                            0644, &error);
  g_assert_no_error (error);
}

static void
copy_file (const char *from, const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  g_file_get_contents (from, &text, &length, &error);
  g_assert_no_error (error);
  write_file (to, text, length);
}

/* Remove a cache with its side files. */
static void
remove_db (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal",
                                          ".lock", ".rebuild", ".previous",
                                          ".corrupt" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
}

/* --- The world: logs, a half-synced cache and the reference ---------------- */

/* Each case starts from the example data with the first half of every log
 * synced into base.db and the second half appended since.  ref is the
 * canonical dump of a cache built in one pass. */
typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: the data folder */
  char *base;                   /* owned: cache of the first halves */
  char *db;                     /* owned: the cache under test */
  char *keyfile;                /* owned: lock-timeout = 1 */
  char *ref;                    /* owned: canonical dump of everything */
  GPtrArray *files;             /* of char*: the logs, relative, sorted */
  guint64 events;               /* events in the logs */
  guint64 base_events;          /* of them, in base.db */
} World;

static JsyncConfig *
world_config (World *w, const char *db, guint batch_size)
{
  JsyncConfig *config = jsync_config_new ();
  g_autoptr(GError) error = NULL;

  jsync_config_load_file (config, w->keyfile, &error);
  g_assert_no_error (error);
  jsync_config_set_data_dir (config, w->data);
  jsync_config_set_database (config, db);
  jsync_config_set_batch_size (config, batch_size);
  return config;
}

/* Sync db with faults off, asserting a clean run; its result. */
static JsyncResult *
world_sync (World *w, const char *db, guint batch_size)
{
  g_autoptr(JsyncConfig) config = world_config (w, db, batch_size);

  return jtest_sync (config);
}

static char *
world_dump (World *w, const char *db)
{
  g_autoptr(JsyncConfig) config = world_config (w, db, 1000);
  json_object *dump = jtest_dump (config);
  char *text;

  text = g_strdup (json_object_to_json_string_ext (dump,
                                                   JSON_C_TO_STRING_PRETTY));
  json_object_put (dump);
  return text;
}

/* The example logs used, in the order a sync reads them: small ones of
 * both appliers, so that a sweep over every call stays within seconds. */
static const char *const world_logs[] = {
  "conversations/conv_3315d080-438a-42ea-a206-76f5ea2d220c.jsonl",
  "conversations/conv_c0ffee00-1234-4abc-9def-0123456789ab.jsonl",
  "conversations/conv_conv_1733412345678_k3j9x2m1q.jsonl",
  "conversations/conv_d9860e80-6c96-4f98-b409-2bb44ae820ba.jsonl",
  "conversations/conv_e84fd0a3-dd20-4e9d-8513-604e73bddf10.jsonl",
  "workspaces/ws_062b6f16-ea57-4128-a9d4-ea6c88f68e9b.jsonl",
  "workspaces/ws_5565156d-8d07-4eb2-a038-a8b662be0a74.jsonl",
  "workspaces/ws_9a1b7c3e-2f4d-4e8a-b6c5-1d2e3f4a5b6c.jsonl",
};

static void
world_setup (World *w, gconstpointer data)
{
  const char *src = jtest_nexus_dir ();
  g_autoptr(JsyncResult) result = NULL;
  g_autofree char *ref_db = NULL;

  jtest_dirs_make (NULL, "jsync-faults", "cache/work.db", &w->dir, &w->data,
                   &w->db);
  w->base = g_build_filename (w->dir, "base.db", NULL);
  w->keyfile = g_build_filename (w->dir, "jsync.conf", NULL);
  w->files = g_ptr_array_new_with_free_func (g_free);
  write_file (w->keyfile, "[jsync]\nlock-timeout = 1\n", -1);
  g_test_log_set_fatal_handler (log_is_fatal, NULL);

  /* The first halves. */
  for (guint i = 0; i < G_N_ELEMENTS (world_logs); i++)
    g_ptr_array_add (w->files, g_strdup (world_logs[i]));

  for (guint i = 0; i < w->files->len; i++)
    {
      g_autofree char *from = g_build_filename (src, w->files->pdata[i], NULL);
      g_autofree char *to = g_build_filename (w->data, w->files->pdata[i], NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;
      g_autoptr(GString) half = g_string_new (NULL);
      guint n;

      g_file_get_contents (from, &text, NULL, NULL);
      g_assert_nonnull (text);
      lines = g_strsplit (text, "\n", -1);
      n = g_strv_length (lines) - 1;
      for (guint l = 0; l < n / 2; l++)
        g_string_append_printf (half, "%s\n", lines[l]);
      if (half->len > 0)
        write_file (to, half->str, half->len);
    }
  result = world_sync (w, w->base, 1000);
  g_assert_cmpuint (result->events_failed, ==, 0);
  w->base_events = result->events_applied;
  g_clear_pointer (&result, jsync_result_free);

  /* The second halves, appended. */
  for (guint i = 0; i < w->files->len; i++)
    {
      g_autofree char *from = g_build_filename (src, w->files->pdata[i], NULL);
      g_autofree char *to = g_build_filename (w->data, w->files->pdata[i], NULL);

      copy_file (from, to);
    }
  ref_db = g_build_filename (w->dir, "ref", "ref.db", NULL);
  result = world_sync (w, ref_db, 1000000);
  g_assert_cmpuint (result->events_failed, ==, 0);
  w->events = result->events_applied;
  g_assert_cmpuint (w->base_events, >, 0);
  g_assert_cmpuint (w->events, >, w->base_events);
  w->ref = world_dump (w, ref_db);
  g_ptr_array_set_size (warnings, 0);
}

static void
world_teardown (World *w, gconstpointer data)
{
  fault_reset ();
  jtest_dirs_free (w->dir, w->data, w->db);
  g_free (w->base);
  g_free (w->keyfile);
  g_free (w->ref);
  g_ptr_array_unref (w->files);
}

/* --- Checks ------------------------------------------------------------- */

static sqlite3 *
open_plain (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE,
                                    fault.real->zName), ==, SQLITE_OK);
  return db;
}

/* PRAGMA integrity_check says "ok". */
static void
assert_integrity (const char *path)
{
  sqlite3 *db = open_plain (path);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* Every FTS index agrees with its table (rank = 1: SQLite 3.40 compares an
 * external-content index with its table only then). */
static void
assert_fts (const char *path)
{
  static const char *const fts[] = { "workspace_fts", "conversation_fts",
                                     "message_fts" };
  sqlite3 *db = open_plain (path);

  for (guint i = 0; i < G_N_ELEMENTS (fts); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", fts[i],
          fts[i]);
      char *message = NULL;
      int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

      g_assert_cmpstr (message, ==, NULL);
      g_assert_cmpint (rc, ==, SQLITE_OK);
    }
  sqlite3_close (db);
}

/* No checkpoint is past an event the cache does not hold: every line of a
 * log before its checkpoint is an applied event.  Returns how many events
 * the checkpoints cover. */
static guint64
assert_checkpoints (World *w, const char *path)
{
  sqlite3 *db = open_plain (path);
  sqlite3_stmt *sources = NULL;
  sqlite3_stmt *lookup = NULL;
  guint64 covered = 0;

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT path, offset, line FROM"
                                       " jsync_sources", -1, &sources, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT status FROM jsync_events"
                                       " WHERE id = ?1", -1, &lookup, NULL),
                   ==, SQLITE_OK);
  while (sqlite3_step (sources) == SQLITE_ROW)
    {
      const char *relative = (const char *) sqlite3_column_text (sources, 0);
      guint64 offset = sqlite3_column_int64 (sources, 1);
      guint64 lines = sqlite3_column_int64 (sources, 2);
      g_autofree char *file = g_build_filename (w->data, relative, NULL);
      g_autofree char *text = NULL;
      gsize length = 0;
      guint64 start = 0, line = 0;

      if (!g_file_get_contents (file, &text, &length, NULL))
        continue;               /* a log the case removed */
      g_assert_cmpuint (offset, <=, length);
      g_assert_true (offset == 0 || text[offset - 1] == '\n');
      while (start < offset)
        {
          const char *end = memchr (text + start, '\n', offset - start);
          g_autofree char *one = g_strndup (text + start, end - (text + start));
          json_object *json = NULL;
          json_object *id = NULL;
          int rc;

          line++;
          start = end - text + 1;
          if (g_strstrip (one)[0] == '\0')
            continue;
          json = json_tokener_parse (one);
          g_assert_nonnull (json);
          g_assert_true (json_object_object_get_ex (json, "id", &id));
          sqlite3_bind_text (lookup, 1, json_object_get_string (id), -1,
                             SQLITE_TRANSIENT);
          rc = sqlite3_step (lookup);
          if (rc != SQLITE_ROW)
            g_test_message ("%s:%" G_GUINT64_FORMAT ": event %s before the"
                            " checkpoint is not in the cache", relative,
                            line, json_object_get_string (id));
          g_assert_cmpint (rc, ==, SQLITE_ROW);
          g_assert_cmpint (sqlite3_column_int (lookup, 0), ==, 0);
          sqlite3_reset (lookup);
          json_object_put (json);
          covered++;
        }
      g_assert_cmpuint (line, ==, lines);
    }
  sqlite3_finalize (sources);
  sqlite3_finalize (lookup);
  sqlite3_close (db);
  return covered;
}

/* The cache equals the reference. */
static void
assert_reference (World *w, const char *path)
{
  g_autofree char *dump = world_dump (w, path);

  g_assert_cmpstr (dump, ==, w->ref);
  assert_fts (path);
}

/* An error that stopped a run: the library's domain, exit status 3, and a
 * message that names `what` (the cache, or a log). */
static void
assert_clean_error (const GError *error, const char *what)
{
  g_assert_nonnull (error);
  g_assert_cmpstr (g_quark_to_string (error->domain), ==,
                   g_quark_to_string (JSYNC_ERROR));
  g_assert_cmpint (jsync_error_exit_status (error), ==, JSYNC_EXIT_ENVIRONMENT);
  if (strstr (error->message, what) == NULL)
    g_test_message ("error without \"%s\": %s", what, error->message);
  g_assert_nonnull (strstr (error->message, what));
}

/* The next sync, faults off, succeeds and ends equal to the reference;
 * with `complete` (the run before said it succeeded) it has nothing to do,
 * which shows nothing was lost. */
static void
assert_next_sync_reaches_reference (World *w, gboolean complete)
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, 1000);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) next = NULL;
  g_autoptr(GError) error = NULL;
  json_object *dump;

  fault_reset ();
  coordinator = jtest_open (config);
  next = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_true (next->success);
  g_assert_cmpuint (next->events_failed, ==, 0);
  if (complete)
    {
      g_assert_cmpuint (next->events_applied, ==, 0);
      g_assert_cmpuint (next->files_processed->len, ==, 0);
    }
  dump = jsync_coordinator_dump (coordinator, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_to_json_string_ext (dump,
                                                   JSON_C_TO_STRING_PRETTY),
                   ==, w->ref);
  json_object_put (dump);
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  g_assert_cmpuint (assert_checkpoints (w, w->db), ==, w->events);
  assert_fts (w->db);
}

/* After a run under a fault, with faults off: the cache is sound, its
 * checkpoints hold (all of them when the run said it succeeded), and the
 * next sync reaches the reference. */
static void
assert_recovers (World *w, gboolean complete)
{
  guint64 covered;

  fault_reset ();
  assert_integrity (w->db);
  covered = assert_checkpoints (w, w->db);
  if (complete)
    g_assert_cmpuint (covered, ==, w->events);
  assert_next_sync_reaches_reference (w, complete);
}

/* --- Sweeps ------------------------------------------------------------- */

typedef enum
{
  RUN_SYNC,                     /* sync base.db (half) with the fault */
  RUN_REBUILD,                  /* sync base.db, then rebuild it with the
                                 * fault (the old cache's WAL still holds
                                 * the sync's writes) */
} RunKind;

/* What one faulted run did. */
typedef struct
{
  guint64 fired;                /* faults before the run returned */
  guint64 fired_closing;        /* faults while the cache was closed */
  gboolean failed;              /* open, sync or rebuild returned NULL */
} Outcome;

/* Events per batch: small, so a sync commits several times. */
#define SWEEP_BATCH 16

/* One run of `kind` over a fresh copy of its cache, with the fault armed
 * by the caller through `arm` (NULL: none); then the checks. */
static void
sweep_run (World *w, RunKind kind, FaultOp op, guint64 nth, int code,
           gboolean persistent, Outcome *outcome)
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  /* Every other rebuild keeps the old cache: both ways of the swap. */
  gboolean keep = kind == RUN_REBUILD && nth % 2 == 1;

  jsync_config_set_keep_previous (config, keep);
  fault_reset ();
  remove_db (w->db);
  copy_file (w->base, w->db);
  if (kind == RUN_SYNC)
    fault_arm (op, nth, code, persistent);
  coordinator = jsync_coordinator_open (config, &error);
  if (coordinator != NULL)
    {
      if (kind == RUN_REBUILD)
        {
          g_autoptr(JsyncResult) synced = NULL;

          synced = jsync_coordinator_sync (coordinator, &error);
          g_assert_no_error (error);
          fault_arm (op, nth, code, persistent);
          result = jsync_coordinator_rebuild (coordinator, &error);
        }
      else
        result = jsync_coordinator_sync (coordinator, &error);
    }
  outcome->fired = fault.fired;
  outcome->failed = result == NULL;
  if (g_test_verbose ())
    {
      for (guint i = 0; i < warnings->len; i++)
        g_test_message ("%s N=%" G_GUINT64_FORMAT " warning: %s",
                        op_names[op], nth, (char *) warnings->pdata[i]);
      if (error != NULL)
        g_test_message ("%s N=%" G_GUINT64_FORMAT " error: %s", op_names[op],
                        nth, error->message);
    }
  /* A fault of the disk is never taken for a damaged cache or a broken
   * applier. */
  g_assert_false (warned ("*moved aside*"));
  g_assert_false (warned ("*init failed*"));
  g_ptr_array_set_size (warnings, 0);
  if (result == NULL)
    {
      /* It says what failed: the cache, and SQLite's reason. */
      assert_clean_error (error, "work.db");
      if (strstr (error->message, sqlite3_errstr (code)) == NULL)
        g_test_message ("%s N=%" G_GUINT64_FORMAT ": %s", op_names[op], nth,
                        error->message);
      g_assert_nonnull (strstr (error->message, sqlite3_errstr (code)));
      g_assert_cmpint (error->code, ==, (code & 0xff) == SQLITE_BUSY
                                          ? JSYNC_ERROR_LOCKED
                                          : JSYNC_ERROR_IO);
    }
  else
    {
      /* Faults of the cache are never events that failed. */
      g_assert_no_error (error);
      g_assert_cmpuint (result->events_failed, ==, 0);
      g_assert_cmpuint (result->files_failed, ==, 0);
      g_assert_true (result->success);
    }

  if (kind == RUN_REBUILD && coordinator != NULL)
    {
      /* The same coordinator goes on: the next run recovers. */
      g_autoptr(JsyncResult) again = NULL;
      g_autoptr(GError) again_error = NULL;

      fault_reset ();
      again = jsync_coordinator_sync (coordinator, &again_error);
      g_assert_no_error (again_error);
      g_assert_nonnull (again);
      g_assert_true (again->success);
    }
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  /* A rebuild's fault is disarmed before the cache is closed (above). */
  outcome->fired_closing = kind == RUN_SYNC ? fault.fired - outcome->fired : 0;
  fault.nth = 0;
  if (kind == RUN_REBUILD && result != NULL)
    {
      /* The old cache is kept whole beside the new one, or gone with its
       * side files. */
      g_autofree char *previous = g_strconcat (w->db, ".previous", NULL);
      g_autofree char *previous_wal = g_strconcat (previous, "-wal", NULL);

      fault_reset ();
      if (keep)
        {
          assert_integrity (previous);
          g_assert_cmpuint (assert_checkpoints (w, previous), ==, w->events);
          assert_reference (w, previous);
        }
      else
        {
          g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));
          g_assert_false (g_file_test (previous_wal, G_FILE_TEST_EXISTS));
        }
    }
  assert_recovers (w, result != NULL);
}

/* Count the calls a fault-free run makes. */
static void
sweep_count (World *w, RunKind kind, guint64 calls[OP_N])
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  remove_db (w->db);
  copy_file (w->base, w->db);
  fault_reset ();
  coordinator = jtest_open (config);
  if (kind == RUN_REBUILD)
    {
      g_autoptr(JsyncResult) synced = jsync_coordinator_sync (coordinator,
                                                              &error);

      g_assert_no_error (error);
      fault_reset ();
      result = jsync_coordinator_rebuild (coordinator, &error);
      /* sweep_run disarms the fault once the rebuild returns. */
      memcpy (calls, fault.calls, sizeof fault.calls);
    }
  else
    result = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  if (kind == RUN_SYNC)
    memcpy (calls, fault.calls, sizeof fault.calls);
  fault_reset ();
}

/* What the runs of a sweep met. */
typedef struct
{
  guint64 runs;                 /* met the fault before returning */
  guint64 failed;               /* of them, failed cleanly */
  guint64 closing;              /* met it only closing the cache */
} Tally;

static void
sweep_tally (World *w, RunKind kind, FaultOp op, guint64 nth, int code,
             gboolean persistent, Tally *tally)
{
  Outcome outcome;

  sweep_run (w, kind, op, nth, code, persistent, &outcome);
  tally->runs += outcome.fired > 0;
  tally->failed += outcome.failed;
  tally->closing += outcome.fired == 0 && outcome.fired_closing > 0;
}

/* Every call of `op` up to the fault-free run's count fails once (or, when
 * persistent, from there on) with `code`. */
static void
sweep (World *w, RunKind kind, FaultOp op, int code, gboolean persistent)
{
  const char *name = kind == RUN_SYNC ? "sync" : "rebuild";
  guint64 stride = (guint64) (1 / jtest_scale () + 0.5);
  guint64 calls[OP_N];
  Tally tally = { 0 };

  sweep_count (w, kind, calls);
  g_assert_cmpuint (calls[op], >, 0);
  for (guint64 n = g_test_rand_int_range (1, MIN (stride, calls[op]) + 1);
       n <= calls[op]; n += stride)
    sweep_tally (w, kind, op, n, code, persistent, &tally);
  /* The calls of one op are not the same in every run (whether a folder's
   * listing is written depends on the clock, and valgrind's pace moves
   * it), so a run can end before its Nth call; the CI once saw a sweep
   * under valgrind whose every run missed.  Then the first call meets
   * the fault. */
  if (tally.runs + tally.closing == 0)
    sweep_tally (w, kind, op, 1, code, persistent, &tally);
  g_test_message ("%s, %s fails with %s%s: %" G_GUINT64_FORMAT " calls in a"
                  " fault-free run; %" G_GUINT64_FORMAT " runs met the"
                  " fault, %" G_GUINT64_FORMAT " of them failed cleanly and"
                  " the others succeeded with nothing lost; %"
                  G_GUINT64_FORMAT " met it closing the cache; all"
                  " recovered", name, op_names[op], sqlite3_errstr (code),
                  persistent ? " from the Nth call on" : " once",
                  calls[op], tally.runs, tally.failed, tally.closing);
  /* The fault was met. */
  g_assert_cmpuint (tally.runs + tally.closing, >, 0);
}

/* The sweeps: the run, the call that fails, with what, and whether it
 * keeps failing from the Nth call on. */
typedef struct
{
  const char *path;
  RunKind kind;
  FaultOp op;
  int code;
  gboolean persistent;
} SweepCase;

static const SweepCase sweeps[] = {
  { "/faults/sync/write", RUN_SYNC, OP_WRITE, SQLITE_IOERR_WRITE, FALSE },
  { "/faults/sync/full-disk", RUN_SYNC, OP_WRITE, SQLITE_FULL, TRUE },
  { "/faults/sync/read", RUN_SYNC, OP_READ, SQLITE_IOERR_READ, FALSE },
  { "/faults/sync/fsync", RUN_SYNC, OP_SYNC, SQLITE_IOERR_FSYNC, FALSE },
  { "/faults/sync/lock", RUN_SYNC, OP_LOCK, SQLITE_IOERR_LOCK, FALSE },
  { "/faults/sync/busy", RUN_SYNC, OP_LOCK, SQLITE_BUSY, FALSE },
  { "/faults/sync/shm-busy", RUN_SYNC, OP_SHM_LOCK, SQLITE_BUSY, FALSE },
  { "/faults/sync/shm-lock", RUN_SYNC, OP_SHM_LOCK,
    SQLITE_IOERR_SHMLOCK, FALSE },
  { "/faults/sync/truncate", RUN_SYNC, OP_TRUNCATE,
    SQLITE_IOERR_TRUNCATE, FALSE },
  { "/faults/rebuild/write", RUN_REBUILD, OP_WRITE,
    SQLITE_IOERR_WRITE, FALSE },
  { "/faults/rebuild/full-disk", RUN_REBUILD, OP_WRITE, SQLITE_FULL, TRUE },
  { "/faults/rebuild/fsync", RUN_REBUILD, OP_SYNC, SQLITE_IOERR_FSYNC, FALSE },
  { "/faults/rebuild/read", RUN_REBUILD, OP_READ, SQLITE_IOERR_READ, FALSE },
  { "/faults/rebuild/lock", RUN_REBUILD, OP_LOCK, SQLITE_IOERR_LOCK, FALSE },
};

static void
test_sweep (World *w, gconstpointer data)
{
  const SweepCase *c = data;

  sweep (w, c->kind, c->op, c->code, c->persistent);
}

/* --- Lost events across a rebuild --------------------------------------- */

/* Rows of jsync_lost in the cache at `path`, -1 when there is none. */
static gint64
lost_in (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return -1;
  return jtest_cache_int (path, "SELECT count(*) FROM jsync_lost", NULL);
}

/* One rebuild of a copy of `from` with the Nth read failing once (none
 * when 0); the reads it made into `reads`.  The lost events (`lost` rows
 * of jsync_lost) are still somewhere afterwards: in <db>.previous when it
 * succeeded, else in the cache or, when it failed after the swap, in
 * <db>.previous.  Whether it succeeded. */
static gboolean
lost_rebuild (World *w, const char *from, guint64 nth, gint64 lost,
              guint64 *reads)
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autofree char *previous = g_strconcat (w->db, ".previous", NULL);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  remove_db (w->db);
  copy_file (from, w->db);
  fault_reset ();
  if (nth > 0)
    fault_arm (OP_READ, nth, SQLITE_IOERR_READ, FALSE);
  coordinator = jsync_coordinator_open (config, &error);
  if (coordinator != NULL)
    result = jsync_coordinator_rebuild (coordinator, &error);
  *reads = fault.calls[OP_READ];
  fault_reset ();
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  g_assert_true (result == NULL || warned ("*in no log any more*"));
  g_ptr_array_set_size (warnings, 0);
  if (result != NULL)
    g_assert_cmpint (lost_in (previous), ==, lost);
  else if (lost_in (w->db) != lost)
    {
      /* Failed after the swap (opening the new cache): kept all the same. */
      g_test_message ("read %" G_GUINT64_FORMAT ": %s", nth, error->message);
      g_assert_cmpint (lost_in (previous), ==, lost);
    }
  return result != NULL;
}

/* A cache holding lost events (a log it synced is gone) is their only
 * copy: a rebuild keeps it as <db>.previous.  Whichever read of the
 * rebuild fails once, the lost events are still somewhere afterwards,
 * never dropped because the count that decides to keep the old cache
 * could not be read. */
static void
test_rebuild_keeps_lost (World *w, gconstpointer data)
{
  g_autofree char *victim = g_build_filename (w->data, w->files->pdata[0],
                                              NULL);
  g_autofree char *lost_db = g_build_filename (w->dir, "lost.db", NULL);
  guint64 stride = (guint64) (1 / jtest_scale () + 0.5);
  guint64 calls, reads, runs = 0, succeeded = 0;
  JsyncResult *synced;
  gint64 lost;

  /* Every event synced, then one log gone: its events are lost. */
  copy_file (w->base, w->db);
  synced = world_sync (w, w->db, 1000);
  jsync_result_free (synced);
  g_assert_cmpint (g_unlink (victim), ==, 0);
  synced = world_sync (w, w->db, 1000);
  jsync_result_free (synced);
  g_ptr_array_set_size (warnings, 0);
  lost = lost_in (w->db);
  g_assert_cmpint (lost, >, 0);
  copy_file (w->db, lost_db);

  g_assert_true (lost_rebuild (w, lost_db, 0, lost, &calls));
  g_assert_cmpuint (calls, >, 0);
  for (guint64 n = g_test_rand_int_range (1, MIN (stride, calls) + 1);
       n <= calls; n += stride)
    {
      succeeded += lost_rebuild (w, lost_db, n, lost, &reads);
      runs++;
    }
  g_test_message ("%" G_GUINT64_FORMAT " read(s) in a fault-free rebuild; %"
                  G_GUINT64_FORMAT " run(s) with one failing, %"
                  G_GUINT64_FORMAT " of them succeeded; the lost events were"
                  " kept each time", calls, runs, succeeded);
}

/* --- Another process holding the cache ---------------------------------- */

static const char *self_exe;

/* The child: hold a write transaction on the cache until stdin closes. */
static int
hold_write_lock (const char *path)
{
  sqlite3 *db = NULL;
  char buffer[64];

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK
      || sqlite3_exec (db,
                       "BEGIN IMMEDIATE;"
                       "INSERT OR REPLACE INTO jsync_meta (key, value)"
                       " VALUES ('held', 1);",
                       NULL, NULL, NULL) != SQLITE_OK)
    {
      g_printerr ("hold: %s\n", sqlite3_errmsg (db));
      return 1;
    }
  fputs ("held\n", stdout);
  fflush (stdout);
  while (fgets (buffer, sizeof buffer, stdin) != NULL)
    ;
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (db);
  return 0;
}

typedef struct
{
  GPid pid;
  int in;                       /* the child's stdin: closing it ends it */
} Holder;

static void
holder_start (Holder *holder, const char *path)
{
  const char *argv[] = { self_exe, "--hold-write-lock", path, NULL };
  g_autoptr(GError) error = NULL;
  char line[16] = "";
  int out;
  FILE *stream;

  g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                            G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                            &holder->pid, &holder->in, &out, NULL, &error);
  g_assert_no_error (error);
  stream = fdopen (out, "r");
  g_assert_nonnull (stream);
  g_assert_nonnull (fgets (line, sizeof line, stream));
  g_assert_cmpstr (line, ==, "held\n");
  fclose (stream);
}

static void
holder_stop (Holder *holder)
{
  int status = 0;

  close (holder->in);
  g_assert_cmpint (waitpid (holder->pid, &status, 0), ==, holder->pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_spawn_close_pid (holder->pid);
}

/* Another process holds a write transaction: a sync fails with "locked"
 * (exit 3) once the keyfile's lock-timeout (1 s) is over, not before and
 * not much after; so does opening the cache; once it lets go, the same
 * coordinator and a new one recover. */
static void
test_busy_other_process (World *w, gconstpointer data)
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncConfig) config2 = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncCoordinator) second = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Holder holder;
  gint64 start, elapsed;

  copy_file (w->base, w->db);
  coordinator = jtest_open (config);
  holder_start (&holder, w->db);

  start = g_get_monotonic_time ();
  result = jsync_coordinator_sync (coordinator, &error);
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("sync failed after %" G_GINT64_FORMAT " ms: %s", elapsed,
                  error != NULL ? error->message : "(no error)");
  g_assert_null (result);
  assert_clean_error (error, "work.db");
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "database is locked"));
  g_assert_cmpint (elapsed, >=, 900);
  g_assert_cmpint (elapsed, <, 4000);
  g_clear_error (&error);

  start = g_get_monotonic_time ();
  second = jsync_coordinator_open (config2, &error);
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_assert_null (second);
  assert_clean_error (error, "work.db");
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_LOCKED);
  g_assert_cmpint (elapsed, <, 4000);
  g_clear_error (&error);

  holder_stop (&holder);
  result = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_true (result->success);
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  assert_recovers (w, TRUE);
}

/* A cache on a read-only disk (SQLite opens it read-only): opening it
 * writes nothing (so reading commands work), and a sync fails with a clear
 * I/O error, exit 3, and nothing changes. */
static void
test_read_only (World *w, gconstpointer data)
{
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  copy_file (w->base, w->db);
  g_file_get_contents (w->db, &before, NULL, NULL);
  fault_reset ();
  fault.readonly = TRUE;
  coordinator = jsync_coordinator_open (config, &error);
  if (coordinator != NULL)
    result = jsync_coordinator_sync (coordinator, &error);
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  fault_reset ();
  g_test_message ("%s", error != NULL ? error->message : "(no error)");
  g_assert_null (result);
  assert_clean_error (error, "work.db");
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "readonly"));
  g_assert_false (warned ("*moved aside*"));
  g_file_get_contents (w->db, &after, NULL, NULL);
  g_assert_cmpstr (after, ==, before);
  assert_recovers (w, FALSE);
}

/* --- Logs that change under a sync -------------------------------------- */

typedef enum
{
  LOG_DELETE,                   /* the log vanishes */
  LOG_DIRECTORY,                /* a folder takes its name: unreadable */
  LOG_REPLACE,                  /* another version with an event prepended */
  LOG_GROWN,                    /* renamed over by a version with one more
                                 * event at its end, as sync tools do */
} LogChange;

typedef struct
{
  World *w;
  LogChange change;
  const char *victim;           /* relative path of a log read last */
  char *saved;                  /* owned: its bytes, to put back */
  gsize saved_length;
  guint calls;
} LogFault;

/* The line another device's version of the victim starts with. */
static const char prepended[] =
  "{\"type\":\"workspace_updated\",\"workspaceId\":"
  "\"9a1b7c3e-2f4d-4e8a-b6c5-1d2e3f4a5b6c\",\"data\":{\"description\":"
  "\"from another device\"},\"id\":\"evt_prepended\","
  "\"deviceId\":\"dev_other\",\"timestamp\":1765290000500}\n";

/* After the first batch of the first log: the victim, read last, changes. */
static void
log_fault_progress (const JsyncProgress *progress, gpointer user_data)
{
  LogFault *lf = user_data;
  g_autofree char *path = NULL;

  /* Once the scan has decided what to read, before any log is opened. */
  if (strcmp (progress->phase, "scan") != 0 || progress->bytes_total == 0
      || lf->calls++ > 0)
    return;
  path = g_build_filename (lf->w->data, lf->victim, NULL);
  g_file_get_contents (path, &lf->saved, &lf->saved_length, NULL);
  g_assert_nonnull (lf->saved);
  if (lf->change != LOG_GROWN)
    g_assert_cmpint (g_unlink (path), ==, 0);
  switch (lf->change)
    {
    case LOG_DELETE:
      break;
    case LOG_DIRECTORY:
      g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
      break;
    case LOG_REPLACE:
      {
        g_autofree char *text = g_strconcat (prepended, lf->saved, NULL);

        write_file (path, text, -1);
      }
      break;
    case LOG_GROWN:
      {
        g_autofree char *text = g_strconcat (lf->saved, prepended, NULL);
        g_autofree char *temp = g_strconcat (path, ".part", NULL);

        write_file (temp, text, -1);
        g_assert_cmpint (g_rename (temp, path), ==, 0);
      }
      break;
    }
}

/* The checkpoint of one log in a cache: offset, or -1 when it has none. */
static gint64
checkpoint_of (const char *db_path, const char *relative)
{
  sqlite3 *db = open_plain (db_path);
  sqlite3_stmt *stmt = NULL;
  gint64 offset = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "SELECT offset FROM jsync_sources"
                                       " WHERE path = ?1", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, relative, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    offset = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return offset;
}

/* The LogChange in `data` made to the last log during a sync. */
static void
test_log_change (World *w, gconstpointer data)
{
  LogChange change = GPOINTER_TO_INT (data);
  g_autoptr(JsyncConfig) config = world_config (w, w->db, SWEEP_BATCH);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  LogFault lf = {
    .w = w,
    .change = change,
    .victim = w->files->pdata[w->files->len - 1],
  };
  g_autofree char *path = g_build_filename (w->data, lf.victim, NULL);
  gint64 before = checkpoint_of (w->base, lf.victim);

  g_assert_cmpint (before, >, 0);
  copy_file (w->base, w->db);
  coordinator = jtest_open (config);
  jsync_coordinator_set_progress (coordinator, log_fault_progress, &lf);
  result = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (lf.calls, >, 0);
  g_clear_pointer (&coordinator, jsync_coordinator_free);

  /* Never a garbage line taken for a failed event. */
  g_assert_cmpuint (result->events_failed, ==, 0);
  if (change == LOG_GROWN
      || (change == LOG_REPLACE && result->files_failed == 0))
    {
      /* Read whole from the new version. */
      g_assert_cmpuint (result->files_failed, ==, 0);
      g_assert_true (result->success);
    }
  else
    {
      JsyncEventError *e;

      /* Reported and skipped: exit 3; its checkpoint unmoved; the other
       * logs synced. */
      g_assert_cmpuint (result->files_failed, ==, 1);
      g_assert_false (result->success);
      g_assert_cmpuint (result->errors->len, ==, 1);
      e = result->errors->pdata[0];
      g_assert_cmpstr (e->file, ==, lf.victim);
      g_assert_cmpuint (e->line, ==, 0);
      g_test_message ("%s: %s", e->file, e->message);
      g_assert_true (warned ("*cannot be read*"));
      g_assert_cmpint (checkpoint_of (w->db, lf.victim), ==, before);
    }
  fault_reset ();
  assert_integrity (w->db);
  if (change != LOG_REPLACE)
    assert_checkpoints (w, w->db);
  if (change == LOG_GROWN)
    g_assert_cmpint (checkpoint_of (w->db, lf.victim), ==,
                     lf.saved_length + strlen (prepended));

  /* The log comes back (or stays replaced): the next run recovers. */
  if (change == LOG_DELETE || change == LOG_DIRECTORY)
    {
      jtest_tree_remove (path);
      write_file (path, lf.saved, lf.saved_length);
      assert_recovers (w, FALSE);
    }
  else
    {
      /* The reference is now that of the new version. */
      g_autofree char *ref_db = g_build_filename (w->dir, "ref2", "ref.db",
                                                  NULL);
      g_autoptr(JsyncResult) ref = world_sync (w, ref_db, 1000000);

      g_free (w->ref);
      w->ref = world_dump (w, ref_db);
      w->events = ref->events_applied;
      assert_next_sync_reaches_reference (w, FALSE);
    }
  g_free (lf.saved);
}

/* --- Appliers unloaded ------------------------------------------------- */

/* JSYNC_APPLIER_ERROR is interned from a string constant: if an applier
 * module were the first to intern it, GLib's quark table would point into
 * the module, and the first lookup after the module is unloaded (closing
 * a coordinator) would read unmapped memory.  Found by the fault sweeps
 * under AddressSanitizer; run in a fresh process, where nothing interned
 * it before. */
static void
test_error_domain_after_unload (World *w, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = g_build_filename (w->data, "bad.jsonl", NULL);
      g_autoptr(JsyncResult) result = NULL;

      /* The workspace applier rejects it: it sets the first error of the
       * applier domain in this process. */
      write_file (path,
                  "{\"type\":\"workspace_created\",\"data\":{},"
                  "\"id\":\"e1\",\"deviceId\":\"d\",\"timestamp\":1}\n",
                  -1);
      copy_file (w->base, w->db);
      result = world_sync (w, w->db, 1000);
      g_assert_cmpuint (result->events_failed, ==, 1);
      /* The coordinator is closed: the modules are unloaded. */
      g_assert_cmpstr (g_quark_to_string (g_quark_try_string (
                           "jsync-applier-error-quark")),
                       ==, "jsync-applier-error-quark");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc == 3 && strcmp (argv[1], "--hold-write-lock") == 0)
    return hold_write_lock (argv[2]);
  self_exe = argv[0];
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  fault_register ();
  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler ("jsync", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL
                                | G_LOG_FLAG_RECURSION, log_collect, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (sweeps); i++)
    g_test_add (sweeps[i].path, World, &sweeps[i], world_setup, test_sweep,
                world_teardown);
#define ADD(path, func) \
  g_test_add (path, World, NULL, world_setup, func, world_teardown)
  ADD ("/faults/busy/other-process", test_busy_other_process);
  ADD ("/faults/cache/read-only", test_read_only);
  ADD ("/faults/rebuild/lost-kept", test_rebuild_keeps_lost);
#define ADD_CHANGE(path, change)                                        \
  g_test_add (path, World, GINT_TO_POINTER (change), world_setup,       \
              test_log_change, world_teardown)
  ADD_CHANGE ("/faults/logs/vanishing", LOG_DELETE);
  ADD_CHANGE ("/faults/logs/unreadable", LOG_DIRECTORY);
  ADD_CHANGE ("/faults/logs/replaced", LOG_REPLACE);
  ADD_CHANGE ("/faults/logs/grown", LOG_GROWN);
#undef ADD_CHANGE
  ADD ("/faults/appliers/error-domain-after-unload",
       test_error_domain_after_unload);
#undef ADD
  {
    int status = g_test_run ();

    g_test_message ("faults injected: %" G_GUINT64_FORMAT, fault.injected);
    g_ptr_array_unref (warnings);
    return status;
  }
}
