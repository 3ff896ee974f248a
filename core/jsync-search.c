/* jsync-search.c: full-text search over the FTS tables the appliers
 * declare (JsyncApplierDesc.search).
 *
 * Each table is queried on its own, best matches first by its FTS5 rank
 * (bm25), at most `limit` rows each; the lists are then merged by rank and
 * cut to `limit`.  A user's text becomes a query where every word is a
 * quoted phrase and all are required, so nothing a user types is an FTS5
 * syntax error; `raw` passes FTS5 syntax through.
 *
 * Each different word is asked for once: FTS5's bm25 walks the matches of
 * every phrase for each of them, so a word repeated n times cost n² per
 * matching row (3,000 times "the": seconds), while an AND of the same
 * phrase twice matches exactly what it matches once.  More different words
 * than JSYNC_SEARCH_MAX_WORDS are refused, for the same reason.
 */
#include <string.h>

#include <jsync/jsync.h>

#include "jsync-coordinator-private.h"
#include "jsync-text.h"

#define SEARCH_DEFAULT_LIMIT 20
/* Tokens of context in a snippet. */
#define SEARCH_SNIPPET_TOKENS 12

/* One FTS table to query. */
typedef struct
{
  const JsyncSearchTable *decl;  /* borrowed from the plugin */
  char **columns;                /* owned: the declared columns, trimmed */
  gboolean has_id;               /* the content table has an "id" column */
} SearchTable;

/* One match, before the merge. */
typedef struct
{
  double rank;
  guint table;                   /* index in the list of tables */
  gint64 rowid;
  json_object *json;             /* owned */
} SearchHit;

/* The clear functions of the arrays that hold them by value. */
static void
search_table_clear (gpointer data)
{
  g_strfreev (((SearchTable *) data)->columns);
}

static void
search_hit_clear (gpointer data)
{
  g_clear_pointer (&((SearchHit *) data)->json, json_object_put);
}

/* The FTS5 query of a user's text; *n_words: the different words in it. */
static char *
search_quote_words (const char *text, guint *n_words)
{
  g_auto(GStrv) words = g_strsplit_set (text, " \t\n\r\f\v", -1);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GString *query = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      /* A word again adds nothing to an AND but its cost. */
      if (*words[i] == '\0' || !g_hash_table_add (seen, words[i]))
        continue;
      if (query->len > 0)
        g_string_append_c (query, ' ');
      g_string_append_c (query, '"');
      for (const char *p = words[i]; *p != '\0'; p++)
        {
          if (*p == '"')
            g_string_append_c (query, '"');
          g_string_append_c (query, *p);
        }
      g_string_append_c (query, '"');
    }
  *n_words = g_hash_table_size (seen);
  return g_string_free (query, FALSE);
}

/**
 * jsync_search_quote:
 * Turn a user's text into an FTS5 query of required quoted words, each
 * different word once.
 */
char *
jsync_search_quote (const char *text)
{
  guint n_words;

  return search_quote_words (text, &n_words);
}

static gboolean
search_has_column (sqlite3 *db, const char *table, const char *column)
{
  return sqlite3_table_column_metadata (db, "main", table, column, NULL, NULL,
                                        NULL, NULL, NULL)
         == SQLITE_OK;
}

/* The FTS tables to query: every one the attached appliers declare, or the
 * one named (by its own name or its content table's). */
