/* jsync-config.c: where the logs, the cache and the plugins are.
 *
 * Values come from three places, strongest first: the setters (the
 * program's command-line options), the keyfile, the defaults.  The setters'
 * values and the keyfile's are kept apart, so a setter wins whatever the
 * order of the calls, and the getters pick the strongest.
 *
 * The keyfile has a [jsync] group (keys below) and [applier:NAME] groups,
 * whose keys belong to the applier except `enabled`, which must be a
 * boolean.  Relative paths in the keyfile are taken from the keyfile's own
 * folder.  Unknown groups and keys are warnings; malformed values are
 * JSYNC_ERROR_CONFIG errors, "path: [group] key: reason".
 */
#include "jsync-config.h"

#include "jsync-text.h"

#include <stdlib.h>
#include <string.h>

#ifndef JSYNC_PLUGINS_DIR
#define JSYNC_PLUGINS_DIR "/usr/local/lib/jsync/plugins"
#endif

#define CONFIG_GROUP "jsync"
#define CONFIG_APPLIER_PREFIX "applier:"
#define CONFIG_MAX_BATCH_SIZE 1000000
#define CONFIG_DEFAULT_LOCK_TIMEOUT 30
/* Hex characters of the data folder's hash in the default cache name. */
#define CONFIG_DATABASE_HASH_LENGTH 16

/* What a keyfile says, paths already resolved against its folder.  A load
 * fills a fresh one and swaps it in only when the whole file is good. */
typedef struct
{
  char *data_dir;             /* owned, nullable */
  char *database;             /* owned, nullable */
  char *plugins_dir;          /* owned, nullable */
  guint batch_size;           /* 0: unset */
  gboolean has_strict;
  gboolean strict;
  GStrv ignore;               /* owned, nullable */
  char *device_id;            /* owned, nullable */
  gint64 max_line_bytes;      /* 0: unset */
  gboolean has_lock_timeout;
  guint lock_timeout;
  GStrv disabled_appliers;    /* owned, nullable */
  gboolean has_keep_previous;
  gboolean keep_previous;
} ConfigValues;

struct _JsyncConfig
{
  GKeyFile *keyfile;          /* owned, never NULL */
  char *path;                 /* owned: the keyfile as named, nullable */
  ConfigValues file;          /* from the keyfile */

  /* From the setters (only the first six members and keep_previous have
   * one); these win over the keyfile. */
  ConfigValues set;

  /* The default database, computed when first asked for. */
  char *default_database;     /* owned, nullable */
  char *default_database_for; /* owned: the data folder it was made for */
};

static void
config_values_clear (ConfigValues *values)
{
  g_clear_pointer (&values->data_dir, g_free);
  g_clear_pointer (&values->database, g_free);
  g_clear_pointer (&values->plugins_dir, g_free);
  g_clear_pointer (&values->ignore, g_strfreev);
  g_clear_pointer (&values->device_id, g_free);
  g_clear_pointer (&values->disabled_appliers, g_strfreev);
  memset (values, 0, sizeof *values);
}

/* Replace the string in `slot` by a copy of `value` (nullable). */
static void
config_set_string (char **slot, const char *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

/**
 * jsync_config_new:
 * A configuration with every value at its default and an empty keyfile.
 * (transfer full)
 */
JsyncConfig *
jsync_config_new (void)
{
  JsyncConfig *config = g_new0 (JsyncConfig, 1);

  config->keyfile = g_key_file_new ();
  return config;
}

/**
 * jsync_config_free:
 * Release @config and everything it owns; NULL is allowed.
 */
void
jsync_config_free (JsyncConfig *config)
{
  if (config == NULL)
    return;
  g_key_file_unref (config->keyfile);
  g_free (config->path);
  config_values_clear (&config->file);
  config_values_clear (&config->set);
  g_free (config->default_database);
  g_free (config->default_database_for);
  g_free (config);
}

/* --- Reading the keyfile ------------------------------------------------- */

/* The raw value, surrounding blanks removed.  (transfer full) */
static char *
config_dup_raw (GKeyFile *keyfile, const char *group, const char *key)
{
  char *raw = g_key_file_get_value (keyfile, group, key, NULL);

  return raw != NULL ? g_strstrip (raw) : g_strdup ("");
}

/* A decimal integer in [min, max]. */
static gboolean
config_read_unsigned (GKeyFile *keyfile, const char *group, const char *key,
                      guint64 min, guint64 max, guint64 *out, GError **error)
{
  g_autofree char *raw = config_dup_raw (keyfile, group, key);
  const char *kind = min > 0 ? "a positive" : "a non-negative";
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (raw, 10, 0, G_MAXUINT64, &value, NULL)
      || value < min)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "expected %s integer, got \"%s\"", kind, raw);
      return FALSE;
    }
  if (value > max)
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "expected %s integer no greater than %" G_GUINT64_FORMAT
                   ", got \"%s\"", kind, max, raw);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
