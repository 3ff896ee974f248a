/* test-search.c: `jsync search` and jsync_coordinator_search() over the
 * example data (tests/data/nexus): the bundled appliers declare
 * message_fts over messages, conversation_fts over conversations and
 * workspace_fts over workspaces.
 *
 * What a user checks: the words they typed are found, every word is
 * required, the best match comes first, nothing they type is an FTS5
 * syntax error (unless they ask for FTS5 syntax with --raw), --table and
 * --limit narrow the list, --json has its keys, and matches are marked in
 * snippets: [brackets] on a pipe, bold on a terminal.
 */
#include <string.h>

#include "cli-run.h"

#define CHAPTER_CONVERSATION "c0ffee00-1234-4abc-9def-0123456789ab"
#define GARDEN_CONVERSATION "3315d080-438a-42ea-a206-76f5ea2d220c"
#define GARDEN_WORKSPACE "062b6f16-ea57-4128-a9d4-ea6c88f68e9b"

/* Options that let every match of the example data through. */
static const JsyncSearchOptions every_match = { .limit = 1000 };

/* Search through the library; asserts it succeeded. */
static json_object *
search (CliFixture *f, const char *query, const JsyncSearchOptions *options)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  json_object *json = jsync_coordinator_search (coordinator, query, options,
                                                &error);

  g_assert_no_error (error);
  g_assert_nonnull (json);
  return json;
}

static json_object *
results (json_object *json)
{
  return jtest_member_array (json, "results");
}

static json_object *
result_at (json_object *json, size_t i)
{
  return json_object_array_get_idx (results (json), i);
}

static gboolean
has_result (json_object *json, const char *table, const char *id)
{
  for (size_t i = 0; i < json_object_array_length (results (json)); i++)
    {
      json_object *hit = result_at (json, i);

      if (g_strcmp0 (jtest_member_str (hit, "table"), table) == 0
          && g_strcmp0 (jtest_member_str (hit, "id"), id) == 0)
        return TRUE;
    }
  return FALSE;
}

/* A word of the example data is found in every table that holds it, 20
 * results unless asked for more. */
static void
test_words_found (CliFixture *f, gconstpointer data)
{
  json_object *json = search (f, "garden", &every_match);
  json_object *first = search (f, "garden", NULL);
  size_t n = json_object_array_length (results (json));

  g_assert_cmpuint (n, >, 20);
  g_assert_cmpuint (json_object_array_length (results (first)), ==, 20);
  g_assert_true (has_result (json, "conversations", GARDEN_CONVERSATION));
  g_assert_true (has_result (json, "workspaces", GARDEN_WORKSPACE));
  for (size_t i = 0; i < n; i++)
    {
      g_autofree char *snippet = g_utf8_strdown (
          jtest_member_str (result_at (json, i), "snippet"), -1);

      g_assert_nonnull (strstr (snippet, "[garden]"));
    }
  json_object_put (json);
  json_object_put (first);
}

/* The text of a result's shown columns, lower case. */
static char *
result_text (json_object *hit)
{
  g_autoptr(GString) text = g_string_new (NULL);

  json_object_object_foreach (jtest_member (hit, "columns"), name, value)
    {
      (void) name;
      if (value != NULL)
        g_string_append_printf (text, "%s\n", json_object_get_string (value));
    }
  return g_utf8_strdown (text->str, -1);
}

/* Every word is required; the words need not be side by side. */
static void
test_words_all_required (CliFixture *f, gconstpointer data)
{
  json_object *both = search (f, "chapter outline", &every_match);
  json_object *one = search (f, "chapter", &every_match);
  json_object *none = search (f, "outline zyzzyvaplant", NULL);
  size_t n = json_object_array_length (results (both));

  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpuint (json_object_array_length (results (one)), >, n);
  g_assert_true (has_result (both, "conversations", CHAPTER_CONVERSATION));
  g_assert_true (has_result (both, "messages",
                             "a1a1a1a1-b2b2-4c3c-8d4d-e5e5e5e5e5e5"));
  for (size_t i = 0; i < n; i++)
    {
      g_autofree char *text = result_text (result_at (both, i));

      jtest_assert_has (text, "chapter", "outline");
    }
  g_assert_cmpuint (json_object_array_length (results (none)), ==, 0);
  json_object_put (both);
  json_object_put (one);
  json_object_put (none);
}

