/* jsync-store.c: the cache file: connection, schema, transactions, applier
 * states, the writer lock.  Its bookkeeping tables are jsync-store-tables.c. */
#include "jsync-store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core-schema.h"

/* The JSYNC_ERROR of a SQLite result code; FAILED for the codes that are
 * not the cache's environment. */
static JsyncError
store_error_kind (int code)
{
  /* Extended result codes are on: the primary code is the low byte. */
  switch (code & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return JSYNC_ERROR_CORRUPT;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return JSYNC_ERROR_IO;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return JSYNC_ERROR_LOCKED;
    default:
      return JSYNC_ERROR_FAILED;
    }
}

/**
 * jsync_store_set_error:
 * Translate the connection's last SQLite error into a JSYNC_ERROR.
 */
void
jsync_store_set_error (JsyncStore *store, GError **error, const char *what)
{
  g_set_error (error, JSYNC_ERROR,
               store_error_kind (sqlite3_errcode (store->db)),
               "%s: %s: %s (%d)", store->path, what,
               sqlite3_errmsg (store->db), sqlite3_extended_errcode (store->db));
}

/**
 * jsync_store_prepare:
 * Prepare `sql` for one use; NULL with the error naming `what`.
 */
sqlite3_stmt *
jsync_store_prepare (JsyncStore *store, const char *sql, const char *what,
                     GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, what);
      return NULL;
    }
  return stmt;
}

/**
 * jsync_store_check_callback:
 * After an applier callback failed with `cause`: FALSE with error set when
 * the cache itself failed (SQLite's last error is an I/O, full-disk,
 * read-only, lock or corruption error, or SQLite rolled the open
 * transaction back), so the run must stop rather than blame the event or
 * the applier.  TRUE when the failure is the callback's own.
 */
gboolean
jsync_store_check_callback (JsyncStore *store, const char *what,
                            const GError *cause, GError **error)
{
  int code = sqlite3_extended_errcode (store->db);
  JsyncError kind = store_error_kind (code);
  gboolean rolled_back = store->in_transaction
                         && sqlite3_get_autocommit (store->db);
  const char *message = cause != NULL ? cause->message : "failed";
  const char *reason = sqlite3_errstr (code);

  if (kind == JSYNC_ERROR_FAILED && !rolled_back)
    return TRUE;
  g_set_error (error, JSYNC_ERROR, kind, "%s: %s: %s%s%s%s", store->path,
               what, message,
               strstr (message, reason) == NULL ? ": " : "",
               strstr (message, reason) == NULL ? reason : "",
               rolled_back ? " (the transaction was rolled back)" : "");
  return FALSE;
}

/* Run SQL that returns no rows; a failure says `what` failed. */
static gboolean
store_exec_what (JsyncStore *store, const char *sql, const char *what,
                 GError **error)
{
  if (sqlite3_exec (store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, what);
      return FALSE;
    }
  return TRUE;
}

/**
 * jsync_store_exec:
 * Run SQL that returns no rows.
 */
gboolean
jsync_store_exec (JsyncStore *store, const char *sql, GError **error)
{
  return store_exec_what (store, sql, sql, error);
}

/**
 * jsync_store_needs_journal_quark:
 * See JsyncStore.unjournaled.
 */
GQuark
jsync_store_needs_journal_quark (void)
{
  return g_quark_from_static_string ("jsync-store-needs-journal-quark");
}

/* Open (BEGIN IMMEDIATE) or commit the transaction, unless it already is
 * in that state. */
static gboolean
store_set_transaction (JsyncStore *store, gboolean open, GError **error)
{
  if (store->in_transaction == open)
    return TRUE;
  if (!jsync_store_exec (store, open ? "BEGIN IMMEDIATE" : "COMMIT", error))
    return FALSE;
  store->in_transaction = open;
  return TRUE;
}

gboolean
jsync_store_begin (JsyncStore *store, GError **error)
{
  return store_set_transaction (store, TRUE, error);
}

gboolean
jsync_store_commit (JsyncStore *store, GError **error)
{
  return store_set_transaction (store, FALSE, error);
}