config_read_boolean (GKeyFile *keyfile, const char *group, const char *key,
                     gboolean *out, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean value;

  value = g_key_file_get_boolean (keyfile, group, key, &local_error);
  if (local_error != NULL)
    {
      g_autofree char *raw = config_dup_raw (keyfile, group, key);

      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                   "expected true or false, got \"%s\"", raw);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

/* A non-empty string.  (transfer full) */
static char *
config_read_string (GKeyFile *keyfile, const char *group, const char *key,
                    GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *value = NULL;

  value = g_key_file_get_string (keyfile, group, key, &local_error);
  if (value == NULL)
    {
      g_set_error_literal (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                           local_error->message);
      return NULL;
    }
  if (*value == '\0')
    {
      g_set_error_literal (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                           "expected a value, got an empty one");
      return NULL;
    }
  return g_steal_pointer (&value);
}

/* A path, relative ones taken from @base_dir.  (transfer full) */
static char *
config_read_path (GKeyFile *keyfile, const char *group, const char *key,
                  const char *base_dir, GError **error)
{
  g_autofree char *value = config_read_string (keyfile, group, key, error);

  if (value == NULL)
    return NULL;
  return g_canonicalize_filename (value, base_dir);
}

/* The keys of [jsync] that are paths, and where ConfigValues keeps them. */
static const JsyncKeyedMember config_path_keys[] = {
  { "data-dir", G_STRUCT_OFFSET (ConfigValues, data_dir) },
  { "database", G_STRUCT_OFFSET (ConfigValues, database) },
  { "plugins-dir", G_STRUCT_OFFSET (ConfigValues, plugins_dir) },
};

/* Read one key of [jsync] into @values; FALSE with the reason alone in
 * @error (the caller says where).  Unknown keys are only warned about. */
static gboolean
config_read_jsync_key (GKeyFile *keyfile, const char *path,
                       const char *base_dir, const char *key,
                       ConfigValues *values, GError **error)
{
  guint64 number = 0;

  for (guint i = 0; i < G_N_ELEMENTS (config_path_keys); i++)
    if (g_str_equal (key, config_path_keys[i].key))
      {
        char **slot = &JSYNC_KEYED_MEMBER (char *, values, config_path_keys,
                                           i);

        g_free (*slot);
        *slot = config_read_path (keyfile, CONFIG_GROUP, key, base_dir, error);
        return *slot != NULL;
      }
  if (g_str_equal (key, "batch-size"))
    {
      if (!config_read_unsigned (keyfile, CONFIG_GROUP, key, 1,
                                 CONFIG_MAX_BATCH_SIZE, &number, error))
        return FALSE;
      values->batch_size = (guint) number;
      return TRUE;
    }
  if (g_str_equal (key, "strict"))
    {
      values->has_strict = TRUE;
      return config_read_boolean (keyfile, CONFIG_GROUP, key,
                                  &values->strict, error);
    }
  if (g_str_equal (key, "keep-previous"))
    {
      values->has_keep_previous = TRUE;
      return config_read_boolean (keyfile, CONFIG_GROUP, key,
                                  &values->keep_previous, error);
    }
  if (g_str_equal (key, "ignore"))
    {
      g_autoptr(GError) local_error = NULL;
      g_auto(GStrv) globs = NULL;
      g_autoptr(GPtrArray) kept = g_ptr_array_new_null_terminated (
        4, g_free, TRUE);

      globs = g_key_file_get_string_list (keyfile, CONFIG_GROUP, key, NULL,
                                          &local_error);
      if (globs == NULL && local_error != NULL)
        {
          g_set_error_literal (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG,
                               local_error->message);
          return FALSE;
        }
      /* "a;;b" and a trailing ";" leave empty items: no glob there. */
      for (guint i = 0; globs != NULL && globs[i] != NULL; i++)
        if (*g_strstrip (globs[i]) != '\0')
          g_ptr_array_add (kept, g_strdup (globs[i]));
      g_strfreev (values->ignore);
      values->ignore = (GStrv) g_ptr_array_free (g_steal_pointer (&kept),
                                                 FALSE);
      return TRUE;
    }
  if (g_str_equal (key, "device-id"))
    {
      g_free (values->device_id);
      values->device_id = config_read_string (keyfile, CONFIG_GROUP, key,
                                              error);
      return values->device_id != NULL;
    }
  if (g_str_equal (key, "max-line-bytes"))
    {
      if (!config_read_unsigned (keyfile, CONFIG_GROUP, key, 1, G_MAXINT64,
                                 &number, error))
        return FALSE;
      values->max_line_bytes = (gint64) number;
      return TRUE;
    }
  if (g_str_equal (key, "lock-timeout"))
    {
      if (!config_read_unsigned (keyfile, CONFIG_GROUP, key, 0, G_MAXUINT,
                                 &number, error))
        return FALSE;
      values->has_lock_timeout = TRUE;
      values->lock_timeout = (guint) number;
      return TRUE;
    }

  g_warning ("%s: [%s] %s: unknown key", path, CONFIG_GROUP, key);
  return TRUE;
}

/* Check the whole keyfile and collect its values into @values. */
static gboolean
config_read_keyfile (GKeyFile *keyfile, const char *path,
                     const char *base_dir, ConfigValues *values,
                     GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (keyfile, NULL);
  g_autoptr(GPtrArray) disabled = g_ptr_array_new_null_terminated (
    4, g_free, TRUE);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];
      const char *applier = NULL;

      if (g_str_has_prefix (group, CONFIG_APPLIER_PREFIX))
        applier = group + strlen (CONFIG_APPLIER_PREFIX);

      if (g_str_equal (group, CONFIG_GROUP))
        {
          g_auto(GStrv) keys = g_key_file_get_keys (keyfile, group, NULL,
                                                    NULL);

          for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
            if (!config_read_jsync_key (keyfile, path, base_dir, keys[j],
                                        values, error))
              {
                g_prefix_error (error, "%s: [%s] %s: ", path, group, keys[j]);
                return FALSE;
              }
        }
      else if (applier != NULL && *applier != '\0')
        {
          gboolean enabled = TRUE;

          /* Every other key is the applier's own business. */
          if (g_key_file_has_key (keyfile, group, "enabled", NULL))
            {
              if (!config_read_boolean (keyfile, group, "enabled", &enabled,
                                        error))
                {
                  g_prefix_error (error, "%s: [%s] %s: ", path, group,
                                  "enabled");
                  return FALSE;
                }
              if (!enabled && !g_strv_contains (
                    (const char *const *) disabled->pdata, applier))
                g_ptr_array_add (disabled, g_strdup (applier));
            }
        }
      else
        g_warning ("%s: [%s]: unknown group", path, group);
    }

  values->disabled_appliers = (GStrv) g_ptr_array_free (
    g_steal_pointer (&disabled), FALSE);
  return TRUE;
}

