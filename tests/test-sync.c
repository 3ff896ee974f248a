/* test-sync.c: the sync contract (docs/design.md "The sync contract"),
 * through the library API, with the bundled appliers and the fixture ones.
 *
 * The reference for "what the cache must hold" is a cache built in one
 * batch from scratch: every distinct event applied in key order.  Every
 * incremental path (late devices, conflict copies, torn lines, rewrites,
 * crashes between batches) must end equal to it.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>
#include <sqlite3.h>

#include "jsync-config.h"
#include "jsync-test-core.h"

typedef struct
{
  char *dir;                    /* owned: temp root */
  char *data;                   /* owned: the data folder */
  char *db;                     /* owned */
  guint batch_size;
  char *plugin_path;            /* owned, nullable: JSYNC_PLUGIN_PATH */
  char *bundled;                /* owned, nullable: JSYNC_PLUGIN_PATH at
                                 * setup, put back at teardown */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  jtest_dirs_make (NULL, "jsync-sync", "cache/cache.db", &f->dir, &f->data,
                   &f->db);
  f->batch_size = 1000;
  f->bundled = g_strdup (g_getenv ("JSYNC_PLUGIN_PATH"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  jtest_dirs_free (f->dir, f->data, f->db);
  g_free (f->plugin_path);
  if (f->bundled != NULL)
    g_setenv ("JSYNC_PLUGIN_PATH", f->bundled, TRUE);
  else
    g_unsetenv ("JSYNC_PLUGIN_PATH");
  g_free (f->bundled);
}

static void
write_file (Fixture *f, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (f->data, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
append_file (Fixture *f, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (f->data, relative, NULL);

  jtest_write_text (path, text, TRUE);
}

static JsyncConfig *
fixture_config (Fixture *f, const char *db, guint batch_size)
{
  JsyncConfig *config = jsync_config_new ();

  if (f->plugin_path != NULL)
    g_setenv ("JSYNC_PLUGIN_PATH", f->plugin_path, TRUE);
  jsync_config_set_data_dir (config, f->data);
  jsync_config_set_database (config, db);
  jsync_config_set_batch_size (config, batch_size);
  return config;
}

/* One sync of the fixture's cache; asserts the run itself succeeded. */
static JsyncResult *
fixture_sync (Fixture *f)
{
  g_autoptr(JsyncConfig) config = fixture_config (f, f->db, f->batch_size);

  return jtest_sync (config);
}

static void
fixture_sync_quiet (Fixture *f)
{
  JsyncResult *result = fixture_sync (f);

  jsync_result_free (result);
}

/* A sync that warns once, as `pattern` says (a g_test_expect_message
 * pattern). */
static void
sync_warning (Fixture *f, const char *pattern)
{
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
  fixture_sync_quiet (f);
  g_test_assert_expected_messages ();
}

/* A rebuild in batches of `batch_size` during which an applier rejects an
 * event (the warning `pattern`, once): `applied` events applied, `failed`
 * failed; the library is closed again when it returns. */
static void
rebuild_rejecting (Fixture *f, guint batch_size, const char *pattern,
                   guint applied, guint failed)
{
  g_autoptr(JsyncConfig) config = fixture_config (f, f->db, batch_size);
  g_autoptr(JsyncCoordinator) coordinator = jtest_open (config);
  g_autoptr(JsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, pattern);
  result = jsync_coordinator_rebuild (coordinator, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_cmpuint (result->events_applied, ==, applied);
  g_assert_cmpuint (result->events_failed, ==, failed);
}

/* The result counts `applied` events applied, `skipped` skipped and
 * `failed` failed. */
static void
assert_counts (const JsyncResult *result, guint applied, guint skipped,
               guint failed)
{
  g_assert_cmpuint (result->events_applied, ==, applied);
  g_assert_cmpuint (result->events_skipped, ==, skipped);
  g_assert_cmpuint (result->events_failed, ==, failed);
}

/* One sync, its counts asserted as assert_counts does. */
static void
sync_counts (Fixture *f, guint applied, guint skipped, guint failed)
{
  g_autoptr(JsyncResult) result = fixture_sync (f);

  assert_counts (result, applied, skipped, failed);
}

/* c.jsonl holds `before`, synced, then `after` in its place: the next sync
 * reads it again from its start, warning as `why` says and that events are
 * no longer in it.  (transfer full) */
static JsyncResult *
sync_rewritten (Fixture *f, const char *before, const char *after,
                const char *why)
{
  JsyncResult *result;

  write_file (f, "c.jsonl", before);
  fixture_sync_quiet (f);
  write_file (f, "c.jsonl", after);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, why);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*no longer in it*");
  result = fixture_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (result->files_reread->len, ==, 1);
  return result;
}

static json_object *
dump_db (Fixture *f, const char *db)
{
  g_autoptr(JsyncConfig) config = fixture_config (f, db, 1000);

  return jtest_dump (config);
}

/* The reference: a fresh cache built in one batch, in key order. */
static json_object *
reference_dump (Fixture *f)
{
  g_autofree char *db = g_build_filename (f->dir, "reference",
                                          "reference.db", NULL);
  g_autoptr(JsyncConfig) config = fixture_config (f, db, 1000000);

  g_unlink (db);
  jsync_result_free (jtest_sync (config));
  return jtest_dump (config);
}

static void
assert_json_equal (json_object *actual, json_object *expected)
{
  if (!json_object_equal (actual, expected))
    {
      g_autofree char *a = g_strdup (json_object_to_json_string_ext (actual, JSON_C_TO_STRING_PRETTY));
      g_autofree char *e = g_strdup (json_object_to_json_string_ext (expected, JSON_C_TO_STRING_PRETTY));

      g_test_message ("actual:\n%s\nexpected:\n%s", a, e);
      g_assert_cmpstr (a, ==, e);
    }
}

/* The cache equals the reference, and every FTS index checks out. */
static void
assert_matches_reference (Fixture *f)
{
  json_object *actual = dump_db (f, f->db);
  json_object *expected = reference_dump (f);
  sqlite3 *db = NULL;

  assert_json_equal (actual, expected);
  json_object_put (actual);
  json_object_put (expected);

  g_assert_cmpint (sqlite3_open (f->db, &db), ==, SQLITE_OK);
  for (guint i = 0; i < 3; i++)
    {
      static const char *const fts[] = { "workspace_fts", "conversation_fts",
                                         "message_fts" };
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", fts[i],
          fts[i]);
      char *message = NULL;
      int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

      if (rc != SQLITE_OK && message != NULL
          && strstr (message, "no such table") != NULL)
        rc = SQLITE_OK;
      g_assert_cmpstr (message, ==, NULL);
      g_assert_cmpint (rc, ==, SQLITE_OK);
    }
  sqlite3_close (db);
}

static gint64
query_int (Fixture *f, const char *sql)
{
  return jtest_cache_int (f->db, sql, NULL);
}

static char *
query_text (Fixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value;

  g_assert_cmpint (sqlite3_open (f->db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* --- Event text ------------------------------------------------------- */

static char *
message_line (const char *id, const char *device, gint64 ts,
              const char *conversation, const char *message, const char *text,
              int seq)
{
  return g_strdup_printf (
      "{\"type\":\"message\",\"conversationId\":\"%s\",\"data\":{\"id\":\"%s\","
      "\"role\":\"user\",\"content\":\"%s\",\"sequenceNumber\":%d},"
      "\"id\":\"%s\",\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
      conversation, message, text, seq, id, device, ts);
}

static char *
message_update_line (const char *id, const char *device, gint64 ts,
                     const char *conversation, const char *message,
                     const char *text)
{
  return g_strdup_printf (
      "{\"type\":\"message_updated\",\"conversationId\":\"%s\","
      "\"messageId\":\"%s\",\"data\":{\"content\":\"%s\"},\"id\":\"%s\","
      "\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
      conversation, message, text, id, device, ts);
}

/* --- Tests ------------------------------------------------------------ */

/* The example data gives exactly the expected rows; a second sync applies
 * and reads nothing. */
static void
test_example (Fixture *f, gconstpointer data)
{
  const char *src = jtest_nexus_dir ();
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  g_autofree char *expected_path = NULL;
  g_autofree char *command = NULL;

  g_free (f->data);
  f->data = g_strdup (src);
  first = fixture_sync (f);
  g_assert_cmpuint (first->events_applied, ==, JTEST_NEXUS_EVENTS);
  g_assert_cmpuint (first->events_failed, ==, 0);
  g_assert_cmpuint (first->files_processed->len, ==, JTEST_NEXUS_FILES);
  second = fixture_sync (f);
  assert_counts (second, 0, 0, 0);
  g_assert_cmpuint (second->files_processed->len, ==, 0);
  assert_matches_reference (f);
}

/* The seed's watermark bug: an event from another device that arrives
 * after a sync but carries an older timestamp is applied, in its place in
 * the order. */
static void
test_late_device (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "devA", 1000, "c1",
                                                 "First");
  g_autofree char *msg = message_line ("e2", "devA", 2000, "c1", "m1", "hello", 0);
  g_autofree char *late = message_update_line ("e3", "devB", 1500, "c1", "m1",
                                               "too early");
  g_autofree char *late_msg = message_line ("e4", "devB", 1200, "c1", "m0",
                                            "older", 0);
  g_autoptr(JsyncResult) result = NULL;
  g_autofree char *content = NULL;

  write_file (f, "conversations/conv_c1.jsonl", create);
  append_file (f, "conversations/conv_c1.jsonl", msg);
  fixture_sync_quiet (f);
  /* Device B's file arrives late with older events. */
  write_file (f, "conversations/conv_c1 (1).jsonl", late);
  append_file (f, "conversations/conv_c1 (1).jsonl", late_msg);
  result = fixture_sync (f);
  g_assert_cmpuint (result->events_applied, ==, 2);
  /* The update sorts before m1's create: it changes nothing. */
  content = query_text (f, "SELECT content FROM messages WHERE id = 'm1'");
  g_assert_cmpstr (content, ==, "hello");
  g_assert_cmpint (query_int (f, "SELECT messageCount FROM conversations"), ==, 2);
  g_assert_cmpint (query_int (f, "SELECT updated FROM conversations"), ==, 2000);
  assert_matches_reference (f);
}

/* A partial last line waits; completed, it is applied once. */
static void
test_torn_line (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *msg = message_line ("e2", "d", 2000, "c1", "m1", "hi", 0);
  gsize half = strlen (msg) / 2;
  g_autofree char *head = g_strndup (msg, half);

  write_file (f, "c.jsonl", create);
  append_file (f, "c.jsonl", head);
  sync_counts (f, 1, 0, 0);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM messages"), ==, 0);
  append_file (f, "c.jsonl", msg + half);
  sync_counts (f, 1, 0, 0);
  g_assert_cmpint (query_int (f, "SELECT messageCount FROM conversations"), ==, 1);
  assert_matches_reference (f);
}

/* A conflict copy holds the same events plus its own: each id once. */
static void
test_conflict_copy (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *m1 = message_line ("e2", "d", 2000, "c1", "m1", "one", 0);
  g_autofree char *m2 = message_line ("e3", "d2", 3000, "c1", "m2", "two", 1);
  g_autofree char *base = g_strconcat (create, "\n", m1, NULL);
  g_autofree char *copy = g_strconcat (create, m1, m2, NULL);

  write_file (f, "conv_c1.jsonl", base);
  sync_counts (f, 2, 0, 0);
  write_file (f, "conv_c1.sync-conflict-20250101-120000-ABCDEFG.jsonl", copy);
  sync_counts (f, 1, 2, 0);
  g_assert_cmpint (query_int (f, "SELECT messageCount FROM conversations"), ==, 2);
  assert_matches_reference (f);
}

/* Two copies of one id that differ: the smaller (timestamp, deviceId,
 * bytes) is the event, whichever arrives first. */
static void
test_conflict_differs (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *late_copy = message_line ("e2", "d", 2500, "c1", "m1", "later copy", 0);
  g_autofree char *early_copy = message_line ("e2", "d", 2000, "c1", "m1", "earlier copy", 0);
  g_autoptr(JsyncResult) second = NULL;
  g_autofree char *content = NULL;

  write_file (f, "a.jsonl", create);
  append_file (f, "a.jsonl", late_copy);
  fixture_sync_quiet (f);
  write_file (f, "b.jsonl", early_copy);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  second = fixture_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (second->conflicts, ==, 1);
  content = query_text (f, "SELECT content FROM messages WHERE id = 'm1'");
  g_assert_cmpstr (content, ==, "earlier copy");
  g_assert_cmpint (query_int (f, "SELECT updated FROM conversations"), ==, 2000);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "*differs*");
  assert_matches_reference (f);
  g_test_assert_expected_messages ();
}

/* A file rewritten under the same name is read again from its start, with
 * the reason; what it still holds is not applied twice; what it lost is
 * reported and kept. */
static void
test_rewritten (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *m1 = message_line ("e2", "d", 2000, "c1", "m1", "one", 0);
  g_autofree char *m2 = message_line ("e3", "d", 3000, "c1", "m2", "two", 1);
  g_autofree char *m3 = message_line ("e4", "d", 4000, "c1", "m3", "three", 2);
  g_autofree char *before = g_strconcat (create, m1, m2, NULL);
  g_autofree char *after = g_strconcat (create, m1, m3, "\n", NULL);
  g_autoptr(JsyncResult) result = NULL;
  JsyncLost *lost;

  result = sync_rewritten (f, before, after, "*read again*");
  g_assert_cmpstr (((JsyncReread *) result->files_reread->pdata[0])->file, ==,
                   "c.jsonl");
  assert_counts (result, 1, 2, 0);
  g_assert_cmpuint (result->lost_events->len, ==, 1);
  lost = result->lost_events->pdata[0];
  g_assert_cmpstr (lost->file, ==, "c.jsonl");
  g_assert_cmpuint (lost->ids->len, ==, 1);
  g_assert_cmpstr (lost->ids->pdata[0], ==, "e3");
  /* The lost event's effect stays. */
  g_assert_cmpint (query_int (f, "SELECT messageCount FROM conversations"), ==, 3);
}

/* A truncated file is read again; its events are not applied twice. */
static void
test_truncated (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *m1 = message_line ("e2", "d", 2000, "c1", "m1", "one", 0);
  g_autofree char *both = g_strconcat (create, m1, NULL);
  g_autoptr(JsyncResult) result = NULL;

  result = sync_rewritten (f, both, create, "*shrank*");
  assert_counts (result, 0, 1, 0);
}

/* Bad lines are recorded with file, line, offset and reason; the good
 * ones around them are applied; nothing is reported twice. */
static void
test_bad_lines (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *text = g_strconcat (
      create, "{not json\n",
      "{\"type\":\"message\",\"id\":\"e9\",\"deviceId\":\"d\",\"timestamp\":\"x\"}\n",
      "{\"type\":\"message\",\"conversationId\":\"c1\",\"data\":{\"role\":\"user\"},"
      "\"id\":\"e10\",\"deviceId\":\"d\",\"timestamp\":5}\n",
      NULL);
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  JsyncEventError *e;

  write_file (f, "c.jsonl", text);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "c.jsonl:2: not valid JSON*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "c.jsonl:3: timestamp*");
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "c.jsonl:4: conversation: *data.id*");
  first = fixture_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (first->events_applied, ==, 1);
  g_assert_cmpuint (first->events_failed, ==, 3);
  g_assert_false (first->success);
  e = first->errors->pdata[1];
  g_assert_cmpstr (e->file, ==, "c.jsonl");
  g_assert_cmpuint (e->line, ==, 3);
  g_assert_cmpuint (e->offset, ==, strlen (create) + strlen ("{not json\n"));
  g_assert_cmpstr (e->id, ==, "e9");
  e = first->errors->pdata[2];
  g_assert_cmpstr (e->id, ==, "e10");
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM jsync_failed WHERE raw IS NOT NULL"), ==, 3);
  second = fixture_sync (f);
  g_assert_cmpuint (second->events_failed, ==, 0);
  g_assert_true (second->success);
}

/* A log that cannot be read is reported and skipped; the others are
 * applied; once readable, it is read from where it was. */
static void
test_unreadable (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *other = jtest_metadata_line ("e2", "d", 1000, "c2", "U");
  g_autofree char *path = g_build_filename (f->data, "a.jsonl", NULL);
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root reads files whatever their mode");
      return;
    }
  write_file (f, "a.jsonl", create);
  write_file (f, "b.jsonl", other);
  g_assert_cmpint (g_chmod (path, 0), ==, 0);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING, "a.jsonl: cannot be read*");
  first = fixture_sync (f);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (first->files_failed, ==, 1);
  g_assert_false (first->success);
  g_assert_cmpuint (first->events_applied, ==, 1);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  second = fixture_sync (f);
  g_assert_cmpuint (second->files_failed, ==, 0);
  g_assert_cmpuint (second->events_applied, ==, 1);
  assert_matches_reference (f);
}

