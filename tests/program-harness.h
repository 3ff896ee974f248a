/* program-harness.h: run the jsync program (JSYNC_BIN) from a test, as a
 * user would, over a data folder and cache in a scratch folder.
 *
 * A run can be killed with SIGKILL after a delay (the crash loop), or after
 * a timeout (a run that must not hang); its exit status, output, duration
 * and peak memory (from wait4) come back.  The child gets the per-test
 * HOME and XDG folders that G_TEST_OPTION_ISOLATE_DIRS gives GLib's getters
 * (the environment itself says /dev/null) and JSYNC_PLUGIN_PATH as meson
 * sets it.
 */
#ifndef PROGRAM_HARNESS_H
#define PROGRAM_HARNESS_H

#include <glib.h>
#include <json-c/json.h>

#include "jsync-test.h"

G_BEGIN_DECLS

typedef struct
{
  char *dir;                /* owned: the scratch folder */
  char *data;               /* owned: dir/data */
  char *db;                 /* owned: dir/cache.db */
  char **env;               /* owned: the child's environment */
} Program;

/* A scratch folder under `root` (a folder of its own is made in it). */
Program *program_new (const char *root);
void program_free (Program *program);

/* Run the program with `args` (NULL-terminated) after --data-dir and --db
 * (`db`, or the fixture's when NULL).  kill_after ≥ 0: SIGKILL after that
 * many µs; timeout > 0: SIGKILL after that many µs, with timed_out set.
 * (transfer full) */
JTestRun *program_spawn (Program *program, const char *db,
                           const char *const *args, gint64 kill_after,
                           gint64 timeout);

/* Run to its end (60 s at most) and log it; with --json among the args,
 * stdout must be one JSON object, parsed into run->json. */
JTestRun *program_run (Program *program, const char *const *args);
#define PROGRAM_RUN(p, ...) \
  program_run ((p), (const char *const[]) { __VA_ARGS__, NULL })

/* `jsync dump` of a cache. (transfer full) */
json_object *program_dump (Program *program, const char *db);
/* NULL when the caches `a` and `b` hold the same rows, table by table;
 * else which table differs and how. (transfer full) */
char *program_compare_caches (Program *program, const char *a, const char *b);
/* jtest_cache_check_fts (db), under the name the program tests know. */
char *program_check_fts (const char *db);
/* The integer of the first row of a query on a cache (-1 if none). */
gint64 program_query_int (const char *db, const char *sql);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Program, program_free)

G_END_DECLS

#endif /* PROGRAM_HARNESS_H */