/* "table id" of each result, in order, a line each. */
static char *
hit_list (json_object *json)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (size_t i = 0; i < json_object_array_length (results (json)); i++)
    {
      json_object *hit = result_at (json, i);

      g_string_append_printf (list, "%s %s\n", jtest_member_str (hit, "table"),
                              jtest_member_str (hit, "id"));
    }
  return g_string_free (g_steal_pointer (&list), FALSE);
}

/* The phrases of an FTS5 query made by jsync_search_quote(). */
static guint
count_phrases (const char *fts_query)
{
  guint quotes = 0;

  for (const char *p = fts_query; *p != '\0'; p++)
    quotes += *p == '"';
  return quotes / 2;
}

/* 3,000 times one word: FTS5 is asked for the word once, and the results
 * are those of the word alone, ranks and all.  (Each repetition was a
 * phrase of its own: FTS5's bm25 then costs the square of their number
 * for each matching row, seconds for this query.) */
static void
test_repeated_words (CliFixture *f, gconstpointer data)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *quoted = NULL;
  g_autofree char *once_text = NULL;
  g_autoptr(JTestRun) run = NULL;
  json_object *once, *repeated;

  for (guint i = 0; i < 3000; i++)
    g_string_append (text, i % 2 ? " garden" : "\tgarden ");
  quoted = jsync_search_quote (text->str);
  g_assert_cmpstr (quoted, ==, "\"garden\"");

  once = search (f, "garden", &every_match);
  repeated = search (f, text->str, &every_match);
  g_assert_cmpstr (jtest_member_str (repeated, "ftsQuery"), ==, "\"garden\"");
  g_assert_cmpuint (json_object_array_length (results (once)), >, 20);
  once_text = g_strdup (json_object_to_json_string (results (once)));
  g_assert_cmpstr (json_object_to_json_string (results (repeated)), ==,
                   once_text);
  json_object_put (once);
  json_object_put (repeated);

  run = CLI_RUN_JSON (f, "search", text->str);
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpstr (jtest_member_str (run->json, "ftsQuery"), ==, "\"garden\"");
}

/* 3,000 words, every one of the 64 ways to capitalize "garden" over and
 * over: each spelling is asked for once (FTS5 folds case; jsync does not
 * assume it, since an applier's tokenizer may not), and the results are
 * those of "garden". */
static void
test_spellings (CliFixture *f, gconstpointer data)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *quoted = NULL;
  g_autofree char *once_hits = NULL;
  g_autofree char *spelled_hits = NULL;
  json_object *once, *spelled;

  for (guint i = 0; i < 3000; i++)
    {
      static const char word[] = "garden";

      g_string_append_c (text, ' ');
      for (guint c = 0; c < 6; c++)
        g_string_append_c (text, (i % 64) & (1u << c)
                                   ? g_ascii_toupper (word[c]) : word[c]);
    }
  quoted = jsync_search_quote (text->str);
  g_assert_cmpuint (count_phrases (quoted), ==, 64);

  once = search (f, "garden", &every_match);
  spelled = search (f, text->str, &every_match);
  g_assert_cmpuint (count_phrases (jtest_member_str (spelled, "ftsQuery")), ==,
                    64);
  once_hits = hit_list (once);
  spelled_hits = hit_list (spelled);
  g_assert_cmpstr (spelled_hits, ==, once_hits);
  json_object_put (once);
  json_object_put (spelled);
}

/* More different words than JSYNC_SEARCH_MAX_WORDS is a usage error that
 * says so (exit 2); that many is a query like any other. */
