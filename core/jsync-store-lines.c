/* jsync-store-lines.c: the lines jsync_events keeps, packed (docs/design.md
 * "The event store").
 *
 * jsync_events.raw holds an event's line either as its bytes or as one
 * zstd frame of them.  A line is JSON and starts with "{" or a blank, a
 * frame with zstd's magic number: the first four bytes tell which.  A
 * frame names the dictionary it was packed with by its dictionary id, a
 * row of jsync_dicts; it names none when packed without one.  Dictionaries
 * are trained on the folder's own lines (a sample of the first ones read,
 * or of the lines a cache holds); one never changes once written.
 *
 * Lines are read back through the SQL function jsync_line(raw), which
 * every connection of the store has: callers get the bytes of the line
 * whatever way it is kept.
 */
#include "jsync-store.h"

#include <string.h>

#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>

/* zstd's level: 3 packs a line in a few µs; higher levels barely do
 * better on these lines (docs/design.md "The event store"). */
#define LINES_LEVEL 3
/* The dictionary's size, and the sample it is trained on: the first
 * lines read, up to this many bytes. */
#define LINES_DICT_BYTES (112 * 1024)
#define LINES_SAMPLE_BYTES (2 * 1024 * 1024)
/* Longer lines are left out of the sample: they would fill it alone. */
#define LINES_SAMPLE_MAX_LINE (LINES_SAMPLE_BYTES / 16)
/* Fewer bytes of lines than this train no dictionary. */
#define LINES_SAMPLE_MIN_BYTES (256 * 1024)
#define LINES_SAMPLE_MIN_LINES 64
/* Rows of jsync_events packed per transaction by the upgrade. */
#define LINES_UPGRADE_ROWS 4096

struct _JsyncLineDict
{
  gint refs;
  guint32 id;               /* jsync_dicts.id, the frames' dictionary id */
  GBytes *bytes;
  ZSTD_CDict *cdict;
  ZSTD_DDict *ddict;
};

/* What reads the lines of one connection: the dictionaries met so far. */
struct _JsyncLineCodec
{
  sqlite3 *db;              /* borrowed */
  GHashTable *dicts;        /* id → JsyncLineDict* (a reference) */
  ZSTD_DCtx *dctx;
};

struct _JsyncPacker
{
  ZSTD_CCtx *cctx;
  JsyncLineDict *dict;      /* nullable: none yet, or none trained */
  guint32 next_id;          /* the id a dictionary trained here takes */
  GByteArray *sample;       /* nullable: the lines to train on */
  GArray *sample_lengths;   /* of size_t */
};

static JsyncLineDict *
lines_dict_new (guint32 id, GBytes *bytes)
{
  JsyncLineDict *dict;
  gsize size;
  gconstpointer data = g_bytes_get_data (bytes, &size);
  ZSTD_DDict *ddict = ZSTD_createDDict (data, size);

  if (ddict == NULL || ZSTD_getDictID_fromDDict (ddict) != id)
    {
      ZSTD_freeDDict (ddict);
      return NULL;
    }
  dict = g_new0 (JsyncLineDict, 1);
  dict->refs = 1;
  dict->id = id;
  dict->bytes = g_bytes_ref (bytes);
  dict->ddict = ddict;
  dict->cdict = ZSTD_createCDict (data, size, LINES_LEVEL);
  return dict;
}

JsyncLineDict *
jsync_line_dict_ref (JsyncLineDict *dict)
{
  g_atomic_int_inc (&dict->refs);
  return dict;
}

void
jsync_line_dict_unref (JsyncLineDict *dict)
{
  if (dict == NULL || !g_atomic_int_dec_and_test (&dict->refs))
    return;
  ZSTD_freeCDict (dict->cdict);
  ZSTD_freeDDict (dict->ddict);
  g_bytes_unref (dict->bytes);
  g_free (dict);
}

guint32
jsync_line_dict_get_id (const JsyncLineDict *dict)
{
  return dict->id;
}

/* --- Reading lines ------------------------------------------------------- */

/* Whether `data` is a zstd frame rather than a line's bytes. */
static gboolean
lines_is_frame (const void *data, gsize length)
{
  static const guint8 magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

  return length >= sizeof magic && memcmp (data, magic, sizeof magic) == 0;
}

