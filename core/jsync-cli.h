/* jsync-cli.h: what the jsync program's command files share.
 *
 * The program is main.c (options, logging, dispatch) plus one file per
 * command (jsync-cmd-<command>.c), each a thin client of jsync.h.  A
 * command is an entry of the table in main.c: its name, a one-line
 * summary for --help, how it opens the coordinator (to write, or to read
 * only), and the function that runs it and returns the exit status.
 */
#ifndef JSYNC_CLI_H
#define JSYNC_CLI_H

#include <jsync/jsync.h>

G_BEGIN_DECLS

/* Every option of every command (GOption accepts them anywhere on the
 * command line; a command ignores the ones that are not its own). */
typedef struct
{
  char *config;
  char *data_dir;
  char *db;
  char *plugins_dir;
  gint batch_size;          /* -1 when not given */
  gboolean strict;
  gboolean json;
  gboolean quiet;
  gint verbose;
  gboolean version;
  gboolean progress_shown;  /* a progress line is on the terminal */
  gint limit;               /* search --limit; -1 when not given */
  char *table;              /* search --table */
  gboolean raw;             /* search --raw */
  gboolean retry;           /* failed --retry */
  gboolean fsync;           /* append --fsync */
  gboolean dry_run;         /* recover --dry-run */
  char *to;                 /* recover --to */
  gboolean keep_previous;   /* rebuild --keep-previous */
} JsyncCliOptions;

extern JsyncCliOptions jsync_cli_options;

/* A command: `args` are its positional arguments (after the command
 * name).  The function type declares the commands below. */
typedef int JsyncCliRun (JsyncCoordinator *coordinator, JsyncConfig *config,
                         int n_args, char **args);

/* How a command opens the cache. */
typedef enum
{
  JSYNC_CLI_WRITER,         /* jsync_coordinator_open() */
  JSYNC_CLI_READER,         /* jsync_coordinator_open_read_only(): a report
                             * that reads a snapshot and never waits for
                             * the writer lock */
} JsyncCliOpen;

typedef struct
{
  const char *name;
  const char *summary;      /* for --help */
  JsyncCliOpen open;
  int min_args;
  int max_args;             /* -1: any number */
  JsyncCliRun *run;
} JsyncCliCommand;

/* Output helpers. */
void jsync_cli_print_json (json_object *json);
/* printf to stdout, and to stderr (after clearing a progress line), with
 * control characters and invalid UTF-8 shown as "\xNN": every text line
 * goes through them, so that no log's name acts on a terminal. */
void jsync_cli_printf (const char *format, ...) G_GNUC_PRINTF (1, 2);
void jsync_cli_printerr (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Print an error from a command and return its exit status. */
int jsync_cli_fail (const GError *error);
/* A report of a command: printed as JSON with --json, else by `print`, then
 * freed; the exit status.  NULL: there is none, `error` says why. */
int jsync_cli_report (json_object *report, const GError *error,
                      void (*print) (json_object *report));
const char *jsync_cli_json_string (json_object *object, const char *key);
gint64 jsync_cli_json_int (json_object *object, const char *key);
/* Clear a progress line before writing more to stderr. */
void jsync_cli_clear_progress (void);

/* The commands, each in jsync-cmd-<command>.c; rebuild shares sync's file
 * (jsync-cmd-sync.c), whose result it prints the same way. */
JsyncCliRun jsync_cmd_sync;
JsyncCliRun jsync_cmd_rebuild;
JsyncCliRun jsync_cmd_status;
JsyncCliRun jsync_cmd_plugins;
JsyncCliRun jsync_cmd_dump;
JsyncCliRun jsync_cmd_search;
JsyncCliRun jsync_cmd_verify;
JsyncCliRun jsync_cmd_failed;
JsyncCliRun jsync_cmd_append;
JsyncCliRun jsync_cmd_watch;
JsyncCliRun jsync_cmd_recover;

G_END_DECLS

#endif /* JSYNC_CLI_H */
