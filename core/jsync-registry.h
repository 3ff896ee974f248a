/* jsync-registry.h: finding, checking and routing to applier modules. */
#ifndef JSYNC_REGISTRY_H
#define JSYNC_REGISTRY_H

#include <gmodule.h>
#include <jsync/jsync-plugin.h>

G_BEGIN_DECLS

/* One loaded, checked applier module. */
typedef struct
{
  char *name;                       /* owned: the descriptor's name */
  char *path;                       /* owned: the module file */
  GModule *module;                  /* owned */
  const JsyncApplierDesc *desc;     /* borrowed from module */
} JsyncPlugin;

/* A module file that was not loaded, and why. */
typedef struct
{
  char *path;                       /* owned */
  char *reason;                     /* owned */
} JsyncLoadFailure;

typedef struct _JsyncRegistry JsyncRegistry;

JsyncRegistry *jsync_registry_new (void);
void jsync_registry_free (JsyncRegistry *registry);

/* Load every module of the folders in `dirs`, in order; the first folder
 * that provides a name shadows later ones.  Only regular files ending in
 * "." G_MODULE_SUFFIX are considered; a file or folder writable by others
 * is refused.  A module that fails to open, lacks the descriptor, has a
 * wrong ABI or struct size, misses a required field, or whose name differs
 * from its file stem is recorded as a failure (with a g_warning naming the
 * path and reason) and the load goes on.  Names in `disabled` are skipped
 * (listed by jsync_registry_get_disabled()).  Folders in `dirs` that do
 * not exist are skipped silently.  Returns FALSE with JSYNC_ERROR_CONFIG
 * only when two loaded modules claim the same prefix (the message names
 * both files). */
gboolean jsync_registry_load (JsyncRegistry *registry,
                              const char *const *dirs,
                              const char *const *disabled,
                              GError **error);

/* The loaded plugins, ordered by name. (transfer none) */
GPtrArray *jsync_registry_get_plugins (JsyncRegistry *registry);
/* The load failures. (transfer none) of JsyncLoadFailure* */
GPtrArray *jsync_registry_get_failures (JsyncRegistry *registry);
/* Names skipped because disabled. (transfer none) of char* */
GPtrArray *jsync_registry_get_disabled (JsyncRegistry *registry);
/* The plugin whose prefix is the longest that `type` starts with
 * (bytewise), or NULL.  Answers are cached per type. (transfer none) */
JsyncPlugin *jsync_registry_route (JsyncRegistry *registry, const char *type);
/* The plugin of that name, or NULL. (transfer none) */
JsyncPlugin *jsync_registry_lookup (JsyncRegistry *registry, const char *name);
/* The plugin's late callback (ABI 1.2), or NULL: never read from a
 * descriptor of an older minor, whose field was reserved. */
JsyncApplierLateFunc jsync_plugin_get_late (const JsyncPlugin *plugin);

G_END_DECLS

#endif /* JSYNC_REGISTRY_H */
