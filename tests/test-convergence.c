/* test-convergence.c: multi-device convergence at scale (issue 3, item 3;
 * docs/design.md "Order"), through the library.
 *
 * Each scenario is a random Nexus history (nexus-history.c) of two to four
 * devices with skewed clocks, written to shared logs and to conflict copies,
 * and delivered by a simulated file-sync tool: in random chunks, files
 * arriving late, torn last lines completed later, copies of events in other
 * files, copies of one id that differ (a conflict: the smaller (timestamp,
 * deviceId, bytes) must win whatever arrives first), the same JSON in other
 * bytes, and whole-file replacement (the file rewritten by rename with its
 * events in another order plus new ones), with syncs of random batch sizes
 * in between (the coordinator sometimes reopened).  At the end:
 *
 * - the cache equals a cache built from scratch in one batch (`reference`),
 *   table by table, and both equal an oracle built without jsync's engine:
 *   the winning copy of every id applied in key order straight through the
 *   appliers (applier-harness.c);
 * - jsync_events holds each distinct id once, with the winning copy's JSON
 *   and the status the oracle gives it; nothing is reported lost (no
 *   scenario drops an event); FTS integrity-check passes; messageCount
 *   equals the messages present.
 *
 * A divergence prints the seed and a history_ops_script shrunk to the steps that
 * still diverge, as a shell script for the jsync program.  HistoryFigures go to
 * the TAP log.  JSYNC_TEST_SCALE (0 < scale ≤ 1, default 1) scales the
 * number of scenarios down for the sanitizer and valgrind passes;
 * JSYNC_TEST_SEED runs one seed and prints its steps; JSYNC_TEST_FIRST_SEED
 * starts the seeds elsewhere (to explore: -m slow runs 20,000).
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>
#include <sqlite3.h>

#include "applier-harness.h"
#include "jsync-store.h"
#include "jsync-test.h"
#include "nexus-history.h"

/* Scenarios in a normal run (at JSYNC_TEST_SCALE=1), and with -m slow. */
#define CONVERGENCE_SCENARIOS 2000
#define CONVERGENCE_SCENARIOS_SLOW 20000

static HistoryFigures figures;

/* A run of random scenarios: how many (at JSYNC_TEST_SCALE=1, normal and
 * with -m slow), and whether they hold conversations only, so that the
 * late counts are the conversation applier's. */
typedef struct
{
  guint scenarios;
  guint scenarios_slow;
  gboolean conversations_only;
} ConvergenceRun;

/* Warnings of the current run, for the checks. */
static GPtrArray *captured;

/* --- Logging -------------------------------------------------------------- */

/* jsync's messages: warnings are kept for the checks, the rest dropped
 * (thousands of runs would flood the log). */
static void
capture_log (const char *domain, GLogLevelFlags level, const char *message,
             gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) != 0)
    {
      g_printerr ("%s: %s\n", domain, message);
      g_assert_not_reached ();
    }
  if ((level & G_LOG_LEVEL_WARNING) != 0 && captured != NULL)
    g_ptr_array_add (captured, g_strdup (message));
}

/* The warnings a scenario may give: conflicts, files read again, and the
 * creates the history writes without a required field (failed events). */
static gboolean
warning_is_expected (const char *message)
{
  return strstr (message, "differs from") != NULL
         || strstr (message, "read again from the start") != NULL
         || strstr (message, ": missing data.") != NULL;
}

/* --- Generating a scenario ------------------------------------------------ */

/* The steps of the scenario of one seed: a small history, delivered. */
static GPtrArray *
scenario_generate (guint seed, const ConvergenceRun *run)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GPtrArray) events = NULL;
  HistoryShape shape = {
    .devices = g_rand_int_range (rand, 2, 5),
    .conversations = g_rand_int_range (rand, 0, 3),
    .workspaces = g_rand_int_range (rand, 0, 3),
    .tasks = g_rand_int_range (rand, 0, 3),
    .events = g_rand_int_range (rand, 6, 40),
  };

  if (run->conversations_only)
    shape.workspaces = shape.tasks = 0;
  if (shape.conversations + shape.workspaces + shape.tasks == 0)
    shape.conversations = 1;
  events = history_generate (rand, &shape);
  return history_deliver (rand, events, &figures);
}

