/* jsync-append.c: `jsync append`: one event written to a log, then synced
 * (docs/design.md "The sync contract": one path in), and this device's id. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <jsync/jsync.h>

#include "jsync-append.h"
#include "jsync-config.h"
#include "jsync-coordinator-private.h"
#include "jsync-event.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

/* The envelope fields jsync fills itself. */
static const char *const append_envelope[] = { "id", "deviceId", "timestamp" };

/* --- The device id ---------------------------------------------------------- */

/* The id kept in `path`, checked; NULL with G_FILE_ERROR_NOENT when the
 * file is not there. */
static char *
append_read_device_id (const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s",
                     local_error->message);
      return NULL;
    }
  g_strstrip (text);
  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      {
        *text = '\0';
        break;
      }
  if (*text == '\0' || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "%s: not a device id (one line of UTF-8 text); remove the"
                   " file to make a new one", path);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/**
 * jsync_config_dup_device_id:
 * The keyfile's `device-id`, else the one kept in
 * $XDG_STATE_HOME/jsync/device-id, made once.  Two processes making it at
 * once agree: the file is written aside and linked into place, and the
 * loser reads the winner's.
 */
char *
jsync_config_dup_device_id (JsyncConfig *config, GError **error)
{
  const char *configured = jsync_config_get_device_id (config);
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;

  if (configured != NULL)
    return g_strdup (configured);
  dir = g_build_filename (g_get_user_state_dir (), "jsync", NULL);
  path = g_build_filename (dir, "device-id", NULL);
  for (guint attempt = 0; attempt < 3; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *id = append_read_device_id (path, &local_error);
      g_autofree char *aside = NULL;
      g_autofree char *text = NULL;
      int saved;

      if (id != NULL)
        return g_steal_pointer (&id);
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_clear_error (&local_error);
      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", dir,
                       g_strerror (errno));
          return NULL;
        }
      id = g_uuid_string_random ();
      aside = g_strdup_printf ("%s.%s", path, id);
      text = g_strconcat (id, "\n", NULL);
      if (!g_file_set_contents (aside, text, -1, &local_error))
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s",
                       local_error->message);
          return NULL;
        }
      if (link (aside, path) == 0)
        {
          g_unlink (aside);
          return g_steal_pointer (&id);
        }
      saved = errno;
      if (saved != EEXIST && g_rename (aside, path) == 0)
        return g_steal_pointer (&id);  /* no hard links here */
      g_unlink (aside);
      if (saved != EEXIST)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", path,
                       g_strerror (saved));
          return NULL;
        }
    }
  g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
               "%s: cannot read or make the device id", path);
  return NULL;
}

/* --- The target file -------------------------------------------------------- */

static gboolean
append_is_ignored (JsyncConfig *config, const char *relative, const char *name)
{
  const char *const *globs = jsync_config_get_ignore (config);

  for (guint i = 0; globs[i] != NULL; i++)
    if (g_pattern_match_simple (globs[i], relative)
        || g_pattern_match_simple (globs[i], name))
      return TRUE;
  return FALSE;
}

/**
 * jsync_append_split_path:
 * The components of `file` ("." and empty ones dropped), refused unless
 * sync would read the file: relative, no "..", nothing hidden or ignored,
 * a *.jsonl name.  (transfer full)
 */
GPtrArray *
jsync_append_split_path (JsyncConfig *config, const char *file,
                         GError **error)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) split = NULL;
  g_autoptr(GString) relative = g_string_new (NULL);
  const char *name;

  if (g_path_is_absolute (file))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "%s: give a path relative to the data folder", file);
      return NULL;
    }
  split = g_strsplit (file, "/", -1);
  for (guint i = 0; split[i] != NULL; i++)
    {
      if (*split[i] == '\0' || strcmp (split[i], ".") == 0)
        continue;
      if (strcmp (split[i], "..") == 0)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "%s: \"..\" would lead out of the data folder", file);
          return NULL;
        }
      if (relative->len > 0)
        g_string_append_c (relative, '/');
      g_string_append (relative, split[i]);
      if (split[i][0] == '.')
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "%s: %s is hidden (its name starts with \".\"), and sync"
                       " never reads hidden files", file, relative->str);
          return NULL;
        }
      if (append_is_ignored (config, relative->str, split[i]))
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "%s: %s matches the keyfile's ignore globs, and sync"
                       " would never read it", file, relative->str);
          return NULL;
        }
      g_ptr_array_add (parts, g_strdup (split[i]));
    }
  name = parts->len > 0 ? parts->pdata[parts->len - 1] : "";
  if (!g_str_has_suffix (name, ".jsonl"))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "%s: the file must be named *.jsonl, or sync would never"
                   " read it", file);
      return NULL;
    }
  return g_steal_pointer (&parts);
}

