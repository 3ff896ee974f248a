/* test-completion.c: the shell completions in dist/ (bash, zsh, fish)
 * against the program they complete.
 *
 * One source of truth is `jsync --help`: every command and option it
 * lists must be offered, each command's own options (their help starts
 * "<command>:") after that command only.  The bash script is driven in a
 * non-interactive bash as bash-completion drives it (COMP_WORDS,
 * COMP_CWORD, then the function that `complete -p jsync` names): the
 * commands, the options, the logs of the data folder for `append`
 * (relative, as sync reads them: no hidden folder or file, only *.jsonl),
 * and the full-text tables for `search --table` (as `jsync plugins --json`
 * lists them).  The zsh and fish scripts must name every command and
 * option, and are syntax-checked by their shell when it is installed;
 * fish is driven too (`complete -C`): a command, the options of a
 * command, the logs for `append`, the tables for `search --table`.
 */
#include <locale.h>
#include <string.h>

#include <glib/gstdio.h>

#include "jsync-test.h"

/* `jsync --help`: its commands, and its options with the command each
 * belongs to (NULL: every command). */
typedef struct
{
  GPtrArray *commands;          /* owned: names */
  GPtrArray *options;           /* owned: "--name" and "-x" */
  GPtrArray *owners;            /* owned: per option, its command or "" */
} Help;

static void
help_free (Help *help)
{
  g_ptr_array_unref (help->commands);
  g_ptr_array_unref (help->options);
  g_ptr_array_unref (help->owners);
  g_free (help);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Help, help_free)

static char *
script_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "..", "dist", name, NULL);
}

/* An option's line: its words before the description (two spaces), and
 * the description, which starts "<command>:" for a command's own. */
static void
help_add_option (Help *help, const char *line)
{
  const char *gap = strstr (line, "  ");
  g_autofree char *spec = g_strndup (line, gap != NULL ? gap - line : -1);
  const char *description = gap != NULL ? g_strchug ((char *) gap) : "";
  gsize word = strcspn (description, " ");
  gboolean owned = word > 1 && description[word - 1] == ':';
  g_auto(GStrv) words = g_strsplit_set (spec, " ,=", -1);

  for (guint w = 0; words[w] != NULL; w++)
    if (*words[w] == '-')
      {
        g_ptr_array_add (help->options, g_strdup (words[w]));
        g_ptr_array_add (help->owners, owned ? g_strndup (description, word - 1)
                                             : g_strdup (""));
      }
}

/* The environment for a shell: the child's, without the LD_PRELOAD of a
 * ThreadSanitizer build (tests/meson.build), which is for jsync and the
 * test programs; fish, a C++ program of its own, crashes with it.  The
 * scripts give `jsync plugins` 3 s to list the tables; a sanitizer build
 * on a loaded machine can take longer, which is not what is tested. */
static char **
shell_environ (void)
{
  char **env = g_environ_unsetenv (jtest_child_environ (), "LD_PRELOAD");

  return g_environ_setenv (env, "JSYNC_COMPLETION_TIMEOUT", "60", TRUE);
}

static Help *
help_read (void)
{
  const char *argv[] = { jtest_bin (), "--help", NULL };
  g_autoptr(JTestRun) run = jtest_spawn (argv, NULL);
  g_auto(GStrv) lines = NULL;
  Help *help = g_new0 (Help, 1);
  gboolean in_commands = FALSE;

  g_assert_cmpint (run->status, ==, 0);
  help->commands = g_ptr_array_new_with_free_func (g_free);
  help->options = g_ptr_array_new_with_free_func (g_free);
  help->owners = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (strcmp (line, "Commands:") == 0)
        in_commands = TRUE;
      else if (*line == '\0')
        in_commands = FALSE;
      else if (in_commands)
        g_ptr_array_add (help->commands, g_strndup (line, strcspn (line, " ")));
      else if (*line == '-')
        help_add_option (help, line);
    }
  /* Every option's command is a command. */
  for (guint i = 0; i < help->owners->len; i++)
    if (*(char *) help->owners->pdata[i] != '\0')
      g_assert_true (g_ptr_array_find_with_equal_func (
          help->commands, help->owners->pdata[i], g_str_equal, NULL));
  g_assert_cmpuint (help->commands->len, >=, 10);
  g_assert_cmpuint (help->options->len, >=, 15);
  return help;
}

