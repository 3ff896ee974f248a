/* nexus-history.c: random multi-device Nexus histories (nexus-history.h). */
#include "nexus-history.h"

#include <string.h>

/* Device ids, in the UUID form Nexus writes; their clocks are skewed. */
static const char *const history_devices[] = {
  "6a9cb9bb-40ab-4c7e-aeba-b18c72263440",
  "196b541d-bbd6-4f58-bfde-e9012d4af6e8",
  "b2d94e61-07f3-4a8c-b5e2-9c1f6a3d7e22",
  "5f0c2a9e-8d3b-4c71-9a65-2e7b1d4f8c10",
};
static const gint64 history_skew[] = { 0, 1500, -900, 30 };

/* What a device's conflict copy of `name` (no suffix) is called. */
static const char *const history_copy_format[] = {
  "%s.jsonl",
  "%s (1).jsonl",
  "%s.sync-conflict-20250101-120000-B2D94E6.jsonl",
  "%s (dev-d's conflicted copy 2025-01-01).jsonl",
};

static const char *const history_words[] = {
  "garden", "thesis", "sync", "notes", "quote \"here\"", "back\\slash",
  "中文笔记", "ünïcödé", "tab\there", "emoji 🌱", "plan", "review",
  "summary", "draft", "line\nbreak", "search", "merge", "conflict",
};

static const char *const history_roles[] = {
  "user", "assistant", "system", "tool",
};

void
history_event_free (gpointer data)
{
  HistoryEvent *event = data;

  g_free (event->id);
  g_free (event->device);
  g_free (event->line);
  g_free (event->file);
  g_free (event->shared);
  g_free (event);
}

static char *
history_text (GRand *rand, const char *lead, guint n)
{
  GString *text = g_string_new (lead);
  guint words = g_rand_int_range (rand, 1, 6);

  g_string_append_printf (text, " %u", n);
  for (guint i = 0; i < words; i++)
    g_string_append_printf (text, " %s",
                            history_words[g_rand_int_range (
                                rand, 0, G_N_ELEMENTS (history_words))]);
  return g_string_free (text, FALSE);
}

static gboolean
history_chance (GRand *rand, int percent)
{
  return g_rand_int_range (rand, 0, 100) < percent;
}

static void
history_add_text (json_object *object, const char *key, char *text)
{
  json_object_object_add (object, key, json_object_new_string (text));
  g_free (text);
}

static void
history_add_int (json_object *object, const char *key, gint64 value)
{
  json_object_object_add (object, key, json_object_new_int64 (value));
}

static json_object *
history_tool_calls (GRand *rand, guint n)
{
  json_object *calls = json_object_new_array ();
  json_object *call = json_object_new_object ();
  json_object *function = json_object_new_object ();
  g_autofree char *id = g_strdup_printf ("call_%u", n);

  json_object_object_add (call, "id", json_object_new_string (id));
  json_object_object_add (call, "type", json_object_new_string ("function"));
  json_object_object_add (function, "name", json_object_new_string ("search"));
  json_object_object_add (function, "arguments",
                          json_object_new_string ("{\"q\":\"x\"}"));
  json_object_object_add (call, "function", function);
  /* Extra keys are kept verbatim (FORMAT.md). */
  if (history_chance (rand, 50))
    json_object_object_add (call, "extra", json_object_new_int (n));
  json_object_array_add (calls, call);
  return calls;
}

