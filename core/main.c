/* main.c: the jsync program, a thin client of jsync.h. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jsync/jsync.h>

typedef struct
{
  char *config;
  char *data_dir;
  char *db;
  char *plugins_dir;
  gint batch_size;
  gboolean strict;
  gboolean json;
  gboolean quiet;
  gint verbose;
  gboolean version;
  gboolean progress_shown;
} Options;

static Options options = { .batch_size = -1 };

static gboolean
main_verbose_cb (const char *name, const char *value, gpointer data,
                 GError **error)
{
  options.verbose++;
  return TRUE;
}

static const GOptionEntry main_entries[] = {
  { "config", 0, 0, G_OPTION_ARG_FILENAME, &options.config,
    "Keyfile to read (default: $XDG_CONFIG_HOME/jsync/jsync.conf if present)",
    "FILE" },
  { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.data_dir,
    "Folder of JSONL logs (key data-dir; default: .)", "DIR" },
  { "db", 0, 0, G_OPTION_ARG_FILENAME, &options.db,
    "Cache file (key database; default under $XDG_CACHE_HOME/jsync)", "FILE" },
  { "plugins-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.plugins_dir,
    "Folder searched first for appliers (key plugins-dir)", "DIR" },
  { "batch-size", 0, 0, G_OPTION_ARG_INT, &options.batch_size,
    "Events per transaction (key batch-size; default 1000)", "N" },
  { "strict", 0, 0, G_OPTION_ARG_NONE, &options.strict,
    "Stop at the first failed event (key strict)", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
    "Print one JSON object on stdout", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet,
    "Print only warnings and errors", NULL },
  { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
    (gpointer) main_verbose_cb, "More messages (twice: debug)", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
    "Print the version", NULL },
  G_OPTION_ENTRY_NULL
};

static const char main_summary[] =
  "Commands:\n"
  "  sync      bring the cache up to date with the logs (default)\n"
  "  rebuild   build a new cache from every log and swap it in\n"
  "  status    files, checkpoints, counts, failed, pending and lost events\n"
  "  plugins   the appliers found, their prefixes, and load failures\n"
  "  dump      every applier table as canonical JSON\n"
  "\n"
  "Exit status: 0 ok; 1 events failed in this run; 2 usage or configuration;\n"
  "3 environment (I/O, lock, corruption).";

/* Log lines go to stderr, always: stdout is for results. */
static GLogWriterOutput
main_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                 gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;
  const char *prefix;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
      else if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
    }
  if ((level & G_LOG_LEVEL_DEBUG) && options.verbose < 2)
    return G_LOG_WRITER_HANDLED;
  if ((level & G_LOG_LEVEL_INFO) && options.verbose < 1)
    return G_LOG_WRITER_HANDLED;
  if ((level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) && options.quiet)
    return G_LOG_WRITER_HANDLED;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    prefix = "error";
  else if (level & G_LOG_LEVEL_WARNING)
    prefix = "warning";
  else if (level & G_LOG_LEVEL_DEBUG)
    prefix = "debug";
  else
    prefix = NULL;
  if (options.progress_shown)
    {
      fputs ("\r\033[K", stderr);
      options.progress_shown = FALSE;
    }
  if (domain != NULL && strcmp (domain, "jsync") != 0)
    fprintf (stderr, "jsync: %s%s%s: %s\n", prefix ? prefix : "",
             prefix ? ": " : "", domain, message ? message : "");
  else
    fprintf (stderr, "jsync: %s%s%s\n", prefix ? prefix : "",
             prefix ? ": " : "", message ? message : "");
  return G_LOG_WRITER_HANDLED;
}

/* Progress on a terminal: one line, redrawn. */
static void
main_progress (const char *phase, guint64 done, guint64 total,
               gpointer user_data)
{
  if (total > 0)
    fprintf (stderr, "\r\033[K%s %3d%%  %.1f / %.1f MB", phase,
             (int) (done * 100 / total), done / 1e6, total / 1e6);
  else
    fprintf (stderr, "\r\033[K%s…", phase);
  options.progress_shown = TRUE;
}