static GArray *
search_tables (JsyncCoordinator *self, const char *only, GError **error)
{
  g_autoptr(GArray) tables = g_array_new (FALSE, FALSE, sizeof (SearchTable));
  g_autoptr(GString) known = g_string_new (NULL);
  JsyncStore *store = self->store;

  g_array_set_clear_func (tables, search_table_clear);
  for (guint i = 0; i < store->appliers->len; i++)
    {
      JsyncApplierInstance *applier = store->appliers->pdata[i];
      const JsyncApplierDesc *desc = applier->plugin->desc;

      for (guint s = 0; desc->search != NULL && desc->search[s].fts != NULL; s++)
        {
          const JsyncSearchTable *decl = &desc->search[s];
          SearchTable table = { .decl = decl };

          g_string_append_printf (known, "%s%s (%s)", known->len ? ", " : "",
                                  decl->fts, decl->table);
          if (only != NULL && strcmp (only, decl->fts) != 0
              && strcmp (only, decl->table) != 0)
            continue;
          table.columns = g_strsplit (decl->columns != NULL ? decl->columns
                                                            : "", ",", -1);
          for (guint c = 0; table.columns[c] != NULL; c++)
            g_strstrip (table.columns[c]);
          table.has_id = search_has_column (store->db, decl->table, "id");
          /* The array owns the columns from here. */
          g_array_append_val (tables, table);
          for (guint c = 0; table.columns[c] != NULL; c++)
            if (*table.columns[c] != '\0'
                && !search_has_column (store->db, decl->table,
                                       table.columns[c]))
              {
                g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_FAILED,
                             "%s: search table %s: no column \"%s\" in %s",
                             applier->plugin->path, decl->fts,
                             table.columns[c], decl->table);
                return NULL;
              }
        }
    }
  if (only != NULL && tables->len == 0)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "search: no full-text table \"%s\" (there are: %s)", only,
                   known->len > 0 ? known->str : "none");
      return NULL;
    }
  return g_steal_pointer (&tables);
}

