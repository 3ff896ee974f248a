/* applier-harness.c: drive applier modules directly, without the core. */
#include "applier-harness.h"

#include <errno.h>

#include "jsync-dump.h"
#include "jsync-event.h"
#include "jsync-test.h"

typedef struct
{
  GModule *module;                  /* owned */
  const JsyncApplierDesc *desc;     /* borrowed from module */
  gpointer state;                   /* owned by desc->free */
} HarnessApplier;

struct _Harness
{
  sqlite3 *db;                      /* owned */
  GKeyFile *keyfile;                /* owned */
  GPtrArray *appliers;              /* of HarnessApplier*, owned */
};

static void
harness_applier_free (gpointer data)
{
  HarnessApplier *applier = data;

  if (applier->state != NULL)
    applier->desc->free (applier->state);
  g_module_close (applier->module);
  g_free (applier);
}

static char *
harness_find_module (const char *name)
{
  const char *path = g_getenv ("JSYNC_PLUGIN_PATH");
  g_auto(GStrv) dirs = NULL;

  g_assert_nonnull (path);
  dirs = g_strsplit (path, G_SEARCHPATH_SEPARATOR_S, -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *file = g_strconcat (name, ".", G_MODULE_SUFFIX, NULL);
      g_autofree char *candidate = g_build_filename (dirs[i], file, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&candidate);
    }
  g_error ("module %s not found in JSYNC_PLUGIN_PATH=%s", name, path);
  return NULL;
}

Harness *
harness_new (const char *const *names)
{
  Harness *harness = g_new0 (Harness, 1);

  g_assert_cmpint (sqlite3_open (":memory:", &harness->db), ==, SQLITE_OK);
  harness->keyfile = g_key_file_new ();
  harness->appliers = g_ptr_array_new_with_free_func (harness_applier_free);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = harness_find_module (names[i]);
      g_autofree char *group = g_strconcat ("applier:", names[i], NULL);
      HarnessApplier *applier = g_new0 (HarnessApplier, 1);
      gpointer symbol = NULL;
      JsyncApplierContext context = {
        .struct_size = sizeof (JsyncApplierContext),
        .db = harness->db,
        .keyfile = harness->keyfile,
        .group = group,
      };

      applier->module = g_module_open_full (path, G_MODULE_BIND_LOCAL, &error);
      g_assert_no_error (error);
      g_assert_true (g_module_symbol (applier->module, JSYNC_APPLIER_SYMBOL,
                                      &symbol));
      g_assert_nonnull (symbol);
      applier->desc = symbol;
      g_assert_cmpint (applier->desc->abi_major, ==, JSYNC_ABI_MAJOR);
      g_assert_cmpstr (applier->desc->name, ==, names[i]);
      g_ptr_array_add (harness->appliers, applier);

      jsync_sql_exec (harness->db, applier->desc->schema_sql, &error);
      g_assert_no_error (error);
      applier->state = applier->desc->init (&context, &error);
      g_assert_no_error (error);
      g_assert_nonnull (applier->state);
    }
  return harness;
}

void
harness_free (Harness *harness)
{
  g_ptr_array_unref (harness->appliers);
  g_key_file_unref (harness->keyfile);
  sqlite3_close (harness->db);
  g_free (harness);
}

sqlite3 *
harness_get_db (Harness *harness)
{
  return harness->db;
}

static HarnessApplier *
harness_lookup (Harness *harness, const char *name)
{
  for (guint i = 0; i < harness->appliers->len; i++)
    {
      HarnessApplier *applier = harness->appliers->pdata[i];

      if (strcmp (applier->desc->name, name) == 0)
        return applier;
    }
  g_error ("applier %s is not loaded", name);
  return NULL;
}

const JsyncApplierDesc *
harness_get_desc (Harness *harness, const char *name)
{
  return harness_lookup (harness, name)->desc;
}

gpointer
harness_get_state (Harness *harness, const char *name)
{
  return harness_lookup (harness, name)->state;
}

