/* bench.c: the benchmark of issue 4 (BENCHMARKS.md).
 *
 *   build/bench/jsync-bench [--events N] [--seed S] [--repeat R] [--keep]
 *
 * One run, one corpus (written by jsync-gen-corpus into a new temp folder):
 *   (a) the baseline: the plainest loop that reads the same files in path
 *       order with getline() and json-c and applies every event with plain
 *       SQL into the bundled appliers' tables (one prepared INSERT per
 *       create, UPDATE per update, DELETE per delete; one transaction; no
 *       dedupe, no checkpoints, no plugins, no FTS triggers), then rebuilds
 *       the FTS indexes, in a process of its own;
 *   (b) `jsync rebuild`, the built program, spawned;
 *   (c) `jsync sync` with nothing new, several times (the median counts);
 *   (d) `jsync sync` after the generator appended 1% new events across many
 *       files;
 *   (e) the peak resident memory of (b), (d) and (g) (wait4's ru_maxrss;
 *       every measured process, the baseline too, is forked by a small
 *       spawner process, since Linux carries the peak across fork and
 *       exec);
 *   (f) `jsync sync` of one line of 100 MB in a folder of its own;
 *   (g) `jsync sync` after the generator appended 1% late events: another
 *       device's, timestamped inside the span already applied;
 *   (h) the disk footprint: every file jsync leaves for the folder (the
 *       cache and whatever beside it starts with its name) against the
 *       logs, after (g), and after one more `jsync rebuild` of that synced
 *       cache.
 * It prints a table (events/s, MB/s, ratios against (a)), then the targets
 * of issue 12 with the figure of this run and whether each is met, and
 * writes the figures as JSON, then removes everything it wrote unless
 * --keep.
 *
 * The baseline uses the PRAGMAs jsync's rebuild file uses (journal_mode OFF,
 * synchronous OFF, a 64 MiB page cache), so the comparison is of the work
 * done, not of durability settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "conversation-schema.h"
#include "workspace-schema.h"

/* --- Options -------------------------------------------------------------- */

typedef struct
{
  gint64 events;
  gint64 seed;
  gint64 skew;
  gint repeat;
  gint syncs;
  double append_percent;
  gint big_line_mb;
  gboolean keep;
  char *parent;             /* owned: where the temp folder goes */
  char *json_out;           /* owned */
  char *jsync;              /* owned: the program */
  char *plugins;            /* owned: its plugins folder */
  char *gen;                /* owned: the corpus generator */
} Options;

/* --- Helpers -------------------------------------------------------------- */

static void
die (const char *format, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
die (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_printerr ("jsync-bench: ");
  g_vfprintf (stderr, format, args);
  g_printerr ("\n");
  va_end (args);
  exit (1);
}

static double
now_seconds (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
tv_seconds (const struct timeval *tv)
{
  return tv->tv_sec + tv->tv_usec / 1e6;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (GArray *values)
{
  g_autoptr(GArray) sorted = g_array_copy (values);

  if (sorted->len == 0)
    return 0;
  g_array_sort (sorted, compare_double);
  if (sorted->len % 2 == 1)
    return g_array_index (sorted, double, sorted->len / 2);
  return (g_array_index (sorted, double, sorted->len / 2 - 1)
          + g_array_index (sorted, double, sorted->len / 2)) / 2;
}

static guint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

/* What the files at and below `path` hold, added to *bytes (st_size) and
 * *disk (what they take on disk, st_blocks * 512); with `remove`, they and
 * their folders are removed as they are counted.  Symbolic links are not
 * followed. */
static void
tree_walk (const char *path, gboolean remove, guint64 *bytes, guint64 *disk)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          tree_walk (child, remove, bytes, disk);
        }
      if (remove)
        g_rmdir (path);
      return;
    }
  if (S_ISREG (st.st_mode))
    {
      *bytes += st.st_size;
      *disk += (guint64) st.st_blocks * 512;
    }
  if (remove)
    g_unlink (path);
}

static void
tree_usage (const char *path, guint64 *bytes, guint64 *disk)
{
  tree_walk (path, FALSE, bytes, disk);
}

static void
remove_tree (const char *path)
{
  guint64 bytes = 0, disk = 0;

  tree_walk (path, TRUE, &bytes, &disk);
}

/* Every *.jsonl under `dir`, as paths relative to `root`, recursively. */
static void
list_logs (const char *root, const char *relative, GPtrArray *out)
{
  g_autofree char *dir_path = relative != NULL
                                ? g_build_filename (root, relative, NULL)
                                : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = relative != NULL
                                 ? g_build_filename (relative, name, NULL)
                                 : g_strdup (name);
      g_autofree char *path = g_build_filename (root, child, NULL);

      if (name[0] == '.')
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        list_logs (root, child, out);
      else if (g_str_has_suffix (name, ".jsonl"))
        g_ptr_array_add (out, g_steal_pointer (&child));
    }
}

static int
compare_path (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* --- Spawning the programs ------------------------------------------------ */

/* Linux carries a process's peak resident memory across fork() and exec():
 * a child forked by a process of 80 MB reports ru_maxrss >= 80 MB whatever
 * it does.  So every measured process (the baseline too) is forked by a
 * small spawner process, forked first, before this one grows; it reports
 * each child's wall time and wait4() rusage back through a pipe. */

typedef enum
{
  SPAWN_EXEC = 1,           /* strings: dir for child.out/err, argv... */
  SPAWN_BASELINE = 2,       /* strings: data folder, database */
} SpawnKind;

typedef struct
{
  gint32 status;            /* exit status, or -1 */
  double seconds;           /* wall clock, fork to reaped */
  double cpu_seconds;       /* user + system time */
  glong max_rss_kb;         /* peak resident memory */
  guint64 events;           /* the baseline's events applied */
  guint64 bad;              /* the baseline's lines that were not events */
} SpawnResult;

typedef struct
{
  pid_t pid;
  int requests;             /* write end */
  int results;              /* read end */
} Spawner;

static void baseline_run (const char *data, const char *path,
                          guint64 *events, guint64 *bad);

/* All of `length` bytes through `fd`, written or read, across short
 * transfers and signals; FALSE at an error or the end of the pipe. */
static gboolean
transfer_all (int fd, char *p, gsize length, gboolean writing)
{
  while (length > 0)
    {
      gssize n = writing ? write (fd, p, length) : read (fd, p, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      length -= n;
    }
  return TRUE;
}

static gboolean
write_all (int fd, const void *data, gsize length)
{
  return transfer_all (fd, (char *) data, length, TRUE);
}

static gboolean
read_all (int fd, void *data, gsize length)
{
  return transfer_all (fd, data, length, FALSE);
}

/* Run one request in a forked child; fill `result`. */
static void
spawner_run (SpawnKind kind, char **strings, char **envp, SpawnResult *result)
{
  struct rusage usage;
  guint64 counts[2] = { 0, 0 };
  int counts_pipe[2] = { -1, -1 };
  double start;
  int status;
  pid_t pid;

  memset (result, 0, sizeof *result);
  if (kind == SPAWN_BASELINE && pipe2 (counts_pipe, O_CLOEXEC) != 0)
    _exit (3);
  start = now_seconds ();
  pid = fork ();
  if (pid < 0)
    _exit (3);
  if (pid == 0)
    {
      if (kind == SPAWN_BASELINE)
        {
          baseline_run (strings[0], strings[1], &counts[0], &counts[1]);
          _exit (write_all (counts_pipe[1], counts, sizeof counts) ? 0 : 3);
        }
      else
        {
          g_autofree char *out_path = g_build_filename (strings[0], "child.out",
                                                        NULL);
          g_autofree char *err_path = g_build_filename (strings[0], "child.err",
                                                        NULL);
          int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          0644);
          int err = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                          0644);

          if (out < 0 || err < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
            _exit (127);
          execve (strings[1], strings + 1, envp);
          _exit (127);
        }
    }
  while (wait4 (pid, &status, 0, &usage) < 0)
    if (errno != EINTR)
      _exit (3);
  result->seconds = now_seconds () - start;
  result->status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  result->max_rss_kb = usage.ru_maxrss;
  result->cpu_seconds = tv_seconds (&usage.ru_utime)
                        + tv_seconds (&usage.ru_stime);
  if (kind == SPAWN_BASELINE)
    {
      close (counts_pipe[1]);
      if (result->status == 0 && read_all (counts_pipe[0], counts,
                                           sizeof counts))
        {
          result->events = counts[0];
          result->bad = counts[1];
        }
      close (counts_pipe[0]);
    }
}

/* The spawner's loop: a request is its kind, the length of its strings and
 * the strings, each ending in NUL; the answer a SpawnResult. */
static void G_GNUC_NORETURN
spawner_main (int requests, int results, char **envp)
{
  for (;;)
    {
      guint32 header[2];
      g_autofree char *buffer = NULL;
      g_autoptr(GPtrArray) strings = NULL;
      SpawnResult result;

      if (!read_all (requests, header, sizeof header))
        _exit (0);
      strings = g_ptr_array_new ();
      buffer = g_malloc (header[1] + 1);
      if (!read_all (requests, buffer, header[1]))
        _exit (3);
      buffer[header[1]] = '\0';
      for (gsize i = 0; i < header[1]; i += strlen (buffer + i) + 1)
        g_ptr_array_add (strings, buffer + i);
      g_ptr_array_add (strings, NULL);
      spawner_run ((SpawnKind) header[0], (char **) strings->pdata, envp,
                   &result);
      if (!write_all (results, &result, sizeof result))
        _exit (3);
    }
}

static void
spawner_start (Spawner *spawner, char **envp)
{
  int requests[2], results[2];

  if (pipe2 (requests, O_CLOEXEC) != 0 || pipe2 (results, O_CLOEXEC) != 0)
    die ("pipe: %s", g_strerror (errno));
  fflush (stdout);
  fflush (stderr);
  spawner->pid = fork ();
  if (spawner->pid < 0)
    die ("fork: %s", g_strerror (errno));
  if (spawner->pid == 0)
    {
      close (requests[1]);
      close (results[0]);
      spawner_main (requests[0], results[1], envp);
    }
  close (requests[0]);
  close (results[1]);
  spawner->requests = requests[1];
  spawner->results = results[0];
}

static void
spawner_stop (Spawner *spawner)
{
  int status;

  close (spawner->requests);
  close (spawner->results);
  while (waitpid (spawner->pid, &status, 0) < 0 && errno == EINTR)
    ;
}

static void
spawner_request (Spawner *spawner, SpawnKind kind, char **strings,
                 SpawnResult *result)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  guint32 header[2];

  for (guint i = 0; strings[i] != NULL; i++)
    g_byte_array_append (bytes, (const guint8 *) strings[i],
                         strlen (strings[i]) + 1);
  header[0] = kind;
  header[1] = bytes->len;
  if (!write_all (spawner->requests, header, sizeof header)
      || !write_all (spawner->requests, bytes->data, bytes->len)
      || !read_all (spawner->results, result, sizeof *result))
    die ("the spawner process died");
}