/* Query one table; its matches are added to hits. */
static gboolean
search_one (JsyncCoordinator *self, SearchTable *table, guint index,
            const char *fts_query, const JsyncSearchOptions *options,
            guint limit, GArray *hits, GError **error)
{
  JsyncStore *store = self->store;
  g_autoptr(GString) sql = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  char *quoted;
  int rc;

  /* Columns: rowid, rank, snippet, id (or NULL), then the declared ones. */
  quoted = sqlite3_mprintf ("\"%w\"", table->decl->fts);
  g_string_append_printf (sql,
                          "SELECT c.rowid, %s.rank, snippet (%s, -1, ?2, ?3,"
                          " '…', %d), %s",
                          quoted, quoted, SEARCH_SNIPPET_TOKENS,
                          table->has_id ? "c.\"id\"" : "NULL");
  for (guint c = 0; table->columns[c] != NULL; c++)
    if (*table->columns[c] != '\0')
      {
        char *column = sqlite3_mprintf (", c.\"%w\"", table->columns[c]);

        g_string_append (sql, column);
        sqlite3_free (column);
      }
  {
    char *from = sqlite3_mprintf (" FROM %s JOIN \"%w\" AS c"
                                  " ON c.rowid = %s.rowid"
                                  " WHERE %s MATCH ?1 ORDER BY %s.rank"
                                  " LIMIT ?4",
                                  quoted, table->decl->table, quoted, quoted,
                                  quoted);

    g_string_append (sql, from);
    sqlite3_free (from);
  }
  sqlite3_free (quoted);

  if (sqlite3_prepare_v2 (store->db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    {
      jsync_store_set_error (store, error, sql->str);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, fts_query, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, options->open_mark ? options->open_mark : "[",
                     -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, options->close_mark ? options->close_mark : "]",
                     -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SearchHit *hit;
      json_object *columns = json_object_new_object ();
      int column = 4;

      g_array_set_size (hits, hits->len + 1);
      hit = &g_array_index (hits, SearchHit, hits->len - 1);
      hit->rowid = sqlite3_column_int64 (stmt, 0);
      hit->rank = sqlite3_column_double (stmt, 1);
      hit->table = index;
      hit->json = json_object_new_object ();
      json_object_object_add (hit->json, "table",
                              json_object_new_string (table->decl->table));
      json_object_object_add (hit->json, "fts",
                              json_object_new_string (table->decl->fts));
      json_object_object_add (hit->json, "rowid",
                              json_object_new_int64 (hit->rowid));
      json_object_object_add (hit->json, "id",
                              jsync_json_new_column (stmt, 3, FALSE));
      json_object_object_add (hit->json, "rank",
                              json_object_new_double (hit->rank));
      json_object_object_add (hit->json, "snippet",
                              jsync_json_new_column (stmt, 2, FALSE));
      for (guint c = 0; table->columns[c] != NULL; c++)
        if (*table->columns[c] != '\0')
          json_object_object_add (columns, table->columns[c],
                                  jsync_json_new_column (stmt, column++, FALSE));
      json_object_object_add (hit->json, "columns", columns);
    }
  if (rc != SQLITE_DONE)
    {
      /* In a raw query, an FTS5 syntax error is the user's. */
      if (options->raw && sqlite3_errcode (store->db) == SQLITE_ERROR)
        g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE, "search: %s",
                     sqlite3_errmsg (store->db));
      else
        jsync_store_set_error (store, error, "search");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

static gint
search_hit_compare (gconstpointer a, gconstpointer b)
{
  const SearchHit *x = a;
  const SearchHit *y = b;

  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  if (x->table != y->table)
    return x->table < y->table ? -1 : 1;
  return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

/**
 * jsync_coordinator_search:
 * Query every declared FTS table and merge the matches by rank.
 */
json_object *
jsync_coordinator_search (JsyncCoordinator *self, const char *query,
                          const JsyncSearchOptions *options, GError **error)
{
  static const JsyncSearchOptions defaults = { 0 };
  g_autoptr(GArray) tables = NULL;
  g_autoptr(GArray) hits = g_array_new (FALSE, TRUE, sizeof (SearchHit));
  g_autofree char *fts_query = NULL;
  json_object *json, *results;
  gboolean began = FALSE;
  guint limit;

  g_array_set_clear_func (hits, search_hit_clear);
  if (options == NULL)
    options = &defaults;
  limit = options->limit > 0 ? options->limit : SEARCH_DEFAULT_LIMIT;
  if (!g_utf8_validate (query, -1, NULL))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                   "search: the query is not valid UTF-8");
      return NULL;
    }
  if (options->raw)
    fts_query = g_strstrip (g_strdup (query));
  else
    {
      guint n_words;

      fts_query = search_quote_words (query, &n_words);
      if (n_words > JSYNC_SEARCH_MAX_WORDS)
        {
          g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_USAGE,
                       "search: %u different words; at most %u", n_words,
                       JSYNC_SEARCH_MAX_WORDS);
          return NULL;
        }
    }
  if (jsync_coordinator_get_store (self, error) == NULL)
    return NULL;
  tables = search_tables (self, options->table, error);
  if (tables == NULL)
    return NULL;

  /* Every table in one snapshot.  A text without words matches nothing
   * (FTS5 calls "" a syntax error). */
  if (!jsync_store_begin_read (self->store, &began, error))
    return NULL;
  for (guint i = 0; *fts_query != '\0' && i < tables->len; i++)
    if (!search_one (self, &g_array_index (tables, SearchTable, i), i,
                     fts_query, options, limit, hits, error))
      {
        jsync_store_end_read (self->store, began);
        return NULL;
      }
  jsync_store_end_read (self->store, began);
  g_array_sort (hits, search_hit_compare);

  json = json_object_new_object ();
  results = json_object_new_array ();
  json_object_object_add (json, "version", json_object_new_int (1));
  json_object_object_add (json, "command", json_object_new_string ("search"));
  json_object_object_add (json, "query", json_object_new_string (query));
  json_object_object_add (json, "ftsQuery", json_object_new_string (fts_query));
  for (guint i = 0; i < hits->len && i < limit; i++)
    {
      SearchHit *hit = &g_array_index (hits, SearchHit, i);

      json_object_array_add (results, g_steal_pointer (&hit->json));
    }
  json_object_object_add (json, "results", results);
  return json;
}
