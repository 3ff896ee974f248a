/* jsync-append.h: the one log writer, shared by `append` and `recover`
 * (core/jsync-append.c): targets checked as sync would read them, lines
 * appended whole, one write() each, in append mode. */
#ifndef JSYNC_APPEND_H
#define JSYNC_APPEND_H

#include <jsync/jsync.h>

G_BEGIN_DECLS

/* The components of `file`, relative to the data folder, refused
 * (JSYNC_ERROR_USAGE) unless sync would read it: no "..", nothing hidden
 * or ignored, a *.jsonl name.  (transfer full) */
GPtrArray *jsync_append_split_path (JsyncConfig *config, const char *file,
                                    GError **error);

/* The path of those components, as sync names the log.  (transfer full) */
char *jsync_append_join_path (GPtrArray *parts);

typedef struct _JsyncAppendTarget JsyncAppendTarget;

/* Open the log `parts` names below `data_dir` for appending: missing
 * folders made, no symbolic link followed, a regular file.  (transfer
 * full) */
JsyncAppendTarget *jsync_append_target_open (const char *data_dir,
                                             GPtrArray *parts,
                                             GError **error);
/* Append `line` (`length` bytes, no "\n") and its "\n" in one write() at
 * the end of the file, after a "\n" when the file does not end with one. */
gboolean jsync_append_target_write (JsyncAppendTarget *target,
                                    const char *line, gsize length,
                                    GError **error);
/* fsync the log, and the folders when one was made. */
gboolean jsync_append_target_fsync (JsyncAppendTarget *target,
                                    GError **error);
void jsync_append_target_close (JsyncAppendTarget *target);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncAppendTarget, jsync_append_target_close)

G_END_DECLS

#endif /* JSYNC_APPEND_H */
