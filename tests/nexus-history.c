/* nexus-history.c: random multi-device Nexus histories (nexus-history.h). */
#include "nexus-history.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jsync-test.h"

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

/* Workspace names that recur (some differ only in case), and what task
 * events give as their workspaceId: workspace ids, names, neither. */
static const char *const history_workspace_names[] = {
  "Ops", "ops", "Dev", "Old",
};
static const char *const history_task_workspaces[] = {
  "default", "w1", "ops", "OPS", "dev", "Old", "none",
};
static const char *const history_note_paths[] = { "a.md", "Notes/b.md" };
static const char *const history_link_types[] = {
  "reference", "output", "input",
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
history_add_string (json_object *object, const char *key, const char *value)
{
  json_object_object_add (object, key, json_object_new_string (value));
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

  history_add_string (call, "id", id);
  history_add_string (call, "type", "function");
  history_add_string (function, "name", "search");
  history_add_string (function, "arguments", "{\"q\":\"x\"}");
  json_object_object_add (call, "function", function);
  /* Extra keys are kept verbatim (docs/format.md "Values"). */
  if (history_chance (rand, 50))
    json_object_object_add (call, "extra", json_object_new_int (n));
  json_object_array_add (calls, call);
  return calls;
}

static const char *
history_pick (GRand *rand, const char *const *pool, guint n)
{
  return pool[g_rand_int_range (rand, 0, n)];
}

#define HISTORY_PICK(rand, pool) history_pick (rand, pool, G_N_ELEMENTS (pool))

/* A workspace's name: often one the task events name it by. */
static char *
history_workspace_name (GRand *rand, guint n)
{
  if (history_chance (rand, 40))
    return g_strdup (HISTORY_PICK (rand, history_workspace_names));
  return history_text (rand, "Workspace", n);
}

/* One of a few ids: "<prefix><0..n-1>". */
static json_object *
history_pool_id (GRand *rand, const char *prefix, int n)
{
  g_autofree char *id = g_strdup_printf ("%s%d", prefix,
                                         g_rand_int_range (rand, 0, n));

  return json_object_new_string (id);
}

/* A JSON string of `text` (taking it). */
static json_object *
history_string (char *text)
{
  json_object *string = json_object_new_string (text);

  g_free (text);
  return string;
}

/* Add `value` at `key` (taking it) in `percent` of the calls, null in
 * `nulls` percent of the others. */
static void
history_maybe (GRand *rand, json_object *object, const char *key,
               int percent, int nulls, json_object *value)
{
  if (history_chance (rand, percent))
    json_object_object_add (object, key, value);
  else
    {
      json_object_put (value);
      if (history_chance (rand, nulls))
        json_object_object_add (object, key, NULL);
    }
}

/* The task events, their share in percent, and their envelope ids. */
static const struct
{
  const char *type;
  int percent;
  const char *routing[2];
} history_task_kinds[] = {
  { "project_created", 12, { NULL } },
  { "project_updated", 10, { "projectId" } },
  { "project_deleted", 4, { "projectId" } },
  { "task_created", 20, { NULL } },
  { "task_updated", 18, { "taskId" } },
  { "task_deleted", 6, { "taskId" } },
  { "task_dependency_added", 10, { "taskId", "dependsOnTaskId" } },
  { "task_dependency_removed", 5, { "taskId", "dependsOnTaskId" } },
  { "task_note_linked", 10, { "taskId", "notePath" } },
  { "task_note_unlinked", 5, { "taskId", "notePath" } },
};

/* The data of one event of a task folder (NULL for none).  Ids come from
 * pools shared by every folder: p0..p2, t0..t4. */
static json_object *
history_task_event (GRand *rand, json_object *envelope, guint n, gint64 ts)
{
  int roll = g_rand_int_range (rand, 0, 100);
  guint k = 0;
  const char *type;
  json_object *data = json_object_new_object ();

  while (roll >= history_task_kinds[k].percent)
    roll -= history_task_kinds[k++].percent;
  type = history_task_kinds[k].type;
  history_add_string (envelope, "type", type);
  for (guint r = 0; r < 2 && history_task_kinds[k].routing[r] != NULL; r++)
    {
      const char *key = history_task_kinds[k].routing[r];

      json_object_object_add (
          envelope, key,
          strcmp (key, "projectId") == 0 ? history_pool_id (rand, "p", 3)
          : strcmp (key, "notePath") == 0
            ? json_object_new_string (HISTORY_PICK (rand, history_note_paths))
            : history_pool_id (rand, "t", 5));
    }
  if (strcmp (type, "project_created") == 0)
    {
      json_object_object_add (data, "id", history_pool_id (rand, "p", 3));
      history_add_string (data, "workspaceId",
                          HISTORY_PICK (rand, history_task_workspaces));
      /* Now and then a create without its name: a failed event. */
      history_maybe (rand, data, "name", 95, 0,
                     json_object_new_string ("Project"));
      history_maybe (rand, data, "description", 30, 10,
                     json_object_new_string ("about"));
      history_maybe (rand, data, "status", 20, 10,
                     json_object_new_string ("paused"));
      history_maybe (rand, data, "metadataJson", 20, 0,
                     json_object_new_string ("{\"k\":1}"));
    }
  else if (strcmp (type, "project_updated") == 0)
    {
      history_maybe (rand, data, "name", 40, 0,
                     history_string (history_text (rand, "Project", n)));
      history_maybe (rand, data, "status", 40, 10,
                     json_object_new_string ("done"));
      history_maybe (rand, data, "description", 30, 30,
                     json_object_new_string ("now"));
      history_maybe (rand, data, "updated", 50, 0, json_object_new_int64 (ts));
    }
  else if (strcmp (type, "task_created") == 0)
    {
      json_object_object_add (data, "id", history_pool_id (rand, "t", 5));
      history_maybe (rand, data, "projectId", 95, 0,
                     history_pool_id (rand, "p", 3));
      history_add_string (data, "workspaceId",
                          HISTORY_PICK (rand, history_task_workspaces));
      history_add_text (data, "title", history_text (rand, "task", n));
      history_maybe (rand, data, "parentTaskId", 30, 10,
                     history_pool_id (rand, "t", 5));
      history_maybe (rand, data, "priority", 30, 10,
                     json_object_new_string ("high"));
      history_maybe (rand, data, "dueDate", 20, 10,
                     json_object_new_int64 (ts + 1000));
      history_maybe (rand, data, "tagsJson", 20, 0,
                     json_object_new_string ("[\"a\"]"));
    }
  else if (strcmp (type, "task_updated") == 0)
    {
      history_maybe (rand, data, "projectId", 15, 0,
                     history_pool_id (rand, "p", 3));
      history_maybe (rand, data, "parentTaskId", 15, 15,
                     history_pool_id (rand, "t", 5));
      history_maybe (rand, data, "status", 30, 5,
                     json_object_new_string ("done"));
      history_maybe (rand, data, "completedAt", 20, 20,
                     json_object_new_int64 (ts));
      history_maybe (rand, data, "title", 30, 0,
                     history_string (history_text (rand, "Task", n)));
      history_maybe (rand, data, "workspaceId", 10, 0,
                     json_object_new_string ("ignored"));
    }
  else if (strcmp (type, "task_note_linked") == 0)
    history_maybe (rand, envelope, "linkType", 60, 10,
                   json_object_new_string (HISTORY_PICK (rand,
                                                         history_link_types)));
  if (json_object_object_length (data) == 0)
    g_clear_pointer (&data, json_object_put);
  return data;
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
      history_add_string (data, "id", conversation);
      history_add_text (data, "title", history_text (rand, "Title", n));
      if (history_chance (rand, 80))
        history_add_int (data, "created", ts - g_rand_int_range (rand, 0, 50));
      history_add_string (data, "vault", "Vault");
      if (history_chance (rand, 30))
        {
          json_object *settings = json_object_new_object ();

          history_add_string (settings, "model", "m1");
          json_object_object_add (settings, "n", json_object_new_int (n));
          json_object_object_add (data, "settings", settings);
        }
    }
  else if (kind < 47)
    {
      type = "message";
      history_add_string (envelope, "conversationId", conversation);
      history_add_string (data, "id", message);
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
        history_add_string (data, "state", "streaming");
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
      history_add_string (envelope, "conversationId", conversation);
      history_add_string (envelope, "messageId", message);
      if (history_chance (rand, 80))
        history_add_text (data, "content", history_text (rand, "edit", n));
      if (history_chance (rand, 40))
        history_add_string (data, "state", "complete");
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
      history_add_string (envelope, "conversationId", conversation);
      history_add_string (envelope, "messageId", message);
      g_clear_pointer (&data, json_object_put);
    }
  else if (kind < 91)
    {
      type = "conversation_updated";
      history_add_string (envelope, "conversationId", conversation);
      if (history_chance (rand, 60))
        history_add_text (data, "title", history_text (rand, "Renamed", n));
      if (history_chance (rand, 70))
        history_add_int (data, "updated", ts + g_rand_int_range (rand, -20, 20));
    }
  else if (kind < 95)
    {
      type = "conversation_deleted";
      history_add_string (envelope, "conversationId", conversation);
      g_clear_pointer (&data, json_object_put);
    }
  else
    {
      /* A type no bundled applier takes (Nexus's skills are out of
       * scope): pending. */
      type = "skill_created";
      history_add_string (envelope, "conversationId", conversation);
      history_add_text (data, "name", history_text (rand, "skill", n));
    }
  history_add_string (envelope, "type", type);
  return data;
}

