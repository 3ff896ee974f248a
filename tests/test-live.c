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
#include <ftw.h>
#include <grp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli-run.h"

/* One event line: a conversation of its own (the conversation applier
 * takes "metadata"), so that it is a row of a table verify compares. */
static char *
event_line (const char *id, gint64 ts)
{
  g_autofree char *conversation = g_strconcat ("c-", id, NULL);

  return jtest_metadata_line (id, "dev-a", ts, conversation, "T");
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

/* A sync through the library that warns once, as `pattern` says (a
 * g_test_expect_message pattern).  (transfer full) */
static JsyncResult *
sync_warning (CliFixture *f, const char *pattern)
{
  JsyncResult *result;

  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
  result = cli_sync (f);
  g_test_assert_expected_messages ();
  return result;
}

static gint64
count_event (CliFixture *f, const char *id)
{
  return jtest_cache_int (f->db, "SELECT count(*) FROM jsync_events"
                                 " WHERE id = ?", id);
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

/* --- Rebuilds ----------------------------------------------------------- */

/* The cache equals a cache made from scratch from the logs now. */
static void
assert_equals_fresh (CliFixture *f)
{
  g_autofree char *fresh_db = g_build_filename (f->dir, "fresh.db", NULL);
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) live = cli_open (f);
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  json_object *a, *b;

  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, fresh_db);
  result = jtest_sync (config);
  a = jsync_coordinator_dump (live, &error);
  g_assert_no_error (error);
  b = jtest_dump (config);
  g_assert_cmpstr (json_object_to_json_string (a), ==,
                   json_object_to_json_string (b));
  json_object_put (a);
  json_object_put (b);
}

typedef struct During
{
  CliFixture *f;
  guint calls;
  gboolean done;
  GError *error;                /* owned: the inner run's */
  void (*act) (struct During *during);  /* what during_read does, once */
} During;

/* At the first report of the read phase: during->act. */
static void
during_read (const JsyncProgress *progress, gpointer data)
{
  During *during = data;

  if (during->done || strcmp (progress->phase, "read") != 0)
    return;
  during->done = TRUE;
  during->act (during);
}

/* In the middle of a rebuild's reading: another rebuild, start to end. */
static void
rebuild_during (During *during)
{
  g_autoptr(JsyncCoordinator) other = cli_open (during->f);
  g_autoptr(JsyncResult) result = jsync_coordinator_rebuild (other,
                                                             &during->error);
}

/* The example data synced, then a rebuild during whose reading `during`
 * does what another process would; both must succeed. */
static void
rebuild_with (CliFixture *f, void (*act) (During *during))
{
  During during = { .f = f, .act = act };
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cli_fixture_copy_nexus (f);
  result = cli_sync (f);
  g_clear_pointer (&result, jsync_result_free);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, during_read, &during);
  result = jsync_coordinator_rebuild (coordinator, &error);
  g_assert_true (during.done);
  g_assert_no_error (during.error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
}

/* Defect 2: two rebuilds at once built into the same "<db>.rebuild": the
 * second removed the first's file, the first then renamed nothing over
 * the cache it had moved aside, and no cache was left. */
static void
test_two_rebuilds (CliFixture *f, gconstpointer data)
{
  rebuild_with (f, rebuild_during);
  g_assert_true (g_file_test (f->db, G_FILE_TEST_IS_REGULAR));
  assert_equals_fresh (f);
}

/* In the middle of a rebuild's reading: a new log, synced into the live
 * cache (as `jsync append` does); that event is acknowledged. */
static void
sync_new_log_during (During *during)
{
  g_autoptr(JsyncCoordinator) other = NULL;
  g_autoptr(JsyncResult) result = NULL;

  append_events (during->f, "z-new.jsonl", "new", 0, 2);
  other = cli_open (during->f);
  result = jsync_coordinator_sync (other, &during->error);
}

/* Defect 3: a rebuild swapped in a cache without the events that a sync
 * committed while it built. */
static void
test_rebuild_catches_up (CliFixture *f, gconstpointer data)
{
  rebuild_with (f, sync_new_log_during);
  g_assert_cmpint (count_event (f, "new-0"), ==, 1);
  g_assert_cmpint (count_event (f, "new-1"), ==, 1);
  assert_equals_fresh (f);
}

/* Once a rebuild's scan is over: a log goes away until the rebuild ends,
 * so the rebuild cannot read it (as with a log it may not read). */