/* The dictionary `id` of the connection, read from jsync_dicts the first
 * time; NULL with *why when there is none. */
static JsyncLineDict *
lines_codec_dict (JsyncLineCodec *codec, guint32 id, char **why)
{
  JsyncLineDict *dict = g_hash_table_lookup (codec->dicts,
                                             GUINT_TO_POINTER (id));
  g_autoptr(GBytes) bytes = NULL;
  sqlite3_stmt *stmt = NULL;

  if (dict != NULL)
    return dict;
  /* Prepared each time (once a dictionary per connection): a statement
   * kept here would keep the connection from closing, and so this codec
   * from being freed. */
  if (sqlite3_prepare_v2 (codec->db,
                          "SELECT dict FROM jsync_dicts WHERE id = ?1", -1,
                          &stmt, NULL) != SQLITE_OK)
    {
      *why = g_strdup_printf ("read jsync_dicts: %s",
                              sqlite3_errmsg (codec->db));
      return NULL;
    }
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    bytes = g_bytes_new (sqlite3_column_blob (stmt, 0),
                         sqlite3_column_bytes (stmt, 0));
  sqlite3_finalize (stmt);
  if (bytes == NULL)
    {
      *why = g_strdup_printf ("a line packed with dictionary %u, which"
                              " jsync_dicts does not hold", id);
      return NULL;
    }
  dict = lines_dict_new (id, bytes);
  if (dict == NULL)
    {
      *why = g_strdup_printf ("dictionary %u of jsync_dicts is damaged", id);
      return NULL;
    }
  g_hash_table_insert (codec->dicts, GUINT_TO_POINTER (id), dict);
  return dict;
}

/**
 * jsync_line_codec_unpack:
 * The line kept as `data` (its bytes, or a frame): NULL with *why when it
 * cannot be unpacked.  (transfer full: NUL-terminated, *length without
 * the NUL)
 */
char *
jsync_line_codec_unpack (JsyncLineCodec *codec, const void *data,
                         gsize length, gsize *line_length, char **why)
{
  unsigned long long size;
  JsyncLineDict *dict = NULL;
  unsigned id;
  char *line;
  size_t n;

  if (!lines_is_frame (data, length))
    {
      line = g_malloc (length + 1);
      memcpy (line, data, length);
      line[length] = '\0';
      *line_length = length;
      return line;
    }
  size = ZSTD_getFrameContentSize (data, length);
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN
      || size >= G_MAXSIZE)
    {
      *why = g_strdup ("a packed line with no valid size");
      return NULL;
    }
  id = ZSTD_getDictID_fromFrame (data, length);
  if (id != 0 && (dict = lines_codec_dict (codec, id, why)) == NULL)
    return NULL;
  line = g_malloc (size + 1);
  n = ZSTD_decompress_usingDDict (codec->dctx, line, size, data, length,
                                  dict != NULL ? dict->ddict : NULL);
  if (ZSTD_isError (n) || n != size)
    {
      *why = g_strdup_printf ("a packed line cannot be unpacked: %s",
                              ZSTD_isError (n) ? ZSTD_getErrorName (n)
                                               : "short");
      g_free (line);
      return NULL;
    }
  line[n] = '\0';
  *line_length = n;
  return line;
}

/* jsync_line(raw): the line, as the bytes it was read as. */
static void
lines_sql_line (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  JsyncLineCodec *codec = sqlite3_user_data (context);
  const void *data = sqlite3_value_blob (argv[0]);
  gsize length = sqlite3_value_bytes (argv[0]);
  g_autofree char *why = NULL;
  gsize line_length;
  char *line;

  if (!lines_is_frame (data, length))
    {
      sqlite3_result_value (context, argv[0]);
      return;
    }
  line = jsync_line_codec_unpack (codec, data, length, &line_length, &why);
  if (line == NULL)
    {
      sqlite3_result_error (context, why, -1);
      sqlite3_result_error_code (context, SQLITE_CORRUPT);
      return;
    }
  sqlite3_result_blob64 (context, line, line_length, g_free);
}

