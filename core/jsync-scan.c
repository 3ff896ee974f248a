/* jsync-scan.c: the logs of a run (docs/design.md "Checkpoints").
 *
 * The known logs (jsync_sources) loaded while the data folder is scanned
 * in a thread of its own; each present log's identity and checkpoint
 * checked, to read it not at all, from its checkpoint, or again from its
 * start; a new log's row; the checkpoints written with a batch.
 *
 * A folder is listed again only when it changed: jsync_folders keeps each
 * folder's identity, mtime, ctime and entries as the last scan listed it.
 * Adding, removing or renaming an entry moves the folder's mtime and
 * ctime (a tool that puts the mtime back still moves the ctime), so a
 * folder whose stat is the one recorded holds the entries recorded; each
 * log among them is still looked at (its folder does not change when it
 * grows).  A change within the same tick of the file system's clock as
 * the stat recorded would leave the times as they were, so a listing is
 * trusted only when the folder's ctime was older than the listing by more
 * than SCAN_FOLDER_MARGIN_NS ("racily clean" otherwise, as git says of
 * its index): such a folder is listed again by the next scan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "jsync-path.h"
#include "jsync-sync-private.h"

/* --- Sources ------------------------------------------------------------- */

static void
source_block_unref (SourceBlock *block)
{
  if (--block->refs == 0)
    g_free (block);
}

/* A source for @path (@length bytes), relative to @data_dir, cut out of
 * *@block (a new one when it is NULL or full; the caller unrefs the last
 * one once it made its sources). */
static Source *
source_new (SourceBlock **block, const char *data_dir, const char *path,
            gsize length)
{
  gsize dir_length = strlen (data_dir);
  gsize slash = dir_length > 0 && data_dir[dir_length - 1] != G_DIR_SEPARATOR;
  gsize size = sizeof (Source) + dir_length + slash + length + 1;
  Source *source;

  size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t)
         * sizeof (max_align_t);
  if (*block == NULL || (*block)->size - (*block)->used < size)
    {
      gsize block_size = MAX (SOURCE_BLOCK_SIZE, size);

      if (*block != NULL)
        source_block_unref (*block);
      *block = g_malloc0 (sizeof (SourceBlock) + block_size);
      (*block)->refs = 1;
      (*block)->size = block_size;
    }
  source = (Source *) ((char *) (*block)->data + (*block)->used);
  (*block)->used += size;
  (*block)->refs++;
  source->block = *block;
  source->abs = source->strings;
  memcpy (source->abs, data_dir, dir_length);
  if (slash)
    source->abs[dir_length] = G_DIR_SEPARATOR;
  source->path = source->abs + dir_length + slash;
  memcpy (source->path, path, length);
  source->path[length] = '\0';
  return source;
}

void
source_free (gpointer data)
{
  Source *source = data;

  source_block_unref (source->block);
}

Source *
source_by_id (Run *run, gint64 id)
{
  return g_hash_table_lookup (run->sources_by_id, &id);
}

/* The end of a read of rows: `stmt` finalized, and FALSE with an error
 * saying `what` failed unless `rc` says every row was read. */
static gboolean
scan_rows_read (Run *run, sqlite3_stmt *stmt, int rc, const char *what,
                GError **error)
{
  sqlite3_finalize (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  jsync_store_set_error (run->store, error, what);
  return FALSE;
}

/* Load every known source (checkpoints) into the run. */
gboolean
scan_load_sources (Run *run, GError **error)
{
  sqlite3_stmt *stmt = jsync_store_sources_read (run->store, error);
  SourceBlock *block = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *path = (const char *) sqlite3_column_text (
          stmt, JSYNC_SOURCE_PATH);
      Source *source = source_new (&block, run->context->data_dir,
                                   path != NULL ? path : "",
                                   sqlite3_column_bytes (stmt,
                                                         JSYNC_SOURCE_PATH));

      source->id = sqlite3_column_int64 (stmt, JSYNC_SOURCE_ID);
      source->known = TRUE;
      source->has_identity = sqlite3_column_type (stmt, JSYNC_SOURCE_DEV)
                             != SQLITE_NULL;
      source->dev = sqlite3_column_int64 (stmt, JSYNC_SOURCE_DEV);
      source->ino = sqlite3_column_int64 (stmt, JSYNC_SOURCE_INO);
      source->size = sqlite3_column_int64 (stmt, JSYNC_SOURCE_SIZE);
      source->mtime = sqlite3_column_int64 (stmt, JSYNC_SOURCE_MTIME);
      source->offset = sqlite3_column_int64 (stmt, JSYNC_SOURCE_OFFSET);
      source->line = sqlite3_column_int64 (stmt, JSYNC_SOURCE_LINE);
      source->tail_hash = sqlite3_column_int64 (stmt, JSYNC_SOURCE_TAIL_HASH);
      source->gen = sqlite3_column_int64 (stmt, JSYNC_SOURCE_GEN);
      source->rereading = sqlite3_column_int (stmt, JSYNC_SOURCE_REREADING);
      source->missing = sqlite3_column_int (stmt, JSYNC_SOURCE_MISSING);
      g_hash_table_insert (run->sources, source->path, source);
      g_hash_table_insert (run->sources_by_id, &source->id, source);
    }
  if (block != NULL)
    source_block_unref (block);
  return scan_rows_read (run, stmt, rc, "read jsync_sources", error);
}

