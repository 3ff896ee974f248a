/* jsync-cmd-plugins.c: the command plugins. */
#include <stdio.h>

#include "jsync-cli.h"

static void
cmd_print_plugins (json_object *plugins)
{
  json_object *loaded = json_object_object_get (plugins, "plugins");
  json_object *failures = json_object_object_get (plugins, "failures");
  json_object *disabled = json_object_object_get (plugins, "disabled");

  for (size_t i = 0; i < json_object_array_length (loaded); i++)
    {
      json_object *plugin = json_object_array_get_idx (loaded, i);
      json_object *prefixes = json_object_object_get (plugin, "prefixes");

      jsync_cli_printf ("%s %s%s\n  %s\n  prefixes:",
                        jsync_cli_json_string (plugin, "name"),
                        jsync_cli_json_string (plugin, "version"),
                        json_object_get_boolean (
                            json_object_object_get (plugin, "active"))
                          ? "" : "  (inactive: init failed)",
                        jsync_cli_json_string (plugin, "path"));
      for (size_t p = 0; p < json_object_array_length (prefixes); p++)
        jsync_cli_printf (" %s", json_object_get_string (
                                     json_object_array_get_idx (prefixes, p)));
      putchar ('\n');
    }
  for (size_t i = 0; i < json_object_array_length (disabled); i++)
    jsync_cli_printf ("disabled: %s\n",
                      json_object_get_string (
                          json_object_array_get_idx (disabled, i)));
  for (size_t i = 0; i < json_object_array_length (failures); i++)
    {
      json_object *failure = json_object_array_get_idx (failures, i);

      jsync_cli_printf ("not loaded: %s%s%s\n",
                        jsync_cli_json_string (failure, "path"),
                        *jsync_cli_json_string (failure, "path") ? ": " : "",
                        jsync_cli_json_string (failure, "reason"));
    }
}

int
jsync_cmd_plugins (JsyncCoordinator *coordinator, JsyncConfig *config,
                   int n_args, char **args)
{
  return jsync_cli_report (jsync_coordinator_plugins (coordinator), NULL,
                           cmd_print_plugins);
}