/* The id of workspace s of a history: "default", w1, w2... */
static char *
history_workspace_id (guint s)
{
  return s == 0 ? g_strdup ("default") : g_strdup_printf ("w%u", s);
}

/* The data of one workspace event, of one of `workspaces`.  The ids of its
 * sessions, states and traces are mostly its own; some are another
 * workspace's (a session moved here keeps its ids, and its later events
 * are written here), and some sessions move: a late create then meets
 * later moves, deletes and re-creates of its rows. */
static json_object *
history_workspace_event (GRand *rand, json_object *envelope,
                         const char *workspace, guint workspaces, guint n,
                         gint64 ts)
{
  g_autofree char *owner = history_chance (rand, 15)
                           ? history_workspace_id (g_rand_int_range (
                                 rand, 0, MAX (workspaces, 1)))
                           : g_strdup (workspace);
  g_autofree char *session = g_strdup_printf ("%s-s%d", owner,
                                              g_rand_int_range (rand, 0, 3));
  g_autofree char *state = g_strdup_printf ("%s-st%d", owner,
                                            g_rand_int_range (rand, 0, 3));
  g_autofree char *trace = g_strdup_printf ("%s-t%d", owner,
                                            g_rand_int_range (rand, 0, 8));
  json_object *data = json_object_new_object ();
  int kind = g_rand_int_range (rand, 0, 100);
  const char *type;

  if (kind >= 10)
    history_add_string (envelope, "workspaceId", workspace);
  if (kind < 10)
    {
      type = "workspace_created";
      history_add_string (data, "id", workspace);
      history_add_text (data, "name", history_workspace_name (rand, n));
      if (history_chance (rand, 20))
        json_object_object_add (data, "isArchived",
                                json_object_new_boolean (TRUE));
      if (history_chance (rand, 50))
        history_add_text (data, "description", history_text (rand, "about", n));
      history_add_string (data, "rootFolder", "Notes");
      if (history_chance (rand, 80))
        history_add_int (data, "created", ts);
      if (history_chance (rand, 30))
        history_add_string (data, "contextJson", "{\"purpose\":\"p\"}");
    }
  else if (kind < 22)
    {
      type = "workspace_updated";
      if (history_chance (rand, 50))
        history_add_text (data, "name", history_workspace_name (rand, n));
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
      g_clear_pointer (&data, json_object_put);
    }
  else if (kind < 40)
    {
      type = "session_created";
      history_add_string (data, "id", session);
      if (history_chance (rand, 80))
        history_add_text (data, "name", history_text (rand, "Session", n));
      if (history_chance (rand, 50))
        history_add_int (data, "startTime", ts);
    }
  else if (kind < 52)
    {
      type = "session_updated";
      history_add_string (envelope, "sessionId", session);
      if (history_chance (rand, 50))
        history_add_text (data, "name", history_text (rand, "Session", n));
      if (history_chance (rand, 50))
        history_add_int (data, "endTime", ts + 1000);
      if (history_chance (rand, 50))
        json_object_object_add (data, "isActive",
                                json_object_new_boolean (FALSE));
      if (history_chance (rand, 20))
        {
          g_autofree char *to = history_workspace_id (
              g_rand_int_range (rand, 0, MAX (workspaces, 1)));

          history_add_string (data, "workspaceId", to);
        }
    }
  else if (kind < 67)
    {
      type = "state_saved";
      history_add_string (envelope, "sessionId", session);
      history_add_string (data, "id", state);
      history_add_text (data, "name", history_text (rand, "State", n));
      history_add_string (data, "stateJson", "{\"open\":[\"a.md\"]}");
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
      history_add_string (envelope, "sessionId", session);
      history_add_string (envelope, "stateId", state);
      g_clear_pointer (&data, json_object_put);
    }
  else if (kind < 78)
    {
      type = "state_updated";
      history_add_string (envelope, "stateId", state);
      history_add_text (data, "name", history_text (rand, "State", n));
    }
  else if (kind < 97)
    {
      type = "trace_added";
      history_add_string (envelope, "sessionId", session);
      history_add_string (data, "id", trace);
      history_add_text (data, "content", history_text (rand, "did", n));
      if (history_chance (rand, 50))
        history_add_string (data, "traceType", "file_edit");
      if (history_chance (rand, 20))
        history_add_string (data, "metadataJson", "{\"k\":1}");
    }
  else
    {
      /* Out of scope too (embeddings): pending. */
      type = "embedding_added";
      history_add_text (data, "title", history_text (rand, "embedding", n));
    }
  history_add_string (envelope, "type", type);
  return data;
}

