/* jsync-registry.c: finding, checking and routing to applier modules
 * (docs/design.md "The plugin lifecycle", docs/style.md "Plugins").
 *
 * A module is trusted only after every check below has passed, and nothing
 * in it is called here: init() and the rest are the cache's business.  Not
 * thread-safe: one registry belongs to one coordinator. */
#include "jsync-registry.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <jsync/jsync.h>

/* Distinct event types remembered by jsync_registry_route(); past this the
 * cache starts over, so a log full of made-up types cannot grow it without
 * bound. */
#define REGISTRY_ROUTE_CACHE_MAX 4096

#define REGISTRY_MODULE_SUFFIX "." G_MODULE_SUFFIX

struct _JsyncRegistry
{
  GPtrArray *plugins;   /* owned, of JsyncPlugin*, ordered by name */
  GPtrArray *failures;  /* owned, of JsyncLoadFailure* */
  GPtrArray *disabled;  /* owned, of char* */
  GHashTable *by_name;  /* owned: name (borrowed) -> JsyncPlugin* (borrowed) */
  GHashTable *seen;     /* owned: file stem (owned) -> the path that provided
                         * it first (owned); later folders are shadowed */
  GHashTable *routes;   /* owned: type (owned) -> JsyncPlugin* (borrowed) or
                         * NULL when no prefix takes it */
};

static void
registry_plugin_free (gpointer data)
{
  JsyncPlugin *plugin = data;

  if (plugin == NULL)
    return;
  plugin->desc = NULL;
  if (plugin->module != NULL)
    g_module_close (plugin->module);
  g_free (plugin->name);
  g_free (plugin->path);
  g_free (plugin);
}

static void
registry_failure_free (gpointer data)
{
  JsyncLoadFailure *failure = data;

  if (failure == NULL)
    return;
  g_free (failure->path);
  g_free (failure->reason);
  g_free (failure);
}

/**
 * jsync_registry_new:
 * An empty registry: no plugin loaded, every type unrouted.  Free it with
 * jsync_registry_free().
 */
JsyncRegistry *
jsync_registry_new (void)
{
  JsyncRegistry *registry = g_new0 (JsyncRegistry, 1);

  registry->plugins = g_ptr_array_new_with_free_func (registry_plugin_free);
  registry->failures = g_ptr_array_new_with_free_func (registry_failure_free);
  registry->disabled = g_ptr_array_new_with_free_func (g_free);
  registry->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  registry->seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                          g_free, g_free);
  registry->routes = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            g_free, NULL);
  return registry;
}

/**
 * jsync_registry_free:
 * Release the registry and close every module it loaded: descriptors and
 * anything else borrowed from a plugin are invalid afterwards.  NULL is
 * accepted.
 */
void
jsync_registry_free (JsyncRegistry *registry)
{
  if (registry == NULL)
    return;
  /* The tables borrow from the plugins: drop them before the modules. */
  g_hash_table_destroy (registry->routes);
  g_hash_table_destroy (registry->by_name);
  g_hash_table_destroy (registry->seen);
  g_ptr_array_unref (registry->disabled);
  g_ptr_array_unref (registry->failures);
  g_ptr_array_unref (registry->plugins);
  g_free (registry);
}

/* Record a module that was not loaded, and say so (never silent). */
static void
registry_add_failure (JsyncRegistry *registry, const char *path,
                      char *reason /* owned */)
{
  JsyncLoadFailure *failure = g_new0 (JsyncLoadFailure, 1);

  failure->path = g_strdup (path);
  failure->reason = reason;
  g_warning ("%s: %s", failure->path, failure->reason);
  g_ptr_array_add (registry->failures, failure);
}

/* GModule's error, as a reason: dlerror() text usually starts with the
 * path, which the failure already names once. */
static char *
registry_module_reason (const char *what, const char *path,
                        const GError *module_error)
{
  const char *message = module_error != NULL ? module_error->message
                                             : "unknown error";
  gsize len = strlen (path);

  if (strncmp (message, path, len) == 0 && message[len] == ':')
    message += len + 1;
  while (*message == ' ')
    message++;
  return g_strdup_printf ("%s: %s", what, message);
}

