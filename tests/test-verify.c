/* test-verify.c: `jsync verify` and jsync_coordinator_verify(): a rebuild
 * into a temporary file compared with the cache, table by table, and the
 * cache's FTS indexes checked against their tables.
 *
 * A fresh cache is identical (exit 0); a row changed, added or removed
 * behind jsync's back, or an FTS entry deleted, is a difference (exit 4)
 * naming the table and the keys; events lost from the logs (docs/design.md
 * "Lost events") are reported apart, as only in the cache, and are no
 * difference.  The temporary file is gone afterwards, whatever happened.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "cli-run.h"

#define CHAPTER_CONVERSATION "c0ffee00-1234-4abc-9def-0123456789ab"


static void
assert_no_temp_file (CliFixture *f)
{
  g_autofree char *temp = g_strconcat (f->db, ".verify", NULL);

  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
}

/* The entry for `name` in the report's array `member` ("tables" or
 * "fts"). */
static json_object *
report_entry (json_object *report, const char *member, const char *name)
{
  json_object *list = jtest_member_array (report, member);

  for (size_t i = 0; i < json_object_array_length (list); i++)
    {
      json_object *entry = json_object_array_get_idx (list, i);

      if (g_strcmp0 (jtest_member_str (entry, "table"), name) == 0)
        return entry;
    }
  g_test_message ("no %s entry %s in %s", member, name,
                  json_object_to_json_string (report));
  g_assert_not_reached ();
  return NULL;
}

static json_object *
table_report (json_object *report, const char *name)
{
  return report_entry (report, "tables", name);
}

static json_object *
fts_report (json_object *report, const char *name)
{
  return report_entry (report, "fts", name);
}

/* Every table and index agrees, but for the ones named. */
static void
assert_only_differences (json_object *report, const char *table,
                         const char *fts)
{
  json_object *tables = jtest_member_array (report, "tables");
  json_object *list = jtest_member_array (report, "fts");

  for (size_t i = 0; i < json_object_array_length (tables); i++)
    {
      json_object *item = json_object_array_get_idx (tables, i);

      if (g_strcmp0 (jtest_member_str (item, "table"), table) == 0)
        continue;
      g_assert_cmpint (jtest_member_int (item, "onlyInCache"), ==, 0);
      g_assert_cmpint (jtest_member_int (item, "onlyInRebuild"), ==, 0);
      g_assert_cmpint (jtest_member_int (item, "cacheRows"), ==,
                       jtest_member_int (item, "rebuildRows"));
    }
  for (size_t i = 0; i < json_object_array_length (list); i++)
    {
      json_object *item = json_object_array_get_idx (list, i);

      if (g_strcmp0 (jtest_member_str (item, "table"), fts) == 0)
        continue;
      g_assert_true (jtest_member_bool (item, "ok"));
    }
}

/* The library on a fresh cache: identical, every table and index seen. */
static void
test_fresh_library (CliFixture *f, gconstpointer data)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  json_object *report = jsync_coordinator_verify (coordinator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  g_assert_cmpint (jtest_member_int (report, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (report, "command"), ==, "verify");
  g_assert_true (jtest_member_bool (report, "identical"));
  /* workspace 4, conversation 2, task 5 */
  g_assert_cmpuint (jtest_member_len (report, "tables"), ==, 11);
  g_assert_cmpuint (jtest_member_len (report, "fts"), ==, 3);
  g_assert_cmpuint (jtest_member_len (report, "onlyInCache"), ==, 0);
  g_assert_cmpint (jtest_member_int (table_report (report, "messages"),
                                     "cacheRows"), ==, 104);
  g_assert_cmpint (jtest_member_int (table_report (report, "messages"),
                                     "rebuildRows"), ==, 104);
  g_assert_cmpint (jtest_member_int (report, "synced"), ==, 0);
  assert_only_differences (report, NULL, NULL);
  assert_no_temp_file (f);
  json_object_put (report);
}

/* The program on a fresh cache: exit 0, says so. */
static void
test_fresh_cli (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN (f, "verify");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_nonnull (strstr (run->out, "matches a rebuild"));
  assert_no_temp_file (f);
}

/* A title changed behind jsync's back: exit 4, the table and key named;
 * verify changes nothing. */
static void
test_tamper_title (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) text = NULL;
  json_object *table, *keys;

  cli_sql (f, "UPDATE conversations SET title = 'Tampered'"
              " WHERE id = '" CHAPTER_CONVERSATION "'");
  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_DIFFERENT);
  g_assert_false (jtest_member_bool (run->json, "identical"));
  table = table_report (run->json, "conversations");
  g_assert_cmpint (jtest_member_int (table, "onlyInCache"), ==, 1);
  g_assert_cmpint (jtest_member_int (table, "onlyInRebuild"), ==, 1);
  keys = jtest_member_array (table, "keys");
  g_assert_cmpuint (json_object_array_length (keys), ==, 1);
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (keys, 0), "id"),
                   ==, CHAPTER_CONVERSATION);
  /* The triggers kept the index right: only the table differs. */
  assert_only_differences (run->json, "conversations", NULL);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM conversations"
                                   " WHERE title = 'Tampered'"), ==, 1);

  text = CLI_RUN (f, "verify");
  g_assert_cmpint (text->status, ==, JSYNC_EXIT_DIFFERENT);
  g_assert_nonnull (strstr (text->out, "DIFFERS"));
  g_assert_nonnull (strstr (text->out, "conversations: 1 row(s) only in the"
                                       " cache, 1 only in the rebuild"));
  g_assert_nonnull (strstr (text->out, "id=" CHAPTER_CONVERSATION));
  assert_no_temp_file (f);
}