/* Serialize with the envelope keys in Nexus's order. */
static char *
history_serialize (json_object *envelope)
{
  static const char *const order[] = {
    "type", "workspaceId", "sessionId", "stateId", "conversationId",
    "messageId", "projectId", "taskId", "dependsOnTaskId", "notePath",
    "linkType", "data", "id", "deviceId", "timestamp",
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
  guint streams = shape->conversations + shape->workspaces + shape->tasks;
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
      else if (s < shape->conversations + shape->workspaces)
        {
          s -= shape->conversations;
          stream_id = history_workspace_id (s);
          base = g_strdup_printf ("workspaces/ws_%s", stream_id);
          data = history_workspace_event (rand, envelope, stream_id,
                                          shape->workspaces, n, ts);
        }
      else
        {
          /* A folder per workspace, as Nexus writes them; the ids in them
           * are shared (an old writer named folders by workspace name). */
          s -= shape->conversations + shape->workspaces;
          s %= G_N_ELEMENTS (history_task_workspaces);
          base = g_strdup_printf ("tasks/tasks_%s/shard-000001",
                                  history_task_workspaces[s]);
          data = history_task_event (rand, envelope, n, ts);
        }
      if (data != NULL)
        json_object_object_add (envelope, "data", data);
      event->id = g_strdup_printf ("%08x-%04x-4%03x-8000-%012x",
                                   g_rand_int (rand), n & 0xffff,
                                   g_rand_int_range (rand, 0, 0x1000), n);
      event->device = g_strdup (history_devices[d]);
      event->ts = ts;
      history_add_string (envelope, "id", event->id);
      history_add_string (envelope, "deviceId", event->device);
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

      history_add_string (json, "deviceId",
                          strcmp (device, event->device) == 0
                            ? "00000000-0000-4000-8000-000000000000"
                            : device);
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
    "state_", "trace_", "project_", "task_",
  };

  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (g_str_has_prefix (type, prefixes[i]))
      return TRUE;
  return FALSE;
}