typedef struct
{
  char *victim;                 /* owned: absolute path of the log */
  char *saved;                  /* owned: its bytes, to put back */
  guint calls;
} Vanish;

/* Once the scan has decided what to read, before any log is opened: the
 * victim goes, so the run records it but cannot read it. */
static void
vanish_progress (const JsyncProgress *progress, gpointer user_data)
{
  Vanish *v = user_data;
  g_autoptr(GError) error = NULL;

  if (strcmp (progress->phase, "scan") != 0 || progress->bytes_total == 0
      || v->calls++ > 0)
    return;
  g_file_get_contents (v->victim, &v->saved, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_unlink (v->victim), ==, 0);
}

/* A log the cache records but never read (its checkpoint still at byte 0:
 * it could not be read in the run that found it) is read normally at the
 * next run, not "read again from the start" (regression: the hash of its
 * zero bytes before the checkpoint was compared with the one never
 * stored).  Works as root, unlike a mode that forbids reading. */
static void
test_recorded_never_read (Fixture *f, gconstpointer data)
{
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *other = jtest_metadata_line ("e2", "d", 1000, "c2", "U");
  g_autoptr(JsyncConfig) config = NULL;
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  g_autoptr(GError) error = NULL;
  Vanish v = { .victim = g_build_filename (f->data, "b.jsonl", NULL) };

  write_file (f, "a.jsonl", create);
  write_file (f, "b.jsonl", other);
  config = fixture_config (f, f->db, f->batch_size);
  coordinator = jtest_open (config);
  jsync_coordinator_set_progress (coordinator, vanish_progress, &v);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "b.jsonl: cannot be read*");
  first = jsync_coordinator_sync (coordinator, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_clear_pointer (&coordinator, jsync_coordinator_free);
  g_assert_cmpuint (v.calls, >, 0);
  g_assert_cmpuint (first->files_failed, ==, 1);
  g_assert_false (first->success);
  g_assert_cmpuint (first->events_applied, ==, 1);
  /* The situation: b recorded, its checkpoint at 0. */
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM jsync_sources"
                                 " WHERE path = 'b.jsonl' AND offset = 0"),
                   ==, 1);

  /* b comes back as it was: read from its start, as a new log is, with
   * no warning (one would be fatal here) and not listed as read again. */
  write_file (f, "b.jsonl", v.saved);
  second = fixture_sync (f);
  g_assert_cmpuint (second->files_failed, ==, 0);
  g_assert_true (second->success);
  g_assert_cmpuint (second->files_reread->len, ==, 0);
  assert_counts (second, 1, 0, 0);
  g_assert_cmpuint (second->files_processed->len, ==, 1);
  g_assert_cmpstr (second->files_processed->pdata[0], ==, "b.jsonl");
  assert_matches_reference (f);
  g_free (v.victim);
  g_free (v.saved);
}

