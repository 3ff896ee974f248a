/* jsync-reader.c: complete lines of a log file, from a checkpoint on.
 *
 * Reads in chunks into a buffer that grows only up to the longest line
 * allowed; an over-long line is skipped through while its first bytes are
 * kept, so memory stays bounded whatever the file holds.
 */
#include "jsync-reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>

#include "jsync-path.h"

#define READER_CHUNK (256 * 1024)

struct _JsyncReader
{
  char *path;               /* owned */
  int fd;                   /* owned */
  guint64 max_line_bytes;
  char *buffer;             /* owned: bytes [start, end) are unread */
  gsize size;               /* allocated */
  gsize start;
  gsize end;
  guint64 buffer_offset;    /* file offset of buffer[0] */
  guint64 line;             /* lines consumed */
  gboolean eof;
  char *head;               /* owned: first bytes of an over-long line */
  gsize head_length;
  struct stat st;           /* taken when opened */
  guint64 limit;            /* nothing at or past it is read: st's size */
};

static void
reader_set_io_error (GError **error, const char *path, const char *what,
                     int saved_errno)
{
  g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "%s: %s: %s", path, what,
               g_strerror (saved_errno));
}

/**
 * jsync_reader_open_below:
 * Open a log below a folder (jsync_path_open_below()), or `relative` as
 * given when dir is NULL, for reading lines from a checkpoint.
 */
JsyncReader *
jsync_reader_open_below (const char *dir, const char *relative,
                         guint64 offset, guint64 line,
                         guint64 max_line_bytes, GError **error)
{
  g_autofree char *joined = dir != NULL
                              ? g_build_filename (dir, relative, NULL) : NULL;
  const char *path = dir != NULL ? joined : relative;
  JsyncReader *reader;
  int fd = dir != NULL ? jsync_path_open_below (dir, relative, O_RDONLY)
                       : g_open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);

  if (fd < 0)
    {
      reader_set_io_error (error, path, "open", errno);
      return NULL;
    }
  reader = g_new0 (JsyncReader, 1);
  reader->path = g_strdup (path);
  reader->fd = fd;
  /* What is read is what this stat describes, however the file grows
   * meanwhile: it becomes the checkpoint's identity, and bytes appended
   * after it are left to the next run, which sees a new size. */
  if (fstat (fd, &reader->st) != 0)
    {
      reader_set_io_error (error, path, "stat", errno);
      jsync_reader_free (reader);
      return NULL;
    }
  reader->limit = reader->st.st_size;
  reader->max_line_bytes = MAX (max_line_bytes, 1);
  reader->size = READER_CHUNK;
  reader->buffer = g_malloc (reader->size);
  reader->buffer_offset = offset;
  reader->line = line;
  return reader;
}

/**
 * jsync_reader_open:
 * Open a log by its path for reading lines from a checkpoint.
 */
JsyncReader *
jsync_reader_open (const char *path, guint64 offset, guint64 line,
                   guint64 max_line_bytes, GError **error)
{
  return jsync_reader_open_below (NULL, path, offset, line, max_line_bytes,
                                  error);
}

void
jsync_reader_free (JsyncReader *reader)
{
  if (reader == NULL)
    return;
  close (reader->fd);
  g_free (reader->path);
  g_free (reader->buffer);
  g_free (reader->head);
  g_free (reader);
}

/* Read up to `want` bytes at `at` into `into`, none at or past the limit;
 * how many, 0 at end of file (reader->eof set) or on error. */
static gsize
reader_pread (JsyncReader *reader, void *into, gsize want, guint64 at,
              GError **error)
{
  gssize n;

  want = at < reader->limit ? MIN (want, reader->limit - at) : 0;
  do
    n = want > 0 ? pread (reader->fd, into, want, at) : 0;
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      reader_set_io_error (error, reader->path, "read", errno);
      return 0;
    }
  if (n == 0)
    reader->eof = TRUE;
  return n;
}

/* Read one more chunk after the unread bytes; FALSE at end of file or on
 * error. */
static gboolean
reader_fill (JsyncReader *reader, GError **error)
{
  gsize n;

  if (reader->start > 0)
    {
      memmove (reader->buffer, reader->buffer + reader->start,
               reader->end - reader->start);
      reader->buffer_offset += reader->start;
      reader->end -= reader->start;
      reader->start = 0;
    }
  if (reader->size - reader->end < READER_CHUNK / 2)
    {
      reader->size = MAX (reader->size * 2, reader->end + READER_CHUNK);
      /* No more than the longest line allowed and a chunk: one read into a
       * larger buffer could take in a whole over-long line. */
      reader->size = MIN (reader->size,
                          MAX (reader->max_line_bytes, reader->end)
                            + READER_CHUNK);
      reader->buffer = g_realloc (reader->buffer, reader->size);
    }
  n = reader_pread (reader, reader->buffer + reader->end,
                    reader->size - reader->end,
                    reader->buffer_offset + reader->end, error);
  reader->end += n;
  return n > 0;
}

static gboolean
reader_is_blank (const char *data, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
      return FALSE;
  return TRUE;
}

/* Skip an over-long line from its start, keeping its first bytes in
 * reader->head.  TRUE once its '\n' was consumed, with *blank telling
 * whether it held only blanks; FALSE at end of file (nothing consumed: the
 * line is not complete yet) or on error. */