/* --- Delivery: a simulated file-sync tool -------------------------------- */

/* A file as the simulated sync tool sees it. */
typedef struct
{
  char *name;               /* owned */
  GQueue queue;             /* of char* lines (no newline) not yet delivered */
  GPtrArray *delivered;     /* of char*, complete lines now in the file */
  char *torn;               /* owned: the full line whose head is in the file */
  gsize torn_cut;           /* bytes of it already written */
  gboolean late;            /* delivered only in the second half */
  gboolean blank_lines;     /* written as "\n" line "\n" (Nexus's writer) */
  gboolean crlf;            /* lines end with "\r\n" */
} HistoryFile;

/**
 * history_op_free:
 * Free a HistoryOp.
 */
void
history_op_free (gpointer data)
{
  HistoryOp *op = data;

  g_free (op->file);
  g_free (op->text);
  g_free (op->from);
  g_free (op);
}

static void
history_file_free (gpointer data)
{
  HistoryFile *file = data;

  g_free (file->name);
  g_queue_clear_full (&file->queue, g_free);
  g_ptr_array_unref (file->delivered);
  g_free (file->torn);
  g_free (file);
}

/**
 * history_test_scale:
 * JSYNC_TEST_SCALE, in (0, 1]; 1 when unset or out of range.
 */
double
history_test_scale (void)
{
  const char *text = g_getenv ("JSYNC_TEST_SCALE");
  double scale = text != NULL ? g_ascii_strtod (text, NULL) : 1.0;

  return scale > 0 && scale <= 1 ? scale : 1.0;
}

static HistoryFile *
history_file_get (GPtrArray *files, GRand *rand, const char *name)
{
  HistoryFile *file;

  for (guint i = 0; i < files->len; i++)
    if (strcmp (((HistoryFile *) files->pdata[i])->name, name) == 0)
      return files->pdata[i];
  file = g_new0 (HistoryFile, 1);
  file->name = g_strdup (name);
  g_queue_init (&file->queue);
  file->delivered = g_ptr_array_new_with_free_func (g_free);
  file->late = g_rand_int_range (rand, 0, 4) == 0;
  file->blank_lines = g_rand_boolean (rand);
  file->crlf = g_rand_int_range (rand, 0, 12) == 0;
  g_ptr_array_add (files, file);
  return file;
}

/* Another file of the same stream (a copy the sync tool made), or the
 * shared log. */
static const char *
history_other_file (GRand *rand, GPtrArray *files, HistoryEvent *event)
{
  for (guint tries = 0; tries < 8; tries++)
    {
      HistoryFile *file = files->pdata[g_rand_int_range (rand, 0, files->len)];

      if (strcmp (file->name, event->file) != 0)
        return file->name;
    }
  return event->shared;
}

/**
 * history_add_op:
 * Add a step.
 */
void
history_add_op (GPtrArray *ops, HistoryOpKind kind, const char *file,
                char *text, guint batch)
{
  HistoryOp *op = g_new0 (HistoryOp, 1);

  op->kind = kind;
  op->file = g_strdup (file);
  op->text = text;
  op->batch = batch;
  g_ptr_array_add (ops, op);
}

static void
history_line_text (HistoryFile *file, GString *out, const char *line, gsize from,
               gsize to)
{
  if (from == 0 && file->blank_lines)
    g_string_append_c (out, '\n');
  g_string_append_len (out, line + from, to - from);
  if (to == strlen (line))
    g_string_append (out, file->crlf ? "\r\n" : "\n");
}

/* Deliver up to `n` queued lines of a file (completing a torn one first);
 * the last may be torn. */