/* A crash between batches leaves the last committed batch; the next run
 * ends where a rebuild does, nothing applied twice. */
static void
crash_progress (const JsyncProgress *progress, gpointer user_data)
{
  guint *batches = user_data;

  if (strcmp (progress->phase, "read") == 0
      && progress->bytes_done < progress->bytes_total && ++*batches == 2)
    _exit (0);
}

static void
test_crash_between_batches (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (int c = 0; c < 3; c++)
    {
      g_autofree char *conv = g_strdup_printf ("c%d", c);
      g_autofree char *create = jtest_metadata_line (conv, "d", 1000 + c,
                                                     conv, "T");

      g_string_append (text, create);
      for (int m = 0; m < 10; m++)
        {
          g_autofree char *id = g_strdup_printf ("e%d-%d", c, m);
          g_autofree char *mid = g_strdup_printf ("m%d-%d", c, m);
          g_autofree char *line = message_line (id, m % 2 ? "a" : "b",
                                                2000 + 10 * m - c, conv, mid,
                                                "text", m);

          g_string_append (text, line);
        }
    }
  if (g_test_subprocess ())
    {
      /* The parent's folders, not this process's own fixture. */
      const char *dir = g_getenv ("JSYNC_TEST_CRASH_DIR");
      g_autoptr(JsyncConfig) config = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsyncCoordinator) coordinator = NULL;
      guint batches = 0;

      g_assert_nonnull (dir);
      g_free (f->data);
      g_free (f->db);
      f->data = g_build_filename (dir, "data", NULL);
      f->db = g_build_filename (dir, "cache", "cache.db", NULL);
      config = fixture_config (f, f->db, 4);
      coordinator = jtest_open (config);
      jsync_coordinator_set_progress (coordinator, crash_progress, &batches);
      jsync_result_free (jsync_coordinator_sync (coordinator, &error));
      g_assert_not_reached ();
    }
  write_file (f, "all.jsonl", text->str);
  g_setenv ("JSYNC_TEST_CRASH_DIR", f->dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  /* The child committed some batches, not all. */
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM jsync_events"), >, 0);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM jsync_events"), <, 33);
  f->batch_size = 4;
  fixture_sync_quiet (f);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM jsync_events"), ==, 33);
  g_assert_cmpint (query_int (f, "SELECT sum(messageCount) FROM conversations"), ==, 30);
  assert_matches_reference (f);
}