static void
vanish_during (const JsyncProgress *progress, gpointer data)
{
  During *during = data;
  g_autofree char *log = NULL;
  g_autofree char *away = NULL;

  if (during->done || strcmp (progress->phase, "scan") != 0
      || progress->bytes_total == 0)
    return;
  during->done = TRUE;
  log = g_build_filename (during->f->data, "b.jsonl", NULL);
  away = g_build_filename (during->f->dir, "b.jsonl.away", NULL);
  g_assert_cmpint (g_rename (log, away), ==, 0);
}

/* Defect 4: a rebuild that could not read a log still swapped in a cache
 * without that log's events. */
static void
test_rebuild_incomplete (CliFixture *f, gconstpointer data)
{
  During during = { .f = f };
  g_autofree char *log = g_build_filename (f->data, "b.jsonl", NULL);
  g_autofree char *away = g_build_filename (f->dir, "b.jsonl.away", NULL);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf before, after;

  append_events (f, "a.jsonl", "a", 0, 5);
  append_events (f, "b.jsonl", "b", 0, 5);
  result = cli_sync (f);
  g_clear_pointer (&result, jsync_result_free);
  g_assert_cmpint (g_stat (f->db, &before), ==, 0);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, vanish_during, &during);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "b.jsonl: cannot be read*");
  result = jsync_coordinator_rebuild (coordinator, &error);
  g_test_assert_expected_messages ();
  g_assert_true (during.done);
  g_assert_cmpint (g_rename (away, log), ==, 0);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "b.jsonl"));
  g_assert_null (result);
  g_assert_cmpint (g_stat (f->db, &after), ==, 0);
  g_assert_cmpint (before.st_ino, ==, after.st_ino);
  g_assert_cmpint (count_event (f, "b-4"), ==, 1);
  assert_equals_fresh (f);
}

/* What a rebuild killed while it built leaves is removed by the next jsync
 * to open the cache; the folder of a rebuild still building (its lock
 * held) is left alone. */
static void
test_rebuild_stale_folder (CliFixture *f, gconstpointer data)
{
  g_autofree char *stale = g_strconcat (f->db, ".rebuild-AAAAAA", NULL);
  g_autofree char *busy = g_strconcat (f->db, ".rebuild-BBBBBB", NULL);
  g_autofree char *stale_db = g_build_filename (stale, "cache.db", NULL);
  g_autofree char *busy_db = g_build_filename (busy, "cache.db", NULL);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  int fd;

  g_assert_cmpint (g_mkdir (stale, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (busy, 0700), ==, 0);
  g_assert_true (g_file_set_contents (stale_db, "half", -1, NULL));
  g_assert_true (g_file_set_contents (busy_db, "half", -1, NULL));
  fd = open (busy, O_RDONLY | O_DIRECTORY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  coordinator = cli_open (f);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (busy_db, G_FILE_TEST_EXISTS));
  close (fd);
}

/* --- Verify ------------------------------------------------------------- */

/* Whenever a run's scan is over: one more event in a.jsonl. */
static void
append_after_scan (const JsyncProgress *progress, gpointer data)
{
  During *during = data;

  if (strcmp (progress->phase, "scan") != 0 || progress->bytes_total == 0
      || during->calls >= 3)
    return;
  append_events (during->f, "a.jsonl", "grown", during->calls++, 1);
}

/* 50 events synced, then a verify during which `func` does what another
 * program would; returns verify's report (transfer full). */
static json_object *
verify_with (CliFixture *f, JsyncProgressFunc func, During *during)
{
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  json_object *report;

  append_events (f, "a.jsonl", "a", 0, 50);
  result = cli_sync (f);
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, func, during);
  report = jsync_coordinator_verify (coordinator, &error);
  g_assert_no_error (error);
  return report;
}

/* Defect 7: verify synced the cache, then built its rebuild from logs that
 * had grown since: a difference that was not there. */
static void
test_verify_grown (CliFixture *f, gconstpointer data)
{
  During during = { .f = f };
  json_object *report = verify_with (f, append_after_scan, &during);

  g_assert_cmpuint (during.calls, >, 0);
  g_test_message ("%s", json_object_to_json_string (report));
  g_assert_true (jtest_member_bool (report, "identical"));
  json_object_put (report);
}

/* Once, when a run's scan is over: a.jsonl is replaced by a file holding
 * the same events in another order (as a sync tool merging two devices'
 * copies may write it). */
