/* jsync-cmd-verify.c: the command verify. */
#include <stdio.h>

#include "jsync-cli.h"

/* Lost events listed by verify without -v. */
#define CMD_LOST_SHOWN 10

static void
cmd_print_verify (json_object *report)
{
  json_object *tables = json_object_object_get (report, "tables");
  json_object *fts = json_object_object_get (report, "fts");
  json_object *lost = json_object_object_get (report, "onlyInCache");
  gboolean identical = json_object_get_boolean (
      json_object_object_get (report, "identical"));

  if (identical)
    jsync_cli_printf ("verify: the cache matches a rebuild from the logs"
                      " (%zu tables, %zu full-text indexes)\n",
                      json_object_array_length (tables),
                      json_object_array_length (fts));
  else
    jsync_cli_printf ("verify: the cache DIFFERS from a rebuild from the"
                      " logs\n");
  for (size_t i = 0; i < json_object_array_length (tables); i++)
    {
      json_object *table = json_object_array_get_idx (tables, i);
      json_object *keys = json_object_object_get (table, "keys");

      if (jsync_cli_json_int (table, "onlyInCache") == 0
          && jsync_cli_json_int (table, "onlyInRebuild") == 0)
        continue;
      jsync_cli_printf ("  %s: %" G_GINT64_FORMAT " row(s) only in the"
                        " cache, %" G_GINT64_FORMAT " only in the rebuild (%"
                        G_GINT64_FORMAT " and %" G_GINT64_FORMAT " rows);"
                        " keys:",
                        jsync_cli_json_string (table, "table"),
                        jsync_cli_json_int (table, "onlyInCache"),
                        jsync_cli_json_int (table, "onlyInRebuild"),
                        jsync_cli_json_int (table, "cacheRows"),
                        jsync_cli_json_int (table, "rebuildRows"));
      for (size_t k = 0; k < json_object_array_length (keys); k++)
        {
          json_object *key = json_object_array_get_idx (keys, k);
          gboolean first = TRUE;

          putchar (' ');
          json_object_object_foreach (key, column, value)
            {
              jsync_cli_printf ("%s%s=%s", first ? "" : ",", column,
                                value != NULL ? json_object_get_string (value)
                                              : "NULL");
              first = FALSE;
            }
        }
      putchar ('\n');
    }
  for (size_t i = 0; i < json_object_array_length (fts); i++)
    {
      json_object *index = json_object_array_get_idx (fts, i);

      if (!json_object_get_boolean (json_object_object_get (index, "ok")))
        jsync_cli_printf ("  %s: integrity-check failed: %s\n",
                          jsync_cli_json_string (index, "table"),
                          jsync_cli_json_string (index, "message"));
    }
  if (json_object_array_length (lost) > 0)
    jsync_cli_printf ("  only in the cache: %zu lost event(s), kept though no"
                      " log holds them any more (not a difference; a rebuild"
                      " would drop them)\n",
                      json_object_array_length (lost));
  for (size_t i = 0; i < json_object_array_length (lost); i++)
    {
      json_object *event = json_object_array_get_idx (lost, i);

      if (i == CMD_LOST_SHOWN && !jsync_cli_options.verbose)
        {
          jsync_cli_printf ("    and %zu more (-v or `jsync status` lists"
                            " them)\n", json_object_array_length (lost) - i);
          break;
        }
      jsync_cli_printf ("    %s in %s\n", jsync_cli_json_string (event, "id"),
                        jsync_cli_json_string (event, "file"));
    }
}

int
jsync_cmd_verify (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *report = jsync_coordinator_verify (coordinator, &error);
  gboolean identical;

  jsync_cli_clear_progress ();
  if (report == NULL)
    return jsync_cli_fail (error);
  identical = json_object_get_boolean (json_object_object_get (report,
                                                               "identical"));
  if (jsync_cli_options.json)
    jsync_cli_print_json (report);
  else
    cmd_print_verify (report);
  json_object_put (report);
  return identical ? JSYNC_EXIT_OK : JSYNC_EXIT_DIFFERENT;
}