static void
test_too_many_words (CliFixture *f, gconstpointer data)
{
  g_autoptr(GString) most = g_string_new (NULL);
  g_autoptr(GString) more = NULL;
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(JTestRun) run = NULL;
  g_autofree char *expected = NULL;
  json_object *json;

  for (guint i = 0; i < JSYNC_SEARCH_MAX_WORDS; i++)
    g_string_append_printf (most, "garden%u ", i);
  json = search (f, most->str, NULL);
  g_assert_cmpuint (count_phrases (jtest_member_str (json, "ftsQuery")), ==,
                    JSYNC_SEARCH_MAX_WORDS);
  json_object_put (json);

  more = g_string_new (most->str);
  g_string_append (more, "garden garden");
  json = jsync_coordinator_search (coordinator, more->str, NULL, &error);
  g_assert_null (json);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE);
  expected = g_strdup_printf ("%u different words", JSYNC_SEARCH_MAX_WORDS + 1);
  g_assert_nonnull (strstr (error->message, expected));

  run = CLI_RUN (f, "search", more->str);
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_USAGE);
  g_assert_nonnull (strstr (run->err, expected));
}

/* bm25 across tables: the best first, ranks never decreasing; the short
 * title that is all about the word beats the messages that mention it. */
static void
test_rank_order (CliFixture *f, gconstpointer data)
{
  json_object *json = search (f, "outline", NULL);
  json_object *first = result_at (json, 0);
  double previous = -G_MAXDOUBLE;

  g_assert_cmpuint (json_object_array_length (results (json)), >=, 3);
  g_assert_cmpstr (jtest_member_str (first, "table"), ==, "conversations");
  g_assert_cmpstr (jtest_member_str (first, "id"), ==, CHAPTER_CONVERSATION);
  g_assert_cmpstr (jtest_member_str (first, "snippet"), ==,
                   "Chapter 3 [outline]");
  for (size_t i = 0; i < json_object_array_length (results (json)); i++)
    {
      double rank = json_object_get_double (jtest_member (result_at (json, i),
                                                          "rank"));

      g_assert_cmpfloat (rank, >=, previous);
      previous = rank;
    }
  json_object_put (json);
}

/* The quoting itself. */
static void
test_quote (CliFixture *f, gconstpointer data)
{
  static const char *const cases[][2] = {
    { "garden", "\"garden\"" },
    { "  two\twords\n", "\"two\" \"words\"" },
    { "a\"b", "\"a\"\"b\"" },
    { "\"", "\"\"\"\"" },
    { "NEAR(", "\"NEAR(\"" },
    { "-x AND y*", "\"-x\" \"AND\" \"y*\"" },
    { "", "" },
    { " \t ", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *quoted = jsync_search_quote (cases[i][0]);

      g_assert_cmpstr (quoted, ==, cases[i][1]);
    }
}

static const char *const hostile[] = {
  "\"", "*", "NEAR(", "AND", "-x", "(", ")", "garden (", "\"garden",
  "garden OR", "NOT garden", "title:garden", "^garden", "garden*", "{x y}:z",
  "", "   ", "'", "a\"b\"c", "NEAR(garden outline, 2)",
};

/* Nothing a user types is an FTS5 syntax error; words stay words. */
static void
test_quote_hostile (CliFixture *f, gconstpointer data)
{
  json_object *json;

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      json = search (f, hostile[i], NULL);
      jtest_member_array (json, "results");
      json_object_put (json);
    }
  /* "garden (" still finds garden: the parenthesis is no token. */
  json = search (f, "garden (", NULL);
  g_assert_cmpuint (json_object_array_length (results (json)), ==, 20);
  json_object_put (json);
  /* "OR" is a word to find, not an operator: no match has it. */
  json = search (f, "garden OR outline", NULL);
  g_assert_cmpuint (json_object_array_length (results (json)), ==, 0);
  json_object_put (json);
}

/* --raw: FTS5 syntax passes through; a syntax error is a usage error with
 * SQLite's message. */
static void
test_raw (CliFixture *f, gconstpointer data)
{
  JsyncSearchOptions raw = { .raw = TRUE, .limit = 1000 };
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(json_object) either = search (f, "garden OR outline", &raw);
  g_autoptr(json_object) garden = search (f, "garden", &every_match);
  g_autoptr(json_object) outline = search (f, "outline", &every_match);
  g_autoptr(json_object) both = search (f, "garden outline", &every_match);
  json_object *bad;

  g_assert_cmpuint (json_object_array_length (results (both)), >, 0);
  g_assert_cmpuint (json_object_array_length (results (either)), ==,
                    json_object_array_length (results (garden))
                      + json_object_array_length (results (outline))
                      - json_object_array_length (results (both)));
  bad = jsync_coordinator_search (coordinator, "garden AND (", &raw, &error);
  g_assert_null (bad);
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "fts5: syntax error"));
  g_assert_cmpint (jsync_error_exit_status (error), ==, JSYNC_EXIT_USAGE);
}