/**
 * jsync_store_end_batch:
 * The end of a batch, before its commit: every attached applier's
 * end_batch, read only from descriptors of ABI minor 1 or later (minor 0
 * knew the slot as reserved).
 */
gboolean
jsync_store_end_batch (JsyncStore *store, GError **error)
{
  for (guint i = 0; i < store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;
      g_autoptr(GError) local_error = NULL;
      g_autofree char *what = NULL;

      if (desc->abi_minor < 1 || desc->end_batch == NULL
          || desc->end_batch (applier->state, &local_error))
        continue;
      what = g_strconcat (applier->plugin->path, ": end_batch", NULL);
      if (!jsync_store_check_callback (store, what, local_error, error))
        return FALSE;
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED, "%s: %s", what,
                   local_error != NULL ? local_error->message : "failed");
      return FALSE;
    }
  return TRUE;
}

void
jsync_store_rollback (JsyncStore *store)
{
  if (!store->in_transaction)
    return;
  sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  store->in_transaction = FALSE;
  jsync_store_lines_rolled_back (store);
}

static void
store_instance_free (gpointer data)
{
  JsyncApplierInstance *instance = data;

  if (instance->state != NULL)
    instance->plugin->desc->free (instance->state);
  g_free (instance);
}

/* Check the file is a jsync cache of our core schema version (*current),
 * or of the one before, which is upgraded in place (*current FALSE,
 * store->lines_unpacked set). */
static gboolean
store_check_version (JsyncStore *store, gboolean *current, GError **error)
{
  int version;

  sqlite3_stmt *stmt = NULL;
  gboolean has_meta = FALSE;
  int tables = 0;
  int rc;

  stmt = jsync_store_prepare (store,
                              "SELECT name FROM sqlite_master"
                              " WHERE type = 'table'", "read the schema",
                              error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      tables++;
      if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0),
                     "jsync_meta") == 0)
        has_meta = TRUE;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "read the schema");
      return FALSE;
    }
  if (tables == 0)
    return TRUE;
  if (!has_meta)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "%s: not a jsync cache (no jsync_meta table)", store->path);
      return FALSE;
    }
  stmt = jsync_store_prepare (store,
                              "SELECT value, EXISTS (SELECT 1 FROM jsync_meta"
                              "  WHERE key = 'unpacked_lines')"
                              " FROM jsync_meta"
                              " WHERE key = 'core_schema_version'",
                              "read jsync_meta", error);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      /* A read that failed says nothing of the version. */
      jsync_store_set_error (store, error, "read jsync_meta");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  version = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
  if (version == JSYNC_CORE_SCHEMA_UNPACKED
      || (version == JSYNC_CORE_SCHEMA_VERSION
          && sqlite3_column_int (stmt, 1)))
    {
      sqlite3_finalize (stmt);
      store->lines_unpacked = TRUE;
      *current = version == JSYNC_CORE_SCHEMA_VERSION;
      return TRUE;
    }
  if (version != JSYNC_CORE_SCHEMA_VERSION)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT,
                   "%s: core schema version %d, this jsync uses %d",
                   store->path, version, JSYNC_CORE_SCHEMA_VERSION);
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  *current = TRUE;
  return TRUE;
}

/* A store on a new connection to path, opened with `flags`; SQLite waits
 * up to lock_timeout seconds for a lock another connection holds, from
 * the first statement on. */
static JsyncStore *
store_connect (const char *path, int flags, guint lock_timeout,
               GError **error)
{
  JsyncStore *store = g_new0 (JsyncStore, 1);

  store->path = g_strdup (path);
  store->appliers = g_ptr_array_new_with_free_func (store_instance_free);
  store->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  store->init_failures = g_ptr_array_new_with_free_func (g_free);
  if (sqlite3_open_v2 (path, &store->db, flags, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, "open");
      jsync_store_free (store);
      return NULL;
    }
  sqlite3_extended_result_codes (store->db, 1);
  store->codec = jsync_line_codec_add (store->db);
  if (store->codec == NULL)
    {
      jsync_store_set_error (store, error, "add jsync_line()");
      jsync_store_free (store);
      return NULL;
    }
  sqlite3_busy_timeout (store->db, (int) MIN ((guint64) lock_timeout * 1000,
                                              G_MAXINT));
  return store;
}