/* Give a new source its row. */
gboolean
scan_insert_source (Run *run, Source *source, GError **error)
{
  if (!jsync_store_source_insert (run->store, source->path, &source->id,
                                  error))
    return FALSE;
  source->known = TRUE;
  g_hash_table_insert (run->sources_by_id, &source->id, source);
  return TRUE;
}

/* --- Scanning the data folder -------------------------------------------- */

/* A scan of the data folder.  It touches neither the cache nor the Run, so
 * that it runs in a thread while scan_load_sources() reads the cache; the
 * logs it finds go to the Run's thread in blocks, merged as they come. */
#define SCAN_BLOCK 256

/* How much older than a listing a folder's ctime must be for the listing
 * to be trusted: more than any file system's clock tick (FAT's 2 s). */
#define SCAN_FOLDER_MARGIN_NS (G_GINT64_CONSTANT (2) * G_TIME_SPAN_SECOND * 1000)

/* How the scan went through a folder. */
typedef enum
{
  SCAN_FOLDER_UNREAD,         /* not to the end of its entries */
  SCAN_FOLDER_TRUSTED,        /* its entries taken from jsync_folders */
  SCAN_FOLDER_LISTED,         /* listed to its end */
} ScanFolderHow;

/* A folder as the scan went through it. */
typedef struct
{
  char *path;                 /* owned */
  struct stat st;
  ScanFolderHow how;
  GString *entries;           /* owned, nullable: names read, each ending
                               * in NUL */
} ScanFolder;

static void
scan_folder_free (gpointer data)
{
  ScanFolder *folder = data;

  g_free (folder->path);
  if (folder->entries != NULL)
    g_string_free (folder->entries, TRUE);
  g_free (folder);
}

/* A row of jsync_folders, loaded before the scan. */
typedef struct
{
  JsyncFolder row;            /* path and entries point into data */
  gboolean keep;              /* still right after this scan */
  char data[];
} ScanListing;

typedef struct
{
  struct stat st;
  gsize path;                 /* offset in ScanBlock.paths */
} ScanFound;

static void
scan_unseen_free (gpointer data)
{
  ScanUnseen *unseen = data;

  g_free (unseen->path);
  g_free (unseen->message);
  g_free (unseen);
}

typedef struct
{
  guint length;
  gboolean last;              /* the scan is over */
  GString *paths;             /* owned: relative paths, each ending in NUL */
  ScanFound found[SCAN_BLOCK];
} ScanBlock;

typedef struct
{
  const char *data_dir;       /* borrowed */
  const char *const *ignore;  /* borrowed: the keyfile's globs */
  GString *relative;          /* owned: the entry being looked at */
  ScanBlock *block;           /* owned: being filled */
  GAsyncQueue *blocks;        /* owned: of ScanBlock*, full ones */
  GAsyncQueue *spare;         /* owned: of ScanBlock*, merged ones, to be
                               * filled again (fresh memory costs a page
                               * fault per 4 KiB) */
  GPtrArray *unseen;          /* owned: of ScanUnseen*, entries that could
                               * not be looked at */
  GPtrArray *warnings;        /* owned: of char*, entries skipped, in the
                               * order met */
  GError *error;              /* owned: the data folder cannot be read */
  GHashTable *listings;       /* owned: path → ScanListing*, jsync_folders
                               * as loaded */
  gint64 now;                 /* ns of the real-time clock before any
                               * stat of this scan */
  GPtrArray *folders;         /* owned: of ScanFolder*, in the order met */
} Scan;