static void
reorder_after_scan (const JsyncProgress *progress, gpointer data)
{
  During *during = data;
  g_autoptr(GString) text = g_string_new (NULL);

  if (strcmp (progress->phase, "scan") != 0 || progress->bytes_total == 0
      || during->done)
    return;
  during->done = TRUE;
  for (guint i = 50; i-- > 0;)
    {
      g_autofree char *id = g_strdup_printf ("a-%u", i);
      g_autofree char *line = event_line (id, 1000 + i);

      g_string_append (text, line);
    }
  cli_write (during->f, "a.jsonl", text->str);
}

/* The same, with a log replaced between verify's sync and its build: the
 * build cannot read what the sync read; verify does both again. */
static void
test_verify_replaced (CliFixture *f, gconstpointer data)
{
  During during = { .f = f };
  json_object *report;

  g_test_expect_message ("jsync", G_LOG_LEVEL_MESSAGE,
                         "verify: a.jsonl: its bytes before * changed*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "a.jsonl: read again from the start*");
  report = verify_with (f, reorder_after_scan, &during);
  g_test_assert_expected_messages ();
  g_assert_true (during.done);
  g_assert_true (jtest_member_bool (report, "identical"));
  g_assert_cmpint (json_object_array_length (
                       jtest_member_array (report, "onlyInCache")), ==, 0);
  json_object_put (report);
}

/* --- Lost events and unseen folders ------------------------------------ */

/* Defect 5: a log moved away for one run and back, byte for byte, stayed
 * reported lost for ever: it was read on from its old checkpoint, so its
 * events were never seen again. */
static void
test_lost_back (CliFixture *f, gconstpointer data)
{
  g_autofree char *log = g_build_filename (f->data, "b.jsonl", NULL);
  g_autofree char *away = g_build_filename (f->dir, "b.jsonl.away", NULL);
  g_autoptr(JsyncResult) gone = NULL;
  g_autoptr(JsyncResult) back = NULL;

  append_events (f, "a.jsonl", "a", 0, 3);
  append_events (f, "b.jsonl", "b", 0, 4);
  jsync_result_free (cli_sync (f));
  g_assert_cmpint (g_rename (log, away), ==, 0);
  gone = sync_warning (f, "b.jsonl: 4 event(s) applied from this file are no"
                          " longer in it*");
  g_assert_cmpuint (gone->lost_events->len, ==, 1);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 4);
  g_assert_cmpint (g_rename (away, log), ==, 0);
  back = sync_warning (f, "b.jsonl: read again from the start: it was gone"
                          " and is back");
  g_assert_cmpuint (back->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"), ==,
                   7);
  assert_equals_fresh (f);
}

/* A log read again from its start that holds one of its events in other
 * bytes (the same JSON, respaced, as an editor may write it):
 * the event is still in the log, not lost. */
static void
test_lost_respaced (CliFixture *f, gconstpointer data)
{
  g_autofree char *line = event_line ("e-0", 1000);
  g_autofree char *spaced = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) again = NULL;

  cli_write (f, "a.jsonl", line);
  first = cli_sync (f);
  /* The same event with a space before its newline (bytes that sort
   * after the copy kept), and a first line that changes the bytes before
   * the checkpoint. */
  spaced = g_strdup (line);
  spaced[strlen (spaced) - 1] = '\0';
  text = g_strconcat ("\n", spaced, " \n", NULL);
  cli_write (f, "a.jsonl", text);
  again = sync_warning (f, "a.jsonl: read again from the start*");
  g_assert_cmpuint (again->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  assert_equals_fresh (f);
}

static int
chown_to_nobody (const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
  return lchown (path, 65534, 65534);
}

/* Root reads whatever a mode says: a test of what cannot be read gives
 * its fixture to "nobody" and goes on as that user (in a subprocess). */
static void
become_unprivileged (CliFixture *f)
{
  if (geteuid () != 0)
    return;
  g_assert_cmpint (nftw (f->dir, chown_to_nobody, 16, FTW_PHYS), ==, 0);
  g_assert_cmpint (setgroups (0, NULL), ==, 0);
  g_assert_cmpint (setgid (65534), ==, 0);
  g_assert_cmpint (setuid (65534), ==, 0);
}