/* The first required field the descriptor lacks, or NULL. */
static const char *
registry_missing_field (const JsyncApplierDesc *desc)
{
  if (desc->name == NULL || desc->name[0] == '\0')
    return "name";
  if (desc->version == NULL)
    return "version";
  if (desc->prefixes == NULL || desc->prefixes[0] == NULL)
    return "prefixes";
  if (desc->schema_sql == NULL)
    return "schema_sql";
  if (desc->tables == NULL)
    return "tables";
  if (desc->init == NULL)
    return "init";
  if (desc->apply == NULL)
    return "apply";
  if (desc->stream != NULL && desc->clear_stream == NULL)
    return "clear_stream";
  if (desc->clear == NULL)
    return "clear";
  if (desc->free == NULL)
    return "free";
  return NULL;
}

/* Why the descriptor cannot be trusted, or NULL when it can.  The ABI
 * version is read first and alone: with another major nothing else in the
 * struct has a known meaning. */
static char *
registry_check_desc (const JsyncApplierDesc *desc, const char *stem)
{
  const char *missing;

  if (desc->abi_major != JSYNC_ABI_MAJOR)
    return g_strdup_printf ("built for ABI %u.%u, this jsync has ABI %d.%d "
                            "(major versions differ)",
                            desc->abi_major, desc->abi_minor,
                            JSYNC_ABI_MAJOR, JSYNC_ABI_MINOR);
  /* Any older minor is fine: the fields a newer minor added were reserved
   * (zero) in its descriptor, and the core reads them only from the minors
   * that know them (end_batch: minor 1; late: minor 2). */
  if (desc->abi_minor > JSYNC_ABI_MINOR)
    return g_strdup_printf ("built for ABI %u.%u, newer than this jsync's "
                            "ABI %d.%d",
                            desc->abi_major, desc->abi_minor,
                            JSYNC_ABI_MAJOR, JSYNC_ABI_MINOR);
  /* Minor versions only add fields inside `reserved`, so every descriptor
   * of this major has the same size. */
  if (desc->struct_size < sizeof (JsyncApplierDesc))
    return g_strdup_printf ("descriptor is %u bytes, ABI %d.%d needs %zu",
                            desc->struct_size, JSYNC_ABI_MAJOR,
                            JSYNC_ABI_MINOR, sizeof (JsyncApplierDesc));

  missing = registry_missing_field (desc);
  if (missing != NULL)
    return g_strdup_printf ("descriptor lacks the required field %s",
                            missing);
  for (guint i = 0; desc->prefixes[i] != NULL; i++)
    if (desc->prefixes[i][0] == '\0')
      return g_strdup_printf ("descriptor has an empty prefix "
                              "(prefixes[%u])", i);
  if (desc->search != NULL)
    for (guint i = 0; desc->search[i].fts != NULL; i++)
      if (desc->search[i].table == NULL || desc->search[i].columns == NULL)
        return g_strdup_printf ("descriptor lacks the table or columns of "
                                "search[%u]", i);
  if (strcmp (desc->name, stem) != 0)
    return g_strdup_printf ("descriptor name \"%s\" differs from the file "
                            "name \"%s\"", desc->name, stem);
  return NULL;
}

/* Open and check one module file.  Returns the plugin, or NULL with
 * *reason set (owned). */