static void
history_file_deliver (GRand *rand, GPtrArray *ops, HistoryFile *file, guint n,
                      gboolean may_tear, HistoryFigures *figures)
{
  GString *text = g_string_new (NULL);

  if (file->torn != NULL)
    {
      history_line_text (file, text, file->torn, file->torn_cut,
                     strlen (file->torn));
      g_ptr_array_add (file->delivered, g_steal_pointer (&file->torn));
    }
  for (guint i = 0; i < n && !g_queue_is_empty (&file->queue); i++)
    {
      char *line = g_queue_pop_head (&file->queue);
      gsize length = strlen (line);

      if (may_tear && i + 1 == n && length > 2
          && g_rand_int_range (rand, 0, 8) == 0)
        {
          file->torn = line;
          file->torn_cut = g_rand_int_range (rand, 1, length);
          history_line_text (file, text, line, 0, file->torn_cut);
          figures->torn++;
          break;
        }
      history_line_text (file, text, line, 0, length);
      g_ptr_array_add (file->delivered, line);
    }
  if (text->len > 0)
    history_add_op (ops, HISTORY_APPEND, file->name, g_string_free (text, FALSE), 0);
  else
    g_string_free (text, TRUE);
}

/* Whole-file replacement: every line the file holds (a torn one whole) in
 * another order, plus some not yet delivered. */
static void
history_file_replace (GRand *rand, GPtrArray *ops, HistoryFile *file,
                      HistoryFigures *figures)
{
  GString *text = g_string_new (NULL);
  guint more = g_rand_int_range (rand, 0, 4);

  if (file->torn != NULL)
    g_ptr_array_add (file->delivered, g_steal_pointer (&file->torn));
  for (guint i = 0; i < more && !g_queue_is_empty (&file->queue); i++)
    g_ptr_array_add (file->delivered, g_queue_pop_head (&file->queue));
  for (guint i = file->delivered->len; i > 1; i--)
    {
      guint j = g_rand_int_range (rand, 0, i);
      gpointer tmp = file->delivered->pdata[i - 1];

      file->delivered->pdata[i - 1] = file->delivered->pdata[j];
      file->delivered->pdata[j] = tmp;
    }
  for (guint i = 0; i < file->delivered->len; i++)
    {
      const char *line = file->delivered->pdata[i];

      history_line_text (file, text, line, 0, strlen (line));
    }
  /* By rename, as most sync tools do, or in place (rsync --inplace). */
  history_add_op (ops, g_rand_boolean (rand) ? HISTORY_REPLACE
                                             : HISTORY_REWRITE,
                  file->name, g_string_free (text, FALSE), 0);
  figures->replacements++;
}

/* The name of a log up to its conflict-copy suffix: copies of one log and
 * the log itself share it. */
static gsize
history_stem (const char *name)
{
  static const char *const marks[] = { " (", ".sync-conflict-", ".jsonl" };
  gsize stem = strlen (name);

  for (guint i = 0; i < G_N_ELEMENTS (marks); i++)
    {
      const char *mark = strstr (name, marks[i]);

      if (mark != NULL)
        stem = MIN (stem, (gsize) (mark - name));
    }
  return stem;
}

static gboolean
history_same_stem (const char *a, const char *b)
{
  gsize stem = history_stem (a);

  return stem == history_stem (b) && strncmp (a, b, stem) == 0;
}

/* Is every line of `file` in another log of the same stem? */
static gboolean
history_file_held_beside (GPtrArray *files, HistoryFile *file)
{
  g_autoptr(GHashTable) beside = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < files->len; i++)
    {
      HistoryFile *other = files->pdata[i];

      if (other == file || !history_same_stem (file->name, other->name))
        continue;
      for (guint j = 0; j < other->delivered->len; j++)
        g_hash_table_add (beside, other->delivered->pdata[j]);
    }
  for (guint i = 0; i < file->delivered->len; i++)
    if (!g_hash_table_contains (beside, file->delivered->pdata[i]))
      return FALSE;
  return TRUE;
}

/* A sync tool's conflicted copy of a whole log: a new file beside it with
 * every line it holds. */
static void
history_file_copy (GRand *rand, GPtrArray *ops, GPtrArray *files,
                   HistoryFile *file, HistoryFigures *figures)
{
  gsize stem = history_stem (file->name);
  g_autofree char *name = NULL;
  HistoryFile *copy;
  GString *text;

  if (file->torn != NULL || file->delivered->len == 0)
    return;
  name = g_strdup_printf ("%.*s (copy %" G_GUINT64_FORMAT ").jsonl",
                          (int) stem, file->name, ++figures->copied);
  copy = history_file_get (files, rand, name);
  copy->blank_lines = file->blank_lines;
  copy->crlf = file->crlf;
  text = g_string_new (NULL);
  for (guint i = 0; i < file->delivered->len; i++)
    {
      const char *line = file->delivered->pdata[i];

      history_line_text (copy, text, line, 0, strlen (line));
      g_ptr_array_add (copy->delivered, g_strdup (line));
    }
  history_add_op (ops, HISTORY_REPLACE, name, g_string_free (text, FALSE), 0);
}