static HarnessApplier *
harness_route (Harness *harness, const char *type)
{
  HarnessApplier *best = NULL;
  gsize best_len = 0;

  for (guint i = 0; i < harness->appliers->len; i++)
    {
      HarnessApplier *applier = harness->appliers->pdata[i];

      for (guint p = 0; applier->desc->prefixes[p] != NULL; p++)
        {
          gsize len = strlen (applier->desc->prefixes[p]);

          if (len > best_len
              && strncmp (type, applier->desc->prefixes[p], len) == 0)
            {
              best = applier;
              best_len = len;
            }
        }
    }
  return best;
}

void
harness_end_batch (Harness *harness)
{
  for (guint i = 0; i < harness->appliers->len; i++)
    {
      HarnessApplier *applier = harness->appliers->pdata[i];
      g_autoptr(GError) error = NULL;

      if (applier->desc->end_batch != NULL)
        {
          applier->desc->end_batch (applier->state, &error);
          g_assert_no_error (error);
        }
    }
}

/* Parse a line into an event that borrows from the returned JSON, and
 * find its applier. */
static json_object *
harness_event_parse (Harness *harness, const char *line, JsyncEvent *out,
                     HarnessApplier **applier)
{
  json_object *json = json_tokener_parse (line);
  json_object *ts = NULL;
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };

  g_assert_nonnull (json);
  event.json = json;
  event.id = jsync_json_get_string_or_null (json, "id");
  event.type = jsync_json_get_string_or_null (json, "type");
  event.device_id = jsync_json_get_string_or_null (json, "deviceId");
  g_assert_nonnull (event.id);
  g_assert_nonnull (event.type);
  g_assert_nonnull (event.device_id);
  g_assert_true (json_object_object_get_ex (json, "timestamp", &ts));
  event.timestamp = json_object_get_int64 (ts);
  event.file = "harness.jsonl";
  event.line = 1;
  *out = event;
  *applier = harness_route (harness, event.type);
  g_assert_nonnull (*applier);
  return json;
}

gboolean
harness_apply (Harness *harness, const char *line, GError **error)
{
  HarnessApplier *applier;
  JsyncEvent event;
  json_object *json = harness_event_parse (harness, line, &event, &applier);
  gboolean ok;

  g_assert_true (jsync_sql_exec (harness->db, "SAVEPOINT ev", NULL));
  ok = applier->desc->apply (applier->state, &event, error);
  if (!ok)
    g_assert_true (jsync_sql_exec (harness->db, "ROLLBACK TO ev", NULL));
  g_assert_true (jsync_sql_exec (harness->db, "RELEASE ev", NULL));
  json_object_put (json);
  harness_end_batch (harness);
  return ok;
}

void
harness_apply_ok (Harness *harness, const char *line)
{
  g_autoptr(GError) error = NULL;

  harness_apply (harness, line, &error);
  g_assert_no_error (error);
}

/* An event to replay; its strings are in the replay's GStringChunk. */
typedef struct
{
  gint64 timestamp;
  const char *device;
  const char *id;
  const char *line;
} ReplayEvent;

/* Key order, the core's (test-event checks it). */
static gint
replay_event_compare (gconstpointer a, gconstpointer b)
{
  const ReplayEvent *x = *(ReplayEvent *const *) a;
  const ReplayEvent *y = *(ReplayEvent *const *) b;

  return jsync_event_key_compare (x->timestamp, x->device, x->id,
                                  y->timestamp, y->device, y->id);
}

static void
replay_collect (const char *dir, GStringChunk *strings, GHashTable *seen,
                GPtrArray *events)
{
  g_autoptr(GPtrArray) files = jtest_tree_files (dir, TRUE);

  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  for (guint f = 0; f < files->len; f++)
    {
      g_autofree char *path = g_build_filename (dir, files->pdata[f], NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_str_has_suffix (path, ".jsonl"))
        continue;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          json_object *json;
          json_object *ts = NULL;
          const char *id;
          ReplayEvent *event;

          if (*g_strstrip (lines[i]) == '\0')
            continue;
          json = json_tokener_parse (lines[i]);
          g_assert_nonnull (json);
          id = jsync_json_get_string_or_null (json, "id");
          if (g_hash_table_contains (seen, id))
            {
              json_object_put (json);
              continue;
            }
          event = g_new0 (ReplayEvent, 1);
          event->id = g_string_chunk_insert (strings, id);
          event->device = g_string_chunk_insert (
              strings, jsync_json_get_string_or_null (json, "deviceId"));
          g_assert_true (json_object_object_get_ex (json, "timestamp", &ts));
          event->timestamp = json_object_get_int64 (ts);
          event->line = g_string_chunk_insert (strings, lines[i]);
          g_hash_table_add (seen, (gpointer) event->id);
          g_ptr_array_add (events, event);
          json_object_put (json);
        }
    }
}

