/* main.c: the jsync program: options, logging and the command table.  The
 * commands themselves are in jsync-cmd-*.c, thin clients of jsync.h. */
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* For the ABI version the library loads appliers of. */
#include <jsync/jsync-plugin.h>

#include "jsync-cli.h"
#include "jsync-config.h"

JsyncCliOptions jsync_cli_options = { .batch_size = -1, .limit = -1 };

/* The commands; the first is the default. */
static const JsyncCliCommand main_commands[] = {
  { "sync", "bring the cache up to date with the logs (default)",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_sync },
  { "rebuild", "build a new cache from every log and swap it in",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_rebuild },
  { "status", "files, checkpoints, counts; failed, pending and lost events",
    JSYNC_CLI_READER, 0, 0, jsync_cmd_status },
  { "plugins", "the appliers found, their prefixes, and load failures",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_plugins },
  { "dump", "every applier table as canonical JSON", JSYNC_CLI_READER, 0, 0,
    jsync_cmd_dump },
  { "search", "QUERY: full-text search, every word required, best first",
    JSYNC_CLI_READER, 1, -1, jsync_cmd_search },
  { "verify", "rebuild into a temporary file and compare it with the cache",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_verify },
  { "failed", "lines and events that failed; --retry applies them again",
    JSYNC_CLI_READER, 0, 0, jsync_cmd_failed },
  { "append", "FILE [JSON]: add an event (JSON or stdin) to a log, then sync",
    JSYNC_CLI_WRITER, 1, 2, jsync_cmd_append },
  { "watch", "follow the logs, sync after each change (--json: a line a sync)",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_watch },
  { "recover", "write lost events back into their logs (--dry-run, --to)",
    JSYNC_CLI_WRITER, 0, 0, jsync_cmd_recover },
};

int
jsync_cli_report (json_object *report, const GError *error,
                  void (*print) (json_object *report))
{
  if (report == NULL)
    return jsync_cli_fail (error);
  if (jsync_cli_options.json)
    jsync_cli_print_json (report);
  else
    print (report);
  json_object_put (report);
  return JSYNC_EXIT_OK;
}

static gboolean
main_verbose_cb (const char *name, const char *value, gpointer data,
                 GError **error)
{
  jsync_cli_options.verbose++;
  return TRUE;
}

static const GOptionEntry main_entries[] = {
  { "config", 0, 0, G_OPTION_ARG_FILENAME, &jsync_cli_options.config,
    "Keyfile to read (default: $XDG_CONFIG_HOME/jsync/jsync.conf if present)",
    "FILE" },
  { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &jsync_cli_options.data_dir,
    "Folder of JSONL logs (key data-dir; default: .)", "DIR" },
  { "db", 0, 0, G_OPTION_ARG_FILENAME, &jsync_cli_options.db,
    "Cache file (key database; default under $XDG_CACHE_HOME/jsync)", "FILE" },
  { "plugins-dir", 0, 0, G_OPTION_ARG_FILENAME, &jsync_cli_options.plugins_dir,
    "Folder searched first for appliers (key plugins-dir)", "DIR" },
  { "batch-size", 0, 0, G_OPTION_ARG_INT, &jsync_cli_options.batch_size,
    "Events per transaction (key batch-size; default 1000)", "N" },
  { "strict", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.strict,
    "Stop at the first failed event (key strict)", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.json,
    "Print one JSON object on stdout", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &jsync_cli_options.quiet,
    "Print only warnings and errors", NULL },
  { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
    (gpointer) main_verbose_cb, "More messages (twice: debug)", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.version,
    "Print the version", NULL },
  { "limit", 0, 0, G_OPTION_ARG_INT, &jsync_cli_options.limit,
    "search: at most N results (default 20)", "N" },
  { "table", 0, 0, G_OPTION_ARG_STRING, &jsync_cli_options.table,
    "search: only this FTS table (or its content table)", "TABLE" },
  { "raw", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.raw,
    "search: pass QUERY to FTS5 as it is (its syntax)", NULL },
  { "retry", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.retry,
    "failed: apply the failed events again", NULL },
  { "fsync", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.fsync,
    "append: make the event durable (fsync) before the sync", NULL },
  { "dry-run", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.dry_run,
    "recover: list what would be written where, write nothing", NULL },
  { "to", 0, 0, G_OPTION_ARG_FILENAME, &jsync_cli_options.to,
    "recover: write every lost event to FILE (below the data folder)",
    "FILE" },
  { "keep-previous", 0, 0, G_OPTION_ARG_NONE, &jsync_cli_options.keep_previous,
    "rebuild: keep the replaced cache as DB.previous (key keep-previous)",
    NULL },
  G_OPTION_ENTRY_NULL
};