/* --- Running a scenario ----------------------------------------------------- */

typedef struct
{
  char *dir;                /* owned: scenario folder */
  char *data;               /* owned */
  char *db;                 /* owned */
  JsyncConfig *config;      /* owned */
  JsyncCoordinator *coordinator; /* owned, nullable */
} Sim;

static void
sim_clear (Sim *sim)
{
  g_clear_pointer (&sim->coordinator, jsync_coordinator_free);
  g_clear_pointer (&sim->config, jsync_config_free);
  g_free (sim->data);
  g_free (sim->db);
}

/* `value`, what a call returned: when it is NULL, *failure says `what`
 * and the call's *error.  *error is cleared, for the next call. */
static gpointer
checked (gpointer value, GError **error, const char *what, char **failure)
{
  if (value == NULL)
    *failure = g_strdup_printf ("%s: %s", what, (*error)->message);
  g_clear_error (error);
  return value;
}

/* One sync; a failure or a lost event is a divergence. */
static char *
sim_sync (Sim *sim, guint batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = NULL;
  char *failure = NULL;

  jsync_config_set_batch_size (sim->config, batch);
  if (sim->coordinator == NULL)
    sim->coordinator = checked (jsync_coordinator_open (sim->config, &error),
                                &error, "open", &failure);
  if (sim->coordinator == NULL)
    return failure;
  result = checked (jsync_coordinator_sync (sim->coordinator, &error), &error,
                    "sync failed", &failure);
  figures.syncs++;
  if (result == NULL)
    return failure;
  figures.late_in_place += result->late_in_place;
  figures.late_refused += result->late_refused;
  if (result->lost_events->len > 0)
    {
      JsyncLost *lost = result->lost_events->pdata[0];

      return g_strdup_printf ("lost events reported: %s no longer holds %s",
                              lost->file, (char *) lost->ids->pdata[0]);
    }
  return NULL;
}

/* The first table that differs, with both versions. */
static char *
compare_dumps (json_object *actual, json_object *expected, const char *what)
{
  json_object_object_foreach (expected, table, rows)
    {
      json_object *got = NULL;

      json_object_object_get_ex (actual, table, &got);
      if (!json_object_equal (got, rows))
        return g_strdup_printf (
            "%s: table %s differs\n  got:      %s\n  expected: %s", what,
            table, got != NULL ? json_object_to_json_string (got) : "(none)",
            json_object_to_json_string (rows));
    }
  if (json_object_object_length (actual) != json_object_object_length (expected))
    return g_strdup_printf ("%s: the table lists differ", what);
  return NULL;
}

/* The oracle: the winning copies applied in key order straight through the
 * appliers, without jsync's engine. */
static json_object *
oracle_dump (GHashTable *winners)
{
  static const char *const names[] = { "conversation", "workspace", "task",
                                       NULL };
  g_autoptr(Harness) harness = harness_new (names);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, winners);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (sorted, value);
  g_ptr_array_sort (sorted, history_winner_compare);
  for (guint i = 0; i < sorted->len; i++)
    {
      HistoryWinner *winner = sorted->pdata[i];
      g_autoptr(GError) error = NULL;

      if (!history_type_is_applied (winner->type))
        winner->status = 1;
      else if (!harness_apply (harness, winner->line, &error))
        winner->status = 2;
    }
  return harness_dump (harness);
}