static void
lines_codec_free (void *data)
{
  JsyncLineCodec *codec = data;

  g_hash_table_unref (codec->dicts);
  ZSTD_freeDCtx (codec->dctx);
  g_free (codec);
}

/**
 * jsync_line_codec_add:
 * Give the connection the SQL function jsync_line(raw); the codec returned
 * lives as long as the connection.  (transfer none)
 */
JsyncLineCodec *
jsync_line_codec_add (sqlite3 *db)
{
  JsyncLineCodec *codec = g_new0 (JsyncLineCodec, 1);

  codec->db = db;
  codec->dicts = g_hash_table_new_full (NULL, NULL, NULL,
                                        (GDestroyNotify) jsync_line_dict_unref);
  codec->dctx = ZSTD_createDCtx ();
  if (sqlite3_create_function_v2 (db, "jsync_line", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC, codec,
                                  lines_sql_line, NULL, NULL,
                                  lines_codec_free) != SQLITE_OK)
    return NULL;
  return codec;
}

/* --- Packing lines ------------------------------------------------------- */

/* Pack with `dict` (nullable) from now on. */
static void
lines_packer_set_dict (JsyncPacker *packer, JsyncLineDict *dict)
{
  packer->dict = dict;
  if (dict != NULL)
    ZSTD_CCtx_refCDict (packer->cctx, dict->cdict);
}

static JsyncPacker *
lines_packer_new (JsyncLineDict *dict, guint32 next_id)
{
  JsyncPacker *packer = g_new0 (JsyncPacker, 1);

  packer->cctx = ZSTD_createCCtx ();
  /* The dictionary's id says which to unpack with (1 byte for the first
   * 255), the frame its line's size; no checksum: SQLite's pages are what
   * keep the bytes. */
  ZSTD_CCtx_setParameter (packer->cctx, ZSTD_c_compressionLevel,
                          LINES_LEVEL);
  ZSTD_CCtx_setParameter (packer->cctx, ZSTD_c_checksumFlag, 0);
  packer->next_id = next_id;
  lines_packer_set_dict (packer,
                         dict != NULL ? jsync_line_dict_ref (dict) : NULL);
  return packer;
}

void
jsync_packer_free (JsyncPacker *packer)
{
  if (packer == NULL)
    return;
  ZSTD_freeCCtx (packer->cctx);
  jsync_line_dict_unref (packer->dict);
  if (packer->sample != NULL)
    g_byte_array_unref (packer->sample);
  if (packer->sample_lengths != NULL)
    g_array_unref (packer->sample_lengths);
  g_free (packer);
}

/**
 * jsync_packer_pack:
 * Pack a line: *packed is the frame (transfer full) and its length is
 * returned; when a frame would not be smaller than the line, *packed is
 * NULL and the line is to be kept as it is.
 */
gsize
jsync_packer_pack (JsyncPacker *packer, const char *line, gsize length,
                   char **packed)
{
  char *frame;
  size_t n;

  *packed = NULL;
  if (length < 16)
    return 0;
  /* Room for a frame smaller than the line only: a long line is not
   * held twice over (zstd says so when it does not fit). */
  frame = g_malloc (length - 1);
  n = ZSTD_compress2 (packer->cctx, frame, length - 1, line, length);
  if (ZSTD_isError (n))
    {
      g_free (frame);
      return 0;
    }
  *packed = n < length / 2 ? g_realloc (frame, n) : frame;
  return n;
}

/**
 * jsync_packer_get_dict:
 * The dictionary the lines are packed with, NULL if none: it must be in
 * jsync_dicts before a row packed with it is (jsync_store_dict_save()).
 * (transfer none)
 */
JsyncLineDict *
jsync_packer_get_dict (JsyncPacker *packer)
{
  return packer->dict;
}

/* The pieces jsync_unpacker_next() gives, at most. */
#define LINES_PIECE_BYTES (1024 * 1024)

struct _JsyncUnpacker
{
  ZSTD_DCtx *dctx;
  ZSTD_inBuffer in;         /* the frame, borrowed */
  char *piece;              /* owned: LINES_PIECE_BYTES */
  gboolean done;
};