static JsyncPlugin *
registry_open (const char *path, const char *stem, const char *dir,
               gboolean dir_writable, char **reason)
{
  g_autoptr(GError) module_error = NULL;
  GStatBuf st;
  GModule *module;
  gpointer symbol = NULL;
  JsyncPlugin *plugin;

  /* lstat: a symbolic link is not followed, it is refused. */
  if (g_lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      *reason = g_strdup_printf ("cannot read: %s", g_strerror (saved_errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      *reason = g_strdup ("not a regular file");
      return NULL;
    }
  /* As ssh does with its keys: whoever can replace the code runs in us. */
  if (dir_writable)
    {
      *reason = g_strdup_printf ("refused: %s is writable by other users "
                                 "(chmod o-w)", dir);
      return NULL;
    }
  if ((st.st_mode & S_IWOTH) != 0)
    {
      *reason = g_strdup_printf ("refused: %s is writable by other users "
                                 "(chmod o-w)", path);
      return NULL;
    }

  /* Every plugin exports the same symbol name: BIND_LOCAL keeps them
   * apart. */
  module = g_module_open_full (path, G_MODULE_BIND_LOCAL, &module_error);
  if (module == NULL)
    {
      *reason = registry_module_reason ("cannot open module", path,
                                        module_error);
      return NULL;
    }
  if (!g_module_symbol (module, JSYNC_APPLIER_SYMBOL, &symbol))
    {
      *reason = g_strdup ("no descriptor: the module does not export "
                          JSYNC_APPLIER_SYMBOL);
      g_module_close (module);
      return NULL;
    }
  /* g_module_symbol() can succeed with a symbol whose value is NULL. */
  if (symbol == NULL)
    {
      *reason = g_strdup ("no descriptor: " JSYNC_APPLIER_SYMBOL " is NULL");
      g_module_close (module);
      return NULL;
    }
  *reason = registry_check_desc (symbol, stem);
  if (*reason != NULL)
    {
      g_module_close (module);
      return NULL;
    }

  plugin = g_new0 (JsyncPlugin, 1);
  plugin->desc = symbol;
  plugin->name = g_strdup (plugin->desc->name);
  plugin->path = g_strdup (path);
  plugin->module = module;
  return plugin;
}

static int
registry_compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
registry_compare_plugins (gconstpointer a, gconstpointer b)
{
  const JsyncPlugin *pa = *(const JsyncPlugin *const *) a;
  const JsyncPlugin *pb = *(const JsyncPlugin *const *) b;

  return strcmp (pa->name, pb->name);
}

/* Load the modules of one folder, in file-name order (so warnings come out
 * in a stable order). */
static void
registry_load_dir (JsyncRegistry *registry, const char *dir,
                   const char *const *disabled)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDir) gdir = NULL;
  const char *entry;
  gboolean dir_writable;
  GStatBuf st;

  if (g_stat (dir, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        g_debug ("%s: no such plugin folder, skipped", dir);
      else
        registry_add_failure (registry, dir,
                              g_strdup_printf ("cannot read folder: %s",
                                               g_strerror (saved_errno)));
      return;
    }
  if (!S_ISDIR (st.st_mode))
    {
      registry_add_failure (registry, dir, g_strdup ("not a folder"));
      return;
    }
  dir_writable = (st.st_mode & S_IWOTH) != 0;

  gdir = g_dir_open (dir, 0, &local_error);
  if (gdir == NULL)
    {
      registry_add_failure (registry, dir,
                            g_strdup_printf ("cannot read folder: %s",
                                             local_error->message));
      return;
    }
  while ((entry = g_dir_read_name (gdir)) != NULL)
    if (g_str_has_suffix (entry, REGISTRY_MODULE_SUFFIX))
      g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, registry_compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *stem = NULL;
      const char *first;
      JsyncPlugin *plugin;
      char *reason = NULL;

      stem = g_strndup (name, strlen (name) - strlen (REGISTRY_MODULE_SUFFIX));
      first = g_hash_table_lookup (registry->seen, stem);
      if (first != NULL)
        {
          /* The same folder may be listed twice: say nothing then. */
          if (strcmp (first, path) != 0)
            g_debug ("%s: shadowed by %s", path, first);
          continue;
        }
      g_hash_table_insert (registry->seen, g_strdup (stem), g_strdup (path));

      if (disabled != NULL && g_strv_contains (disabled, stem))
        {
          g_debug ("%s: disabled, not loaded", path);
          g_ptr_array_add (registry->disabled, g_steal_pointer (&stem));
          continue;
        }

      plugin = registry_open (path, stem, dir, dir_writable, &reason);
      if (plugin == NULL)
        {
          registry_add_failure (registry, path, reason);
          continue;
        }
      g_debug ("%s: loaded %s %s", path, plugin->name, plugin->desc->version);
      g_ptr_array_add (registry->plugins, plugin);
      g_hash_table_insert (registry->by_name, plugin->name, plugin);
    }
}

/* Two plugins claiming one prefix would make routing depend on load order:
 * a configuration error naming both files. */
