/* test-recover.c: `jsync recover` (docs/design.md "Recover"), through the
 * program (JSYNC_BIN) and the library.
 *
 * The example data (tests/data/nexus) is synced, then one device's
 * appends disappear as a sync tool makes them disappear: ws_default.jsonl
 * is rewritten with only the other devices' lines, and a conversation only
 * that device wrote is deleted.  What a user checks: recover puts each of
 * those lines back byte for byte, in key order, and nothing else; status
 * no longer lists them; a cache built from the logs alone (another device)
 * dumps the same as this one; a second recover writes nothing; --dry-run
 * writes nothing and lists them; --to FILE; the --json report; a recover
 * killed between two lines, then run again, writes no line twice; an app
 * appending to the same logs meanwhile loses no line.
 */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "cli-run.h"

/* The device whose appends are lost, and the logs they are lost from. */
#define DEVICE "00913ecc-6138-48d2-acd2-a301f71521ca"
#define WS "workspaces/ws_default.jsonl"
#define CONV "conversations/conv_8a9ee2e8-174f-4878-bd42-8672bb7b0315.jsonl"
/* Its event lines in WS, and in CONV (which holds only its lines). */
#define WS_LOST 4
#define CONV_LOST 77
#define ALL_LOST (WS_LOST + CONV_LOST)

typedef struct
{
  CliFixture cli;
  GPtrArray *ws_lost;           /* owned: WS's lines of DEVICE (char*) */
  GPtrArray *conv_lost;         /* owned: CONV's lines */
} Fixture;

/* --- Files ---------------------------------------------------------------- */

static char *
read_data (Fixture *f, const char *relative)
{
  g_autofree char *path = g_build_filename (f->cli.data, relative, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* The lines of `text`, blank ones left out.  (transfer full) */
static GPtrArray *
lines_of (const char *text)
{
  g_auto(GStrv) split = g_strsplit (text, "\n", -1);
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; split[i] != NULL; i++)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (split[i]));

      if (*stripped != '\0')
        g_ptr_array_add (lines, g_strdup (split[i]));
    }
  return lines;
}

static guint
count_lines (const char *text)
{
  g_autoptr(GPtrArray) lines = lines_of (text);

  return lines->len;
}

/* How many lines of `text` are `line`, byte for byte. */
static guint
count_line (const char *text, const char *line)
{
  g_autoptr(GPtrArray) lines = lines_of (text);
  guint count = 0;

  for (guint i = 0; i < lines->len; i++)
    count += strcmp (lines->pdata[i], line) == 0;
  return count;
}

/* Each line of `lost` is in the log exactly once. */
static void
assert_each_once (Fixture *f, const char *relative, GPtrArray *lost)
{
  g_autofree char *text = read_data (f, relative);

  for (guint i = 0; i < lost->len; i++)
    g_assert_cmpuint (count_line (text, lost->pdata[i]), ==, 1);
}

/* The event lines of a log are in key order: (timestamp, deviceId, id). */
static void
assert_key_order (const char *text)
{
  g_autoptr(GPtrArray) lines = lines_of (text);
  g_autoptr(json_object) last = NULL;

  for (guint i = 0; i < lines->len; i++)
    {
      g_autoptr(json_object) event = jtest_parse_object (lines->pdata[i]);

      if (last != NULL)
        {
          gint64 a = jtest_member_int (last, "timestamp");
          gint64 b = jtest_member_int (event, "timestamp");
          int device = strcmp (jtest_member_str (last, "deviceId"),
                               jtest_member_str (event, "deviceId"));

          g_assert_true (a < b
                         || (a == b
                             && (device < 0
                                 || (device == 0
                                     && strcmp (jtest_member_str (last, "id"),
                                                jtest_member_str (event, "id"))
                                          < 0))));
        }
      g_clear_pointer (&last, json_object_put);
      last = g_steal_pointer (&event);
    }
}

/* --- Fixture -------------------------------------------------------------- */