typedef struct
{
  int status;               /* exit status, or -1 */
  double seconds;           /* wall clock, spawn to reaped */
  double cpu_seconds;       /* user + system time of the child */
  glong max_rss_kb;         /* the child's peak resident memory */
  char *out;                /* owned: its stdout */
  char *err;                /* owned: its stderr */
} Child;

static void
child_clear (Child *child)
{
  g_clear_pointer (&child->out, g_free);
  g_clear_pointer (&child->err, g_free);
}

/* Run argv (through the spawner) with stdout and stderr in files of
 * `dir`, timing it and taking its rusage. */
static void
run_child (Spawner *spawner, const char *dir, char **argv, Child *child)
{
  g_autofree char *out_path = g_build_filename (dir, "child.out", NULL);
  g_autofree char *err_path = g_build_filename (dir, "child.err", NULL);
  g_autoptr(GPtrArray) strings = g_ptr_array_new ();
  SpawnResult result;

  memset (child, 0, sizeof *child);
  g_ptr_array_add (strings, (char *) dir);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (strings, argv[i]);
  g_ptr_array_add (strings, NULL);
  spawner_request (spawner, SPAWN_EXEC, (char **) strings->pdata, &result);
  child->status = result.status;
  child->seconds = result.seconds;
  child->cpu_seconds = result.cpu_seconds;
  child->max_rss_kb = result.max_rss_kb;
  g_file_get_contents (out_path, &child->out, NULL, NULL);
  g_file_get_contents (err_path, &child->err, NULL, NULL);
  g_unlink (out_path);
  g_unlink (err_path);
  if (child->status == 127)
    die ("cannot run %s", argv[0]);
}

typedef struct
{
  const Options *options;
  char *dir;                /* owned: the temp folder */
  char *data;               /* owned: the corpus */
  char *db;                 /* owned: jsync's cache */
  char **envp;              /* owned: the children's environment */
  Spawner spawner;
} Bench;

/* `jsync --json COMMAND` over `data` and `db`; its JSON result in *result.
 * `config`, when set, is a keyfile to read. */
static void
run_jsync (Bench *bench, const char *command, const char *data,
           const char *db, const char *config, Child *child,
           json_object **result)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, bench->options->jsync);
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, (char *) data);
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, (char *) db);
  g_ptr_array_add (argv, "--plugins-dir");
  g_ptr_array_add (argv, bench->options->plugins);
  if (config != NULL)
    {
      g_ptr_array_add (argv, "--config");
      g_ptr_array_add (argv, (char *) config);
    }
  g_ptr_array_add (argv, "--json");
  g_ptr_array_add (argv, "--quiet");
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, NULL);
  run_child (&bench->spawner, bench->dir, (char **) argv->pdata, child);
  *result = child->out != NULL ? json_tokener_parse (child->out) : NULL;
  if (child->status > 1 || *result == NULL)
    die ("jsync %s exited with %d: %s", command, child->status,
         child->err != NULL ? child->err : "");
}

static gint64
json_int (json_object *object, const char *key)
{
  json_object *value;

  return json_object_object_get_ex (object, key, &value)
           ? json_object_get_int64 (value) : 0;
}

/* Run the generator with `extra` arguments; its summary in *summary. */
static void
run_gen (Bench *bench, const char *const *extra, json_object **summary)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  Child child;

  g_ptr_array_add (argv, g_strdup (bench->options->gen));
  g_ptr_array_add (argv, g_strdup ("--out"));
  g_ptr_array_add (argv, g_strdup (bench->data));
  g_ptr_array_add (argv, g_strdup ("--seed"));
  g_ptr_array_add (argv, g_strdup_printf ("%" G_GINT64_FORMAT,
                                          bench->options->seed));
  g_ptr_array_add (argv, g_strdup ("--clock-skew"));
  g_ptr_array_add (argv, g_strdup_printf ("%" G_GINT64_FORMAT,
                                          bench->options->skew));
  for (guint i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra[i]));
  g_ptr_array_add (argv, NULL);
  run_child (&bench->spawner, bench->dir, (char **) argv->pdata, &child);
  *summary = child.out != NULL ? json_tokener_parse (child.out) : NULL;
  if (child.status != 0 || *summary == NULL)
    die ("jsync-gen-corpus exited with %d: %s", child.status,
         child.err != NULL ? child.err : "");
  child_clear (&child);
}

/* The figures of (d) or (g). */
typedef struct
{
  double seconds;
  double cpu_seconds;
  glong max_rss_kb;
  gint64 applied;           /* events the sync applied */
  gint64 files;             /* logs it read */
  json_object *appended;    /* owned: the generator's summary */
} SyncRun;

/* (d) and (g): the generator appends --append-percent events, in order or
 * (`late`) as another device's backdated ones, then `jsync sync`. */
static void
append_and_sync (Bench *bench, gboolean late, SyncRun *run)
{
  g_autofree char *percent = g_strdup_printf ("%g",
                                              bench->options->append_percent);
  const char *extra[] = { "--append-percent", percent,
                          late ? "--late" : NULL, NULL };
  json_object *result;
  Child child;

  run_gen (bench, extra, &run->appended);
  run_jsync (bench, "sync", bench->data, bench->db, NULL, &child, &result);
  run->seconds = child.seconds;
  run->cpu_seconds = child.cpu_seconds;
  run->max_rss_kb = child.max_rss_kb;
  run->applied = json_int (result, "eventsApplied");
  run->files = json_object_array_length (
      json_object_object_get (result, "filesProcessed"));
  json_object_put (result);
  child_clear (&child);
}

