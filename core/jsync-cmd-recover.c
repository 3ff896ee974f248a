/* jsync-cmd-recover.c: the command recover. */
#include <stdio.h>

#include "jsync-cli.h"

/* What was (or would be) written where, an id a line. */
static void
cmd_print_recovered (json_object *report, gboolean dry_run)
{
  json_object *recovered = json_object_object_get (report, "recovered");

  if (json_object_array_length (recovered) == 0)
    {
      jsync_cli_printf ("no lost events to write back\n");
      return;
    }
  for (size_t i = 0; i < json_object_array_length (recovered); i++)
    {
      json_object *item = json_object_array_get_idx (recovered, i);
      json_object *ids = json_object_object_get (item, "ids");

      jsync_cli_printf ("%s %zu event(s) to %s\n",
                        dry_run ? "would write" : "wrote",
                        json_object_array_length (ids),
                        jsync_cli_json_string (item, "file"));
      for (size_t j = 0; j < json_object_array_length (ids); j++)
        jsync_cli_printf ("  %s\n", json_object_get_string (
                                        json_object_array_get_idx (ids, j)));
    }
}

/**
 * jsync_cmd_recover:
 * `jsync recover [--dry-run] [--to FILE]`: the lost events written back.
 */
int
jsync_cmd_recover (JsyncCoordinator *coordinator, JsyncConfig *config,
                   int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *report;
  int status;

  report = jsync_coordinator_recover (coordinator, jsync_cli_options.to,
                                      jsync_cli_options.dry_run
                                        ? JSYNC_RECOVER_DRY_RUN
                                        : JSYNC_RECOVER_NONE,
                                      &error);
  jsync_cli_clear_progress ();
  if (report == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    jsync_cli_print_json (report);
  else
    cmd_print_recovered (report, jsync_cli_options.dry_run);
  /* The last sync's failed events, as `jsync sync` says them. */
  status = jsync_cli_json_int (report, "eventsFailed") > 0
             ? JSYNC_EXIT_EVENTS_FAILED
             : JSYNC_EXIT_OK;
  json_object_put (report);
  return status;
}