static gboolean
registry_check_prefixes (JsyncRegistry *registry, GError **error)
{
  g_autoptr(GHashTable) owners = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < registry->plugins->len; i++)
    {
      JsyncPlugin *plugin = g_ptr_array_index (registry->plugins, i);

      for (guint j = 0; plugin->desc->prefixes[j] != NULL; j++)
        {
          const char *prefix = plugin->desc->prefixes[j];
          JsyncPlugin *owner = g_hash_table_lookup (owners, prefix);

          if (owner != NULL && owner != plugin)
            {
              g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                           "prefix \"%s\" is claimed by both %s and %s",
                           prefix, owner->path, plugin->path);
              return FALSE;
            }
          g_hash_table_insert (owners, (gpointer) prefix, plugin);
        }
    }
  return TRUE;
}

/**
 * jsync_registry_load:
 * Load every module of `dirs` (NULL-terminated, in order; NULL for none),
 * skipping the names in `disabled` (nullable).  Failures are recorded and
 * the load goes on; see jsync-registry.h.  On a prefix conflict the
 * plugins stay loaded (so they can be listed) but routing between them is
 * undefined: the caller must stop.  Calling it again adds folders; names
 * already seen shadow the new ones.
 */
gboolean
jsync_registry_load (JsyncRegistry *registry, const char *const *dirs,
                     const char *const *disabled, GError **error)
{
  g_return_val_if_fail (registry != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    registry_load_dir (registry, dirs[i], disabled);
  g_ptr_array_sort (registry->plugins, registry_compare_plugins);
  g_hash_table_remove_all (registry->routes);
  return registry_check_prefixes (registry, error);
}

/**
 * jsync_registry_get_plugins:
 * The loaded plugins, ordered by name. (transfer none)
 */
GPtrArray *
jsync_registry_get_plugins (JsyncRegistry *registry)
{
  g_return_val_if_fail (registry != NULL, NULL);
  return registry->plugins;
}

/**
 * jsync_registry_get_failures:
 * The modules not loaded, as JsyncLoadFailure*, in the order met.
 * (transfer none)
 */
GPtrArray *
jsync_registry_get_failures (JsyncRegistry *registry)
{
  g_return_val_if_fail (registry != NULL, NULL);
  return registry->failures;
}

/**
 * jsync_registry_get_disabled:
 * The names skipped because disabled, once each, in the order met; a
 * disabled name with no module file is not listed. (transfer none)
 */
GPtrArray *
jsync_registry_get_disabled (JsyncRegistry *registry)
{
  g_return_val_if_fail (registry != NULL, NULL);
  return registry->disabled;
}

/**
 * jsync_registry_route:
 * The plugin whose prefix is the longest that `type` starts with,
 * bytewise, or NULL (the empty type matches nothing: prefixes are never
 * empty).  Answers, NULL included, are cached per type. (transfer none)
 */
JsyncPlugin *
jsync_registry_route (JsyncRegistry *registry, const char *type)
{
  JsyncPlugin *best = NULL;
  gsize best_len = 0;
  gpointer cached;

  g_return_val_if_fail (registry != NULL, NULL);
  g_return_val_if_fail (type != NULL, NULL);

  if (g_hash_table_lookup_extended (registry->routes, type, NULL, &cached))
    return cached;

  for (guint i = 0; i < registry->plugins->len; i++)
    {
      JsyncPlugin *plugin = g_ptr_array_index (registry->plugins, i);

      for (guint j = 0; plugin->desc->prefixes[j] != NULL; j++)
        {
          const char *prefix = plugin->desc->prefixes[j];
          gsize len = strlen (prefix);

          if (len > best_len && strncmp (type, prefix, len) == 0)
            {
              best = plugin;
              best_len = len;
            }
        }
    }

  if (g_hash_table_size (registry->routes) >= REGISTRY_ROUTE_CACHE_MAX)
    g_hash_table_remove_all (registry->routes);
  g_hash_table_insert (registry->routes, g_strdup (type), best);
  return best;
}

/**
 * jsync_registry_lookup:
 * The loaded plugin called `name`, or NULL. (transfer none)
 */
JsyncPlugin *
jsync_registry_lookup (JsyncRegistry *registry, const char *name)
{
  g_return_val_if_fail (registry != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (registry->by_name, name);
}

/**
 * jsync_plugin_get_late:
 * The late callback of a descriptor of ABI minor 2 or later, else NULL.
 */
JsyncApplierLateFunc
jsync_plugin_get_late (const JsyncPlugin *plugin)
{
  if (plugin->desc->abi_minor < 2)
    return NULL;
  return plugin->desc->late;
}