/* Sync the example data, then lose DEVICE's lines: WS rewritten in place
 * without them, CONV deleted; sync, which reports them lost. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(GPtrArray) ws = NULL;
  g_autoptr(GString) kept = g_string_new (NULL);
  g_autofree char *ws_text = NULL;
  g_autofree char *conv_text = NULL;
  g_autofree char *conv_path = NULL;

  cli_fixture_setup (&f->cli, data);
  cli_fixture_copy_nexus (&f->cli);
  run = CLI_RUN (&f->cli, "sync");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);

  f->ws_lost = g_ptr_array_new_with_free_func (g_free);
  ws_text = read_data (f, WS);
  ws = g_ptr_array_new_with_free_func (g_free);
  {
    g_auto(GStrv) split = g_strsplit (ws_text, "\n", -1);

    for (guint i = 0; split[i] != NULL && split[i + 1] != NULL; i++)
      if (strstr (split[i], "\"deviceId\":\"" DEVICE "\"") != NULL)
        g_ptr_array_add (f->ws_lost, g_strdup (split[i]));
      else
        g_string_append_printf (kept, "%s\n", split[i]);
  }
  g_assert_cmpuint (f->ws_lost->len, ==, WS_LOST);
  cli_write (&f->cli, WS, kept->str);

  conv_text = read_data (f, CONV);
  f->conv_lost = lines_of (conv_text);
  g_assert_cmpuint (f->conv_lost->len, ==, CONV_LOST);
  conv_path = g_build_filename (f->cli.data, CONV, NULL);
  g_assert_cmpint (g_unlink (conv_path), ==, 0);

  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN_JSON (&f->cli, "sync");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (jtest_member_len (run->json, "lostEvents"), ==, 2);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->ws_lost);
  g_ptr_array_unref (f->conv_lost);
  cli_fixture_teardown (&f->cli, data);
}

/* --- Checks --------------------------------------------------------------- */

/* `jsync dump` of a cache (the fixture's, or another over the same logs,
 * synced first: a device that has only the logs).  (transfer full) */
static char *
dump_of (Fixture *f, const char *db)
{
  const char *const sync[] = { "sync", "-q", NULL };
  const char *const dump[] = { "dump", NULL };
  g_autoptr(GPtrArray) sync_argv = jtest_jsync_argv (f->cli.data, db, sync);
  g_autoptr(GPtrArray) dump_argv = jtest_jsync_argv (f->cli.data, db, dump);
  JTestSpawn options = { .env = f->cli.env };
  g_autoptr(JTestRun) synced = NULL;
  g_autoptr(JTestRun) dumped = NULL;

  if (strcmp (db, f->cli.db) != 0)
    {
      synced = jtest_spawn ((const char *const *) sync_argv->pdata, &options);
      g_assert_cmpint (synced->status, ==, JSYNC_EXIT_OK);
    }
  dumped = jtest_spawn ((const char *const *) dump_argv->pdata, &options);
  g_assert_cmpint (dumped->status, ==, JSYNC_EXIT_OK);
  return g_strdup (dumped->out);
}

/* Does a cache built from the logs alone dump as the fixture's does? */
static gboolean
fresh_cache_equals (Fixture *f)
{
  g_autofree char *other = g_strdup_printf ("%s.other-%u", f->cli.db,
                                            g_random_int ());
  g_autofree char *mine = dump_of (f, f->cli.db);
  g_autofree char *theirs = dump_of (f, other);

  return strcmp (mine, theirs) == 0;
}

/* The lost events `jsync status --json` lists. */
static gsize
status_lost (Fixture *f)
{
  g_autoptr(JTestRun) run = CLI_RUN_JSON (&f->cli, "status");

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  if (jtest_member_len (run->json, "lostEvents") > 0)
    g_assert_cmpstr (jtest_member_str (run->json, "recoverCommand"), ==,
                     "jsync recover");
  else
    g_assert_null (jtest_member_str (run->json, "recoverCommand"));
  return jtest_member_len (run->json, "lostEvents");
}

