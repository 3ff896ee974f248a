/* test-convergence.c: multi-device convergence at scale (issue 3, item 3;
 * DESIGN.md §2), through the library.
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
 * A divergence prints the seed and a reproduction shrunk to the steps that
 * still diverge, as a shell script for the jsync program.  Figures go to
 * the TAP log.  JSYNC_TEST_SCALE (0 < scale ≤ 1, default 1) scales the
 * number of scenarios down for the sanitizer and valgrind passes;
 * JSYNC_TEST_SEED runs one seed and prints its steps.
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
#include "nexus-history.h"

/* Scenarios in a normal run (at JSYNC_TEST_SCALE=1), and with -m slow. */
#define CONVERGENCE_SCENARIOS 2000
#define CONVERGENCE_SCENARIOS_SLOW 20000

typedef enum
{
  OP_APPEND,                /* append text to file */
  OP_REPLACE,               /* write text to a temp file, rename over file */
  OP_SYNC,                  /* sync with batch */
  OP_REOPEN,                /* close the coordinator; the next sync opens one */
  OP_MERGE,                 /* append text to file, then delete from */
} OpKind;

typedef struct
{
  OpKind kind;
  char *file;               /* owned, nullable */
  char *text;               /* owned, nullable */
  guint batch;
  char *from;               /* owned, nullable: OP_MERGE's deleted file */
} Op;

/* The files of a scenario, as the simulated sync tool sees them. */
typedef struct
{
  char *name;               /* owned */
  GQueue queue;             /* of char* lines (no newline) not yet delivered */
  GPtrArray *delivered;     /* of char*, complete lines now in the file */
  char *torn;               /* owned: the full line whose head is in the file */
  gsize torn_cut;           /* bytes of it already written */
  gboolean late;            /* delivered only in the second half */
  gboolean blank_lines;     /* written as "\n" line "\n" (Nexus's writer) */
  gboolean crlf;            /* lines end with "\r\n" */
} SimFile;

/* Totals for the TAP log. */
typedef struct
{
  guint scenarios;
  guint64 events;
  guint64 copies;
  guint64 conflicts;
  guint64 syncs;
  guint64 replacements;
  guint64 torn;
  guint64 late_files;
  guint64 merged;
} Figures;

static Figures figures;

/* Warnings of the current run, for the checks. */
static GPtrArray *captured;

static void
op_free (gpointer data)
{
  Op *op = data;

  g_free (op->file);
  g_free (op->text);
  g_free (op->from);
  g_free (op);
}

static void
sim_file_free (gpointer data)
{
  SimFile *file = data;

  g_free (file->name);
  g_queue_clear_full (&file->queue, g_free);
  g_ptr_array_unref (file->delivered);
  g_free (file->torn);
  g_free (file);
}

static double
test_scale (void)
{
  const char *text = g_getenv ("JSYNC_TEST_SCALE");
  double scale = text != NULL ? g_ascii_strtod (text, NULL) : 1.0;

  return scale > 0 && scale <= 1 ? scale : 1.0;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK)
      || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        remove_tree (child);
      }
  g_rmdir (path);
}

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

/* The warnings a scenario may give: conflicts and files read again. */
static gboolean
warning_is_expected (const char *message)
{
  return strstr (message, "differs from") != NULL
         || strstr (message, "read again from the start") != NULL;
}

/* --- Generating a scenario ------------------------------------------------ */

static SimFile *
sim_file_get (GPtrArray *files, GRand *rand, const char *name)
{
  SimFile *file;

  for (guint i = 0; i < files->len; i++)
    if (strcmp (((SimFile *) files->pdata[i])->name, name) == 0)
      return files->pdata[i];
  file = g_new0 (SimFile, 1);
  file->name = g_strdup (name);
  g_queue_init (&file->queue);
  file->delivered = g_ptr_array_new_with_free_func (g_free);
  file->late = g_rand_int_range (rand, 0, 4) == 0;
  file->blank_lines = g_rand_boolean (rand);
  file->crlf = g_rand_int_range (rand, 0, 12) == 0;
  g_ptr_array_add (files, file);
  return file;
}

