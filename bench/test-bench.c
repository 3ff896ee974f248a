/* test-bench.c: the benchmark's programs (BENCHMARKS.md) still do what
 * its figures rest on.
 *
 * The generator: the same seed and folder give the same bytes, appends
 * included (they once depended on heap addresses); --late appends as a
 * device of its own, after the bytes already there, with timestamps inside
 * the span the folder covered, most of them before the last event of
 * their log, as its summary counts.  The benchmark, on a tiny corpus: its
 * JSON has the footprint, the late sync and every target of issue 12, and
 * its figures agree with each other and with the files.
 */
#include <string.h>

#include "jsync-test.h"

/* Run the generator on `out` with `seed` and further arguments
 * (NULL-terminated); its summary.  (transfer full) */
static json_object *gen_run (const char *out, const char *seed, ...)
  G_GNUC_NULL_TERMINATED;

static json_object *
gen_run (const char *out, const char *seed, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  JTestSpawn options = { .json = TRUE };
  g_autoptr(JTestRun) run = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, JSYNC_BENCH_GEN);
  g_ptr_array_add (argv, "--out");
  g_ptr_array_add (argv, (char *) out);
  g_ptr_array_add (argv, "--seed");
  g_ptr_array_add (argv, (char *) seed);
  va_start (args, seed);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  run = jtest_spawn_logged ((const char *const *) argv->pdata, &options);
  g_assert_cmpint (run->status, ==, 0);
  return json_object_get (run->json);
}

/* Every log below `dir`: relative path → contents.  (transfer full) */
static GHashTable *
folder_read (const char *dir)
{
  g_autoptr(GPtrArray) paths = jtest_tree_files (dir, FALSE);
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             g_free);

  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, paths->pdata[i], NULL);
      g_autoptr(GError) error = NULL;
      char *text = NULL;

      g_file_get_contents (path, &text, NULL, &error);
      g_assert_no_error (error);
      g_hash_table_insert (files, g_strdup (paths->pdata[i]), text);
    }
  return files;
}

/* The events of `text`: its non-blank lines.  (transfer full) */
static GPtrArray *
lines_split (const char *text)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_ptr_array_add (events, g_strdup (lines[i]));
  return events;
}

/* The timestamp of the event on `line`. */
static gint64
line_timestamp (const char *line)
{
  g_autoptr(json_object) event = jtest_parse_object (line);

  return jtest_member_int (event, "timestamp");
}

static gboolean
folders_equal (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer path, text;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &path, &text))
    if (g_strcmp0 (text, g_hash_table_lookup (b, path)) != 0)
      return FALSE;
  return TRUE;
}

/* A folder as the generator makes it, then appends to it in order, then
 * late. */
typedef struct
{
  GHashTable *before;           /* owned: its logs before the late append */
  GHashTable *after;            /* owned: and after */
  json_object *in_order;        /* owned: the in-order append's summary */
  json_object *late;            /* owned: the late append's summary */
} GenFolder;

static void
gen_folder_make (GenFolder *folder, const char *out)
{
  json_object *corpus = gen_run (out, "5", "--events", "20000", NULL);

  json_object_put (corpus);
  folder->in_order = gen_run (out, "5", "--append-percent", "1", NULL);
  folder->before = folder_read (out);
  folder->late = gen_run (out, "5", "--append-percent", "2", "--late", NULL);
  folder->after = folder_read (out);
}

static void
gen_folder_clear (GenFolder *folder)
{
  g_hash_table_unref (folder->before);
  g_hash_table_unref (folder->after);
  json_object_put (folder->in_order);
  json_object_put (folder->late);
}

/* Two folders from one seed, appended to in order then late: the same
 * bytes; the late events as --late promises. */
