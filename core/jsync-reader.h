/* jsync-reader.h: complete lines of a log file, from a checkpoint on. */
#ifndef JSYNC_READER_H
#define JSYNC_READER_H

#include <sys/stat.h>

#include <glib.h>

G_BEGIN_DECLS

/* How many bytes of an over-long line are kept for the record. */
#define JSYNC_READER_HEAD_BYTES 4096

/* One complete line, lent until the next call. */
typedef struct
{
  const char *data;       /* the line without its '\n'; when too_long, only
                           * its first JSYNC_READER_HEAD_BYTES */
  gsize length;           /* bytes in data */
  guint64 full_length;    /* the whole line's length */
  guint64 offset;         /* of its first byte in the file */
  guint64 line;           /* 1-based */
  gboolean too_long;      /* longer than max_line_bytes */
} JsyncLine;

typedef struct _JsyncReader JsyncReader;

/* Open `path` for reading from `offset`, which is the start of line
 * `line` + 1.  Lines longer than max_line_bytes are never held whole.  The
 * file is read up to its size when opened, not further (see
 * jsync_reader_get_stat()). */
JsyncReader *jsync_reader_open (const char *path, guint64 offset,
                                guint64 line, guint64 max_line_bytes,
                                GError **error);
void jsync_reader_free (JsyncReader *reader);
/* The same for `relative` below the folder `dir`, however deep
 * (jsync_path_open_below()); `dir` NULL opens `relative` as given.  What
 * jsync does with every log of the data folder. */
JsyncReader *jsync_reader_open_below (const char *dir, const char *relative,
                                      guint64 offset, guint64 line,
                                      guint64 max_line_bytes, GError **error);

/* The next complete, non-blank line.  FALSE at the end (a last line with no
 * '\n' is left unread), or with error set when reading failed. */
gboolean jsync_reader_next (JsyncReader *reader, JsyncLine *line,
                            GError **error);
/* Drop the bytes already returned and give back a buffer that grew for a
 * long line; the last line returned is no longer valid. */
void jsync_reader_trim (JsyncReader *reader);
/* The checkpoint: the offset just past the last line returned or skipped
 * as blank, and the number of lines before it. */
guint64 jsync_reader_get_offset (JsyncReader *reader);
guint64 jsync_reader_get_line (JsyncReader *reader);
/* Read nothing at or past `limit` either (when it is below the size). */
void jsync_reader_set_limit (JsyncReader *reader, guint64 limit);
/* The file's stat when it was opened: it describes exactly the bytes the
 * reader can return, so it is the identity a checkpoint records. */
const struct stat *jsync_reader_get_stat (JsyncReader *reader);
/* The file descriptor (for pread). */
int jsync_reader_get_fd (JsyncReader *reader);

/* FNV-1a, 64 bits, as a signed value for SQLite. */
gint64 jsync_hash (const void *data, gsize length);
/* Hash of the last min(4096, offset) bytes before offset in fd: what the
 * checkpoint keeps to know the file is still the same file. */
gboolean jsync_tail_hash (int fd, guint64 offset, gint64 *hash,
                          GError **error);
/* Read exactly length bytes at offset (pread loop). */
gboolean jsync_pread_all (int fd, void *buffer, gsize length, guint64 offset,
                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncReader, jsync_reader_free)

G_END_DECLS

#endif /* JSYNC_READER_H */
