/* test-appliers-example.c: the bundled appliers against the Nexus sample.
 *
 * tests/data/nexus/ is a real-format data folder, and
 * tests/data/nexus.expected.json the exact rows a correct cache holds after
 * applying every distinct event in key order (timestamp, deviceId, id).  Order independence is the
 * core's job, so the sorted replay is the whole contract here.
 */
#include <locale.h>

#include "applier-harness.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

/* The expected dump, keeping only `tables` (all of them when NULL). */
static json_object *
example_load_expected (const char *const *tables)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data",
                                          "nexus.expected.json", NULL);
  g_autoptr(json_object) expected = json_object_from_file (path);
  json_object *kept;

  g_assert_nonnull (expected);
  g_assert_true (json_object_is_type (expected, json_type_object));
  if (tables == NULL)
    return g_steal_pointer (&expected);
  kept = json_object_new_object ();
  for (guint i = 0; tables[i] != NULL; i++)
    {
      json_object *rows = NULL;

      g_assert_true (json_object_object_get_ex (expected, tables[i], &rows));
      json_object_object_add (kept, tables[i], json_object_get (rows));
    }
  return kept;
}

/* The conversation applier alone, over the conversations folder. */
static void
test_example_conversation (void)
{
  const char *const tables[] = { "conversations", "messages", NULL };
  g_autoptr(Harness) harness = harness_new ((const char *[]) {
                                              "conversation", NULL });
  g_autoptr(json_object) expected = example_load_expected (tables);
  g_autoptr(json_object) actual = NULL;

  harness_replay_dir (harness,
                      g_test_get_filename (G_TEST_DIST, "data", "nexus",
                                           "conversations", NULL));
  actual = harness_dump (harness);
  harness_assert_dump_equal (actual, expected);
  harness_assert_fts_ok (harness);
}

/* The bundled appliers over the whole folder (it holds no task events:
 * their tables stay empty). */
static void
test_example_all (void)
{
  g_autoptr(Harness) harness = harness_new ((const char *[]) {
                                              "workspace", "conversation",
                                              "task", NULL });
  g_autoptr(json_object) expected = example_load_expected (NULL);
  g_autoptr(json_object) actual = NULL;

  harness_replay_dir (harness,
                      g_test_get_filename (G_TEST_DIST, "data", "nexus",
                                           NULL));
  actual = harness_dump (harness);
  harness_assert_dump_equal (actual, expected);
  harness_assert_fts_ok (harness);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/appliers-example/nexus/conversation",
                   test_example_conversation);
  g_test_add_func ("/appliers-example/nexus/all", test_example_all);
  return g_test_run ();
}
