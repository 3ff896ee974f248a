/* applier-harness.h: drive applier modules directly, without the core.
 *
 * Loads modules from $JSYNC_PLUGIN_PATH (meson sets it to the build's
 * plugins folder) into one in-memory SQLite database, routes each event
 * line by longest prefix, wraps each apply() in a savepoint as the core
 * does, and offers small query helpers for assertions.
 */
#ifndef APPLIER_HARNESS_H
#define APPLIER_HARNESS_H

#include <jsync/jsync-plugin.h>

typedef struct _Harness Harness;

/* Load the named appliers (NULL-terminated), run their schema, init. */
Harness *harness_new (const char *const *names);
void harness_free (Harness *harness);
sqlite3 *harness_get_db (Harness *harness);
/* A loaded applier's descriptor and its state on the harness's connection,
 * for callbacks the harness does not drive (stream, clear_stream, clear,
 * finish_rebuild). (transfer none) */
const JsyncApplierDesc *harness_get_desc (Harness *harness, const char *name);
gpointer harness_get_state (Harness *harness, const char *name);

/* Parse one JSONL line, route it, apply it inside a savepoint, then end
 * the batch (each event is a batch of its own).  The event is presented
 * as coming from `file` line 1. */
gboolean harness_apply (Harness *harness, const char *line, GError **error);
/* Same, asserting success. */
void harness_apply_ok (Harness *harness, const char *line);
/* Call every loaded applier's end_batch (ABI 1.1), as the core does before
 * each commit, asserting success. */
void harness_end_batch (Harness *harness);

/* Apply every line of every *.jsonl file below dir, deduplicated by id and
 * sorted by (timestamp, deviceId, id), as the sync contract defines. */
void harness_replay_dir (Harness *harness, const char *dir);

/* One value of the first row of a query (asserts there is a row). */
gint64 harness_query_int (Harness *harness, const char *sql);
/* Newly allocated text, or NULL for SQL NULL (asserts there is a row). */
char *harness_query_text (Harness *harness, const char *sql);

/* Every table of the loaded appliers as {"table": [rows ordered by every
 * column]}, the canonical form of `jsync dump`. (transfer full) */
json_object *harness_dump (Harness *harness);

/* Assert every FTS table of the loaded appliers passes
 * INSERT INTO t(t, rank) VALUES('integrity-check', 1). */
void harness_assert_fts_ok (Harness *harness);

/* Assert two JSON values are equal, with strings in *Json columns compared
 * as JSON when both parse (docs/format.md "Values"). */
void harness_assert_dump_equal (json_object *actual, json_object *expected);

/* A late event offered to late() (ABI 1.2): `lines` (NULL-terminated,
 * ' standing for ") are a history in key order, lines[late] the event that
 * arrives after the others. */
typedef struct
{
  const char *path;         /* the test's, under the prefix */
  guint late;
  gboolean in_place;        /* late() must take it, else refuse it */
  const char *lines[12];
} HarnessLateCase;

/* Add a test per case, each on fresh harnesses of applier `name`.  In
 * place, the rows and the applier's own records (`records_sql`, a query
 * giving them as one text) must be those of the whole history applied in
 * key order; refused, late() must have written nothing, and the event
 * applied now (what a core without replays would do) must give other rows
 * than the key order: each refusal is needed.  Only the late event may
 * fail in key order.  The strings must outlive the tests. */
void harness_add_late_cases (const char *prefix, const char *name,
                             const char *records_sql,
                             const HarnessLateCase *cases, guint n_cases);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Harness, harness_free)

#endif /* APPLIER_HARNESS_H */