/* Another file of the same stream (a copy the sync tool made), or the
 * shared log. */
static const char *
other_file (GRand *rand, GPtrArray *files, HistoryEvent *event)
{
  for (guint tries = 0; tries < 8; tries++)
    {
      SimFile *file = files->pdata[g_rand_int_range (rand, 0, files->len)];

      if (strcmp (file->name, event->file) != 0)
        return file->name;
    }
  return event->shared;
}

static void
add_op (GPtrArray *ops, OpKind kind, const char *file, char *text, guint batch)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->file = g_strdup (file);
  op->text = text;
  op->batch = batch;
  g_ptr_array_add (ops, op);
}

static void
sim_line_text (SimFile *file, GString *out, const char *line, gsize from,
               gsize to)
{
  if (from == 0 && file->blank_lines)
    g_string_append_c (out, '\n');
  g_string_append_len (out, line + from, to - from);
  if (to == strlen (line))
    g_string_append (out, file->crlf ? "\r\n" : "\n");
}

/* Deliver up to `n` queued lines of a file (completing a torn one first);
 * the last may be torn. */
static void
sim_deliver (GRand *rand, GPtrArray *ops, SimFile *file, guint n,
             gboolean may_tear)
{
  GString *text = g_string_new (NULL);

  if (file->torn != NULL)
    {
      sim_line_text (file, text, file->torn, file->torn_cut,
                     strlen (file->torn));
      g_ptr_array_add (file->delivered, g_steal_pointer (&file->torn));
    }
  for (guint i = 0; i < n && !g_queue_is_empty (&file->queue); i++)
    {
      char *line = g_queue_pop_head (&file->queue);
      gsize length = strlen (line);

      if (may_tear && i + 1 == n && length > 2
          && g_rand_int_range (rand, 0, 8) == 0)
        {
          file->torn = line;
          file->torn_cut = g_rand_int_range (rand, 1, length);
          sim_line_text (file, text, line, 0, file->torn_cut);
          figures.torn++;
          break;
        }
      sim_line_text (file, text, line, 0, length);
      g_ptr_array_add (file->delivered, line);
    }
  if (text->len > 0)
    add_op (ops, OP_APPEND, file->name, g_string_free (text, FALSE), 0);
  else
    g_string_free (text, TRUE);
}

/* Whole-file replacement: every line the file holds (a torn one whole) in
 * another order, plus some not yet delivered. */
static void
sim_replace (GRand *rand, GPtrArray *ops, SimFile *file)
{
  GString *text = g_string_new (NULL);
  guint more = g_rand_int_range (rand, 0, 4);

  if (file->torn != NULL)
    g_ptr_array_add (file->delivered, g_steal_pointer (&file->torn));
  for (guint i = 0; i < more && !g_queue_is_empty (&file->queue); i++)
    g_ptr_array_add (file->delivered, g_queue_pop_head (&file->queue));
  for (guint i = file->delivered->len; i > 1; i--)
    {
      guint j = g_rand_int_range (rand, 0, i);
      gpointer tmp = file->delivered->pdata[i - 1];

      file->delivered->pdata[i - 1] = file->delivered->pdata[j];
      file->delivered->pdata[j] = tmp;
    }
  for (guint i = 0; i < file->delivered->len; i++)
    {
      const char *line = file->delivered->pdata[i];

      sim_line_text (file, text, line, 0, strlen (line));
    }
  add_op (ops, OP_REPLACE, file->name, g_string_free (text, FALSE), 0);
  figures.replacements++;
}

/* A conflict resolved by hand: a copy whose lines were all delivered is
 * merged into another file, then deleted.  Its events stay in the logs, so
 * nothing is lost. */