/**
 * jsync_append_join_path:
 * The path of jsync_append_split_path()'s components, as sync names the
 * log.  (transfer full)
 */
char *
jsync_append_join_path (GPtrArray *parts)
{
  g_autoptr(GString) path = g_string_new (NULL);

  for (guint i = 0; i < parts->len; i++)
    {
      if (i > 0)
        g_string_append_c (path, '/');
      g_string_append (path, parts->pdata[i]);
    }
  return g_string_free (g_steal_pointer (&path), FALSE);
}

static void
append_close_fds (GArray *fds)
{
  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  g_array_unref (fds);
}

/* Why `name` in dirfd could not be used as a folder or a log. */
static void
append_set_open_error (int dirfd, const char *name, const char *relative,
                       int saved, GError **error)
{
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
      && S_ISLNK (st.st_mode))
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                 "%s: a symbolic link, which sync does not follow", relative);
  else if (saved == ENOTDIR)
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE, "%s: not a folder",
                 relative);
  else if (saved == ENXIO || saved == EISDIR)
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                 "%s: not a regular file", relative);
  else
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", relative,
                 g_strerror (saved));
}

/* Open the log for appending, making missing folders, never through a
 * symbolic link (so never outside the data folder).  `dirs` receives the
 * folders' fds, the data folder's first; *created says whether a folder or
 * the file was made. */
static int
append_open (const char *data_dir, GPtrArray *parts, GArray *dirs,
             gboolean *created, GError **error)
{
  g_autoptr(GString) relative = g_string_new (NULL);
  const char *name = parts->pdata[parts->len - 1];
  struct stat st;
  int dirfd;
  int fd;

  *created = FALSE;
  dirfd = open (data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "data folder %s: %s", data_dir, g_strerror (errno));
      return -1;
    }
  g_array_append_val (dirs, dirfd);
  for (guint i = 0; i + 1 < parts->len; i++)
    {
      const char *part = parts->pdata[i];
      int next;

      if (relative->len > 0)
        g_string_append_c (relative, '/');
      g_string_append (relative, part);
      next = openat (dirfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                    | O_CLOEXEC);
      if (next < 0 && errno == ENOENT)
        {
          if (mkdirat (dirfd, part, 0777) == 0)
            *created = TRUE;
          else if (errno != EEXIST)
            {
              g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s",
                           relative->str, g_strerror (errno));
              return -1;
            }
          next = openat (dirfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                        | O_CLOEXEC);
        }
      if (next < 0)
        {
          append_set_open_error (dirfd, part, relative->str, errno, error);
          return -1;
        }
      dirfd = next;
      g_array_append_val (dirs, dirfd);
    }
  if (relative->len > 0)
    g_string_append_c (relative, '/');
  g_string_append (relative, name);

  /* Read-write for the pread of the last byte; O_NONBLOCK: a FIFO never
   * blocks the open. */
  fd = openat (dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW
                              | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd >= 0)
    *created = TRUE;
  else if (errno == EEXIST)
    fd = openat (dirfd, name, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK
                                | O_CLOEXEC);
  if (fd < 0)
    {
      append_set_open_error (dirfd, name, relative->str, errno, error);
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "%s: not a regular file", relative->str);
      return -1;
    }
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/* Write the line (with a "\n" first when the file does not end with one)
 * in one write() at the end of the file. */