static gint64
db_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* jsync_events against the winners; FTS; counts; nothing lost. */
static char *
check_cache (const char *path, GHashTable *winners)
{
  g_autofree char *fts = NULL;
  sqlite3 *db = NULL;
  char *failure = NULL;
  guint rows;
  gint64 n;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    {
      failure = g_strdup_printf ("%s: %s", path, sqlite3_errmsg (db));
      sqlite3_close (db);
      return failure;
    }
  jsync_line_codec_add (db);
  n = db_int (db, "SELECT count(*) FROM jsync_events");
  if (n != g_hash_table_size (winners))
    failure = g_strdup_printf ("events: jsync_events holds %" G_GINT64_FORMAT
                               " ids, the logs %u", n,
                               g_hash_table_size (winners));
  if (failure == NULL
      && (n = db_int (db, "SELECT count(*) FROM jsync_lost")) != 0)
    failure = g_strdup_printf ("lost: %" G_GINT64_FORMAT " event(s) listed", n);
  if (failure == NULL
      && (n = db_int (db, "SELECT count(*) FROM conversations c"
                          " WHERE messageCount <> (SELECT count(*) FROM"
                          " messages m WHERE m.conversationId = c.id)")) != 0)
    failure = g_strdup_printf ("messageCount: wrong in %" G_GINT64_FORMAT
                               " conversation(s)", n);
  if (failure == NULL && (fts = jtest_cache_check_fts (path)) != NULL)
    failure = g_strdup_printf ("fts: %s", fts);
  if (failure == NULL)
    failure = history_check_events (db, winners, TRUE, &rows);
  sqlite3_close (db);
  return failure;
}

/* The reference, a cache of the logs in `data` made from scratch in one
 * batch at `db`: its dump, or NULL and *failure. */
static json_object *
reference_run (const char *data, const char *db, char **failure)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  jsync_config_set_data_dir (config, data);
  jsync_config_set_database (config, db);
  jsync_config_set_batch_size (config, 1000000);
  coordinator = checked (jsync_coordinator_open (config, &error), &error,
                         "open", failure);
  if (coordinator != NULL)
    result = checked (jsync_coordinator_sync (coordinator, &error), &error,
                      "reference sync failed", failure);
  if (result == NULL)
    return NULL;
  return checked (jsync_coordinator_dump (coordinator, &error), &error,
                  "dump", failure);
}

/* Run the steps in a fresh folder; NULL when everything converged, else
 * what diverged. */
static char *
scenario_run (const char *root, GPtrArray *ops)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) winners = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reference_db = NULL;
  json_object *cache_dump = NULL, *reference_dump = NULL, *oracle = NULL;
  char *failure = NULL;
  Sim sim = { 0 };

  jtest_tree_remove (root);
  g_assert_cmpint (g_mkdir_with_parents (root, 0755), ==, 0);
  sim.data = g_build_filename (root, "data", NULL);
  sim.db = g_build_filename (root, "cache.db", NULL);
  g_assert_cmpint (g_mkdir (sim.data, 0755), ==, 0);
  sim.config = jsync_config_new ();
  jsync_config_set_data_dir (sim.config, sim.data);
  jsync_config_set_database (sim.config, sim.db);
  captured = warnings;

  for (guint i = 0; failure == NULL && i < ops->len; i++)
    {
      HistoryOp *op = ops->pdata[i];

      if (history_apply (op, sim.data))
        continue;
      if (op->kind == HISTORY_SYNC)
        failure = sim_sync (&sim, op->batch);
      else if (op->kind == HISTORY_REOPEN)
        g_clear_pointer (&sim.coordinator, jsync_coordinator_free);
    }

  if (failure == NULL && sim.coordinator == NULL)
    sim.coordinator = checked (jsync_coordinator_open (sim.config, &error),
                               &error, "open", &failure);
  if (failure == NULL)
    cache_dump = checked (jsync_coordinator_dump (sim.coordinator, &error),
                          &error, "dump", &failure);
  g_clear_pointer (&sim.coordinator, jsync_coordinator_free);

  reference_db = g_build_filename (root, "reference.db", NULL);
  if (failure == NULL)
    reference_dump = reference_run (sim.data, reference_db, &failure);
  captured = NULL;

  winners = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, history_winner_free);
  history_collect_winners (sim.data, winners);
  if (failure == NULL)
    {
      oracle = oracle_dump (winners);
      failure = compare_dumps (reference_dump, oracle,
                               "a rebuild differs from the order rule (oracle)");
    }
  if (failure == NULL)
    failure = compare_dumps (cache_dump, reference_dump,
                             "incremental sync differs from a rebuild");
  if (failure == NULL)
    failure = check_cache (sim.db, winners);
  if (failure == NULL)
    {
      g_autofree char *in_reference = check_cache (reference_db, winners);

      if (in_reference != NULL)
        failure = g_strdup_printf ("rebuild: %s", in_reference);
    }
  for (guint i = 0; failure == NULL && i < warnings->len; i++)
    if (!warning_is_expected (warnings->pdata[i]))
      failure = g_strdup_printf ("unexpected warning: %s",
                                 (char *) warnings->pdata[i]);

  json_object_put (cache_dump);
  json_object_put (reference_dump);
  json_object_put (oracle);
  sim_clear (&sim);
  return failure;
}