static void
main_print_json (json_object *json)
{
  puts (json_object_to_json_string_ext (json, JSON_C_TO_STRING_PRETTY
                                                  | JSON_C_TO_STRING_SPACED
                                                  | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void
main_print_result (const JsyncResult *result, const char *command)
{
  if (options.json)
    {
      json_object *json = jsync_result_to_json (result, command);

      main_print_json (json);
      json_object_put (json);
      return;
    }
  if (options.quiet)
    return;
  printf ("%s: %" G_GUINT64_FORMAT " applied, %" G_GUINT64_FORMAT
          " skipped, %" G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT
          " pending; %u file(s) read in %" G_GINT64_FORMAT " ms\n",
          command, result->events_applied, result->events_skipped,
          result->events_failed, result->events_pending,
          result->files_processed->len, result->duration);
  for (guint i = 0; i < result->files_reread->len; i++)
    {
      JsyncReread *reread = result->files_reread->pdata[i];

      printf ("  read again: %s (%s)\n", reread->file, reread->reason);
    }
  for (guint i = 0; i < result->lost_events->len; i++)
    {
      JsyncLost *lost = result->lost_events->pdata[i];

      printf ("  lost: %s no longer holds %u applied event(s)\n", lost->file,
              lost->ids->len);
    }
}

static int
main_result_status (const JsyncResult *result)
{
  if (result->files_failed > 0)
    return JSYNC_EXIT_ENVIRONMENT;
  return result->events_failed > 0 ? JSYNC_EXIT_EVENTS_FAILED : JSYNC_EXIT_OK;
}

static const char *
main_json_string (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value) || value == NULL)
    return "";
  return json_object_get_string (value);
}

static gint64
main_json_int (json_object *object, const char *key)
{
  json_object *value = NULL;

  json_object_object_get_ex (object, key, &value);
  return value != NULL ? json_object_get_int64 (value) : 0;
}

static void
main_print_status (json_object *status)
{
  json_object *files = json_object_object_get (status, "files");
  json_object *appliers = json_object_object_get (status, "appliers");
  json_object *pending = json_object_object_get (status, "pendingTypes");
  json_object *lost = json_object_object_get (status, "lostEvents");

  printf ("cache:   %s\n", main_json_string (status, "database"));
  printf ("data:    %s\n", main_json_string (status, "dataDir"));
  printf ("events:  %" G_GINT64_FORMAT " applied, %" G_GINT64_FORMAT
          " pending, %" G_GINT64_FORMAT " failed, %zu lost\n",
          main_json_int (status, "eventsApplied"),
          main_json_int (status, "eventsPending"),
          main_json_int (status, "eventsFailed"),
          json_object_array_length (lost));
  printf ("files:   %zu\n", json_object_array_length (files));
  for (size_t i = 0; i < json_object_array_length (files); i++)
    {
      json_object *file = json_object_array_get_idx (files, i);

      printf ("  %-60s %12" G_GINT64_FORMAT " bytes, %8" G_GINT64_FORMAT
              " lines%s\n",
              main_json_string (file, "file"), main_json_int (file, "offset"),
              main_json_int (file, "line"),
              main_json_int (file, "missing") ? "  (missing)" : "");
    }
  for (size_t i = 0; i < json_object_array_length (pending); i++)
    {
      json_object *type = json_object_array_get_idx (pending, i);

      printf ("pending: %s × %" G_GINT64_FORMAT "\n",
              main_json_string (type, "type"), main_json_int (type, "count"));
    }
  for (size_t i = 0; i < json_object_array_length (lost); i++)
    {
      json_object *event = json_object_array_get_idx (lost, i);

      printf ("lost:    %s in %s\n", main_json_string (event, "id"),
              main_json_string (event, "file"));
    }
  for (size_t i = 0; i < json_object_array_length (appliers); i++)
    {
      json_object *applier = json_object_array_get_idx (appliers, i);
      json_object *rows = json_object_object_get (applier, "rows");

      printf ("applier: %s %s (schema %" G_GINT64_FORMAT ")",
              main_json_string (applier, "name"),
              main_json_string (applier, "version"),
              main_json_int (applier, "schemaVersion"));
      json_object_object_foreach (rows, table, count)
        printf (" %s=%" G_GINT64_FORMAT, table, json_object_get_int64 (count));
      putchar ('\n');
    }
}

static void
main_print_plugins (json_object *plugins)
{
  json_object *loaded = json_object_object_get (plugins, "plugins");
  json_object *failures = json_object_object_get (plugins, "failures");
  json_object *disabled = json_object_object_get (plugins, "disabled");

  for (size_t i = 0; i < json_object_array_length (loaded); i++)
    {
      json_object *plugin = json_object_array_get_idx (loaded, i);
      json_object *prefixes = json_object_object_get (plugin, "prefixes");

      printf ("%s %s%s\n  %s\n  prefixes:", main_json_string (plugin, "name"),
              main_json_string (plugin, "version"),
              json_object_get_boolean (json_object_object_get (plugin, "active"))
                ? "" : "  (inactive: init failed)",
              main_json_string (plugin, "path"));
      for (size_t p = 0; p < json_object_array_length (prefixes); p++)
        printf (" %s", json_object_get_string (
                           json_object_array_get_idx (prefixes, p)));
      putchar ('\n');
    }
  for (size_t i = 0; i < json_object_array_length (disabled); i++)
    printf ("disabled: %s\n",
            json_object_get_string (json_object_array_get_idx (disabled, i)));
  for (size_t i = 0; i < json_object_array_length (failures); i++)
    {
      json_object *failure = json_object_array_get_idx (failures, i);

      printf ("not loaded: %s%s%s\n", main_json_string (failure, "path"),
              *main_json_string (failure, "path") ? ": " : "",
              main_json_string (failure, "reason"));
    }
}

/* Build the configuration: keyfile first, then the options over it. */
static JsyncConfig *
main_make_config (GError **error)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *fallback = g_build_filename (g_get_user_config_dir (),
                                                "jsync", "jsync.conf", NULL);

  if (options.config != NULL)
    {
      if (!jsync_config_load_file (config, options.config, error))
        return NULL;
    }
  else if (g_file_test (fallback, G_FILE_TEST_EXISTS)
           && !jsync_config_load_file (config, fallback, error))
    return NULL;
  if (options.data_dir != NULL)
    jsync_config_set_data_dir (config, options.data_dir);
  if (options.db != NULL)
    jsync_config_set_database (config, options.db);
  if (options.plugins_dir != NULL)
    jsync_config_set_plugins_dir (config, options.plugins_dir);
  if (options.batch_size != -1)
    {
      if (options.batch_size < 1 || options.batch_size > 1000000)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "--batch-size: expected 1 to 1000000, got %d",
                       options.batch_size);
          return NULL;
        }
      jsync_config_set_batch_size (config, options.batch_size);
    }
  if (options.strict)
    jsync_config_set_strict (config, TRUE);
  return g_steal_pointer (&config);
}