/* A conflict resolved by hand: a copy whose lines were all delivered is
 * merged into another file, then deleted.  Its events stay in the logs, so
 * nothing is lost. */
static void
history_file_merge (GRand *rand, GPtrArray *ops, GPtrArray *files,
                    HistoryFigures *figures)
{
  HistoryFile *from = files->pdata[g_rand_int_range (rand, 0, files->len)];
  HistoryFile *into;
  GString *text;

  if (!g_queue_is_empty (&from->queue) || from->torn != NULL
      || from->delivered->len == 0)
    return;
  /* Sometimes every line is in a copy beside it already (the sync tool
   * made them): it is deleted alone. */
  if (g_rand_boolean (rand) && history_file_held_beside (files, from))
    {
      for (guint i = 0; i < files->len; i++)
        if (files->pdata[i] != from
            && history_same_stem (from->name,
                                  ((HistoryFile *) files->pdata[i])->name))
          {
            history_add_op (ops, HISTORY_MERGE,
                            ((HistoryFile *) files->pdata[i])->name,
                            g_strdup (""), 0);
            break;
          }
      ((HistoryOp *) ops->pdata[ops->len - 1])->from = g_strdup (from->name);
      g_ptr_array_remove (files, from);
      figures->deleted++;
      return;
    }
  do
    into = files->pdata[g_rand_int_range (rand, 0, files->len)];
  while (into == from);
  text = g_string_new (NULL);
  if (into->torn != NULL)
    {
      history_line_text (into, text, into->torn, into->torn_cut,
                     strlen (into->torn));
      g_ptr_array_add (into->delivered, g_steal_pointer (&into->torn));
    }
  for (guint i = 0; i < from->delivered->len; i++)
    {
      const char *line = from->delivered->pdata[i];

      history_line_text (into, text, line, 0, strlen (line));
      g_ptr_array_add (into->delivered, g_strdup (line));
    }
  /* One step, so that shrinking never keeps the delete alone. */
  history_add_op (ops, HISTORY_MERGE, into->name, g_string_free (text, FALSE), 0);
  ((HistoryOp *) ops->pdata[ops->len - 1])->from = g_strdup (from->name);
  g_ptr_array_remove (files, from);
  figures->merged++;
}

static guint
history_random_batch (GRand *rand)
{
  static const guint sizes[] = { 1, 1, 2, 3, 4, 5, 7, 1000 };

  return sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))];
}

/**
 * history_deliver:
 * The steps of a simulated file-sync tool delivering a history.
 */
GPtrArray *
history_deliver (GRand *rand, GPtrArray *events, HistoryFigures *figures)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (history_file_free);
  GPtrArray *ops = g_ptr_array_new_with_free_func (history_op_free);
  guint total = 0, delivered = 0;

  figures->events += events->len;

  /* Queue each line in its file; some get copies elsewhere. */
  for (guint i = 0; i < events->len; i++)
    history_file_get (files, rand, ((HistoryEvent *) events->pdata[i])->file);
  for (guint i = 0; i < events->len; i++)
    {
      HistoryEvent *event = events->pdata[i];
      HistoryFile *home = history_file_get (files, rand, event->file);
      int kind = g_rand_int_range (rand, 0, 100);

      g_queue_push_tail (&home->queue, g_strdup (event->line));
      total++;
      if (kind < 15)
        {
          /* A copy in another file: a conflict copy holds the same events. */
          HistoryFile *copy = history_file_get (files, rand,
                                        history_other_file (rand, files, event));

          g_queue_push_tail (&copy->queue, g_strdup (event->line));
          figures->copies++;
          total++;
        }
      if (kind >= 10 && kind < 20)
        {
          /* Two devices' copies of one id differ; sometimes a third copy
           * has the same JSON in other bytes. */
          HistoryFile *copy = history_file_get (files, rand,
                                        g_rand_int_range (rand, 0, 5) == 0
                                          ? event->file
                                          : history_other_file (rand, files, event));
          char *variant = history_variant (rand, event);

          if (g_rand_int_range (rand, 0, 3) == 0)
            {
              HistoryFile *third = history_file_get (files, rand,
                                             history_other_file (rand, files, event));

              g_queue_push_tail (&third->queue, history_respaced (
                  g_rand_boolean (rand) ? variant : event->line));
              total++;
            }
          g_queue_push_tail (&copy->queue, variant);
          figures->conflicts++;
          total++;
        }
      else if (kind >= 20 && kind < 25)
        {
          /* The same JSON in other bytes. */
          HistoryFile *copy = history_file_get (files, rand,
                                        history_other_file (rand, files, event));

          g_queue_push_tail (&copy->queue, history_respaced (event->line));
          figures->copies++;
          total++;
        }
    }
  for (guint i = 0; i < files->len; i++)
    if (((HistoryFile *) files->pdata[i])->late)
      figures->late_files++;

  /* Deliver, with syncs between. */
  for (;;)
    {
      g_autoptr(GPtrArray) ready = g_ptr_array_new ();
      g_autoptr(GPtrArray) present = g_ptr_array_new ();
      gboolean second_half = delivered * 2 >= total;
      int action = g_rand_int_range (rand, 0, 100);

      for (guint i = 0; i < files->len; i++)
        {
          HistoryFile *file = files->pdata[i];

          if (!g_queue_is_empty (&file->queue)
              && (second_half || !file->late))
            g_ptr_array_add (ready, file);
          if (file->delivered->len > 0 || file->torn != NULL)
            g_ptr_array_add (present, file);
        }
      if (ready->len == 0 && !second_half)
        {
          /* Only late files are left: their time has come. */
          delivered = total;
          continue;
        }
      if (ready->len == 0)
        break;
      if (action < 60)
        {
          HistoryFile *file = ready->pdata[g_rand_int_range (rand, 0, ready->len)];
          guint before = g_queue_get_length (&file->queue);

          history_file_deliver (rand, ops, file, g_rand_int_range (rand, 1, 5), TRUE,
                                figures);
          delivered += before - g_queue_get_length (&file->queue);
        }
      else if (action < 68 && present->len > 0)
        {
          HistoryFile *file = present->pdata[g_rand_int_range (rand, 0,
                                                           present->len)];
          guint before = g_queue_get_length (&file->queue);

          history_file_replace (rand, ops, file, figures);
          delivered += before - g_queue_get_length (&file->queue);
        }
      else if (action < 71 && files->len > 1)
        history_file_merge (rand, ops, files, figures);
      else if (action < 74 && present->len > 0)
        history_file_copy (rand, ops, files,
                           present->pdata[g_rand_int_range (rand, 0,
                                                            present->len)],
                           figures);
      else if (action < 77)
        history_add_op (ops, HISTORY_REOPEN, NULL, NULL, 0);
      else
        history_add_op (ops, HISTORY_SYNC, NULL, NULL, history_random_batch (rand));
    }
  /* Everything whole, then a last sync. */
  for (guint i = 0; i < files->len; i++)
    history_file_deliver (rand, ops, files->pdata[i], 0, FALSE, figures);
  history_add_op (ops, HISTORY_SYNC, NULL, NULL, history_random_batch (rand));
  return ops;
}

