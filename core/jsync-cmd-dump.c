/* jsync-cmd-dump.c: the command dump. */
#include "jsync-cli.h"

int
jsync_cmd_dump (JsyncCoordinator *coordinator, JsyncConfig *config,
                int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *dump = jsync_coordinator_dump (coordinator, &error);

  /* The text form is the tables alone; --json wraps them. */
  if (dump != NULL && jsync_cli_options.json)
    {
      json_object *wrapped = json_object_new_object ();

      json_object_object_add (wrapped, "version", json_object_new_int (1));
      json_object_object_add (wrapped, "command",
                              json_object_new_string ("dump"));
      json_object_object_add (wrapped, "tables", dump);
      dump = wrapped;
    }
  return jsync_cli_report (dump, error, jsync_cli_print_json);
}