/**
 * jsync_config_load_file:
 * Load the keyfile at @path: its values replace those of any keyfile
 * loaded before, but never a value given to a setter (before or after).
 * Relative paths in it are taken from its folder.  Unknown groups and
 * [jsync] keys are warnings.  Returns FALSE with JSYNC_ERROR_CONFIG, and
 * @config unchanged, when the file cannot be read or parsed ("path:
 * reason") or a value is malformed ("path: [group] key: reason").
 */
gboolean
jsync_config_load_file (JsyncConfig *config, const char *path, GError **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *absolute = NULL;
  g_autofree char *base_dir = NULL;
  ConfigValues values = { 0 };

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE,
                                  &local_error))
    {
      g_set_error (error, JSYNC_ERROR, JSYNC_ERROR_CONFIG, "%s: %s", path,
                   local_error->message);
      return FALSE;
    }

  absolute = g_canonicalize_filename (path, NULL);
  base_dir = g_path_get_dirname (absolute);
  if (!config_read_keyfile (keyfile, path, base_dir, &values, error))
    {
      config_values_clear (&values);
      return FALSE;
    }

  g_key_file_unref (config->keyfile);
  config->keyfile = g_steal_pointer (&keyfile);
  config_set_string (&config->path, path);
  config_values_clear (&config->file);
  config->file = values;
  return TRUE;
}

