/* jsync-test.h: the test kit every test program links (tests/lib, built
 * once as a static library in tests/meson.build), after GStreamer's
 * libgstcheck: a test program's start, where the program and the plugins
 * are, the example data's constants, temporary trees, one way to run a
 * program, integers read from a cache, and one family of JSON member
 * helpers.  jsync-test-core.h adds the library's open, sync and dump for
 * the programs that link the core.
 */
#ifndef JSYNC_TEST_H
#define JSYNC_TEST_H

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

/* --- The example data ---------------------------------------------------- */

/* What a sync of tests/data/nexus does: the events it applies, and its
 * logs (tests/data/nexus.expected.json is the cache's dump). */
#define JTEST_NEXUS_EVENTS 317
#define JTEST_NEXUS_FILES 14

/* --- A test program ----------------------------------------------------- */

/* The start of every test program's main (): the user's locale, then
 * g_test_init with G_TEST_OPTION_ISOLATE_DIRS. */
void jtest_init (int *argc, char ***argv);

/* g_test_add for the including program's `Fixture`, `fixture_setup` and
 * `fixture_teardown`, the names most test programs give them. */
#define JTEST_ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

/* JSYNC_TEST_SCALE: 0 < scale <= 1 scales a long test's work down (the
 * sanitizer and valgrind passes of .ci/run); 1 when unset or out of
 * range. */
double jtest_scale (void);

/* A "metadata" event line (the conversation applier's): conversation
 * `conversation` titled `title`, created at `ts`, in vault "V"; the event
 * `id` of `device` at `ts`; with its "\n".  (transfer full) */
char *jtest_metadata_line (const char *id, const char *device, gint64 ts,
                           const char *conversation, const char *title);

/* --- Where things are ---------------------------------------------------- */

/* The program under test: $JSYNC_BIN (meson sets it), else the build's
 * jsync.  (transfer none) */
const char *jtest_bin (void);
/* The bundled appliers: $JSYNC_PLUGIN_PATH as the test was started with
 * (meson's build/plugins), else the build's plugins folder.
 * (transfer none) */
const char *jtest_bundled_plugins (void);
/* build/tests/plugins/<from> ("" for that folder itself), where the
 * fixture appliers are built.  (transfer full) */
char *jtest_fixture_plugins (const char *from);
/* The folder `to` made, holding copies of the fixture appliers `names`
 * (NULL-terminated, without ".so") of jtest_fixture_plugins (from). */
void jtest_copy_fixture_plugins (const char *from, const char *to,
                                 const char *const *names);
/* tests/data/nexus.  (transfer none) */
const char *jtest_nexus_dir (void);

/* argv for the program over a data folder and a cache: JSYNC_BIN,
 * --data-dir `data`, --db `db`, then `args`, NULL-terminated; the strings
 * are borrowed.  (transfer container) */
GPtrArray *jtest_jsync_argv (const char *data, const char *db,
                             const char *const *args);

/* The environment for a child: this one, with the per-test HOME and XDG
 * folders that G_TEST_OPTION_ISOLATE_DIRS gives GLib's getters (the
 * environment itself says /dev/null) and JSYNC_PLUGIN_PATH set to the
 * bundled appliers when it is not set.  (transfer full) */
char **jtest_child_environ (void);

/* --- Temporary trees ----------------------------------------------------- */

/* A fresh folder "<prefix>-XXXXXX" under `root` (g_get_tmp_dir () when
 * NULL).  (transfer full) */
char *jtest_tree_make (const char *root, const char *prefix);
/* A test's folders: a fresh "<prefix>-XXXXXX" under `root` (as
 * jtest_tree_make) in *dir, its folder "data" (made) in *data, and the path
 * of a cache below it, dir/`db_name` (not made), in *db.  (transfer full) */
void jtest_dirs_make (const char *root, const char *prefix,
                      const char *db_name, char **dir, char **data,
                      char **db);
/* The folders of jtest_dirs_make removed, and the three strings freed. */
void jtest_dirs_free (char *dir, char *data, char *db);
/* Copy one file, with that mode. */
void jtest_copy_file (const char *from, const char *to, int mode);
/* Copy a folder's files (0644) and folders, recursively; `to` is made. */
void jtest_tree_copy (const char *from, const char *to);
/* Write `text` to a file, or append it; the file is rewritten in place
 * (the same inode, as an app or a sync tool that rewrites a log does), and
 * its folder is made. */
void jtest_write_text (const char *path, const char *text, gboolean append);
/* jtest_write_text on the file `relative` below the folder `dir`; returns
 * its path.  (transfer full) */
char *jtest_write_below (const char *dir, const char *relative,
                         const char *text, gboolean append);
/* Every regular file below `top`, recursively, as paths relative to it,
 * sorted; symbolic links are not followed nor listed, and names that start
 * with "." (files and folders) are left out unless `hidden`.  A folder
 * that cannot be opened lists nothing.  (transfer full) */
GPtrArray *jtest_tree_files (const char *top, gboolean hidden);
/* Remove a file or folder and everything below it, without following
 * symbolic links, making folders readable first (tests chmod some). */
void jtest_tree_remove (const char *path);

/* --- Running a program --------------------------------------------------- */

