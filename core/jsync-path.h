/* jsync-path.h: opening a log below the data folder, whatever its depth. */
#ifndef JSYNC_PATH_H
#define JSYNC_PATH_H

#include <glib.h>

G_BEGIN_DECLS

/* Open `path` ("/"-separated, relative) below the folder `dir`: `dir` with
 * open(), then each folder of `path` with openat() and O_DIRECTORY |
 * O_NOFOLLOW, then the file with openat() and `flags` | O_NOFOLLOW |
 * O_CLOEXEC.  So a log as deep as the scan finds it opens, even when its
 * absolute path is longer than PATH_MAX (which open() refuses), and no
 * symbolic link below `dir` is followed (the scan skips them).  The fd, or
 * -1 with errno set (EINVAL for a ".." or an empty path). */
int jsync_path_open_below (const char *dir, const char *path, int flags);

G_END_DECLS

#endif /* JSYNC_PATH_H */