void
harness_replay_dir (Harness *harness, const char *dir)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  GStringChunk *strings = g_string_chunk_new (4096);

  replay_collect (dir, strings, seen, events);
  g_ptr_array_sort (events, replay_event_compare);
  for (guint i = 0; i < events->len; i++)
    {
      ReplayEvent *event = events->pdata[i];

      harness_apply_ok (harness, event->line);
    }
  g_string_chunk_free (strings);
}

static sqlite3_stmt *
harness_query (Harness *harness, const char *sql)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (harness->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (harness->db));
  if (sqlite3_step (stmt) != SQLITE_ROW)
    g_error ("%s: no row", sql);
  return stmt;
}

gint64
harness_query_int (Harness *harness, const char *sql)
{
  sqlite3_stmt *stmt = harness_query (harness, sql);
  gint64 value = sqlite3_column_int64 (stmt, 0);

  sqlite3_finalize (stmt);
  return value;
}

char *
harness_query_text (Harness *harness, const char *sql)
{
  sqlite3_stmt *stmt = harness_query (harness, sql);
  char *value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));

  sqlite3_finalize (stmt);
  return value;
}

json_object *
harness_dump (Harness *harness)
{
  json_object *dump = json_object_new_object ();

  for (guint i = 0; i < harness->appliers->len; i++)
    {
      HarnessApplier *applier = harness->appliers->pdata[i];

      for (guint t = 0; applier->desc->tables[t] != NULL; t++)
        {
          g_autoptr(GError) error = NULL;
          json_object *rows = jsync_dump_table (harness->db,
                                                applier->desc->tables[t],
                                                &error);

          g_assert_no_error (error);
          json_object_object_add (dump, applier->desc->tables[t], rows);
        }
    }
  return dump;
}

void
harness_assert_fts_ok (Harness *harness)
{
  for (guint i = 0; i < harness->appliers->len; i++)
    {
      HarnessApplier *applier = harness->appliers->pdata[i];

      for (guint t = 0;
           applier->desc->search != NULL && applier->desc->search[t].fts != NULL;
           t++)
        {
          const char *fts = applier->desc->search[t].fts;
          g_autofree char *sql = g_strdup_printf (
              "INSERT INTO %s(%s, rank) VALUES('integrity-check', 1)", fts, fts);
          g_autoptr(GError) error = NULL;

          jsync_sql_exec (harness->db, sql, &error);
          g_assert_no_error (error);
        }
    }
}

/* Columns made from JSON values: compared as JSON (docs/format.md "Values"). */
static gboolean
harness_is_json_column (const char *table, const char *column)
{
  static const char *const columns[] = {
    "conversations.metadataJson", "states.tagsJson",
    "messages.toolCallsJson", "messages.alternativesJson", NULL,
  };
  g_autofree char *name = g_strconcat (table, ".", column, NULL);

  return g_strv_contains (columns, name);
}

static void
harness_assert_value_equal (const char *where, json_object *actual,
                            json_object *expected, gboolean as_json)
{
  if (as_json && json_object_is_type (actual, json_type_string)
      && json_object_is_type (expected, json_type_string))
    {
      json_object *a = json_tokener_parse (json_object_get_string (actual));
      json_object *e = json_tokener_parse (json_object_get_string (expected));
      gboolean equal = a != NULL && e != NULL && json_object_equal (a, e);

      if (!equal)
        g_error ("%s: %s != %s", where, json_object_get_string (actual),
                 json_object_get_string (expected));
      json_object_put (a);
      json_object_put (e);
      return;
    }
  if (!json_object_equal (actual, expected))
    g_error ("%s: %s != %s", where,
             json_object_to_json_string (actual),
             json_object_to_json_string (expected));
}