/* Copy one fixture module from the build folder `from` into a folder of
 * its own under the fixture; returns that folder. */
static char *
copy_module (Fixture *f, const char *from, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  g_autofree char *src = g_test_build_filename (G_TEST_BUILT, from, file, NULL);
  g_autofree char *folder = g_build_filename (f->dir, "modules", from, NULL);
  g_autofree char *dst = g_build_filename (folder, file, NULL);
  g_autofree char *bytes = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_file_get_contents (src, &bytes, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (dst, bytes, length, G_FILE_SET_CONTENTS_NONE,
                            0755, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&folder);
}

/* The plugin path of the next runs becomes a folder of its own holding a
 * copy of the fixture module `name` from `from`. */
static void
use_module (Fixture *f, const char *from, const char *name)
{
  g_free (f->plugin_path);
  f->plugin_path = copy_module (f, from, name);
}

/* Events nothing takes wait as pending and are applied once an applier
 * for them appears; an applier's schema version change rebuilds its
 * tables alone and re-applies its events. */
static void
test_pending_and_upgrade (Fixture *f, gconstpointer data)
{
  g_autofree char *fixtures = copy_module (f, "plugins", "echo");
  g_autofree char *v2 = copy_module (f, "plugins/v2", "echo");
  g_autofree char *create = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autoptr(JsyncResult) first = NULL;
  g_autoptr(JsyncResult) second = NULL;
  g_autoptr(JsyncResult) third = NULL;
  g_autofree char *note = NULL;

  write_file (f, "x.jsonl",
              "{\"type\":\"echo_a\",\"id\":\"x1\",\"deviceId\":\"d\",\"timestamp\":1,\"data\":{\"n\":1}}\n"
              "{\"type\":\"echo_b\",\"id\":\"x2\",\"deviceId\":\"d\",\"timestamp\":2}\n");
  write_file (f, "c.jsonl", create);
  f->plugin_path = g_strdup (f->bundled);
  first = fixture_sync (f);
  g_assert_cmpuint (first->events_applied, ==, 1);
  g_assert_cmpuint (first->events_pending, ==, 2);
  g_assert_true (first->success);

  /* echo appears: it catches up on history. */
  g_free (f->plugin_path);
  f->plugin_path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, f->bundled, fixtures, NULL);
  second = fixture_sync (f);
  g_assert_cmpuint (second->events_applied, ==, 2);
  g_assert_cmpuint (second->events_pending, ==, 0);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM echo_events"), ==, 2);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM conversations"), ==, 1);

  /* echo's schema version 2: its table is rebuilt, its events re-applied. */
  g_free (f->plugin_path);
  f->plugin_path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, f->bundled, v2, NULL);
  third = fixture_sync (f);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM echo_events"), ==, 2);
  note = query_text (f, "SELECT note FROM echo_events LIMIT 1");
  g_assert_cmpstr (note, ==, "v2");
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM conversations"), ==, 1);
}

/* A failed event stays recorded (and listed by status) when its file is
 * read again, and an event its applier rejects only when a stream is
 * re-applied is recorded too. */
static gint64
failed_rows (Fixture *f, const char *id)
{
  return jtest_cache_int (f->db, "SELECT count(*) FROM jsync_failed"
                                 " WHERE event_id = ?", id);
}

static void
test_failed_kept (Fixture *f, gconstpointer data)
{
  static const char bad[] =
      "{\"type\":\"reject_x\",\"id\":\"r1\",\"deviceId\":\"d\",\"timestamp\":10,\"data\":{\"bad\":true}}\n";
  static const char good[] =
      "{\"type\":\"reject_x\",\"id\":\"r2\",\"deviceId\":\"d\",\"timestamp\":30,\"data\":{}}\n";
  static const char late[] =
      "{\"type\":\"reject_x\",\"id\":\"r0\",\"deviceId\":\"d\",\"timestamp\":20,\"data\":{}}\n";
  g_autofree char *both = g_strconcat (bad, good, NULL);
  g_autofree char *rewritten = g_strconcat (good, bad, NULL);

  /* The lenient variant takes r1; the strict one, swapped in, rejects it
   * when r0's arrival makes the applier's events re-applied. */
  use_module (f, "plugins/fixed", "reject");
  write_file (f, "r.jsonl", both);
  fixture_sync_quiet (f);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events"), ==, 2);
  use_module (f, "plugins", "reject");
  write_file (f, "late.jsonl", late);
  sync_warning (f, "r.jsonl:1: reject: rejected*");
  g_assert_cmpint (failed_rows (f, "r1"), ==, 1);
  g_assert_cmpint (query_int (f, "SELECT status FROM jsync_events WHERE id = 'r1'"), ==, 2);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events"), ==, 2);

  /* The file rewritten (same events, other order): read again, the failed
   * event is still recorded once. */
  write_file (f, "r.jsonl", rewritten);
  sync_warning (f, "*read again*");
  g_assert_cmpint (failed_rows (f, "r1"), ==, 1);
}