static void
test_gen_late (void)
{
  g_autofree char *top = jtest_tree_make (NULL, "bench-gen");
  g_autofree char *a_path = g_build_filename (top, "a", NULL);
  g_autofree char *b_path = g_build_filename (top, "b", NULL);
  GenFolder a, b;
  GHashTableIter iter;
  gpointer path, text;
  const char *device;
  gint64 first = G_MAXINT64, last = 0, existing = 0;
  gint64 written = 0, backdated = 0, new_files = 0;

  gen_folder_make (&a, a_path);
  gen_folder_make (&b, b_path);
  g_assert_true (folders_equal (a.before, b.before));
  g_assert_true (folders_equal (a.after, b.after));

  /* One device of its own. */
  g_assert_cmpuint (jtest_member_len (a.late, "devices"), ==, 1);
  device = json_object_get_string (
      json_object_array_get_idx (jtest_member (a.late, "devices"), 0));
  g_assert_false (jtest_array_has_string (jtest_member (a.in_order,
                                                        "devices"),
                                          device));
  g_assert_cmpuint (jtest_member_len (a.in_order, "devices"), ==, 3);

  /* The span the folder covered. */
  g_hash_table_iter_init (&iter, a.before);
  while (g_hash_table_iter_next (&iter, &path, &text))
    {
      g_autoptr(GPtrArray) events = lines_split (text);

      for (guint i = 0; i < events->len; i++)
        {
          gint64 ts = line_timestamp (events->pdata[i]);

          first = MIN (first, ts);
          last = MAX (last, ts);
        }
      existing += events->len;
    }

  /* Each log: its old bytes untouched, then the late device's events,
   * inside that span. */
  g_hash_table_iter_init (&iter, a.after);
  while (g_hash_table_iter_next (&iter, &path, &text))
    {
      const char *old = g_hash_table_lookup (a.before, path);
      gsize old_length = old != NULL ? strlen (old) : 0;
      g_autoptr(GPtrArray) old_events = lines_split (old != NULL ? old : "");
      g_autoptr(GPtrArray) events = NULL;
      gint64 log_last = 0;

      g_assert_true (strncmp (text, old != NULL ? old : "", old_length) == 0);
      new_files += old == NULL;
      for (guint i = 0; i < old_events->len; i++)
        log_last = MAX (log_last, line_timestamp (old_events->pdata[i]));
      events = lines_split ((const char *) text + old_length);
      for (guint i = 0; i < events->len; i++)
        {
          g_autoptr(json_object) event = jtest_parse_object (events->pdata[i]);
          gint64 ts = jtest_member_int (event, "timestamp");

          g_assert_cmpstr (jtest_member_str (event, "deviceId"), ==, device);
          g_assert_cmpint (ts, >=, first);
          /* A session that starts near the end runs on: three turns at
           * most, each at most about an hour (gen_turn()). */
          g_assert_cmpint (ts, <=, last + 4 * 3600 * 1000);
          backdated += ts < log_last;
        }
      written += events->len;
    }
  /* 2% of the folder's events, in the files it had, most of them before
   * the end of their log; the summary says so. */
  g_assert_cmpint (written, ==, (existing * 2 + 50) / 100);
  g_assert_cmpint (new_files, ==, 0);
  g_assert_cmpint (backdated * 2, >, written);
  g_assert_cmpint (written, ==, jtest_member_int (a.late, "events"));
  g_assert_cmpint (new_files, ==, jtest_member_int (a.late, "files"));
  g_assert_cmpint (backdated, ==, jtest_member_int (a.late, "backdated"));

  gen_folder_clear (&a);
  gen_folder_clear (&b);
  jtest_tree_remove (top);
}

/* A member's double (json-c keeps integral doubles as doubles). */
static double
member_double (json_object *object, const char *key)
{
  json_object *value = jtest_member (object, key);

  g_assert_true (json_object_is_type (value, json_type_double)
                 || json_object_is_type (value, json_type_int));
  return json_object_get_double (value);
}

/* One footprint of the JSON: it holds the cache, and its figures add up. */
static void
check_footprint (json_object *f, gint64 logs_bytes)
{
  json_object *files = jtest_member (f, "files");
  json_object *db = jtest_member (files, "jsync.db");
  gint64 disk = 0;

  g_assert_cmpint (jtest_member_int (f, "logsBytes"), ==, logs_bytes);
  g_assert_cmpint (jtest_member_int (db, "diskBytes"), >, 0);
  json_object_object_foreach (files, name, file)
    {
      g_assert_true (g_str_has_prefix (name, "jsync.db"));
      disk += jtest_member_int (file, "diskBytes");
    }
  g_assert_cmpint (disk, ==, jtest_member_int (f, "diskBytes"));
  g_assert_cmpfloat_with_epsilon (member_double (f, "ratio"),
                                  (double) disk / logs_bytes, 1e-9);
}