/* The data of one conversation event; sets *type and the routing ids. */
static json_object *
history_conversation_event (GRand *rand, json_object *envelope,
                            const char *conversation, guint n, gint64 ts,
                            guint *sequence)
{
  g_autofree char *message = g_strdup_printf ("%s-m%d", conversation,
                                              g_rand_int_range (rand, 0, 5));
  json_object *data = json_object_new_object ();
  int kind = g_rand_int_range (rand, 0, 100);
  const char *type;

  if (kind < 12)
    {
      type = "metadata";
      json_object_object_add (data, "id", json_object_new_string (conversation));
      history_add_text (data, "title", history_text (rand, "Title", n));
      if (history_chance (rand, 80))
        history_add_int (data, "created", ts - g_rand_int_range (rand, 0, 50));
      json_object_object_add (data, "vault", json_object_new_string ("Vault"));
      if (history_chance (rand, 30))
        {
          json_object *settings = json_object_new_object ();

          json_object_object_add (settings, "model",
                                  json_object_new_string ("m1"));
          json_object_object_add (settings, "n", json_object_new_int (n));
          json_object_object_add (data, "settings", settings);
        }
    }
  else if (kind < 47)
    {
      type = "message";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      json_object_object_add (data, "id", json_object_new_string (message));
      json_object_object_add (
          data, "role",
          json_object_new_string (history_roles[g_rand_int_range (
              rand, 0, G_N_ELEMENTS (history_roles))]));
      if (history_chance (rand, 10))
        json_object_object_add (data, "content", NULL);
      else
        history_add_text (data, "content", history_text (rand, "says", n));
      history_add_int (data, "sequenceNumber", (*sequence)++);
      if (history_chance (rand, 20))
        json_object_object_add (data, "tool_calls",
                                history_tool_calls (rand, n));
      if (history_chance (rand, 20))
        history_add_text (data, "reasoning", history_text (rand, "thinks", n));
      if (history_chance (rand, 20))
        json_object_object_add (data, "state",
                                json_object_new_string ("streaming"));
      if (history_chance (rand, 10))
        {
          json_object *alternatives = json_object_new_array ();

          json_object_array_add (alternatives, json_object_new_string ("alt"));
          json_object_object_add (data, "alternatives", alternatives);
          history_add_int (data, "activeAlternativeIndex", 1);
        }
    }
  else if (kind < 67)
    {
      type = "message_updated";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      json_object_object_add (envelope, "messageId",
                              json_object_new_string (message));
      if (history_chance (rand, 80))
        history_add_text (data, "content", history_text (rand, "edit", n));
      if (history_chance (rand, 40))
        json_object_object_add (data, "state",
                                json_object_new_string ("complete"));
      if (history_chance (rand, 15))
        json_object_object_add (data, "tool_calls",
                                history_chance (rand, 50)
                                  ? history_tool_calls (rand, n) : NULL);
      if (history_chance (rand, 15))
        history_add_text (data, "reasoning", history_text (rand, "rethinks", n));
    }
  else if (kind < 75)
    {
      type = "message_deleted";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      json_object_object_add (envelope, "messageId",
                              json_object_new_string (message));
      json_object_put (data);
      data = NULL;
    }
  else if (kind < 91)
    {
      type = "conversation_updated";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      if (history_chance (rand, 60))
        history_add_text (data, "title", history_text (rand, "Renamed", n));
      if (history_chance (rand, 70))
        history_add_int (data, "updated", ts + g_rand_int_range (rand, -20, 20));
    }
  else if (kind < 95)
    {
      type = "conversation_deleted";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      json_object_put (data);
      data = NULL;
    }
  else
    {
      /* Later upstream types no bundled applier takes: pending. */
      type = "branch_created";
      json_object_object_add (envelope, "conversationId",
                              json_object_new_string (conversation));
      history_add_text (data, "name", history_text (rand, "branch", n));
    }
  json_object_object_add (envelope, "type", json_object_new_string (type));
  return data;
}