void
jsync_cli_clear_progress (void)
{
  if (jsync_cli_options.progress_shown)
    {
      fputs ("\r\033[K", stderr);
      jsync_cli_options.progress_shown = FALSE;
    }
}

/* Text for a terminal: what comes from outside (a log's name, a message
 * quoting one) must not act on it, so control characters and invalid
 * UTF-8 are written "\xNN" (jsync_escape_text()). */
static void G_GNUC_PRINTF (2, 0)
main_vprint (FILE *stream, const char *format, va_list args)
{
  g_autofree char *text = g_strdup_vprintf (format, args);
  g_autofree char *shown = jsync_escape_text (text, -1,
                                              JSYNC_ESCAPE_CONTROLS);

  fputs (shown, stream);
}

void
jsync_cli_printf (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  main_vprint (stdout, format, args);
  va_end (args);
}

void
jsync_cli_printerr (const char *format, ...)
{
  va_list args;

  jsync_cli_clear_progress ();
  va_start (args, format);
  main_vprint (stderr, format, args);
  va_end (args);
}

/* Under systemd (jsync-watch@.service), stderr is the journal's stream
 * (JOURNAL_STREAM names it): then each message goes to the journal as an
 * entry of its own, with its priority (GLib's PRIORITY field: 3 for
 * errors, 4 warnings, 5 messages, 6 info, 7 debug) and log domain.
 * Should the journal refuse it, the line goes to the stream after a
 * "<N>" that gives journald its priority there (sd-daemon(3)). */
static gboolean main_to_journal;

/* Whether stderr is the journal's stream: systemd says which one in
 * JOURNAL_STREAM ("<device>:<inode>", systemd.exec(5)); GLib's own check
 * knows journald's socket by its path. */
static gboolean
main_stderr_is_journal (void)
{
  const char *stream = g_getenv ("JOURNAL_STREAM");
  char *end = NULL;
  guint64 device;
  guint64 inode;
  struct stat st;

  if (g_log_writer_is_journald (STDERR_FILENO))
    return TRUE;
  if (stream == NULL || fstat (STDERR_FILENO, &st) != 0)
    return FALSE;
  device = g_ascii_strtoull (stream, &end, 10);
  if (end == stream || *end != ':')
    return FALSE;
  stream = end + 1;
  inode = g_ascii_strtoull (stream, &end, 10);
  return end != stream && *end == '\0' && device == (guint64) st.st_dev
         && inode == (guint64) st.st_ino;
}

/* One entry for the journal: `fields` with MESSAGE escaped as on a
 * terminal; FALSE when the journal did not take it. */
static gboolean
main_journal_send (GLogLevelFlags level, const GLogField *fields,
                   gsize n_fields, const char *message)
{
  g_autofree GLogField *entry = g_new (GLogField, n_fields);
  g_autofree char *shown = jsync_escape_text (message, -1,
                                              JSYNC_ESCAPE_CONTROLS);

  for (gsize i = 0; i < n_fields; i++)
    {
      entry[i] = fields[i];
      if (strcmp (fields[i].key, "MESSAGE") == 0)
        {
          entry[i].value = shown;
          entry[i].length = -1;
        }
    }
  return g_log_writer_journald (level, entry, n_fields, NULL)
         == G_LOG_WRITER_HANDLED;
}

