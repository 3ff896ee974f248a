/* jsync.h: the library API for apps that embed jsync.
 *
 * A JsyncConfig says where the logs, the cache and the plugins are; a
 * JsyncCoordinator opened from it loads the appliers and the cache and
 * runs sync and rebuild, each returning a JsyncResult.  The `jsync`
 * program is a client of exactly this API.
 *
 *   g_autoptr(JsyncConfig) config = jsync_config_new ();
 *   jsync_config_set_data_dir (config, "vault/.nexus");
 *   g_autoptr(JsyncCoordinator) c = jsync_coordinator_open (config, &error);
 *   g_autoptr(JsyncResult) r = jsync_coordinator_sync (c, &error);
 */
#ifndef JSYNC_H
#define JSYNC_H

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

#define JSYNC_VERSION "0.1.0"

/* Errors of the library as a whole.  Each maps to an exit status of the
 * program (jsync_error_exit_status()).  Append only. */
#define JSYNC_ERROR (jsync_error_quark ())
typedef enum
{
  JSYNC_ERROR_FAILED,       /* anything else (exit 3) */
  JSYNC_ERROR_USAGE,        /* bad option or argument (exit 2) */
  JSYNC_ERROR_CONFIG,       /* bad keyfile, missing data folder, prefix
                             * conflict (exit 2) */
  JSYNC_ERROR_IO,           /* reading or writing failed (exit 3) */
  JSYNC_ERROR_LOCKED,       /* another writer held the lock too long (exit 3) */
  JSYNC_ERROR_CORRUPT,      /* the cache is damaged (exit 3) */
  JSYNC_ERROR_EVENT,        /* --strict: an event failed (exit 1) */
} JsyncError;

GQuark jsync_error_quark (void);
int jsync_error_exit_status (const GError *error);

/* Exit statuses of the program. */
enum
{
  JSYNC_EXIT_OK = 0,
  JSYNC_EXIT_EVENTS_FAILED = 1,
  JSYNC_EXIT_USAGE = 2,
  JSYNC_EXIT_ENVIRONMENT = 3,
  JSYNC_EXIT_DIFFERENT = 4,
};

/* --- Text to show -------------------------------------------------------- */

/* What jsync_escape_text() escapes besides invalid UTF-8. */
typedef enum
{
  JSYNC_ESCAPE_INVALID = 0,      /* only bytes that are not valid UTF-8 */
  JSYNC_ESCAPE_CONTROLS = 1 << 0, /* also control characters: C0 but tab
                                   * and newline, DEL, C1 (U+0080 to
                                   * U+009F) */
} JsyncEscapeFlags;

/* A text from outside (a log's name, a message naming one) fit to show:
 * `length` bytes of `text` (up to its NUL when -1) with each byte that is
 * not part of valid UTF-8 (and with JSYNC_ESCAPE_CONTROLS, each byte of a
 * control character) written "\xNN", two lowercase hex digits.  The
 * result is valid UTF-8.  jsync writes names this way in its JSON (where
 * only invalid bytes are escaped: JSON escapes control characters itself)
 * and in everything it prints on a terminal, so that no name is taken for
 * an escape sequence.  (transfer full) */
char *jsync_escape_text (const char *text, gssize length,
                         JsyncEscapeFlags flags);

/* --- Configuration ------------------------------------------------------ */

typedef struct _JsyncConfig JsyncConfig;

JsyncConfig *jsync_config_new (void);
void jsync_config_free (JsyncConfig *config);
/* Load a keyfile.  Unknown groups and keys are warnings (g_warning, domain
 * "jsync"); malformed values are JSYNC_ERROR_CONFIG errors naming the file,
 * group and key.  Values already set by a setter are not overridden. */
gboolean jsync_config_load_file (JsyncConfig *config, const char *path,
                                 GError **error);
/* The setters override the keyfile (command-line options use them). */
void jsync_config_set_data_dir (JsyncConfig *config, const char *dir);
void jsync_config_set_database (JsyncConfig *config, const char *path);
void jsync_config_set_plugins_dir (JsyncConfig *config, const char *dir);
void jsync_config_set_batch_size (JsyncConfig *config, guint batch_size);
void jsync_config_set_strict (JsyncConfig *config, gboolean strict);
/* Getters: (transfer none); defaults resolved (the database path is derived
 * from the data folder's real path when unset). */
const char *jsync_config_get_data_dir (JsyncConfig *config);
const char *jsync_config_get_database (JsyncConfig *config);
const char *jsync_config_get_plugins_dir (JsyncConfig *config); /* nullable */
guint jsync_config_get_batch_size (JsyncConfig *config);
gboolean jsync_config_get_strict (JsyncConfig *config);
gint64 jsync_config_get_max_line_bytes (JsyncConfig *config);
/* The keyfile itself (never NULL; empty when none was loaded). */
GKeyFile *jsync_config_get_keyfile (JsyncConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncConfig, jsync_config_free)