/* The data of one workspace event. */
static json_object *
history_workspace_event (GRand *rand, json_object *envelope,
                         const char *workspace, guint n, gint64 ts)
{
  g_autofree char *session = g_strdup_printf ("%s-s%d", workspace,
                                              g_rand_int_range (rand, 0, 3));
  g_autofree char *state = g_strdup_printf ("%s-st%d", workspace,
                                            g_rand_int_range (rand, 0, 3));
  g_autofree char *trace = g_strdup_printf ("%s-t%d", workspace,
                                            g_rand_int_range (rand, 0, 8));
  json_object *data = json_object_new_object ();
  int kind = g_rand_int_range (rand, 0, 100);
  const char *type;

  if (kind >= 10)
    json_object_object_add (envelope, "workspaceId",
                            json_object_new_string (workspace));
  if (kind < 10)
    {
      type = "workspace_created";
      json_object_object_add (data, "id", json_object_new_string (workspace));
      history_add_text (data, "name", history_text (rand, "Workspace", n));
      if (history_chance (rand, 50))
        history_add_text (data, "description", history_text (rand, "about", n));
      json_object_object_add (data, "rootFolder",
                              json_object_new_string ("Notes"));
      if (history_chance (rand, 80))
        history_add_int (data, "created", ts);
      if (history_chance (rand, 30))
        json_object_object_add (data, "contextJson",
                                json_object_new_string ("{\"purpose\":\"p\"}"));
    }
  else if (kind < 22)
    {
      type = "workspace_updated";
      if (history_chance (rand, 50))
        history_add_text (data, "name", history_text (rand, "Renamed", n));
      if (history_chance (rand, 50))
        history_add_int (data, "lastAccessed", ts);
      if (history_chance (rand, 30))
        json_object_object_add (data, "isActive",
                                json_object_new_boolean (history_chance (rand, 50)));
      if (history_chance (rand, 20))
        history_add_text (data, "description", history_text (rand, "now", n));
    }
  else if (kind < 25)
    {
      type = "workspace_deleted";
      json_object_put (data);
      data = NULL;
    }
  else if (kind < 40)
    {
      type = "session_created";
      json_object_object_add (data, "id", json_object_new_string (session));
      if (history_chance (rand, 80))
        history_add_text (data, "name", history_text (rand, "Session", n));
      if (history_chance (rand, 50))
        history_add_int (data, "startTime", ts);
    }
  else if (kind < 52)
    {
      type = "session_updated";
      json_object_object_add (envelope, "sessionId",
                              json_object_new_string (session));
      if (history_chance (rand, 50))
        history_add_text (data, "name", history_text (rand, "Session", n));
      if (history_chance (rand, 50))
        history_add_int (data, "endTime", ts + 1000);
      if (history_chance (rand, 50))
        json_object_object_add (data, "isActive",
                                json_object_new_boolean (FALSE));
    }
  else if (kind < 67)
    {
      type = "state_saved";
      json_object_object_add (envelope, "sessionId",
                              json_object_new_string (session));
      json_object_object_add (data, "id", json_object_new_string (state));
      history_add_text (data, "name", history_text (rand, "State", n));
      json_object_object_add (data, "stateJson",
                              json_object_new_string ("{\"open\":[\"a.md\"]}"));
      if (history_chance (rand, 50))
        {
          json_object *tags = json_object_new_array ();

          json_object_array_add (tags, json_object_new_string ("tag"));
          json_object_object_add (data, "tags", tags);
        }
    }
  else if (kind < 73)
    {
      type = "state_deleted";
      json_object_object_add (envelope, "sessionId",
                              json_object_new_string (session));
      json_object_object_add (envelope, "stateId",
                              json_object_new_string (state));
      json_object_put (data);
      data = NULL;
    }
  else if (kind < 97)
    {
      type = "trace_added";
      json_object_object_add (envelope, "sessionId",
                              json_object_new_string (session));
      json_object_object_add (data, "id", json_object_new_string (trace));
      history_add_text (data, "content", history_text (rand, "did", n));
      if (history_chance (rand, 50))
        json_object_object_add (data, "traceType",
                                json_object_new_string ("file_edit"));
      if (history_chance (rand, 20))
        json_object_object_add (data, "metadataJson",
                                json_object_new_string ("{\"k\":1}"));
    }
  else
    {
      type = "task_created";
      history_add_text (data, "title", history_text (rand, "task", n));
    }
  json_object_object_add (envelope, "type", json_object_new_string (type));
  return data;
}

/* Serialize with the envelope keys in Nexus's order. */
static char *
history_serialize (json_object *envelope)
{
  static const char *const order[] = {
    "type", "workspaceId", "sessionId", "stateId", "conversationId",
    "messageId", "data", "id", "deviceId", "timestamp",
  };
  json_object *ordered = json_object_new_object ();
  char *text;

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      json_object *value = NULL;

      if (json_object_object_get_ex (envelope, order[i], &value))
        json_object_object_add (ordered, order[i], json_object_get (value));
    }
  text = g_strdup (json_object_to_json_string_ext (
      ordered, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (ordered);
  return text;
}

/**
 * history_generate:
 * A random history (see the head comment of nexus-history.h).
 */
GPtrArray *
history_generate (GRand *rand, const HistoryShape *shape)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (history_event_free);
  guint devices = CLAMP (shape->devices, 1, G_N_ELEMENTS (history_devices));
  guint streams = shape->conversations + shape->workspaces;
  g_autofree guint *sequence = g_new0 (guint, MAX (shape->conversations, 1));
  gint64 last_ts = 0;

  g_return_val_if_fail (streams > 0, events);
  for (guint n = 0; n < shape->events; n++)
    {
      guint d = g_rand_int_range (rand, 0, devices);
      guint s = g_rand_int_range (rand, 0, streams);
      gint64 ts = G_GINT64_CONSTANT (1760000000000) + n * 40 + history_skew[d]
                  + g_rand_int_range (rand, 0, 50);
      json_object *envelope = json_object_new_object ();
      json_object *data;
      g_autofree char *stream_id = NULL;
      g_autofree char *base = NULL;
      HistoryEvent *event = g_new0 (HistoryEvent, 1);

      /* Equal timestamps happen: the deviceId, then the id, decide. */
      if (n > 0 && history_chance (rand, 5))
        ts = last_ts;
      last_ts = ts;
      if (s < shape->conversations)
        {
          stream_id = g_strdup_printf ("c%u", s);
          base = g_strdup_printf ("conversations/conv_%s", stream_id);
          data = history_conversation_event (rand, envelope, stream_id, n, ts,
                                             &sequence[s]);
        }
      else
        {
          s -= shape->conversations;
          stream_id = s == 0 ? g_strdup ("default") : g_strdup_printf ("w%u", s);
          base = g_strdup_printf ("workspaces/ws_%s", stream_id);
          data = history_workspace_event (rand, envelope, stream_id, n, ts);
        }
      if (data != NULL)
        json_object_object_add (envelope, "data", data);
      event->id = g_strdup_printf ("%08x-%04x-4%03x-8000-%012x",
                                   g_rand_int (rand), n & 0xffff,
                                   g_rand_int_range (rand, 0, 0x1000), n);
      event->device = g_strdup (history_devices[d]);
      event->ts = ts;
      json_object_object_add (envelope, "id", json_object_new_string (event->id));
      json_object_object_add (envelope, "deviceId",
                              json_object_new_string (event->device));
      history_add_int (envelope, "timestamp", ts);
      event->line = history_serialize (envelope);
      json_object_put (envelope);
      event->shared = g_strdup_printf (history_copy_format[0], base);
      /* Most events land in the shared log; the rest in the device's
       * conflict copy of it. */
      event->file = history_chance (rand, 60)
                      ? g_strdup (event->shared)
                      : g_strdup_printf (history_copy_format[d], base);
      g_ptr_array_add (events, event);
    }
  return events;
}