/* The ids of a "recovered" member's entry for `file`, or NULL. */
static json_object *
recovered_ids (json_object *report, const char *file)
{
  json_object *recovered = jtest_member_array (report, "recovered");
  gsize n = json_object_array_length (recovered);
  gsize i = 0;

  while (i < n
         && strcmp (jtest_member_str (json_object_array_get_idx (recovered, i),
                                      "file"), file) != 0)
    i++;
  return i < n ? jtest_member_array (json_object_array_get_idx (recovered, i),
                                     "ids")
               : NULL;
}

/* The ids of `lines`, each in `ids`, and no other. */
static void
assert_ids_of (json_object *ids, GPtrArray *lines)
{
  g_assert_nonnull (ids);
  g_assert_cmpuint (json_object_array_length (ids), ==, lines->len);
  for (guint i = 0; i < lines->len; i++)
    {
      g_autoptr(json_object) event = jtest_parse_object (lines->pdata[i]);

      g_assert_true (jtest_array_has_string (ids,
                                             jtest_member_str (event, "id")));
    }
}

/* --- Tests ---------------------------------------------------------------- */

/* The lines come back byte for byte, in key order; status and a fresh
 * cache agree; the --json report; a second run writes nothing. */
static void
test_recover (Fixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) status = CLI_RUN (&f->cli, "status");
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(JTestRun) again = NULL;
  g_autofree char *ws_before = read_data (f, WS);
  g_autofree char *ws_after = NULL;
  g_autofree char *conv_after = NULL;
  g_autofree char *ws_last = NULL;
  g_autofree char *conv_last = NULL;
  g_autoptr(GPtrArray) ws_added = NULL;

  /* Status says how to get them back. */
  g_assert_cmpuint (status_lost (f), ==, ALL_LOST);
  g_assert_nonnull (strstr (status->out, "jsync recover"));
  /* Before: the other devices' cache lacks them. */
  g_assert_false (fresh_cache_equals (f));

  run = CLI_RUN_JSON (&f->cli, "recover");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpint (jtest_member_int (run->json, "version"), ==, 1);
  g_assert_cmpstr (jtest_member_str (run->json, "command"), ==, "recover");
  g_assert_false (jtest_member_bool (run->json, "dryRun"));
  g_assert_true (jtest_member_bool (run->json, "success"));
  g_assert_cmpuint (jtest_member_len (run->json, "recovered"), ==, 2);
  /* Files in name order. */
  g_assert_cmpstr (jtest_member_str (json_object_array_get_idx (
                       jtest_member_array (run->json, "recovered"), 0),
                                     "file"), ==, CONV);
  assert_ids_of (recovered_ids (run->json, WS), f->ws_lost);
  assert_ids_of (recovered_ids (run->json, CONV), f->conv_lost);
  /* Its sync read them back: duplicates of what the cache holds. */
  g_assert_cmpint (jtest_member_int (run->json, "eventsApplied"), ==, 0);
  g_assert_cmpint (jtest_member_int (run->json, "eventsSkipped"), ==,
                   ALL_LOST);
  g_assert_cmpuint (jtest_member_len (run->json, "lostEvents"), ==, 0);

  /* WS: what it held, then exactly the lost lines, in key order. */
  ws_after = read_data (f, WS);
  g_assert_true (g_str_has_prefix (ws_after, ws_before));
  ws_added = lines_of (ws_after + strlen (ws_before));
  g_assert_cmpuint (ws_added->len, ==, WS_LOST);
  assert_each_once (f, WS, f->ws_lost);
  assert_key_order (ws_after + strlen (ws_before));
  /* CONV: made again, with exactly its lines, in key order. */
  conv_after = read_data (f, CONV);
  g_assert_cmpuint (count_lines (conv_after), ==, CONV_LOST);
  assert_each_once (f, CONV, f->conv_lost);
  assert_key_order (conv_after);

  g_assert_cmpuint (status_lost (f), ==, 0);
  g_assert_true (fresh_cache_equals (f));

  /* Again: nothing to write, the logs as they were. */
  again = CLI_RUN_JSON (&f->cli, "recover");
  g_assert_cmpint (again->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (jtest_member_len (again->json, "recovered"), ==, 0);
  ws_last = read_data (f, WS);
  conv_last = read_data (f, CONV);
  g_assert_cmpstr (ws_last, ==, ws_after);
  g_assert_cmpstr (conv_last, ==, conv_after);
}