/* Log lines go to stderr (or the journal): stdout is for results. */
static GLogWriterOutput
main_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                 gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;
  const char *priority = NULL;
  const char *prefix;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
      else if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (strcmp (fields[i].key, "PRIORITY") == 0)
        priority = fields[i].value;
    }
  if ((level & G_LOG_LEVEL_DEBUG) && jsync_cli_options.verbose < 2)
    return G_LOG_WRITER_HANDLED;
  if ((level & G_LOG_LEVEL_INFO) && jsync_cli_options.verbose < 1)
    return G_LOG_WRITER_HANDLED;
  if ((level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
      && jsync_cli_options.quiet)
    return G_LOG_WRITER_HANDLED;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    prefix = "error";
  else if (level & G_LOG_LEVEL_WARNING)
    prefix = "warning";
  else if (level & G_LOG_LEVEL_DEBUG)
    prefix = "debug";
  else
    prefix = NULL;
  if (main_to_journal)
    {
      if (main_journal_send (level, fields, n_fields,
                             message ? message : ""))
        return G_LOG_WRITER_HANDLED;
      jsync_cli_printerr ("<%s>", priority ? priority : "6");
    }
  if (domain != NULL && strcmp (domain, "jsync") != 0)
    jsync_cli_printerr ("jsync: %s%s%s: %s\n", prefix ? prefix : "",
                        prefix ? ": " : "", domain, message ? message : "");
  else
    jsync_cli_printerr ("jsync: %s%s%s\n", prefix ? prefix : "",
                        prefix ? ": " : "", message ? message : "");
  return G_LOG_WRITER_HANDLED;
}

/* Progress: on a terminal, one line redrawn at most ten times a second;
 * elsewhere (with -v) a plain line at most once a second.  Both say the
 * phase, bytes of the total, events, rate and time left. */
typedef struct
{
  gboolean terminal;        /* stderr is a terminal: redraw one line */
  char *phase;              /* owned: the phase being shown */
  gint64 phase_start;       /* µs, monotonic */
  gint64 last_shown;        /* µs, monotonic; 0 before the first */
} MainProgress;

static MainProgress main_progress_state;

static char *
main_format_eta (guint64 seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", seconds / 3600,
                            (guint) (seconds / 60 % 60), (guint) (seconds % 60));
  return g_strdup_printf ("%u:%02u", (guint) (seconds / 60),
                          (guint) (seconds % 60));
}