static void
test_unseen_folder_body (CliFixture *f)
{
  g_autofree char *folder = g_build_filename (f->data, "sub", NULL);
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) unseen = NULL;
  g_autoptr(JsyncResult) seen = NULL;

  append_events (f, "top.jsonl", "top", 0, 2);
  append_events (f, "sub/a.jsonl", "sub", 0, 3);
  become_unprivileged (f);
  first = cli_sync (f);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"), ==,
                   5);
  g_assert_cmpint (g_chmod (folder, 0), ==, 0);
  unseen = sync_warning (f, "sub: cannot be read: Permission denied; the logs"
                            " under it are looked for again at the next run");
  g_assert_false (unseen->success);
  g_assert_cmpuint (unseen->files_failed, ==, 1);
  g_assert_cmpuint (unseen->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  g_assert_cmpint (g_chmod (folder, 0755), ==, 0);
  append_events (f, "sub/a.jsonl", "sub", 3, 1);
  seen = cli_sync (f);
  g_assert_true (seen->success);
  g_assert_cmpuint (seen->files_failed, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  g_assert_cmpint (count_event (f, "sub-3"), ==, 1);
  assert_equals_fresh (f);
}

/* Defect 6: a folder the run may not read was taken for a folder whose
 * logs were deleted: exit 0, every event under it reported lost. */
static void
test_unseen_folder (CliFixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      test_unseen_folder_body (f);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* --- Append ------------------------------------------------------------- */

typedef struct
{
  CliFixture *f;
  char *saved;                  /* owned: a.jsonl before the append */
  gboolean done;
} Revert;

/* When the append's sync starts: a sync tool puts its own version of the
 * log in place, by a rename, without the line just written. */
static void
revert_before_sync (const JsyncProgress *progress, gpointer data)
{
  Revert *revert = data;
  g_autofree char *tmp = g_build_filename (revert->f->data, ".a.jsonl.tmp",
                                           NULL);
  g_autofree char *log = g_build_filename (revert->f->data, "a.jsonl", NULL);
  g_autoptr(GError) error = NULL;

  if (revert->done || strcmp (progress->phase, "scan") != 0)
    return;
  revert->done = TRUE;
  g_file_set_contents (tmp, revert->saved, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, log), ==, 0);
}

/* Defect 12 (acknowledged events vanishing): `jsync append` wrote its line,
 * a sync tool replaced the log before the append's sync read it, and
 * append still reported the event as taken. */
static void
test_append_log_replaced (CliFixture *f, gconstpointer data)
{
  Revert revert = { .f = f };
  g_autofree char *log = g_build_filename (f->data, "a.jsonl", NULL);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *after = NULL;

  append_events (f, "a.jsonl", "a", 0, 3);
  result = cli_sync (f);
  g_clear_pointer (&result, jsync_result_free);
  g_assert_true (g_file_get_contents (log, &revert.saved, NULL, NULL));
  coordinator = cli_open (f);
  jsync_coordinator_set_progress (coordinator, revert_before_sync, &revert);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "a.jsonl: replaced before event * was read from it;"
                         " the event is written again");
  id = jsync_coordinator_append (
      coordinator, "a.jsonl",
      "{\"type\":\"metadata\",\"data\":{\"id\":\"c-new\",\"title\":\"N\","
      "\"created\":5,\"vault\":\"V\"}}",
      -1, 0, &result, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_true (revert.done);
  g_assert_cmpint (count_event (f, id), ==, 1);
  g_assert_true (g_file_get_contents (log, &after, NULL, NULL));
  g_assert_nonnull (strstr (after, id));
  g_free (revert.saved);
  assert_equals_fresh (f);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  CLI_ADD ("/live/sync/grown-while-read", test_grown_while_read);
  CLI_ADD ("/live/rebuild/two-at-once", test_two_rebuilds);
  CLI_ADD ("/live/rebuild/catches-up", test_rebuild_catches_up);
  CLI_ADD ("/live/rebuild/incomplete-keeps-cache", test_rebuild_incomplete);
  CLI_ADD ("/live/rebuild/stale-folder", test_rebuild_stale_folder);
  CLI_ADD ("/live/verify/logs-grow", test_verify_grown);
  CLI_ADD ("/live/lost/back-clears", test_lost_back);
  CLI_ADD ("/live/lost/respaced-copy", test_lost_respaced);
  CLI_ADD ("/live/append/log-replaced", test_append_log_replaced);
  CLI_ADD ("/live/scan/unreadable-folder", test_unseen_folder);
  CLI_ADD ("/live/verify/log-replaced", test_verify_replaced);
  return g_test_run ();
}