/* --dry-run lists them, by file, and writes nothing. */
static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autofree char *ws_before = read_data (f, WS);
  g_autofree char *ws_after = NULL;
  g_autofree char *conv_path = g_build_filename (f->cli.data, CONV, NULL);
  g_autoptr(JTestRun) run = CLI_RUN_JSON (&f->cli, "recover", "--dry-run");
  g_autoptr(JTestRun) text = CLI_RUN (&f->cli, "recover", "--dry-run");
  g_autoptr(json_object) first = jtest_parse_object (f->ws_lost->pdata[0]);

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_true (jtest_member_bool (run->json, "dryRun"));
  assert_ids_of (recovered_ids (run->json, WS), f->ws_lost);
  assert_ids_of (recovered_ids (run->json, CONV), f->conv_lost);
  ws_after = read_data (f, WS);
  g_assert_cmpstr (ws_after, ==, ws_before);
  g_assert_false (g_file_test (conv_path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (status_lost (f), ==, ALL_LOST);

  g_assert_cmpint (text->status, ==, JSYNC_EXIT_OK);
  g_assert_nonnull (strstr (text->out, "would write 4 event(s) to " WS));
  g_assert_nonnull (strstr (text->out, "would write 77 event(s) to " CONV));
  g_assert_nonnull (strstr (text->out, jtest_member_str (first, "id")));
}

/* --to FILE: every lost event into one log (made, folders too), in key
 * order; checked as append checks its file. */
static void
test_to (Fixture *f, gconstpointer data)
{
  static const char *const refused[] = { "../out.jsonl", "/tmp/out.jsonl",
                                         ".hidden/out.jsonl", "out.txt" };
  g_autoptr(JTestRun) run = NULL;
  g_autofree char *ws_before = read_data (f, WS);
  g_autofree char *ws_after = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(JTestRun) bad = CLI_RUN (&f->cli, "recover", "--to",
                                         refused[i]);

      g_assert_cmpint (bad->status, ==, JSYNC_EXIT_USAGE);
      g_assert_nonnull (strstr (bad->err, refused[i]));
    }
  g_assert_cmpuint (status_lost (f), ==, ALL_LOST);

  run = CLI_RUN_JSON (&f->cli, "recover", "--to", "restored/./lost.jsonl");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (jtest_member_len (run->json, "recovered"), ==, 1);
  g_assert_cmpuint (json_object_array_length (
                        recovered_ids (run->json, "restored/lost.jsonl")),
                    ==, ALL_LOST);
  text = read_data (f, "restored/lost.jsonl");
  g_assert_cmpuint (count_lines (text), ==, ALL_LOST);
  assert_each_once (f, "restored/lost.jsonl", f->ws_lost);
  assert_each_once (f, "restored/lost.jsonl", f->conv_lost);
  assert_key_order (text);
  ws_after = read_data (f, WS);
  g_assert_cmpstr (ws_after, ==, ws_before);
  g_assert_cmpuint (status_lost (f), ==, 0);
  g_assert_true (fresh_cache_equals (f));
}

/* Arguments recover does not take. */
static void
test_usage (Fixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = CLI_RUN (&f->cli, "recover", WS);

  g_assert_cmpint (run->status, ==, JSYNC_EXIT_USAGE);
  g_assert_nonnull (strstr (run->err, "unexpected argument"));
  g_assert_cmpuint (status_lost (f), ==, ALL_LOST);
}

/* The log it was lost from, rewritten again, holds the first lost id with
 * another body: its data with the member `member` first.  Returns the
 * recover's --json report.  (transfer full) */
