/* test-crash.c: the crash loop (issue 3, item 1; docs/design.md "Atomic
 * batches").
 *
 * For each seed, a multi-device Nexus data folder (nexus-history.c: four
 * devices with skewed clocks, three conversations and two workspaces,
 * shared logs and conflict copies, copies of one id that differ, torn last
 * lines completed later, whole-file replacements, conflict copies merged
 * and deleted) grows step by step, and the real program (JSYNC_BIN) runs
 * `jsync sync` and `jsync rebuild` over it with small --batch-size values,
 * killed with SIGKILL after a random delay between 0 and about a run's
 * normal duration (learnt from the runs that finish).  More events arrive
 * between runs.  After the seed's last, clean sync:
 *
 * - the cache equals a cache built from scratch into another --db, table by
 *   table (`jsync dump`);
 * - FTS `INSERT INTO t(t, rank) VALUES('integrity-check', 1)` passes;
 * - jsync_events holds each distinct id of the logs exactly once, with the
 *   winning copy, and the statuses count as in the fresh cache (nothing lost,
 *   nothing doubled); messageCount equals the messages present; nothing is
 *   listed lost and the failed events are the fresh cache's.
 *
 * Every run that was not killed must exit 0.  Figures (seeds, kills, runs,
 * events) go to the TAP log.  JSYNC_TEST_SCALE scales the number of seeds
 * down for the sanitizer and valgrind passes.
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "jsync-store.h"
#include "nexus-history.h"
#include "program-harness.h"

/* At JSYNC_TEST_SCALE=1: seeds, and kills per seed (≥ 200 in all). */
#define CRASH_SEEDS 8
#define CRASH_KILLS 32

typedef struct
{
  guint seeds;
  guint kills_sync;
  guint kills_rebuild;
  guint runs;               /* runs that finished (not killed) */
  guint after_commit;       /* kills of a sync that had committed batches */
  guint mid_rebuild;        /* kills that left a half-built <db>.rebuild */
  gint64 longest_delay;     /* µs */
} Totals;

static Totals totals;
static HistoryFigures figures;

/* A run's normal duration, learnt from the runs that finish (and grown
 * while none does), per command. */
typedef struct
{
  gint64 normal[2];         /* µs: sync, rebuild */
  guint killed[2];          /* kills in a row */
} Estimate;

/* What the cache files look like: sizes and change times of the cache and
 * its write-ahead log. */
static char *
cache_state (Program *program)
{
  GString *state = g_string_new (NULL);
  const char *const suffixes[] = { "", "-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (program->db, suffixes[i], NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0)
        g_string_append_printf (state, "%" G_GINT64_FORMAT ".%ld.%ld/",
                                (gint64) st.st_size, (long) st.st_mtim.tv_sec,
                                st.st_mtim.tv_nsec);
    }
  return g_string_free (state, FALSE);
}

/* One run killed at a random point (if it has not finished by then). */
static void
crash_run (Program *program, GRand *rand, Estimate *estimate)
{
  static const char *const sizes[] = { "1", "2", "3", "5", "8" };
  gboolean rebuild = g_rand_int_range (rand, 0, 10) < 3;
  gint64 *normal = &estimate->normal[rebuild];
  const char *const args[] = {
    "--batch-size", sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))],
    rebuild ? "rebuild" : "sync", NULL
  };
  gint64 delay = g_rand_int_range (rand, 0, (gint32) MIN (*normal * 6 / 5,
                                                          G_MAXINT32 - 1) + 1);
  g_autofree char *before = cache_state (program);
  g_autoptr(JTestRun) run = program_spawn (program, NULL, args, delay, -1);

  if (run->signal == SIGKILL)
    {
      g_autofree char *after = cache_state (program);
      g_autofree char *building = g_strconcat (program->db, ".rebuild", NULL);

      if (rebuild)
        {
          totals.kills_rebuild++;
          totals.mid_rebuild += g_file_test (building, G_FILE_TEST_EXISTS);
        }
      else
        {
          totals.kills_sync++;
          totals.after_commit += strcmp (before, after) != 0;
        }
      totals.longest_delay = MAX (totals.longest_delay, delay);
      /* Always killed first: the runs take longer than thought (a slower
       * build, a bigger folder). */
      if (++estimate->killed[rebuild] >= 4)
        {
          *normal = *normal * 3 / 2;
          estimate->killed[rebuild] = 0;
        }
      return;
    }
  /* It finished first: it must have succeeded, and it teaches how long a
   * run takes. */
  if (run->status != 0 || run->signal != 0)
    g_test_message ("jsync %s (not killed) → exit %d, signal %d:\n%s",
                    args[2], run->status, run->signal, run->err);
  g_assert_cmpint (run->signal, ==, 0);
  g_assert_cmpint (run->status, ==, 0);
  totals.runs++;
  estimate->killed[rebuild] = 0;
  *normal = (*normal * 7 + run->duration * 3) / 10;
}

/* jsync_events against the logs: each id once, with its winning copy. */
static void
assert_events (const char *db, GHashTable *winners)
{
  sqlite3 *handle = NULL;
  g_autofree char *failure = NULL;
  guint n = 0;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  g_assert_nonnull (jsync_line_codec_add (handle));
  failure = history_check_events (handle, winners, FALSE, &n);
  sqlite3_close (handle);
  g_assert_cmpstr (failure, ==, NULL);
  g_assert_cmpuint (n, ==, g_hash_table_size (winners));
}