static ScanBlock *
scan_block_new (Scan *scan)
{
  ScanBlock *block = g_async_queue_try_pop (scan->spare);

  if (block == NULL)
    {
      block = g_new (ScanBlock, 1);
      block->paths = g_string_sized_new (SCAN_BLOCK * 64);
    }
  block->length = 0;
  block->last = FALSE;
  g_string_truncate (block->paths, 0);
  return block;
}

static void
scan_block_free (ScanBlock *block)
{
  g_string_free (block->paths, TRUE);
  g_free (block);
}

static gboolean
scan_is_ignored (Scan *scan, const char *relative, const char *name)
{
  for (guint i = 0; scan->ignore[i] != NULL; i++)
    if (g_pattern_match_simple (scan->ignore[i], relative)
        || g_pattern_match_simple (scan->ignore[i], name))
      return TRUE;
  return FALSE;
}

/* Keep a warning about the entry being looked at (the data folder itself
 * when it is ""), to be given in the run's thread. */
static void
scan_unseen (Scan *scan, const char *what, int saved_errno)
{
  ScanUnseen *unseen = g_new (ScanUnseen, 1);

  unseen->path = g_strdup (scan->relative->str);
  unseen->message = g_strdup_printf ("%s: %s", what,
                                     g_strerror (saved_errno));
  g_ptr_array_add (scan->unseen, unseen);
}

static void scan_dir (Scan *scan, int fd);

/* Look at the entry `name` (of type `d_type`, as readdir() gave it) of the
 * folder open on `dir_fd`, whose path is scan->relative up to `base`: a
 * log is added to the block, a folder scanned.  Names worth looking at
 * are added to `names` (when not NULL), the folder's listing. */
static void
scan_entry (Scan *scan, int dir_fd, gsize base, const char *name,
            unsigned char d_type, GString *names)
{
  gboolean log = g_str_has_suffix (name, ".jsonl");
  ScanFound *found;

  /* Neither a log nor a folder: nothing to look at. */
  if (!log && d_type != DT_DIR && d_type != DT_UNKNOWN)
    return;
  /* Kept whether ignored or not: the keyfile's globs may change. */
  if (names != NULL)
    g_string_append_len (names, name, strlen (name) + 1);
  g_string_truncate (scan->relative, base);
  if (base > 0)
    g_string_append_c (scan->relative, G_DIR_SEPARATOR);
  g_string_append (scan->relative, name);
  if (scan_is_ignored (scan, scan->relative->str, name))
    return;
  found = &scan->block->found[scan->block->length];
  if (fstatat (dir_fd, name, &found->st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      /* Gone since it was listed: gone. */
      if (errno != ENOENT)
        scan_unseen (scan, "cannot be looked at", errno);
      return;
    }
  if (S_ISDIR (found->st.st_mode))
    {
      int sub = openat (dir_fd, name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK
                          | O_CLOEXEC);

      if (sub < 0 && errno != ENOENT)
        scan_unseen (scan, "cannot be read", errno);
      else if (sub >= 0)
        scan_dir (scan, sub);
      return;
    }
  if (!log)
    return;
  if (!S_ISREG (found->st.st_mode))
    {
      g_ptr_array_add (scan->warnings,
                       g_strdup_printf ("%s: skipped: %s",
                                        scan->relative->str,
                                        S_ISLNK (found->st.st_mode)
                                          ? "a symbolic link"
                                          : "not a regular file"));
      return;
    }
  found->path = scan->block->paths->len;
  g_string_append_len (scan->block->paths, scan->relative->str,
                       scan->relative->len + 1);
  if (++scan->block->length == SCAN_BLOCK)
    {
      g_async_queue_push (scan->blocks, scan->block);
      scan->block = scan_block_new (scan);
    }
}

/* The time of `ts` in ns. */
static gint64
scan_ns (const struct timespec *ts)
{
  return (gint64) ts->tv_sec * G_GINT64_CONSTANT (1000000000) + ts->tv_nsec;
}

/* The listing of the folder `st` at scan->relative, if it can be
 * trusted: the folder is the one listed, not changed since, and was not
 * changed within SCAN_FOLDER_MARGIN_NS before it was listed. */
static const JsyncFolder *
scan_trusted_listing (Scan *scan, const struct stat *st)
{
  ScanListing *listing = g_hash_table_lookup (scan->listings,
                                              scan->relative->str);
  gint64 ctime = scan_ns (&st->st_ctim);

  if (listing == NULL || listing->row.dev != (gint64) st->st_dev
      || listing->row.ino != (gint64) st->st_ino
      || listing->row.mtime != scan_ns (&st->st_mtim)
      || listing->row.ctime != ctime
      || ctime >= listing->row.listed - SCAN_FOLDER_MARGIN_NS)
    return NULL;
  return &listing->row;
}

/* Scan the folder open on @fd (taken) whose path relative to the data folder
 * is scan->relative ("" for the data folder): from its listing in
 * jsync_folders when it can be trusted, else by reading it.  Entries are
 * looked at relative to the folder: no walk of their whole path. */
static void
scan_dir (Scan *scan, int fd)
{
  ScanFolder *folder = g_new0 (ScanFolder, 1);
  gsize base = scan->relative->len;
  const JsyncFolder *listing;
  struct dirent *entry;
  DIR *dir;

  folder->path = g_strdup (scan->relative->str);
  g_ptr_array_add (scan->folders, folder);
  if (fstat (fd, &folder->st) != 0)
    {
      scan_unseen (scan, "cannot be looked at", errno);
      close (fd);
      return;
    }
  listing = scan_trusted_listing (scan, &folder->st);
  if (listing != NULL)
    {
      for (gsize at = 0; at < listing->entries_length;
           at += strlen (listing->entries + at) + 1)
        scan_entry (scan, fd, base, listing->entries + at, DT_UNKNOWN, NULL);
      g_string_truncate (scan->relative, base);
      folder->how = SCAN_FOLDER_TRUSTED;
      close (fd);
      return;
    }
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      scan_unseen (scan, "cannot be read", errno);
      close (fd);
      return;
    }
  folder->entries = g_string_new (NULL);
  for (;;)
    {
      const char *name;

      errno = 0;
      entry = readdir (dir);
      if (entry == NULL)
        break;
      name = entry->d_name;
      if (name[0] == '.')
        continue;
      scan_entry (scan, fd, base, name, entry->d_type, folder->entries);
    }
  if (errno != 0)
    {
      /* The entries after the one that failed are not seen by this run. */
      g_string_truncate (scan->relative, base);
      scan_unseen (scan, "could not be read to its end", errno);
    }
  else
    folder->how = SCAN_FOLDER_LISTED;
  g_string_truncate (scan->relative, base);
  closedir (dir);
}