/* --- Setters ------------------------------------------------------------- */

/**
 * jsync_config_set_data_dir:
 * The folder of the logs (--data-dir); it wins over the keyfile's
 * `data-dir`.  NULL forgets an earlier call.
 */
void
jsync_config_set_data_dir (JsyncConfig *config, const char *dir)
{
  g_return_if_fail (config != NULL);
  config_set_string (&config->set.data_dir, dir);
}

/**
 * jsync_config_set_database:
 * The cache file (--db); it wins over the keyfile's `database`.  NULL
 * forgets an earlier call.
 */
void
jsync_config_set_database (JsyncConfig *config, const char *path)
{
  g_return_if_fail (config != NULL);
  config_set_string (&config->set.database, path);
}

/**
 * jsync_config_set_plugins_dir:
 * A plugin folder searched first (--plugins-dir); it wins over the
 * keyfile's `plugins-dir`.  NULL forgets an earlier call.
 */
void
jsync_config_set_plugins_dir (JsyncConfig *config, const char *dir)
{
  g_return_if_fail (config != NULL);
  config_set_string (&config->set.plugins_dir, dir);
}

/**
 * jsync_config_set_batch_size:
 * Events per transaction (--batch-size); it wins over the keyfile's
 * `batch-size`.  Must be positive.
 */
void
jsync_config_set_batch_size (JsyncConfig *config, guint batch_size)
{
  g_return_if_fail (config != NULL);
  g_return_if_fail (batch_size > 0);
  config->set.batch_size = batch_size;
}

/**
 * jsync_config_set_strict:
 * Stop at the first failed event (--strict); it wins over the keyfile's
 * `strict`.
 */
void
jsync_config_set_strict (JsyncConfig *config, gboolean strict)
{
  g_return_if_fail (config != NULL);
  config->set.has_strict = TRUE;
  config->set.strict = strict != FALSE;
}

/**
 * jsync_config_set_keep_previous:
 * Keep the cache a rebuild replaces as "<db>.previous"
 * (--keep-previous); it wins over the keyfile's `keep-previous`.
 */
void
jsync_config_set_keep_previous (JsyncConfig *config, gboolean keep)
{
  g_return_if_fail (config != NULL);
  config->set.has_keep_previous = TRUE;
  config->set.keep_previous = keep != FALSE;
}

/* --- Getters ------------------------------------------------------------- */

/* A boolean of both places: the setter's when given, else the keyfile's,
 * else FALSE. */
static gboolean
config_pick_flag (gboolean has_set, gboolean set, gboolean has_file,
                  gboolean file)
{
  if (has_set)
    return set;
  return has_file && file;
}

/**
 * jsync_config_get_data_dir:
 * The folder of the logs: the setter's, the keyfile's, else ".".
 * (transfer none)
 */