static void
main_progress (const JsyncProgress *progress, gpointer user_data)
{
  MainProgress *state = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean new_phase = g_strcmp0 (state->phase, progress->phase) != 0;
  g_autoptr(GString) line = g_string_new (NULL);
  double elapsed;

  if (new_phase)
    {
      g_free (state->phase);
      state->phase = g_strdup (progress->phase);
      state->phase_start = now;
    }
  else if (now - state->last_shown < (state->terminal ? G_USEC_PER_SEC / 10
                                                        : G_USEC_PER_SEC))
    return;
  state->last_shown = now;
  elapsed = (now - state->phase_start) / (double) G_USEC_PER_SEC;

  g_string_append_printf (line, state->terminal ? "%-6s" : "%s",
                          progress->phase);
  if (progress->bytes_total > 0)
    {
      guint64 done = MIN (progress->bytes_done, progress->bytes_total);
      int percent = (int) (done * 100 / progress->bytes_total);
      g_autofree char *done_text = g_format_size (done);
      g_autofree char *total_text = g_format_size (progress->bytes_total);

      if (state->terminal)
        {
          int filled = percent / 5;

          g_string_append_c (line, '[');
          for (int i = 0; i < 20; i++)
            g_string_append_c (line, i < filled ? '#' : '.');
          g_string_append_c (line, ']');
        }
      g_string_append_printf (line, " %3d%%  %s of %s", percent, done_text,
                              total_text);
      g_string_append_printf (line, "  %" G_GUINT64_FORMAT " events",
                              progress->events_done);
      if (elapsed >= 0.5 && done > 0)
        {
          double rate = done / elapsed;
          g_autofree char *rate_text = g_format_size ((guint64) rate);
          g_autofree char *eta = main_format_eta (
              (guint64) ((progress->bytes_total - done) / rate + 0.5));

          g_string_append_printf (line, "  %s/s  ETA %s", rate_text, eta);
        }
    }
  else if (progress->events_done > 0)
    g_string_append_printf (line, "  %" G_GUINT64_FORMAT " events",
                            progress->events_done);

  if (state->terminal)
    {
      struct winsize size = { 0 };
      gsize width = 80;

      if (ioctl (STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        width = size.ws_col;
      /* Never wrap: a wrapped line cannot be redrawn with \r. */
      if (g_utf8_strlen (line->str, -1) > (glong) width - 1)
        g_string_truncate (line, g_utf8_offset_to_pointer (line->str,
                                                           width - 1)
                                   - line->str);
      fprintf (stderr, "\r\033[K%s", line->str);
      jsync_cli_options.progress_shown = TRUE;
    }
  else
    fprintf (stderr, "jsync: %s\n", line->str);
  fflush (stderr);
}

void
jsync_cli_print_json (json_object *json)
{
  puts (json_object_to_json_string_ext (json, JSON_C_TO_STRING_PRETTY
                                                  | JSON_C_TO_STRING_SPACED
                                                  | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int
jsync_cli_fail (const GError *error)
{
  /* What ends the run is an error in the journal too (priority 3). */
  if (main_to_journal)
    {
      const GLogField fields[] = {
        { "MESSAGE", error->message, -1 },
        { "PRIORITY", "3", -1 },
        { "GLIB_DOMAIN", "jsync", -1 },
      };

      if (main_journal_send (G_LOG_LEVEL_CRITICAL, fields,
                             G_N_ELEMENTS (fields), error->message))
        return jsync_error_exit_status (error);
      jsync_cli_printerr ("<3>");
    }
  jsync_cli_printerr ("jsync: %s\n", error->message);
  return jsync_error_exit_status (error);
}

const char *
jsync_cli_json_string (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (object, key, &value) || value == NULL)
    return "";
  return json_object_get_string (value);
}

gint64
jsync_cli_json_int (json_object *object, const char *key)
{
  json_object *value = NULL;

  json_object_object_get_ex (object, key, &value);
  return value != NULL ? json_object_get_int64 (value) : 0;
}

/* Build the configuration: keyfile first, then the options over it. */
static JsyncConfig *
main_make_config (GError **error)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autofree char *fallback = g_build_filename (g_get_user_config_dir (),
                                                "jsync", "jsync.conf", NULL);

  if (jsync_cli_options.config != NULL)
    {
      if (!jsync_config_load_file (config, jsync_cli_options.config, error))
        return NULL;
    }
  else if (g_file_test (fallback, G_FILE_TEST_EXISTS)
           && !jsync_config_load_file (config, fallback, error))
    return NULL;
  if (jsync_cli_options.data_dir != NULL)
    jsync_config_set_data_dir (config, jsync_cli_options.data_dir);
  if (jsync_cli_options.db != NULL)
    jsync_config_set_database (config, jsync_cli_options.db);
  if (jsync_cli_options.plugins_dir != NULL)
    jsync_config_set_plugins_dir (config, jsync_cli_options.plugins_dir);
  if (jsync_cli_options.batch_size != -1)
    {
      if (jsync_cli_options.batch_size < 1
          || jsync_cli_options.batch_size > 1000000)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "--batch-size: expected 1 to 1000000, got %d",
                       jsync_cli_options.batch_size);
          return NULL;
        }
      jsync_config_set_batch_size (config, jsync_cli_options.batch_size);
    }
  if (jsync_cli_options.strict)
    jsync_config_set_strict (config, TRUE);
  if (jsync_cli_options.keep_previous)
    jsync_config_set_keep_previous (config, TRUE);
  return g_steal_pointer (&config);
}

static int
main_run (const JsyncCliCommand *command, int n_args, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncConfig) config = main_make_config (&error);
  g_autoptr(JsyncCoordinator) coordinator = NULL;

  if (config == NULL)
    return jsync_cli_fail (error);
  /* `failed --retry` applies events: it writes. */
  if (command->open == JSYNC_CLI_READER
      && !(command->run == jsync_cmd_failed && jsync_cli_options.retry))
    coordinator = jsync_coordinator_open_read_only (config, &error);
  else
    coordinator = jsync_coordinator_open (config, &error);
  if (coordinator == NULL)
    return jsync_cli_fail (error);
  main_progress_state.terminal = isatty (STDERR_FILENO);
  if (!jsync_cli_options.quiet
      && (main_progress_state.terminal || jsync_cli_options.verbose > 0))
    jsync_coordinator_set_progress (coordinator, main_progress,
                                    &main_progress_state);
  return command->run (coordinator, config, n_args, args);
}