/* The scan's thread: the whole data folder, then the last block. */
static gpointer
scan_thread (gpointer data)
{
  Scan *scan = data;
  int fd = open (scan->data_dir,
                 O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (&scan->error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "data folder %s: %s", scan->data_dir,
                   g_strerror (saved_errno));
    }
  else
    scan_dir (scan, fd);
  scan->block->last = TRUE;
  g_async_queue_push (scan->blocks, g_steal_pointer (&scan->block));
  return NULL;
}

/* The folders' listings of jsync_folders, into scan->listings. */
static gboolean
scan_load_listings (Run *run, Scan *scan, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (!jsync_store_folders_read (run->store, &stmt, error))
    return FALSE;
  if (stmt == NULL)
    return TRUE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gsize path_length = sqlite3_column_bytes (stmt, JSYNC_FOLDER_PATH);
      gsize entries_length = sqlite3_column_bytes (stmt,
                                                   JSYNC_FOLDER_ENTRIES);
      const char *entries = sqlite3_column_blob (stmt, JSYNC_FOLDER_ENTRIES);
      ScanListing *listing = g_malloc0 (sizeof (ScanListing) + path_length
                                       + 1 + entries_length + 1);
      char *path = listing->data;
      char *names = path + path_length + 1;

      memcpy (path, sqlite3_column_text (stmt, JSYNC_FOLDER_PATH),
              path_length);
      path[path_length] = '\0';
      if (entries_length > 0)
        memcpy (names, entries, entries_length);
      /* Each name ends in NUL: one more stops a damaged last one. */
      names[entries_length] = '\0';
      listing->row = (JsyncFolder) {
        .path = path,
        .dev = sqlite3_column_int64 (stmt, JSYNC_FOLDER_DEV),
        .ino = sqlite3_column_int64 (stmt, JSYNC_FOLDER_INO),
        .mtime = sqlite3_column_int64 (stmt, JSYNC_FOLDER_MTIME),
        .ctime = sqlite3_column_int64 (stmt, JSYNC_FOLDER_CTIME),
        .listed = sqlite3_column_int64 (stmt, JSYNC_FOLDER_LISTED),
        .entries = names,
        .entries_length = entries_length,
      };
      g_hash_table_replace (scan->listings, path, listing);
    }
  return scan_rows_read (run, stmt, rc, "read jsync_folders", error);
}