static json_object *
recover_with_other_body (Fixture *f, const char *member, char **other)
{
  const char *line = f->ws_lost->pdata[0];
  const char *body = strstr (line, "\"data\":{");
  gsize head = body != NULL ? body - line + strlen ("\"data\":{") : 0;
  g_autoptr(JTestRun) run = NULL;
  g_autofree char *ws = read_data (f, WS);
  g_autofree char *rewritten = NULL;

  g_assert_nonnull (body);
  *other = g_strdup_printf ("%.*s%s,%s", (int) head, line, member,
                            line + head);
  rewritten = g_strconcat (*other, "\n", ws, NULL);
  cli_write (&f->cli, WS, rewritten);
  run = CLI_RUN_JSON (&f->cli, "recover");
  g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
  g_assert_cmpuint (status_lost (f), ==, 0);
  g_assert_true (fresh_cache_equals (f));
  return json_object_get (run->json);
}

/* With `data` FALSE, the other body sorts after the kept one ("zz" after
 * any key the data starts with): the kept copy is still in no log, so the
 * id is still lost and recover writes it; the log then holds both, and
 * every device keeps the one that sorts first.  With TRUE, it sorts first
 * ("" before any key): it is the event now (the cache follows the log), so
 * the id is not lost, and recover writes the other three only. */
static void
test_other_body (Fixture *f, gconstpointer data)
{
  gboolean sorts_first = GPOINTER_TO_INT (data);
  g_autofree char *other = NULL;
  g_autoptr(json_object) report = recover_with_other_body (
      f, sorts_first ? "\"\":1" : "\"zz\":1", &other);
  g_autofree char *text = read_data (f, WS);
  g_autoptr(GPtrArray) written = g_ptr_array_new ();

  for (guint i = sorts_first ? 1 : 0; i < f->ws_lost->len; i++)
    g_ptr_array_add (written, f->ws_lost->pdata[i]);
  assert_ids_of (recovered_ids (report, WS), written);
  g_assert_cmpuint (count_line (text, f->ws_lost->pdata[0]), ==,
                    sorts_first ? 0 : 1);
  g_assert_cmpuint (count_line (text, other), ==, 1);
}

/* --- Meanwhile, in the logs ---------------------------------------------- */

/* What happens to the logs while recover writes them. */
typedef struct
{
  Fixture *f;
  GPtrArray *app_lines;         /* owned, nullable: an app appends these */
  char *before;                 /* owned, nullable: a sync tool puts WS
                                 * back as it was, once */
  gboolean replaced;
} Meanwhile;

/* The app appends a line of its own (one write, O_APPEND) to one of the
 * two logs, in turn. */
static void
meanwhile_app_appends (Meanwhile *m, guint64 n)
{
  g_autofree char *line = g_strdup_printf (
      "{\"type\":\"app.note\",\"data\":{\"n\":%u},\"id\":\"app-%u\","
      "\"deviceId\":\"app\",\"timestamp\":%" G_GUINT64_FORMAT "}",
      m->app_lines->len, m->app_lines->len, 1700000000000 + n);
  g_autofree char *text = g_strconcat (line, "\n", NULL);

  cli_append (&m->f->cli, m->app_lines->len % 2 == 0 ? CONV : WS, text);
  g_ptr_array_add (m->app_lines, g_steal_pointer (&line));
}

/* A sync tool puts its older copy of WS in place, by a rename. */
static void
meanwhile_replace (Meanwhile *m)
{
  g_autofree char *path = g_build_filename (m->f->cli.data, WS, NULL);
  g_autofree char *aside = g_build_filename (m->f->cli.data, "workspaces",
                                             ".ws.tmp", NULL);

  jtest_write_text (aside, m->before, FALSE);
  g_assert_cmpint (g_rename (aside, path), ==, 0);
  m->replaced = TRUE;
}

/* After each line recover writes; the replacement after the last one
 * (WS's last), before the sync reads them back. */
static void
meanwhile_progress (const JsyncProgress *progress, gpointer user_data)
{
  Meanwhile *m = user_data;

  if (strcmp (progress->phase, "recover") != 0)
    return;
  if (m->app_lines != NULL)
    meanwhile_app_appends (m, progress->events_done);
  if (m->before != NULL && !m->replaced
      && progress->events_done == ALL_LOST)
    meanwhile_replace (m);
}

