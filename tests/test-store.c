/* test-store.c: the lines jsync_events keeps, packed (docs/design.md "The
 * event store"): the round trip of a line through the store, with and
 * without a dictionary; dictionaries trained on the folder's lines; and
 * the upgrade in place of a cache whose lines are not packed.
 */
#include <locale.h>
#include <string.h>

#include <sqlite3.h>
#include <zstd.h>

#include "cli-run.h"
#include "jsync-store.h"

int main (int argc, char **argv);

/* Bytes of lines that train a dictionary (jsync-store-lines.c's minimum,
 * with room to spare). */
#define TRAIN_BYTES (400 * 1024)

/* The metadata event `i` of device "d1": about 200 bytes, unlike its
 * neighbours in its id, title and time only.  (transfer full) */
static char *
metadata_line (guint i)
{
  g_autofree char *id = g_strdup_printf ("m-%06u", i);
  g_autofree char *conversation = g_strdup_printf ("c-%u", i % 50);
  g_autofree char *title = g_strdup_printf ("Notes on topic %u, part %u",
                                            i * 7919 % 1000, i);

  return jtest_metadata_line (id, "d1", 1000 + i, conversation, title);
}

/* A log of metadata events from `first`, `bytes` of them at least. */
static void
write_metadata_log (CliFixture *f, const char *relative, guint first,
                    gsize bytes)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = first; text->len < bytes; i++)
    {
      g_autofree char *line = metadata_line (i);

      g_string_append (text, line);
    }
  cli_write (f, relative, text->str);
}

/* A connection to the cache with jsync_line(). */
static sqlite3 *
open_lines (const char *db)
{
  sqlite3 *handle = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READWRITE, NULL),
                   ==, SQLITE_OK);
  g_assert_nonnull (jsync_line_codec_add (handle));
  return handle;
}

/* id → the line jsync_events keeps of it, through jsync_line().
 * (transfer full) */
static GHashTable *
stored_lines (const char *db)
{
  sqlite3 *handle = open_lines (db);
  sqlite3_stmt *stmt = NULL;
  GHashTable *lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             g_free);
  int rc;

  g_assert_cmpint (sqlite3_prepare_v2 (handle,
                                       "SELECT id, jsync_line(raw)"
                                       " FROM jsync_events", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_insert (lines,
                         g_strdup ((const char *) sqlite3_column_text (stmt,
                                                                       0)),
                         g_strndup (sqlite3_column_blob (stmt, 1),
                                    sqlite3_column_bytes (stmt, 1)));
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return lines;
}

/* Both tables hold the same lines under the same ids. */
static void
assert_same_lines (GHashTable *expected, GHashTable *actual)
{
  GHashTableIter iter;
  gpointer id, line;

  g_assert_cmpuint (g_hash_table_size (actual), ==,
                    g_hash_table_size (expected));
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &id, &line))
    g_assert_cmpstr (g_hash_table_lookup (actual, id), ==, line);
}

/* Rows of jsync_events by how raw keeps the line. */
typedef struct
{
  gint64 plain;             /* as it is */
  gint64 alone;             /* a zstd frame with no dictionary */
  gint64 dict[3];           /* one packed with dictionary 1, 2 */
} Kept;