/* Whether `folder`, listed, differs from its listing in jsync_folders in
 * a way worth writing: anything but the time of the listing, or that time
 * when it makes the listing trusted. */
static gboolean
scan_listing_changed (Scan *scan, const ScanFolder *folder)
{
  ScanListing *listing = g_hash_table_lookup (scan->listings, folder->path);
  gint64 ctime = scan_ns (&folder->st.st_ctim);

  return listing == NULL || listing->row.dev != (gint64) folder->st.st_dev
         || listing->row.ino != (gint64) folder->st.st_ino
         || listing->row.mtime != scan_ns (&folder->st.st_mtim)
         || listing->row.ctime != ctime
         || listing->row.entries_length != folder->entries->len
         || memcmp (listing->row.entries, folder->entries->str,
                    folder->entries->len) != 0
         || ctime < scan->now - SCAN_FOLDER_MARGIN_NS;
}

/* Write the listings of the folders listed, forget those of the folders
 * the scan did not go through (gone, or not looked into): in a
 * transaction of their own, none when nothing changed. */
static gboolean
scan_save_listings (Run *run, Scan *scan, GError **error)
{
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < scan->folders->len; i++)
    {
      ScanFolder *folder = scan->folders->pdata[i];
      JsyncFolder row = {
        .path = folder->path,
        .dev = (gint64) folder->st.st_dev,
        .ino = (gint64) folder->st.st_ino,
        .mtime = scan_ns (&folder->st.st_mtim),
        .ctime = scan_ns (&folder->st.st_ctim),
        .listed = scan->now,
      };
      ScanListing *listing = g_hash_table_lookup (scan->listings,
                                                  folder->path);

      if (folder->how == SCAN_FOLDER_TRUSTED)
        listing->keep = TRUE;
      if (folder->how != SCAN_FOLDER_LISTED)
        continue;
      if (scan_listing_changed (scan, folder))
        {
          row.entries = folder->entries->str;
          row.entries_length = folder->entries->len;
          if (!jsync_store_begin (run->store, error)
              || !jsync_store_folder_write (run->store, &row, error))
            return FALSE;
        }
      if (listing != NULL)
        listing->keep = TRUE;
    }
  /* The others were not gone through, or not to the end of their
   * entries: their listings could hide one. */
  g_hash_table_iter_init (&iter, scan->listings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!((ScanListing *) value)->keep
        && (!jsync_store_begin (run->store, error)
            || !jsync_store_folder_forget (run->store, key, error)))
      return FALSE;
  return jsync_store_commit (run->store, error);
}

/* Load the known sources and scan the data folder, both at once (the scan
 * in a thread of its own); the logs found are marked present, in @found.
 * The listings of the folders are loaded first, and written after. */