static void
crash_seed (guint seed, guint kills)
{
  g_autoptr(Program) program = program_new (history_scratch_dir ());
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GHashTable) winners = NULL;
  g_autoptr(JTestRun) last = NULL;
  g_autofree char *reference = g_build_filename (program->dir, "reference.db",
                                                 NULL);
  g_autofree char *difference = NULL;
  g_autofree char *fts = NULL;
  HistoryShape shape = {
    .devices = 4, .conversations = 3, .workspaces = 2,
    .events = g_rand_int_range (rand, 300, 500),
  };
  Estimate estimate = { 0 };
  guint done = totals.kills_sync + totals.kills_rebuild;
  guint syncs = 0, points = 0;
  const char *const fresh[] = { "--batch-size", "100000", "sync", NULL };

  /* The first run, on the empty folder, is not killed: how long starting
   * up takes is the first estimate. */
  {
    const char *const args[] = { "sync", NULL };
    g_autoptr(JTestRun) run = program_spawn (program, NULL, args, -1,
                                             60 * G_USEC_PER_SEC);

    g_assert_cmpint (run->status, ==, 0);
    estimate.normal[0] = run->duration * 3 / 2;
    estimate.normal[1] = run->duration * 2;
  }
  events = history_generate (rand, &shape);
  ops = history_deliver (rand, events, &figures);
  for (guint i = 0; i < ops->len; i++)
    syncs += ((HistoryOp *) ops->pdata[i])->kind == HISTORY_SYNC;

  /* Crash points among the delivery's syncs, so that each run has new
   * events to read; more events arrive between them. */
  for (guint i = 0; i < ops->len; i++)
    {
      HistoryOp *op = ops->pdata[i];

      if (history_apply (op, program->data) || op->kind != HISTORY_SYNC)
        continue;
      if ((guint) g_rand_int_range (rand, 0, syncs) >= kills)
        continue;
      points++;
      crash_run (program, rand, &estimate);
      /* Sometimes at once again, before anything new arrives. */
      while (g_rand_int_range (rand, 0, 4) == 0)
        crash_run (program, rand, &estimate);
    }
  while (totals.kills_sync + totals.kills_rebuild - done < kills)
    crash_run (program, rand, &estimate);

  /* The last, clean sync; then a fresh cache of the same logs. */
  last = PROGRAM_RUN (program, "--batch-size", "4", "sync");
  g_assert_cmpint (last->status, ==, 0);
  {
    g_autoptr(JTestRun) build = program_spawn (program, reference, fresh, -1,
                                               60 * G_USEC_PER_SEC);

    g_assert_cmpint (build->status, ==, 0);
  }
  difference = program_compare_caches (program, program->db, reference);
  if (difference != NULL)
    g_test_message ("seed %u: the cache differs from a fresh one: %s", seed,
                    difference);
  g_assert_cmpstr (difference, ==, NULL);
  fts = program_check_fts (program->db);
  g_assert_cmpstr (fts, ==, NULL);

  winners = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                   history_winner_free);
  history_collect_winners (program->data, winners);
  assert_events (program->db, winners);
  for (int status = 0; status <= 2; status++)
    {
      g_autofree char *sql = g_strdup_printf (
          "SELECT count(*) FROM jsync_events WHERE status = %d", status);

      g_assert_cmpint (program_query_int (program->db, sql), ==,
                       program_query_int (reference, sql));
    }
  g_assert_cmpint (program_query_int (program->db,
                                      "SELECT count(*) FROM conversations c"
                                      " WHERE messageCount <> (SELECT count(*)"
                                      " FROM messages m"
                                      " WHERE m.conversationId = c.id)"),
                   ==, 0);
  g_assert_cmpint (program_query_int (program->db,
                                      "SELECT count(*) FROM jsync_lost"),
                   ==, 0);
  g_assert_cmpint (program_query_int (program->db,
                                      "SELECT count(*) FROM jsync_failed"),
                   ==, program_query_int (reference,
                                          "SELECT count(*) FROM jsync_failed"));
  g_test_message ("seed %u: %u events, %u distinct ids, %u crash points,"
                  " %u kills so far; equal to a fresh cache", seed,
                  events->len, g_hash_table_size (winners), points,
                  totals.kills_sync + totals.kills_rebuild);
  totals.seeds++;
}

static void
test_crash_loop (void)
{
  guint seeds = MAX ((guint) (CRASH_SEEDS * history_test_scale () + 0.5), 1);
  gint64 start = g_get_monotonic_time ();

  for (guint seed = 1; seed <= seeds; seed++)
    crash_seed (seed, CRASH_KILLS);
  g_test_message ("crash loop: %u seeds, %u kills survived (%u in sync, %u of"
                  " them after the run had written to the cache; %u in"
                  " rebuild, %u"
                  " of them mid-build; delays up to %" G_GINT64_FORMAT
                  " ms), %u runs"
                  " finished, %" G_GUINT64_FORMAT " events, %"
                  G_GUINT64_FORMAT " torn lines, %" G_GUINT64_FORMAT
                  " whole-file replacements, %" G_GUINT64_FORMAT
                  " conflicting copies; 0 divergences, %.1f s",
                  totals.seeds, totals.kills_sync + totals.kills_rebuild,
                  totals.kills_sync, totals.after_commit, totals.kills_rebuild,
                  totals.mid_rebuild, totals.longest_delay / 1000, totals.runs, figures.events,
                  figures.torn, figures.replacements, figures.conflicts,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (totals.kills_sync + totals.kills_rebuild, >=,
                    seeds * CRASH_KILLS);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  g_test_add_func ("/crash/kill/sync-and-rebuild", test_crash_loop);
  return g_test_run ();
}