/* --- Results ------------------------------------------------------------ */

/* One failed event, as recorded. */
typedef struct
{
  char *file;               /* relative to the data folder */
  guint64 line;             /* 1-based */
  guint64 offset;           /* byte offset of the line */
  char *id;                 /* the event id, nullable */
  char *message;
} JsyncEventError;

/* A file read again from its start, and why. */
typedef struct
{
  char *file;
  char *reason;
} JsyncReread;

/* Events whose effects the cache keeps but no longer finds in `file`. */
typedef struct
{
  char *file;
  GPtrArray *ids;           /* of char*, owned */
} JsyncLost;

/* What a sync or rebuild did; the names follow the `--json` keys. */
typedef struct
{
  gboolean success;
  guint64 events_applied;
  guint64 events_skipped;   /* duplicates of events already seen */
  guint64 events_failed;    /* in this run */
  guint64 events_pending;   /* now, in total */
  guint64 conflicts;        /* ids seen with two different bodies */
  guint64 files_failed;     /* logs that could not be read (exit 3); each
                             * is also in errors, with line 0 */
  GPtrArray *errors;        /* of JsyncEventError*, owned */
  gint64 duration;          /* ms */
  GPtrArray *files_processed; /* of char*, files that had new bytes */
  GPtrArray *files_reread;  /* of JsyncReread* */
  GPtrArray *lost_events;   /* of JsyncLost* */
  gint64 last_sync_timestamp; /* ms, wall clock at the end */
} JsyncResult;

void jsync_result_free (JsyncResult *result);
/* The `--json` object: {"version":1,"command":command, ...}. (transfer full) */
json_object *jsync_result_to_json (const JsyncResult *result,
                                   const char *command);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncResult, jsync_result_free)

/* --- The coordinator ---------------------------------------------------- */

typedef struct _JsyncCoordinator JsyncCoordinator;

/* Where a long run is, handed to a JsyncProgressFunc (borrowed, for the
 * call).  phase is a short word: "scan" (listing the logs), "read" (reading
 * and applying them), "index" (finishing a rebuild), "swap" (putting a
 * rebuilt cache in place), "verify" (comparing caches), "recover" (lost
 * events written back: bytes of their lines, lines written).  The byte counts
 * measure the logs this run reads, so they move evenly whatever the events
 * hold. */
typedef struct
{
  const char *phase;
  guint64 bytes_done;       /* bytes of the logs read so far in this run */
  guint64 bytes_total;      /* bytes this run reads; 0 when unknown */
  guint64 events_done;      /* events handled so far: applied, skipped (as
                             * duplicates) or failed */
} JsyncProgress;

typedef void (*JsyncProgressFunc) (const JsyncProgress *progress,
                                   gpointer user_data);

/* Load the plugins and open (or create) the cache.  The config must outlive
 * the coordinator.  Fails with JSYNC_ERROR_CONFIG for a missing data folder
 * or a prefix conflict; a plugin that fails to load is a warning, listed by
 * jsync_coordinator_plugins(). */
JsyncCoordinator *jsync_coordinator_open (JsyncConfig *config, GError **error);
/* Load the plugins and open the cache for reading only, for the reports
 * (jsync_coordinator_status(), _dump(), _search(), _failed(),
 * _plugins()): the writer lock is neither taken nor waited for and nothing
 * is written, so they run beside a sync; each report reads one snapshot
 * of what was committed.  No cache yet reads as an empty one (not
 * created); a damaged cache, or one of another jsync's schema, fails with
 * JSYNC_ERROR_CORRUPT (the next sync moves it aside and rebuilds it).
 * Appliers whose tables the cache does not hold at their schema version
 * are left out.  Every call that writes fails with JSYNC_ERROR_USAGE. */
JsyncCoordinator *jsync_coordinator_open_read_only (JsyncConfig *config,
                                                    GError **error);
void jsync_coordinator_free (JsyncCoordinator *coordinator);
void jsync_coordinator_set_progress (JsyncCoordinator *coordinator,
                                     JsyncProgressFunc func,
                                     gpointer user_data);

/* Bring the cache up to date with the logs.  NULL with error set only when
 * the run could not go on (I/O, lock, corruption, or --strict); failed
 * events alone are in the result. */
JsyncResult *jsync_coordinator_sync (JsyncCoordinator *coordinator,
                                     GError **error);