/* --- Reproductions -------------------------------------------------------- */

/* The kind of a failure: its text up to the first ':' (so shrinking keeps
 * to the same divergence). */
static char *
failure_kind (const char *failure)
{
  const char *colon = strchr (failure, ':');

  return g_strndup (failure, colon != NULL ? (gsize) (colon - failure)
                                           : strlen (failure));
}

static gboolean
still_fails (const char *root, GPtrArray *ops, const char *kind)
{
  g_autofree char *failure = scenario_run (root, ops);
  g_autofree char *other = failure != NULL ? failure_kind (failure) : NULL;

  return other != NULL && strcmp (other, kind) == 0;
}

/* Remove steps while the same divergence remains (ddmin, greedy). */
static GPtrArray *
shrink (const char *root, GPtrArray *ops, const char *kind)
{
  GPtrArray *current = g_ptr_array_ref (ops);
  guint runs = 0;

  for (guint chunk = MAX (current->len / 2, 1); chunk >= 1 && runs < 3000;
       chunk /= 2)
    {
      for (guint start = 0; start < current->len && runs < 3000;)
        {
          g_autoptr(GPtrArray) candidate = g_ptr_array_new ();

          for (guint i = 0; i < current->len; i++)
            if (i < start || i >= start + chunk)
              g_ptr_array_add (candidate, current->pdata[i]);
          runs++;
          if (candidate->len < current->len
              && still_fails (root, candidate, kind))
            {
              /* Keep the ops alive through `ops`, which owns them. */
              g_ptr_array_unref (current);
              current = g_ptr_array_ref (candidate);
            }
          else
            start += chunk;
        }
      if (chunk == 1)
        break;
    }
  return current;
}

/* --- The test ------------------------------------------------------------- */

static void
report_divergence (const char *root, guint seed, GPtrArray *ops,
                   const char *failure)
{
  g_autofree char *kind = failure_kind (failure);
  g_autoptr(GPtrArray) small = shrink (root, ops, kind);
  g_autofree char *small_failure = scenario_run (root, small);
  g_autofree char *script = history_ops_script (small);

  g_printerr ("\nseed %u diverges: %s\n"
              "reproduction (%u of %u steps; JSYNC_TEST_SEED=%u reruns it):\n"
              "%s\n(shrunk: %s)\n",
              seed, failure, small->len, ops->len, seed, script,
              small_failure != NULL ? small_failure : "no longer fails");
}