/* How the rows keep their lines: zstd's own reading of the frames. */
static Kept
count_kept (const char *db)
{
  sqlite3 *handle = open_lines (db);
  sqlite3_stmt *stmt = NULL;
  Kept kept = { 0 };

  g_assert_cmpint (sqlite3_prepare_v2 (handle, "SELECT raw FROM jsync_events",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const void *raw = sqlite3_column_blob (stmt, 0);
      gsize length = sqlite3_column_bytes (stmt, 0);
      unsigned id;

      if (ZSTD_getFrameContentSize (raw, length) == ZSTD_CONTENTSIZE_ERROR)
        {
          kept.plain++;
          continue;
        }
      id = ZSTD_getDictID_fromFrame (raw, length);
      g_assert_cmpuint (id, <, G_N_ELEMENTS (kept.dict));
      if (id == 0)
        kept.alone++;
      else
        kept.dict[id]++;
    }
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return kept;
}

/* --- The round trip ------------------------------------------------------ */

typedef struct
{
  char *dir;
  char *db;
  JsyncStore *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = jtest_tree_make (NULL, "test-store");
  f->db = g_build_filename (f->dir, "cache.db", NULL);
  f->store = jsync_store_open (f->db, FALSE, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  jsync_store_free (f->store);
  jtest_tree_remove (f->dir);
  g_free (f->dir);
  g_free (f->db);
}

/* The store reads the event `id` back with these bytes. */
static void
assert_reads_back (JsyncStore *store, const char *id, const char *line,
                   gsize length)
{
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_true (jsync_store_event_lookup (store, id, &stmt, &error));
  g_assert_no_error (error);
  g_assert_nonnull (stmt);
  g_assert_cmpuint (sqlite3_column_bytes (stmt, JSYNC_LOOKUP_RAW), ==,
                    length);
  g_assert_true (memcmp (sqlite3_column_blob (stmt, JSYNC_LOOKUP_RAW), line,
                         length) == 0);
  jsync_store_reset (stmt);
}

/* Record `line` as the event `id` (packed by `packer` when not NULL, else
 * by the store), then read it back through the store: the same bytes.
 * Returns the bytes the row keeps. */
static gint64
round_trip (Fixture *f, JsyncPacker *packer, const char *id, const char *line,
            gsize length)
{
  g_autofree char *packed = NULL;
  g_autofree char *sql = g_strdup_printf (
      "SELECT length(raw) FROM jsync_events WHERE id = '%s'", id);
  g_autoptr(GError) error = NULL;
  JsyncEventRow row = {
    .id = id, .ts = 1, .device = "d", .type = "t", .status = 1,
    .source = 1, .length = length, .hash = 0, .raw = line,
  };

  if (packer != NULL)
    {
      row.packed_length = jsync_packer_pack (packer, line, length, &packed);
      row.packed = packed;
    }
  g_assert_true (jsync_store_begin (f->store, &error));
  if (packer != NULL && jsync_packer_get_dict (packer) != NULL)
    g_assert_true (jsync_store_dict_save (f->store,
                                          jsync_packer_get_dict (packer),
                                          &error));
  g_assert_true (jsync_store_event_insert (f->store, &row, &error));
  g_assert_true (jsync_store_commit (f->store, &error));
  g_assert_no_error (error);

  assert_reads_back (f->store, id, line, length);
  return jtest_cache_int (f->db, sql, NULL);
}

/* The lines of the metadata events from `first`, `bytes` of them at
 * least, one after the other with their lengths. */
static void
metadata_sample (JsyncPacker *packer, guint first, gsize bytes)
{
  gsize total = 0;

  for (guint i = first; total < bytes; i++)
    {
      g_autofree char *line = metadata_line (i);
      gsize length = strlen (line) - 1;

      if (jsync_packer_sample (packer, line, length))
        break;
      total += length;
    }
}

/* Without a dictionary: a short line is kept as it is, a long one packed
 * smaller (zstd alone); a huge one comes back whole. */
static void
test_round_trip_plain (Fixture *f, gconstpointer data)
{
  const char *tiny = "{}";
  g_autofree char *line = metadata_line (1);
  g_autofree char *huge = NULL;
  g_autoptr(GString) text = g_string_new ("{\"text\":\"");
  gsize length = strlen (line) - 1;
  gint64 kept;

  g_assert_cmpint (round_trip (f, NULL, "tiny", tiny, 2), ==, 2);
  kept = round_trip (f, NULL, "one", line, length);
  g_assert_cmpint (kept, <=, length);
  /* 8 MiB of text that repeats with a period of 1000 bytes. */
  for (guint i = 0; text->len < 8 * 1024 * 1024; i++)
    g_string_append_printf (text, "word%u ", i % 150);
  g_string_append (text, "\"}");
  kept = round_trip (f, NULL, "huge", text->str, text->len);
  g_assert_cmpint (kept, <, text->len / 10);
  g_assert_cmpint (jtest_cache_int (f->db, "SELECT count(*) FROM jsync_dicts",
                                    NULL), ==, 0);
}

/* A packer of an empty cache wants a sample; trained on it, it packs
 * lines of the same kind to a fraction of their size, with the
 * dictionary the cache then holds; another connection reads them back. */
static void
test_round_trip_dict (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  JsyncPacker *packer = jsync_store_packer_new (f->store, &error);
  g_autofree char *line = metadata_line (90000);
  gsize length = strlen (line) - 1;
  gint64 plain_zstd = round_trip (f, NULL, "alone", line, length);
  gint64 with_dict;
  JsyncStore *reader;
  gboolean missing = TRUE;

  g_assert_no_error (error);
  g_assert_true (jsync_packer_wants_sample (packer));
  metadata_sample (packer, 0, TRAIN_BYTES);
  jsync_packer_train (packer);
  g_assert_false (jsync_packer_wants_sample (packer));
  g_assert_nonnull (jsync_packer_get_dict (packer));
  g_assert_cmpuint (jsync_line_dict_get_id (jsync_packer_get_dict (packer)),
                    ==, 1);

  with_dict = round_trip (f, packer, "packed", line, length);
  g_test_message ("%zu bytes: %" G_GINT64_FORMAT " alone, %" G_GINT64_FORMAT
                  " with the dictionary", length, plain_zstd, with_dict);
  g_assert_cmpint (with_dict, <, plain_zstd);
  g_assert_cmpint (with_dict, <, length / 2);
  g_assert_cmpint (jtest_cache_int (f->db, "SELECT count(*) FROM jsync_dicts"
                                           " WHERE id = 1", NULL), ==, 1);
  /* The store packs with it too from now on. */
  g_assert_cmpint (round_trip (f, NULL, "by-store", line, length), ==,
                   with_dict);
  jsync_packer_free (packer);

  reader = jsync_store_open_read_only (f->db, 1, &missing, &error);
  g_assert_no_error (error);
  g_assert_false (missing);
  assert_reads_back (reader, "packed", line, length);
  jsync_store_free (reader);
}

/* A row packed with a dictionary the cache no longer holds: its read fails
 * as a damaged cache, saying which. */
static void
test_missing_dict (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  JsyncPacker *packer = jsync_store_packer_new (f->store, &error);
  g_autofree char *line = metadata_line (5);
  JsyncStore *other;
  sqlite3_stmt *stmt = NULL;

  metadata_sample (packer, 0, TRAIN_BYTES);
  jsync_packer_train (packer);
  round_trip (f, packer, "packed", line, strlen (line) - 1);
  jsync_packer_free (packer);
  g_assert_true (jsync_store_exec (f->store, "DELETE FROM jsync_dicts",
                                   &error));

  other = jsync_store_open (f->db, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (jsync_store_event_lookup (other, "packed", &stmt, &error));
  g_assert_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "dictionary 1, which"
                                            " jsync_dicts does not hold"));
  jsync_store_free (other);
}

/* --- Dictionaries of a sync ----------------------------------------------- */

/* The first sync of a folder with enough lines trains a dictionary on
 * them, in the reading thread (on the first lines, handed on once it is
 * trained), and packs every event with it. */
static void
test_sync_trains (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  gint64 events;

  Kept kept;

  /* More than the sample (2 MB), in two logs. */
  write_metadata_log (f, "conversations/many.jsonl", 0, TRAIN_BYTES * 4);
  write_metadata_log (f, "conversations/more.jsonl", 100000, TRAIN_BYTES * 4);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  events = cli_sql_int (f, "SELECT count(*) FROM jsync_events");
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_dicts"), ==, 1);
  kept = count_kept (f->db);
  g_assert_cmpint (kept.dict[1], ==, events);
  g_assert_cmpint (cli_sql_int (f, "SELECT sum(length(raw)) * 3 < sum(length)"
                                   " FROM jsync_events"), ==, 1);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);
}