/* Build a new cache from every log, beside the old one, and swap it in
 * when complete; the old file is removed, or kept as "<db>.previous"
 * with keep-previous. */
JsyncResult *jsync_coordinator_rebuild (JsyncCoordinator *coordinator,
                                        GError **error);

/* Reports, as JSON objects (transfer full), for the program's commands. */
json_object *jsync_coordinator_status (JsyncCoordinator *coordinator,
                                       GError **error);
json_object *jsync_coordinator_plugins (JsyncCoordinator *coordinator);
/* Every applier table, rows ordered canonically: {"table": [{...}, ...]}. */
json_object *jsync_coordinator_dump (JsyncCoordinator *coordinator,
                                     GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsyncCoordinator, jsync_coordinator_free)

/* --- Search, verify, failed events --------------------------------------
 * (core/jsync-search.c, core/jsync-verify.c, core/jsync-failed.c) */

/* How jsync_coordinator_search() runs a query.  Zero-filled means: 20
 * results from every FTS table, the user's words, "[" and "]" marks. */
typedef struct
{
  guint limit;              /* most results in all; 0 for 20 */
  const char *table;        /* nullable: one FTS table, or its content table */
  gboolean raw;             /* the query is FTS5 syntax, passed as it is */
  const char *open_mark;    /* nullable: put before each match in a
                             * snippet ("[" when NULL) */
  const char *close_mark;   /* nullable: put after it ("]" when NULL) */
} JsyncSearchOptions;

/* The FTS5 query for a user's text: each different whitespace-separated
 * word quoted (double quotes doubled) once, in the order of its first
 * occurrence, all of them required, so no text is an FTS5 syntax error; ""
 * for a text without words.  (transfer full) */
char *jsync_search_quote (const char *text);

/* The most different words jsync_coordinator_search() takes in a query
 * that is not raw (FTS5's ranking costs grow with the square of the
 * phrases a row matches). */
#define JSYNC_SEARCH_MAX_WORDS 256

/* Full-text search over the FTS tables the appliers declare
 * (JsyncApplierDesc.search), ranked by bm25 across them, best first:
 * {"version":1, "command":"search", "query", "ftsQuery", "results":
 * [{"table", "fts", "rowid", "id", "rank", "snippet", "columns": {...}}]}.
 * An unknown table is JSYNC_ERROR_USAGE; so is an FTS5 syntax error in a
 * raw query (with SQLite's message), and a query of more than
 * JSYNC_SEARCH_MAX_WORDS different words.  No match is an empty list.
 * (transfer full) */
json_object *jsync_coordinator_search (JsyncCoordinator *coordinator,
                                       const char *query,
                                       const JsyncSearchOptions *options,
                                       GError **error);

/* Sync the cache, rebuild from the logs into a temporary file beside it
 * (removed before returning), and compare the two, table by table, with
 * the events lost from the logs (docs/design.md "Lost events") fed into
 * the rebuild; check the cache's FTS indexes against their tables.  Holds
 * the writer lock throughout.  {"version":1, "command":"verify", "identical",
 * "tables": [{"table", "cacheRows", "rebuildRows", "onlyInCache",
 * "onlyInRebuild", "keys": [{pk column: value}, ...]}], "fts": [{"table",
 * "ok", "message"}], "onlyInCache": [{"file", "id"}] (the lost events),
 * "synced" (events the sync applied first), "duration"}.  "identical" is
 * false when any table or index differs; lost events alone leave it true.
 * (transfer full) */
json_object *jsync_coordinator_verify (JsyncCoordinator *coordinator,
                                       GError **error);

/* The recorded failed lines and events, in file and line order:
 * {"version":1, "command":"failed", "failed": [{"file", "line", "offset",
 * "length", "id", "message", "truncated", "retryable"}]}; retryable: a
 * valid event its applier rejected (jsync_coordinator_retry_failed() takes
 * it), not a line that is no event.  (transfer full) */
json_object *jsync_coordinator_failed (JsyncCoordinator *coordinator,
                                       GError **error);

/* Apply every failed event again (after a fixed applier was installed),
 * each in its place in the key order of its stream, under the writer
 * lock.  Those that apply are marked applied and leave the failed list;
 * those that fail again are recorded anew and counted in events_failed.
 * Lines that are not valid events are not retried. */
JsyncResult *jsync_coordinator_retry_failed (JsyncCoordinator *coordinator,
                                             GError **error);

/* --- Appending events, watching the data folder ---------------------------
 * (core/jsync-append.c, core/jsync-watch.c) */

/* This device's id (docs/design.md "The program's interface"): the
 * keyfile's `device-id`, else the one kept in
 * $XDG_STATE_HOME/jsync/device-id, made (a random UUID) the first time.
 * (transfer full) */