static int
main_fail (GError *error)
{
  g_printerr ("jsync: %s\n", error->message);
  return jsync_error_exit_status (error);
}

static int
main_run (const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncConfig) config = main_make_config (&error);
  g_autoptr(JsyncCoordinator) coordinator = NULL;

  if (config == NULL)
    return main_fail (error);
  coordinator = jsync_coordinator_open (config, &error);
  if (coordinator == NULL)
    return main_fail (error);
  if (!options.quiet && isatty (STDERR_FILENO))
    jsync_coordinator_set_progress (coordinator, main_progress, NULL);

  if (strcmp (command, "sync") == 0 || strcmp (command, "rebuild") == 0)
    {
      g_autoptr(JsyncResult) result =
          strcmp (command, "sync") == 0
            ? jsync_coordinator_sync (coordinator, &error)
            : jsync_coordinator_rebuild (coordinator, &error);

      if (options.progress_shown)
        fputs ("\r\033[K", stderr);
      if (result == NULL)
        return main_fail (error);
      main_print_result (result, command);
      return main_result_status (result);
    }
  if (strcmp (command, "status") == 0)
    {
      json_object *status = jsync_coordinator_status (coordinator, &error);

      if (status == NULL)
        return main_fail (error);
      if (options.json)
        main_print_json (status);
      else
        main_print_status (status);
      json_object_put (status);
      return JSYNC_EXIT_OK;
    }
  if (strcmp (command, "plugins") == 0)
    {
      json_object *plugins = jsync_coordinator_plugins (coordinator);

      if (options.json)
        main_print_json (plugins);
      else
        main_print_plugins (plugins);
      json_object_put (plugins);
      return JSYNC_EXIT_OK;
    }
  if (strcmp (command, "dump") == 0)
    {
      json_object *dump = jsync_coordinator_dump (coordinator, &error);

      if (dump == NULL)
        return main_fail (error);
      if (options.json)
        {
          json_object *wrapped = json_object_new_object ();

          json_object_object_add (wrapped, "version", json_object_new_int (1));
          json_object_object_add (wrapped, "command",
                                  json_object_new_string ("dump"));
          json_object_object_add (wrapped, "tables", dump);
          dump = wrapped;
        }
      main_print_json (dump);
      json_object_put (dump);
      return JSYNC_EXIT_OK;
    }
  g_assert_not_reached ();
  return JSYNC_EXIT_USAGE;
}

int
main (int argc, char **argv)
{
  static const char *const commands[] = { "sync", "rebuild", "status",
                                          "plugins", "dump", NULL };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const char *command = "sync";
  int status;

  setlocale (LC_ALL, "");
  g_log_set_writer_func (main_log_writer, NULL, NULL);

  context = g_option_context_new ("[COMMAND]");
  g_option_context_set_summary (context,
                                "Keep a SQLite cache in step with JSONL event logs.");
  g_option_context_set_description (context, main_summary);
  g_option_context_add_main_entries (context, main_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("jsync: %s (see jsync --help)\n", error->message);
      return JSYNC_EXIT_USAGE;
    }
  if (options.version)
    {
      printf ("jsync %s (applier ABI %d.%d)\n", JSYNC_VERSION, 1, 0);
      return JSYNC_EXIT_OK;
    }
  if (argc > 2)
    {
      g_printerr ("jsync: unexpected argument \"%s\" (see jsync --help)\n",
                  argv[2]);
      return JSYNC_EXIT_USAGE;
    }
  if (argc == 2)
    command = argv[1];
  if (!g_strv_contains (commands, command))
    {
      g_printerr ("jsync: unknown command \"%s\" (see jsync --help)\n",
                  command);
      return JSYNC_EXIT_USAGE;
    }
  status = main_run (command);
  g_free (options.config);
  g_free (options.data_dir);
  g_free (options.db);
  g_free (options.plugins_dir);
  return status;
}
