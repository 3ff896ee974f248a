/* jsync-cmd-failed.c: the command failed (and failed --retry). */
#include <stdio.h>

#include "jsync-cli.h"

static guint
cmd_count_unretryable (json_object *failed)
{
  json_object *list = json_object_object_get (failed, "failed");
  guint count = 0;

  for (size_t i = 0; i < json_object_array_length (list); i++)
    if (!json_object_get_boolean (json_object_object_get (
            json_object_array_get_idx (list, i), "retryable")))
      count++;
  return count;
}

static void
cmd_print_failed (json_object *failed)
{
  json_object *list = json_object_object_get (failed, "failed");
  size_t retryable = 0;

  for (size_t i = 0; i < json_object_array_length (list); i++)
    {
      json_object *item = json_object_array_get_idx (list, i);
      json_object *id;

      jsync_cli_printf ("%s:%" G_GINT64_FORMAT ": %s",
                        jsync_cli_json_string (item, "file"),
                        jsync_cli_json_int (item, "line"),
                        jsync_cli_json_string (item, "message"));
      /* A line that is no valid event has none. */
      id = json_object_object_get (item, "id");
      if (id != NULL)
        jsync_cli_printf ("  (event %s)", json_object_get_string (id));
      putchar ('\n');
      if (json_object_get_boolean (json_object_object_get (item, "retryable")))
        retryable++;
    }
  if (jsync_cli_options.quiet)
    return;
  if (json_object_array_length (list) == 0)
    jsync_cli_printf ("no failed lines or events\n");
  else
    jsync_cli_printf ("%zu failed: %zu event(s) to retry with `jsync failed"
                      " --retry`, %zu line(s) that are no valid event\n",
                      json_object_array_length (list), retryable,
                      json_object_array_length (list) - retryable);
}

/* failed --retry: a result like sync's. */
static int
cmd_retry (JsyncCoordinator *coordinator)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = jsync_coordinator_retry_failed (coordinator,
                                                                  &error);
  json_object *failed;
  guint not_retried;

  jsync_cli_clear_progress ();
  if (result == NULL)
    return jsync_cli_fail (error);
  failed = jsync_coordinator_failed (coordinator, &error);
  if (failed == NULL)
    return jsync_cli_fail (error);
  not_retried = cmd_count_unretryable (failed);
  json_object_put (failed);
  if (jsync_cli_options.json)
    {
      json_object *json = jsync_result_to_json (result, "failed");

      json_object_object_add (json, "retry", json_object_new_boolean (TRUE));
      json_object_object_add (json, "notRetried",
                              json_object_new_int64 (not_retried));
      jsync_cli_print_json (json);
      json_object_put (json);
    }
  else if (!jsync_cli_options.quiet)
    jsync_cli_printf ("retry: %" G_GUINT64_FORMAT " applied, %"
                      G_GUINT64_FORMAT " failed again, %" G_GUINT64_FORMAT
                      " pending; %u line(s) that are no valid event not"
                      " retried\n",
                      result->events_applied, result->events_failed,
                      result->events_pending, not_retried);
  return result->events_failed > 0 ? JSYNC_EXIT_EVENTS_FAILED : JSYNC_EXIT_OK;
}

int
jsync_cmd_failed (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  json_object *failed;

  if (jsync_cli_options.retry)
    return cmd_retry (coordinator);
  failed = jsync_coordinator_failed (coordinator, &error);
  return jsync_cli_report (failed, error, cmd_print_failed);
}