static gboolean
reader_skip_long_line (JsyncReader *reader, guint64 line_offset,
                       JsyncLine *line, gboolean *blank, GError **error)
{
  guint64 scan = line_offset;

  *blank = TRUE;

  for (;;)
    {
      char chunk[READER_CHUNK / 4];
      gsize n = reader_pread (reader, chunk, sizeof chunk, scan, error);
      char *nl;

      if (n == 0)
        return FALSE;
      nl = memchr (chunk, '\n', n);
      if (scan == line_offset)
        {
          /* From the file, not the buffer: the buffer may end anywhere in
           * the line's first JSYNC_READER_HEAD_BYTES. */
          g_free (reader->head);
          reader->head_length = MIN (nl != NULL ? (gsize) (nl - chunk)
                                                : (gsize) n,
                                     JSYNC_READER_HEAD_BYTES);
          reader->head = g_memdup2 (chunk, reader->head_length);
        }
      if (*blank)
        *blank = reader_is_blank (chunk, nl != NULL ? (gsize) (nl - chunk)
                                                    : (gsize) n);
      if (nl != NULL)
        {
          guint64 end = scan + (nl - chunk);

          line->data = reader->head;
          line->length = reader->head_length;
          line->full_length = end - line_offset;
          line->offset = line_offset;
          line->too_long = TRUE;
          /* Start afresh after the newline. */
          reader->buffer_offset = end + 1;
          reader->start = reader->end = 0;
          return TRUE;
        }
      scan += n;
    }
}

/**
 * jsync_reader_next:
 * Return the next complete, non-blank line, or FALSE at the end.
 */
gboolean
jsync_reader_next (JsyncReader *reader, JsyncLine *line, GError **error)
{
  for (;;)
    {
      char *data = reader->buffer + reader->start;
      gsize avail = reader->end - reader->start;
      char *nl = memchr (data, '\n', avail);

      if (nl == NULL)
        {
          if (avail > reader->max_line_bytes)
            {
              guint64 line_offset = reader->buffer_offset + reader->start;
              gboolean blank;

              if (!reader_skip_long_line (reader, line_offset, line, &blank,
                                          error))
                {
                  /* Incomplete: leave it for a later run. */
                  reader->start = reader->end = 0;
                  reader->buffer_offset = line_offset;
                  reader->eof = TRUE;
                  return FALSE;
                }
              reader->line++;
              /* Blank however long, as below. */
              if (blank)
                continue;
              line->line = reader->line;
              return TRUE;
            }
          if (reader->eof || !reader_fill (reader, error))
            return FALSE;
          continue;
        }

      {
        gsize length = nl - data;
        guint64 line_offset = reader->buffer_offset + reader->start;

        reader->start += length + 1;
        reader->line++;
        if (reader_is_blank (data, length))
          continue;
        line->offset = line_offset;
        line->line = reader->line;
        line->full_length = length;
        if (length > reader->max_line_bytes)
          {
            line->data = data;
            line->length = MIN (length, JSYNC_READER_HEAD_BYTES);
            line->too_long = TRUE;
          }
        else
          {
            line->data = data;
            line->length = length;
            line->too_long = FALSE;
          }
        return TRUE;
      }
    }
}

/**
 * jsync_reader_trim:
 * Drop the bytes already returned and give back a buffer that grew for a
 * long line.  The last line returned is no longer valid.
 */
void
jsync_reader_trim (JsyncReader *reader)
{
  gsize left = reader->end - reader->start;

  if (reader->size <= 4 * READER_CHUNK)
    return;
  memmove (reader->buffer, reader->buffer + reader->start, left);
  reader->buffer_offset += reader->start;
  reader->start = 0;
  reader->end = left;
  reader->size = MAX (left, READER_CHUNK);
  reader->buffer = g_realloc (reader->buffer, reader->size);
}

guint64
jsync_reader_get_offset (JsyncReader *reader)
{
  return reader->buffer_offset + reader->start;
}

guint64
jsync_reader_get_line (JsyncReader *reader)
{
  return reader->line;
}

void
jsync_reader_set_limit (JsyncReader *reader, guint64 limit)
{
  reader->limit = MIN (reader->limit, limit);
}

const struct stat *
jsync_reader_get_stat (JsyncReader *reader)
{
  return &reader->st;
}

int
jsync_reader_get_fd (JsyncReader *reader)
{
  return reader->fd;
}

/**
 * jsync_hash:
 * FNV-1a over the bytes; used to recognize an event's bytes and a file's
 * tail, not against adversaries.
 */
gint64
jsync_hash (const void *data, gsize length)
{
  const guchar *p = data;
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);

  for (gsize i = 0; i < length; i++)
    {
      h ^= p[i];
      h *= G_GUINT64_CONSTANT (1099511628211);
    }
  return (gint64) h;
}

/**
 * jsync_pread_all:
 * Read exactly `length` bytes at `offset`; a short file is an error.
 */
gboolean
jsync_pread_all (int fd, void *buffer, gsize length, guint64 offset,
                 GError **error)
{
  gsize done = 0;

  while (done < length)
    {
      gssize n = pread (fd, (char *) buffer + done, length - done,
                        offset + done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO, "read: %s",
                       g_strerror (errno));
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "read: file ends before byte %" G_GUINT64_FORMAT,
                       offset + length);
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

/**
 * jsync_tail_hash:
 * Hash of the last ≤ 4 KiB before `offset` (docs/design.md "Checkpoints").
 */
gboolean
jsync_tail_hash (int fd, guint64 offset, gint64 *hash, GError **error)
{
  char buffer[4096];
  gsize length = MIN (offset, sizeof buffer);

  if (!jsync_pread_all (fd, buffer, length, offset - length, error))
    return FALSE;
  *hash = jsync_hash (buffer, length);
  return TRUE;
}