static void
sim_merge (GRand *rand, GPtrArray *ops, GPtrArray *files)
{
  SimFile *from = files->pdata[g_rand_int_range (rand, 0, files->len)];
  SimFile *into;
  GString *text;

  if (!g_queue_is_empty (&from->queue) || from->torn != NULL
      || from->delivered->len == 0)
    return;
  do
    into = files->pdata[g_rand_int_range (rand, 0, files->len)];
  while (into == from);
  text = g_string_new (NULL);
  if (into->torn != NULL)
    {
      sim_line_text (into, text, into->torn, into->torn_cut,
                     strlen (into->torn));
      g_ptr_array_add (into->delivered, g_steal_pointer (&into->torn));
    }
  for (guint i = 0; i < from->delivered->len; i++)
    {
      const char *line = from->delivered->pdata[i];

      sim_line_text (into, text, line, 0, strlen (line));
      g_ptr_array_add (into->delivered, g_strdup (line));
    }
  /* One step, so that shrinking never keeps the delete alone. */
  add_op (ops, OP_MERGE, into->name, g_string_free (text, FALSE), 0);
  ((Op *) ops->pdata[ops->len - 1])->from = g_strdup (from->name);
  g_ptr_array_remove (files, from);
  figures.merged++;
}

static guint
random_batch (GRand *rand)
{
  static const guint sizes[] = { 1, 1, 2, 3, 4, 5, 7, 1000 };

  return sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))];
}