/* Whether `path` names another file than it did at `before` (or none):
 * a rebuild elsewhere swapped a new file in. */
static gboolean
store_path_replaced (const char *path, const GStatBuf *before)
{
  GStatBuf now;

  return g_stat (path, &now) != 0 || now.st_ino != before->st_ino
         || now.st_dev != before->st_dev;
}

/* store_connect(), then the version check.  A connection opened on the
 * old file just as a rebuild elsewhere swaps a new one in can meet the old
 * file's write-ahead log renamed away under its wal-index (SQLite says
 * "disk I/O error", a short read, or worse): when the path then names
 * another file, nothing is damaged, and the new file is opened instead
 * (three times at the most: docs/design.md "Concurrency"). */
static JsyncStore *
store_connect_checked (const char *path, int flags, guint lock_timeout,
                       gboolean *current, GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      GStatBuf before = { 0 };
      JsyncStore *store;
      int code;

      g_stat (path, &before);
      store = store_connect (path, flags, lock_timeout, error);
      if (store == NULL)
        return NULL;
      if (store_check_version (store, current, &local_error))
        return store;
      code = sqlite3_errcode (store->db);
      jsync_store_free (store);
      if (attempt == 3
          || (code != SQLITE_IOERR && code != SQLITE_CORRUPT
              && code != SQLITE_NOTADB)
          || !store_path_replaced (path, &before))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
}

/**
 * jsync_store_open:
 * Open or create the cache and its bookkeeping tables, waiting up to
 * JSYNC_STORE_LOCK_TIMEOUT seconds for SQLite's locks.
 */
JsyncStore *
jsync_store_open (const char *path, gboolean rebuilding, GError **error)
{
  return jsync_store_open_full (path, rebuilding, JSYNC_STORE_LOCK_TIMEOUT,
                                error);
}

/**
 * jsync_store_open_full:
 * Open or create the cache and its bookkeeping tables; SQLite waits up to
 * lock_timeout seconds for a lock another connection holds (busy_timeout).
 */
JsyncStore *
jsync_store_open_full (const char *path, gboolean rebuilding,
                       guint lock_timeout, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *version_sql = NULL;
  gboolean current = FALSE;
  JsyncStore *store;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: cannot create the folder: %s", dir, g_strerror (errno));
      return NULL;
    }
  store = store_connect_checked (path,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 lock_timeout, &current, error);
  if (store == NULL)
    return NULL;
  /* A cache of the version before keeps its rows; its lines are packed
   * by jsync_store_upgrade_lines(), which the flag asks for. */
  version_sql = g_strdup_printf (
      "BEGIN IMMEDIATE;"
      "%s"
      "INSERT OR REPLACE INTO jsync_meta (key, value)"
      " VALUES ('core_schema_version', %d);"
      "%s"
      "COMMIT;",
      core_schema_sql, JSYNC_CORE_SCHEMA_VERSION,
      store->lines_unpacked ? "INSERT OR REPLACE INTO jsync_meta (key, value)"
                              " VALUES ('unpacked_lines', 1);"
                            : "");
  /* A cache of this version needs no schema writes: opening it for a
   * sync with nothing new writes nothing. */
  if (!jsync_store_exec (store,
                            /* A rebuild's file is thrown away if it
                             * crashes, but a rejected event still needs
                             * a journal to be rolled back: a file, so
                             * that a batch touching much (a long stream
                             * replayed) does not hold it in memory. */
                            rebuilding ? "PRAGMA journal_mode = DELETE;"
                                         "PRAGMA synchronous = OFF;"
                                       : "PRAGMA journal_mode = WAL;"
                                         "PRAGMA synchronous = NORMAL;",
                            error)
      || !jsync_store_exec (store, "PRAGMA cache_size = -65536;"
                                   "PRAGMA secure_delete = OFF;", error)
      || (!current
          && !store_exec_what (store, version_sql,
                               "write the bookkeeping tables", &local_error)))
    {
      if (local_error != NULL)
        {
          sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
          g_propagate_error (error, g_steal_pointer (&local_error));
        }
      jsync_store_free (store);
      return NULL;
    }
  return store;
}

