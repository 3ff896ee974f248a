/* test-failed.c: `jsync failed` (the recorded failures: file, line, offset,
 * event id, message) and `jsync failed --retry` (the failed events applied
 * again), through the program and the library.
 *
 * The applier is the fixture `reject` (tests/plugins/echo.c with
 * ECHO_REJECT_BAD: an event whose data has "bad": true is rejected); its
 * fixed version, built in tests/plugins/fixed/ under the same name,
 * accepts every event.  A retry with the fixed module in place applies the
 * rejected events in their place, leaves the lines that are no events
 * listed, and `jsync status` counts what is left.
 */
#include <string.h>

#include "cli-run.h"

static const char *const reject_module[] = { "reject", NULL };

static char *
reject_line (const char *id, gint64 ts, gboolean bad)
{
  return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"reject_note\","
                          "\"timestamp\":%" G_GINT64_FORMAT ","
                          "\"deviceId\":\"d\",\"data\":{\"bad\":%s}}\n",
                          id, ts, bad ? "true" : "false");
}

/* r.jsonl: r1 fine, r2 rejected, r3 fine, r4 rejected; with `broken`, a
 * line that is no JSON between r3 and r4 (line 4). */
static void
write_log (CliFixture *f, gboolean broken)
{
  g_autofree char *r1 = reject_line ("r1", 1000, FALSE);
  g_autofree char *r2 = reject_line ("r2", 2000, TRUE);
  g_autofree char *r3 = reject_line ("r3", 3000, FALSE);
  g_autofree char *r4 = reject_line ("r4", 4000, TRUE);
  g_autofree char *text = g_strconcat (r1, r2, r3,
                                       broken ? "{\"id\": \"x\", oops\n" : "",
                                       r4, NULL);

  cli_write (f, "r.jsonl", text);
}

static void
failed_setup (CliFixture *f, gconstpointer data)
{
  g_autofree char *plugins = NULL;
  g_autoptr(JTestRun) run = NULL;

  cli_fixture_setup (f, data);
  plugins = cli_fixture_use_fixture_plugins (f, "", reject_module);
  write_log (f, data != NULL);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_EVENTS_FAILED);
}

/* A case on a fixture set up by failed_setup with `data`. */
#define FAILED_ADD(path, data, func) \
  g_test_add (path, CliFixture, data, failed_setup, func, cli_fixture_teardown)

static void
use_fixed_plugin (CliFixture *f)
{
  g_autofree char *plugins = cli_fixture_use_fixture_plugins (f, "fixed",
                                                              reject_module);
}

static json_object *
failure_at (json_object *json, size_t i)
{
  return json_object_array_get_idx (jtest_member_array (json, "failed"), i);
}

static gint64
status_failed (CliFixture *f)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (f, "status");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  return jtest_member_int (run->json, "eventsFailed");
}

/* The list, as text: file:line: message (event id). */
static void
test_list_text (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN (f, "failed");
  g_auto(GStrv) lines = NULL;

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  lines = g_strsplit (run->out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  g_assert_cmpstr (lines[0], ==, "r.jsonl:2: reject: rejected: bad is true"
                                 "  (event r2)");
  g_assert_true (g_str_has_prefix (lines[1], "r.jsonl:4: "));
  g_assert_null (strstr (lines[1], "(event"));
  g_assert_cmpstr (lines[2], ==, "r.jsonl:5: reject: rejected: bad is true"
                                 "  (event r4)");
  g_assert_cmpstr (lines[3], ==, "3 failed: 2 event(s) to retry with `jsync"
                                 " failed --retry`, 1 line(s) that are no"
                                 " valid event");
}

/* The list, as JSON: every key, retryable only for valid events. */
static void
test_list_json (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (f, "failed");
  json_object *r2, *broken;
  g_autofree char *r1 = reject_line ("r1", 1000, FALSE);

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (run->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (run->json, "command"), ==, "failed");
  g_assert_cmpuint (jtest_member_len (run->json, "failed"), ==, 3);
  r2 = failure_at (run->json, 0);
  g_assert_cmpstr (jtest_member_str (r2, "file"), ==, "r.jsonl");
  g_assert_cmpint (jtest_member_int (r2, "line"), ==, 2);
  g_assert_cmpint (jtest_member_int (r2, "offset"), ==, (gint64) strlen (r1));
  g_assert_cmpint (jtest_member_int (r2, "length"), >, 0);
  g_assert_cmpstr (jtest_member_str (r2, "id"), ==, "r2");
  g_assert_cmpstr (jtest_member_str (r2, "message"), ==,
                   "reject: rejected: bad is true");
  g_assert_true (jtest_member_bool (r2, "retryable"));
  g_assert_false (jtest_member_bool (r2, "truncated"));
  broken = failure_at (run->json, 1);
  g_assert_cmpint (jtest_member_int (broken, "line"), ==, 4);
  g_assert_null (jtest_member (broken, "id"));
  g_assert_false (jtest_member_bool (broken, "retryable"));
  g_assert_cmpint (status_failed (f), ==, 3);
}

/* No failures: an empty list, exit 0. */
static void
test_list_empty (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) text = NULL;

  cli_sql (f, "DELETE FROM jsync_failed");
  run = CLI_RUN_JSON (f, "failed");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (jtest_member_len (run->json, "failed"), ==, 0);
  text = CLI_RUN (f, "failed");
  g_assert_cmpstr (text->out, ==, "no failed lines or events\n");
}

