/* replay.c: a fuzz target's committed corpus (FUZZ_CORPUS_DIR, where every
 * input that once made it fail is kept) run through the target's own
 * checks without libFuzzer, one test case per input, in the normal test
 * suite (and so under the sanitizers and valgrind too).  A failed check
 * aborts, which fails the test program.
 */
#include <locale.h>

#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gint
replay_compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
replay_one (gconstpointer data)
{
  const char *path = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  gsize length;

  g_file_get_contents (path, &bytes, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (LLVMFuzzerTestOneInput ((const guint8 *) bytes, length), ==,
                   0);
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  dir = g_dir_open (FUZZ_CORPUS_DIR, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (inputs, g_strdup (name));
  g_ptr_array_sort (inputs, replay_compare_names);
  g_assert_cmpuint (inputs->len, >, 0);
  for (guint i = 0; i < inputs->len; i++)
    {
      g_autofree char *test = g_strdup_printf ("/fuzz/%s/corpus/%s",
                                               FUZZ_TARGET,
                                               (char *) inputs->pdata[i]);

      g_test_add_data_func_full (test,
                                 g_build_filename (FUZZ_CORPUS_DIR,
                                                   inputs->pdata[i], NULL),
                                 replay_one, g_free);
    }
  /* After g_test_init: the target decides which messages are fatal (its
   * inputs are hostile: warnings are expected, criticals are findings). */
  LLVMFuzzerInitialize (&argc, &argv);
  return g_test_run ();
}