void
jsync_store_free (JsyncStore *store)
{
  if (store == NULL)
    return;
  jsync_store_rollback (store);
  g_ptr_array_unref (store->appliers);
  g_hash_table_unref (store->by_name);
  g_ptr_array_unref (store->init_failures);
  for (int i = 0; i < JSYNC_STMT_N; i++)
    sqlite3_finalize (store->stmts[i]);
  jsync_packer_free (store->packer);
  if (store->db != NULL)
    sqlite3_close (store->db);
  g_free (store->path);
  g_free (store);
}

/**
 * jsync_store_open_read_only:
 * Open the cache for reading only: SQLITE_OPEN_READONLY, so that nothing
 * can be written, and no statement but the reads of the version check
 * before the caller's (no journal mode, no schema).  A file that is not
 * there, or holds no table yet (a writer is creating it), is *missing.
 */
JsyncStore *
jsync_store_open_read_only (const char *path, guint lock_timeout,
                            gboolean *missing, GError **error)
{
  gboolean current = FALSE;
  JsyncStore *store;
  GStatBuf st;

  *missing = FALSE;
  if (g_stat (path, &st) != 0 && errno == ENOENT)
    {
      *missing = TRUE;
      return NULL;
    }
  store = store_connect_checked (path, SQLITE_OPEN_READONLY, lock_timeout,
                                 &current, error);
  if (store == NULL)
    return NULL;
  if (!current && !store->lines_unpacked)
    {
      *missing = TRUE;
      g_clear_pointer (&store, jsync_store_free);
    }
  return store;
}

/**
 * jsync_store_open_empty:
 * An empty cache in memory, with the bookkeeping tables: what a reader
 * reads when there is no cache yet.
 */
JsyncStore *
jsync_store_open_empty (GError **error)
{
  JsyncStore *store = store_connect (":memory:",
                                     SQLITE_OPEN_READWRITE
                                       | SQLITE_OPEN_MEMORY,
                                     0, error);

  if (store == NULL)
    return NULL;
  if (!jsync_store_exec (store, core_schema_sql, error))
    {
      jsync_store_free (store);
      return NULL;
    }
  return store;
}

/**
 * jsync_store_begin_read:
 * Start a read transaction, so that the reads up to
 * jsync_store_end_read() see one snapshot (with WAL, one that no writer
 * changes or blocks).  Nothing to do inside a transaction already open.
 */
gboolean
jsync_store_begin_read (JsyncStore *store, gboolean *began, GError **error)
{
  *began = FALSE;
  if (!sqlite3_get_autocommit (store->db))
    return TRUE;
  if (!store_exec_what (store, "BEGIN DEFERRED", "begin a read", error))
    return FALSE;
  *began = TRUE;
  return TRUE;
}

void
jsync_store_end_read (JsyncStore *store, gboolean began)
{
  if (began && !sqlite3_get_autocommit (store->db))
    sqlite3_exec (store->db, "COMMIT", NULL, NULL, NULL);
}

/* Drop every table an applier declares, to recreate it from its schema. */
static gboolean
store_drop_applier_tables (JsyncStore *store, const JsyncApplierDesc *desc,
                           GError **error)
{
  for (guint i = 0; desc->search != NULL && desc->search[i].fts != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf ("DROP TABLE IF EXISTS \"%s\"",
                                              desc->search[i].fts);

      if (!jsync_store_exec (store, sql, error))
        return FALSE;
    }
  for (guint i = 0; desc->tables[i] != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf ("DROP TABLE IF EXISTS \"%s\"",
                                              desc->tables[i]);

      if (!jsync_store_exec (store, sql, error))
        return FALSE;
    }
  return TRUE;
}

/* Bring one applier's tables to its schema version; TRUE with *replay set
 * when they were recreated and hold nothing of the events it applied. */