/* --table: one FTS table, by its name or its content table's. */
static void
test_table (CliFixture *f, gconstpointer data)
{
  g_autoptr(JsyncCoordinator) coordinator = cli_open (f);
  g_autoptr(GError) error = NULL;
  JsyncSearchOptions unknown = { .table = "sessions" };
  /* Each FTS table, and its content table: both name it. */
  static const char *const tables[][2] = {
    { "workspace_fts", "workspaces" },
    { "conversation_fts", "conversations" },
    { "message_fts", "messages" },
  };

  for (guint i = 0; i < 2 * G_N_ELEMENTS (tables); i++)
    {
      JsyncSearchOptions options = { .table = tables[i / 2][i % 2] };
      g_autoptr(json_object) json = search (f, "garden", &options);
      size_t n = json_object_array_length (results (json));

      g_test_message ("--table %s", options.table);
      g_assert_cmpuint (n, >=, 1);
      for (size_t r = 0; r < n; r++)
        g_assert_cmpstr (jtest_member_str (result_at (json, r), "table"), ==,
                         tables[i / 2][1]);
    }
  g_assert_null (jsync_coordinator_search (coordinator, "garden", &unknown,
                                           &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "message_fts (messages)"));
}

/* --limit: the best N of the whole list. */
static void
test_limit (CliFixture *f, gconstpointer data)
{
  JsyncSearchOptions three = { .limit = 3 };
  json_object *top = search (f, "garden", &three);
  json_object *all = search (f, "garden", &every_match);

  g_assert_cmpuint (json_object_array_length (results (top)), ==, 3);
  g_assert_cmpuint (json_object_array_length (results (all)), >, 20);
  for (size_t i = 0; i < 3; i++)
    g_assert_cmpint (jtest_member_int (result_at (top, i), "rowid"), ==,
                     jtest_member_int (result_at (all, i), "rowid"));
  json_object_put (top);
  json_object_put (all);
}

/* The program: --json holds every documented key. */
static void
test_cli_json (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (f, "search", "chapter", "--table",
                                          "conversations");
  json_object *hit, *columns;

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (run->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (run->json, "command"), ==, "search");
  g_assert_cmpstr (jtest_member_str (run->json, "query"), ==, "chapter");
  g_assert_cmpuint (json_object_array_length (results (run->json)), ==, 1);
  hit = result_at (run->json, 0);
  g_assert_cmpstr (jtest_member_str (hit, "table"), ==, "conversations");
  g_assert_cmpstr (jtest_member_str (hit, "fts"), ==, "conversation_fts");
  g_assert_cmpstr (jtest_member_str (hit, "id"), ==, CHAPTER_CONVERSATION);
  g_assert_cmpint (jtest_member_int (hit, "rowid"), >, 0);
  g_assert_cmpint (json_object_get_type (jtest_member (hit, "rank")), ==,
                   json_type_double);
  g_assert_cmpstr (jtest_member_str (hit, "snippet"), ==,
                   "[Chapter] 3 outline");
  columns = jtest_member (hit, "columns");
  g_assert_cmpstr (jtest_member_str (columns, "title"), ==,
                   "Chapter 3 outline");
}

/* The program on a pipe: [brackets], no escape sequences; the declared
 * columns are shown. */
static void
test_cli_plain (CliFixture *f, gconstpointer data)
{
  static const char *const shown[] = {
    "workspaces " GARDEN_WORKSPACE, "name: Garden planning",
    "description: Reviews assistant", "[Garden] planning",
  };
  g_autoptr(JTestRun) run = CLI_RUN (f, "search", "garden", "--table",
                                     "workspaces");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  for (guint i = 0; i < G_N_ELEMENTS (shown); i++)
    g_assert_nonnull (strstr (run->out, shown[i]));
  g_assert_null (strstr (run->out, "\033["));
}