gboolean
scan_data_folder (Run *run, GPtrArray *found, GError **error)
{
  Scan scan = {
    .data_dir = run->context->data_dir,
    .ignore = run->context->ignore,
    .relative = g_string_new (NULL),
    .blocks = g_async_queue_new (),
    .spare = g_async_queue_new_full ((GDestroyNotify) scan_block_free),
    .warnings = g_ptr_array_new_with_free_func (g_free),
    .unseen = g_ptr_array_new_with_free_func (scan_unseen_free),
    .listings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free),
    .folders = g_ptr_array_new_with_free_func (scan_folder_free),
  };
  GThread *thread;
  SourceBlock *block = NULL;
  gboolean ok;
  gboolean last = FALSE;

  if (!scan_load_listings (run, &scan, error))
    {
      g_hash_table_unref (scan.listings);
      g_ptr_array_unref (scan.folders);
      g_ptr_array_unref (scan.unseen);
      g_ptr_array_unref (scan.warnings);
      g_async_queue_unref (scan.spare);
      g_async_queue_unref (scan.blocks);
      g_string_free (scan.relative, TRUE);
      return FALSE;
    }
  scan.now = g_get_real_time () * 1000;
  scan.block = scan_block_new (&scan);
  thread = g_thread_try_new ("jsync-scan", scan_thread, &scan, NULL);
  if (thread == NULL)
    scan_thread (&scan);
  ok = scan_load_sources (run, error);
  while (!last)
    {
      ScanBlock *scanned = g_async_queue_pop (scan.blocks);

      for (guint i = 0; ok && i < scanned->length; i++)
        {
          ScanFound *entry = &scanned->found[i];
          const char *path = scanned->paths->str + entry->path;
          Source *source = g_hash_table_lookup (run->sources, path);

          if (source == NULL)
            {
              source = source_new (&block, run->context->data_dir, path,
                                   strlen (path));
              g_hash_table_insert (run->sources, source->path, source);
            }
          source->st = entry->st;
          source->present = TRUE;
          g_ptr_array_add (found, source);
        }
      last = scanned->last;
      g_async_queue_push (scan.spare, scanned);
    }
  if (block != NULL)
    source_block_unref (block);
  if (thread != NULL)
    g_thread_join (thread);
  if (ok)
    {
      for (guint i = 0; i < scan.warnings->len; i++)
        g_warning ("%s", (const char *) scan.warnings->pdata[i]);
      if (scan.error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&scan.error));
          ok = FALSE;
        }
    }
  ok = ok && scan_save_listings (run, &scan, error);
  g_clear_error (&scan.error);
  g_hash_table_unref (scan.listings);
  g_ptr_array_unref (scan.folders);
  g_ptr_array_unref (scan.warnings);
  run->unseen = scan.unseen;
  g_async_queue_unref (scan.spare);
  g_async_queue_unref (scan.blocks);
  g_string_free (scan.relative, TRUE);
  return ok;
}

/* --- Checkpoints --------------------------------------------------------- */

/* Decide how a present file is read: not at all, from its checkpoint, or
 * again from its start (with the reason). */
gboolean
scan_check_source (Run *run, Source *source, gboolean *read, char **reason,
                   GError **error)
{
  gint64 mtime = (gint64) source->st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
                 + source->st.st_mtim.tv_nsec;
  int fd;
  gint64 tail = 0;
  g_autoptr(GError) local_error = NULL;

  *read = TRUE;
  *reason = NULL;
  if (!source->known)
    return TRUE;
  if (source->has_identity && !source->rereading
      && source->dev == (gint64) source->st.st_dev
      && source->ino == (gint64) source->st.st_ino
      && source->size == source->st.st_size && source->mtime == mtime)
    {
      *read = FALSE;
      return TRUE;
    }
  if ((guint64) source->st.st_size < source->offset)
    {
      *reason = g_strdup_printf ("it shrank to %" G_GINT64_FORMAT
                                 " bytes, below its checkpoint at %"
                                 G_GUINT64_FORMAT,
                                 (gint64) source->st.st_size, source->offset);
      return TRUE;
    }
  /* No bytes before the checkpoint to compare (a file that could not be
   * read yet has no hash of them either). */
  if (source->offset == 0)
    return TRUE;
  fd = jsync_path_open_below (run->context->data_dir, source->path, O_RDONLY);
  if (fd < 0)
    {
      g_set_error (&local_error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s",
                   g_strerror (errno));
      read_file_failed (run, source, local_error);
      *read = FALSE;
      return TRUE;
    }
  if (!jsync_tail_hash (fd, source->offset, &tail, &local_error))
    {
      close (fd);
      read_file_failed (run, source, local_error);
      *read = FALSE;
      return TRUE;
    }
  close (fd);
  if (tail != source->tail_hash)
    *reason = g_strdup_printf ("its content before byte %" G_GUINT64_FORMAT
                               " changed", source->offset);
  return TRUE;
}

void
source_mark_dirty (Run *run, Source *source)
{
  if (source->dirty)
    return;
  source->dirty = TRUE;
  g_ptr_array_add (run->dirty, source);
}

gboolean
source_write_checkpoint (Run *run, Source *source, GError **error)
{
  JsyncCheckpoint checkpoint = {
    .id = source->id,
    .has_identity = source->has_identity,
    .dev = source->dev,
    .ino = source->ino,
    .size = source->size,
    .mtime = source->mtime,
    .offset = source->offset,
    .line = source->line,
    .tail_hash = source->tail_hash,
    .gen = source->gen,
    .rereading = source->rereading,
    .missing = source->missing,
  };

  source->dirty = FALSE;
  return jsync_store_source_checkpoint (run->store, &checkpoint, error);
}