/* A rejected event's writes are undone in a rebuild as in a sync, whatever
 * else shares its batch (regression: the rebuild's file had no journal, so
 * a rejection left the rows its applier had written). */
static void
test_rebuild_rejected_rolled_back (Fixture *f, gconstpointer data)
{
  static const char lines[] =
      "{\"type\":\"reject_x\",\"id\":\"r1\",\"deviceId\":\"d\",\"timestamp\":10,\"data\":{}}\n"
      "{\"type\":\"reject_x\",\"id\":\"r2\",\"deviceId\":\"d\",\"timestamp\":20,\"data\":{\"bad\":true}}\n"
      "{\"type\":\"reject_x\",\"id\":\"r3\",\"deviceId\":\"d\",\"timestamp\":30,\"data\":{}}\n";

  use_module (f, "plugins", "reject");
  write_file (f, "r.jsonl", lines);
  rebuild_rejecting (f, 1000, "r.jsonl:2: reject: rejected*", 2, 1);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events"), ==, 2);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events WHERE id = 'r2'"), ==, 0);
  g_assert_cmpint (failed_rows (f, "r2"), ==, 1);

  /* And in an incremental sync of the same lines, into a new cache. */
  for (guint i = 0; i < 3; i++)
    {
      static const char *const suffixes[] = { "", "-wal", "-shm" };
      g_autofree char *path = g_strconcat (f->db, suffixes[i], NULL);

      g_remove (path);
    }
  sync_warning (f, "r.jsonl:2: reject: rejected*");
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events"), ==, 2);
  g_assert_cmpint (failed_rows (f, "r2"), ==, 1);
}

/* A rebuild replays a stream found in two logs once, at its end; an event
 * that was only recorded until then and that its applier rejects in that
 * replay counts as failed, not also as applied, and leaves no row. */
static void
test_rebuild_deferred_rejected (Fixture *f, gconstpointer data)
{
  static const char first[] =
      "{\"type\":\"reject_x\",\"id\":\"r1\",\"deviceId\":\"d\",\"timestamp\":10,\"data\":{}}\n"
      "{\"type\":\"reject_x\",\"id\":\"r4\",\"deviceId\":\"d\",\"timestamp\":40,\"data\":{}}\n";
  static const char second[] =
      "{\"type\":\"reject_x\",\"id\":\"r2\",\"deviceId\":\"e\",\"timestamp\":20,\"data\":{}}\n"
      "{\"type\":\"reject_x\",\"id\":\"r3\",\"deviceId\":\"e\",\"timestamp\":30,\"data\":{\"bad\":true}}\n";

  use_module (f, "plugins", "reject");
  write_file (f, "a.jsonl", first);
  write_file (f, "b.jsonl", second);
  /* Batches of one: b.jsonl's events sort before a.jsonl's last. */
  rebuild_rejecting (f, 1, "b.jsonl:2: reject: rejected*", 3, 1);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events"), ==, 3);
  g_assert_cmpint (query_int (f, "SELECT count(*) FROM reject_events WHERE id = 'r3'"), ==, 0);
  g_assert_cmpint (failed_rows (f, "r3"), ==, 1);
  g_assert_cmpint (query_int (f, "SELECT status FROM jsync_events WHERE id = 'r3'"), ==, 2);
}

/* The lines of the rebuild cases: c1 made, then its messages m1 and m2.
 * (transfer full) */
static GStrv
rebuild_lines (void)
{
  char **lines = g_new0 (char *, 4);

  lines[0] = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  lines[1] = message_line ("e2", "d", 2000, "c1", "m1", "one", 0);
  lines[2] = message_line ("e3", "d", 3000, "c1", "m2", "two", 1);
  return lines;
}

/* The messages of c1 in the cache at `db`. */
static gint64
rebuild_messages (const char *db)
{
  return jtest_cache_int (db, "SELECT messageCount FROM conversations", NULL);
}

/* A rebuild of the fixture's cache, keeping the old one or not; asserts
 * that it succeeded.  (transfer full) */