/**
 * jsync_unpacker_new:
 * Unpack `frame` (borrowed: it must outlive the unpacker), made by
 * `packer` with its dictionary of now, a piece at a time.
 */
JsyncUnpacker *
jsync_unpacker_new (JsyncPacker *packer, const void *frame, gsize length)
{
  JsyncUnpacker *unpacker = g_new0 (JsyncUnpacker, 1);

  unpacker->dctx = ZSTD_createDCtx ();
  if (packer->dict != NULL)
    ZSTD_DCtx_refDDict (unpacker->dctx, packer->dict->ddict);
  unpacker->in.src = frame;
  unpacker->in.size = length;
  unpacker->piece = g_malloc (LINES_PIECE_BYTES);
  return unpacker;
}

/**
 * jsync_unpacker_next:
 * The next piece of the line; FALSE at its end, or with *why.
 */
gboolean
jsync_unpacker_next (JsyncUnpacker *unpacker, const char **piece,
                     gsize *length, char **why)
{
  while (!unpacker->done)
    {
      ZSTD_outBuffer out = { unpacker->piece, LINES_PIECE_BYTES, 0 };
      size_t left = ZSTD_decompressStream (unpacker->dctx, &out,
                                           &unpacker->in);

      if (ZSTD_isError (left))
        {
          *why = g_strdup_printf ("a packed line cannot be unpacked: %s",
                                  ZSTD_getErrorName (left));
          return FALSE;
        }
      unpacker->done = left == 0;
      if (out.pos > 0)
        {
          *piece = unpacker->piece;
          *length = out.pos;
          return TRUE;
        }
      if (!unpacker->done && unpacker->in.pos == unpacker->in.size)
        {
          *why = g_strdup ("a packed line cannot be unpacked: it is cut short");
          return FALSE;
        }
    }
  return FALSE;
}

void
jsync_unpacker_free (JsyncUnpacker *unpacker)
{
  if (unpacker == NULL)
    return;
  ZSTD_freeDCtx (unpacker->dctx);
  g_free (unpacker->piece);
  g_free (unpacker);
}

/**
 * jsync_packer_wants_sample:
 * Whether the packer is to be given the first lines (jsync_packer_sample)
 * and train on them (jsync_packer_train) before it packs any.
 */
gboolean
jsync_packer_wants_sample (JsyncPacker *packer)
{
  return packer->sample != NULL;
}

/**
 * jsync_packer_sample:
 * Add a line to the sample (unless it is too long to be one); TRUE when
 * it is full (train now).
 */
gboolean
jsync_packer_sample (JsyncPacker *packer, const char *line, gsize length)
{
  size_t size = length;

  if (length > LINES_SAMPLE_MAX_LINE)
    return FALSE;
  g_byte_array_append (packer->sample, (const guint8 *) line, length);
  g_array_append_val (packer->sample_lengths, size);
  return packer->sample->len >= LINES_SAMPLE_BYTES;
}

/* Train a dictionary of id `id` on `samples` (lengths[] bytes each, one
 * after the other); NULL when they are too few or training fails. */
static JsyncLineDict *
lines_train (guint32 id, const guint8 *samples, const size_t *lengths,
             guint n_samples, gsize total)
{
  ZDICT_fastCover_params_t params = { 0 };
  g_autofree guint8 *buffer = NULL;
  g_autoptr(GBytes) bytes = NULL;
  size_t size;

  if (total < LINES_SAMPLE_MIN_BYTES || n_samples < LINES_SAMPLE_MIN_LINES)
    return NULL;
  /* fastCover with fixed parameters: a tenth of a second on 2 MB, where
   * searching them (ZDICT_trainFromBuffer) takes three times as long for
   * the same ratio. */
  params.k = 1024;
  params.d = 8;
  params.f = 20;
  params.accel = 1;
  params.zParams.compressionLevel = LINES_LEVEL;
  params.zParams.dictID = id;
  buffer = g_malloc (LINES_DICT_BYTES);
  size = ZDICT_trainFromBuffer_fastCover (buffer, LINES_DICT_BYTES, samples,
                                          lengths, n_samples, params);
  if (ZDICT_isError (size))
    {
      g_debug ("no dictionary trained: %s", ZDICT_getErrorName (size));
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&buffer), size);
  return lines_dict_new (id, bytes);
}