/* A retry with the same rejecting applier: they fail again (exit 1), and
 * stay listed once each. */
static void
test_retry_still_failing (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) retry = CLI_RUN_JSON (f, "failed", "--retry");
  g_autoptr(JTestRun) list = CLI_RUN_JSON (f, "failed");

  g_assert_cmpint (retry->status, ==, JSYNC_EXIT_EVENTS_FAILED);
  g_assert_cmpstr (jtest_member_str (retry->json, "command"), ==, "failed");
  g_assert_true (jtest_member_bool (retry->json, "retry"));
  g_assert_false (jtest_member_bool (retry->json, "success"));
  g_assert_cmpint (jtest_member_int (retry->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_int (retry->json, "eventsFailed"), ==, 2);
  g_assert_cmpuint (jtest_member_len (retry->json, "errors"), ==, 2);
  g_assert_cmpuint (jtest_member_len (list->json, "failed"), ==, 2);
  g_assert_cmpint (status_failed (f), ==, 2);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM reject_events"), ==, 2);
}

/* The fixed applier in place: the retry applies both (exit 0), they leave
 * the list, status counts 0 failed, and the cache is what a rebuild gives. */
static void
test_retry_fixed (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) retry = NULL;
  g_autoptr(JTestRun) list = NULL;
  g_autoptr(JTestRun) verify = NULL;
  g_autoptr(JTestRun) again = NULL;

  use_fixed_plugin (f);
  retry = CLI_RUN (f, "failed", "--retry");
  g_assert_cmpint (retry->status, ==, JSYNC_EXIT_OK);
  g_assert_nonnull (strstr (retry->out, "retry: 2 applied, 0 failed again"));
  list = CLI_RUN_JSON (f, "failed");
  g_assert_cmpuint (jtest_member_len (list->json, "failed"), ==, 0);
  g_assert_cmpint (status_failed (f), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM reject_events"), ==, 4);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_events"
                                   " WHERE status = 2"), ==, 0);
  verify = CLI_RUN (f, "verify");
  g_assert_cmpint (verify->status, ==, JSYNC_EXIT_OK);
  /* Nothing left: a second retry does nothing. */
  again = CLI_RUN_JSON (f, "failed", "--retry");
  g_assert_cmpint (again->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (again->json, "eventsApplied"), ==, 0);
}

/* A line that is no event is not retried, and stays listed. */
static void
test_retry_keeps_lines (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) retry = NULL;
  g_autoptr(JTestRun) list = NULL;

  use_fixed_plugin (f);
  retry = CLI_RUN_JSON (f, "failed", "--retry");
  g_assert_cmpint (retry->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (retry->json, "eventsApplied"), ==, 2);
  g_assert_cmpint (jtest_member_int (retry->json, "notRetried"), ==, 1);
  list = CLI_RUN_JSON (f, "failed");
  g_assert_cmpuint (jtest_member_len (list->json, "failed"), ==, 1);
  g_assert_cmpint (jtest_member_int (failure_at (list->json, 0), "line"), ==,
                   4);
  g_assert_cmpint (status_failed (f), ==, 1);
}

/* Through the library: the result counts, and the list shrinks. */
static void
test_retry_library (CliFixture *f, gconstpointer data)
{
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  json_object *failed;

  use_fixed_plugin (f);
  coordinator = cli_open (f);
  failed = jsync_coordinator_failed (coordinator, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jtest_member_len (failed, "failed"), ==, 2);
  json_object_put (failed);
  result = jsync_coordinator_retry_failed (coordinator, &error);
  g_assert_no_error (error);
  g_assert_true (result->success);
  g_assert_cmpuint (result->events_applied, ==, 2);
  g_assert_cmpuint (result->events_failed, ==, 0);
  g_assert_cmpuint (result->events_pending, ==, 0);
  failed = jsync_coordinator_failed (coordinator, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jtest_member_len (failed, "failed"), ==, 0);
  json_object_put (failed);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  /* data: non-NULL for a log with a line that is no event. */
  FAILED_ADD ("/failed/list/text", "broken", test_list_text);
  FAILED_ADD ("/failed/list/json", "broken", test_list_json);
  FAILED_ADD ("/failed/list/empty", NULL, test_list_empty);
  FAILED_ADD ("/failed/retry/still-failing", NULL, test_retry_still_failing);
  FAILED_ADD ("/failed/retry/fixed", NULL, test_retry_fixed);
  FAILED_ADD ("/failed/retry/keeps-lines", "broken", test_retry_keeps_lines);
  FAILED_ADD ("/failed/retry/library", NULL, test_retry_library);
  return g_test_run ();
}