/* The steps of the scenario of one seed. */
static GPtrArray *
scenario_generate (guint seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (sim_file_free);
  g_autoptr(GPtrArray) events = NULL;
  GPtrArray *ops = g_ptr_array_new_with_free_func (op_free);
  HistoryShape shape = {
    .devices = g_rand_int_range (rand, 2, 5),
    .conversations = g_rand_int_range (rand, 0, 3),
    .workspaces = g_rand_int_range (rand, 0, 3),
    .events = g_rand_int_range (rand, 6, 40),
  };
  guint total = 0, delivered = 0;

  if (shape.conversations + shape.workspaces == 0)
    shape.conversations = 1;
  events = history_generate (rand, &shape);
  figures.events += events->len;

  /* Queue each line in its file; some get copies elsewhere. */
  for (guint i = 0; i < events->len; i++)
    sim_file_get (files, rand, ((HistoryEvent *) events->pdata[i])->file);
  for (guint i = 0; i < events->len; i++)
    {
      HistoryEvent *event = events->pdata[i];
      SimFile *home = sim_file_get (files, rand, event->file);
      int kind = g_rand_int_range (rand, 0, 100);

      g_queue_push_tail (&home->queue, g_strdup (event->line));
      total++;
      if (kind < 15)
        {
          /* A copy in another file: a conflict copy holds the same events. */
          SimFile *copy = sim_file_get (files, rand,
                                        other_file (rand, files, event));

          g_queue_push_tail (&copy->queue, g_strdup (event->line));
          figures.copies++;
          total++;
        }
      if (kind >= 10 && kind < 20)
        {
          /* Two devices' copies of one id differ; sometimes a third copy
           * has the same JSON in other bytes. */
          SimFile *copy = sim_file_get (files, rand,
                                        g_rand_int_range (rand, 0, 5) == 0
                                          ? event->file
                                          : other_file (rand, files, event));
          char *variant = history_variant (rand, event);

          if (g_rand_int_range (rand, 0, 3) == 0)
            {
              SimFile *third = sim_file_get (files, rand,
                                             other_file (rand, files, event));

              g_queue_push_tail (&third->queue, history_respaced (
                  g_rand_boolean (rand) ? variant : event->line));
              total++;
            }
          g_queue_push_tail (&copy->queue, variant);
          figures.conflicts++;
          total++;
        }
      else if (kind >= 20 && kind < 25)
        {
          /* The same JSON in other bytes. */
          SimFile *copy = sim_file_get (files, rand,
                                        other_file (rand, files, event));

          g_queue_push_tail (&copy->queue, history_respaced (event->line));
          figures.copies++;
          total++;
        }
    }
  for (guint i = 0; i < files->len; i++)
    if (((SimFile *) files->pdata[i])->late)
      figures.late_files++;

  /* Deliver, with syncs between. */
  for (;;)
    {
      g_autoptr(GPtrArray) ready = g_ptr_array_new ();
      g_autoptr(GPtrArray) present = g_ptr_array_new ();
      gboolean second_half = delivered * 2 >= total;
      int action = g_rand_int_range (rand, 0, 100);

      for (guint i = 0; i < files->len; i++)
        {
          SimFile *file = files->pdata[i];

          if (!g_queue_is_empty (&file->queue)
              && (second_half || !file->late))
            g_ptr_array_add (ready, file);
          if (file->delivered->len > 0 || file->torn != NULL)
            g_ptr_array_add (present, file);
        }
      if (ready->len == 0 && !second_half)
        {
          /* Only late files are left: their time has come. */
          delivered = total;
          continue;
        }
      if (ready->len == 0)
        break;
      if (action < 60)
        {
          SimFile *file = ready->pdata[g_rand_int_range (rand, 0, ready->len)];
          guint before = g_queue_get_length (&file->queue);

          sim_deliver (rand, ops, file, g_rand_int_range (rand, 1, 5), TRUE);
          delivered += before - g_queue_get_length (&file->queue);
        }
      else if (action < 68 && present->len > 0)
        {
          SimFile *file = present->pdata[g_rand_int_range (rand, 0,
                                                           present->len)];
          guint before = g_queue_get_length (&file->queue);

          sim_replace (rand, ops, file);
          delivered += before - g_queue_get_length (&file->queue);
        }
      else if (action < 71 && files->len > 1)
        sim_merge (rand, ops, files);
      else if (action < 74)
        add_op (ops, OP_REOPEN, NULL, NULL, 0);
      else
        add_op (ops, OP_SYNC, NULL, NULL, random_batch (rand));
    }
  /* Everything whole, then a last sync. */
  for (guint i = 0; i < files->len; i++)
    sim_deliver (rand, ops, files->pdata[i], 0, FALSE);
  add_op (ops, OP_SYNC, NULL, NULL, random_batch (rand));
  return ops;
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

static void
write_text (const char *path, const char *text, gboolean append)
{
  g_autofree char *dir = g_path_get_dirname (path);
  FILE *file;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_fopen (path, append ? "ab" : "wb");
  g_assert_nonnull (file);
  g_assert_cmpint (fputs (text, file), >=, 0);
  g_assert_cmpint (fclose (file), ==, 0);
}

static JsyncCoordinator *
open_coordinator (JsyncConfig *config, char **failure)
{
  g_autoptr(GError) error = NULL;
  JsyncCoordinator *coordinator = jsync_coordinator_open (config, &error);

  if (coordinator == NULL)
    *failure = g_strdup_printf ("open: %s", error->message);
  return coordinator;
}

/* One sync; a failure or a lost event is a divergence. */
static char *
sim_sync (Sim *sim, guint batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsyncResult) result = NULL;
  char *failure = NULL;

  jsync_config_set_batch_size (sim->config, batch);
  if (sim->coordinator == NULL
      && (sim->coordinator = open_coordinator (sim->config, &failure)) == NULL)
    return failure;
  result = jsync_coordinator_sync (sim->coordinator, &error);
  figures.syncs++;
  if (result == NULL)
    return g_strdup_printf ("sync failed: %s", error->message);
  if (result->lost_events->len > 0)
    {
      JsyncLost *lost = result->lost_events->pdata[0];

      return g_strdup_printf ("lost events reported: %s no longer holds %s",
                              lost->file, (char *) lost->ids->pdata[0]);
    }
  return NULL;
}

static json_object *
dump_with (JsyncCoordinator *coordinator, char **failure)
{
  g_autoptr(GError) error = NULL;
  json_object *dump = jsync_coordinator_dump (coordinator, &error);

  if (dump == NULL)
    *failure = g_strdup_printf ("dump: %s", error->message);
  return dump;
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

typedef struct
{
  char *line;               /* owned: the winning copy */
  json_object *json;        /* owned */
  const char *id;           /* borrowed from json */
  const char *device;       /* borrowed from json */
  const char *type;         /* borrowed from json */
  gint64 ts;
  int status;               /* what jsync_events must say: 0, 1 or 2 */
} Winner;

static void
winner_free (gpointer data)
{
  Winner *winner = data;

  g_free (winner->line);
  json_object_put (winner->json);
  g_free (winner);
}

static gint
winner_compare (gconstpointer a, gconstpointer b)
{
  const Winner *x = *(Winner *const *) a;
  const Winner *y = *(Winner *const *) b;
  int c;

  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  if ((c = strcmp (x->device, y->device)) != 0)
    return c;
  return strcmp (x->id, y->id);
}

static const char *
json_string_member (json_object *json, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (json, key, &value)
      || !json_object_is_type (value, json_type_string))
    return NULL;
  return json_object_get_string (value);
}