static JsyncResult *
rebuild_fixture (Fixture *f, gboolean keep_previous)
{
  g_autoptr(JsyncConfig) config = fixture_config (f, f->db, 1000);
  g_autoptr(JsyncCoordinator) coordinator = NULL;
  g_autoptr(GError) error = NULL;
  JsyncResult *result;

  jsync_config_set_keep_previous (config, keep_previous);
  coordinator = jtest_open (config);
  result = jsync_coordinator_rebuild (coordinator, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

/* Rebuild builds a new file and swaps it in; by default the old one is
 * removed, while a reader that has it open goes on reading it. */
static void
test_rebuild (Fixture *f, gconstpointer data)
{
  g_auto(GStrv) lines = rebuild_lines ();
  g_autofree char *both = g_strconcat (lines[0], lines[1], NULL);
  g_autofree char *previous = g_strconcat (f->db, ".previous", NULL);
  g_autofree char *previous_wal = g_strconcat (previous, "-wal", NULL);
  g_autoptr(JsyncResult) result = NULL;
  sqlite3 *reader = NULL;
  sqlite3_stmt *stmt = NULL;

  write_file (f, "c.jsonl", both);
  fixture_sync_quiet (f);
  /* A reader in the middle of a read of the old cache. */
  g_assert_cmpint (sqlite3_open_v2 (f->db, &reader, SQLITE_OPEN_READONLY,
                                    NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (reader, "BEGIN", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (reader,
                                       "SELECT messageCount FROM conversations",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_reset (stmt);

  append_file (f, "c.jsonl", lines[2]);
  result = rebuild_fixture (f, FALSE);
  g_assert_cmpuint (result->events_applied, ==, 3);
  g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (previous_wal, G_FILE_TEST_EXISTS));
  assert_matches_reference (f);

  /* The reader still sees the old cache, whole, until it lets it go; the
   * path now names the new one. */
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (reader, "COMMIT", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_close (reader), ==, SQLITE_OK);
  g_assert_cmpint (rebuild_messages (f->db), ==, 2);
  assert_matches_reference (f);
}

/* keep-previous keeps the replaced cache, whole, as "<db>.previous". */
static void
test_rebuild_keep_previous (Fixture *f, gconstpointer data)
{
  g_auto(GStrv) lines = rebuild_lines ();
  g_autofree char *both = g_strconcat (lines[0], lines[1], NULL);
  g_autofree char *previous = g_strconcat (f->db, ".previous", NULL);
  g_autoptr(JsyncResult) result = NULL;

  write_file (f, "c.jsonl", both);
  fixture_sync_quiet (f);
  append_file (f, "c.jsonl", lines[2]);
  result = rebuild_fixture (f, TRUE);
  g_assert_cmpuint (result->events_applied, ==, 3);
  g_assert_true (g_file_test (previous, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (rebuild_messages (previous), ==, 1);
  g_assert_cmpint (rebuild_messages (f->db), ==, 2);
  assert_matches_reference (f);
}

/* The messages of c1 in the file at `db` alone, without its write-ahead
 * log: what a connection that opens the file without the log reads. */
static gint64
rebuild_messages_in_file (Fixture *f, const char *db)
{
  g_autofree char *alone = g_build_filename (f->dir, "alone.db", NULL);
  g_autofree char *alone_wal = g_strconcat (alone, "-wal", NULL);
  gint64 messages;

  g_unlink (alone_wal);
  jtest_copy_file (db, alone, 0644);
  messages = rebuild_messages (alone);
  g_unlink (alone);
  return messages;
}

/* The swap takes the old file's write-ahead log away with it (removed, or
 * renamed with keep-previous): a reader that opens the cache just before
 * the rename reads the old file without its log.  So the old file first
 * gets every write committed to it, even those a reader kept in the log
 * (its open connection stops the last writer's close from folding them
 * in). */
static void
test_rebuild_folds_log (Fixture *f, gconstpointer data)
{
  g_auto(GStrv) lines = rebuild_lines ();
  g_autofree char *both = g_strconcat (lines[0], lines[1], NULL);
  g_autofree char *previous = g_strconcat (f->db, ".previous", NULL);
  g_autoptr(JsyncResult) result = NULL;
  sqlite3 *reader = NULL;

  write_file (f, "c.jsonl", both);
  fixture_sync_quiet (f);
  g_assert_cmpint (sqlite3_open_v2 (f->db, &reader, SQLITE_OPEN_READONLY,
                                    NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (reader, "SELECT count(*) FROM jsync_events",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  append_file (f, "c.jsonl", lines[2]);
  fixture_sync_quiet (f);
  /* The second message is in the log only. */
  g_assert_cmpint (rebuild_messages (f->db), ==, 2);
  g_assert_cmpint (rebuild_messages_in_file (f, f->db), ==, 1);

  result = rebuild_fixture (f, TRUE);
  g_assert_cmpint (rebuild_messages_in_file (f, previous), ==, 2);
  g_assert_cmpint (rebuild_messages (f->db), ==, 2);
  sqlite3_close (reader);
}

/* A cache that holds lost events is kept by a rebuild whatever
 * keep-previous says: it is the only place left of them. */
static void
test_rebuild_keeps_lost (Fixture *f, gconstpointer data)
{
  g_auto(GStrv) lines = rebuild_lines ();
  g_autofree char *all = g_strjoinv ("", lines);
  g_autofree char *both = g_strconcat (lines[0], lines[1], NULL);
  g_autofree char *previous = g_strconcat (f->db, ".previous", NULL);
  g_autoptr(JsyncResult) synced = NULL;
  g_autoptr(JsyncResult) result = NULL;

  synced = sync_rewritten (f, all, both, "*shrank*");
  g_assert_cmpuint (synced->lost_events->len, ==, 1);
  g_test_expect_message ("jsync", G_LOG_LEVEL_WARNING,
                         "rebuild: 1 event(s)*kept as*.previous");
  result = rebuild_fixture (f, FALSE);
  g_test_assert_expected_messages ();
  g_assert_true (g_file_test (previous, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (rebuild_messages (previous), ==, 2);
  g_assert_cmpint (rebuild_messages (f->db), ==, 1);
}

/* --- Folders listed once --------------------------------------------- */

/* When the folder `path` was last listed, by its row of jsync_folders; 0
 * when it has none. */
static gint64
folder_listed (Fixture *f, const char *path)
{
  return jtest_cache_int (f->db,
                          "SELECT coalesce ((SELECT listed FROM jsync_folders"
                          " WHERE path = ?1), 0)",
                          path);
}

/* Make the listing of the folder `path` say what a file system whose clock
 * did not tick would: its times are the folder's as they are now; and it
 * was made `after` ns after them (trusted beyond SCAN_FOLDER_MARGIN_NS,
 * 2 s). */
static void
folder_doctor (Fixture *f, const char *path, gint64 after)
{
  g_autofree char *abs = g_build_filename (f->data, path, NULL);
  g_autofree char *sql = NULL;
  struct stat st;
  gint64 mtime, ctime;
  sqlite3 *db = NULL;

  g_assert_cmpint (stat (abs, &st), ==, 0);
  mtime = st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
          + st.st_mtim.tv_nsec;
  ctime = st.st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000)
          + st.st_ctim.tv_nsec;
  sql = g_strdup_printf ("UPDATE jsync_folders SET mtime = %" G_GINT64_FORMAT
                         ", ctime = %" G_GINT64_FORMAT ", listed = %"
                         G_GINT64_FORMAT " WHERE path = '%s'",
                         mtime, ctime, ctime + after, path);
  g_assert_cmpint (sqlite3_open (f->db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_close (db);
}

/* Sync, then again once the folders' changes are older than any clock's
 * tick (2 s): their listings are trusted from then on. */
static void
sync_until_trusted (Fixture *f)
{
  fixture_sync_quiet (f);
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);
  fixture_sync_quiet (f);
}

/* A folder that did not change is not listed again, but its logs are
 * still looked at: one that grew is read.  A new log, a conflict copy, a
 * new folder make their folder listed again, and are found. */
static void
test_folders_unlisted (Fixture *f, gconstpointer data)
{
  g_autofree char *c1 = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *c2 = jtest_metadata_line ("e2", "d", 1100, "c2", "T");
  g_autofree char *m1 = message_line ("e3", "d", 2000, "c2", "m1", "one", 0);
  g_autofree char *m2 = message_line ("e4", "d", 3000, "c2", "m2", "two", 1);
  g_autofree char *c3 = jtest_metadata_line ("e5", "d", 4000, "c3", "T");
  g_autofree char *c4 = jtest_metadata_line ("e6", "d", 5000, "c4", "T");
  g_autofree char *copy = g_strconcat (c2, m1, m2, NULL);
  gint64 root, sub, deep;

  write_file (f, "top.jsonl", c1);
  write_file (f, "sub/deep/c.jsonl", c2);
  sync_until_trusted (f);
  root = folder_listed (f, "");
  sub = folder_listed (f, "sub");
  deep = folder_listed (f, "sub/deep");
  g_assert_cmpint (deep, >, 0);

  append_file (f, "sub/deep/c.jsonl", m1);
  sync_counts (f, 1, 0, 0);
  g_assert_cmpint (folder_listed (f, ""), ==, root);
  g_assert_cmpint (folder_listed (f, "sub"), ==, sub);
  g_assert_cmpint (folder_listed (f, "sub/deep"), ==, deep);

  write_file (f, "sub/deep/d.jsonl", c3);
  sync_counts (f, 1, 0, 0);
  g_assert_cmpint (folder_listed (f, "sub/deep"), >, deep);
  g_assert_cmpint (folder_listed (f, "sub"), ==, sub);

  write_file (f, "sub/deep/c.sync-conflict-20250101-120000-ABCDEFG.jsonl",
              copy);
  sync_counts (f, 1, 2, 0);
  write_file (f, "sub/new/e.jsonl", c4);
  sync_counts (f, 1, 0, 0);
  g_assert_cmpint (folder_listed (f, "sub/new"), >, 0);
  assert_matches_reference (f);
}

/* A change within the tick of the listing's clock, which leaves the
 * folder's times as recorded, is found: such a listing is not trusted. */
static void
test_folders_racy (Fixture *f, gconstpointer data)
{
  g_autofree char *c1 = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *c2 = jtest_metadata_line ("e2", "d", 2000, "c2", "T");
  g_autofree char *c3 = jtest_metadata_line ("e3", "d", 3000, "c3", "T");

  write_file (f, "sub/a.jsonl", c1);
  fixture_sync_quiet (f);
  write_file (f, "sub/b.jsonl", c2);
  folder_doctor (f, "sub", 0);
  sync_counts (f, 1, 0, 0);

  /* The same listing made 3 s after those times would be trusted: b was
   * found by the margin alone, and nothing else. */
  write_file (f, "sub/c.jsonl", c3);
  folder_doctor (f, "sub", 3 * G_TIME_SPAN_SECOND * 1000);
  sync_counts (f, 0, 0, 0);
}

/* A folder renamed or replaced is listed again: by its name, its inode. */
static void
test_folders_moved (Fixture *f, gconstpointer data)
{
  g_autofree char *c1 = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *c2 = jtest_metadata_line ("e2", "d", 2000, "c2", "T");
  g_autofree char *sub = g_build_filename (f->data, "sub", NULL);
  g_autofree char *moved = g_build_filename (f->data, "moved", NULL);
  g_autofree char *other = g_build_filename (f->data, "other", NULL);
  g_autoptr(JsyncResult) result = NULL;

  write_file (f, "sub/a.jsonl", c1);
  sync_until_trusted (f);
  g_assert_cmpint (folder_listed (f, "sub"), >, 0);

  g_assert_cmpint (g_rename (sub, moved), ==, 0);
  result = fixture_sync (f);
  assert_counts (result, 0, 1, 0);
  g_assert_cmpuint (result->lost_events->len, ==, 0);
  g_assert_cmpint (folder_listed (f, "sub"), ==, 0);
  g_assert_cmpint (folder_listed (f, "moved"), >, 0);

  /* Another folder in its place, its times as the listing says. */
  write_file (f, "other/b.jsonl", c2);
  jtest_tree_remove (moved);
  g_assert_cmpint (g_rename (other, moved), ==, 0);
  folder_doctor (f, "moved", 3 * G_TIME_SPAN_SECOND * 1000);
  g_clear_pointer (&result, jsync_result_free);
  result = fixture_sync (f);
  assert_counts (result, 1, 0, 0);
}

/* The scan follows no symbolic link, and says so at every sync, from a
 * folder's listing too. */
static void
test_folders_symlink (Fixture *f, gconstpointer data)
{
  g_autofree char *c1 = jtest_metadata_line ("e1", "d", 1000, "c1", "T");
  g_autofree char *link = g_build_filename (f->data, "sub", "link.jsonl",
                                            NULL);
  gint64 listed;

  write_file (f, "sub/a.jsonl", c1);
  g_assert_cmpint (symlink ("a.jsonl", link), ==, 0);
  sync_warning (f, "*link.jsonl: skipped: a symbolic link");
  g_usleep (2100 * G_TIME_SPAN_MILLISECOND);
  sync_warning (f, "*link.jsonl: skipped: a symbolic link");
  listed = folder_listed (f, "sub");
  sync_warning (f, "*link.jsonl: skipped: a symbolic link");
  g_assert_cmpint (folder_listed (f, "sub"), ==, listed);
}

/* --- Convergence: random multi-device histories ------------------------ */

typedef struct
{
  char *line;                 /* owned */
  const char *file;           /* interned: a few names, each used often */
} Planned;

static void
planned_free (gpointer data)
{
  Planned *p = data;

  g_free (p->line);
  g_free (p);
}

/* A random history of two conversations and a workspace written by three
 * devices with skewed clocks. */
static GPtrArray *
random_history (GRand *rand)
{
  static const char *const devices[] = { "dev-a", "dev-b", "dev-c" };
  static const gint64 skew[] = { 0, 700, -400 };
  GPtrArray *events = g_ptr_array_new_with_free_func (planned_free);
  int n = g_rand_int_range (rand, 15, 40);
  int next_id = 0;

  for (int i = 0; i < n; i++)
    {
      int d = g_rand_int_range (rand, 0, 3);
      gint64 ts = 10000 + i * 100 + skew[d] + g_rand_int_range (rand, 0, 300);
      int c = g_rand_int_range (rand, 0, 3);
      g_autofree char *id = g_strdup_printf ("ev%03d", next_id++);
      g_autofree char *conv = g_strdup_printf ("c%d", c);
      g_autofree char *msg = g_strdup_printf ("c%d-m%d", c, g_rand_int_range (rand, 0, 4));
      Planned *p = g_new0 (Planned, 1);
      int kind = g_rand_int_range (rand, 0, 100);

      /* Each line but a metadata one: `body` (the event without its
       * closing brace), then the envelope. */
      g_autofree char *body = NULL;

      if (c == 2)
        {
          /* The workspace stream. */
          g_autofree char *session = g_strdup_printf ("s%d", g_rand_int_range (rand, 0, 2));

          if (kind < 20)
            body = g_strdup_printf (
                "{\"type\":\"workspace_created\",\"data\":{\"id\":\"w\",\"name\":\"W%d\","
                "\"rootFolder\":\"r\",\"created\":%" G_GINT64_FORMAT "}", i, ts);
          else if (kind < 40)
            body = g_strdup_printf (
                "{\"type\":\"session_created\",\"workspaceId\":\"w\",\"data\":{\"id\":\"%s\","
                "\"name\":\"S%d\"}", session, i);
          else if (kind < 60)
            body = g_strdup_printf (
                "{\"type\":\"session_updated\",\"workspaceId\":\"w\",\"sessionId\":\"%s\","
                "\"data\":{\"name\":\"U%d\",\"isActive\":false}", session, i);
          else if (kind < 75)
            body = g_strdup_printf (
                "{\"type\":\"workspace_updated\",\"workspaceId\":\"w\",\"data\":{\"name\":\"N%d\","
                "\"description\":\"desc %d\"}", i, i);
          else if (kind < 90)
            body = g_strdup_printf (
                "{\"type\":\"trace_added\",\"workspaceId\":\"w\",\"sessionId\":\"%s\","
                "\"data\":{\"id\":\"t%d\",\"content\":\"trace %d\"}", session, i, i);
          else
            body = g_strdup ("{\"type\":\"workspace_deleted\",\"workspaceId\":\"w\"");
          p->file = g_intern_static_string ("workspaces/ws_w.jsonl");
        }
      else
        {
          if (kind < 20)
            {
              g_autofree char *title = g_strdup_printf ("T%d", i);

              p->line = jtest_metadata_line (id, devices[d], ts, conv, title);
            }
          else if (kind < 55)
            body = g_strdup_printf (
                "{\"type\":\"message\",\"conversationId\":\"%s\",\"data\":{\"id\":\"%s\","
                "\"role\":\"user\",\"content\":\"word%d text\",\"sequenceNumber\":%d}",
                conv, msg, i, i);
          else if (kind < 75)
            body = g_strdup_printf (
                "{\"type\":\"message_updated\",\"conversationId\":\"%s\",\"messageId\":\"%s\","
                "\"data\":{\"content\":\"edit%d\",\"state\":\"complete\"}", conv, msg, i);
          else if (kind < 85)
            body = g_strdup_printf (
                "{\"type\":\"conversation_updated\",\"conversationId\":\"%s\","
                "\"data\":{\"title\":\"R%d\",\"updated\":%" G_GINT64_FORMAT "}",
                conv, i, ts + 5);
          else if (kind < 93)
            body = g_strdup_printf (
                "{\"type\":\"message_deleted\",\"conversationId\":\"%s\",\"messageId\":\"%s\"",
                conv, msg);
          else
            body = g_strdup_printf (
                "{\"type\":\"conversation_deleted\",\"conversationId\":\"%s\"", conv);
          /* Each device writes its own copy of the conversation file. */
          {
            g_autofree char *file = g_strdup_printf (
                "conversations/conv_%s%s.jsonl", conv,
                d == 0 ? "" : d == 1 ? " (1)" : ".sync-conflict-x");

            p->file = g_intern_string (file);
          }
        }
      if (body != NULL)
        p->line = g_strdup_printf (
            "%s,\"id\":\"%s\",\"deviceId\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT "}\n",
            body, id, devices[d], ts);
      g_ptr_array_add (events, p);
    }
  return events;
}

/* Deliver a random history in random chunks and orders, with syncs (in
 * small batches) between, duplicates and torn lines; the cache must end
 * equal to the reference every time. */
static void
test_convergence (Fixture *f, gconstpointer data)
{
  const char *scale_text = g_getenv ("JSYNC_TEST_SCALE");
  double scale = scale_text != NULL ? g_ascii_strtod (scale_text, NULL) : 1.0;
  guint seeds = g_test_slow () ? 400 : 60;

  /* The sanitizer and valgrind passes of CI scale the work down (the
   * thousands of scenarios are test-convergence's). */
  if (scale > 0 && scale < 1)
    seeds = MAX (5, (guint) (seeds * scale));

  for (guint seed = 1; seed <= seeds; seed++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr(GPtrArray) events = random_history (rand);
      g_autofree char *torn_file = NULL;
      g_autofree char *torn_rest = NULL;

      g_test_message ("seed %u", seed);
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
      f->batch_size = g_rand_int_range (rand, 1, 6);
      /* Shuffle the delivery order. */
      for (guint i = events->len; i > 1; i--)
        {
          guint j = g_rand_int_range (rand, 0, i);
          gpointer tmp = events->pdata[i - 1];

          events->pdata[i - 1] = events->pdata[j];
          events->pdata[j] = tmp;
        }
      for (guint i = 0; i < events->len;)
        {
          guint chunk = g_rand_int_range (rand, 1, 8);

          for (; chunk > 0 && i < events->len; chunk--, i++)
            {
              Planned *p = events->pdata[i];

              if (torn_file != NULL && strcmp (torn_file, p->file) == 0)
                {
                  append_file (f, torn_file, torn_rest);
                  g_clear_pointer (&torn_file, g_free);
                  g_clear_pointer (&torn_rest, g_free);
                }
              if (torn_file == NULL && g_rand_int_range (rand, 0, 10) == 0)
                {
                  gsize cut = g_rand_int_range (rand, 1, strlen (p->line) - 1);
                  g_autofree char *head = g_strndup (p->line, cut);

                  append_file (f, p->file, head);
                  torn_file = g_strdup (p->file);
                  torn_rest = g_strdup (p->line + cut);
                }
              else
                append_file (f, p->file, p->line);
              /* Sometimes a sync tool copies the event into another file. */
              if (g_rand_int_range (rand, 0, 8) == 0)
                append_file (f, "conversations/dup (conflicted copy).jsonl",
                             p->line);
            }
          fixture_sync_quiet (f);
        }
      if (torn_file != NULL)
        append_file (f, torn_file, torn_rest);
      fixture_sync_quiet (f);
      assert_matches_reference (f);
    }
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/sync/example/nexus", test_example);
  JTEST_ADD ("/sync/order/late-device", test_late_device);
  JTEST_ADD ("/sync/order/convergence", test_convergence);
  JTEST_ADD ("/sync/lines/torn", test_torn_line);
  JTEST_ADD ("/sync/lines/bad", test_bad_lines);
  JTEST_ADD ("/sync/files/conflict-copy", test_conflict_copy);
  JTEST_ADD ("/sync/files/conflict-differs", test_conflict_differs);
  JTEST_ADD ("/sync/files/rewritten", test_rewritten);
  JTEST_ADD ("/sync/files/truncated", test_truncated);
  JTEST_ADD ("/sync/files/unreadable", test_unreadable);
  JTEST_ADD ("/sync/files/recorded-never-read", test_recorded_never_read);
  JTEST_ADD ("/sync/crash/between-batches", test_crash_between_batches);
  JTEST_ADD ("/sync/appliers/pending-and-upgrade", test_pending_and_upgrade);
  JTEST_ADD ("/sync/appliers/failed-kept", test_failed_kept);
  JTEST_ADD ("/sync/appliers/rejected-rolled-back",
             test_rebuild_rejected_rolled_back);
  JTEST_ADD ("/sync/appliers/deferred-rejected",
             test_rebuild_deferred_rejected);
  JTEST_ADD ("/sync/rebuild/swap", test_rebuild);
  JTEST_ADD ("/sync/rebuild/keep-previous", test_rebuild_keep_previous);
  JTEST_ADD ("/sync/rebuild/keeps-lost", test_rebuild_keeps_lost);
  JTEST_ADD ("/sync/rebuild/folds-log", test_rebuild_folds_log);
  JTEST_ADD ("/sync/folders/unlisted", test_folders_unlisted);
  JTEST_ADD ("/sync/folders/racy", test_folders_racy);
  JTEST_ADD ("/sync/folders/moved", test_folders_moved);
  JTEST_ADD ("/sync/folders/symlink", test_folders_symlink);
  return g_test_run ();
}