/* --- bash ----------------------------------------------------------------- */

/* What the bash completion offers for a command line whose last word is
 * being completed, run in `cwd` (NULL: here) with the child environment;
 * the function is the one `complete -p jsync` names. */
static GPtrArray *
bash_complete (const char *cwd, const char *const *words)
{
  static const char *const script =
      "source \"$1\" || exit 1; shift\n"
      "spec=$(complete -p jsync) || exit 1\n"
      "function=${spec#*-F }; function=${function%% *}\n"
      "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
      "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
      "\"$function\" jsync \"${COMP_WORDS[COMP_CWORD]}\""
      " \"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
      "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  g_autofree char *path = script_path ("jsync.bash");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = shell_environ ();
  JTestSpawn options = { .cwd = cwd, .env = env };
  g_autoptr(JTestRun) run = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *candidates = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, (gpointer) "bash");
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) script);
  g_ptr_array_add (argv, (gpointer) "bash");
  g_ptr_array_add (argv, path);
  for (guint i = 0; words[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) words[i]);
  g_ptr_array_add (argv, NULL);
  run = jtest_spawn ((const char *const *) argv->pdata, &options);
  if (*run->err != '\0')
    g_test_message ("bash: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_ptr_array_add (candidates, g_strdup (lines[i]));
  return candidates;
}

#define BASH(cwd, ...) \
  bash_complete ((cwd), (const char *const[]) { __VA_ARGS__, NULL })

static gboolean
has (GPtrArray *candidates, const char *text)
{
  return g_ptr_array_find_with_equal_func (candidates, text, g_str_equal, NULL);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The candidates, sorted, one string: "a b c". */
static char *
joined (GPtrArray *candidates)
{
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();

  for (guint i = 0; i < candidates->len; i++)
    g_ptr_array_add (sorted, candidates->pdata[i]);
  g_ptr_array_sort (sorted, compare_strings);
  g_ptr_array_add (sorted, NULL);
  return g_strjoinv (" ", (char **) sorted->pdata);
}

static void
test_bash_registered (void)
{
  g_autofree char *path = script_path ("jsync.bash");
  const char *argv[] = { "bash", "-c", "source \"$1\" && complete -p jsync",
                         "bash", path, NULL };
  g_auto(GStrv) env = shell_environ ();
  JTestSpawn options = { .env = env };
  g_autoptr(JTestRun) run = jtest_spawn (argv, &options);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, "complete -F _jsync jsync\n");
}

/* Every command of --help, and only commands, for the first word; a
 * prefix narrows them. */
static void
test_bash_commands (void)
{
  g_autoptr(Help) help = help_read ();
  g_autoptr(GPtrArray) all = BASH (NULL, "jsync", "");
  g_autoptr(GPtrArray) sy = BASH (NULL, "jsync", "sy");
  g_autoptr(GPtrArray) after_option = BASH (NULL, "jsync", "--data-dir",
                                            "/tmp", "st");
  g_autofree char *sy_text = joined (sy);
  g_autofree char *after_text = joined (after_option);

  for (guint i = 0; i < help->commands->len; i++)
    {
      g_test_message ("command %s", (char *) help->commands->pdata[i]);
      g_assert_true (has (all, help->commands->pdata[i]));
    }
  for (guint i = 0; i < all->len; i++)
    g_assert_false (g_str_has_prefix (all->pdata[i], "-"));
  g_assert_cmpstr (sy_text, ==, "sync");
  /* The folder is the option's value, not the command. */
  g_assert_cmpstr (after_text, ==, "status");
}