/* The lines the replacement dropped are still lost after the sync: they
 * are written again, once. */
static void
test_log_replaced (Fixture *f, gconstpointer data)
{
  Meanwhile replacer = { .f = f, .before = read_data (f, WS) };
  g_autoptr(JsyncCoordinator) coordinator = cli_open (&f->cli);
  g_autoptr(GError) error = NULL;
  g_autoptr(json_object) report = NULL;

  jsync_coordinator_set_progress (coordinator, meanwhile_progress,
                                  &replacer);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         CONV ": read again from the start: *");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "4 event(s) still lost after the lines were"
                         " written*");
  report = jsync_coordinator_recover (coordinator, NULL, JSYNC_RECOVER_NONE,
                                      &error);
  g_assert_no_error (error);
  g_test_assert_expected_messages ();
  g_assert_true (replacer.replaced);
  assert_ids_of (recovered_ids (report, WS), f->ws_lost);
  assert_each_once (f, WS, f->ws_lost);
  assert_each_once (f, CONV, f->conv_lost);
  g_assert_cmpuint (status_lost (f), ==, 0);
  g_assert_true (fresh_cache_equals (f));
  g_free (replacer.before);
}

/* --- Killed half-way ------------------------------------------------------ */

/* Where the child kills itself: after this many lines written. */
#define KILL_AT_ENV "JSYNC_TEST_RECOVER_KILL_AT"

static void
killed_progress (const JsyncProgress *progress, gpointer user_data)
{
  if (strcmp (progress->phase, "recover") == 0
      && progress->events_done == GPOINTER_TO_UINT (user_data))
    raise (SIGKILL);
}

/* In the child: recover through the library, killed after the line. */
static void
killed_child (void)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(GError) error = NULL;
  guint kill_at = g_ascii_strtoull (g_getenv (KILL_AT_ENV), NULL, 10);

  jsync_config_set_data_dir (config, g_getenv ("JSYNC_TEST_RECOVER_DATA"));
  jsync_config_set_database (config, g_getenv ("JSYNC_TEST_RECOVER_DB"));
  coordinator = jsync_coordinator_open (config, &error);
  g_assert_no_error (error);
  jsync_coordinator_set_progress (coordinator, killed_progress,
                                  GUINT_TO_POINTER (kill_at));
  json_object_put (jsync_coordinator_recover (coordinator, NULL,
                                              JSYNC_RECOVER_NONE, &error));
  g_assert_not_reached ();
}

/* SIGKILL between two writes (in CONV, at its end, in WS), then recover
 * again: every line once. */
