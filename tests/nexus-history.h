/* nexus-history.h: random multi-device Nexus histories for the
 * reliability tests (test-convergence, test-crash).
 *
 * A history is a list of events in the real Nexus format (FORMAT.md) over a
 * few conversations and workspaces, written by devices whose clocks
 * disagree, each event placed in the file its device writes: the shared log
 * (conversations/conv_<id>.jsonl, workspaces/ws_<id>.jsonl) or that
 * device's sync-tool conflict copy of it.  Entity ids come from small pools
 * so that updates, deletes and re-creates hit each other, and some updates
 * come before their creates in the order.  A few events are of types no
 * bundled applier takes (they wait as pending).
 */
#ifndef NEXUS_HISTORY_H
#define NEXUS_HISTORY_H

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

/* How big a history is. */
typedef struct
{
  guint devices;            /* 1 to 4 */
  guint conversations;      /* streams of the conversation applier */
  guint workspaces;         /* streams of the workspace applier */
  guint events;
} HistoryShape;

/* One event of a history. */
typedef struct
{
  char *id;                 /* owned: the event id */
  char *device;             /* owned: its deviceId */
  gint64 ts;                /* its timestamp */
  char *line;               /* owned: its JSON text, no newline */
  char *file;               /* owned: the log its device writes it to */
  char *shared;             /* owned: the stream's shared log */
} HistoryEvent;

void history_event_free (gpointer event);

/* A random history (of HistoryEvent*, in the order it was written).
 * (transfer full) */
GPtrArray *history_generate (GRand *rand, const HistoryShape *shape);

/* Another body for the same event id, different as parsed JSON: a sync
 * conflict between two copies.  Sometimes its timestamp or deviceId
 * differs too.  (transfer full) */
char *history_variant (GRand *rand, const HistoryEvent *event);

/* The same JSON in other bytes (another serializer's spacing).
 * (transfer full) */
char *history_respaced (const char *line);

/* The copy that is the event among copies of one id (DESIGN.md §1): the
 * smallest (timestamp, deviceId, bytes).  Returns <0, 0, >0 as strcmp. */
int history_copy_compare (const char *a, const char *b);

/* Does a bundled applier take this event type? */
gboolean history_type_is_applied (const char *type);

G_END_DECLS

#endif /* NEXUS_HISTORY_H */