/**
 * jsync_packer_train:
 * Train the dictionary on the sample given so far (none when it is too
 * small); the packer then packs with it.
 */
void
jsync_packer_train (JsyncPacker *packer)
{
  if (packer->sample == NULL)
    return;
  lines_packer_set_dict (packer,
                         lines_train (packer->next_id, packer->sample->data,
                                      (const size_t *)
                                        packer->sample_lengths->data,
                                      packer->sample_lengths->len,
                                      packer->sample->len));
  g_clear_pointer (&packer->sample, g_byte_array_unref);
  g_clear_pointer (&packer->sample_lengths, g_array_unref);
}

/* --- The store's dictionaries -------------------------------------------- */

/* The newest dictionary of the cache into store->dict (NULL: none), and
 * the id the next takes. */
static gboolean
lines_load_newest (JsyncStore *store, guint32 *next_id, GError **error)
{
  g_autofree char *why = NULL;
  gint64 id = 0;

  if (!jsync_store_query_int (store,
                              "SELECT ifnull(max(id), 0) FROM jsync_dicts",
                              &id, error))
    return FALSE;
  *next_id = id + 1;
  store->dict = NULL;
  if (id == 0)
    return TRUE;
  store->dict = lines_codec_dict (store->codec, id, &why);
  if (store->dict == NULL)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CORRUPT, "%s: %s",
                   store->path, why);
      return FALSE;
    }
  return TRUE;
}

/**
 * jsync_store_dict_save:
 * Write a dictionary into jsync_dicts (in the open transaction), unless
 * the cache holds it already; the store then packs with it.
 */
gboolean
jsync_store_dict_save (JsyncStore *store, JsyncLineDict *dict,
                       GError **error)
{
  sqlite3_stmt *stmt;
  gsize size;
  gconstpointer data;
  gboolean ok;

  if (g_hash_table_lookup (store->codec->dicts, GUINT_TO_POINTER (dict->id))
      == dict)
    return TRUE;
  stmt = jsync_store_prepare (store,
                              "INSERT OR IGNORE INTO jsync_dicts (id, dict)"
                              " VALUES (?1, ?2)", "write jsync_dicts", error);
  if (stmt == NULL)
    return FALSE;
  data = g_bytes_get_data (dict->bytes, &size);
  sqlite3_bind_int64 (stmt, 1, dict->id);
  sqlite3_bind_blob (stmt, 2, data, size, SQLITE_STATIC);
  ok = jsync_store_run (store, stmt, error);
  sqlite3_finalize (stmt);
  if (!ok)
    return FALSE;
  g_hash_table_replace (store->codec->dicts, GUINT_TO_POINTER (dict->id),
                        jsync_line_dict_ref (dict));
  store->dict = dict;
  g_clear_pointer (&store->packer, jsync_packer_free);
  return TRUE;
}

/**
 * jsync_store_lines_rolled_back:
 * After a rollback: the dictionaries written in it are gone, and are
 * read again from the file when needed.
 */
void
jsync_store_lines_rolled_back (JsyncStore *store)
{
  if (store->codec == NULL)
    return;
  g_hash_table_remove_all (store->codec->dicts);
  store->dict = NULL;
  store->dict_known = FALSE;
  g_clear_pointer (&store->packer, jsync_packer_free);
}

/* A sample of the lines the cache holds, the first ones up to
 * LINES_SAMPLE_BYTES; a dictionary trained on it, with id `id` (NULL when
 * they are too few). */
static gboolean
lines_train_on_stored (JsyncStore *store, guint32 id, JsyncLineDict **dict,
                       GError **error)
{
  g_autoptr(GByteArray) sample = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (size_t));
  sqlite3_stmt *stmt;
  int rc;

  *dict = NULL;
  stmt = jsync_store_prepare (store,
                              "SELECT jsync_line(raw) FROM jsync_events"
                              " WHERE length <= ?1", "read the stored lines",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, LINES_SAMPLE_MAX_LINE);
  while (sample->len < LINES_SAMPLE_BYTES
         && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      size_t length = sqlite3_column_bytes (stmt, 0);

      g_byte_array_append (sample, sqlite3_column_blob (stmt, 0), length);
      g_array_append_val (lengths, length);
    }
  if (sample->len < LINES_SAMPLE_BYTES && rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "read the stored lines");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);
  *dict = lines_train (id, sample->data, (const size_t *) lengths->data,
                       lengths->len, sample->len);
  return TRUE;
}