static gboolean
store_prepare_tables (JsyncStore *store, JsyncPlugin *plugin,
                      gboolean *replay, GError **error)
{
  const JsyncApplierDesc *desc = plugin->desc;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *record = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean known = FALSE;
  gboolean same_version = FALSE;
  int version = 0;
  int rc;

  *replay = FALSE;
  stmt = jsync_store_prepare (store,
                              "SELECT schema_version, version"
                              " FROM jsync_appliers WHERE name = ?1",
                              "read jsync_appliers", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, desc->name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      known = TRUE;
      version = sqlite3_column_int (stmt, 0);
      same_version = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1),
                                desc->version) == 0;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "read jsync_appliers");
      return FALSE;
    }

  /* Its tables are as this module made them: nothing to write. */
  if (known && version == desc->schema_version && same_version)
    return TRUE;
  if (known && version != desc->schema_version)
    {
      g_message ("%s: schema version %d → %d: rebuilding its tables",
                 desc->name, version, desc->schema_version);
      if (!store_drop_applier_tables (store, desc, error))
        return FALSE;
      *replay = TRUE;
    }
  if (!jsync_sql_exec (store->db, desc->schema_sql, &local_error))
    {
      g_autofree char *what = g_strconcat (plugin->path, ": schema", NULL);

      /* The cache failing (I/O, full disk) is said as such. */
      if (!jsync_store_check_callback (store, what, local_error, error))
        return FALSE;
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED,
                   "%s: schema: %s", plugin->path, local_error->message);
      return FALSE;
    }
  record = sqlite3_mprintf ("INSERT OR REPLACE INTO jsync_appliers"
                            " (name, schema_version, version)"
                            " VALUES (%Q, %d, %Q)",
                            desc->name, desc->schema_version, desc->version);
  if (!jsync_store_exec (store, record, error))
    {
      sqlite3_free (g_steal_pointer (&record));
      return FALSE;
    }
  sqlite3_free (g_steal_pointer (&record));
  return TRUE;
}

/**
 * jsync_store_attach:
 * Create or upgrade each applier's tables and call its init.
 */
gboolean
jsync_store_attach (JsyncStore *store, JsyncRegistry *registry,
                    GKeyFile *keyfile, gboolean rebuilding, GError **error)
{
  GPtrArray *plugins = jsync_registry_get_plugins (registry);

  if (!jsync_store_begin (store, error))
    return FALSE;
  for (guint i = 0; i < plugins->len; i++)
    {
      JsyncPlugin *plugin = plugins->pdata[i];
      const JsyncApplierDesc *desc = plugin->desc;
      g_autoptr(GError) local_error = NULL;
      g_autofree char *group = g_strconcat ("applier:", desc->name, NULL);
      JsyncApplierContext context = {
        .struct_size = sizeof (JsyncApplierContext),
        .db = store->db,
        .keyfile = keyfile,
        .group = group,
      };
      JsyncApplierInstance *instance;
      gboolean replay = FALSE;
      gpointer state;

      if (!store_prepare_tables (store, plugin, &replay, error))
        {
          jsync_store_rollback (store);
          return FALSE;
        }
      state = desc->init (&context, &local_error);
      if (state == NULL
          && !jsync_store_check_callback (store, plugin->path, local_error,
                                          error))
        {
          jsync_store_rollback (store);
          return FALSE;
        }
      if (state == NULL)
        {
          char *failure = g_strdup_printf (
              "%s: init failed: %s", plugin->path,
              local_error != NULL ? local_error->message : "no reason given");

          g_warning ("%s (its events stay pending)", failure);
          g_ptr_array_add (store->init_failures, failure);
          continue;
        }
      instance = g_new0 (JsyncApplierInstance, 1);
      instance->plugin = plugin;
      instance->state = state;
      instance->needs_replay = replay && !rebuilding;
      g_ptr_array_add (store->appliers, instance);
      g_hash_table_insert (store->by_name, (gpointer) desc->name, instance);
      if (rebuilding && desc->begin_rebuild != NULL
          && !desc->begin_rebuild (state, &local_error))
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED,
                       "%s: begin_rebuild: %s", plugin->path,
                       local_error->message);
          jsync_store_rollback (store);
          return FALSE;
        }
    }
  return jsync_store_commit (store, error);
}