typedef enum
{
  JTEST_TTY_NONE = 0,
  JTEST_TTY_STDOUT,             /* stdout on a pseudo-terminal */
  JTEST_TTY_STDERR,             /* stderr on a pseudo-terminal */
} JTestTty;

typedef struct
{
  const char *cwd;              /* borrowed, nullable: the child's folder */
  char *const *env;             /* borrowed, nullable: else this one's */
  const char *stdin_text;       /* borrowed, nullable: else /dev/null */
  JTestTty tty;                 /* the terminal's output is in out or err */
  gboolean json;                /* stdout must be one strict JSON object */
  int kill_signal;              /* not 0: sent after kill_after µs */
  gint64 kill_after;            /* µs (the crash loop kills within ms) */
  gint64 timeout_ms;            /* > 0: SIGKILL after that long, timed_out */
} JTestSpawn;

typedef struct
{
  int status;                   /* exit status; -1 when a signal ended it */
  int signal;                   /* the signal that ended it, or 0 */
  gboolean timed_out;           /* killed after the timeout */
  char *out;                    /* owned: stdout (or the terminal's output) */
  char *err;                    /* owned: stderr (or the terminal's output) */
  json_object *json;            /* owned, nullable: stdout parsed */
  gint64 started;               /* ms, wall clock before the spawn */
  gint64 ended;                 /* ms, wall clock after the exit */
  gint64 duration;              /* µs */
  gint64 peak_rss;              /* KiB: the child's ru_maxrss */
} JTestRun;

/* Run argv[0] (a path, or a name looked up in PATH) to its end, or until killed; asserts it could be
 * started, and with `json`, that stdout is exactly one object of strict
 * JSON in valid UTF-8.  `options` may be NULL.  (transfer full) */
JTestRun *jtest_spawn (const char *const *argv, const JTestSpawn *options);
/* jtest_spawn, logged for the test's output: the command line (after the
 * JSYNC_PLUGIN_PATH of options->env, when it has one) before, stderr
 * after; asserts that no signal ended it.  (transfer full) */
JTestRun *jtest_spawn_logged (const char *const *argv,
                              const JTestSpawn *options);
void jtest_run_free (JTestRun *run);
/* A run's end, for a child spawned some other way: status and signal from
 * the wait status, duration from `start` (g_get_monotonic_time), and the
 * peak RSS in KiB. */
void jtest_run_set_exit (JTestRun *run, int wait_status, gint64 start,
                         gint64 peak_rss);

/* Exactly one object of strict JSON, in valid UTF-8, with only white space
 * after it: asserted.  (transfer full) */
json_object *jtest_parse_object (const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JTestRun, jtest_run_free)
/* g_autoptr(json_object) in every test program. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

/* --- Text -------------------------------------------------------------- */

/* Assert that `text` holds each of the strings that follow (has) or none
 * of them (lacks): one call for the lines of a program's output a test
 * looks for, whose failure names the string and shows the text. */
#define jtest_assert_has(text, ...) \
  jtest_assert_strings (__FILE__, __LINE__, G_STRFUNC, #text, (text), TRUE, \
                        (const char *const[]) { __VA_ARGS__, NULL })
#define jtest_assert_lacks(text, ...) \
  jtest_assert_strings (__FILE__, __LINE__, G_STRFUNC, #text, (text), FALSE, \
                        (const char *const[]) { __VA_ARGS__, NULL })
void jtest_assert_strings (const char *file, int line, const char *func,
                           const char *expression, const char *text,
                           gboolean present, const char *const *strings);

/* --- The cache ----------------------------------------------------------- */

/* The integer in the first column of the first row that `sql` gives on the
 * cache at `db`, opened read-write as the program opens it; `arg`, when not
 * NULL, is bound to the statement's first parameter.  Asserts that the
 * cache opens, the statement prepares (its error is logged when not) and a
 * row comes. */
gint64 jtest_cache_int (const char *db, const char *sql, const char *arg);
/* The same for a cache another process may be writing, opened read-only
 * and waiting up to `busy_ms` for its lock: -1 when it cannot be read (yet)
 * or `sql` gives no row. */
gint64 jtest_cache_try_int (const char *db, const char *sql, int busy_ms);
/* FTS5's integrity-check on each index of the bundled appliers
 * (workspace_fts, conversation_fts, message_fts) in the cache at `db`:
 * NULL when every index agrees with its table, else "index: message" for
 * the first that does not.  Asserts that the cache opens.  (transfer full) */
char *jtest_cache_check_fts (const char *db);

/* --- JSON members -------------------------------------------------------- */

/* A member of a JSON object, asserting it is there with that type (a
 * string member may be JSON null: NULL).  (transfer none) */
json_object *jtest_member (json_object *object, const char *key);
gint64 jtest_member_int (json_object *object, const char *key);
const char *jtest_member_str (json_object *object, const char *key);
gboolean jtest_member_bool (json_object *object, const char *key);
json_object *jtest_member_array (json_object *object, const char *key);
/* The length of an array member. */
gsize jtest_member_len (json_object *object, const char *key);

/* Whether an array holds the string `text`. */
gboolean jtest_array_has_string (json_object *array, const char *text);

G_END_DECLS

#endif /* JSYNC_TEST_H */