/**
 * history_winner_free:
 * Free a HistoryWinner.
 */
void
history_winner_free (gpointer data)
{
  HistoryWinner *winner = data;

  g_free (winner->line);
  json_object_put (winner->json);
  g_free (winner);
}

/**
 * history_winner_compare:
 * Order winners by key.
 */
gint
history_winner_compare (gconstpointer a, gconstpointer b)
{
  const HistoryWinner *x = *(HistoryWinner *const *) a;
  const HistoryWinner *y = *(HistoryWinner *const *) b;
  int c;

  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  if ((c = strcmp (x->device, y->device)) != 0)
    return c;
  return strcmp (x->id, y->id);
}

static const char *
history_json_string (json_object *json, const char *key)
{
  json_object *value = NULL;

  if (!json_object_object_get_ex (json, key, &value)
      || !json_object_is_type (value, json_type_string))
    return NULL;
  return json_object_get_string (value);
}

/**
 * history_collect_winners:
 * The event of each id in the logs below a folder.
 */
void
history_collect_winners (const char *dir, GHashTable *winners)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (name[0] == '.')
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          history_collect_winners (path, winners);
          continue;
        }
      if (!g_str_has_suffix (name, ".jsonl")
          || !g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      /* The last piece has no newline: not a line yet. */
      for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
        {
          json_object *json = json_tokener_parse (lines[i]);
          json_object *ts = NULL;
          HistoryWinner *old, *winner;

          if (json == NULL || !json_object_is_type (json, json_type_object)
              || history_json_string (json, "id") == NULL
              || history_json_string (json, "deviceId") == NULL
              || history_json_string (json, "type") == NULL
              || !json_object_object_get_ex (json, "timestamp", &ts)
              || !json_object_is_type (ts, json_type_int))
            {
              json_object_put (json);
              continue;
            }
          /* The smallest copy of all, even among copies with the same
           * JSON: their bytes take part in the rule too. */
          old = g_hash_table_lookup (winners, history_json_string (json, "id"));
          if (old != NULL && history_copy_compare (old->line, lines[i]) <= 0)
            {
              json_object_put (json);
              continue;
            }
          winner = g_new0 (HistoryWinner, 1);
          winner->line = g_strdup (lines[i]);
          winner->json = json;
          winner->id = history_json_string (json, "id");
          winner->device = history_json_string (json, "deviceId");
          winner->type = history_json_string (json, "type");
          winner->ts = json_object_get_int64 (ts);
          g_hash_table_replace (winners, (gpointer) winner->id, winner);
        }
    }
}

/**
 * history_check_events:
 * jsync_events against the winning copies of the logs.
 */