/* After each command: every option of --help that is everyone's or that
 * command's, and none that is another command's. */
static void
test_bash_options (void)
{
  g_autoptr(Help) help = help_read ();

  for (guint c = 0; c < help->commands->len; c++)
    {
      const char *command = help->commands->pdata[c];
      g_autoptr(GPtrArray) offered = BASH (NULL, "jsync", command, "-");

      g_test_message ("jsync %s -<TAB>: %u candidates", command, offered->len);
      for (guint o = 0; o < help->options->len; o++)
        {
          const char *option = help->options->pdata[o];
          const char *owner = help->owners->pdata[o];

          g_test_message ("  %s (%s)", option, *owner ? owner : "everyone's");
          if (*owner == '\0' || strcmp (owner, command) == 0)
            g_assert_true (has (offered, option));
          else
            g_assert_false (has (offered, option));
        }
    }
}

/* A data folder as sync reads it: two logs (one in a subfolder), a log in
 * a hidden folder, a hidden log and another file, none of which sync reads. */
static char *
make_data (void)
{
  char *dir = jtest_tree_make (NULL, "jsync-completion");
  static const char *const files[] = {
    "a.jsonl", "sub/b c.jsonl", ".stfolder/x.jsonl", ".hidden.jsonl",
    "notes.txt",
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);

      jtest_write_text (path, "", FALSE);
    }
  return dir;
}

static void
test_bash_append_logs (void)
{
  g_autofree char *dir = make_data ();
  g_autoptr(GPtrArray) all = BASH (NULL, "jsync", "--data-dir", dir, "append",
                                   "");
  /* --data-dir=DIR comes as three words: bash breaks at "=". */
  g_autoptr(GPtrArray) sub = BASH (NULL, "jsync", "append", "--data-dir", "=",
                                   dir, "s");
  /* Without --data-dir: the folder it runs in. */
  g_autoptr(GPtrArray) here = BASH (dir, "jsync", "append", "");
  /* recover --to FILE: a log of the data folder too. */
  g_autoptr(GPtrArray) to = BASH (dir, "jsync", "recover", "--to", "");
  /* The second argument is the event's JSON, not a log. */
  g_autoptr(GPtrArray) body = BASH (dir, "jsync", "append", "a.jsonl", "");
  g_autofree char *all_text = joined (all);
  g_autofree char *sub_text = joined (sub);
  g_autofree char *here_text = joined (here);
  g_autofree char *to_text = joined (to);

  g_assert_cmpuint (all->len, ==, 2);
  g_assert_true (has (all, "a.jsonl"));
  g_assert_true (has (all, "sub/b c.jsonl"));
  g_assert_cmpstr (sub_text, ==, "sub/b c.jsonl");
  g_assert_cmpstr (here_text, ==, all_text);
  g_assert_cmpstr (to_text, ==, all_text);
  g_assert_cmpuint (body->len, ==, 0);
  jtest_tree_remove (dir);
}

/* The FTS tables `jsync plugins --json` lists for the line's data folder,
 * cache and plugins folder: the bundled appliers' three. */
