/* jsync-cmd-sync.c: the commands sync, rebuild, status, plugins, dump. */
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

int
jsync_cmd_status (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *status = jsync_coordinator_status (coordinator, &error);

  if (status == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    jsync_cli_print_json (status);
  else
    cmd_print_status (status);
  json_object_put (status);
  return JSYNC_EXIT_OK;
}

int
jsync_cmd_plugins (JsyncCoordinator *coordinator, JsyncConfig *config,
                   int n_args, char **args)
{
  json_object *plugins = jsync_coordinator_plugins (coordinator);

  if (jsync_cli_options.json)
    jsync_cli_print_json (plugins);
  else
    cmd_print_plugins (plugins);
  json_object_put (plugins);
  return JSYNC_EXIT_OK;
}

int
jsync_cmd_dump (JsyncCoordinator *coordinator, JsyncConfig *config,
                int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *dump = jsync_coordinator_dump (coordinator, &error);

  if (dump == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    {
      json_object *wrapped = json_object_new_object ();

      json_object_object_add (wrapped, "version", json_object_new_int (1));
      json_object_object_add (wrapped, "command",
                              json_object_new_string ("dump"));
      json_object_object_add (wrapped, "tables", dump);
      dump = wrapped;
    }
  jsync_cli_print_json (dump);
  json_object_put (dump);
  return JSYNC_EXIT_OK;
}
