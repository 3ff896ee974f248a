/* jsync-cmd-append.c: the command append. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsync-cli.h"

/* The exit status of a sync's result, as `jsync sync` gives it. */
static int
cmd_append_result_status (const JsyncResult *result)
{
  if (result->files_failed > 0)
    return JSYNC_EXIT_ENVIRONMENT;
  return result->events_failed > 0 ? JSYNC_EXIT_EVENTS_FAILED : JSYNC_EXIT_OK;
}

/* All of standard input. */
static char *
cmd_append_read_stdin (gsize *length, GError **error)
{
  GString *text = g_string_new (NULL);
  char buffer[65536];

  for (;;)
    {
      gssize got = read (STDIN_FILENO, buffer, sizeof buffer);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_IO,
                       "standard input: %s", g_strerror (errno));
          g_string_free (text, TRUE);
          return NULL;
        }
      if (got == 0)
        break;
      g_string_append_len (text, buffer, got);
    }
  *length = text->len;
  return g_string_free (text, FALSE);
}

/**
 * jsync_cmd_append:
 * `jsync append FILE [JSON]`: the event from the argument or stdin; its id
 * on stdout.
 */
int
jsync_cmd_append (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autofree char *body = NULL;
  g_autofree char *id = NULL;
  gsize length = 0;

  if (n_args >= 2)
    {
      body = g_strdup (args[1]);
      length = strlen (body);
    }
  else
    {
      body = cmd_append_read_stdin (&length, &error);
      if (body == NULL)
        return jsync_cli_fail (error);
    }
  id = jsync_coordinator_append (coordinator, args[0], body, length,
                                 jsync_cli_options.fsync ? JSYNC_APPEND_FSYNC
                                                         : JSYNC_APPEND_NONE,
                                 &result, &error);
  jsync_cli_clear_progress ();
  if (id == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    {
      json_object *synced = jsync_result_to_json (result, "append");
      json_object *json = json_object_new_object ();
      g_autofree char *file = jsync_escape_text (args[0], -1,
                                                 JSYNC_ESCAPE_INVALID);

      json_object_object_add (json, "version", json_object_new_int (1));
      json_object_object_add (json, "command", json_object_new_string ("append"));
      json_object_object_add (json, "id", json_object_new_string (id));
      json_object_object_add (json, "file", json_object_new_string (file));
      json_object_object_foreach (synced, key, value)
        if (!json_object_object_get_ex (json, key, NULL))
          json_object_object_add (json, key, json_object_get (value));
      jsync_cli_print_json (json);
      json_object_put (json);
      json_object_put (synced);
    }
  else
    printf ("%s\n", id);
  return cmd_append_result_status (result);
}