static gboolean
append_write (int fd, const char *relative, const char *line, gsize length,
              GError **error)
{
  g_autofree char *buffer = g_malloc (length + 2);
  struct stat st;
  gsize size = 0;
  char last = '\n';
  gssize written;

  if (fstat (fd, &st) == 0 && st.st_size > 0
      && pread (fd, &last, 1, st.st_size - 1) != 1)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: cannot read its last byte: %s", relative,
                   g_strerror (errno));
      return FALSE;
    }
  if (last != '\n')
    buffer[size++] = '\n';
  memcpy (buffer + size, line, length);
  size += length;
  buffer[size++] = '\n';
  do
    written = write (fd, buffer, size);
  while (written < 0 && errno == EINTR);
  if (written < 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s", relative,
                   g_strerror (errno));
      return FALSE;
    }
  if ((gsize) written != size)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                   "%s: only %" G_GSSIZE_FORMAT " of %" G_GSIZE_FORMAT
                   " bytes written (disk full?); the partial line has no"
                   " newline, so sync leaves it unread", relative, written,
                   size);
      return FALSE;
    }
  return TRUE;
}

/* --- The event -------------------------------------------------------------- */

/* The body with its envelope filled: one line of compact JSON. */
static char *
append_make_line (const char *body, gssize length, const char *device_id,
                  char **id, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(json_object) json = NULL;
  g_autofree char *event_id = NULL;
  json_object *type = NULL;
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };

  if (length < 0)
    length = strlen (body);
  json = jsync_event_parse_json (body, length, &local_error);
  if (json == NULL)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "the event is not a JSON object: %s", local_error->message);
      return NULL;
    }
  if (!json_object_object_get_ex (json, "type", &type)
      || !json_object_is_type (type, json_type_string)
      || json_object_get_string_len (type) == 0)
    {
      g_set_error_literal (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                           "the event needs a \"type\": a non-empty string");
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (append_envelope); i++)
    if (json_object_object_get_ex (json, append_envelope[i], NULL))
      {
        g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                     "the event already has \"%s\": jsync fills id, deviceId"
                     " and timestamp itself", append_envelope[i]);
        return NULL;
      }
  event_id = g_uuid_string_random ();
  json_object_object_add (json, "id", json_object_new_string (event_id));
  json_object_object_add (json, "deviceId", json_object_new_string (device_id));
  json_object_object_add (json, "timestamp",
                          json_object_new_int64 (g_get_real_time () / 1000));
  /* What sync will check (a type holding "\u0000", say). */
  if (!jsync_event_read_envelope (json, &event, &local_error))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE, "the event: %s",
                   local_error->message);
      return NULL;
    }
  *id = g_steal_pointer (&event_id);
  return g_strdup (json_object_to_json_string_ext (
      json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Times the line is written again when the log was replaced between the
 * write and the sync that should have read it. */
#define APPEND_ATTEMPTS 3

/* Is the event recorded in the cache (applied, pending or failed)? */
static gboolean
append_is_recorded (JsyncCoordinator *self, const char *id)
{
  sqlite3_stmt *row = NULL;

  /* A cache that cannot say is taken as not holding it. */
  if (!jsync_store_event_lookup (self->store, id, &row, NULL) || row == NULL)
    return FALSE;
  jsync_store_reset (row);
  return TRUE;
}

/* An open log that lines are appended to. */
struct _JsyncAppendTarget
{
  char *relative;           /* owned: the path shown in messages */
  GArray *dirs;             /* owned: fds of the folders on the way */
  gboolean created;         /* a folder or the file was made */
  int fd;
};

/**
 * jsync_append_target_open:
 * Open the log `parts` names below data_dir for appending (missing folders
 * made, no symbolic link followed).  (transfer full)
 */
JsyncAppendTarget *
jsync_append_target_open (const char *data_dir, GPtrArray *parts,
                          GError **error)
{
  JsyncAppendTarget *target = g_new0 (JsyncAppendTarget, 1);

  target->relative = jsync_append_join_path (parts);
  target->dirs = g_array_new (FALSE, FALSE, sizeof (int));
  target->fd = append_open (data_dir, parts, target->dirs, &target->created,
                            error);
  if (target->fd < 0)
    {
      jsync_append_target_close (target);
      return NULL;
    }
  return target;
}

/**
 * jsync_append_target_write:
 * Append one line (without its "\n") in one write().
 */
gboolean
jsync_append_target_write (JsyncAppendTarget *target, const char *line,
                           gsize length, GError **error)
{
  return append_write (target->fd, target->relative, line, length, error);
}

/**
 * jsync_append_target_fsync:
 * Make what was written durable: the log, then the folder entries made on
 * the way.
 */
gboolean
jsync_append_target_fsync (JsyncAppendTarget *target, GError **error)
{
  gboolean ok = fsync (target->fd) == 0;

  for (guint i = 0; ok && target->created && i < target->dirs->len; i++)
    ok = fsync (g_array_index (target->dirs, int, i)) == 0;
  if (!ok)
    g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: fsync: %s",
                 target->relative, g_strerror (errno));
  return ok;
}

/**
 * jsync_append_target_close:
 * Close the log and its folders.
 */
void
jsync_append_target_close (JsyncAppendTarget *target)
{
  if (target != NULL)
    {
      /* The log, then the folders it is in. */
      if (target->fd >= 0)
        close (target->fd);
      append_close_fds (target->dirs);
      g_free (target->relative);
      g_free (target);
    }
}

/* Write the line to the log, durably with JSYNC_APPEND_FSYNC. */
static gboolean
append_write_log (JsyncCoordinator *self, GPtrArray *parts, const char *line,
                  JsyncAppendFlags flags, GError **error)
{
  g_autoptr(JsyncAppendTarget) target = NULL;

  target = jsync_append_target_open (self->data_dir, parts, error);
  return target != NULL
         && jsync_append_target_write (target, line, strlen (line), error)
         && (!(flags & JSYNC_APPEND_FSYNC)
             || jsync_append_target_fsync (target, error));
}

/**
 * jsync_coordinator_append:
 * Write one event (envelope filled) to a log of the data folder, then sync.
 */
char *
jsync_coordinator_append (JsyncCoordinator *self, const char *file,
                          const char *body, gssize length,
                          JsyncAppendFlags flags, JsyncResult **result,
                          GError **error)
{
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GError) sync_error = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *device_id = NULL;
  g_autofree char *line = NULL;
  g_autofree char *id = NULL;
  JsyncResult *synced;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  if (result != NULL)
    *result = NULL;
  /* Before anything is written: the sync after it would be refused. */
  if (!jsync_coordinator_check_writable (self, "append", error))
    return NULL;
  parts = jsync_append_split_path (self->config, file, error);
  if (parts == NULL)
    return NULL;
  relative = jsync_append_join_path (parts);
  device_id = jsync_config_dup_device_id (self->config, error);
  if (device_id == NULL)
    return NULL;
  line = append_make_line (body, length, device_id, &id, error);
  if (line == NULL)
    {
      g_prefix_error (error, "%s: ", relative);
      return NULL;
    }
  if ((gint64) strlen (line) + 1 > jsync_config_get_max_line_bytes (self->config))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "%s: the event is %zu bytes long, over max-line-bytes (%"
                   G_GINT64_FORMAT "): sync would record it as failed",
                   relative, strlen (line) + 1,
                   jsync_config_get_max_line_bytes (self->config));
      return NULL;
    }

  /* The event is taken once the cache records it.  A sync tool that
   * replaces the log (by a rename) between the write and the sync leaves
   * the line in a file no log name points to any more: it is written
   * again (the same id: a copy that did survive is a duplicate). */
  for (guint attempt = 1;; attempt++)
    {
      if (!append_write_log (self, parts, line, flags, error))
        return NULL;
      synced = jsync_coordinator_sync (self, &sync_error);
      if (synced == NULL)
        {
          g_set_error (error, sync_error->domain, sync_error->code,
                       "%s: event %s appended, but the cache is not up to"
                       " date: %s", relative, id, sync_error->message);
          return NULL;
        }
      if (append_is_recorded (self, id))
        break;
      if (synced->files_failed > 0 || attempt == APPEND_ATTEMPTS)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "%s: event %s appended %u time(s), but the sync did"
                       " not find it in the log (%s)",
                       relative, id, attempt,
                       synced->files_failed > 0
                         ? "a log could not be read"
                         : "the log was replaced each time before it was"
                           " read");
          jsync_result_free (synced);
          return NULL;
        }
      g_warning ("%s: replaced before event %s was read from it; the event"
                 " is written again", relative, id);
      jsync_result_free (synced);
    }
  if (result != NULL)
    *result = synced;
  else
    jsync_result_free (synced);
  return g_steal_pointer (&id);
}