/* A cache that grew by small syncs, each too small to train on, gets its
 * dictionary, trained on the lines it holds, once it holds enough; the
 * lines packed before stay as they are. */
static void
test_sync_trains_later (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  gint64 first;
  Kept kept;

  write_metadata_log (f, "conversations/a.jsonl", 0, 100 * 1024);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_dicts"), ==, 0);
  first = cli_sql_int (f, "SELECT count(*) FROM jsync_events");
  kept = count_kept (f->db);
  g_assert_cmpint (kept.plain + kept.alone, ==, first);
  g_assert_cmpint (kept.alone, >, 0);

  write_metadata_log (f, "conversations/b.jsonl", 10000, TRAIN_BYTES);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  /* Enough lines now, but the new ones alone are too few for a sample
   * of their own. */
  write_metadata_log (f, "conversations/c.jsonl", 20000, 1024);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_dicts"), ==, 1);
  kept = count_kept (f->db);
  g_assert_cmpint (kept.plain + kept.alone, ==, first);
  g_assert_cmpint (kept.dict[1] + first, ==,
                   cli_sql_int (f, "SELECT count(*) FROM jsync_events"));

  /* Every line reads back as the log holds it. */
  before = stored_lines (f->db);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);
  after = stored_lines (f->db);
  assert_same_lines (before, after);
}

