/* jsync-error.c: the library's error domain and its exit statuses. */
#include <jsync/jsync.h>

G_DEFINE_QUARK (jsync-error-quark, jsync_error)

/**
 * jsync_error_exit_status:
 * The program's exit status for an error that stopped a command
 * (docs/design.md "The program's interface").
 */
int
jsync_error_exit_status (const GError *error)
{
  if (error == NULL)
    return JSYNC_EXIT_OK;
  if (error->domain == JSYNC_ERROR)
    switch ((JsyncError) error->code)
      {
      case JSYNC_ERROR_USAGE:
      case JSYNC_ERROR_CONFIG:
        return JSYNC_EXIT_USAGE;
      case JSYNC_ERROR_EVENT:
        return JSYNC_EXIT_EVENTS_FAILED;
      case JSYNC_ERROR_FAILED:
      case JSYNC_ERROR_IO:
      case JSYNC_ERROR_LOCKED:
      case JSYNC_ERROR_CORRUPT:
        break;
      }
  if (error->domain == G_OPTION_ERROR || error->domain == G_KEY_FILE_ERROR)
    return JSYNC_EXIT_USAGE;
  return JSYNC_EXIT_ENVIRONMENT;
}