/* Every line of every log below `dir`: the smallest copy of each id. */
static void
collect_winners (const char *dir, GHashTable *winners)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (name[0] == '.')
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          collect_winners (path, winners);
          continue;
        }
      if (!g_str_has_suffix (name, ".jsonl")
          || !g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      /* The last piece has no newline: not a line yet. */
      for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
        {
          json_object *json = json_tokener_parse (lines[i]);
          json_object *ts = NULL;
          Winner *old, *winner;

          if (json == NULL || !json_object_is_type (json, json_type_object)
              || json_string_member (json, "id") == NULL
              || json_string_member (json, "deviceId") == NULL
              || json_string_member (json, "type") == NULL
              || !json_object_object_get_ex (json, "timestamp", &ts)
              || !json_object_is_type (ts, json_type_int))
            {
              json_object_put (json);
              continue;
            }
          /* The smallest copy of all, even among copies with the same
           * JSON: their bytes take part in the rule too. */
          old = g_hash_table_lookup (winners, json_string_member (json, "id"));
          if (old != NULL && history_copy_compare (old->line, lines[i]) <= 0)
            {
              json_object_put (json);
              continue;
            }
          winner = g_new0 (Winner, 1);
          winner->line = g_strdup (lines[i]);
          winner->json = json;
          winner->id = json_string_member (json, "id");
          winner->device = json_string_member (json, "deviceId");
          winner->type = json_string_member (json, "type");
          winner->ts = json_object_get_int64 (ts);
          g_hash_table_replace (winners, (gpointer) winner->id, winner);
        }
    }
}

/* The oracle: the winning copies applied in key order straight through the
 * appliers, without jsync's engine. */
static json_object *
oracle_dump (GHashTable *winners)
{
  static const char *const names[] = { "conversation", "workspace", NULL };
  g_autoptr(Harness) harness = harness_new (names);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, winners);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (sorted, value);
  g_ptr_array_sort (sorted, winner_compare);
  for (guint i = 0; i < sorted->len; i++)
    {
      Winner *winner = sorted->pdata[i];
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
  static const char *const fts[] = { "workspace_fts", "conversation_fts",
                                     "message_fts" };
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *failure = NULL;
  gint64 n;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    {
      failure = g_strdup_printf ("%s: %s", path, sqlite3_errmsg (db));
      sqlite3_close (db);
      return failure;
    }
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
  for (guint i = 0; failure == NULL && i < G_N_ELEMENTS (fts); i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", fts[i],
          fts[i]);

      if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
        failure = g_strdup_printf ("fts: %s: %s", fts[i], sqlite3_errmsg (db));
    }
  if (failure == NULL)
    sqlite3_prepare_v2 (db, "SELECT id, status, raw FROM jsync_events", -1,
                        &stmt, NULL);
  while (failure == NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      Winner *winner = g_hash_table_lookup (winners, id);
      g_autofree char *raw = g_strndup (sqlite3_column_blob (stmt, 2),
                                        sqlite3_column_bytes (stmt, 2));
      json_object *json = json_tokener_parse (raw);

      if (winner == NULL)
        failure = g_strdup_printf ("events: %s is in no log", id);
      else if (!json_object_equal (json, winner->json))
        failure = g_strdup_printf ("events: %s: the cache keeps the copy\n"
                                   "  %s\nbut the event is the copy\n  %s",
                                   id, raw, winner->line);
      else if (sqlite3_column_int (stmt, 1) != winner->status)
        failure = g_strdup_printf ("events: %s: status %d, expected %d", id,
                                   sqlite3_column_int (stmt, 1),
                                   winner->status);
      json_object_put (json);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return failure;
}

/* Run the steps in a fresh folder; NULL when everything converged, else
 * what diverged. */
