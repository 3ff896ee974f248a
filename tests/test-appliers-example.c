/* test-appliers-example.c: the bundled appliers against the Nexus samples.
 *
 * tests/data/nexus/ is a real-format data folder of the flat layout, and
 * tests/data/nexus.expected.json the exact rows a correct cache holds after
 * applying every distinct event in key order (timestamp, deviceId, id).
 * tests/data/nexus-shards/ and nexus-shards.expected.json are the same for
 * today's Nexus: sharded logs beside a flat one, conflict copies, and the
 * task events (the `task` applier).  Order independence is the core's job,
 * so the sorted replay is the whole contract here.
 */
#include <locale.h>

#include "applier-harness.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

/* The expected dump `name`, keeping only `tables` (all of them when
 * NULL). */
static json_object *
example_load_expected (const char *name, const char *const *tables)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data", name, NULL);
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

/* One example: the appliers named, over a folder of it (the whole of it
 * when `folder` is NULL), give the expected rows of their tables. */
typedef struct
{
  const char *data;                 /* tests/data/<data> */
  const char *folder;               /* nullable: a folder of it */
  const char *const *appliers;
  const char *const *tables;        /* nullable: every table */
} Example;

static void
test_example (gconstpointer data)
{
  const Example *example = data;
  g_autofree char *expected_name = g_strconcat (example->data,
                                                ".expected.json", NULL);
  g_autoptr(Harness) harness = harness_new (example->appliers);
  g_autoptr(json_object) expected = example_load_expected (expected_name,
                                                           example->tables);
  g_autoptr(json_object) actual = NULL;

  harness_replay_dir (harness,
                      g_test_get_filename (G_TEST_DIST, "data", example->data,
                                           example->folder, NULL));
  actual = harness_dump (harness);
  harness_assert_dump_equal (actual, expected);
  harness_assert_fts_ok (harness);
}

static const char *const conversation_only[] = { "conversation", NULL };
static const char *const workspace_only[] = { "workspace", NULL };
static const char *const bundled[] = { "workspace", "conversation", "task",
                                       NULL };
static const char *const conversation_tables[] = { "conversations",
                                                   "messages", NULL };
static const char *const workspace_tables[] = { "workspaces", "sessions",
                                                "states", "memory_traces",
                                                NULL };

static const Example examples[] = {
  /* The conversation applier alone, over the conversations folder. */
  { "nexus", "conversations", conversation_only, conversation_tables },
  /* The bundled appliers over the whole folder (no task events: their
   * tables stay empty). */
  { "nexus", NULL, bundled, NULL },
  /* Today's layout, applier by applier over its folder. */
  { "nexus-shards", "workspaces", workspace_only, workspace_tables },
  { "nexus-shards", "conversations", conversation_only, conversation_tables },
  /* Everything, the task applier included. */
  { "nexus-shards", NULL, bundled, NULL },
};

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_data_func ("/appliers-example/nexus/conversation",
                        &examples[0], test_example);
  g_test_add_data_func ("/appliers-example/nexus/all", &examples[1],
                        test_example);
  g_test_add_data_func ("/appliers-example/nexus-shards/workspace",
                        &examples[2], test_example);
  g_test_add_data_func ("/appliers-example/nexus-shards/conversation",
                        &examples[3], test_example);
  /* Needs the task applier (plugins/task). */
  g_test_add_data_func ("/appliers-example/nexus-shards/all", &examples[4],
                        test_example);
  return g_test_run ();
}