/* The program on a terminal: matches in bold. */
static void
test_cli_terminal (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN_TTY (f, TRUE, "search", "garden",
                                         "--table", "workspaces");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_nonnull (strstr (run->out, "\033[1mGarden\033[0m planning"));
  g_assert_null (strstr (run->out, "[Garden]"));
}

/* The program: hostile words (after "--" for the one that starts with
 * "-"), an empty query and no match all exit 0; a raw syntax error is 2. */
static void
test_cli_exit (CliFixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(JTestRun) hostile_run = NULL;
  g_autoptr(JTestRun) empty = NULL;
  g_autoptr(JTestRun) nothing = NULL;
  g_autoptr(JTestRun) raw = NULL;
  g_autoptr(JTestRun) limit = NULL;
  g_autoptr(JTestRun) missing = NULL;

  g_ptr_array_add (args, (gpointer) "search");
  g_ptr_array_add (args, (gpointer) "--");
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    g_ptr_array_add (args, (gpointer) hostile[i]);
  g_ptr_array_add (args, NULL);
  hostile_run = cli_run_argv (f, (const char *const *) args->pdata);
  g_assert_cmpint (hostile_run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpstr (hostile_run->out, ==, "");

  empty = CLI_RUN (f, "search", "");
  g_assert_cmpint (empty->status, ==, JSYNC_EXIT_OK);
  nothing = CLI_RUN_JSON (f, "search", "zyzzyvaplant");
  g_assert_cmpint (nothing->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (json_object_array_length (results (nothing->json)), ==, 0);

  raw = CLI_RUN (f, "search", "--raw", "garden AND (");
  g_assert_cmpint (raw->status, ==, JSYNC_EXIT_USAGE);
  g_assert_nonnull (strstr (raw->err, "fts5: syntax error"));
  limit = CLI_RUN (f, "search", "garden", "--limit", "0");
  g_assert_cmpint (limit->status, ==, JSYNC_EXIT_USAGE);
  missing = CLI_RUN (f, "search");
  g_assert_cmpint (missing->status, ==, JSYNC_EXIT_USAGE);
}

/* The program: --limit and --table together. */
static void
test_cli_limit_table (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (f, "search", "garden", "--limit",
                                          "2", "--table", "message_fts");
  g_autoptr(JTestRun) unknown = CLI_RUN (f, "search", "garden", "--table",
                                         "nosuch");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (json_object_array_length (results (run->json)), ==, 2);
  g_assert_cmpstr (jtest_member_str (result_at (run->json, 1), "table"), ==,
                   "messages");
  g_assert_cmpint (unknown->status, ==, JSYNC_EXIT_USAGE);
  g_assert_nonnull (strstr (unknown->err, "nosuch"));
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  CLI_ADD_NEXUS ("/search/words/found", test_words_found);
  CLI_ADD_NEXUS ("/search/words/all-required", test_words_all_required);
  CLI_ADD_NEXUS ("/search/rank/order", test_rank_order);
  CLI_ADD_NEXUS ("/search/quote/words", test_quote);
  CLI_ADD_NEXUS ("/search/quote/hostile", test_quote_hostile);
  CLI_ADD_NEXUS ("/search/quote/repeated-words", test_repeated_words);
  CLI_ADD_NEXUS ("/search/quote/spellings", test_spellings);
  CLI_ADD_NEXUS ("/search/quote/too-many-words", test_too_many_words);
  CLI_ADD_NEXUS ("/search/raw/syntax", test_raw);
  CLI_ADD_NEXUS ("/search/table/one", test_table);
  CLI_ADD_NEXUS ("/search/limit/best", test_limit);
  CLI_ADD_NEXUS ("/search/cli/json", test_cli_json);
  CLI_ADD_NEXUS ("/search/cli/plain", test_cli_plain);
  CLI_ADD_NEXUS ("/search/cli/terminal", test_cli_terminal);
  CLI_ADD_NEXUS ("/search/cli/exit", test_cli_exit);
  CLI_ADD_NEXUS ("/search/cli/limit-table", test_cli_limit_table);
  return g_test_run ();
}