/* --- (a) The baseline ------------------------------------------------------ */

typedef enum
{
  SQL_WORKSPACE_INSERT,
  SQL_WORKSPACE_UPDATE,
  SQL_WORKSPACE_DELETE,
  SQL_WORKSPACE_DELETE_SESSIONS,
  SQL_WORKSPACE_DELETE_STATES,
  SQL_WORKSPACE_DELETE_TRACES,
  SQL_SESSION_INSERT,
  SQL_SESSION_UPDATE,
  SQL_STATE_INSERT,
  SQL_STATE_DELETE,
  SQL_TRACE_INSERT,
  SQL_CONVERSATION_INSERT,
  SQL_CONVERSATION_UPDATE,
  SQL_CONVERSATION_DELETE,
  SQL_CONVERSATION_DELETE_MESSAGES,
  SQL_MESSAGE_INSERT,
  SQL_MESSAGE_COUNT,
  SQL_MESSAGE_UPDATE,
  SQL_MESSAGE_DELETE,
  SQL_N
} BaselineSql;

/* Plain SQL: creates insert (a re-create replaces the row, as upstream
 * did), updates set what the event carries (NULL = absent), deletes delete
 * the entity and what hangs under it. */
static const char *const baseline_sql[SQL_N] = {
  [SQL_WORKSPACE_INSERT] =
    "INSERT OR REPLACE INTO workspaces (id, name, description, rootFolder,"
    " created, lastAccessed, isActive, contextJson, dedicatedAgentId)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [SQL_WORKSPACE_UPDATE] =
    "UPDATE workspaces SET name = coalesce (?2, name),"
    " description = coalesce (?3, description),"
    " rootFolder = coalesce (?4, rootFolder),"
    " lastAccessed = coalesce (?5, lastAccessed),"
    " isActive = coalesce (?6, isActive),"
    " dedicatedAgentId = coalesce (?7, dedicatedAgentId),"
    " contextJson = coalesce (?8, contextJson) WHERE id = ?1",
  [SQL_WORKSPACE_DELETE] = "DELETE FROM workspaces WHERE id = ?1",
  [SQL_WORKSPACE_DELETE_SESSIONS] =
    "DELETE FROM sessions WHERE workspaceId = ?1",
  [SQL_WORKSPACE_DELETE_STATES] = "DELETE FROM states WHERE workspaceId = ?1",
  [SQL_WORKSPACE_DELETE_TRACES] =
    "DELETE FROM memory_traces WHERE workspaceId = ?1",
  [SQL_SESSION_INSERT] =
    "INSERT OR REPLACE INTO sessions (id, workspaceId, name, description,"
    " startTime, endTime, isActive) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  [SQL_SESSION_UPDATE] =
    "UPDATE sessions SET name = coalesce (?2, name),"
    " description = coalesce (?3, description),"
    " endTime = coalesce (?4, endTime), isActive = coalesce (?5, isActive)"
    " WHERE id = ?1",
  [SQL_STATE_INSERT] =
    "INSERT OR REPLACE INTO states (id, sessionId, workspaceId, name,"
    " description, created, stateJson, tagsJson)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  [SQL_STATE_DELETE] = "DELETE FROM states WHERE id = ?1",
  [SQL_TRACE_INSERT] =
    "INSERT OR REPLACE INTO memory_traces (id, sessionId, workspaceId,"
    " timestamp, type, content, metadataJson)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  [SQL_CONVERSATION_INSERT] =
    "INSERT OR REPLACE INTO conversations (id, title, created, updated,"
    " vaultName, metadataJson, messageCount)"
    " VALUES (?1, ?2, ?3, ?3, ?4, ?5, 0)",
  [SQL_CONVERSATION_UPDATE] =
    "UPDATE conversations SET title = coalesce (?2, title),"
    " updated = max (updated, coalesce (?3, updated)),"
    " metadataJson = coalesce (?4, metadataJson) WHERE id = ?1",
  [SQL_CONVERSATION_DELETE] = "DELETE FROM conversations WHERE id = ?1",
  [SQL_CONVERSATION_DELETE_MESSAGES] =
    "DELETE FROM messages WHERE conversationId = ?1",
  [SQL_MESSAGE_INSERT] =
    "INSERT OR REPLACE INTO messages (id, conversationId, role, content,"
    " timestamp, state, toolCallsJson, toolCallId, reasoningContent,"
    " sequenceNumber, alternativesJson, activeAlternativeIndex)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
  [SQL_MESSAGE_COUNT] =
    "UPDATE conversations SET messageCount = messageCount + 1,"
    " updated = max (updated, ?2) WHERE id = ?1",
  [SQL_MESSAGE_UPDATE] =
    "UPDATE messages SET content = coalesce (?2, content),"
    " state = coalesce (?3, state),"
    " reasoningContent = coalesce (?4, reasoningContent),"
    " toolCallsJson = coalesce (?5, toolCallsJson),"
    " toolCallId = coalesce (?6, toolCallId),"
    " alternativesJson = coalesce (?7, alternativesJson),"
    " activeAlternativeIndex = coalesce (?8, activeAlternativeIndex)"
    " WHERE id = ?1",
  [SQL_MESSAGE_DELETE] = "DELETE FROM messages WHERE id = ?1",
};

typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *stmts[SQL_N];
  guint64 events;           /* applied */
  guint64 bad;              /* lines that were not events */
} Baseline;

static void
baseline_exec (Baseline *b, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (b->db, sql, NULL, NULL, &message) != SQLITE_OK)
    die ("baseline: %s: %s", sql, message);
}

/* A member of `object`, or NULL when absent. */
static json_object *
member (json_object *object, const char *key)
{
  json_object *value = NULL;

  if (object != NULL)
    json_object_object_get_ex (object, key, &value);
  return value;
}

