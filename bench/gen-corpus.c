/* gen-corpus.c: a realistic Nexus data folder for the benchmark.
 *
 *   jsync-gen-corpus --out DIR [--events N] [--seed S]
 *   jsync-gen-corpus --out DIR --append-percent P [--late] [--seed S]
 *
 * Writes DIR/conversations/conv_<uuid>.jsonl and DIR/workspaces/ws_<id>.jsonl
 * in the format of docs/format.md, as the Nexus plugin writes them: one JSON
 * object per line, appended as "\n" + line + "\n" (a tenth of the files by a
 * bulk writer, without blank lines), keys in Nexus's order.  The same seed
 * and size give the same bytes.
 *
 * What the folder holds, as a user's years of chat would:
 *   - one global clock; conversations one after another, sometimes resumed
 *     later (from another device); 3 devices with skewed clocks (0, +0.45 S
 *     and -S, with S = --clock-skew, 8 s by default), so a device that writes
 *     right after another, within the skew, sorts before it;
 *   - conversation lengths with a heavy tail (most a few turns, a few
 *     thousands), so thousands of files from a few hundred bytes to ~20 MB;
 *   - turns: a user message, an assistant message streamed by 1 to 12
 *     message_updated events each carrying the whole text so far (mostly
 *     messages and message updates), tool_calls arrays and their results,
 *     reasoning, alternatives (regenerate), deleted messages, title and
 *     settings changes, deleted conversations;
 *   - texts from a few words to several KB: markdown, code blocks with
 *     quotes and backslashes, and some accents, CJK, Cyrillic, Greek, Arabic
 *     and emoji;
 *   - workspaces: the default one created by every device, a few dozen
 *     more, sessions, lastAccessed updates, memory traces per tool call,
 *     saved and deleted states, renamed and deleted workspaces;
 *   - a few sync-tool conflict copies (Syncthing, Dropbox, "(1)") holding an
 *     earlier state of a conversation plus a few events of their own.
 *
 * --append-percent P appends P% of the folder's events (counted) as new
 * turns at the end of many existing conversations, new sessions and traces
 * in existing workspaces, and a few new conversations: the "1% new" case of
 * the benchmark.  New events come after each file's last timestamp.
 *
 * --late with --append-percent appends the same kinds of events, but as a
 * fourth device (a device id of its own) that was offline: each of its
 * sessions resumes an existing conversation that the others carried on
 * for hours after, at a moment inside the span its log already covers, in
 * a workspace whose log covers that moment, with a session of its own.
 * Its events land at the end of the files but sort among the events
 * already there: the "late 1%" case of the benchmark.
 *
 * Prints one JSON object on stdout: events written, files, bytes, the
 * events that sort before the last one their log held (backdated), the
 * device ids written as, and the count of each event type.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

/* 2024-06-01T00:00:00Z, ms */
#define GEN_EPOCH G_GINT64_CONSTANT (1717200000000)
#define GEN_N_DEVICES 3
/* The index of the offline device of --late, after the GEN_N_DEVICES. */
#define GEN_LATE_DEVICE GEN_N_DEVICES
/* How long a late session may run, ms: it starts at least that long
 * before the end of its conversation's log. */
#define GEN_LATE_ROOM G_GINT64_CONSTANT (4 * 3600 * 1000)
#define GEN_MAX_TURNS 4000

/* --- Random numbers: xoshiro256**, seeded by splitmix64 ------------------ */

typedef struct
{
  guint64 s[4];
} Rng;