static void
test_convergence (gconstpointer data)
{
  const ConvergenceRun *run = data;
  g_autofree char *root = g_build_filename (history_scratch_dir (), "jsync-conv-XXXXXX",
                                            NULL);
  const char *only = g_getenv ("JSYNC_TEST_SEED");
  const char *from = g_getenv ("JSYNC_TEST_FIRST_SEED");
  guint n = g_test_slow () ? run->scenarios_slow : run->scenarios;
  guint first = 1;
  guint failures = 0;
  gint64 start = g_get_monotonic_time ();

  g_assert_nonnull (g_mkdtemp (root));
  figures = (HistoryFigures) { 0 };
  n = MAX ((guint) (n * history_test_scale ()), 20);
  if (from != NULL)
    first = (guint) g_ascii_strtoull (from, NULL, 10);
  if (only != NULL)
    {
      first = (guint) g_ascii_strtoull (only, NULL, 10);
      n = 1;
    }
  for (guint seed = first; seed < first + n; seed++)
    {
      g_autoptr(GPtrArray) ops = scenario_generate (seed, run);
      g_autofree char *scenario = g_build_filename (root, "s", NULL);
      g_autofree char *failure = NULL;

      if (only != NULL)
        {
          g_autofree char *script = history_ops_script (ops);

          g_printerr ("seed %u:\n%s", seed, script);
        }
      failure = scenario_run (scenario, ops);
      figures.scenarios++;
      if (failure != NULL)
        {
          report_divergence (scenario, seed, ops, failure);
          if (++failures >= 3)
            break;
        }
    }
  jtest_tree_remove (root);
  g_test_message ("convergence: %u scenarios, %" G_GUINT64_FORMAT " events,"
                  " %" G_GUINT64_FORMAT " extra copies, %" G_GUINT64_FORMAT
                  " conflicting copies, %" G_GUINT64_FORMAT " torn lines, %"
                  G_GUINT64_FORMAT " whole-file replacements, %"
                  G_GUINT64_FORMAT " late files, %" G_GUINT64_FORMAT
                  " copies merged and deleted, %"
                  G_GUINT64_FORMAT " whole logs copied beside them, %"
                  G_GUINT64_FORMAT " copies deleted with their lines beside"
                  " them, %" G_GUINT64_FORMAT
                  " syncs, %" G_GUINT64_FORMAT " late events applied in"
                  " place, %" G_GUINT64_FORMAT " late streams refused and"
                  " replayed, %u divergences, %.1f s",
                  figures.scenarios, figures.events, figures.copies,
                  figures.conflicts, figures.torn, figures.replacements,
                  figures.late_files, figures.merged, figures.copied, figures.deleted,
                  figures.syncs, figures.late_in_place, figures.late_refused,
                  failures, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (failures, ==, 0);
  /* Both ways of a late event ran, and converged: in place (late()) and
   * refused (a later delete, move, re-create or update), then replayed;
   * with conversations only, both by the conversation applier. */
  if (only == NULL)
    {
      g_assert_cmpuint (figures.late_in_place, >, 0);
      g_assert_cmpuint (figures.late_refused, >, 0);
    }
}


/* --- Regressions: scenarios that once diverged ------------------------------ */

#define CONV "{\"type\":\"metadata\",\"data\":{\"id\":\"c0\",\"title\":\"T\"," \
  "\"vault\":\"V\"},\"id\":\"e1\",\"deviceId\":\"d\",\"timestamp\":1}\n"
#define MESSAGE(content) "{\"type\":\"message\",\"conversationId\":\"c0\"," \
  "\"data\":{\"id\":\"m1\",\"content\":\"" content "\"},\"id\":\"e2\"," \
  "\"deviceId\":\"d\",\"timestamp\":2}\n"

typedef struct
{
  HistoryOpKind kind;
  const char *file;
  const char *text;
  guint batch;
  const char *from;
} Step;

/* Run fixed steps; returns what diverged, or NULL. */
static char *
run_steps (const Step *steps, gsize n)
{
  g_autofree char *root = g_build_filename (history_scratch_dir (), "jsync-conv-XXXXXX",
                                            NULL);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (history_op_free);
  char *failure = NULL;

  g_assert_nonnull (g_mkdtemp (root));
  for (gsize i = 0; i < n; i++)
    {
      history_add_op (ops, steps[i].kind, steps[i].file, g_strdup (steps[i].text),
              steps[i].batch);
      ((HistoryOp *) ops->pdata[i])->from = g_strdup (steps[i].from);
    }
  failure = scenario_run (root, ops);
  jtest_tree_remove (root);
  return failure;
}

/* Fixed steps and their number, as a test's data. */
typedef struct
{
  const Step *steps;
  gsize n;
} Steps;

#define STEPS(steps) { steps, G_N_ELEMENTS (steps) }
/* A sync of the default batch size. */
#define SYNC { HISTORY_SYNC, NULL, NULL, 1000 }

static void
test_steps_converge (gconstpointer data)
{
  const Steps *steps = data;
  g_autofree char *failure = run_steps (steps->steps, steps->n);

  g_assert_cmpstr (failure, ==, NULL);
}

/* Two copies of one id that differ in one batch, the smaller second, then
 * the larger again from another file in the same batch: the smaller is the
 * event, applied once.  (Replacing the first copy in the batch kept its
 * freed id as the batch's key, so the third copy was not recognized and
 * the event was applied twice, the larger copy last.) */
static const Step batch_conflict_steps[] = {
  { HISTORY_APPEND, "a.jsonl", CONV MESSAGE ("b") MESSAGE ("a"), 0 },
  { HISTORY_APPEND, "b.jsonl", MESSAGE ("b"), 0 },
  SYNC,
};

/* The same JSON in other bytes takes part in the rule with its own bytes:
 * of O, O' (O respaced, the smallest bytes) and V (different JSON, bytes
 * between), O' is the event, so O's JSON wins, in one batch or across
 * runs.  (A copy with the same JSON was skipped whatever its bytes, so V
 * then beat the larger O that had been kept.) */
#define MESSAGE_SPACED(content) "{ \"type\": \"message\", \"conversationId\": \"c0\"," \
  " \"data\": { \"id\": \"m1\", \"content\": \"" content "\" }, \"id\": \"e2\"," \
  " \"deviceId\": \"d\", \"timestamp\": 2 }\n"

static const Step same_json_in_batch_steps[] = {
  { HISTORY_APPEND, "a.jsonl", CONV MESSAGE ("b") MESSAGE_SPACED ("b") MESSAGE ("a"),
    0 },
  SYNC,
};

static const Step same_json_across_runs_steps[] = {
  { HISTORY_APPEND, "a.jsonl", CONV MESSAGE ("b"), 0 },
  SYNC,
  { HISTORY_APPEND, "b.jsonl", MESSAGE_SPACED ("b"), 0 },
  SYNC,
  { HISTORY_APPEND, "c.jsonl", MESSAGE ("a"), 0 },
  SYNC,
};

/* A conflict copy merged by hand into the shared log and deleted, both
 * arriving before one sync: its events are still in a log, so nothing is
 * reported lost.  (The lost report was made before the merged log was
 * read.) */
static const Step merged_copy_steps[] = {
  { HISTORY_APPEND, "c (1).jsonl", CONV MESSAGE ("a"), 0 },
  SYNC,
  { HISTORY_MERGE, "c.jsonl", CONV MESSAGE ("a"), 0, "c (1).jsonl" },
  SYNC,
};

/* A conflict copy read before the log it copies (" (1)" sorts before
 * "."), so the copy is where jsync first found their events, then deleted
 * by hand in a later run: the log still holds every event, so nothing is
 * lost.  (They were reported lost, and "a rebuild would drop them".) */
static const Step copy_deleted_later_steps[] = {
  { HISTORY_APPEND, "c (1).jsonl", CONV MESSAGE ("a"), 0 },
  { HISTORY_APPEND, "c.jsonl", CONV MESSAGE ("a"), 0 },
  SYNC,
  { HISTORY_MERGE, "c.jsonl", "", 0, "c (1).jsonl" },
  SYNC,
};

/* The file holding the stored copy of an event (O', the smallest bytes)
 * is deleted while another copy of O' and a copy in larger bytes (O) stay:
 * the record moves to O', the smallest left, so a differing copy V (bytes
 * between) still loses to it.  (It moved to the first copy found.) */
static const Step copy_deleted_smallest_left_steps[] = {
  { HISTORY_APPEND, "c.jsonl", CONV MESSAGE ("b"), 0 },
  SYNC,
  { HISTORY_APPEND, "c.sync-conflict-1.jsonl", MESSAGE_SPACED ("b"), 0 },
  SYNC,
  { HISTORY_APPEND, "c.sync-conflict-2.jsonl", MESSAGE_SPACED ("b"), 0 },
  SYNC,
  { HISTORY_MERGE, "c.jsonl", "", 0, "c.sync-conflict-1.jsonl" },
  SYNC,
  { HISTORY_APPEND, "d.jsonl", MESSAGE ("a"), 0 },
  SYNC,
};

/* The task applier across syncs.  A task names its workspace "ops"
 * before any workspace exists; the workspace Ops arrives in a later sync,
 * in a batch without task events, then is renamed: the column follows the
 * workspaces table as it ends, as in a rebuild. */
#define TASK_NAMING(ws) "{\"type\":\"task_created\",\"data\":{\"id\":\"t1\"," \
  "\"projectId\":\"p1\",\"workspaceId\":\"" ws "\",\"title\":\"T\"}," \
  "\"id\":\"k1\",\"deviceId\":\"d\",\"timestamp\":1}\n"
#define WORKSPACE_NAMED(name, event, ts) "{\"type\":\"workspace_created\"," \
  "\"data\":{\"id\":\"w-ops\",\"name\":\"" name "\"},\"id\":\"" event "\"," \
  "\"deviceId\":\"d\",\"timestamp\":" ts "}\n"
#define WORKSPACE_RENAMED "{\"type\":\"workspace_updated\"," \
  "\"workspaceId\":\"w-ops\",\"data\":{\"name\":\"Operations\"}," \
  "\"id\":\"k3\",\"deviceId\":\"d\",\"timestamp\":3}\n"

static const Step task_name_later_steps[] = {
  { HISTORY_APPEND, "tasks/tasks_ops/shard-000001.jsonl", TASK_NAMING ("ops"),
    0 },
  SYNC,
  { HISTORY_APPEND, "workspaces/ws_w-ops.jsonl",
    WORKSPACE_NAMED ("Ops", "k2", "2"), 0 },
  SYNC,
  { HISTORY_APPEND, "workspaces/ws_w-ops.jsonl", WORKSPACE_RENAMED, 0 },
  SYNC,
  { HISTORY_APPEND, "workspaces/ws_w-ops2.jsonl",
    "{\"type\":\"workspace_created\",\"data\":{\"id\":\"w-ops2\","
    "\"name\":\"OPS\"},\"id\":\"k4\",\"deviceId\":\"d\","
    "\"timestamp\":4}\n", 0 },
  SYNC,
};

/* A late task_deleted (an older timestamp, from another device's log)
 * reaches rows that later events of other tasks made: the whole applier
 * is replayed, in order. */
#define TASK_EVENT(type, members, event, ts) "{\"type\":\"" type "\"," \
  members ",\"id\":\"" event "\",\"deviceId\":\"d\",\"timestamp\":" ts \
  "}\n"

static const Step task_late_delete_steps[] = {
  { HISTORY_APPEND, "tasks/tasks_w/shard-000001.jsonl",
    TASK_EVENT ("task_created", "\"data\":{\"id\":\"t1\",\"projectId\":"
                "\"p1\",\"workspaceId\":\"w\",\"title\":\"T\"}", "j1", "1")
    TASK_EVENT ("task_created", "\"data\":{\"id\":\"t2\",\"projectId\":"
                "\"p1\",\"workspaceId\":\"w\",\"title\":\"U\","
                "\"parentTaskId\":\"t1\"}", "j2", "2")
    TASK_EVENT ("task_dependency_added", "\"taskId\":\"t2\","
                "\"dependsOnTaskId\":\"t1\"", "j4", "4")
    TASK_EVENT ("task_created", "\"data\":{\"id\":\"t1\",\"projectId\":"
                "\"p1\",\"workspaceId\":\"w\",\"title\":\"T again\"}",
                "j5", "5"), 0 },
  SYNC,
  { HISTORY_APPEND, "tasks/tasks_w/shard-000001 (1).jsonl",
    TASK_EVENT ("task_deleted", "\"taskId\":\"t1\"", "j3", "3"), 0 },
  SYNC,
};

#define MESSAGE_IN(conversation, event, ts) "{\"type\":\"message\"," \
  "\"conversationId\":\"" conversation "\",\"data\":{\"id\":\"m1\"}," \
  "\"id\":\"" event "\",\"deviceId\":\"d\",\"timestamp\":" ts "}\n"

/* Known divergence (reported; left to the conversation applier): one
 * message id created in two conversations.  In key order the first create
 * wins and the second fails, but a late first create lands in its own
 * stream while the row belongs to the other one, so it fails instead: the
 * streams are not independent when ids collide across them.  The test
 * passes once they are, and is marked TODO meanwhile. */
static void
test_cross_stream (void)
{
  const Step steps[] = {
    { HISTORY_APPEND, "b.jsonl", MESSAGE_IN ("c1", "y", "20"), 0 },
    { HISTORY_SYNC, NULL, NULL, 1000 },
    { HISTORY_APPEND, "a.jsonl", MESSAGE_IN ("c0", "x", "10"), 0 },
    { HISTORY_SYNC, NULL, NULL, 1000 },
  };
  g_autofree char *failure = run_steps (steps, G_N_ELEMENTS (steps));

  if (failure != NULL)
    {
      g_test_message ("%s", failure);
      g_test_incomplete ("a message id in two conversations: a late create"
                         " fails in its own stream (known, see the comment)");
    }
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *path;
    Steps steps;
  } regressions[] = {
    { "/convergence/regression/batch-conflict",
      STEPS (batch_conflict_steps) },
    { "/convergence/regression/same-json-in-batch",
      STEPS (same_json_in_batch_steps) },
    { "/convergence/regression/same-json-across-runs",
      STEPS (same_json_across_runs_steps) },
    { "/convergence/regression/merged-copy",
      STEPS (merged_copy_steps) },
    { "/convergence/regression/copy-deleted-later",
      STEPS (copy_deleted_later_steps) },
    { "/convergence/regression/copy-deleted-smallest-left",
      STEPS (copy_deleted_smallest_left_steps) },
    { "/convergence/task/name-resolved-later",
      STEPS (task_name_later_steps) },
    { "/convergence/task/late-delete", STEPS (task_late_delete_steps) },
  };

  static const ConvergenceRun all_appliers = {
    CONVERGENCE_SCENARIOS, CONVERGENCE_SCENARIOS_SLOW, FALSE
  };
  static const ConvergenceRun conversations_only = {
    CONVERGENCE_SCENARIOS / 10, CONVERGENCE_SCENARIOS_SLOW / 10, TRUE
  };

  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* Conflicts and files read again warn; the checks look at them. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_default_handler (capture_log, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (regressions); i++)
    g_test_add_data_func (regressions[i].path, &regressions[i].steps,
                          test_steps_converge);
  g_test_add_func ("/convergence/regression/cross-stream", test_cross_stream);
  g_test_add_data_func ("/convergence/devices/random", &all_appliers,
                        test_convergence);
  g_test_add_data_func ("/convergence/conversation/random",
                        &conversations_only, test_convergence);
  return g_test_run ();
}