/* A row added and one removed behind jsync's back. */
static void
test_tamper_rows (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  json_object *messages, *workspaces;

  cli_sql (f, "INSERT INTO messages (id, conversationId, role, content,"
              " timestamp, sequenceNumber) VALUES ('intruder', 'x', 'user',"
              " 'hello', 1, 0);"
              "DELETE FROM workspaces WHERE id = 'default'");
  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_DIFFERENT);
  messages = table_report (run->json, "messages");
  g_assert_cmpint (jtest_member_int (messages, "onlyInCache"), ==, 1);
  g_assert_cmpint (jtest_member_int (messages, "onlyInRebuild"), ==, 0);
  g_assert_cmpint (jtest_member_int (messages, "cacheRows"), ==, 105);
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (
                                     jtest_member_array (messages, "keys"), 0),
                                   "id"), ==, "intruder");
  workspaces = table_report (run->json, "workspaces");
  g_assert_cmpint (jtest_member_int (workspaces, "onlyInCache"), ==, 0);
  g_assert_cmpint (jtest_member_int (workspaces, "onlyInRebuild"), ==, 1);
}

/* An FTS entry deleted: the index no longer matches its table. */
static void
test_tamper_fts (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) text = NULL;
  json_object *index;

  cli_sql (f, "INSERT INTO conversation_fts (conversation_fts, rowid, id, title)"
              " SELECT 'delete', rowid, id, title FROM conversations"
              " WHERE id = '" CHAPTER_CONVERSATION "'");
  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_DIFFERENT);
  g_assert_false (jtest_member_bool (run->json, "identical"));
  index = fts_report (run->json, "conversation_fts");
  g_assert_false (jtest_member_bool (index, "ok"));
  g_assert_nonnull (strstr (jtest_member_str (index, "message"), "malformed"));
  assert_only_differences (run->json, NULL, "conversation_fts");

  text = CLI_RUN (f, "verify");
  g_assert_cmpint (text->status, ==, JSYNC_EXIT_DIFFERENT);
  g_assert_nonnull (strstr (text->out, "conversation_fts: integrity-check"
                                       " failed"));
}

/* New lines in the logs are synced first, not reported as differences. */
static void
test_unsynced (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;

  cli_append (f, "conversations/conv_" CHAPTER_CONVERSATION ".jsonl",
              "{\"type\":\"conversation_updated\",\"conversationId\":\""
              CHAPTER_CONVERSATION "\",\"data\":{\"title\":\"Later\"},"
              "\"id\":\"late-1\",\"deviceId\":\"d\",\"timestamp\":1765299999999}\n");
  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (run->json, "synced"), ==, 1);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM conversations"
                                   " WHERE title = 'Later'"), ==, 1);
}

static char *
event_line (const char *id, const char *type, gint64 ts, const char *rest)
{
  return g_strdup_printf ("{\"type\":\"%s\",%s\"id\":\"%s\",\"deviceId\":\"d\","
                          "\"timestamp\":%" G_GINT64_FORMAT "}\n",
                          type, rest, id, ts);
}