static void
test_bash_tables (void)
{
  g_autofree char *dir = jtest_tree_make (NULL, "jsync-completion");
  g_autofree char *db = g_build_filename (dir, "cache.db", NULL);
  g_autoptr(GPtrArray) argv = jtest_jsync_argv (jtest_nexus_dir (), db,
      (const char *const[]) { "plugins", "--json", NULL });
  g_auto(GStrv) env = jtest_child_environ ();
  JTestSpawn options = { .env = env, .json = TRUE };
  g_autoptr(JTestRun) run = jtest_spawn ((const char *const *) argv->pdata,
                                         &options);
  json_object *plugins = jtest_member_array (run->json, "plugins");
  g_autoptr(GPtrArray) listed = g_ptr_array_new ();
  g_autoptr(GPtrArray) all = BASH (NULL, jtest_bin (), "--data-dir",
                                   jtest_nexus_dir (), "--db", db, "search",
                                   "--table", "");
  g_autoptr(GPtrArray) m = BASH (NULL, jtest_bin (), "search", "--db", "=", db,
                                 "--data-dir", jtest_nexus_dir (), "--table",
                                 "=", "m");
  g_autofree char *all_text = NULL;
  g_autofree char *listed_text = NULL;
  g_autofree char *m_text = joined (m);

  g_assert_cmpint (run->status, ==, 0);
  for (size_t i = 0; i < json_object_array_length (plugins); i++)
    {
      json_object *search = jtest_member_array (
          json_object_array_get_idx (plugins, i), "search");

      for (size_t s = 0; s < json_object_array_length (search); s++)
        g_ptr_array_add (listed, (gpointer) json_object_get_string (
                                     json_object_array_get_idx (search, s)));
    }
  all_text = joined (all);
  listed_text = joined (listed);
  g_assert_cmpstr (all_text, ==, listed_text);
  /* README "Searching": the bundled appliers' tables. */
  g_assert_cmpstr (all_text, ==, "conversation_fts message_fts workspace_fts");
  g_assert_cmpstr (m_text, ==, "message_fts");
  jtest_tree_remove (dir);
}

/* --- zsh and fish --------------------------------------------------------- */

/* Whether `text` has `word` with no letter, digit or "-" right before or
 * after it. */
static gboolean
has_word (const char *text, const char *word)
{
  gsize length = strlen (word);

  for (const char *at = strstr (text, word); at != NULL;
       at = strstr (at + 1, word))
    if ((at == text || !(g_ascii_isalnum (at[-1]) || at[-1] == '-'))
        && !(g_ascii_isalnum (at[length]) || at[length] == '-'))
      return TRUE;
  return FALSE;
}

/* Every command and option of --help is named in the script: zsh names
 * an option "--name" and fish "-l name" (or "-s x"). */
static void
check_script_names (const char *name, gboolean fish)
{
  g_autoptr(Help) help = help_read ();
  g_autofree char *path = script_path (name);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < help->commands->len; i++)
    {
      g_test_message ("%s: command %s", name,
                      (char *) help->commands->pdata[i]);
      g_assert_true (has_word (text, help->commands->pdata[i]));
    }
  for (guint i = 0; i < help->options->len; i++)
    {
      const char *option = help->options->pdata[i];
      g_autofree char *form = !fish ? g_strdup (option)
                              : option[1] == '-'
                                ? g_strconcat ("-l ", option + 2, NULL)
                                : g_strconcat ("-s ", option + 1, NULL);

      g_test_message ("%s: option %s", name, form);
      g_assert_true (has_word (text, form));
    }
}

/* The shell's own syntax check, when the shell is installed. */
static void
check_syntax (const char *shell, const char *flag, const char *name)
{
  g_autofree char *found = g_find_program_in_path (shell);
  g_autofree char *path = script_path (name);
  const char *argv[] = { shell, flag, path, NULL };
  g_auto(GStrv) env = shell_environ ();
  JTestSpawn options = { .env = env };
  g_autoptr(JTestRun) run = NULL;

  if (found == NULL)
    {
      g_autofree char *why = g_strdup_printf (
          "%s is not installed: %s not syntax-checked", shell, name);

      g_test_skip (why);
      return;
    }
  run = jtest_spawn (argv, &options);
  if (*run->err != '\0')
    g_test_message ("%s: %s", shell, run->err);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
}

/* zsh and fish: their script's names, and their syntax check. */
typedef struct
{
  const char *shell;
  const char *check;            /* the shell's flag to only parse */
  const char *script;           /* in dist/ */
  gboolean fish;                /* options named "-l name" */
} Shell;