static char *
main_describe_commands (void)
{
  GString *text = g_string_new ("Commands:\n");

  for (guint i = 0; i < G_N_ELEMENTS (main_commands); i++)
    g_string_append_printf (text, "  %-9s %s\n", main_commands[i].name,
                            main_commands[i].summary);
  g_string_append (text,
                   "\nExit status: 0 ok; 1 events failed in this run; 2 usage"
                   " or configuration;\n3 environment (I/O, lock, corruption);"
                   " 4 verify found a difference.");
  return g_string_free (text, FALSE);
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = main_describe_commands ();
  const JsyncCliCommand *command = &main_commands[0];
  int n_args;
  int status;

  setlocale (LC_ALL, "");
  main_to_journal = main_stderr_is_journal ();
  g_log_set_writer_func (main_log_writer, NULL, NULL);

  context = g_option_context_new ("[COMMAND] [ARGUMENTS]");
  g_option_context_set_summary (context,
                                "Keep a SQLite cache in step with JSONL event logs.");
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, main_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      jsync_cli_printerr ("jsync: %s (see jsync --help)\n", error->message);
      return JSYNC_EXIT_USAGE;
    }
  if (jsync_cli_options.version)
    {
      printf ("jsync %s (applier ABI %d.%d)\n", JSYNC_VERSION, JSYNC_ABI_MAJOR,
              JSYNC_ABI_MINOR);
      return JSYNC_EXIT_OK;
    }
  if (argc >= 2)
    {
      command = NULL;
      for (guint i = 0; i < G_N_ELEMENTS (main_commands); i++)
        if (strcmp (argv[1], main_commands[i].name) == 0)
          command = &main_commands[i];
      if (command == NULL)
        {
          jsync_cli_printerr ("jsync: unknown command \"%s\" (see jsync"
                              " --help)\n", argv[1]);
          return JSYNC_EXIT_USAGE;
        }
    }
  n_args = argc >= 2 ? argc - 2 : 0;
  if (n_args < command->min_args
      || (command->max_args >= 0 && n_args > command->max_args))
    {
      if (n_args > 0 && command->max_args >= 0 && n_args > command->max_args)
        jsync_cli_printerr ("jsync: %s: unexpected argument \"%s\" (see"
                            " jsync --help)\n",
                            command->name, argv[2 + command->max_args]);
      else
        g_printerr ("jsync: %s: missing argument (see jsync --help)\n",
                    command->name);
      return JSYNC_EXIT_USAGE;
    }
  /* watch stops at SIGINT or SIGTERM after the sync in hand, with exit
   * status 0 (a systemd stop right after a start, too): one that comes
   * while it starts (the cache opened, its lock waited for, the appliers
   * loaded) waits blocked until jsync_cmd_watch() takes it. */
  if (command->run == jsync_cmd_watch)
    {
      sigset_t stop;

      sigemptyset (&stop);
      sigaddset (&stop, SIGINT);
      sigaddset (&stop, SIGTERM);
      pthread_sigmask (SIG_BLOCK, &stop, NULL);
    }
  status = main_run (command, n_args, argc >= 2 ? argv + 2 : NULL);
  g_free (jsync_cli_options.config);
  g_free (jsync_cli_options.data_dir);
  g_free (jsync_cli_options.db);
  g_free (jsync_cli_options.plugins_dir);
  g_free (main_progress_state.phase);
  g_free (jsync_cli_options.table);
  g_free (jsync_cli_options.to);
  return status;
}