static char *
scenario_run (const char *root, GPtrArray *ops)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) winners = NULL;
  g_autoptr(JsyncConfig) reference_config = NULL;
  g_autoptr(JsyncCoordinator) reference = NULL;
  g_autofree char *reference_db = NULL;
  json_object *cache_dump = NULL, *reference_dump = NULL, *oracle = NULL;
  char *failure = NULL;
  Sim sim = { 0 };

  remove_tree (root);
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
      Op *op = ops->pdata[i];
      g_autofree char *path = op->file != NULL
                                ? g_build_filename (sim.data, op->file, NULL)
                                : NULL;

      switch (op->kind)
        {
        case OP_APPEND:
          write_text (path, op->text, TRUE);
          break;
        case OP_REPLACE:
          {
            g_autofree char *dir = g_path_get_dirname (path);
            g_autofree char *tmp = g_build_filename (dir, ".sync-tmp", NULL);

            write_text (tmp, op->text, FALSE);
            g_assert_cmpint (g_rename (tmp, path), ==, 0);
          }
          break;
        case OP_SYNC:
          failure = sim_sync (&sim, op->batch);
          break;
        case OP_REOPEN:
          g_clear_pointer (&sim.coordinator, jsync_coordinator_free);
          break;
        case OP_MERGE:
          {
            g_autofree char *from = g_build_filename (sim.data, op->from,
                                                      NULL);

            write_text (path, op->text, TRUE);
            /* A shrunk scenario may have dropped the file's writes. */
            g_unlink (from);
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (failure == NULL && sim.coordinator == NULL)
    sim.coordinator = open_coordinator (sim.config, &failure);
  if (failure == NULL)
    cache_dump = dump_with (sim.coordinator, &failure);
  g_clear_pointer (&sim.coordinator, jsync_coordinator_free);

  /* The reference: from scratch, one batch. */
  reference_db = g_build_filename (root, "reference.db", NULL);
  reference_config = jsync_config_new ();
  jsync_config_set_data_dir (reference_config, sim.data);
  jsync_config_set_database (reference_config, reference_db);
  jsync_config_set_batch_size (reference_config, 1000000);
  if (failure == NULL)
    reference = open_coordinator (reference_config, &failure);
  if (failure == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsyncResult) result = jsync_coordinator_sync (reference,
                                                              &error);

      if (result == NULL)
        failure = g_strdup_printf ("reference sync failed: %s",
                                   error->message);
    }
  if (failure == NULL)
    reference_dump = dump_with (reference, &failure);
  g_clear_pointer (&reference, jsync_coordinator_free);
  captured = NULL;

  winners = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, winner_free);
  collect_winners (sim.data, winners);
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