static void
test_killed (void)
{
  static const guint kill_at[] = { 1, 40, CONV_LOST, CONV_LOST + 2 };

  if (g_test_subprocess ())
    {
      killed_child ();
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (kill_at); i++)
    {
      Fixture fixture = { 0 };
      Fixture *f = &fixture;
      g_autofree char *count = g_strdup_printf ("%u", kill_at[i]);
      g_autofree char *conv = NULL;
      g_autofree char *ws = NULL;
      g_autoptr(JTestRun) run = NULL;
      guint conv_written = MIN (kill_at[i], CONV_LOST);
      guint ws_written = kill_at[i] - conv_written;
      g_autoptr(GPtrArray) ws_lines = NULL;

      g_test_message ("killed after %u line(s)", kill_at[i]);
      fixture_setup (f, NULL);
      ws = read_data (f, WS);
      ws_lines = lines_of (ws);
      g_setenv (KILL_AT_ENV, count, TRUE);
      g_setenv ("JSYNC_TEST_RECOVER_DATA", f->cli.data, TRUE);
      g_setenv ("JSYNC_TEST_RECOVER_DB", f->cli.db, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_failed ();
      /* It wrote exactly that many lines, and was killed. */
      g_free (conv);
      conv = read_data (f, CONV);
      g_assert_cmpuint (count_lines (conv), ==, conv_written);
      g_free (ws);
      ws = read_data (f, WS);
      g_assert_cmpuint (count_lines (ws), ==, ws_lines->len + ws_written);

      run = CLI_RUN_JSON (&f->cli, "recover");
      g_assert_cmpint (run->status, ==, JSYNC_EXIT_OK);
      if (conv_written < CONV_LOST)
        g_assert_cmpuint (json_object_array_length (
                              recovered_ids (run->json, CONV)),
                          ==, CONV_LOST - conv_written);
      else
        g_assert_null (recovered_ids (run->json, CONV));
      assert_each_once (f, CONV, f->conv_lost);
      assert_each_once (f, WS, f->ws_lost);
      g_assert_cmpuint (status_lost (f), ==, 0);
      g_assert_true (fresh_cache_equals (f));
      fixture_teardown (f, NULL);
    }
}

/* --- An app appending meanwhile ------------------------------------------- */

/* After each line recover writes, the app appends one to one of the two
 * logs: none is lost, none torn. */
static void
test_app_appends (Fixture *f, gconstpointer data)
{
  Meanwhile app = { .f = f,
                    .app_lines = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(JsyncCoordinator) coordinator = cli_open (&f->cli);
  g_autoptr(GError) error = NULL;
  g_autoptr(json_object) report = NULL;
  g_autoptr(JsyncResult) synced = NULL;
  g_autofree char *ws = NULL;
  g_autofree char *conv = NULL;
  g_autoptr(GPtrArray) lines = NULL;

  jsync_coordinator_set_progress (coordinator, meanwhile_progress, &app);
  /* The deleted log is back: its sync reads it from its start. */
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         CONV ": read again from the start: *");
  report = jsync_coordinator_recover (coordinator, NULL, JSYNC_RECOVER_NONE,
                                      &error);
  g_assert_no_error (error);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (app.app_lines->len, ==, ALL_LOST);
  jsync_coordinator_set_progress (coordinator, NULL, NULL);

  /* No line lost, none torn: every line a whole event. */
  ws = read_data (f, WS);
  conv = read_data (f, CONV);
  assert_each_once (f, WS, f->ws_lost);
  assert_each_once (f, CONV, f->conv_lost);
  for (guint i = 0; i < app.app_lines->len; i++)
    g_assert_cmpuint (count_line (i % 2 == 0 ? conv : ws,
                                  app.app_lines->pdata[i]), ==, 1);
  lines = lines_of (conv);
  g_assert_cmpuint (lines->len, ==, CONV_LOST + (ALL_LOST + 1) / 2);
  for (guint i = 0; i < lines->len; i++)
    json_object_put (jtest_parse_object (lines->pdata[i]));

  synced = jsync_coordinator_sync (coordinator, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (synced->lost_events->len, ==, 0);
  g_assert_cmpint (cli_sql_int (&f->cli, "SELECT count(*) FROM jsync_events"
                                         " WHERE id LIKE 'app-%'"),
                   ==, ALL_LOST);
  g_assert_cmpuint (status_lost (f), ==, 0);
  g_ptr_array_unref (app.app_lines);
}

/* The tests over the fixture's lost events. */
static const struct
{
  const char *path;
  void (*func) (Fixture *f, gconstpointer data);
  gboolean data;
} recover_tests[] = {
  { "/recover/rewritten-and-deleted", test_recover },
  { "/recover/dry-run", test_dry_run },
  { "/recover/to", test_to },
  { "/recover/usage", test_usage },
  { "/recover/other-body/after", test_other_body, FALSE },
  { "/recover/other-body/first", test_other_body, TRUE },
  { "/recover/app-appends", test_app_appends },
  { "/recover/log-replaced", test_log_replaced },
};

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  for (guint i = 0; i < G_N_ELEMENTS (recover_tests); i++)
    g_test_add (recover_tests[i].path, Fixture,
                GINT_TO_POINTER (recover_tests[i].data), fixture_setup,
                recover_tests[i].func, fixture_teardown);
  g_test_add_func ("/recover/killed", test_killed);
  return g_test_run ();
}