/* The cache's dictionary into store->dict: the newest of jsync_dicts; if
 * there is none and the cache holds enough lines, one trained on them and
 * written (in a transaction of its own, or in the one open).  *next_id:
 * the id a dictionary trained later takes. */
static gboolean
lines_prepare_dict (JsyncStore *store, guint32 *next_id, GError **error)
{
  JsyncLineDict *trained = NULL;
  gboolean began = FALSE;
  gint64 bytes = 0;
  gboolean ok;

  if (!lines_load_newest (store, next_id, error))
    return FALSE;
  store->dict_known = TRUE;
  store->dict_next_id = *next_id;
  if (store->dict != NULL)
    return TRUE;
  /* (The first rows only: a cache without a dictionary is small, or its
   * lines did not train one.) */
  if (!jsync_store_query_int (store,
                              "SELECT ifnull(sum(length), 0) FROM (SELECT"
                              " length FROM jsync_events LIMIT 4096)",
                              &bytes, error))
    return FALSE;
  if (bytes < LINES_SAMPLE_MIN_BYTES)
    return TRUE;
  if (!lines_train_on_stored (store, *next_id, &trained, error))
    return FALSE;
  if (trained == NULL)
    return TRUE;
  if (!store->in_transaction)
    {
      if (!jsync_store_begin (store, error))
        {
          jsync_line_dict_unref (trained);
          return FALSE;
        }
      began = TRUE;
    }
  ok = jsync_store_dict_save (store, trained, error)
       && (!began || jsync_store_commit (store, error));
  if (!ok && began)
    jsync_store_rollback (store);
  jsync_line_dict_unref (trained);
  if (ok)
    *next_id = store->dict_next_id = store->dict->id + 1;
  return ok;
}

/**
 * jsync_store_packer_new:
 * A packer for the lines a run reads, to be used by one thread at a time:
 * with the cache's dictionary; else, when the cache holds enough lines,
 * with one trained on them now; else one that wants a sample of the lines
 * read first (jsync_packer_wants_sample()).
 */
JsyncPacker *
jsync_store_packer_new (JsyncStore *store, GError **error)
{
  JsyncPacker *packer;
  guint32 next_id;

  if (!lines_prepare_dict (store, &next_id, error))
    return NULL;
  packer = lines_packer_new (store->dict, next_id);
  if (store->dict == NULL)
    {
      packer->sample = g_byte_array_sized_new (LINES_SAMPLE_BYTES);
      packer->sample_lengths = g_array_new (FALSE, FALSE, sizeof (size_t));
    }
  return packer;
}

/* The store's own packer (this thread's), with its newest dictionary. */
static JsyncPacker *
lines_store_packer (JsyncStore *store, GError **error)
{
  guint32 next_id;

  if (store->packer != NULL)
    return store->packer;
  if (!store->dict_known)
    {
      if (!lines_load_newest (store, &next_id, error))
        return NULL;
      store->dict_known = TRUE;
      store->dict_next_id = next_id;
    }
  store->packer = lines_packer_new (store->dict, store->dict_next_id);
  return store->packer;
}

/**
 * jsync_store_pack_line:
 * Pack a line on the store's thread, with the cache's newest dictionary:
 * as jsync_packer_pack().  FALSE when the dictionary cannot be read.
 */
gboolean
jsync_store_pack_line (JsyncStore *store, const char *line, gsize length,
                       char **packed, gsize *packed_length, GError **error)
{
  JsyncPacker *packer = lines_store_packer (store, error);

  if (packer == NULL)
    return FALSE;
  *packed_length = jsync_packer_pack (packer, line, length, packed);
  return TRUE;
}

/* --- The upgrade --------------------------------------------------------- */

/* Pack the rows of jsync_events after `*after` (rowid), up to
 * LINES_UPGRADE_ROWS of them; *after is the last one, *done the bytes of
 * the lines, *more whether any is left. */