static guint64
rng_splitmix (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void
rng_seed (Rng *rng, guint64 seed)
{
  for (guint i = 0; i < 4; i++)
    rng->s[i] = rng_splitmix (&seed);
}

static guint64
rng_rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
rng_next (Rng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rng_rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rng_rotl (s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double
rng_double (Rng *rng)
{
  return (rng_next (rng) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n). */
static guint64
rng_below (Rng *rng, guint64 n)
{
  return n == 0 ? 0 : rng_next (rng) % n;
}

/* Uniform in [lo, hi]. */
static gint64
rng_range (Rng *rng, gint64 lo, gint64 hi)
{
  return lo + (gint64) rng_below (rng, (guint64) (hi - lo + 1));
}

static gboolean
rng_chance (Rng *rng, double p)
{
  return rng_double (rng) < p;
}

static double
rng_normal (Rng *rng)
{
  double u = 1.0 - rng_double (rng);
  double v = rng_double (rng);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

/* Lognormal with the given median, clamped to [lo, hi]. */
static gint64
rng_lognormal (Rng *rng, double median, double sigma, gint64 lo, gint64 hi)
{
  double x = median * exp (sigma * rng_normal (rng));

  return CLAMP ((gint64) x, lo, hi);
}

/* A UUID v4 from the generator. */
static char *
rng_uuid (Rng *rng)
{
  guint64 a = rng_next (rng);
  guint64 b = rng_next (rng);

  return g_strdup_printf ("%08x-%04x-4%03x-%x%03x-%012" G_GINT64_MODIFIER "x",
                          (guint) (a >> 32), (guint) (a >> 16) & 0xffff,
                          (guint) a & 0xfff, 8 + (guint) (b >> 62),
                          (guint) (b >> 48) & 0xfff,
                          b & G_GUINT64_CONSTANT (0xffffffffffff));
}

/* --- Text --------------------------------------------------------------- */

static const char *const gen_words[] = {
  "the", "a", "of", "to", "and", "in", "is", "for", "with", "on", "as", "by",
  "this", "that", "from", "at", "or", "an", "be", "are", "it", "can", "not",
  "note", "notes", "vault", "workspace", "session", "memory", "trace", "agent",
  "prompt", "model", "embedding", "search", "query", "index", "cache", "sync",
  "device", "conflict", "merge", "backup", "folder", "file", "files", "link",
  "backlink", "tag", "tags", "frontmatter", "template", "markdown", "heading",
  "paragraph", "summary", "outline", "draft", "review", "edit", "rename",
  "move", "delete", "create", "update", "read", "write", "list", "table",
  "chart", "canvas", "graph", "plugin", "command", "setting", "settings",
  "project", "task", "tasks", "deadline", "milestone", "sprint", "backlog",
  "meeting", "agenda", "journal", "daily", "weekly", "monthly", "quarter",
  "report", "invoice", "budget", "revenue", "client", "customer", "paper",
  "thesis", "chapter", "essay", "lecture", "course", "exam", "homework",
  "research", "dataset", "experiment", "hypothesis", "results", "method",
  "citation", "quote", "highlight", "annotation", "article", "book",
  "reading", "recipe", "travel", "flight", "hotel", "itinerary", "garden",
  "idea", "ideas", "question", "answer", "explain", "compare", "analyze",
  "organize", "generate", "convert", "extract", "refactor", "optimize",
  "debug", "error", "timeout", "retry", "latency", "throughput", "benchmark",
  "performance", "bottleneck", "function", "module", "package", "script",
  "python", "typescript", "javascript", "shell", "regex", "json", "yaml",
  "api", "endpoint", "request", "response", "tool", "tools", "steps",
  "quick", "simple", "detailed", "concise", "large", "small", "important",
  "useful", "missing", "broken", "complete", "partial", "pending", "active",
  "archived", "recent", "older", "previous", "next", "first", "second",
  "however", "therefore", "also", "because", "although", "while", "when",
  "where", "why", "how", "which", "should", "could", "would", "will",
};

static const char *const gen_intl[] = {
  "café", "naïve", "résumé", "Zürich", "São Paulo", "jalapeño", "façade",
  "Ångström", "smörgåsbord", "Kraków", "déjà vu", "über", "niño",
  "日本語のメモ", "会議の議事録", "数据同步", "搜索结果", "검색 결과",
  "회의록", "Привет", "заметки", "Ελληνικά", "λ", "→", "≤", "€", "—", "…",
  "مرحبا", "שלום", "हिन्दी", "🙂", "🚀", "✅", "👍🏽", "🔥", "📚", "🇫🇷",
  "“quoted”", "‘single’",
};

static const char *const gen_folders[] = {
  "Inbox", "Projects", "Research", "Journal", "Archive/2024", "Work/Clients",
  "Courses", "Zettelkasten", "Dev/notes", "Recipes", "Travel",
};

static const char *const gen_tools[] = {
  "contentManager_createContent", "contentManager_readContent",
  "contentManager_replaceContent", "contentManager_appendContent",
  "vaultManager_moveNote", "vaultManager_listDirectory",
  "vaultLibrarian_searchContent", "vaultLibrarian_searchDirectory",
  "memoryManager_createState", "memoryManager_loadWorkspace",
  "commandManager_executeCommand", "agentManager_executePrompt",
};

static const char *const gen_trace_types[] = {
  "tool_call", "file_edit", "search", "research", "conversation", "checkpoint",
};

static void
text_word (Rng *rng, GString *out, gboolean capital)
{
  const char *word;

  if (rng_chance (rng, 0.025))
    word = gen_intl[rng_below (rng, G_N_ELEMENTS (gen_intl))];
  else
    word = gen_words[rng_below (rng, G_N_ELEMENTS (gen_words))];
  if (capital && g_ascii_islower (word[0]))
    {
      g_string_append_c (out, g_ascii_toupper (word[0]));
      g_string_append (out, word + 1);
    }
  else
    g_string_append (out, word);
}

static void
text_sentence (Rng *rng, GString *out)
{
  static const char *const ends[] = { ". ", ". ", ". ", "? ", "! ", ": " };
  guint n = rng_range (rng, 4, 22);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, rng_chance (rng, 0.06) ? ',' : ' ');
      if (i > 0 && out->str[out->len - 1] == ',')
        g_string_append_c (out, ' ');
      if (i > 0 && rng_chance (rng, 0.02))
        {
          g_string_append (out, "[[");
          text_word (rng, out, TRUE);
          g_string_append (out, "]] ");
        }
      text_word (rng, out, i == 0);
    }
  g_string_append (out, ends[rng_below (rng, G_N_ELEMENTS (ends))]);
}

static void
text_code_block (Rng *rng, GString *out)
{
  guint lines = rng_range (rng, 2, 14);

  g_string_append (out, rng_chance (rng, 0.5) ? "\n```typescript\n"
                                              : "\n```json\n");
  for (guint i = 0; i < lines; i++)
    {
      g_string_append_printf (out, "%*s", (int) rng_below (rng, 4) * 2, "");
      switch (rng_below (rng, 4))
        {
        case 0:
          g_string_append (out, "const ");
          text_word (rng, out, FALSE);
          g_string_append (out, " = \"");
          text_word (rng, out, FALSE);
          g_string_append (out, "\\\\n\";");
          break;
        case 1:
          g_string_append (out, "\"");
          text_word (rng, out, FALSE);
          g_string_append_printf (out, "\": %u,", (guint) rng_below (rng, 1000));
          break;
        case 2:
          g_string_append (out, "if (");
          text_word (rng, out, FALSE);
          g_string_append (out, " !== null) {\ttab}");
          break;
        default:
          g_string_append (out, "// ");
          text_sentence (rng, out);
          break;
        }
      g_string_append_c (out, '\n');
    }
  g_string_append (out, "```\n\n");
}

/* Text of about `target` bytes; markdown when `rich`. */
static void
text_make (Rng *rng, GString *out, gsize target, gboolean rich)
{
  gsize start = out->len;

  while (out->len - start < target)
    {
      double what = rng_double (rng);

      if (rich && what < 0.04)
        text_code_block (rng, out);
      else if (rich && what < 0.08)
        {
          guint items = rng_range (rng, 2, 6);

          for (guint i = 0; i < items; i++)
            {
              g_string_append (out, "\n- ");
              text_sentence (rng, out);
            }
          g_string_append (out, "\n\n");
        }
      else if (rich && what < 0.1)
        {
          g_string_append (out, "\n## ");
          text_word (rng, out, TRUE);
          g_string_append_c (out, ' ');
          text_word (rng, out, FALSE);
          g_string_append (out, "\n\n");
        }
      else
        {
          text_sentence (rng, out);
          if (rich && rng_chance (rng, 0.15))
            g_string_append (out, "\n\n");
        }
    }
  while (out->len > start && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
}

static char *
text_new (Rng *rng, gsize target, gboolean rich)
{
  GString *out = g_string_sized_new (target + 64);

  text_make (rng, out, target, rich);
  return g_string_free (out, FALSE);
}

/* The first ~`length` bytes of `text`, cut at a character boundary. */
static char *
text_prefix (const char *text, gsize length)
{
  gsize total = strlen (text);

  if (length >= total)
    return g_strdup (text);
  while (length > 0 && ((guchar) text[length] & 0xC0) == 0x80)
    length--;
  return g_strndup (text, length);
}

static char *
text_path (Rng *rng)
{
  g_autoptr(GString) name = g_string_new (NULL);

  g_string_append (name, gen_folders[rng_below (rng, G_N_ELEMENTS (gen_folders))]);
  g_string_append_c (name, '/');
  text_word (rng, name, TRUE);
  g_string_append_c (name, ' ');
  text_word (rng, name, FALSE);
  g_string_append (name, ".md");
  return g_string_free (g_steal_pointer (&name), FALSE);
}

/* --- The generator -------------------------------------------------------- */

/* What a conversation and a workspace have alike: one log, named after
 * the id. */
typedef struct
{
  char *id;                 /* owned */
  char *path;               /* owned: absolute */
  const char *key;          /* the routing key of its events */
  gint64 first_ts;          /* smallest timestamp before an append */
  gint64 last_ts;           /* largest timestamp written */
} GenLog;

typedef struct
{
  GenLog log;
  gboolean bulk;            /* written without blank lines */
  gboolean deleted;
  gint64 seq;               /* next sequenceNumber */
  gboolean titled;
  guint device;             /* last writer */
} Conv;

typedef struct
{
  GenLog log;
  FILE *file;               /* owned, opened on first write */
  gboolean created;
  gboolean deleted;
  char *session;            /* owned, nullable: current session */
  char *state;              /* owned, nullable: last saved state */
} Workspace;

typedef struct
{
  Rng rng;
  char *out;                /* owned: the data folder */
  char *devices[GEN_N_DEVICES + 1];  /* owned; the last one --late's */
  gint64 skew[GEN_N_DEVICES + 1];
  gint64 now;               /* true time, ms */
  guint64 limit;            /* events to write */
  guint64 events;
  guint64 bytes;
  guint64 files;
  guint64 backdated;        /* events before the last one of their log */
  GHashTable *types;        /* type → guint64 count, owned */
  GPtrArray *convs;         /* of Conv*, owned */
  GPtrArray *workspaces;    /* of Workspace*, owned; [0] is default */
  guint workspace_target;   /* how many workspaces to have */
  gboolean appending;
  gboolean late;            /* appending as GEN_LATE_DEVICE, backdated */
} Gen;

/* Name the log of `id` (taken): `folder`/`prefix`<id>.jsonl; its events
 * carry the id as `key`. */
static void
gen_log_init (GenLog *log, const char *out, const char *folder,
              const char *prefix, const char *key, char *id)
{
  g_autofree char *name = g_strconcat (prefix, id, ".jsonl", NULL);

  log->id = id;
  log->path = g_build_filename (out, folder, name, NULL);
  log->key = key;
}

static void
gen_log_clear (GenLog *log)
{
  g_free (log->id);
  g_free (log->path);
}

static void
conv_free (Conv *conv)
{
  gen_log_clear (&conv->log);
  g_free (conv);
}

static void
workspace_free (Workspace *ws)
{
  if (ws->file != NULL)
    fclose (ws->file);
  gen_log_clear (&ws->log);
  g_free (ws->session);
  g_free (ws->state);
  g_free (ws);
}

static gboolean
gen_full (Gen *gen)
{
  return gen->events >= gen->limit;
}

/* Events of `type` written so far. */
static guint64
gen_count (Gen *gen, const char *type)
{
  guint64 *count = g_hash_table_lookup (gen->types, type);

  return count != NULL ? *count : 0;
}

static guint
gen_pick_device (Gen *gen)
{
  double x;

  if (gen->late)
    return GEN_LATE_DEVICE;
  x = rng_double (&gen->rng);

  return x < 0.6 ? 0 : x < 0.9 ? 1 : 2;
}

/* The timestamp `device` writes at true time `t`. */
static gint64
gen_ts (Gen *gen, guint device, gint64 t)
{
  return t + gen->skew[device];
}

/* A new event object with its type: the caller adds the routing keys
 * (gen_log_event()) and data, then gen_write() adds id, deviceId and
 * timestamp. */
static json_object *
gen_event (const char *type)
{
  json_object *event = json_object_new_object ();

  json_object_object_add (event, "type", json_object_new_string (type));
  return event;
}

static void
gen_add_string (json_object *object, const char *key, const char *value)
{
  json_object_object_add (object, key, json_object_new_string (value));
}

static void
gen_add_int (json_object *object, const char *key, gint64 value)
{
  json_object_object_add (object, key, json_object_new_int64 (value));
}

/* With chance `p`, a plain text of about `length` characters under `key`
 * (the edits that change a name or a description now and then). */
static void
gen_maybe_add_text (Gen *gen, json_object *object, const char *key, double p,
                    gsize length)
{
  if (rng_chance (&gen->rng, p))
    {
      g_autofree char *text = text_new (&gen->rng, length, FALSE);

      gen_add_string (object, key, text);
    }
}

/* A new event of `log`'s conversation or workspace, with its routing key. */
static json_object *
gen_log_event (const char *type, const GenLog *log)
{
  json_object *event = gen_event (type);

  gen_add_string (event, log->key, log->id);
  return event;
}

/* Append the event to `file` as Nexus does, and count it. */
static void
gen_write (Gen *gen, FILE *file, gboolean bulk, json_object *event,
           guint device, gint64 ts)
{
  g_autofree char *id = rng_uuid (&gen->rng);
  json_object *type = json_object_object_get (event, "type");
  const char *line;
  size_t length;
  guint64 *count;

  gen_add_string (event, "id", id);
  gen_add_string (event, "deviceId", gen->devices[device]);
  gen_add_int (event, "timestamp", ts);
  line = json_object_to_json_string_length (
      event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);
  if (!bulk && ftell (file) > 0)
    {
      fputc ('\n', file);
      gen->bytes++;
    }
  fwrite (line, 1, length, file);
  fputc ('\n', file);
  gen->bytes += length + 1;
  gen->events++;
  count = g_hash_table_lookup (gen->types, json_object_get_string (type));
  if (count == NULL)
    {
      count = g_new0 (guint64, 1);
      g_hash_table_insert (gen->types, g_strdup (json_object_get_string (type)),
                           count);
    }
  (*count)++;
  json_object_put (event);
}

static FILE *
gen_open (Gen *gen, const char *path)
{
  FILE *file = fopen (path, "a");

  if (file == NULL)
    {
      g_printerr ("%s: %s\n", path, g_strerror (errno));
      exit (1);
    }
  setvbuf (file, NULL, _IOFBF, 256 * 1024);
  /* ftell() then tells whether the file is empty. */
  fseek (file, 0, SEEK_END);
  return file;
}

static void
gen_close (FILE *file, const char *path)
{
  if (ferror (file) || fclose (file) != 0)
    {
      g_printerr ("%s: write failed: %s\n", path, g_strerror (errno));
      exit (1);
    }
}

/* --- Workspaces */

static Workspace *
gen_workspace_new (Gen *gen, const char *id)
{
  Workspace *ws = g_new0 (Workspace, 1);

  gen_log_init (&ws->log, gen->out, "workspaces", "ws_", "workspaceId",
                g_strdup (id));
  g_ptr_array_add (gen->workspaces, ws);
  gen->files++;
  return ws;
}

/* Events written one after another are 0 to 3 ms apart: a quarter of them
 * share their millisecond (ties in the order are broken by event id, not
 * by file position). */
static gint64
gen_step (Gen *gen, gint64 t)
{
  if (t != gen->now)
    return t;
  gen->now += rng_below (&gen->rng, 4);
  return gen->now;
}

/* Write `event` at true time `t` to `log` through `*file` (opened when
 * NULL), with `data` (taken, nullable) as its last member; FALSE when the
 * corpus is full and the event is dropped. */
static gboolean
gen_log_write (Gen *gen, GenLog *log, FILE **file, gboolean bulk,
               json_object *event, json_object *data, guint device, gint64 t)
{
  gint64 ts = gen_ts (gen, device, gen_step (gen, t));

  if (data != NULL)
    json_object_object_add (event, "data", data);
  if (gen_full (gen))
    {
      json_object_put (event);
      return FALSE;
    }
  if (*file == NULL)
    *file = gen_open (gen, log->path);
  gen_write (gen, *file, bulk, event, device, ts);
  gen->backdated += ts < log->last_ts;
  log->last_ts = MAX (log->last_ts, ts);
  return TRUE;
}

/* Write `event` now to the workspace's log (gen_log_write()). */
static void
gen_ws_write (Gen *gen, Workspace *ws, json_object *event, json_object *data,
              guint device)
{
  gen_log_write (gen, &ws->log, &ws->file, FALSE, event, data, device,
                 gen->now);
}

static void
gen_workspace_created (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_event ("workspace_created");
  json_object *data = json_object_new_object ();
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;

  if (strcmp (ws->log.id, "default") == 0)
    {
      name = g_strdup ("Default Workspace");
      description = g_strdup ("Default workspace for tool calls without"
                              " explicit workspace context");
    }
  else
    {
      name = text_new (&gen->rng, rng_range (&gen->rng, 8, 30), FALSE);
      description = text_new (&gen->rng, rng_range (&gen->rng, 30, 300),
                              FALSE);
    }
  gen_add_string (data, "id", ws->log.id);
  gen_add_string (data, "name", name);
  gen_add_string (data, "description", description);
  gen_add_string (data, "rootFolder",
                  strcmp (ws->log.id, "default") == 0
                    ? "/" : gen_folders[rng_below (&gen->rng,
                                                   G_N_ELEMENTS (gen_folders))]);
  gen_add_int (data, "created", gen->now);
  if (rng_chance (&gen->rng, 0.3))
    {
      g_autofree char *context = g_strdup_printf (
          "{\"purpose\":\"%s\",\"keyFiles\":[\"%s\"]}", "research",
          "Projects/plan.md");

      gen_add_string (data, "contextJson", context);
    }
  gen_ws_write (gen, ws, event, data, device);
  ws->created = TRUE;
}

static void
gen_workspace_updated (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("workspace_updated", &ws->log);
  json_object *data = json_object_new_object ();

  gen_maybe_add_text (gen, data, "name", 0.03, 20);
  gen_maybe_add_text (gen, data, "description", 0.02, 120);
  if (rng_chance (&gen->rng, 0.02))
    json_object_object_add (data, "isActive",
                            json_object_new_boolean (rng_chance (&gen->rng,
                                                                 0.8)));
  gen_add_int (data, "lastAccessed", gen->now);
  gen_ws_write (gen, ws, event, data, device);
}

static void
gen_session_created (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("session_created", &ws->log);
  json_object *data = json_object_new_object ();
  g_autofree char *name = NULL;

  g_free (ws->session);
  ws->session = rng_uuid (&gen->rng);
  name = g_strdup_printf ("Session %" G_GINT64_FORMAT, gen->now / 1000);
  gen_add_string (data, "id", ws->session);
  gen_add_string (data, "name", name);
  if (rng_chance (&gen->rng, 0.7))
    gen_add_string (data, "description", "Nexus chat");
  gen_add_int (data, "startTime", gen->now);
  gen_ws_write (gen, ws, event, data, device);
}

static void
gen_session_updated (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("session_updated", &ws->log);
  json_object *data = json_object_new_object ();

  gen_add_string (event, "sessionId", ws->session);
  gen_add_int (data, "endTime", gen->now);
  json_object_object_add (data, "isActive", json_object_new_boolean (FALSE));
  gen_maybe_add_text (gen, data, "name", 0.2, 25);
  gen_ws_write (gen, ws, event, data, device);
}

static void
gen_trace_added (Gen *gen, Workspace *ws, guint device, const char *tool)
{
  json_object *event = gen_log_event ("trace_added", &ws->log);
  json_object *data = json_object_new_object ();
  json_object *meta = json_object_new_object ();
  json_object *params = json_object_new_object ();
  json_object *result = json_object_new_object ();
  json_object *related = json_object_new_array ();
  g_autofree char *id = rng_uuid (&gen->rng);
  g_autofree char *content = text_new (&gen->rng,
                                       rng_lognormal (&gen->rng, 180, 0.6,
                                                      20, 3000), FALSE);
  g_autofree char *summary = text_new (&gen->rng,
                                       rng_lognormal (&gen->rng, 250, 0.8,
                                                      20, 4000), FALSE);
  g_autofree char *path = text_path (&gen->rng);
  guint n_related = rng_below (&gen->rng, 4);

  gen_add_string (event, "sessionId", ws->session);
  gen_add_string (data, "id", id);
  gen_add_string (data, "content", content);
  gen_add_string (data, "traceType",
                  gen_trace_types[rng_below (&gen->rng,
                                             G_N_ELEMENTS (gen_trace_types))]);
  gen_add_string (meta, "tool", tool);
  gen_add_string (params, "path", path);
  json_object_object_add (meta, "params", params);
  json_object_object_add (result, "success", json_object_new_boolean (TRUE));
  gen_add_string (result, "summary", summary);
  json_object_object_add (meta, "result", result);
  for (guint i = 0; i < n_related; i++)
    {
      g_autofree char *related_path = text_path (&gen->rng);

      json_object_array_add (related, json_object_new_string (related_path));
    }
  json_object_object_add (meta, "relatedFiles", related);
  gen_add_string (data, "metadataJson",
                  json_object_to_json_string_ext (
                      meta, JSON_C_TO_STRING_PLAIN
                              | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (meta);
  gen_ws_write (gen, ws, event, data, device);
}

static void
gen_state_saved (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("state_saved", &ws->log);
  json_object *data = json_object_new_object ();
  json_object *state = json_object_new_object ();
  json_object *tags = json_object_new_array ();
  g_autofree char *name = text_new (&gen->rng, 24, FALSE);
  g_autofree char *summary = text_new (&gen->rng,
                                       rng_lognormal (&gen->rng, 800, 0.7,
                                                      50, 8000), TRUE);

  g_free (ws->state);
  ws->state = rng_uuid (&gen->rng);
  gen_add_string (event, "sessionId", ws->session);
  gen_add_string (data, "id", ws->state);
  gen_add_string (data, "name", name);
  if (rng_chance (&gen->rng, 0.5))
    gen_add_string (data, "description", "Checkpoint before a large edit");
  gen_add_int (data, "created", gen->now);
  gen_add_string (state, "conversationSummary", summary);
  gen_add_string (state, "activeFile", "Projects/plan.md");
  gen_add_int (state, "savedAt", gen->now);
  gen_add_string (data, "stateJson",
                  json_object_to_json_string_ext (
                      state, JSON_C_TO_STRING_PLAIN
                               | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (state);
  json_object_array_add (tags, json_object_new_string ("checkpoint"));
  if (rng_chance (&gen->rng, 0.5))
    json_object_array_add (tags, json_object_new_string ("draft"));
  json_object_object_add (data, "tags", tags);
  gen_ws_write (gen, ws, event, data, device);
}

static void
gen_state_deleted (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("state_deleted", &ws->log);

  gen_add_string (event, "sessionId", ws->session);
  gen_add_string (event, "stateId", ws->state);
  gen_ws_write (gen, ws, event, NULL, device);
  g_clear_pointer (&ws->state, g_free);
}

static void
gen_workspace_deleted (Gen *gen, Workspace *ws, guint device)
{
  json_object *event = gen_log_event ("workspace_deleted", &ws->log);

  gen_ws_write (gen, ws, event, NULL, device);
  ws->deleted = TRUE;
}

/* The workspace a conversation works in: the default one most often. */
static Workspace *
gen_pick_workspace (Gen *gen, guint device)
{
  Workspace *ws;
  guint live = 0;

  /* A new workspace now and then, until there are enough. */
  for (guint i = 0; i < gen->workspaces->len; i++)
    live += !((Workspace *) gen->workspaces->pdata[i])->deleted;
  if (!gen->appending && live < gen->workspace_target
      && rng_chance (&gen->rng, 0.02))
    {
      g_autofree char *id = rng_uuid (&gen->rng);

      ws = gen_workspace_new (gen, id);
      gen_workspace_created (gen, ws, device);
      return ws;
    }
  if (rng_chance (&gen->rng, 0.55) || gen->workspaces->len == 1)
    ws = gen->workspaces->pdata[0];
  else
    ws = gen->workspaces->pdata[rng_range (&gen->rng, 1,
                                           gen->workspaces->len - 1)];
  /* A late session works in a workspace that existed then. */
  if (ws->deleted
      || (gen->late && (gen->now < ws->log.first_ts
                        || gen->now > ws->log.last_ts)))
    ws = gen->workspaces->pdata[0];
  if (!ws->created && !gen->appending)
    gen_workspace_created (gen, ws, device);
  return ws;
}

/* --- Conversations */

/* Write `event` at true time `t` to the conversation's open `file`
 * (gen_log_write()). */
static void
gen_conv_write (Gen *gen, Conv *conv, FILE *file, json_object *event,
                json_object *data, guint device, gint64 t)
{
  if (gen_log_write (gen, &conv->log, &file, conv->bulk, event, data, device,
                     t))
    conv->device = device;
}

static void
gen_metadata (Gen *gen, Conv *conv, FILE *file, guint device)
{
  json_object *event = gen_event ("metadata");
  json_object *data = json_object_new_object ();

  gen_add_string (data, "id", conv->log.id);
  gen_add_string (data, "title", "New conversation");
  gen_add_int (data, "created", gen->now);
  gen_add_string (data, "vault", "MyVault");
  if (rng_chance (&gen->rng, 0.3))
    {
      json_object *settings = json_object_new_object ();

      gen_add_string (settings, "provider", "anthropic");
      gen_add_string (settings, "model", "claude-sonnet-4");
      json_object_object_add (settings, "temperature",
                              json_object_new_double (0.7));
      json_object_object_add (data, "settings", settings);
    }
  gen_conv_write (gen, conv, file, event, data, device, gen->now);
}

static void
gen_conversation_updated (Gen *gen, Conv *conv, FILE *file, guint device,
                          gint64 t, gboolean title)
{
  json_object *event = gen_log_event ("conversation_updated",
                                      &conv->log);
  json_object *data = json_object_new_object ();

  if (title)
    {
      g_autofree char *text = text_new (&gen->rng,
                                        rng_range (&gen->rng, 12, 60), FALSE);

      gen_add_string (data, "title", text);
    }
  if (rng_chance (&gen->rng, 0.05))
    {
      json_object *settings = json_object_new_object ();

      gen_add_string (settings, "model", "claude-opus-4");
      json_object_object_add (data, "settings", settings);
    }
  gen_add_int (data, "updated", t);
  gen_conv_write (gen, conv, file, event, data, device, t);
}

/* A tool_calls array; with `results`, each call carries its result. */
static json_object *
gen_tool_calls (Gen *gen, char **ids, char **names, char **paths, guint n,
                gboolean results)
{
  json_object *calls = json_object_new_array ();

  for (guint i = 0; i < n; i++)
    {
      json_object *call = json_object_new_object ();
      json_object *function = json_object_new_object ();
      json_object *params = json_object_new_object ();
      g_autofree char *arguments = NULL;

      gen_add_string (call, "id", ids[i]);
      gen_add_string (call, "type", "function");
      gen_add_string (function, "name", names[i]);
      gen_add_string (params, "path", paths[i]);
      arguments = g_strdup (json_object_to_json_string_ext (
          params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
      gen_add_string (function, "arguments", arguments);
      json_object_object_add (call, "function", function);
      gen_add_string (call, "name", names[i]);
      json_object_object_add (call, "parameters", params);
      if (results)
        {
          json_object *result = json_object_new_object ();
          g_autofree char *message = text_new (
              &gen->rng, rng_lognormal (&gen->rng, 200, 1.0, 10, 6000),
              rng_chance (&gen->rng, 0.3));

          json_object_object_add (result, "success",
                                  json_object_new_boolean (TRUE));
          gen_add_string (result, "message", message);
          json_object_object_add (call, "result", result);
          json_object_object_add (call, "success",
                                  json_object_new_boolean (TRUE));
        }
      json_object_array_add (calls, call);
    }
  return calls;
}

/* One exchange: the user's message, then the assistant's, streamed. */
static void
gen_turn (Gen *gen, Conv *conv, FILE *file, Workspace *ws, guint device)
{
  g_autofree char *user_id = rng_uuid (&gen->rng);
  g_autofree char *assistant_id = rng_uuid (&gen->rng);
  g_autofree char *user_text = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *reasoning = NULL;
  char *tool_ids[3] = { NULL }, *tool_names[3] = { NULL };
  char *tool_paths[3] = { NULL };
  guint n_tools = 0;
  guint updates;
  json_object *event, *data;

  /* The user's message. */
  gen->now += rng_lognormal (&gen->rng, 40000, 1.2, 2000, 3600000);
  user_text = text_new (&gen->rng,
                        rng_chance (&gen->rng, 0.05)
                          ? rng_range (&gen->rng, 2000, 9000)
                          : rng_lognormal (&gen->rng, 120, 1.0, 3, 4000),
                        FALSE);
  event = gen_log_event ("message", &conv->log);
  data = json_object_new_object ();
  gen_add_string (data, "id", user_id);
  gen_add_string (data, "role", "user");
  gen_add_string (data, "content", user_text);
  gen_add_string (data, "state", "complete");
  gen_add_int (data, "sequenceNumber", conv->seq++);
  gen_add_int (data, "activeAlternativeIndex", 0);
  gen_conv_write (gen, conv, file, event, data, device, gen->now);

  /* The assistant's message, empty, maybe calling tools. */
  gen->now += rng_range (&gen->rng, 150, 900);
  if (rng_chance (&gen->rng, 0.3))
    n_tools = rng_range (&gen->rng, 1, 3);
  for (guint i = 0; i < n_tools; i++)
    {
      g_autofree char *raw = rng_uuid (&gen->rng);

      tool_ids[i] = g_strdup_printf ("toolu_%.8s%.4s", raw, raw + 9);
      tool_names[i] = g_strdup (gen_tools[rng_below (&gen->rng,
                                                      G_N_ELEMENTS (gen_tools))]);
      tool_paths[i] = text_path (&gen->rng);
    }
  event = gen_log_event ("message", &conv->log);
  data = json_object_new_object ();
  gen_add_string (data, "id", assistant_id);
  gen_add_string (data, "role", "assistant");
  gen_add_string (data, "content", "");
  if (n_tools > 0)
    json_object_object_add (data, "tool_calls",
                            gen_tool_calls (gen, tool_ids, tool_names,
                                            tool_paths, n_tools, FALSE));
  gen_add_string (data, "state", "streaming");
  gen_add_int (data, "sequenceNumber", conv->seq++);
  gen_add_int (data, "activeAlternativeIndex", 0);
  gen_conv_write (gen, conv, file, event, data, device, gen->now);

  /* Tool results, and a memory trace per call. */
  if (n_tools > 0)
    {
      gen->now += rng_range (&gen->rng, 500, 8000);
      event = gen_log_event ("message_updated", &conv->log);
      gen_add_string (event, "messageId", assistant_id);
      data = json_object_new_object ();
      json_object_object_add (data, "tool_calls",
                              gen_tool_calls (gen, tool_ids, tool_names,
                                              tool_paths, n_tools, TRUE));
      gen_add_string (data, "state", "streaming");
      gen_conv_write (gen, conv, file, event, data, device, gen->now);
      for (guint i = 0; i < n_tools; i++)
        if (rng_chance (&gen->rng, 0.8))
          gen_trace_added (gen, ws, device, tool_names[i]);
    }

  /* The answer, streamed: each update carries the whole text so far. */
  answer = text_new (&gen->rng,
                     rng_lognormal (&gen->rng, 700, 0.9, 20, 12000), TRUE);
  if (rng_chance (&gen->rng, 0.2))
    reasoning = text_new (&gen->rng,
                          rng_lognormal (&gen->rng, 400, 0.8, 20, 5000),
                          FALSE);
  updates = 1 + MIN ((guint) (-log (1.0 - rng_double (&gen->rng)) * 2.5), 11);
  for (guint u = 1; u <= updates; u++)
    {
      gsize total = strlen (answer);
      g_autofree char *part = text_prefix (answer, total * u / updates);

      gen->now += rng_range (&gen->rng, 300, 2500);
      event = gen_log_event ("message_updated", &conv->log);
      gen_add_string (event, "messageId", assistant_id);
      data = json_object_new_object ();
      gen_add_string (data, "content", part);
      if (reasoning != NULL && (u == 1 || u == updates))
        gen_add_string (data, "reasoning", reasoning);
      gen_add_string (data, "state", u == updates ? "complete" : "streaming");
      gen_conv_write (gen, conv, file, event, data, device, gen->now);
    }

  /* The title after the first answer; updated now and then. */
  if (!conv->titled)
    {
      gen->now += rng_range (&gen->rng, 10, 60);
      gen_conversation_updated (gen, conv, file, device, gen->now, TRUE);
      conv->titled = TRUE;
    }
  else if (rng_chance (&gen->rng, 0.25))
    gen_conversation_updated (gen, conv, file, device, gen->now,
                              rng_chance (&gen->rng, 0.05));

  /* Regenerated answer: an alternative. */
  if (rng_chance (&gen->rng, 0.03))
    {
      json_object *alternatives = json_object_new_array ();
      json_object *alternative = json_object_new_object ();
      g_autofree char *alt_id = g_strdup_printf ("alt_%" G_GINT64_FORMAT,
                                                 gen->now);
      g_autofree char *other = text_new (
          &gen->rng, rng_lognormal (&gen->rng, 700, 0.8, 20, 8000), TRUE);

      gen->now += rng_range (&gen->rng, 5000, 60000);
      gen_add_string (alternative, "id", alt_id);
      gen_add_string (alternative, "content", other);
      gen_add_int (alternative, "timestamp", gen->now);
      gen_add_string (alternative, "state", "complete");
      json_object_array_add (alternatives, alternative);
      event = gen_log_event ("message_updated", &conv->log);
      gen_add_string (event, "messageId", assistant_id);
      data = json_object_new_object ();
      json_object_object_add (data, "alternatives", alternatives);
      gen_add_int (data, "activeAlternativeIndex", 1);
      gen_conv_write (gen, conv, file, event, data, device, gen->now);
    }

  /* A message deleted now and then. */
  if (rng_chance (&gen->rng, 0.006))
    {
      gen->now += rng_range (&gen->rng, 1000, 30000);
      event = gen_log_event ("message_deleted", &conv->log);
      gen_add_string (event, "messageId",
                      rng_chance (&gen->rng, 0.5) ? user_id : assistant_id);
      gen_conv_write (gen, conv, file, event, NULL, device, gen->now);
    }

  /* Another device renames the conversation at the same moment: with its
   * clock behind, its event sorts before the ones just written.  (The
   * late device writes alone.) */
  if (!gen->late && rng_chance (&gen->rng, 0.004))
    {
      guint other = (device + 1 + rng_below (&gen->rng, GEN_N_DEVICES - 1))
                    % GEN_N_DEVICES;

      gen_conversation_updated (gen, conv, file, other, gen->now, TRUE);
      conv->device = device;
    }

  for (guint i = 0; i < n_tools; i++)
    {
      g_free (tool_ids[i]);
      g_free (tool_names[i]);
      g_free (tool_paths[i]);
    }
}

/* How many turns a new conversation has: Pareto, most a few, some
 * thousands. */
static guint
gen_turns (Gen *gen)
{
  double u = 1.0 - rng_double (&gen->rng);
  double turns = 1.0 / pow (u, 1.0 / 1.15);

  return (guint) MIN (turns, (double) GEN_MAX_TURNS);
}

/* A session of work in one conversation: new or resumed. */
static void
gen_conversation (Gen *gen, Conv *conv, gboolean fresh, guint turns)
{
  guint device = gen_pick_device (gen);
  FILE *file = gen_open (gen, conv->log.path);
  Workspace *ws = gen_pick_workspace (gen, device);

  /* The late device has sessions and states of its own. */
  if (gen->late)
    {
      g_clear_pointer (&ws->session, g_free);
      g_clear_pointer (&ws->state, g_free);
    }
  if (fresh)
    gen_metadata (gen, conv, file, device);
  if (ws->session == NULL || rng_chance (&gen->rng, 0.4))
    gen_session_created (gen, ws, device);
  if (rng_chance (&gen->rng, 0.7))
    gen_workspace_updated (gen, ws, device);
  for (guint t = 0; t < turns && !gen_full (gen); t++)
    gen_turn (gen, conv, file, ws, device);
  if (rng_chance (&gen->rng, 0.3))
    gen_session_updated (gen, ws, device);
  if (rng_chance (&gen->rng, 0.04))
    gen_state_saved (gen, ws, device);
  else if (ws->state != NULL && rng_chance (&gen->rng, 0.05))
    gen_state_deleted (gen, ws, device);
  if (!gen->appending
      && (rng_chance (&gen->rng, 0.003)
          || (gen_count (gen, "conversation_deleted") == 0
              && gen->events > gen->limit / 2)))
    {
      gen->now += rng_range (&gen->rng, 60000, 86400000);
      gen_conv_write (gen, conv, file,
                      gen_log_event ("conversation_deleted", &conv->log),
                      NULL, device, gen->now);
      conv->deleted = TRUE;
    }
  if (!gen->appending && ws != gen->workspaces->pdata[0]
      && (rng_chance (&gen->rng, 0.002)
          || (gen_count (gen, "workspace_deleted") == 0
              && gen->events > gen->limit * 3 / 5)))
    gen_workspace_deleted (gen, ws, device);
  gen_close (file, conv->log.path);
}

static Conv *
gen_conv_new (Gen *gen)
{
  Conv *conv = g_new0 (Conv, 1);

  gen_log_init (&conv->log, gen->out, "conversations", "conv_",
                "conversationId", rng_uuid (&gen->rng));
  conv->bulk = rng_chance (&gen->rng, 0.1);
  g_ptr_array_add (gen->convs, conv);
  gen->files++;
  return conv;
}

/* --- Conflict copies */

/* Copy the first `length` bytes of `conv`'s file to a conflict copy, then
 * add events of its own from another device. */
static void
gen_conflict_copy (Gen *gen, Conv *conv)
{
  g_autofree char *contents = NULL;
  g_autofree char *copy_path = NULL;
  g_autofree char *base = NULL;
  gsize length, cut;
  FILE *file;
  guint device = (conv->device + 1) % GEN_N_DEVICES;
  guint own = rng_range (&gen->rng, 1, 3);
  Conv copy;

  if (!g_file_get_contents (conv->log.path, &contents, &length, NULL)
      || length < 2)
    return;
  /* Cut at a line end in the second half. */
  cut = length / 2 + rng_below (&gen->rng, length / 2);
  while (cut < length && contents[cut - 1] != '\n')
    cut++;
  base = g_strndup (conv->log.path, strlen (conv->log.path) - strlen (".jsonl"));
  switch (rng_below (&gen->rng, 3))
    {
    case 0:
      copy_path = g_strdup_printf ("%s.sync-conflict-20250314-101523-%.7s.jsonl",
                                   base, gen->devices[device]);
      break;
    case 1:
      copy_path = g_strdup_printf ("%s (MacBook Pro's conflicted copy"
                                   " 2025-03-14).jsonl", base);
      break;
    default:
      copy_path = g_strdup_printf ("%s (1).jsonl", base);
      break;
    }
  if (!g_file_set_contents (copy_path, contents, cut, NULL))
    {
      g_printerr ("%s: cannot write\n", copy_path);
      exit (1);
    }
  gen->files++;
  gen->bytes += cut;
  copy = *conv;
  file = gen_open (gen, copy_path);
  /* Its own events: a few updates a device made before the copies met. */
  for (guint i = 0; i < own; i++)
    {
      json_object *event = gen_log_event ("conversation_updated",
                                          &copy.log);
      json_object *data = json_object_new_object ();
      g_autofree char *title = text_new (&gen->rng, 30, FALSE);
      gint64 t = conv->log.last_ts - gen->skew[conv->device]
                 - rng_range (&gen->rng, 0, 3600000);

      gen_add_string (data, "title", title);
      gen_add_int (data, "updated", t);
      json_object_object_add (event, "data", data);
      gen->limit++;         /* not counted against --events */
      gen_write (gen, file, copy.bulk, event, device, gen_ts (gen, device, t));
    }
  gen_close (file, copy_path);
}

/* --- Append mode */

/* What an existing log says: its smallest and largest timestamps, the
 * device that wrote the largest, the next sequenceNumber, a session id. */
static void
gen_read_tail (GenLog *log, char **device, gint64 *seq, char **session)
{
  g_autofree char *contents = NULL;
  gsize length;
  char **lines;

  log->first_ts = G_MAXINT64;
  log->last_ts = 0;
  *seq = 0;
  *device = NULL;
  if (session != NULL)
    *session = NULL;
  if (!g_file_get_contents (log->path, &contents, &length, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      json_object *event, *field, *data;
      gint64 ts;

      if (lines[i][0] != '{')
        continue;
      event = json_tokener_parse (lines[i]);
      if (event == NULL)
        continue;
      ts = json_object_object_get_ex (event, "timestamp", &field)
             ? json_object_get_int64 (field) : -1;
      if (ts >= 0)
        log->first_ts = MIN (log->first_ts, ts);
      if (ts >= log->last_ts)
        {
          log->last_ts = ts;
          if (json_object_object_get_ex (event, "deviceId", &field))
            {
              g_free (*device);
              *device = g_strdup (json_object_get_string (field));
            }
        }
      if (json_object_object_get_ex (event, "data", &data)
          && json_object_object_get_ex (data, "sequenceNumber", &field))
        *seq = MAX (*seq, json_object_get_int64 (field) + 1);
      if (session != NULL
          && json_object_object_get_ex (event, "sessionId", &field))
        {
          g_free (*session);
          *session = g_strdup (json_object_get_string (field));
        }
      json_object_put (event);
    }
  g_strfreev (lines);
}

static gboolean
gen_is_conflict_copy (const char *name)
{
  return strstr (name, "sync-conflict") != NULL || strchr (name, '(') != NULL;
}

/* Non-blank lines of every log: the events of the folder. */
static guint64
gen_count_events (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 count = 0;

  if (handle == NULL)
    return 0;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize length;
      gboolean in_line = FALSE;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          count += gen_count_events (path);
          continue;
        }
      if (!g_str_has_suffix (name, ".jsonl")
          || !g_file_get_contents (path, &contents, &length, NULL))
        continue;
      for (gsize i = 0; i < length; i++)
        {
          if (contents[i] == '\n')
            {
              count += in_line;
              in_line = FALSE;
            }
          else
            in_line = TRUE;
        }
    }
  return count;
}

static guint
gen_device_index (Gen *gen, const char *device)
{
  for (guint i = 0; device != NULL && i < GEN_N_DEVICES; i++)
    if (strcmp (gen->devices[i], device) == 0)
      return i;
  return 0;
}

/* For g_ptr_array_sort(), which passes pointers to the elements. */
static int
gen_compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Load the folder's conversations and workspaces as they end now. */
static void
gen_load_existing (Gen *gen)
{
  g_autofree char *conv_dir = g_build_filename (gen->out, "conversations",
                                                NULL);
  g_autofree char *ws_dir = g_build_filename (gen->out, "workspaces", NULL);
  g_autoptr(GDir) convs = g_dir_open (conv_dir, 0, NULL);
  g_autoptr(GDir) workspaces = g_dir_open (ws_dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  /* Sorted: the same folder and seed give the same appends. */
  while (convs != NULL && (name = g_dir_read_name (convs)) != NULL)
    if (g_str_has_prefix (name, "conv_") && g_str_has_suffix (name, ".jsonl")
        && !gen_is_conflict_copy (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, gen_compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      Conv *conv = g_new0 (Conv, 1);
      const char *file = names->pdata[i];

      gen_log_init (&conv->log, gen->out, "conversations", "conv_",
                    "conversationId",
                    g_strndup (file + strlen ("conv_"),
                               strlen (file) - strlen ("conv_.jsonl")));
      conv->titled = TRUE;
      conv->seq = -1;       /* read when first appended to */
      g_ptr_array_add (gen->convs, conv);
    }
  g_ptr_array_set_size (names, 0);
  while (workspaces != NULL && (name = g_dir_read_name (workspaces)) != NULL)
    if (g_str_has_prefix (name, "ws_") && g_str_has_suffix (name, ".jsonl")
        && !gen_is_conflict_copy (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, gen_compare_names);
  /* The default workspace first. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < names->len; i++)
      {
        const char *file = names->pdata[i];
        gboolean is_default = strcmp (file, "ws_default.jsonl") == 0;
        g_autofree char *id = NULL;
        g_autofree char *device = NULL;
        gint64 seq;
        Workspace *ws;

        if (is_default != (pass == 0))
          continue;
        id = g_strndup (file + strlen ("ws_"),
                        strlen (file) - strlen ("ws_.jsonl"));
        ws = gen_workspace_new (gen, id);
        gen->files--;
        ws->created = TRUE;
        gen_read_tail (&ws->log, &device, &seq, &ws->session);
      }
}

/* What a conversation's log ends with, read when first appended to. */
static void
gen_conv_load (Gen *gen, Conv *conv)
{
  g_autofree char *device = NULL;

  if (conv->seq >= 0)
    return;
  gen_read_tail (&conv->log, &device, &conv->seq, NULL);
  conv->device = gen_device_index (gen, device);
}

/* The conversation the late device resumes: one that others carried on
 * for hours after (its log spans more than GEN_LATE_ROOM), the first of up
 * to 32 drawn, else the last drawn. */
static Conv *
gen_late_conv (Gen *gen)
{
  Conv *conv = NULL;

  for (guint i = 0; i < 32; i++)
    {
      conv = gen->convs->pdata[rng_below (&gen->rng, gen->convs->len)];
      gen_conv_load (gen, conv);
      if (conv->log.last_ts - conv->log.first_ts > GEN_LATE_ROOM)
        break;
    }
  return conv;
}

/* A moment of true time at which the late device's clock reads a time
 * inside the span `log` covered before the append, early enough that its
 * session (three turns at most, each within about an hour) ends inside it
 * too when the span is long enough. */
static gint64
gen_late_moment (Gen *gen, const GenLog *log)
{
  gint64 first = MIN (log->first_ts, log->last_ts);

  return rng_range (&gen->rng, first, MAX (first, log->last_ts - GEN_LATE_ROOM))
         - gen->skew[GEN_LATE_DEVICE];
}

/* Append about `target` events to the existing folder. */
static void
gen_append (Gen *gen)
{
  gen_load_existing (gen);
  if (gen->late && gen->convs->len == 0)
    {
      g_printerr ("jsync-gen-corpus: %s: no conversation to add late events"
                  " to\n", gen->out);
      exit (2);
    }
  if (gen->workspaces->len == 0)
    {
      Workspace *ws = gen_workspace_new (gen, "default");

      gen_workspace_created (gen, ws, 0);
    }
  /* New events come after everything: the default workspace is written
   * to until the end. */
  for (guint i = 0; i < gen->workspaces->len; i++)
    gen->now = MAX (gen->now,
                    ((Workspace *) gen->workspaces->pdata[i])->log.last_ts
                      - gen->skew[2]);
  while (!gen_full (gen))
    {
      Conv *conv;
      gboolean fresh = FALSE;

      /* One after another, minutes apart, after what the file holds; late,
       * at a moment the file already covers. */
      if (gen->late)
        {
          conv = gen_late_conv (gen);
          gen->now = gen_late_moment (gen, &conv->log);
        }
      else
        {
          fresh = gen->convs->len == 0 || rng_chance (&gen->rng, 0.08);
          if (fresh)
            conv = gen_conv_new (gen);
          else
            {
              conv = gen->convs->pdata[rng_below (&gen->rng, gen->convs->len)];
              gen_conv_load (gen, conv);
            }
          gen->now = MAX (gen->now, conv->log.last_ts - gen->skew[2])
                     + rng_lognormal (&gen->rng, 20 * 60000.0, 1.0, 60000,
                                      86400000);
        }
      gen_conversation (gen, conv, fresh,
                        fresh ? MIN (gen_turns (gen), 20)
                              : rng_range (&gen->rng, 1, 3));
    }
  for (guint i = 0; i < gen->workspaces->len; i++)
    {
      Workspace *ws = gen->workspaces->pdata[i];

      if (ws->file != NULL)
        gen_close (g_steal_pointer (&ws->file), ws->log.path);
    }
}

/* --- The whole folder */

static void
gen_corpus (Gen *gen)
{
  Workspace *ws = gen_workspace_new (gen, "default");
  double session_gap = 2 * 365 * 86400000.0 / MAX (gen->limit / 36.0, 1.0)
                       / exp (1.5 * 1.5 / 2);
  guint copies;

  gen->now = GEN_EPOCH;
  /* Each device creates the default workspace when first run. */
  for (guint d = 0; d < GEN_N_DEVICES; d++)
    {
      gen_workspace_created (gen, ws, d);
      gen->now += rng_range (&gen->rng, 3600000, 30 * 86400000LL);
    }
  while (!gen_full (gen))
    {
      Conv *conv;
      gboolean fresh = gen->convs->len == 0 || !rng_chance (&gen->rng, 0.08);

      /* The next session of work: minutes to days later, so that the
       * folder spans about two years whatever its size (a session writes
       * about 36 events). */
      gen->now += rng_lognormal (&gen->rng, session_gap, 1.5, 60000,
                                 20 * 86400000);
      if (fresh)
        conv = gen_conv_new (gen);
      else
        {
          conv = gen->convs->pdata[rng_below (&gen->rng, gen->convs->len)];
          if (conv->deleted)
            continue;
        }
      gen_conversation (gen, conv, fresh,
                        fresh ? gen_turns (gen) : rng_range (&gen->rng, 1, 6));
    }
  for (guint i = 0; i < gen->workspaces->len; i++)
    {
      ws = gen->workspaces->pdata[i];
      if (ws->file != NULL)
        gen_close (g_steal_pointer (&ws->file), ws->log.path);
    }

  /* A few sync-tool conflict copies: 3 per 1000 conversations, at least
   * two. */
  copies = MAX (2, gen->convs->len * 3 / 1000);
  for (guint i = 0; i < copies && gen->convs->len > 0; i++)
    gen_conflict_copy (gen, gen->convs->pdata[rng_below (&gen->rng,
                                                         gen->convs->len)]);
}

static void
gen_make_dir (const char *path)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      g_printerr ("%s: %s\n", path, g_strerror (errno));
      exit (1);
    }
}

static gboolean
gen_dir_is_empty (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  return dir == NULL || g_dir_read_name (dir) == NULL;
}

int
main (int argc, char **argv)
{
  gint64 events = 100000;
  gint64 seed = 1;
  double append_percent = 0;
  gboolean late = FALSE;
  gint64 skew = 8000;
  g_autofree char *out = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &events,
      "Events to write (default 100000)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed,
      "Seed of the generator (default 1)", "S" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "The data folder to write (new or empty; existing with --append-percent)",
      "DIR" },
    { "append-percent", 'a', 0, G_OPTION_ARG_DOUBLE, &append_percent,
      "Append P% new events to the existing folder", "P" },
    { "late", 'l', 0, G_OPTION_ARG_NONE, &late,
      "With --append-percent: as another device, offline until now, whose"
      " events sort among those already there", NULL },
    { "clock-skew", 0, 0, G_OPTION_ARG_INT64, &skew,
      "How far the devices' clocks disagree, ms (default 8000)", "MS" },
    G_OPTION_ENTRY_NULL
  };
  Gen gen = { 0 };
  Rng device_rng;
  GHashTableIter iter;
  gpointer key, value;
  json_object *summary, *types;
  gint64 start = g_get_monotonic_time ();

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- write a realistic Nexus data folder");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("jsync-gen-corpus: %s\n", error->message);
      return 2;
    }
  if (late && append_percent <= 0)
    {
      g_printerr ("jsync-gen-corpus: --late goes with --append-percent\n");
      return 2;
    }
  if (out == NULL || events < 0 || append_percent < 0 || skew < 0)
    {
      g_printerr ("jsync-gen-corpus: --out DIR is required; --events,"
                  " --append-percent and --clock-skew take positive"
                  " numbers\n");
      return 2;
    }

  /* The devices and their clocks depend on the seed alone, so appends
   * write as the same devices; the late device, drawn last, has its own
   * id, and its clock is right. */
  rng_seed (&device_rng, (guint64) seed ^ G_GUINT64_CONSTANT (0xde1ce5));
  for (guint d = 0; d <= GEN_LATE_DEVICE; d++)
    gen.devices[d] = rng_uuid (&device_rng);
  gen.skew[0] = 0;
  gen.skew[1] = skew * 45 / 100;
  gen.skew[2] = -skew;
  gen.skew[GEN_LATE_DEVICE] = 0;
  gen.out = g_steal_pointer (&out);
  gen.types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gen.convs = g_ptr_array_new_with_free_func ((GDestroyNotify) conv_free);
  gen.workspaces = g_ptr_array_new_with_free_func (
      (GDestroyNotify) workspace_free);

  if (append_percent > 0)
    {
      guint64 existing = gen_count_events (gen.out);

      if (existing == 0)
        {
          g_printerr ("jsync-gen-corpus: %s: no events to append to\n",
                      gen.out);
          return 2;
        }
      gen.appending = TRUE;
      gen.late = late;
      gen.limit = MAX (1, (guint64) llround (existing * append_percent / 100));
      rng_seed (&gen.rng, (guint64) seed ^ existing
                            ^ G_GUINT64_CONSTANT (0x5eed0fa99e4d0000)
                            ^ (late ? G_GUINT64_CONSTANT (0x1a7e) : 0));
      gen_append (&gen);
    }
  else
    {
      g_autofree char *conversations = g_build_filename (gen.out,
                                                         "conversations",
                                                         NULL);
      g_autofree char *workspaces = g_build_filename (gen.out, "workspaces",
                                                      NULL);

      if (!gen_dir_is_empty (gen.out))
        {
          g_printerr ("jsync-gen-corpus: %s is not empty (use"
                      " --append-percent to add to it)\n", gen.out);
          return 2;
        }
      gen_make_dir (conversations);
      gen_make_dir (workspaces);
      gen.limit = events;
      gen.workspace_target = CLAMP (events / 20000, 3, 60);
      rng_seed (&gen.rng, (guint64) seed);
      gen_corpus (&gen);
    }

  summary = json_object_new_object ();
  types = json_object_new_object ();
  json_object_object_add (summary, "events", json_object_new_int64 (gen.events));
  json_object_object_add (summary, "files", json_object_new_int64 (gen.files));
  json_object_object_add (summary, "bytes", json_object_new_int64 (gen.bytes));
  json_object_object_add (summary, "backdated",
                          json_object_new_int64 (gen.backdated));
  {
    json_object *devices = json_object_new_array ();

    for (guint d = 0; d <= GEN_LATE_DEVICE; d++)
      if (d == GEN_LATE_DEVICE ? gen.late : !gen.late)
        json_object_array_add (devices, json_object_new_string (gen.devices[d]));
    json_object_object_add (summary, "devices", devices);
  }
  json_object_object_add (summary, "seconds",
                          json_object_new_double ((g_get_monotonic_time () - start)
                                                  / 1e6));
  {
    g_autoptr(GList) names = NULL;

    g_hash_table_iter_init (&iter, gen.types);
    while (g_hash_table_iter_next (&iter, &key, &value))
      names = g_list_prepend (names, key);
    names = g_list_sort (names, (GCompareFunc) strcmp);
    for (GList *l = names; l != NULL; l = l->next)
      json_object_object_add (types, l->data,
                              json_object_new_int64 (*(guint64 *)
                                  g_hash_table_lookup (gen.types, l->data)));
  }
  json_object_object_add (summary, "types", types);
  g_print ("%s\n", json_object_to_json_string_ext (summary,
                                                   JSON_C_TO_STRING_PLAIN));
  json_object_put (summary);

  for (guint d = 0; d <= GEN_LATE_DEVICE; d++)
    g_free (gen.devices[d]);
  g_ptr_array_unref (gen.workspaces);
  g_ptr_array_unref (gen.convs);
  g_hash_table_unref (gen.types);
  g_free (gen.out);
  return 0;
}
