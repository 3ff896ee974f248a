/* jsync-cmd-search.c: the commands search, verify and failed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsync-cli.h"

/* Longest column value shown in a search result, in characters. */
#define CMD_SHOWN_CHARS 72

/* Lost events listed by verify without -v. */
#define CMD_LOST_SHOWN 10

/* ANSI bold, for matches in snippets on a terminal. */
#define CMD_BOLD "\033[1m"
#define CMD_PLAIN "\033[0m"

/* The marks asked of the search for text output: bytes that valid UTF-8,
 * and so an event's text, never holds.  The snippet is escaped with them
 * in it (jsync_cli_printf()), then they become bold or brackets: the text
 * matched can hold no escape sequence of its own. */
#define CMD_OPEN_MARK "\xff"
#define CMD_CLOSE_MARK "\xfe"

/* A text on one line: runs of whitespace become one space; cut to at most
 * `max` characters (with "…") when max > 0. */
static char *
cmd_one_line (const char *text, glong max)
{
  GString *line = g_string_new (NULL);
  gboolean space = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        {
          space = line->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (line, ' ');
      space = FALSE;
      g_string_append_c (line, *p);
    }
  if (max > 0 && g_utf8_validate (line->str, -1, NULL)
      && g_utf8_strlen (line->str, -1) > max)
    {
      g_string_truncate (line, g_utf8_offset_to_pointer (line->str, max - 1)
                                 - line->str);
      g_string_append (line, "…");
    }
  return g_string_free (line, FALSE);
}

/* A snippet's line, its marks replaced by bold or brackets after the rest
 * was escaped. */
static void
cmd_print_snippet (const char *snippet, gboolean bold)
{
  g_autofree char *line = cmd_one_line (snippet, 0);
  g_auto(GStrv) opened = g_strsplit (line, CMD_OPEN_MARK, -1);

  fputs ("  ", stdout);
  for (guint i = 0; opened[i] != NULL; i++)
    {
      g_auto(GStrv) closed = g_strsplit (opened[i], CMD_CLOSE_MARK, -1);

      if (i > 0)
        fputs (bold ? CMD_BOLD : "[", stdout);
      for (guint j = 0; closed[j] != NULL; j++)
        {
          if (j > 0)
            fputs (bold ? CMD_PLAIN : "]", stdout);
          jsync_cli_printf ("%s", closed[j]);
        }
    }
  putchar ('\n');
}

static void
cmd_print_search (json_object *json, gboolean bold)
{
  json_object *results = json_object_object_get (json, "results");

  for (size_t i = 0; i < json_object_array_length (results); i++)
    {
      json_object *hit = json_object_array_get_idx (results, i);
      json_object *columns = json_object_object_get (hit, "columns");
      json_object *id = json_object_object_get (hit, "id");

      if (id != NULL)
        jsync_cli_printf ("%s %s", jsync_cli_json_string (hit, "table"),
                          json_object_get_string (id));
      else
        jsync_cli_printf ("%s rowid %" G_GINT64_FORMAT,
                          jsync_cli_json_string (hit, "table"),
                          jsync_cli_json_int (hit, "rowid"));
      jsync_cli_printf ("  (rank %.3g)\n",
                        json_object_get_double (
                            json_object_object_get (hit, "rank")));
      json_object_object_foreach (columns, name, value)
        {
          g_autofree char *shown = NULL;

          if (value == NULL)
            continue;
          shown = cmd_one_line (json_object_get_string (value),
                                CMD_SHOWN_CHARS);
          jsync_cli_printf ("  %s: %s\n", name, shown);
        }
      cmd_print_snippet (jsync_cli_json_string (hit, "snippet"), bold);
    }
}

int
jsync_cmd_search (JsyncCoordinator *coordinator, JsyncConfig *config,
                  int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  /* GOption leaves the "--" that lets a query start with "-". */
  gboolean dashes = n_args > 1 && strcmp (args[0], "--") == 0;
  g_autofree char *query = g_strjoinv (" ", dashes ? args + 1 : args);
  gboolean bold = !jsync_cli_options.json && isatty (STDOUT_FILENO);
  JsyncSearchOptions options = {
    .limit = 20,
    .table = jsync_cli_options.table,
    .raw = jsync_cli_options.raw,
    .open_mark = jsync_cli_options.json ? "[" : CMD_OPEN_MARK,
    .close_mark = jsync_cli_options.json ? "]" : CMD_CLOSE_MARK,
  };
  json_object *json;

  if (jsync_cli_options.limit != -1)
    {
      if (jsync_cli_options.limit < 1 || jsync_cli_options.limit > 100000)
        {
          g_printerr ("jsync: --limit: expected 1 to 100000, got %d\n",
                      jsync_cli_options.limit);
          return JSYNC_EXIT_USAGE;
        }
      options.limit = jsync_cli_options.limit;
    }
  json = jsync_coordinator_search (coordinator, query, &options, &error);
  if (json == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    jsync_cli_print_json (json);
  else
    {
      cmd_print_search (json, bold);
      if (json_object_array_length (json_object_object_get (json, "results"))
            == 0
          && !jsync_cli_options.quiet)
        g_printerr ("jsync: search: %s\n",
                    *jsync_cli_json_string (json, "ftsQuery") != '\0'
                      ? "no match" : "no words to search for");
    }
  json_object_put (json);
  return JSYNC_EXIT_OK;
}

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
      json_object *id = json_object_object_get (item, "id");

      jsync_cli_printf ("%s:%" G_GINT64_FORMAT ": %s",
                        jsync_cli_json_string (item, "file"),
                        jsync_cli_json_int (item, "line"),
                        jsync_cli_json_string (item, "message"));
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
  if (failed == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    jsync_cli_print_json (failed);
  else
    cmd_print_failed (failed);
  json_object_put (failed);
  return JSYNC_EXIT_OK;
}
