/* nexus-history.h: random multi-device Nexus histories for the
 * reliability tests (test-convergence, test-crash).
 *
 * A history is a list of events in the real Nexus format (docs/format.md)
 * over a few conversations, workspaces and task folders, written by devices
 * whose clocks disagree, each event placed in the file its device writes:
 * the shared log (conversations/conv_<id>.jsonl, workspaces/ws_<id>.jsonl,
 * tasks/tasks_<id>/shard-000001.jsonl) or that device's sync-tool conflict
 * copy of it.  Entity ids come from small pools so that updates, deletes
 * and re-creates hit each other, and some updates come before their
 * creates in the order; project and task ids are shared by every task
 * folder, and tasks name their workspace by id or by name (a few names
 * recur among the workspaces).  Sessions move between workspaces, and
 * some workspace events name another workspace's session, state or trace
 * ids, so that late creates meet later moves, deletes and re-creates of
 * their rows (some are applied in place, some replayed: the caller counts
 * both in HistoryFigures).  A few events are of types no
 * bundled applier takes (they wait as pending).
 */
#ifndef NEXUS_HISTORY_H
#define NEXUS_HISTORY_H

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* How big a history is. */
typedef struct
{
  guint devices;            /* 1 to 4 */
  guint conversations;      /* streams of the conversation applier */
  guint workspaces;         /* streams of the workspace applier */
  guint tasks;              /* task folders (tasks/tasks_<id>/), sharing
                             * project and task ids across folders */
  guint events;
} HistoryShape;

/* One event of a history. */
typedef struct
{
  char *id;                 /* owned: the event id */
  char *device;             /* owned: its deviceId */
  gint64 ts;                /* its timestamp */
  char *line;               /* owned: its JSON text, no newline */
  char *file;               /* owned: the log its device writes it to */
  char *shared;             /* owned: the stream's shared log */
} HistoryEvent;

void history_event_free (gpointer event);

/* A random history (of HistoryEvent*, in the order it was written).
 * (transfer full) */
GPtrArray *history_generate (GRand *rand, const HistoryShape *shape);

/* Another body for the same event id, different as parsed JSON: a sync
 * conflict between two copies.  Sometimes its timestamp or deviceId
 * differs too.  (transfer full) */
char *history_variant (GRand *rand, const HistoryEvent *event);

/* The same JSON in other bytes (another serializer's spacing).
 * (transfer full) */
char *history_respaced (const char *line);

/* The copy that is the event among copies of one id (docs/design.md
 * "Duplicates and conflicting copies"): the
 * smallest (timestamp, deviceId, bytes).  Returns <0, 0, >0 as strcmp. */
int history_copy_compare (const char *a, const char *b);

/* Does a bundled applier take this event type? */
gboolean history_type_is_applied (const char *type);

/* --- Delivery: a simulated file-sync tool --------------------------------
 *
 * history_deliver() turns a history into steps: the lines of each file
 * arrive in random chunks, some files late, last lines torn and completed
 * later, copies of events in other files (conflict copies), copies of one
 * id that differ, the same JSON in other bytes, whole-file replacement by
 * rename or in place (the file's lines in another order plus new ones),
 * whole logs copied beside them, conflict copies merged into another log
 * and deleted, copies deleted whose lines are all beside them; with syncs
 * between.  No step ever
 * drops an event from the logs: a cache must end equal to a rebuild, with
 * nothing lost. */

typedef enum
{
  HISTORY_APPEND,           /* append text to file */
  HISTORY_REPLACE,          /* write text to a temp file, rename it over file */
  HISTORY_SYNC,             /* a sync with --batch-size batch */
  HISTORY_REOPEN,           /* the library: reopen the coordinator */
  HISTORY_MERGE,            /* append text to file, then delete from */
  HISTORY_REWRITE,          /* write text over file, in place */
} HistoryOpKind;

typedef struct
{
  HistoryOpKind kind;
  char *file;               /* owned, nullable */
  char *text;               /* owned, nullable */
  guint batch;
  char *from;               /* owned, nullable: HISTORY_MERGE's deleted file */
} HistoryOp;

void history_op_free (gpointer op);
/* Add a step to `ops` (takes `text`). */
void history_add_op (GPtrArray *ops, HistoryOpKind kind, const char *file,
                     char *text, guint batch);

/* What was delivered, for the TAP log. */
typedef struct
{
  guint scenarios;
  guint64 events;
  guint64 copies;           /* extra copies of events */
  guint64 conflicts;        /* copies of an id that differ */
  guint64 syncs;
  guint64 replacements;     /* whole-file replacements */
  guint64 torn;             /* torn last lines */
  guint64 late_files;
  guint64 merged;           /* conflict copies merged and deleted */
  guint64 copied;           /* whole logs copied beside them */
  guint64 deleted;          /* copies deleted, their lines all beside them */
  /* Filled by the syncs of the caller (JsyncResult): */
  guint64 late_in_place;    /* late events an applier took in place */
  guint64 late_refused;     /* late streams replayed after a refusal */
} HistoryFigures;

/* The steps (of HistoryOp*) delivering `events`; ends with every line whole
 * and a sync.  (transfer full) */
GPtrArray *history_deliver (GRand *rand, GPtrArray *events,
                            HistoryFigures *figures);
/* Carry out a step that changes files in the data folder `data`; FALSE for
 * the other steps (sync, reopen), which are the caller's. */
gboolean history_apply (const HistoryOp *op, const char *data);
/* The steps as a shell script for the jsync program, run in an empty
 * folder.  (transfer full) */
char *history_ops_script (GPtrArray *ops);

/* --- Checking ------------------------------------------------------------ */

/* The event of one id: its smallest copy in the logs (docs/design.md
 * "Duplicates and conflicting copies"). */
typedef struct
{
  char *line;               /* owned: the winning copy */
  json_object *json;        /* owned */
  const char *id;           /* borrowed from json */
  const char *device;       /* borrowed from json */
  const char *type;         /* borrowed from json */
  gint64 ts;
  int status;               /* for the caller: 0 applied, 1 pending, 2 failed */
} HistoryWinner;

void history_winner_free (gpointer winner);
/* Key order (timestamp, deviceId, id), for g_ptr_array_sort. */
gint history_winner_compare (gconstpointer a, gconstpointer b);
/* Every complete line of every *.jsonl below `dir` (dot names skipped) that
 * has an envelope: the winning copy of each id, into `winners` (id →
 * HistoryWinner*, the id borrowed from the value). */
void history_collect_winners (const char *dir, GHashTable *winners);
/* jsync_events of the cache `db` (opened, with jsync_line_codec_add)
 * against `winners`: the first id that is in no log, keeps another copy
 * than its winner or, with `status`, has another status; NULL when every
 * row agrees.  *rows counts the rows read.  (transfer full) */
char *history_check_events (sqlite3 *db, GHashTable *winners,
                            gboolean status, guint *rows);

/* --- Test plumbing ------------------------------------------------------- */

/* JSYNC_TEST_SCALE: 0 < scale <= 1 scales a test's work down (the
 * sanitizer and valgrind passes of .ci/run); 1 when unset. */
double history_test_scale (void);
/* /dev/shm when there is one (SQLite's fsyncs cost nothing there), else
 * the temp folder. */
const char *history_scratch_dir (void);

G_END_DECLS

#endif /* NEXUS_HISTORY_H */