/**
 * history_variant:
 * A conflicting copy of an event (different as parsed JSON).
 */
char *
history_variant (GRand *rand, const HistoryEvent *event)
{
  json_object *json = json_tokener_parse (event->line);
  json_object *data = NULL;
  int kind = g_rand_int_range (rand, 0, 100);
  char *text;

  g_return_val_if_fail (json != NULL, NULL);
  if (kind < 25)
    history_add_int (json, "timestamp",
                     (event->ts + g_rand_int_range (rand, -300, 300)) | 1);
  else if (kind < 40)
    {
      const char *device = history_devices[g_rand_int_range (
          rand, 0, G_N_ELEMENTS (history_devices))];

      json_object_object_add (json, "deviceId",
                              json_object_new_string (
                                  strcmp (device, event->device) == 0
                                    ? "00000000-0000-4000-8000-000000000000"
                                    : device));
    }
  if (!json_object_object_get_ex (json, "data", &data) || data == NULL)
    {
      data = json_object_new_object ();
      json_object_object_add (json, "data", data);
    }
  /* Always differ in the body too, so a changed key alone never makes
   * two copies equal again. */
  {
    static const char *const keys[] = { "content", "title", "name" };
    const char *key = keys[g_rand_int_range (rand, 0, G_N_ELEMENTS (keys))];
    g_autofree char *value = g_strdup_printf ("variant %u of %s",
                                              g_rand_int (rand), event->id);

    json_object_object_add (data, key, json_object_new_string (value));
  }
  text = history_serialize (json);
  json_object_put (json);
  return text;
}

/**
 * history_respaced:
 * The same JSON as `line` in other bytes.
 */
char *
history_respaced (const char *line)
{
  json_object *json = json_tokener_parse (line);
  char *text;

  g_return_val_if_fail (json != NULL, NULL);
  text = g_strdup (json_object_to_json_string_ext (
      json, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (json);
  return text;
}

static void
history_key (const char *line, gint64 *ts, char **device)
{
  json_object *json = json_tokener_parse (line);
  json_object *value = NULL;

  *ts = 0;
  *device = NULL;
  if (json == NULL)
    return;
  if (json_object_object_get_ex (json, "timestamp", &value))
    *ts = json_object_get_int64 (value);
  if (json_object_object_get_ex (json, "deviceId", &value))
    *device = g_strdup (json_object_get_string (value));
  json_object_put (json);
}

/**
 * history_copy_compare:
 * Order copies of one id: timestamp, deviceId, then the bytes.
 */
int
history_copy_compare (const char *a, const char *b)
{
  g_autofree char *a_device = NULL;
  g_autofree char *b_device = NULL;
  gint64 a_ts, b_ts;
  size_t a_length = strlen (a), b_length = strlen (b);
  int c;

  history_key (a, &a_ts, &a_device);
  history_key (b, &b_ts, &b_device);
  if (a_ts != b_ts)
    return a_ts < b_ts ? -1 : 1;
  if ((c = g_strcmp0 (a_device, b_device)) != 0)
    return c;
  if ((c = memcmp (a, b, MIN (a_length, b_length))) != 0)
    return c;
  return a_length < b_length ? -1 : a_length > b_length;
}

/**
 * history_type_is_applied:
 * The bundled appliers' prefixes.
 */
gboolean
history_type_is_applied (const char *type)
{
  static const char *const prefixes[] = {
    "metadata", "conversation_", "message", "workspace_", "session_",
    "state_", "trace_",
  };

  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (g_str_has_prefix (type, prefixes[i]))
      return TRUE;
  return FALSE;
}
