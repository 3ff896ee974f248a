/* fuzz-applier.c: libFuzzer target for one bundled applier, built once per
 * applier with its source compiled in (FUZZ_APPLIER names it), so that the
 * fuzzer sees the applier's own coverage.
 *
 * The cache is an in-memory SQLite database with the applier's tables,
 * filled at start with every line of the example data
 * (tests/data/nexus), so that updates and deletes find rows.  An input is
 * up to 16 JSONL lines, each taken as the core takes it: parsed
 * (jsync_event_parse_json), its envelope checked, routed by the applier's
 * prefixes, its stream asked, then applied in a savepoint that a rejection
 * rolls back.  An odd last byte also clears the last event's stream.  All
 * of it is rolled back afterwards.  Findings (abort): a crash or a
 * sanitizer report; an applier that ended the core's transaction or left
 * a statement running; a failure without an error; a stream that another
 * call for the same event names differently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jsync/jsync-plugin.h>

#define FUZZ_NAME "fuzz-" FUZZ_APPLIER
#include "fuzz-common.h"

#include "jsync-event.h"

/* The applier compiled into this fuzzer. */
extern const JsyncApplierDesc jsync_applier_descriptor;

#define FUZZ_MAX_LINES 16

static const JsyncApplierDesc *desc = &jsync_applier_descriptor;
static sqlite3 *db;
static gpointer state;

static void
fuzz_exec (const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      fprintf (stderr, "fuzz-%s: %s: %s\n", FUZZ_APPLIER, sql, message);
      abort ();
    }
}

/* No statement of the applier is left half-run (docs/style.md "Plugins":
 * prepared once, reset after every use), and the core's transaction is
 * still open. */
static void
fuzz_check_connection (void)
{
  for (sqlite3_stmt *stmt = sqlite3_next_stmt (db, NULL); stmt != NULL;
       stmt = sqlite3_next_stmt (db, stmt))
    if (sqlite3_stmt_busy (stmt))
      {
        fprintf (stderr, "fuzz-%s: statement left running: %s\n",
                 FUZZ_APPLIER, sqlite3_sql (stmt));
        abort ();
      }
  CHECK (!sqlite3_get_autocommit (db));
}

static gboolean
fuzz_routes (const char *type)
{
  for (guint i = 0; desc->prefixes[i] != NULL; i++)
    if (g_str_has_prefix (type, desc->prefixes[i]))
      return TRUE;
  return FALSE;
}

/* One line as the core handles it; its stream (owned) when it was this
 * applier's. */
static char *
fuzz_apply_line (const char *line, gsize length)
{
  g_autoptr(GError) error = NULL;
  JsyncEvent event = { .struct_size = sizeof (JsyncEvent) };
  json_object *json = jsync_event_parse_json (line, length, &error);
  char *stream = NULL;

  if (json == NULL || !jsync_event_read_envelope (json, &event, &error)
      || !fuzz_routes (event.type))
    {
      json_object_put (json);
      return NULL;
    }
  event.file = "fuzz.jsonl";
  event.line = 1;
  if (desc->stream != NULL)
    {
      const char *first = desc->stream (state, &event);

      stream = g_strdup (first != NULL ? first : "");
      CHECK (g_strcmp0 (desc->stream (state, &event),
                        first != NULL ? stream : NULL) == 0);
    }
  fuzz_exec ("SAVEPOINT jsync_event");
  if (!desc->apply (state, &event, &error))
    {
      CHECK (error != NULL && error->message != NULL);
      fuzz_exec ("ROLLBACK TO jsync_event");
    }
  else
    CHECK (error == NULL);
  fuzz_exec ("RELEASE jsync_event");
  fuzz_check_connection ();
  json_object_put (json);
  return stream != NULL ? stream : g_strdup ("");
}

static gint
fuzz_compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Apply every line of a file, in file order. */
static void
fuzz_load_file (const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_free (fuzz_apply_line (lines[i], strlen (lines[i])));
}

static void
fuzz_load_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, fuzz_compare_paths);
  for (guint i = 0; i < names->len; i++)
    {
      const char *child = names->pdata[i];

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        fuzz_load_dir (child);
      else if (g_str_has_suffix (child, ".jsonl"))
        fuzz_load_file (child);
    }
}

/* The end of a batch, as the core calls it before each commit: the
 * appliers fold their full-text index changes in there. */
static void
fuzz_end_batch (void)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (desc->end_batch == NULL)
    return;
  ok = desc->end_batch (state, &error);
  CHECK (ok == (error == NULL));
  fuzz_check_connection ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *group = g_strconcat ("applier:", desc->name, NULL);
  JsyncApplierContext context = {
    .struct_size = sizeof (JsyncApplierContext),
    .keyfile = keyfile,
    .group = group,
  };

  fuzz_set_log_policy ();
  CHECK (g_strcmp0 (desc->name, FUZZ_APPLIER) == 0);
  CHECK (sqlite3_open (":memory:", &db) == SQLITE_OK);
  sqlite3_extended_result_codes (db, 1);
  fuzz_exec (desc->schema_sql);
  context.db = db;
  fuzz_exec ("BEGIN");
  state = desc->init (&context, &error);
  if (state == NULL)
    {
      fprintf (stderr, "fuzz-%s: init: %s\n", FUZZ_APPLIER,
               error != NULL ? error->message : "failed");
      abort ();
    }
  fuzz_load_dir (FUZZ_DATA_DIR);
  fuzz_end_batch ();
  fuzz_exec ("COMMIT");
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *stream = NULL;
  gsize start = 0;
  guint lines = 0;

  fuzz_exec ("BEGIN");
  while (start < size && lines < FUZZ_MAX_LINES)
    {
      const guint8 *nl = memchr (data + start, '\n', size - start);
      gsize end = nl != NULL ? (gsize) (nl - data) : size;
      char *line_stream = fuzz_apply_line ((const char *) data + start,
                                           end - start);

      if (line_stream != NULL)
        {
          g_free (stream);
          stream = line_stream;
        }
      start = end + 1;
      lines++;
    }
  if (stream != NULL && size > 0 && (data[size - 1] & 1))
    {
      g_autoptr(GError) error = NULL;
      gboolean ok = desc->clear_stream != NULL
                      ? desc->clear_stream (state, stream, &error)
                      : desc->clear (state, &error);

      CHECK (ok == (error == NULL));
      fuzz_check_connection ();
    }
  fuzz_end_batch ();
  fuzz_exec ("ROLLBACK");
  return 0;
}
