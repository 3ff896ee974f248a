/* cli-run.h: what test-search, test-verify, test-failed and test-progress
 * share: a fresh data folder and cache per test, the library opened on
 * them, and the jsync program run on them (through pipes, or with stdout
 * or stderr on a pseudo-terminal).
 */
#ifndef CLI_RUN_H
#define CLI_RUN_H

#include <glib.h>
#include <json-c/json.h>
#include <jsync/jsync.h>

#include "jsync-test-core.h"

G_BEGIN_DECLS

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: dir/data, the data folder */
  char *db;                     /* owned: dir/cache.db */
  char **env;                   /* owned: the child's environment */
  JsyncConfig *config;          /* owned: data and db set, for the library */
} CliFixture;

void cli_fixture_setup (CliFixture *f, gconstpointer data);
void cli_fixture_teardown (CliFixture *f, gconstpointer data);
/* cli_fixture_setup, then the example logs copied in and synced through
 * the library: every event applied, none failed. */
void cli_fixture_setup_nexus (CliFixture *f, gconstpointer data);
/* g_test_add for a case on a plain CliFixture, or on one set up by
 * cli_fixture_setup_nexus. */
#define CLI_ADD(path, func) \
  g_test_add (path, CliFixture, NULL, cli_fixture_setup, func, \
              cli_fixture_teardown)
#define CLI_ADD_NEXUS(path, func) \
  g_test_add (path, CliFixture, NULL, cli_fixture_setup_nexus, func, \
              cli_fixture_teardown)
/* Copy tests/data/nexus into the data folder. */
void cli_fixture_copy_nexus (CliFixture *f);
/* Use a private plugin folder (for the child and the library alike) holding
 * copies of the named fixture modules of build/tests/plugins/<from> ("" for
 * that folder itself); returns the folder.  (transfer full) */
char *cli_fixture_use_fixture_plugins (CliFixture *f, const char *from,
                                       const char *const *names);
/* Write, or append to, a file of the data folder. */
void cli_write (CliFixture *f, const char *relative, const char *text);
void cli_append (CliFixture *f, const char *relative, const char *text);

/* The library on the fixture's folders (asserts it opens). */
JsyncCoordinator *cli_open (CliFixture *f);
/* Open, sync, and check the run itself succeeded; returns its result. */
JsyncResult *cli_sync (CliFixture *f);

/* SQL on the cache, from a connection of its own. */
void cli_sql (CliFixture *f, const char *sql);
gint64 cli_sql_int (CliFixture *f, const char *sql);

/* Run the program with --data-dir and --db of the fixture, then args. */
JTestRun *cli_run_argv (CliFixture *f, const char *const *args);
/* The same with --json appended; stdout must be exactly one object, of
 * strict JSON in valid UTF-8. */
JTestRun *cli_run_json_argv (CliFixture *f, const char *const *args);
/* The same with stdout (tty_stdout) or stderr on a pseudo-terminal, whose
 * output is then in both out and err. */
JTestRun *cli_run_tty_argv (CliFixture *f, gboolean tty_stdout,
                          const char *const *args);

#define CLI_RUN(f, ...) \
  cli_run_argv ((f), (const char *const[]) { __VA_ARGS__, NULL })
#define CLI_RUN_JSON(f, ...) \
  cli_run_json_argv ((f), (const char *const[]) { __VA_ARGS__, NULL })
#define CLI_RUN_TTY(f, tty_stdout, ...) \
  cli_run_tty_argv ((f), (tty_stdout), (const char *const[]) { __VA_ARGS__, NULL })

G_END_DECLS

#endif /* CLI_RUN_H */