/* --- The upgrade ---------------------------------------------------------- */

/* The cache as jsync with core schema version 2 wrote it: lines kept as
 * they are, no jsync_dicts. */
static void
unpack_cache (CliFixture *f)
{
  sqlite3 *handle = open_lines (f->db);

  g_assert_cmpint (sqlite3_exec (handle,
                                 "UPDATE jsync_events"
                                 " SET raw = jsync_line(raw);"
                                 "DROP TABLE jsync_dicts;"
                                 "UPDATE jsync_meta SET value = 2"
                                 " WHERE key = 'core_schema_version';"
                                 "VACUUM;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (handle);
}

/* A cache of version 2 (the example's logs and enough lines to train on,
 * synced, then unpacked): a reader reads it as it is; the first sync packs
 * its lines once, with progress on a terminal, reading no log again, and
 * the cache holds the same events, lines and rows, in fewer bytes. */
static void
test_upgrade (CliFixture *f, gconstpointer data)
{
  g_autoptr(JTestRun) run = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(json_object) dump = NULL;
  gint64 events, unpacked_bytes;
  Kept kept;

  cli_fixture_copy_nexus (f);
  write_metadata_log (f, "conversations/many.jsonl", 0, TRAIN_BYTES);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  unpack_cache (f);
  before = stored_lines (f->db);
  events = g_hash_table_size (before);
  kept = count_kept (f->db);
  g_assert_cmpint (kept.plain, ==, events);
  unpacked_bytes = cli_sql_int (f, "SELECT page_count * page_size"
                                   " FROM pragma_page_count,"
                                   " pragma_page_size");

  /* A reader needs no upgrade. */
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN_JSON (f, "dump");
  g_assert_cmpint (run->status, ==, 0);
  dump = json_object_get (run->json);
  g_assert_cmpint (cli_sql_int (f, "SELECT value FROM jsync_meta"
                                   " WHERE key = 'core_schema_version'"), ==,
                   2);

  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN_TTY (f, FALSE, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->err, "packing the lines of its events"));
  /* The progress line of the phase, with its bar. */
  g_assert_nonnull (strstr (run->err, "upgrade["));

  g_assert_cmpint (cli_sql_int (f, "SELECT value FROM jsync_meta"
                                   " WHERE key = 'core_schema_version'"), ==,
                   3);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_meta"
                                   " WHERE key = 'unpacked_lines'"), ==, 0);
  g_assert_cmpint (cli_sql_int (f, "SELECT count(*) FROM jsync_dicts"), ==, 1);
  /* Every line but the few that do not shrink is packed. */
  kept = count_kept (f->db);
  g_assert_cmpint (kept.dict[1], >, events * 9 / 10);
  g_assert_cmpint (kept.plain + kept.dict[1], ==, events);
  g_assert_cmpint (cli_sql_int (f, "SELECT page_count * page_size"
                                   " FROM pragma_page_count,"
                                   " pragma_page_size"), <, unpacked_bytes);
  after = stored_lines (f->db);
  assert_same_lines (before, after);

  /* The same cache to a reader, and what a rebuild makes; a sync after
   * has nothing to do. */
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN_JSON (f, "dump");
  g_assert_true (json_object_equal (run->json, dump));
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "verify");
  g_assert_cmpint (run->status, ==, 0);
  g_clear_pointer (&run, jtest_run_free);
  run = CLI_RUN (f, "sync");
  g_assert_cmpint (run->status, ==, 0);
  g_assert_null (strstr (run->err, "packing"));
}

int
main (int argc, char **argv)
{
  jtest_init (&argc, &argv);

  JTEST_ADD ("/store/round-trip/plain", test_round_trip_plain);
  JTEST_ADD ("/store/round-trip/dictionary", test_round_trip_dict);
  JTEST_ADD ("/store/round-trip/missing-dictionary", test_missing_dict);
  CLI_ADD ("/store/sync/trains", test_sync_trains);
  CLI_ADD ("/store/sync/trains-later", test_sync_trains_later);
  CLI_ADD ("/store/upgrade", test_upgrade);
  return g_test_run ();
}