char *
history_check_events (sqlite3 *db, GHashTable *winners, gboolean status,
                      guint *rows)
{
  sqlite3_stmt *stmt = NULL;
  char *failure = NULL;

  *rows = 0;
  if (sqlite3_prepare_v2 (db, "SELECT id, jsync_line(raw), status"
                              " FROM jsync_events", -1, &stmt, NULL)
      != SQLITE_OK)
    return g_strdup_printf ("events: %s", sqlite3_errmsg (db));
  while (failure == NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      HistoryWinner *winner = g_hash_table_lookup (winners, id);
      g_autofree char *raw = g_strndup (sqlite3_column_blob (stmt, 1),
                                        sqlite3_column_bytes (stmt, 1));
      json_object *json = json_tokener_parse (raw);

      if (winner == NULL)
        failure = g_strdup_printf ("events: %s is in no log", id);
      else if (!json_object_equal (json, winner->json))
        failure = g_strdup_printf ("events: %s: the cache keeps the copy\n"
                                   "  %s\nbut the event is the copy\n  %s",
                                   id, raw, winner->line);
      else if (status && sqlite3_column_int (stmt, 2) != winner->status)
        failure = g_strdup_printf ("events: %s: status %d, expected %d", id,
                                   sqlite3_column_int (stmt, 2),
                                   winner->status);
      json_object_put (json);
      (*rows)++;
    }
  sqlite3_finalize (stmt);
  return failure;
}

/**
 * history_ops_script:
 * The steps as a shell script for the jsync program.
 */
char *
history_ops_script (GPtrArray *ops)
{
  GString *script = g_string_new ("mkdir -p data/conversations"
                                  " data/workspaces");

  for (guint i = 0; i < G_N_ELEMENTS (history_task_workspaces); i++)
    g_string_append_printf (script, " data/tasks/tasks_%s",
                            history_task_workspaces[i]);
  g_string_append (script, " && cd data\n");

  for (guint i = 0; i < ops->len; i++)
    {
      HistoryOp *op = ops->pdata[i];
      g_autofree char *file = op->file != NULL ? g_shell_quote (op->file) : NULL;
      g_autofree char *text = op->text != NULL ? g_shell_quote (op->text) : NULL;

      switch (op->kind)
        {
        case HISTORY_APPEND:
          g_string_append_printf (script, "printf %%s %s >> %s\n", text, file);
          break;
        case HISTORY_REPLACE:
          g_string_append_printf (script,
                                  "printf %%s %s > .tmp && mv .tmp %s\n",
                                  text, file);
          break;
        case HISTORY_REWRITE:
          g_string_append_printf (script, "printf %%s %s > %s\n", text, file);
          break;
        case HISTORY_SYNC:
          g_string_append_printf (script,
                                  "jsync --db ../cache.db --batch-size %u"
                                  " sync\n", op->batch);
          break;
        case HISTORY_REOPEN:
          g_string_append (script, "# (the coordinator is reopened)\n");
          break;
        case HISTORY_MERGE:
          {
            g_autofree char *from = g_shell_quote (op->from);

            g_string_append_printf (script, "printf %%s %s >> %s && rm %s\n",
                                    text, file, from);
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_string_append (script,
                   "jsync --db ../reference.db --batch-size 1000000 sync\n"
                   "diff <(jsync --db ../cache.db dump)"
                   " <(jsync --db ../reference.db dump)\n");
  return g_string_free (script, FALSE);
}

/**
 * history_scratch_dir:
 * Where tests make their scratch folders.
 */
const char *
history_scratch_dir (void)
{
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR)
      && access ("/dev/shm", W_OK | X_OK) == 0)
    return "/dev/shm";
  return g_get_tmp_dir ();
}

/**
 * history_apply:
 * Carry out a step that changes files (append, replace, merge) in the data
 * folder `data`; FALSE for the other steps, which are the caller's.
 */
gboolean
history_apply (const HistoryOp *op, const char *data)
{
  g_autofree char *path = NULL;

  if (op->kind != HISTORY_APPEND && op->kind != HISTORY_REPLACE
      && op->kind != HISTORY_REWRITE && op->kind != HISTORY_MERGE)
    return FALSE;
  path = g_build_filename (data, op->file, NULL);
  switch (op->kind)
    {
    case HISTORY_APPEND:
      jtest_write_text (path, op->text, TRUE);
      break;
    case HISTORY_REPLACE:
      {
        /* As sync tools do: a temp file (a dot name, not read) renamed
         * over the log. */
        g_autofree char *dir = g_path_get_dirname (path);
        g_autofree char *tmp = g_build_filename (dir, ".sync-tmp", NULL);

        jtest_write_text (tmp, op->text, FALSE);
        g_assert_cmpint (g_rename (tmp, path), ==, 0);
      }
      break;
    case HISTORY_REWRITE:
      jtest_write_text (path, op->text, FALSE);
      break;
    case HISTORY_MERGE:
      {
        g_autofree char *from = g_build_filename (data, op->from, NULL);

        jtest_write_text (path, op->text, TRUE);
        /* A shrunk scenario may have dropped the file's writes. */
        g_unlink (from);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}