const char *
jsync_config_get_data_dir (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  if (config->set.data_dir != NULL)
    return config->set.data_dir;
  if (config->file.data_dir != NULL)
    return config->file.data_dir;
  return ".";
}

/* $XDG_CACHE_HOME/jsync/<16 hex of SHA-256 of the data folder>.db, the
 * folder's real path when it has one, else its absolute path.
 * (transfer full) */
static char *
config_dup_default_database (const char *data_dir)
{
  g_autofree char *real = realpath (data_dir, NULL);
  g_autofree char *absolute = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *name = NULL;

  if (real == NULL)
    absolute = g_canonicalize_filename (data_dir, NULL);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                        real != NULL ? real : absolute, -1);
  name = g_strdup_printf ("%.*s.db", CONFIG_DATABASE_HASH_LENGTH, hash);
  return g_build_filename (g_get_user_cache_dir (), "jsync", name, NULL);
}

/**
 * jsync_config_get_database:
 * The cache file: the setter's, the keyfile's, else one named after the
 * data folder under the user's cache folder (computed now, again if the
 * data folder changes).  The folder may not exist yet.  (transfer none)
 */
const char *
jsync_config_get_database (JsyncConfig *config)
{
  const char *data_dir;

  g_return_val_if_fail (config != NULL, NULL);
  if (config->set.database != NULL)
    return config->set.database;
  if (config->file.database != NULL)
    return config->file.database;

  data_dir = jsync_config_get_data_dir (config);
  if (config->default_database == NULL
      || g_strcmp0 (config->default_database_for, data_dir) != 0)
    {
      g_free (config->default_database);
      config->default_database = config_dup_default_database (data_dir);
      config_set_string (&config->default_database_for, data_dir);
    }
  return config->default_database;
}

/**
 * jsync_config_get_plugins_dir:
 * The plugin folder named by the setter, else by the keyfile, else NULL.
 * (transfer none) (nullable)
 */
const char *
jsync_config_get_plugins_dir (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  if (config->set.plugins_dir != NULL)
    return config->set.plugins_dir;
  return config->file.plugins_dir;
}

/**
 * jsync_config_get_batch_size:
 * Events per transaction: the setter's, the keyfile's, else
 * JSYNC_DEFAULT_BATCH_SIZE.
 */
guint
jsync_config_get_batch_size (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, JSYNC_DEFAULT_BATCH_SIZE);
  if (config->set.batch_size > 0)
    return config->set.batch_size;
  if (config->file.batch_size > 0)
    return config->file.batch_size;
  return JSYNC_DEFAULT_BATCH_SIZE;
}

/**
 * jsync_config_get_strict:
 * Whether to stop at the first failed event: the setter's, the keyfile's,
 * else FALSE.
 */
gboolean
jsync_config_get_strict (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, FALSE);
  return config_pick_flag (config->set.has_strict, config->set.strict,
                           config->file.has_strict, config->file.strict);
}

/**
 * jsync_config_get_keep_previous:
 * Whether a rebuild keeps the cache it replaces as "<db>.previous": the
 * setter's, the keyfile's, else FALSE.
 */
gboolean
jsync_config_get_keep_previous (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, FALSE);
  return config_pick_flag (config->set.has_keep_previous,
                           config->set.keep_previous,
                           config->file.has_keep_previous,
                           config->file.keep_previous);
}

/**
 * jsync_config_get_max_line_bytes:
 * The longest line read as an event (key `max-line-bytes`, default
 * JSYNC_DEFAULT_MAX_LINE_BYTES).
 */
gint64
jsync_config_get_max_line_bytes (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, JSYNC_DEFAULT_MAX_LINE_BYTES);
  if (config->file.max_line_bytes > 0)
    return config->file.max_line_bytes;
  return JSYNC_DEFAULT_MAX_LINE_BYTES;
}

/**
 * jsync_config_get_keyfile:
 * The keyfile last loaded, or an empty one; never NULL.  (transfer none)
 */