char *jsync_config_dup_device_id (JsyncConfig *config, GError **error);

typedef enum
{
  JSYNC_APPEND_NONE = 0,
  JSYNC_APPEND_FSYNC = 1 << 0,  /* fsync the log (and any folder made)
                                 * before the sync */
} JsyncAppendFlags;

/* Append one event to `file` and sync, the write path for apps
 * (docs/design.md "The sync contract": one path in).  `file` is relative
 * to the data folder; missing folders are made; it must be a file sync
 * reads: *.jsonl, no "..", nothing hidden or ignored, no symbolic link on
 * the way, a regular file if it exists.
 * `body` (length bytes, or NUL-terminated when length is -1) is a JSON
 * object with a non-empty string `type` and no `id`, `deviceId` or
 * `timestamp`: jsync adds a new UUID v4 id, this device's id and the time
 * now (ms), after the body's members.  The line goes in one write() in
 * append mode, after a "\n" when the file does not end with one.  Returns
 * the event id (transfer full), and the sync's result in *result when
 * result is not NULL.  A refused file or body is JSYNC_ERROR_USAGE, with
 * nothing written; a failed sync after the write says the event was
 * appended. */
char *jsync_coordinator_append (JsyncCoordinator *coordinator,
                                const char *file, const char *body,
                                gssize length, JsyncAppendFlags flags,
                                JsyncResult **result, GError **error);

/* --- Recovering lost events -----------------------------------------------
 * (core/jsync-recover.c) */

typedef enum
{
  JSYNC_RECOVER_NONE = 0,
  JSYNC_RECOVER_DRY_RUN = 1 << 0,   /* find what would be written, write
                                     * nothing to the logs */
} JsyncRecoverFlags;

/* Write the lost events (docs/design.md "Lost events", "Recover") back
 * into the logs, under the writer lock: sync first, so that what a log
 * holds again is no longer lost, then append the stored line of each event
 * still lost, byte for byte (its own id, deviceId and timestamp), to the
 * log it was lost from, or to `file` (nullable; relative to the data
 * folder and checked as jsync_coordinator_append() checks its file), in
 * key order, one write() each in append mode; fsync each log, and sync
 * again, which reads them back (applying them again changes nothing: same
 * ids).  Running it twice writes nothing the second time; killed half-way,
 * the next call writes only what is still lost.  Progress goes to the
 * progress function as phase "recover" (bytes of the lines to write,
 * lines written).
 * {"version":1, "command":"recover", "dryRun", "recovered": [{"file",
 * "ids"}] (files in name order, ids in key order), then the keys of the
 * last sync's result (jsync_result_to_json())}.  A refused file, or a
 * lost event's log that sync would not read, is JSYNC_ERROR_USAGE with
 * nothing written; a log or folder that could not be read is
 * JSYNC_ERROR_IO before anything more is written (it may hold some of
 * them again).  (transfer full) */
json_object *jsync_coordinator_recover (JsyncCoordinator *coordinator,
                                        const char *file,
                                        JsyncRecoverFlags flags,
                                        GError **error);

/* Called after each sync of jsync_coordinator_watch() with its result, or
 * with the error that stopped it (the other is NULL; both lent for the
 * call).  Return FALSE to stop watching. */
typedef gboolean (*JsyncWatchFunc) (const JsyncResult *result,
                                    const GError *error, gpointer user_data);

/* Follow the data folder: sync now, then after each burst of changes to
 * its logs (200 ms after the last change, at least every second while
 * changes go on), reopening the cache first when another process's
 * rebuild replaced its file.  Folders that appear are followed, hidden
 * and ignored ones skipped, as sync does.  Iterates the thread-default
 * main context meanwhile, so its other sources (g_unix_signal_add(), say)
 * run between syncs.  A failed sync is passed to func; if func goes on, it
 * is retried after 1 s, then 2, 4, ... up to 30.  func may be NULL: then
 * watching stops at the first failed sync.  Returns TRUE once stopped by
 * jsync_coordinator_stop_watch() or by func; FALSE with an error when the
 * data folder cannot be watched, or with the error of the failed sync on
 * which it stopped. */
gboolean jsync_coordinator_watch (JsyncCoordinator *coordinator,
                                  JsyncWatchFunc func, gpointer user_data,
                                  GError **error);
/* Make a running jsync_coordinator_watch() return once the sync in hand is
 * done.  From any thread; nothing happens when no watch runs. */
void jsync_coordinator_stop_watch (JsyncCoordinator *coordinator);

G_END_DECLS

#endif /* JSYNC_H */
