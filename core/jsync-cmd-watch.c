/* jsync-cmd-watch.c: the command watch. */
#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>

#include "jsync-cli.h"

typedef struct
{
  const char *data_dir;     /* borrowed: absolute, for the messages */
  guint syncs;
} CmdWatch;

/* After each sync: its summary on stderr (and, with --json, its result on
 * stdout, one object a line); go on through errors that may pass. */
static gboolean
cmd_watch_synced (const JsyncResult *result, const GError *error,
                  gpointer user_data)
{
  CmdWatch *watch = user_data;

  jsync_cli_clear_progress ();
  if (result == NULL)
    {
      if (!g_error_matches (error, JSYNC_ERROR, JSYNC_ERROR_LOCKED)
          && !g_error_matches (error, JSYNC_ERROR, JSYNC_ERROR_IO))
        return FALSE;
      g_warning ("%s; trying again", error->message);
    }
  else
    {
      if (jsync_cli_options.json)
        {
          json_object *json = jsync_result_to_json (result, "watch");

          puts (json_object_to_json_string_ext (
              json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
          fflush (stdout);
          json_object_put (json);
        }
      g_message ("sync: %" G_GUINT64_FORMAT " applied, %" G_GUINT64_FORMAT
                 " skipped, %" G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT
                 " pending; %u file(s) read in %" G_GINT64_FORMAT " ms",
                 result->events_applied, result->events_skipped,
                 result->events_failed, result->events_pending,
                 result->files_processed->len, result->duration);
    }
  if (watch->syncs++ == 0)
    g_message ("watching %s for changes (stop with Ctrl-C)", watch->data_dir);
  return TRUE;
}

static gboolean
cmd_watch_signal (gpointer user_data)
{
  jsync_coordinator_stop_watch (user_data);
  return G_SOURCE_CONTINUE;
}

/**
 * jsync_cmd_watch:
 * `jsync watch`: sync after each change until SIGINT or SIGTERM (exit 0).
 */
int
jsync_cmd_watch (JsyncCoordinator *coordinator, JsyncConfig *config,
                 int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_canonicalize_filename (
      jsync_config_get_data_dir (config), NULL);
  CmdWatch watch = { .data_dir = data_dir };
  const struct timespec now = { 0, 0 };
  sigset_t stop;
  guint sigint;
  guint sigterm;
  gboolean ok;

  /* main() blocked them while jsync started: one that came meanwhile
   * stops it before it watches. */
  sigemptyset (&stop);
  sigaddset (&stop, SIGINT);
  sigaddset (&stop, SIGTERM);
  if (sigtimedwait (&stop, NULL, &now) > 0)
    {
      g_message ("stopped");
      return JSYNC_EXIT_OK;
    }
  sigint = g_unix_signal_add (SIGINT, cmd_watch_signal, coordinator);
  sigterm = g_unix_signal_add (SIGTERM, cmd_watch_signal, coordinator);
  pthread_sigmask (SIG_UNBLOCK, &stop, NULL);
  ok = jsync_coordinator_watch (coordinator, cmd_watch_synced, &watch, &error);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (!ok)
    return jsync_cli_fail (error);
  g_message ("stopped");
  return JSYNC_EXIT_OK;
}
