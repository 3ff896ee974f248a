/* jsync-cmd-sync.c: the commands sync and rebuild (one result, printed
 * the same way). */
#include <stdio.h>
#include <string.h>

#include "jsync-cli.h"

static void
cmd_print_result (const JsyncResult *result, const char *command)
{
  if (jsync_cli_options.json)
    {
      json_object *json = jsync_result_to_json (result, command);

      jsync_cli_print_json (json);
      json_object_put (json);
      return;
    }
  if (jsync_cli_options.quiet)
    return;
  jsync_cli_printf ("%s: %" G_GUINT64_FORMAT " applied, %" G_GUINT64_FORMAT
                    " skipped, %" G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT
                    " pending; %u file(s) read in %" G_GINT64_FORMAT " ms\n",
                    command, result->events_applied, result->events_skipped,
                    result->events_failed, result->events_pending,
                    result->files_processed->len, result->duration);
  for (guint i = 0; i < result->files_reread->len; i++)
    {
      JsyncReread *reread = result->files_reread->pdata[i];

      jsync_cli_printf ("  read again: %s (%s)\n", reread->file,
                        reread->reason);
    }
  for (guint i = 0; i < result->lost_events->len; i++)
    {
      JsyncLost *lost = result->lost_events->pdata[i];

      jsync_cli_printf ("  lost: %s no longer holds %u applied event(s)\n",
                        lost->file, lost->ids->len);
    }
}

static int
cmd_result_status (const JsyncResult *result)
{
  if (result->files_failed > 0)
    return JSYNC_EXIT_ENVIRONMENT;
  return result->events_failed > 0 ? JSYNC_EXIT_EVENTS_FAILED : JSYNC_EXIT_OK;
}

/* sync and rebuild: the result, and an exit status from it. */
static int
cmd_run_result (JsyncResult *result, GError *error, const char *command)
{
  jsync_cli_clear_progress ();
  if (result == NULL)
    return jsync_cli_fail (error);
  cmd_print_result (result, command);
  return cmd_result_status (result);
}

int
jsync_cmd_sync (JsyncCoordinator *coordinator, JsyncConfig *config,
                int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = jsync_coordinator_sync (coordinator, &error);

  return cmd_run_result (result, error, "sync");
}

int
jsync_cmd_rebuild (JsyncCoordinator *coordinator, JsyncConfig *config,
                   int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = jsync_coordinator_rebuild (coordinator,
                                                             &error);

  return cmd_run_result (result, error, "rebuild");
}
