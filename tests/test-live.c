/* test-live.c: logs and caches that change while jsync runs.
 *
 * One regression test per defect found with writers running at the same
 * time as sync, rebuild and verify (README "Guarantees", concurrency).  Each
 * makes its race happen at a chosen moment: the library's progress callback
 * runs inside a run, between its phases and batches, and that is where the
 * "other process" writes.  The broad suite with real writer processes at
 * random moments is test-concurrency.
 */
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli-run.h"

/* One event line with no applier (kept as pending): the core's
 * bookkeeping alone is under test here. */
static char *
event_line (const char *id, gint64 ts)
{
  return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"probe_event\","
                          "\"timestamp\":%" G_GINT64_FORMAT ","
                          "\"deviceId\":\"dev-a\"}\n",
                          id, ts);
}

static void
append_events (CliFixture *f, const char *relative, const char *prefix,
               guint first, guint count)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = first; i < first + count; i++)
    {
      g_autofree char *id = g_strdup_printf ("%s-%u", prefix, i);
      g_autofree char *line = event_line (id, 1000 + i);

      g_string_append (text, line);
    }
  cli_append (f, relative, text->str);
}

static gint64
count_event (CliFixture *f, const char *id)
{
  g_autofree char *sql = g_strdup_printf (
      "SELECT count(*) FROM jsync_events WHERE id = '%s'", id);

  return cli_sql_int (f, sql);
}

/* --- A log that grows while it is read ---------------------------------- */

typedef struct
{
  CliFixture *f;
  gboolean done;
} GrowDuring;

/* After the first batch of a.jsonl: the reading thread, which reads ahead,
 * has had time to read b.jsonl to its end; b grows now. */
static void
grow_after_first_batch (const JsyncProgress *progress, gpointer data)
{
  GrowDuring *grow = data;

  if (grow->done || strcmp (progress->phase, "read") != 0
      || progress->bytes_done == 0)
    return;
  grow->done = TRUE;
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
  append_events (grow->f, "b.jsonl", "late", 0, 1);
}

/* Defect 1: the checkpoint's identity (size, mtime) was taken after the
 * file was read, so a log that grew in between was recorded as read to
 * its new end: the appended event was never read by any later run. */
static void
test_grown_while_read (CliFixture *f, gconstpointer data)
{
  GrowDuring grow = { .f = f };
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  g_autoptr(GError) error = NULL;

  append_events (f, "a.jsonl", "a", 0, 200);
  append_events (f, "b.jsonl", "b", 0, 3);
  jsync_config_set_batch_size (f->config, 20);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, grow_after_first_batch, &grow);
  first = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_true (grow.done);
  jsync_coordinator_set_progress (coordinator, NULL, NULL);
  second = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_event (f, "late-0"), ==, 1);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"), ==,
                   204);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, CliFixture, NULL, cli_fixture_setup, func, \
              cli_fixture_teardown)
  ADD ("/live/sync/grown-while-read", test_grown_while_read);
#undef ADD
  return g_test_run ();
}
