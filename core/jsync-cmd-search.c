/* jsync-cmd-search.c: the command search. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsync-cli.h"

/* Longest column value shown in a search result, in characters. */
#define CMD_SHOWN_CHARS 72

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