/* Bind a string member as text; absent or null as NULL. */
static void
bind_string (sqlite3_stmt *stmt, int index, json_object *object,
             const char *key, const char *fallback)
{
  json_object *value = member (object, key);

  if (value != NULL && json_object_is_type (value, json_type_string))
    sqlite3_bind_text (stmt, index, json_object_get_string (value),
                       json_object_get_string_len (value), SQLITE_STATIC);
  else if (fallback != NULL)
    sqlite3_bind_text (stmt, index, fallback, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

/* Bind an integer (or boolean) member; absent or null as `fallback` when
 * `has_fallback`, else NULL. */
static void
bind_int (sqlite3_stmt *stmt, int index, json_object *object, const char *key,
          gboolean has_fallback, gint64 fallback)
{
  json_object *value = member (object, key);

  if (value != NULL && (json_object_is_type (value, json_type_int)
                        || json_object_is_type (value, json_type_boolean)))
    sqlite3_bind_int64 (stmt, index, json_object_get_int64 (value));
  else if (has_fallback)
    sqlite3_bind_int64 (stmt, index, fallback);
  else
    sqlite3_bind_null (stmt, index);
}

/* Bind any JSON member as compact JSON text; absent or null as NULL. */
static void
bind_json (sqlite3_stmt *stmt, int index, json_object *object,
           const char *key)
{
  json_object *value = member (object, key);

  if (value != NULL)
    sqlite3_bind_text (stmt, index,
                       json_object_to_json_string_ext (
                           value, JSON_C_TO_STRING_PLAIN
                                    | JSON_C_TO_STRING_NOSLASHESCAPE),
                       -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

static void
step (Baseline *b, BaselineSql which)
{
  sqlite3_stmt *stmt = b->stmts[which];

  if (sqlite3_step (stmt) != SQLITE_DONE)
    die ("baseline: %s: %s", baseline_sql[which], sqlite3_errmsg (b->db));
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/* Where a statement's parameter comes from. */
typedef enum
{
  BIND_END = 0,     /* no more parameters */
  BIND_TEXT,        /* a string member; absent: `text`, or NULL */
  BIND_JSON,        /* any member as compact JSON; absent: NULL */
  BIND_INT,         /* an integer (or boolean) member; absent: NULL */
  BIND_INT_OR,      /* the same; absent: `number` */
  BIND_INT_OR_TIME, /* the same; absent: the event's time */
  BIND_TIME,        /* the event's time */
} BindKind;

typedef struct
{
  BindKind kind;
  gboolean envelope;        /* a member of the event (a routing id), not
                             * of its data */
  const char *key;
  const char *text;
  gint64 number;
} Bind;

/* One statement of an event: its parameters ?1, ?2, ... in order. */
typedef struct
{
  BaselineSql which;
  Bind binds[12];
} BaselineStep;

/* What an event type writes: its statements in order.  The event's time is
 * its timestamp, or the data member `time_key` when there is one. */
typedef struct
{
  const char *type;
  const char *time_key;
  BaselineStep steps[4];
} BaselineEvent;

#define TEXT(key) { BIND_TEXT, FALSE, key, NULL, 0 }
#define TEXT_OR(key, text) { BIND_TEXT, FALSE, key, text, 0 }
#define ROUTE(key) { BIND_TEXT, TRUE, key, NULL, 0 }
#define JSON(key) { BIND_JSON, FALSE, key, NULL, 0 }
#define INT(key) { BIND_INT, FALSE, key, NULL, 0 }
#define INT_OR(key, number) { BIND_INT_OR, FALSE, key, NULL, number }
#define INT_OR_TIME(key) { BIND_INT_OR_TIME, FALSE, key, NULL, 0 }
#define TIME { BIND_TIME, FALSE, NULL, NULL, 0 }

static const BaselineEvent baseline_events[] = {
  { "message_updated", NULL, {
    { SQL_MESSAGE_UPDATE, { ROUTE ("messageId"), TEXT ("content"),
                            TEXT ("state"), TEXT ("reasoning"),
                            JSON ("tool_calls"), TEXT ("tool_call_id"),
                            JSON ("alternatives"),
                            INT ("activeAlternativeIndex") } } } },
  { "message", NULL, {
    { SQL_MESSAGE_INSERT, { TEXT ("id"), ROUTE ("conversationId"),
                            TEXT_OR ("role", "user"), TEXT_OR ("content", ""),
                            TIME, TEXT_OR ("state", "complete"),
                            JSON ("tool_calls"), TEXT ("tool_call_id"),
                            TEXT ("reasoning"), INT_OR ("sequenceNumber", 0),
                            JSON ("alternatives"),
                            INT_OR ("activeAlternativeIndex", 0) } },
    { SQL_MESSAGE_COUNT, { ROUTE ("conversationId"), TIME } } } },
  { "message_deleted", NULL, {
    { SQL_MESSAGE_DELETE, { ROUTE ("messageId") } } } },
  { "metadata", NULL, {
    { SQL_CONVERSATION_INSERT, { TEXT ("id"), TEXT_OR ("title", "Untitled"),
                                 INT_OR_TIME ("created"),
                                 TEXT_OR ("vault", ""),
                                 JSON ("settings") } } } },
  { "conversation_updated", NULL, {
    { SQL_CONVERSATION_UPDATE, { ROUTE ("conversationId"), TEXT ("title"),
                                 INT ("updated"), JSON ("settings") } } } },
  { "conversation_deleted", NULL, {
    { SQL_CONVERSATION_DELETE, { ROUTE ("conversationId") } },
    { SQL_CONVERSATION_DELETE_MESSAGES, { ROUTE ("conversationId") } } } },
  { "trace_added", NULL, {
    { SQL_TRACE_INSERT, { TEXT ("id"), ROUTE ("sessionId"),
                          ROUTE ("workspaceId"), TIME, TEXT ("traceType"),
                          TEXT_OR ("content", ""),
                          TEXT ("metadataJson") } } } },
  { "workspace_updated", NULL, {
    { SQL_WORKSPACE_UPDATE, { ROUTE ("workspaceId"), TEXT ("name"),
                              TEXT ("description"), TEXT ("rootFolder"),
                              INT ("lastAccessed"), INT ("isActive"),
                              TEXT ("dedicatedAgentId"),
                              TEXT ("contextJson") } } } },
  { "session_created", NULL, {
    { SQL_SESSION_INSERT, { TEXT ("id"), ROUTE ("workspaceId"),
                            TEXT_OR ("name", "Unnamed Session"),
                            TEXT ("description"), INT_OR_TIME ("startTime"),
                            INT ("endTime"),
                            INT_OR ("isActive", 1) } } } },
  { "session_updated", NULL, {
    { SQL_SESSION_UPDATE, { ROUTE ("sessionId"), TEXT ("name"),
                            TEXT ("description"), INT ("endTime"),
                            INT ("isActive") } } } },
  { "state_saved", NULL, {
    { SQL_STATE_INSERT, { TEXT ("id"), ROUTE ("sessionId"),
                          ROUTE ("workspaceId"),
                          TEXT_OR ("name", "Unnamed State"),
                          TEXT ("description"), INT_OR_TIME ("created"),
                          TEXT_OR ("stateJson", "{}"),
                          JSON ("tags") } } } },
  { "state_deleted", NULL, {
    { SQL_STATE_DELETE, { ROUTE ("stateId") } } } },
  /* A workspace's time is its data's created, when it has one. */
  { "workspace_created", "created", {
    { SQL_WORKSPACE_INSERT, { TEXT ("id"), TEXT_OR ("name", ""),
                              TEXT ("description"),
                              TEXT_OR ("rootFolder", ""), TIME,
                              INT_OR_TIME ("lastAccessed"),
                              INT_OR ("isActive", 1), TEXT ("contextJson"),
                              TEXT ("dedicatedAgentId") } } } },
  { "workspace_deleted", NULL, {
    { SQL_WORKSPACE_DELETE, { ROUTE ("workspaceId") } },
    { SQL_WORKSPACE_DELETE_SESSIONS, { ROUTE ("workspaceId") } },
    { SQL_WORKSPACE_DELETE_STATES, { ROUTE ("workspaceId") } },
    { SQL_WORKSPACE_DELETE_TRACES, { ROUTE ("workspaceId") } } } },
};

#undef TEXT
#undef TEXT_OR
#undef ROUTE
#undef JSON
#undef INT
#undef INT_OR
#undef INT_OR_TIME
#undef TIME

/* Bind the parameters of `step` from `event` and its `data`, and step. */
static void
baseline_step (Baseline *b, const BaselineStep *step_of, json_object *event,
               json_object *data, gint64 time)
{
  sqlite3_stmt *s = b->stmts[step_of->which];

  for (int i = 0; i < (int) G_N_ELEMENTS (step_of->binds)
                  && step_of->binds[i].kind != BIND_END; i++)
    {
      const Bind *bind = &step_of->binds[i];
      json_object *object = bind->envelope ? event : data;

      switch (bind->kind)
        {
        case BIND_TEXT:
          bind_string (s, i + 1, object, bind->key, bind->text);
          break;
        case BIND_JSON:
          bind_json (s, i + 1, object, bind->key);
          break;
        case BIND_INT:
          bind_int (s, i + 1, object, bind->key, FALSE, 0);
          break;
        case BIND_INT_OR:
          bind_int (s, i + 1, object, bind->key, TRUE, bind->number);
          break;
        case BIND_INT_OR_TIME:
          bind_int (s, i + 1, object, bind->key, TRUE, time);
          break;
        case BIND_TIME:
          sqlite3_bind_int64 (s, i + 1, time);
          break;
        case BIND_END:
        default:
          g_assert_not_reached ();
        }
    }
  step (b, step_of->which);
}

/* Apply one event with plain SQL. */
static void
baseline_apply (Baseline *b, json_object *event)
{
  json_object *type_value = member (event, "type");
  json_object *data = member (event, "data");
  const char *type;
  gint64 time;

  if (type_value == NULL || !json_object_is_type (type_value, json_type_string))
    {
      b->bad++;
      return;
    }
  type = json_object_get_string (type_value);
  time = json_object_get_int64 (member (event, "timestamp"));
  for (guint i = 0; i < G_N_ELEMENTS (baseline_events); i++)
    {
      const BaselineEvent *e = &baseline_events[i];
      json_object *own_time;

      if (strcmp (type, e->type) != 0)
        continue;
      b->events++;
      own_time = e->time_key != NULL ? member (data, e->time_key) : NULL;
      if (own_time != NULL)
        time = json_object_get_int64 (own_time);
      for (guint j = 0; j < G_N_ELEMENTS (e->steps)
                        && e->steps[j].binds[0].kind != BIND_END; j++)
        baseline_step (b, &e->steps[j], event, data, time);
      return;
    }
  b->bad++;
}

/* The whole baseline: a new database at `path` from the logs of `data`. */
static void
baseline_run (const char *data, const char *path, guint64 *events,
              guint64 *bad)
{
  g_autoptr(GPtrArray) logs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) triggers = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  Baseline b = { 0 };
  char *line = NULL;
  size_t capacity = 0;

  g_unlink (path);
  if (sqlite3_open (path, &b.db) != SQLITE_OK)
    die ("baseline: %s: %s", path, sqlite3_errmsg (b.db));
  baseline_exec (&b, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                     " PRAGMA cache_size = -65536;");
  baseline_exec (&b, workspace_schema_sql);
  baseline_exec (&b, conversation_schema_sql);
  /* No triggers: the FTS indexes are rebuilt once at the end. */
  if (sqlite3_prepare_v2 (b.db, "SELECT name FROM sqlite_master"
                                " WHERE type = 'trigger'", -1, &stmt, NULL)
      != SQLITE_OK)
    die ("baseline: %s", sqlite3_errmsg (b.db));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (triggers,
                     g_strdup_printf ("DROP TRIGGER \"%s\"",
                                      sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  for (guint i = 0; i < triggers->len; i++)
    baseline_exec (&b, triggers->pdata[i]);
  for (guint i = 0; i < SQL_N; i++)
    if (sqlite3_prepare_v2 (b.db, baseline_sql[i], -1, &b.stmts[i], NULL)
        != SQLITE_OK)
      die ("baseline: %s: %s", baseline_sql[i], sqlite3_errmsg (b.db));

  baseline_exec (&b, "BEGIN");
  list_logs (data, NULL, logs);
  g_ptr_array_sort (logs, compare_path);
  for (guint i = 0; i < logs->len; i++)
    {
      g_autofree char *file_path = g_build_filename (data, logs->pdata[i],
                                                     NULL);
      FILE *file = fopen (file_path, "r");
      ssize_t n;

      if (file == NULL)
        die ("baseline: %s: %s", file_path, g_strerror (errno));
      while ((n = getline (&line, &capacity, file)) > 0)
        {
          json_object *event;

          if (line[n - 1] == '\n')
            line[--n] = '\0';
          if (n == 0)
            continue;
          event = json_tokener_parse (line);
          if (event == NULL)
            {
              b.bad++;
              continue;
            }
          baseline_apply (&b, event);
          json_object_put (event);
        }
      fclose (file);
    }
  free (line);
  baseline_exec (&b, "INSERT INTO workspace_fts (workspace_fts)"
                     " VALUES ('rebuild');"
                     "INSERT INTO conversation_fts (conversation_fts)"
                     " VALUES ('rebuild');"
                     "INSERT INTO message_fts (message_fts)"
                     " VALUES ('rebuild');");
  baseline_exec (&b, "COMMIT");
  for (guint i = 0; i < SQL_N; i++)
    sqlite3_finalize (b.stmts[i]);
  if (sqlite3_close (b.db) != SQLITE_OK)
    die ("baseline: close: %s", sqlite3_errmsg (b.db));
  *events = b.events;
  *bad = b.bad;
}

/* Rows of `table`, read as an immutable file: no -wal or -shm made beside
 * it, which (h) would count as jsync's. */
static gint64
count_rows (const char *db_path, const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM \"%s\"",
                                          table);
  g_autofree char *escaped = g_uri_escape_string (db_path, "/", FALSE);
  g_autofree char *uri = g_strconcat ("file:", escaped, "?immutable=1", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count = -1;

  if (sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                       NULL) == SQLITE_OK
      && sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return count;
}

/* --- Reporting ------------------------------------------------------------ */

static json_object *
measure_json (double seconds, guint64 events, guint64 bytes, glong rss_kb)
{
  json_object *m = json_object_new_object ();

  json_object_object_add (m, "seconds", json_object_new_double (seconds));
  json_object_object_add (m, "eventsPerSecond",
                          json_object_new_double (seconds > 0 ? events / seconds
                                                              : 0));
  json_object_object_add (m, "mbPerSecond",
                          json_object_new_double (seconds > 0
                                                    ? bytes / 1e6 / seconds
                                                    : 0));
  json_object_object_add (m, "peakRssKb", json_object_new_int64 (rss_kb));
  return m;
}

static json_object *
array_json (GArray *values)
{
  json_object *array = json_object_new_array ();

  for (guint i = 0; i < values->len; i++)
    json_object_array_add (array,
                           json_object_new_double (g_array_index (values,
                                                                  double, i)));
  return array;
}

static char *
machine_cpu (void)
{
  g_autofree char *cpuinfo = NULL;
  char **lines;
  char *model = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return g_strdup ("unknown");
  lines = g_strsplit (cpuinfo, "\n", -1);
  for (guint i = 0; lines[i] != NULL && model == NULL; i++)
    if (g_str_has_prefix (lines[i], "model name"))
      {
        const char *colon = strchr (lines[i], ':');

        if (colon != NULL)
          model = g_strstrip (g_strdup (colon + 1));
      }
  g_strfreev (lines);
  return model != NULL ? model : g_strdup ("unknown");
}

static json_object *
machine_json (void)
{
  json_object *m = json_object_new_object ();
  g_autofree char *cpu = machine_cpu ();
  struct utsname uts;
  long pages = sysconf (_SC_PHYS_PAGES);
  long page = sysconf (_SC_PAGE_SIZE);

  json_object_object_add (m, "cpu", json_object_new_string (cpu));
  json_object_object_add (m, "cpus",
                          json_object_new_int (g_get_num_processors ()));
  json_object_object_add (m, "ramMb",
                          json_object_new_int64 ((gint64) pages * page
                                                 / (1024 * 1024)));
  if (uname (&uts) == 0)
    {
      g_autofree char *kernel = g_strdup_printf ("%s %s", uts.sysname,
                                                 uts.release);

      json_object_object_add (m, "kernel", json_object_new_string (kernel));
    }
  json_object_object_add (m, "sqlite",
                          json_object_new_string (sqlite3_libversion ()));
  return m;
}

static const char *
verdict (gboolean ok)
{
  return ok ? "met" : "MISSED";
}

/* The row of (d) or (g) in the table; `versus` is its ratio. */
static void
sync_run_print (const char *label, const SyncRun *run, const char *versus,
                const char *target, gboolean met)
{
  g_print ("%-24s %8.3f s %12.0f %9s %12s %8.2f s %7ld MB   target %s: %s\n",
           label, run->seconds, run->applied / run->seconds, "", versus,
           run->cpu_seconds, run->max_rss_kb / 1024, target, verdict (met));
}

/* The JSON of (d) or (g); takes run->appended. */
static json_object *
sync_run_json (SyncRun *run, double percent)
{
  json_object *m = measure_json (run->seconds, run->applied,
                                 json_int (run->appended, "bytes"),
                                 run->max_rss_kb);

  json_object_object_add (m, "percent", json_object_new_double (percent));
  json_object_object_add (m, "eventsApplied",
                          json_object_new_int64 (run->applied));
  json_object_object_add (m, "filesProcessed",
                          json_object_new_int64 (run->files));
  json_object_object_add (m, "cpuSeconds",
                          json_object_new_double (run->cpu_seconds));
  json_object_object_add (m, "appended", g_steal_pointer (&run->appended));
  return m;
}

/* A row of the targets' table, its cells padded to their width in
 * characters (printf pads in bytes: "×" and "≤" are two or three). */
static void
target_row (const char *what, const char *now, const char *target,
            const char *met)
{
  const char *cells[] = { what, now, target };
  const int widths[] = { 40, 14, 12 };

  for (guint i = 0; i < G_N_ELEMENTS (cells); i++)
    g_print ("%s%*s ", cells[i],
             MAX (0, widths[i] - (int) g_utf8_strlen (cells[i], -1)), "");
  g_print ("%s\n", met);
}

/* A target's row: `now` (in `unit`) against `limit`. */
static void
target_print (const char *what, double now, const char *unit, double limit,
              const char *target)
{
  g_autofree char *figure = g_strdup_printf ("%.2f%s", now, unit);

  target_row (what, figure, target, verdict (now <= limit));
}

/* (h): every file jsync leaves for the folder, the cache `db` and whatever
 * beside it starts with its name (-wal, -shm, .lock, .previous, a
 * rebuild's folder), against the logs below `data`.  The footprint is what
 * those files take on disk (st_blocks * 512), the logs' their bytes
 * (st_size, as the generator counts them); the JSON has both measures of
 * both.  The ratio in *ratio. */
static json_object *
footprint_json (const char *db, const char *data, double *ratio)
{
  g_autofree char *dir_path = g_path_get_dirname (db);
  g_autofree char *base = g_path_get_basename (db);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  json_object *f = json_object_new_object ();
  json_object *files = json_object_new_object ();
  guint64 bytes = 0, disk = 0, logs = 0, logs_disk = 0;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, base))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_path);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir_path, names->pdata[i],
                                                NULL);
      json_object *file = json_object_new_object ();
      guint64 file_bytes = 0, file_disk = 0;

      tree_usage (path, &file_bytes, &file_disk);
      json_object_object_add (file, "bytes",
                              json_object_new_int64 (file_bytes));
      json_object_object_add (file, "diskBytes",
                              json_object_new_int64 (file_disk));
      json_object_object_add (files, names->pdata[i], file);
      bytes += file_bytes;
      disk += file_disk;
    }
  tree_usage (data, &logs, &logs_disk);
  *ratio = (double) disk / MAX (logs, 1);
  json_object_object_add (f, "diskBytes", json_object_new_int64 (disk));
  json_object_object_add (f, "bytes", json_object_new_int64 (bytes));
  json_object_object_add (f, "logsBytes", json_object_new_int64 (logs));
  json_object_object_add (f, "logsDiskBytes",
                          json_object_new_int64 (logs_disk));
  json_object_object_add (f, "ratio", json_object_new_double (*ratio));
  json_object_object_add (f, "files", files);
  return f;
}

/* One line of (h): the footprint `f` of footprint_json(), file by file. */
static void
footprint_print (const char *label, json_object *f)
{
  json_object *files = json_object_object_get (f, "files");
  g_autoptr(GString) list = g_string_new (NULL);

  json_object_object_foreach (files, name, file)
    g_string_append_printf (list, "%s%s %.1f", list->len > 0 ? ", " : "",
                            name, json_int (file, "diskBytes") / 1e6);
  g_print ("%-24s %8.1f MB on disk = %.2f× the logs' %.1f MB (%s)\n", label,
           json_int (f, "diskBytes") / 1e6,
           json_object_get_double (json_object_object_get (f, "ratio")),
           json_int (f, "logsBytes") / 1e6, list->str);
}

/* --- The run ---------------------------------------------------------------- */

/* (f): one message of `mb` MB in a folder of its own, synced with a keyfile
 * that allows such lines; its peak memory against the line's size. */
static double
big_line (Bench *bench, gint mb, json_object *report)
{
  g_autofree char *data = g_build_filename (bench->dir, "big", NULL);
  g_autofree char *conv_dir = g_build_filename (data, "conversations", NULL);
  g_autofree char *log = g_build_filename (conv_dir, "conv_big.jsonl", NULL);
  g_autofree char *db = g_build_filename (bench->dir, "big.db", NULL);
  g_autofree char *config = g_build_filename (bench->dir, "big.conf", NULL);
  g_autofree char *keyfile = NULL;
  gsize content = (gsize) mb * 1000 * 1000;
  json_object *result, *f;
  double ratio;
  Child child;
  FILE *file;

  g_mkdir_with_parents (conv_dir, 0755);
  file = fopen (log, "w");
  if (file == NULL)
    die ("%s: %s", log, g_strerror (errno));
  fputs ("{\"type\":\"metadata\",\"data\":{\"id\":\"big\",\"title\":\"Big\","
         "\"created\":1717200000000,\"vault\":\"MyVault\"},\"id\":"
         "\"00000000-0000-4000-8000-000000000001\",\"deviceId\":\"d\","
         "\"timestamp\":1717200000000}\n\n", file);
  fputs ("{\"type\":\"message\",\"conversationId\":\"big\",\"data\":{\"id\":"
         "\"m\",\"role\":\"user\",\"content\":\"", file);
  for (gsize i = 0; i < content; i += 10)
    fputs (i % 1000 == 990 ? "pasted \\n " : "log line. ", file);
  fputs ("\",\"state\":\"complete\",\"sequenceNumber\":0},\"id\":"
         "\"00000000-0000-4000-8000-000000000002\",\"deviceId\":\"d\","
         "\"timestamp\":1717200000001}\n", file);
  if (fclose (file) != 0)
    die ("%s: %s", log, g_strerror (errno));
  keyfile = g_strdup_printf ("[jsync]\nmax-line-bytes = %" G_GSIZE_FORMAT "\n",
                             content * 4);
  g_file_set_contents (config, keyfile, -1, NULL);

  run_jsync (bench, "sync", data, db, config, &child, &result);
  ratio = child.max_rss_kb * 1024.0 / MAX (file_size (log), 1);
  f = json_object_new_object ();
  json_object_object_add (f, "lineBytes",
                          json_object_new_int64 (file_size (log)));
  json_object_object_add (f, "seconds", json_object_new_double (child.seconds));
  json_object_object_add (f, "peakRssKb",
                          json_object_new_int64 (child.max_rss_kb));
  json_object_object_add (f, "eventsApplied",
                          json_object_new_int64 (json_int (result,
                                                           "eventsApplied")));
  json_object_object_add (f, "ratio", json_object_new_double (ratio));
  json_object_object_add (report, "bigLine", f);
  g_print ("(f) one %d MB line    sync %.2f s, %" G_GINT64_FORMAT
           " event(s) applied, peak RSS %ld MB = %.1f× the line\n", mb,
           child.seconds, json_int (result, "eventsApplied"),
           child.max_rss_kb / 1024, ratio);
  json_object_put (result);
  child_clear (&child);
  remove_tree (data);
  return ratio;
}

int
main (int argc, char **argv)
{
  Options options = {
    .events = 100000,
    .seed = 1,
    .skew = 8000,
    .repeat = 1,
    .syncs = 5,
    .append_percent = 1.0,
    .big_line_mb = 100,
  };
  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &options.events,
      "Events in the corpus (default 100000)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &options.seed,
      "Seed of the corpus (default 1)", "S" },
    { "clock-skew", 0, 0, G_OPTION_ARG_INT64, &options.skew,
      "How far the corpus's device clocks disagree, ms (default 8000)", "MS" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &options.repeat,
      "Run (a) and (b) R times, alternating; medians count (default 1)", "R" },
    { "syncs", 0, 0, G_OPTION_ARG_INT, &options.syncs,
      "Runs of (c), sync with nothing new (default 5)", "K" },
    { "append-percent", 0, 0, G_OPTION_ARG_DOUBLE, &options.append_percent,
      "New events for (d), percent of the corpus (default 1)", "P" },
    { "big-line-mb", 0, 0, G_OPTION_ARG_INT, &options.big_line_mb,
      "Size of the one line of (f), MB; 0 skips it (default 100)", "MB" },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &options.keep,
      "Keep the temp folder (corpus and caches)", NULL },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.parent,
      "Where the temp folder goes (default $TMPDIR or /tmp)", "DIR" },
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &options.json_out,
      "The results as JSON (default bench-results.json)", "FILE" },
    { "jsync", 0, 0, G_OPTION_ARG_FILENAME, &options.jsync,
      "The jsync program (default: the one built beside)", "PATH" },
    { "plugins-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.plugins,
      "Its plugins folder (default: the built one)", "DIR" },
    { "gen", 0, 0, G_OPTION_ARG_FILENAME, &options.gen,
      "The corpus generator (default: the one built beside)", "PATH" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) base_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) rebuild_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) base_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) rebuild_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) sync_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *base_db = NULL;
  g_autofree char *template = NULL;
  g_autofree char *events_arg = NULL;
  g_autofree char *versus = NULL;
  Bench bench = { .options = &options };
  json_object *report, *summary, *result, *m;
  json_object *footprint_syncs, *footprint_rebuild;
  guint64 events, bytes, files, base_events = 0, base_bad = 0;
  glong base_rss = 0, rebuild_rss = 0, idle_rss = 0;
  double base_s, rebuild_s, idle_ms, ratio, append_pct, late_ratio;
  double base_cpu_s, rebuild_cpu_s, cpu_ratio, big_ratio = -1;
  double footprint_syncs_ratio, footprint_rebuild_ratio;
  guint64 base_db_bytes, jsync_db_bytes;
  gint64 rebuild_applied = 0, rebuild_skipped = 0, rebuild_failed = 0;
  gint64 base_messages, jsync_messages;
  SyncRun append, late;
  Child child;

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- the jsync benchmark (BENCHMARKS.md)");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("jsync-bench: %s\n", error->message);
      return 2;
    }
  if (options.events < 1 || options.repeat < 1 || options.syncs < 1
      || options.append_percent <= 0 || options.big_line_mb < 0
      || options.skew < 0)
    {
      g_printerr ("jsync-bench: --events, --repeat, --syncs and"
                  " --append-percent take positive numbers\n");
      return 2;
    }
  if (options.jsync == NULL)
    options.jsync = g_strdup (JSYNC_BENCH_JSYNC);
  if (options.plugins == NULL)
    options.plugins = g_strdup (JSYNC_BENCH_PLUGINS);
  if (options.gen == NULL)
    options.gen = g_strdup (JSYNC_BENCH_GEN);
  if (options.json_out == NULL)
    options.json_out = g_strdup ("bench-results.json");
  if (options.parent == NULL)
    options.parent = g_strdup (g_get_tmp_dir ());

  template = g_build_filename (options.parent, "jsync-bench-XXXXXX", NULL);
  if (g_mkdtemp (template) == NULL)
    die ("%s: %s", template, g_strerror (errno));
  bench.dir = g_steal_pointer (&template);
  bench.data = g_build_filename (bench.dir, "data", NULL);
  bench.db = g_build_filename (bench.dir, "jsync.db", NULL);
  base_db = g_build_filename (bench.dir, "baseline.db", NULL);
  /* No keyfile, device id or cache of the user's. */
  bench.envp = g_get_environ ();
  {
    const char *vars[] = { "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                           "XDG_CACHE_HOME" };

    for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
      {
        g_autofree char *path = g_build_filename (bench.dir, "xdg", vars[i],
                                                  NULL);

        g_mkdir_with_parents (path, 0700);
        bench.envp = g_environ_setenv (bench.envp, vars[i], path, TRUE);
      }
    bench.envp = g_environ_unsetenv (bench.envp, "JSYNC_PLUGIN_PATH");
  }
  spawner_start (&bench.spawner, bench.envp);

  /* The corpus. */
  g_print ("jsync benchmark: writing %" G_GINT64_FORMAT " events (seed %"
           G_GINT64_FORMAT ") into %s\n", options.events, options.seed,
           bench.dir);
  events_arg = g_strdup_printf ("%" G_GINT64_FORMAT, options.events);
  {
    const char *extra[] = { "--events", events_arg, NULL };

    run_gen (&bench, extra, &summary);
  }
  events = json_int (summary, "events");
  bytes = json_int (summary, "bytes");
  files = json_int (summary, "files");
  g_print ("corpus: %" G_GUINT64_FORMAT " events, %" G_GUINT64_FORMAT
           " files, %.1f MB\n\n", events, files, bytes / 1e6);

  /* (a) and (b), alternating when repeated. */
  for (gint r = 0; r < options.repeat; r++)
    {
      char *strings[] = { bench.data, base_db, NULL };
      SpawnResult base;
      double t, c;

      spawner_request (&bench.spawner, SPAWN_BASELINE, strings, &base);
      if (base.status != 0)
        die ("the baseline failed (exit status %d)", base.status);
      base_events = base.events;
      base_bad = base.bad;
      t = base.seconds;
      c = base.cpu_seconds;
      base_rss = MAX (base_rss, base.max_rss_kb);
      g_array_append_val (base_times, t);
      g_array_append_val (base_cpu, c);
      run_jsync (&bench, "rebuild", bench.data, bench.db, NULL, &child,
                 &result);
      g_array_append_val (rebuild_times, child.seconds);
      g_array_append_val (rebuild_cpu, child.cpu_seconds);
      rebuild_rss = MAX (rebuild_rss, child.max_rss_kb);
      rebuild_applied = json_int (result, "eventsApplied");
      rebuild_skipped = json_int (result, "eventsSkipped");
      rebuild_failed = json_int (result, "eventsFailed");
      g_print ("  run %d: baseline %.2f s (CPU %.2f s), jsync rebuild %.2f s"
               " (CPU %.2f s): %.2f× (CPU %.2f×)\n", r + 1, t, c,
               child.seconds, child.cpu_seconds, child.seconds / t,
               child.cpu_seconds / c);
      json_object_put (result);
      child_clear (&child);
    }
  base_s = median (base_times);
  rebuild_s = median (rebuild_times);
  ratio = rebuild_s / base_s;
  base_cpu_s = median (base_cpu);
  rebuild_cpu_s = median (rebuild_cpu);
  cpu_ratio = rebuild_cpu_s / base_cpu_s;
  base_db_bytes = file_size (base_db);
  jsync_db_bytes = file_size (bench.db);
  base_messages = count_rows (base_db, "messages");
  jsync_messages = count_rows (bench.db, "messages");

  /* (c) nothing new. */
  for (gint i = 0; i < options.syncs; i++)
    {
      double ms;

      run_jsync (&bench, "sync", bench.data, bench.db, NULL, &child, &result);
      ms = child.seconds * 1000;
      g_array_append_val (sync_times, ms);
      idle_rss = MAX (idle_rss, child.max_rss_kb);
      if (json_int (result, "eventsApplied") != 0)
        die ("sync with nothing new applied %" G_GINT64_FORMAT " events",
             json_int (result, "eventsApplied"));
      json_object_put (result);
      child_clear (&child);
    }
  idle_ms = median (sync_times);

  /* (d) 1% new, (g) 1% late. */
  append_and_sync (&bench, FALSE, &append);
  append_pct = 100 * append.seconds / rebuild_s;
  append_and_sync (&bench, TRUE, &late);
  late_ratio = late.seconds / append.seconds;

  /* (h) what jsync leaves after the syncs, then after a rebuild of the
   * synced cache (the one a user would rebuild). */
  footprint_syncs = footprint_json (bench.db, bench.data,
                                    &footprint_syncs_ratio);
  run_jsync (&bench, "rebuild", bench.data, bench.db, NULL, &child, &result);
  footprint_rebuild = footprint_json (bench.db, bench.data,
                                      &footprint_rebuild_ratio);
  json_object_object_add (footprint_rebuild, "rebuildSeconds",
                          json_object_new_double (child.seconds));
  json_object_put (result);
  child_clear (&child);

  /* The table. */
  g_print ("\n%-24s %10s %12s %9s %12s %10s %10s\n", "", "time", "events/s",
           "MB/s", "vs baseline", "CPU time", "peak RSS");
  g_print ("%-24s %8.2f s %12.0f %9.1f %11.2f× %8.2f s %7ld MB\n",
           "(a) baseline loop", base_s, events / base_s, bytes / 1e6 / base_s,
           1.0, base_cpu_s, base_rss / 1024);
  g_print ("%-24s %8.2f s %12.0f %9.1f %11.2f× %8.2f s %7ld MB"
           "   target ≤ 1.00×: %s (CPU time %.2f×)\n",
           "(b) jsync rebuild", rebuild_s, events / rebuild_s,
           bytes / 1e6 / rebuild_s, ratio, rebuild_cpu_s, rebuild_rss / 1024,
           verdict (ratio <= 1.0), cpu_ratio);
  g_print ("%-24s %7.1f ms %34s %10s %7ld MB   target ≤ 50 ms: %s\n",
           "(c) sync, nothing new", idle_ms, "(median)", "",
           idle_rss / 1024, verdict (idle_ms <= 50));
  versus = g_strdup_printf ("%.2f%%", append_pct);
  sync_run_print ("(d) sync, +new events", &append, versus, "≤ 2% of (b)",
                  append_pct <= 2.0);
  g_print ("    (d) applied %" G_GINT64_FORMAT " new events from %"
           G_GINT64_FORMAT " files\n", append.applied, append.files);
  g_free (versus);
  versus = g_strdup_printf ("%.2f× (d)", late_ratio);
  sync_run_print ("(g) sync, +late events", &late, versus, "≤ 2× (d)",
                  late_ratio <= 2.0);
  g_print ("    (g) applied %" G_GINT64_FORMAT " late events from %"
           G_GINT64_FORMAT " files; %" G_GINT64_FORMAT " of the %"
           G_GINT64_FORMAT " sort before the last event of their log\n",
           late.applied, late.files, json_int (late.appended, "backdated"),
           json_int (late.appended, "events"));
  g_print ("(e) peak RSS: rebuild %ld MB, sync +new %ld MB, +late %ld MB"
           " (target ≤ 64 MB + SQLite's page cache)\n", rebuild_rss / 1024,
           append.max_rss_kb / 1024, late.max_rss_kb / 1024);
  g_print ("    rebuild: %" G_GINT64_FORMAT " applied, %" G_GINT64_FORMAT
           " duplicates skipped, %" G_GINT64_FORMAT " failed; baseline: %"
           G_GUINT64_FORMAT " applied, %" G_GUINT64_FORMAT " not events\n",
           rebuild_applied, rebuild_skipped, rebuild_failed, base_events,
           base_bad);
  g_print ("    files: corpus %.1f MB, baseline db %.1f MB, jsync cache %.1f"
           " MB; messages: baseline %" G_GINT64_FORMAT ", jsync %"
           G_GINT64_FORMAT "\n", bytes / 1e6, base_db_bytes / 1e6,
           jsync_db_bytes / 1e6, base_messages, jsync_messages);
  footprint_print ("(h) after the syncs", footprint_syncs);
  footprint_print ("(h) after a rebuild", footprint_rebuild);

  /* The JSON. */
  report = json_object_new_object ();
  json_object_object_add (report, "version", json_object_new_int (1));
  json_object_object_add (report, "machine", machine_json ());
  json_object_object_add (report, "seed", json_object_new_int64 (options.seed));
  json_object_object_add (report, "clockSkewMs",
                          json_object_new_int64 (options.skew));
  json_object_object_add (report, "corpus", summary);
  json_object_object_add (report, "repeat", json_object_new_int (options.repeat));
  m = measure_json (base_s, events, bytes, base_rss);
  json_object_object_add (m, "runs", array_json (base_times));
  json_object_object_add (m, "cpuSeconds", json_object_new_double (base_cpu_s));
  json_object_object_add (m, "cpuRuns", array_json (base_cpu));
  json_object_object_add (m, "dbBytes", json_object_new_int64 (base_db_bytes));
  json_object_object_add (m, "eventsApplied",
                          json_object_new_int64 (base_events));
  json_object_object_add (report, "baseline", m);
  m = measure_json (rebuild_s, events, bytes, rebuild_rss);
  json_object_object_add (m, "runs", array_json (rebuild_times));
  json_object_object_add (m, "ratio", json_object_new_double (ratio));
  json_object_object_add (m, "cpuSeconds",
                          json_object_new_double (rebuild_cpu_s));
  json_object_object_add (m, "cpuRuns", array_json (rebuild_cpu));
  json_object_object_add (m, "cpuRatio", json_object_new_double (cpu_ratio));
  json_object_object_add (m, "dbBytes", json_object_new_int64 (jsync_db_bytes));
  json_object_object_add (m, "eventsApplied",
                          json_object_new_int64 (rebuild_applied));
  json_object_object_add (m, "eventsSkipped",
                          json_object_new_int64 (rebuild_skipped));
  json_object_object_add (m, "eventsFailed",
                          json_object_new_int64 (rebuild_failed));
  json_object_object_add (report, "rebuild", m);
  m = json_object_new_object ();
  json_object_object_add (m, "medianMs", json_object_new_double (idle_ms));
  json_object_object_add (m, "runsMs", array_json (sync_times));
  json_object_object_add (m, "peakRssKb", json_object_new_int64 (idle_rss));
  json_object_object_add (report, "syncNothingNew", m);
  m = sync_run_json (&append, options.append_percent);
  json_object_object_add (m, "percentOfRebuild",
                          json_object_new_double (append_pct));
  json_object_object_add (report, "syncAppend", m);
  m = sync_run_json (&late, options.append_percent);
  json_object_object_add (m, "ratioToInOrder",
                          json_object_new_double (late_ratio));
  json_object_object_add (m, "cpuRatioToInOrder",
                          json_object_new_double (late.cpu_seconds
                                                  / append.cpu_seconds));
  json_object_object_add (report, "syncLate", m);
  m = json_object_new_object ();
  json_object_object_add (m, "measure",
                          json_object_new_string ("st_blocks * 512 of jsync's"
                                                  " files against st_size of"
                                                  " the logs"));
  json_object_object_add (m, "afterSyncs", footprint_syncs);
  json_object_object_add (m, "afterRebuild", footprint_rebuild);
  json_object_object_add (report, "footprint", m);
  if (options.big_line_mb > 0)
    big_ratio = big_line (&bench, options.big_line_mb, report);

  /* The targets of issue 12, each with this run's figure. */
  g_print ("\n");
  target_row ("target (issue 12)", "now", "target", "");
  target_print ("disk footprint after syncs / logs", footprint_syncs_ratio,
                "×", 1.0, "≤ 1.00×");
  target_print ("disk footprint after rebuild / logs",
                footprint_rebuild_ratio, "×", 1.0, "≤ 1.00×");
  target_print ("rebuild / baseline, wall", ratio, "×", 1.0, "≤ 1.00×");
  target_print ("rebuild / baseline, CPU", cpu_ratio, "×", 1.0, "≤ 1.00×");
  g_free (versus);
  versus = g_strdup_printf ("%g%% sync / rebuild", options.append_percent);
  target_print (versus, append_pct, "%", 2.0, "≤ 2%");
  g_free (versus);
  versus = g_strdup_printf ("late %g%% sync / in-order %g%% sync",
                            options.append_percent, options.append_percent);
  target_print (versus, late_ratio, "×", 2.0, "≤ 2.00×");
  target_print ("sync with nothing new", idle_ms, " ms", 50, "≤ 50 ms");
  g_free (versus);
  versus = g_strdup_printf ("one %d MB line: peak memory / its size",
                            options.big_line_mb);
  if (big_ratio >= 0)
    target_print (versus, big_ratio, "×", 3.0, "≤ 3.00×");
  else
    target_row ("one big line: peak memory / its size", "skipped", "≤ 3.00×",
                "");
  m = json_object_new_object ();
  json_object_object_add (m, "rebuildVsBaseline",
                          json_object_new_boolean (ratio <= 1.0));
  json_object_object_add (m, "rebuildCpuVsBaseline",
                          json_object_new_boolean (cpu_ratio <= 1.0));
  json_object_object_add (m, "syncNothingNew50ms",
                          json_object_new_boolean (idle_ms <= 50));
  json_object_object_add (m, "syncAppend2PercentOfRebuild",
                          json_object_new_boolean (append_pct <= 2.0));
  json_object_object_add (m, "syncLate2xInOrder",
                          json_object_new_boolean (late_ratio <= 2.0));
  json_object_object_add (m, "footprintAfterSyncs1x",
                          json_object_new_boolean (footprint_syncs_ratio
                                                   <= 1.0));
  json_object_object_add (m, "footprintAfterRebuild1x",
                          json_object_new_boolean (footprint_rebuild_ratio
                                                   <= 1.0));
  json_object_object_add (m, "bigLine3x",
                          big_ratio >= 0
                            ? json_object_new_boolean (big_ratio <= 3.0)
                            : NULL);
  json_object_object_add (report, "targets", m);
  if (json_object_to_file_ext (options.json_out, report,
                               JSON_C_TO_STRING_PRETTY) != 0)
    die ("%s: cannot write", options.json_out);
  g_print ("\nfigures written to %s\n", options.json_out);
  json_object_put (report);

  spawner_stop (&bench.spawner);
  if (options.keep)
    g_print ("kept %s\n", bench.dir);
  else
    remove_tree (bench.dir);

  g_strfreev (bench.envp);
  g_free (bench.dir);
  g_free (bench.data);
  g_free (bench.db);
  g_free (options.parent);
  g_free (options.json_out);
  g_free (options.jsync);
  g_free (options.plugins);
  g_free (options.gen);
  return 0;
}