/**
 * jsync_store_attach_read_only:
 * On a cache opened for reading: every applier of the registry whose
 * tables the cache holds at its schema version, without its init (a
 * reader needs only the descriptor: its tables and FTS tables).  The
 * others are left out, with a message: their tables appear or are rebuilt
 * at the next sync, which a reader cannot do.
 */
gboolean
jsync_store_attach_read_only (JsyncStore *store, JsyncRegistry *registry,
                              GError **error)
{
  GPtrArray *plugins = jsync_registry_get_plugins (registry);
  sqlite3_stmt *stmt = jsync_store_prepare (
      store, "SELECT schema_version FROM jsync_appliers WHERE name = ?1",
      "read jsync_appliers", error);

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < plugins->len; i++)
    {
      JsyncPlugin *plugin = plugins->pdata[i];
      const JsyncApplierDesc *desc = plugin->desc;
      JsyncApplierInstance *instance;
      int rc;

      sqlite3_bind_text (stmt, 1, desc->name, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          jsync_store_set_error (store, error, "read jsync_appliers");
          sqlite3_finalize (stmt);
          return FALSE;
        }
      if (rc == SQLITE_DONE)
        g_message ("%s: not in the cache yet (the next sync adds its"
                   " tables)", desc->name);
      else if (sqlite3_column_int (stmt, 0) != desc->schema_version)
        g_message ("%s: the cache holds its tables at schema version %d,"
                   " this module's is %d (the next sync rebuilds them):"
                   " left out", desc->name, sqlite3_column_int (stmt, 0),
                   desc->schema_version);
      else
        {
          instance = g_new0 (JsyncApplierInstance, 1);
          instance->plugin = plugin;
          g_ptr_array_add (store->appliers, instance);
          g_hash_table_insert (store->by_name, (gpointer) desc->name,
                               instance);
        }
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

JsyncApplierInstance *
jsync_store_get_applier (JsyncStore *store, const char *name)
{
  return g_hash_table_lookup (store->by_name, name);
}

/**
 * jsync_store_fold_log:
 * Fold the write-ahead log of the cache at `path` into its file and empty
 * the log (a checkpoint), on a connection of its own, waiting up to
 * `timeout` seconds for readers; TRUE at once when no cache is there.
 * *complete says whether every committed write is now in the file (a
 * reader in a long transaction can hold some back).  FALSE with the error
 * when SQLite fails.
 */
gboolean
jsync_store_fold_log (const char *path, guint timeout, gboolean *complete,
                      GError **error)
{
  JsyncStore *store;
  sqlite3_stmt *stmt = NULL;
  int rc;

  *complete = FALSE;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      *complete = TRUE;
      return TRUE;
    }
  store = store_connect (path, SQLITE_OPEN_READWRITE, timeout, error);
  if (store == NULL)
    return FALSE;
  rc = sqlite3_prepare_v2 (store->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1,
                           &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  /* Its first column is 1 when it could not finish. */
  if (rc == SQLITE_ROW)
    *complete = sqlite3_column_int (stmt, 0) == 0;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    jsync_store_set_error (store, error, "fold the write-ahead log");
  jsync_store_free (store);
  return rc == SQLITE_ROW;
}

/**
 * jsync_store_lock:
 * The single-writer lock (docs/design.md "Locking").
 */
int
jsync_store_lock (const char *db_path, guint timeout, GError **error)
{
  g_autofree char *path = g_strconcat (db_path, ".lock", NULL);
  g_autofree char *dir = g_path_get_dirname (db_path);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: cannot create the folder: %s", dir, g_strerror (errno));
      return -1;
    }
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", path,
                   g_strerror (errno));
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: lock: %s",
                       path, g_strerror (errno));
          close (fd);
          return -1;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_LOCKED,
                       "%s: another jsync has held the cache lock for more"
                       " than %u s", path, timeout);
          close (fd);
          return -1;
        }
      g_usleep (20 * 1000);
    }
  return fd;
}

void
jsync_store_unlock (int fd)
{
  if (fd >= 0)
    {
      flock (fd, LOCK_UN);
      close (fd);
    }
}
