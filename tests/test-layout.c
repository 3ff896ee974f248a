/* test-layout.c: today's Nexus layouts, their conflict copies, an upgrade
 * in place, and what a rewritten log still holds.
 *
 * Nexus writes sharded logs, <category>/<stream>/shard-NNNNNN.jsonl, and
 * reads the flat <category>/<stem>.jsonl of older versions; file-sync
 * tools leave conflict copies of both.  jsync reads every *.jsonl alike
 * and counts each event id once (docs/format.md "Files").
 */
#include <locale.h>

#include <sqlite3.h>

#include "cli-run.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

static void
fixture_set_up (CliFixture *f, gconstpointer data)
{
  cli_fixture_setup (f, data);
}

static void
fixture_tear_down (CliFixture *f, gconstpointer data)
{
  cli_fixture_teardown (f, data);
}

/* A message event of conversation c1, with `content`. */
static char *
message_line (const char *id, gint64 ts, const char *message,
              const char *content)
{
  return g_strdup_printf ("{\"type\":\"message\",\"conversationId\":\"c1\","
                          "\"data\":{\"id\":\"%s\",\"content\":\"%s\"},"
                          "\"id\":\"%s\",\"deviceId\":\"d1\",\"timestamp\":%"
                          G_GINT64_FORMAT "}\n", message, content, id, ts);
}

/* --- Lost events ---------------------------------------------------------- */

/* A log rewritten by a sync tool still holds an id, in another body (a
 * conflicting copy): the id is not lost, whichever copy is the event. */
static void
test_lost_conflict_in_rewritten (CliFixture *f, gconstpointer data)
{
  /* "b" sorts after "a": the stored copy stays the event; "0" before. */
  const char *const contents[] = { "b", "0" };
  const char *const kept[] = { "a", "0" };
  guint i = GPOINTER_TO_UINT (data);
  g_autofree char *create = g_strdup (
      "{\"type\":\"metadata\",\"data\":{\"id\":\"c1\",\"title\":\"T\"},"
      "\"id\":\"e1\",\"deviceId\":\"d1\",\"timestamp\":1000}\n");
  g_autofree char *m1 = message_line ("e2", 2000, "m1", "a");
  g_autofree char *m1_other = message_line ("e2", 2000, "m1", contents[i]);
  g_autofree char *m2 = message_line ("e3", 3000, "m2", "two");
  g_autofree char *before = g_strconcat (create, m1, NULL);
  g_autofree char *after = g_strconcat (create, m1_other, m2, NULL);
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) result = NULL;
  g_autofree char *content = NULL;

  cli_write (f, "conversations/conv_c1.jsonl", before);
  first = cli_sync (f);
  g_assert_cmpuint (first->events_applied, ==, 2);

  /* Rewritten in place: the bytes before the checkpoint changed. */
  cli_write (f, "conversations/conv_c1.jsonl", after);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*read again*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  result = cli_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (result->conflicts, ==, 1);
  g_assert_cmpuint (result->events_applied, ==, 1);
  g_assert_cmpuint (result->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_lost"), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM messages"), ==, 2);
  {
    g_autofree char *sql = g_strdup_printf (
        "SELECT count(*) FROM messages WHERE id = 'm1' AND content = '%s'",
        kept[i]);

    g_assert_cmpint (cli_sql_int (f, sql), ==, 1);
  }
  /* Nothing to report the next time either. */
  {
    g_autoptr(JsyncResult) again = cli_sync (f);

    g_assert_cmpuint (again->lost_events->len, ==, 0);
    g_assert_cmpuint (again->events_applied, ==, 0);
  }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func, data)                                               \
  g_test_add (path, CliFixture, data, fixture_set_up, func,                 \
              fixture_tear_down)

  ADD ("/layout/lost/conflict-stored-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (0));
  ADD ("/layout/lost/conflict-new-wins", test_lost_conflict_in_rewritten,
       GUINT_TO_POINTER (1));

#undef ADD
  return g_test_run ();
}