/* jsync-bench on 1,000 events: the new figures, consistent. */
static void
test_smoke (void)
{
  g_autofree char *top = jtest_tree_make (NULL, "bench-smoke");
  g_autofree char *json_path = g_build_filename (top, "results.json", NULL);
  const char *argv[] = { JSYNC_BENCH, "--events", "1000", "--big-line-mb",
                         "1", "--syncs", "2", "--dir", top, "--json",
                         json_path, NULL };
  const char *rows[] = {
    "disk footprint after syncs", "disk footprint after rebuild",
    "rebuild / baseline, wall", "rebuild / baseline, CPU",
    "1% sync / rebuild", "late 1% sync / in-order 1% sync",
    "sync with nothing new", "one 1 MB line: peak memory / its size",
  };
  const char *targets[] = {
    "rebuildVsBaseline", "rebuildCpuVsBaseline", "syncNothingNew50ms",
    "syncAppend2PercentOfRebuild", "syncLate2xInOrder",
    "footprintAfterSyncs1x", "footprintAfterRebuild1x", "bigLine3x",
  };
  g_autoptr(JTestRun) run = jtest_spawn_logged (argv, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(json_object) report = NULL;
  g_autoptr(GPtrArray) left = NULL;
  json_object *append, *late, *big, *target_set;
  gint64 corpus_bytes, appended_bytes, late_bytes;

  g_assert_cmpint (run->status, ==, 0);
  g_file_get_contents (json_path, &text, NULL, &error);
  g_assert_no_error (error);
  report = jtest_parse_object (text);

  /* The late sync applied every late event, and its ratio is of the two
   * times reported. */
  append = jtest_member (report, "syncAppend");
  late = jtest_member (report, "syncLate");
  g_assert_cmpint (jtest_member_int (late, "eventsApplied"), ==,
                   jtest_member_int (jtest_member (late, "appended"),
                                     "events"));
  g_assert_cmpint (jtest_member_int (late, "eventsApplied"), >, 0);
  g_assert_cmpfloat_with_epsilon (member_double (late, "ratioToInOrder"),
                                  member_double (late, "seconds")
                                    / member_double (append, "seconds"),
                                  1e-9);

  /* The logs the footprint is against: every byte the generator wrote. */
  corpus_bytes = jtest_member_int (jtest_member (report, "corpus"), "bytes");
  appended_bytes = jtest_member_int (jtest_member (append, "appended"),
                                     "bytes");
  late_bytes = jtest_member_int (jtest_member (late, "appended"), "bytes");
  check_footprint (jtest_member (jtest_member (report, "footprint"),
                                 "afterSyncs"),
                   corpus_bytes + appended_bytes + late_bytes);
  check_footprint (jtest_member (jtest_member (report, "footprint"),
                                 "afterRebuild"),
                   corpus_bytes + appended_bytes + late_bytes);

  /* (f): the log's two events (metadata, the message) applied, and its
   * ratio of the figures reported. */
  big = jtest_member (report, "bigLine");
  g_assert_cmpint (jtest_member_int (big, "eventsApplied"), ==, 2);
  g_assert_cmpint (jtest_member_int (big, "lineBytes"), >, 1000 * 1000);
  g_assert_cmpfloat_with_epsilon (member_double (big, "ratio"),
                                  jtest_member_int (big, "peakRssKb") * 1024.0
                                    / jtest_member_int (big, "lineBytes"),
                                  1e-9);

  /* Every target judged, and every row of issue 12 printed. */
  target_set = jtest_member (report, "targets");
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    jtest_member_bool (target_set, targets[i]);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    g_assert_nonnull (strstr (run->out, rows[i]));

  /* Its temp folder is gone: only the JSON is left. */
  left = jtest_tree_files (top, TRUE);
  g_assert_cmpuint (left->len, ==, 1);
  g_assert_cmpstr (left->pdata[0], ==, "results.json");
  jtest_tree_remove (top);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);
  g_test_add_func ("/bench/gen/late", test_gen_late);
  g_test_add_func ("/bench/smoke", test_smoke);
  return g_test_run ();
}
