/* jsync-cmd-status.c: the command status. */
#include <stdio.h>

#include "jsync-cli.h"

static void
cmd_print_status (json_object *status)
{
  json_object *files = json_object_object_get (status, "files");
  json_object *appliers = json_object_object_get (status, "appliers");
  json_object *pending = json_object_object_get (status, "pendingTypes");
  json_object *lost = json_object_object_get (status, "lostEvents");

  jsync_cli_printf ("cache:   %s\n",
                    jsync_cli_json_string (status, "database"));
  jsync_cli_printf ("data:    %s\n",
                    jsync_cli_json_string (status, "dataDir"));
  jsync_cli_printf ("events:  %" G_GINT64_FORMAT " applied, %" G_GINT64_FORMAT
                    " pending, %" G_GINT64_FORMAT " failed, %zu lost\n",
                    jsync_cli_json_int (status, "eventsApplied"),
                    jsync_cli_json_int (status, "eventsPending"),
                    jsync_cli_json_int (status, "eventsFailed"),
                    json_object_array_length (lost));
  jsync_cli_printf ("files:   %zu\n", json_object_array_length (files));
  for (size_t i = 0; i < json_object_array_length (files); i++)
    {
      json_object *file = json_object_array_get_idx (files, i);

      jsync_cli_printf ("  %-60s %12" G_GINT64_FORMAT " bytes, %8"
                        G_GINT64_FORMAT " lines%s\n",
                        jsync_cli_json_string (file, "file"),
                        jsync_cli_json_int (file, "offset"),
                        jsync_cli_json_int (file, "line"),
                        jsync_cli_json_int (file, "missing") ? "  (missing)"
                                                             : "");
    }
  for (size_t i = 0; i < json_object_array_length (pending); i++)
    {
      json_object *type = json_object_array_get_idx (pending, i);

      jsync_cli_printf ("pending: %s × %" G_GINT64_FORMAT "\n",
                        jsync_cli_json_string (type, "type"),
                        jsync_cli_json_int (type, "count"));
    }
  for (size_t i = 0; i < json_object_array_length (lost); i++)
    {
      json_object *event = json_object_array_get_idx (lost, i);

      jsync_cli_printf ("lost:    %s in %s\n",
                        jsync_cli_json_string (event, "id"),
                        jsync_cli_json_string (event, "file"));
    }
  if (json_object_array_length (lost) > 0)
    jsync_cli_printf ("recover: `%s` writes the lost events back into their"
                      " logs (--dry-run lists them first)\n",
                      jsync_cli_json_string (status, "recoverCommand"));
  for (size_t i = 0; i < json_object_array_length (appliers); i++)
    {
      json_object *applier = json_object_array_get_idx (appliers, i);
      json_object *rows = json_object_object_get (applier, "rows");

      jsync_cli_printf ("applier: %s %s (schema %" G_GINT64_FORMAT ")",
                        jsync_cli_json_string (applier, "name"),
                        jsync_cli_json_string (applier, "version"),
                        jsync_cli_json_int (applier, "schemaVersion"));
      json_object_object_foreach (rows, table, count)
        jsync_cli_printf (" %s=%" G_GINT64_FORMAT, table,
                          json_object_get_int64 (count));
      putchar ('\n');
    }
}

int
jsync_cmd_status (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *status = jsync_coordinator_status (coordinator, &error);

  /* How to give lost events back (docs/design.md "Recover"). */
  if (status != NULL)
    json_object_object_add (
        status, "recoverCommand",
        json_object_array_length (json_object_object_get (status,
                                                          "lostEvents"))
            > 0
          ? json_object_new_string ("jsync recover")
          : NULL);
  return jsync_cli_report (status, error, cmd_print_status);
}