static const Shell zsh = { "zsh", "-n", "_jsync", FALSE };
static const Shell fish = { "fish", "--no-execute", "jsync.fish", TRUE };

static void
test_shell (gconstpointer data)
{
  const Shell *shell = data;

  check_script_names (shell->script, shell->fish);
  check_syntax (shell->shell, shell->check, shell->script);
}

/* What fish offers for a command line (`complete -C`), without the
 * descriptions; NULL when fish is not installed. */
static GPtrArray *
fish_complete (const char *line)
{
  g_autofree char *found = g_find_program_in_path ("fish");
  g_autofree char *path = script_path ("jsync.fish");
  const char *argv[] = { "fish", "--no-config", "-c",
                         "source $argv[1]; and complete -C $argv[2]", path,
                         line, NULL };
  g_auto(GStrv) env = shell_environ ();
  JTestSpawn options = { .env = env };
  g_autoptr(JTestRun) run = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *candidates;

  if (found == NULL)
    return NULL;
  run = jtest_spawn (argv, &options);
  if (*run->err != '\0')
    g_test_message ("fish: %s", run->err);
  g_assert_cmpint (run->status, ==, 0);
  candidates = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_ptr_array_add (candidates,
                       g_strndup (lines[i], strcspn (lines[i], "\t")));
  return candidates;
}

/* fish, driven as bash is: a command, each command's options, the logs,
 * the tables. */
static void
test_fish_driven (void)
{
  g_autofree char *dir = make_data ();
  g_autofree char *append_line = g_strdup_printf (
      "jsync --data-dir '%s' append ", dir);
  g_autoptr(GPtrArray) sy = fish_complete ("jsync sy");
  g_autofree char *db = g_build_filename (dir, "cache.db", NULL);
  g_autofree char *table_line = g_strdup_printf (
      "'%s' --data-dir '%s' --db '%s' search --table ", jtest_bin (),
      jtest_nexus_dir (), db);
  g_autoptr(GPtrArray) search = NULL;
  g_autoptr(GPtrArray) sync = NULL;
  g_autoptr(GPtrArray) logs = NULL;
  g_autoptr(GPtrArray) tables = NULL;
  g_autofree char *sy_text = NULL;
  g_autofree char *logs_text = NULL;
  g_autofree char *tables_text = NULL;

  if (sy == NULL)
    {
      g_test_skip ("fish is not installed");
      jtest_tree_remove (dir);
      return;
    }
  search = fish_complete ("jsync search --");
  sync = fish_complete ("jsync sync --");
  logs = fish_complete (append_line);
  tables = fish_complete (table_line);
  sy_text = joined (sy);
  logs_text = joined (logs);
  tables_text = joined (tables);
  g_assert_cmpstr (sy_text, ==, "sync");
  g_assert_true (has (search, "--table"));
  g_assert_true (has (search, "--data-dir"));
  g_assert_false (has (sync, "--table"));
  g_assert_true (has (sync, "--data-dir"));
  g_assert_cmpstr (logs_text, ==, "a.jsonl sub/b c.jsonl");
  /* As bash offers them (/completion/bash/tables). */
  g_assert_cmpstr (tables_text, ==,
                   "conversation_fts message_fts workspace_fts");
  jtest_tree_remove (dir);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_data_func ("/completion/zsh/names-and-syntax", &zsh,
                        test_shell);
  g_test_add_func ("/completion/bash/registered", test_bash_registered);
  g_test_add_func ("/completion/bash/commands", test_bash_commands);
  g_test_add_data_func ("/completion/fish/names-and-syntax", &fish,
                        test_shell);
  g_test_add_func ("/completion/bash/options", test_bash_options);
  g_test_add_func ("/completion/bash/append-logs", test_bash_append_logs);
  g_test_add_func ("/completion/bash/tables", test_bash_tables);
  g_test_add_func ("/completion/fish/driven", test_fish_driven);
  return g_test_run ();
}
