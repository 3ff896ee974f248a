/* jsync-path.c: opening a log below the data folder, whatever its depth.
 *
 * The scan walks the data folder with directory fds (fstatat(), openat()),
 * so it finds logs at any depth; open() of a log's absolute path fails
 * with ENAMETOOLONG once that path is longer than PATH_MAX.  Every log is
 * opened here instead, the same way the scan found it.
 */
#include "jsync-path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/**
 * jsync_path_open_below:
 * Open a log below a folder one folder at a time (see jsync-path.h).
 */
int
jsync_path_open_below (const char *dir, const char *path, int flags)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  gboolean named = FALSE;
  guint last = 0;
  int dirfd;
  int fd;

  /* The last component that names something: the file. */
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "..") == 0)
        {
          errno = EINVAL;
          return -1;
        }
      if (*parts[i] != '\0' && strcmp (parts[i], ".") != 0)
        {
          last = i;
          named = TRUE;
        }
    }
  if (!named)
    {
      errno = EINVAL;
      return -1;
    }
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return -1;
  for (guint i = 0; i < last; i++)
    {
      int next;
      int saved_errno;

      if (*parts[i] == '\0' || strcmp (parts[i], ".") == 0)
        continue;
      next = openat (dirfd, parts[i],
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      saved_errno = errno;
      close (dirfd);
      if (next < 0)
        {
          errno = saved_errno;
          return -1;
        }
      dirfd = next;
    }
  fd = openat (dirfd, parts[last], flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      close (dirfd);
      errno = saved_errno;
      return -1;
    }
  close (dirfd);
  return fd;
}