static gboolean
lines_pack_rows (JsyncStore *store, gint64 *after, guint64 *done,
                 gboolean *more, GError **error)
{
  sqlite3_stmt *read;
  sqlite3_stmt *write;
  gboolean ok = TRUE;
  guint n = 0;
  int rc = SQLITE_DONE;

  read = jsync_store_prepare (store,
                              "SELECT rowid, raw FROM jsync_events"
                              " WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                              "pack the stored lines", error);
  if (read == NULL)
    return FALSE;
  write = jsync_store_prepare (store,
                               "UPDATE jsync_events SET raw = ?2"
                               " WHERE rowid = ?1",
                               "pack the stored lines", error);
  if (write == NULL)
    {
      sqlite3_finalize (read);
      return FALSE;
    }
  sqlite3_bind_int64 (read, 1, *after);
  sqlite3_bind_int (read, 2, LINES_UPGRADE_ROWS);
  while (ok && (rc = sqlite3_step (read)) == SQLITE_ROW)
    {
      const void *data = sqlite3_column_blob (read, 1);
      gsize length = sqlite3_column_bytes (read, 1);
      g_autofree char *packed = NULL;
      gsize packed_length = 0;

      n++;
      *after = sqlite3_column_int64 (read, 0);
      *done += length;
      if (lines_is_frame (data, length))
        continue;
      ok = jsync_store_pack_line (store, data, length, &packed,
                                  &packed_length, error);
      if (!ok || packed == NULL)
        continue;
      sqlite3_bind_int64 (write, 1, *after);
      sqlite3_bind_blob (write, 2, packed, packed_length, SQLITE_STATIC);
      ok = jsync_store_run (store, write, error);
    }
  if (ok && rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      jsync_store_set_error (store, error, "pack the stored lines");
      ok = FALSE;
    }
  sqlite3_finalize (read);
  sqlite3_finalize (write);
  *more = n == LINES_UPGRADE_ROWS;
  return ok;
}

/**
 * jsync_store_upgrade_lines:
 * A cache written before lines were packed (core schema version 2): pack
 * every stored line, a transaction every LINES_UPGRADE_ROWS rows (a run
 * stopped halfway goes on where it stopped, as packed rows are left as
 * they are), then give the freed pages back to the file system.  Nothing
 * to do for any other cache.  `progress` (nullable) is told the bytes of
 * lines done, under the phase "upgrade".
 */
gboolean
jsync_store_upgrade_lines (JsyncStore *store, JsyncStoreProgressFunc progress,
                           gpointer progress_data, GError **error)
{
  gint64 total = 0;
  guint64 done = 0;
  gint64 after = 0;
  gboolean more = TRUE;
  guint32 next_id;

  if (!store->lines_unpacked)
    return TRUE;
  if (!jsync_store_query_int (store, "SELECT ifnull(sum(length), 0)"
                                     " FROM jsync_events", &total, error))
    return FALSE;
  g_message ("%s: packing the lines of its events (once: this version of"
             " jsync keeps them compressed)", store->path);
  if (!lines_prepare_dict (store, &next_id, error))
    return FALSE;
  while (more)
    {
      if (progress != NULL)
        progress ("upgrade", done, total, 0, progress_data);
      if (!jsync_store_begin (store, error))
        return FALSE;
      if (!lines_pack_rows (store, &after, &done, &more, error)
          || (!more
              && !jsync_store_exec (store,
                                    "DELETE FROM jsync_meta"
                                    " WHERE key = 'unpacked_lines'",
                                    error))
          || !jsync_store_commit (store, error))
        {
          jsync_store_rollback (store);
          return FALSE;
        }
    }
  store->lines_unpacked = FALSE;
  if (progress != NULL)
    progress ("upgrade", total, total, 0, progress_data);
  /* The pages the lines took are free: a copy of the file without them
   * (what a rebuild would write).  Without room for it, they are reused
   * as the cache grows. */
  if (sqlite3_exec (store->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
    g_message ("%s: the space the lines took is not given back: VACUUM:"
               " %s", store->path, sqlite3_errmsg (store->db));
  return TRUE;
}