/* The steps as a shell script for the jsync program. */
static char *
reproduction (GPtrArray *ops)
{
  GString *script = g_string_new (
      "mkdir -p data/conversations data/workspaces && cd data\n");

  for (guint i = 0; i < ops->len; i++)
    {
      Op *op = ops->pdata[i];
      g_autofree char *file = op->file != NULL ? g_shell_quote (op->file) : NULL;
      g_autofree char *text = op->text != NULL ? g_shell_quote (op->text) : NULL;

      switch (op->kind)
        {
        case OP_APPEND:
          g_string_append_printf (script, "printf %%s %s >> %s\n", text, file);
          break;
        case OP_REPLACE:
          g_string_append_printf (script,
                                  "printf %%s %s > .tmp && mv .tmp %s\n",
                                  text, file);
          break;
        case OP_SYNC:
          g_string_append_printf (script,
                                  "jsync --db ../cache.db --batch-size %u"
                                  " sync\n", op->batch);
          break;
        case OP_REOPEN:
          g_string_append (script, "# (the coordinator is reopened)\n");
          break;
        case OP_MERGE:
          {
            g_autofree char *from = g_shell_quote (op->from);

            g_string_append_printf (script, "printf %%s %s >> %s && rm %s\n",
                                    text, file, from);
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_string_append (script,
                   "jsync --db ../reference.db --batch-size 1000000 sync\n"
                   "diff <(jsync --db ../cache.db dump)"
                   " <(jsync --db ../reference.db dump)\n");
  return g_string_free (script, FALSE);
}

/* --- The test ------------------------------------------------------------- */

static void
report_divergence (const char *root, guint seed, GPtrArray *ops,
                   const char *failure)
{
  g_autofree char *kind = failure_kind (failure);
  g_autoptr(GPtrArray) small = shrink (root, ops, kind);
  g_autofree char *small_failure = scenario_run (root, small);
  g_autofree char *script = reproduction (small);

  g_printerr ("\nseed %u diverges: %s\n"
              "reproduction (%u of %u steps; JSYNC_TEST_SEED=%u reruns it):\n"
              "%s\n(shrunk: %s)\n",
              seed, failure, small->len, ops->len, seed, script,
              small_failure != NULL ? small_failure : "no longer fails");
}

/* Scenarios run on tmpfs when there is one: the test is about order, not
 * durability, and SQLite's fsyncs would dominate its time. */
static const char *
scratch_dir (void)
{
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR)
      && access ("/dev/shm", W_OK | X_OK) == 0)
    return "/dev/shm";
  return g_get_tmp_dir ();
}

static void
test_convergence (void)
{
  g_autofree char *root = g_build_filename (scratch_dir (), "jsync-conv-XXXXXX",
                                            NULL);
  const char *only = g_getenv ("JSYNC_TEST_SEED");
  guint n = g_test_slow () ? CONVERGENCE_SCENARIOS_SLOW : CONVERGENCE_SCENARIOS;
  guint first = 1;
  guint failures = 0;
  gint64 start = g_get_monotonic_time ();

  g_assert_nonnull (g_mkdtemp (root));
  n = MAX ((guint) (n * test_scale ()), 20);
  if (only != NULL)
    {
      first = (guint) g_ascii_strtoull (only, NULL, 10);
      n = 1;
    }
  for (guint seed = first; seed < first + n; seed++)
    {
      g_autoptr(GPtrArray) ops = scenario_generate (seed);
      g_autofree char *scenario = g_build_filename (root, "s", NULL);
      g_autofree char *failure = NULL;

      if (only != NULL)
        {
          g_autofree char *script = reproduction (ops);

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
  remove_tree (root);
  g_test_message ("convergence: %u scenarios, %" G_GUINT64_FORMAT " events,"
                  " %" G_GUINT64_FORMAT " extra copies, %" G_GUINT64_FORMAT
                  " conflicting copies, %" G_GUINT64_FORMAT " torn lines, %"
                  G_GUINT64_FORMAT " whole-file replacements, %"
                  G_GUINT64_FORMAT " late files, %" G_GUINT64_FORMAT
                  " copies merged and deleted, %" G_GUINT64_FORMAT
                  " syncs, %u divergences, %.1f s",
                  figures.scenarios, figures.events, figures.copies,
                  figures.conflicts, figures.torn, figures.replacements,
                  figures.late_files, figures.merged, figures.syncs, failures,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (failures, ==, 0);
}

static const char *scratch_dir (void);

/* --- Regressions: scenarios that once diverged ------------------------------ */

#define CONV "{\"type\":\"metadata\",\"data\":{\"id\":\"c0\",\"title\":\"T\"," \
  "\"vault\":\"V\"},\"id\":\"e1\",\"deviceId\":\"d\",\"timestamp\":1}\n"
#define MESSAGE(content) "{\"type\":\"message\",\"conversationId\":\"c0\"," \
  "\"data\":{\"id\":\"m1\",\"content\":\"" content "\"},\"id\":\"e2\"," \
  "\"deviceId\":\"d\",\"timestamp\":2}\n"

typedef struct
{
  OpKind kind;
  const char *file;
  const char *text;
  guint batch;
  const char *from;
} Step;

/* Run fixed steps; returns what diverged, or NULL. */
static char *
run_steps (const Step *steps, gsize n)
{
  g_autofree char *root = g_build_filename (scratch_dir (), "jsync-conv-XXXXXX",
                                            NULL);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (op_free);
  char *failure = NULL;

  g_assert_nonnull (g_mkdtemp (root));
  for (gsize i = 0; i < n; i++)
    {
      add_op (ops, steps[i].kind, steps[i].file, g_strdup (steps[i].text),
              steps[i].batch);
      ((Op *) ops->pdata[i])->from = g_strdup (steps[i].from);
    }
  failure = scenario_run (root, ops);
  remove_tree (root);
  return failure;
}

static void
assert_steps_converge (const Step *steps, gsize n)
{
  g_autofree char *failure = run_steps (steps, n);

  g_assert_cmpstr (failure, ==, NULL);
}

/* Two copies of one id that differ in one batch, the smaller second, then
 * the larger again from another file in the same batch: the smaller is the
 * event, applied once.  (Replacing the first copy in the batch kept its
 * freed id as the batch's key, so the third copy was not recognized and
 * the event was applied twice, the larger copy last.) */
static void
test_batch_conflict (void)
{
  const Step steps[] = {
    { OP_APPEND, "a.jsonl", CONV MESSAGE ("b") MESSAGE ("a"), 0 },
    { OP_APPEND, "b.jsonl", MESSAGE ("b"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
  };

  assert_steps_converge (steps, G_N_ELEMENTS (steps));
}

/* The same JSON in other bytes takes part in the rule with its own bytes:
 * of O, O' (O respaced, the smallest bytes) and V (different JSON, bytes
 * between), O' is the event, so O's JSON wins, in one batch or across
 * runs.  (A copy with the same JSON was skipped whatever its bytes, so V
 * then beat the larger O that had been kept.) */
#define MESSAGE_SPACED(content) "{ \"type\": \"message\", \"conversationId\": \"c0\"," \
  " \"data\": { \"id\": \"m1\", \"content\": \"" content "\" }, \"id\": \"e2\"," \
  " \"deviceId\": \"d\", \"timestamp\": 2 }\n"

static void
test_same_json_in_batch (void)
{
  const Step steps[] = {
    { OP_APPEND, "a.jsonl", CONV MESSAGE ("b") MESSAGE_SPACED ("b") MESSAGE ("a"),
      0 },
    { OP_SYNC, NULL, NULL, 1000 },
  };

  assert_steps_converge (steps, G_N_ELEMENTS (steps));
}

static void
test_same_json_across_runs (void)
{
  const Step steps[] = {
    { OP_APPEND, "a.jsonl", CONV MESSAGE ("b"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
    { OP_APPEND, "b.jsonl", MESSAGE_SPACED ("b"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
    { OP_APPEND, "c.jsonl", MESSAGE ("a"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
  };

  assert_steps_converge (steps, G_N_ELEMENTS (steps));
}

/* A conflict copy merged by hand into the shared log and deleted, both
 * arriving before one sync: its events are still in a log, so nothing is
 * reported lost.  (The lost report was made before the merged log was
 * read.) */
static void
test_merged_copy (void)
{
  const Step steps[] = {
    { OP_APPEND, "c (1).jsonl", CONV MESSAGE ("a"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
    { OP_MERGE, "c.jsonl", CONV MESSAGE ("a"), 0, "c (1).jsonl" },
    { OP_SYNC, NULL, NULL, 1000 },
  };

  assert_steps_converge (steps, G_N_ELEMENTS (steps));
}

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
    { OP_APPEND, "b.jsonl", MESSAGE_IN ("c1", "y", "20"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
    { OP_APPEND, "a.jsonl", MESSAGE_IN ("c0", "x", "10"), 0 },
    { OP_SYNC, NULL, NULL, 1000 },
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
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* Conflicts and files read again warn; the checks look at them. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_default_handler (capture_log, NULL);

  g_test_add_func ("/convergence/regression/batch-conflict",
                   test_batch_conflict);
  g_test_add_func ("/convergence/regression/same-json-in-batch",
                   test_same_json_in_batch);
  g_test_add_func ("/convergence/regression/same-json-across-runs",
                   test_same_json_across_runs);
  g_test_add_func ("/convergence/regression/merged-copy", test_merged_copy);
  g_test_add_func ("/convergence/regression/cross-stream", test_cross_stream);
  g_test_add_func ("/convergence/devices/random", test_convergence);
  return g_test_run ();
}