void
harness_assert_dump_equal (json_object *actual, json_object *expected)
{
  json_object_object_foreach (expected, table, expected_rows)
    {
      json_object *rows = NULL;
      size_t n;

      if (!json_object_object_get_ex (actual, table, &rows))
        g_error ("table %s missing from the dump", table);
      n = json_object_array_length (expected_rows);
      if (json_object_array_length (rows) != n)
        g_error ("table %s: %zu rows, expected %zu", table,
                 json_object_array_length (rows), n);
      for (size_t r = 0; r < n; r++)
        {
          json_object *row = json_object_array_get_idx (rows, r);
          json_object *expected_row = json_object_array_get_idx (expected_rows, r);

          g_assert_cmpint (json_object_object_length (row), ==,
                           json_object_object_length (expected_row));
          json_object_object_foreach (expected_row, column, expected_value)
            {
              json_object *value = NULL;
              g_autofree char *where = g_strdup_printf ("%s[%zu].%s", table, r,
                                                        column);

              if (!json_object_object_get_ex (row, column, &value))
                g_error ("%s: missing", where);
              harness_assert_value_equal (where, value, expected_value,
                                          harness_is_json_column (table, column));
            }
        }
    }
  g_assert_cmpint (json_object_object_length (actual), ==,
                   json_object_object_length (expected));
}

/* A line of a late case: ' stands for ". */
static char *
harness_late_line (const char *line)
{
  return g_strdelimit (g_strdup (line), "'", '"');
}

/* One test of harness_add_late_cases(). */
typedef struct
{
  const char *name;
  const char *records_sql;
  const HarnessLateCase *c;
} HarnessLateTest;

static void
harness_check_late (gconstpointer data)
{
  const HarnessLateTest *test = data;
  const char *records_sql = test->records_sql;
  const char *const *lines = test->c->lines;
  guint late = test->c->late;
  gboolean in_place = test->c->in_place;
  const char *const names[] = { test->name, NULL };
  g_autoptr(Harness) harness = harness_new (names);
  g_autoptr(Harness) ordered = harness_new (names);
  g_autoptr(GError) error = NULL;
  g_autoptr(json_object) json = NULL;
  g_autoptr(json_object) before = NULL;
  g_autoptr(json_object) after = NULL;
  g_autoptr(json_object) expected = NULL;
  g_autofree char *late_line = harness_late_line (lines[late]);
  g_autofree char *records = NULL;
  g_autofree char *records_after = NULL;
  HarnessApplier *applier;
  gboolean applied = !in_place;
  JsyncEvent event;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = harness_late_line (lines[i]);

      /* Only the late event may fail in key order. */
      if (!harness_apply (ordered, line, &error))
        g_assert_cmpuint (i, ==, late);
      g_clear_error (&error);
      if (i != late)
        harness_apply_ok (harness, line);
    }
  before = harness_dump (harness);
  records = harness_query_text (harness, records_sql);
  expected = harness_dump (ordered);
  json = harness_event_parse (harness, late_line, &event, &applier);
  g_assert_nonnull (applier->desc->late);
  g_assert_true (applier->desc->late (applier->state, &event, &applied,
                                      &error));
  g_assert_no_error (error);
  harness_end_batch (harness);
  g_assert_cmpint (applied, ==, in_place);
  after = harness_dump (harness);
  records_after = harness_query_text (harness, records_sql);
  if (in_place)
    {
      g_autofree char *replayed = harness_query_text (ordered, records_sql);

      harness_assert_dump_equal (after, expected);
      g_assert_cmpstr (records_after, ==, replayed);
    }
  else
    {
      harness_assert_dump_equal (after, before);
      g_assert_cmpstr (records_after, ==, records);
      g_clear_pointer (&after, json_object_put);
      harness_apply_ok (harness, late_line);
      after = harness_dump (harness);
      g_assert_false (json_object_equal (after, expected));
    }
  harness_assert_fts_ok (harness);
}

void
harness_add_late_cases (const char *prefix, const char *name,
                        const char *records_sql, const HarnessLateCase *cases,
                        guint n_cases)
{
  for (guint i = 0; i < n_cases; i++)
    {
      g_autofree char *path = g_strconcat (prefix, cases[i].path, NULL);
      HarnessLateTest *test = g_new (HarnessLateTest, 1);

      *test = (HarnessLateTest) { name, records_sql, &cases[i] };
      g_test_add_data_func_full (path, test, harness_check_late, g_free);
    }
}