GKeyFile *
jsync_config_get_keyfile (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return config->keyfile;
}

/**
 * jsync_config_get_ignore:
 * The keyfile's `ignore` globs, empty items dropped; never NULL.
 * (transfer none)
 */
const char *const *
jsync_config_get_ignore (JsyncConfig *config)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (config != NULL, none);
  if (config->file.ignore != NULL)
    return (const char *const *) config->file.ignore;
  return none;
}

/**
 * jsync_config_get_device_id:
 * The keyfile's `device-id`, or NULL.  (transfer none)
 */
const char *
jsync_config_get_device_id (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return config->file.device_id;
}

/**
 * jsync_config_get_lock_timeout:
 * Seconds a writer waits for the cache lock (key `lock-timeout`, default
 * 30).
 */
guint
jsync_config_get_lock_timeout (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, CONFIG_DEFAULT_LOCK_TIMEOUT);
  if (config->file.has_lock_timeout)
    return config->file.lock_timeout;
  return CONFIG_DEFAULT_LOCK_TIMEOUT;
}

/**
 * jsync_config_get_path:
 * The keyfile's path as it was given to jsync_config_load_file(), or NULL
 * when none was loaded.  (transfer none)
 */
const char *
jsync_config_get_path (JsyncConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return config->path;
}

/* --- Plugins ------------------------------------------------------------- */

static void
config_add_dir (GPtrArray *dirs, const char *dir)
{
  if (dir == NULL || *dir == '\0')
    return;
  /* Listing a folder twice would only make it shadow itself. */
  if (g_strv_contains ((const char *const *) dirs->pdata, dir))
    return;
  g_ptr_array_add (dirs, g_strdup (dir));
}

/**
 * jsync_config_dup_plugin_path:
 * The folders to search for plugins, in order: those of
 * $JSYNC_PLUGIN_PATH (G_SEARCHPATH_SEPARATOR between them) alone when it
 * is set and not empty; otherwise the setter's plugins folder, the
 * keyfile's, then JSYNC_PLUGINS_DIR.  Empty items and repeats are dropped.
 * (transfer full)
 */
GStrv
jsync_config_dup_plugin_path (JsyncConfig *config)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_null_terminated (4, g_free,
                                                               TRUE);
  const char *env;

  g_return_val_if_fail (config != NULL, NULL);

  env = g_getenv ("JSYNC_PLUGIN_PATH");
  if (env != NULL && *env != '\0')
    {
      g_auto(GStrv) items = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; items[i] != NULL; i++)
        config_add_dir (dirs, items[i]);
    }
  else
    {
      config_add_dir (dirs, config->set.plugins_dir);
      config_add_dir (dirs, config->file.plugins_dir);
      config_add_dir (dirs, JSYNC_PLUGINS_DIR);
    }
  return (GStrv) g_ptr_array_free (g_steal_pointer (&dirs), FALSE);
}

/**
 * jsync_config_dup_required_plugin_dirs:
 * The plugin folders named explicitly, by the setter and by the keyfile
 * (whether or not $JSYNC_PLUGIN_PATH is set); the caller requires them to
 * exist.  Possibly empty, never NULL.  (transfer full)
 */
GStrv
jsync_config_dup_required_plugin_dirs (JsyncConfig *config)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_null_terminated (2, g_free,
                                                               TRUE);

  g_return_val_if_fail (config != NULL, NULL);
  config_add_dir (dirs, config->set.plugins_dir);
  config_add_dir (dirs, config->file.plugins_dir);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&dirs), FALSE);
}

/**
 * jsync_config_dup_disabled_appliers:
 * The NAMEs of the [applier:NAME] groups that say enabled=false, in the
 * keyfile's order.  Possibly empty, never NULL.  (transfer full)
 */
GStrv
jsync_config_dup_disabled_appliers (JsyncConfig *config)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (config != NULL, NULL);
  if (config->file.disabled_appliers != NULL)
    return g_strdupv (config->file.disabled_appliers);
  return g_strdupv ((char **) none);
}