/* A conversation whose log loses its message event after it was applied
 * (a sync tool's overwrite): the cache keeps the message, with the later
 * update applied on it.  A rebuild of the logs alone would lack it; verify
 * feeds the lost event in and reports it apart: exit 0. */
static void
test_lost_events (CliFixture *f, gconstpointer data)
{
  g_autofree char *create = event_line (
      "e1", "metadata", 1000,
      "\"data\":{\"id\":\"c1\",\"title\":\"T\",\"created\":1000,"
      "\"vault\":\"V\"},");
  g_autofree char *message = event_line (
      "e2", "message", 2000,
      "\"conversationId\":\"c1\",\"data\":{\"id\":\"m1\",\"role\":\"user\","
      "\"content\":\"first words\",\"sequenceNumber\":0},");
  g_autofree char *update = event_line (
      "e3", "message_updated", 3000,
      "\"conversationId\":\"c1\",\"messageId\":\"m1\","
      "\"data\":{\"content\":\"edited words\"},");
  g_autofree char *both = g_strconcat (create, message, update, NULL);
  g_autofree char *without = g_strconcat (create, update, NULL);
  g_autoptr(JTestRun) first = NULL;
  g_autoptr(JTestRun) second = NULL;
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) text = NULL;
  json_object *lost, *messages;

  /* Only this conversation: the example data is not needed here. */
  cli_write (f, "conversations/conv_c1.jsonl", both);
  first = CLI_RUN (f, "sync");
  g_assert_cmpint (first->status, ==, JSYNC_EXIT_OK);
  cli_write (f, "conversations/conv_c1.jsonl", without);
  second = CLI_RUN (f, "sync");
  g_assert_cmpint (second->status, ==, JSYNC_EXIT_OK);
  g_assert_nonnull (strstr (second->err, "no longer in it"));
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM messages"
                                   " WHERE content = 'edited words'"), ==, 1);

  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_true (jtest_member_bool (run->json, "identical"));
  lost = jtest_member_array (run->json, "onlyInCache");
  g_assert_cmpuint (json_object_array_length (lost), ==, 1);
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (lost, 0),
                                     "id"), ==, "e2");
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (lost, 0),
                                     "file"), ==, "conversations/conv_c1.jsonl");
  messages = table_report (run->json, "messages");
  g_assert_cmpint (jtest_member_int (messages, "rebuildRows"), ==, 1);
  assert_only_differences (run->json, NULL, NULL);

  text = CLI_RUN (f, "verify");
  g_assert_cmpint (text->status, ==, JSYNC_EXIT_OK);
  jtest_assert_has (text->out, "only in the cache: 1 lost event(s)",
                    "e2 in conversations/conv_c1.jsonl");
  assert_no_temp_file (f);
}

/* Lost events hide no real difference. */
static void
test_lost_and_different (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;

  /* Lose the whole workspace log: its rows stay, as lost events' effects. */
  g_autofree char *log = g_build_filename (f->data, "workspaces",
                                           "ws_default.jsonl", NULL);
  g_autoptr(JsyncResult) result = NULL;

  g_assert_cmpint (g_remove (log), ==, 0);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "workspaces/ws_default.jsonl: * no longer in it*");
  result = cli_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (result->lost_events->len, ==, 1);
  cli_sql (f, "UPDATE conversations SET title = 'Tampered'"
              " WHERE id = '" CHAPTER_CONVERSATION "'");
  run = CLI_RUN_JSON (f, "verify");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_DIFFERENT);
  g_assert_cmpuint (jtest_member_len (run->json, "onlyInCache"), >, 0);
  assert_only_differences (run->json, "conversations", NULL);
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  CLI_ADD_NEXUS ("/verify/fresh/library", test_fresh_library);
  CLI_ADD_NEXUS ("/verify/fresh/cli", test_fresh_cli);
  CLI_ADD_NEXUS ("/verify/tamper/title", test_tamper_title);
  CLI_ADD_NEXUS ("/verify/tamper/rows", test_tamper_rows);
  CLI_ADD_NEXUS ("/verify/tamper/fts-row", test_tamper_fts);
  CLI_ADD_NEXUS ("/verify/sync/first", test_unsynced);
  CLI_ADD ("/verify/lost/apart", test_lost_events);
  CLI_ADD_NEXUS ("/verify/lost/and-different", test_lost_and_different);
  return g_test_run ();
}
