/* jsync-config.h: configuration internals beyond the public jsync.h API. */
#ifndef JSYNC_CONFIG_H
#define JSYNC_CONFIG_H

#include <jsync/jsync.h>

G_BEGIN_DECLS

#define JSYNC_DEFAULT_BATCH_SIZE 1000
#define JSYNC_DEFAULT_MAX_LINE_BYTES (64 * 1024 * 1024)

/* The plugin search path, in order (docs/design.md "The plugin
 * lifecycle"): the folders of $JSYNC_PLUGIN_PATH alone when it is set;
 * otherwise --plugins-dir, the keyfile's plugins-dir (relative to the
 * keyfile's folder), then the installed folder JSYNC_PLUGINS_DIR.
 * (transfer full) */
GStrv jsync_config_dup_plugin_path (JsyncConfig *config);
/* Folders named explicitly (--plugins-dir, keyfile): they must exist. */
GStrv jsync_config_dup_required_plugin_dirs (JsyncConfig *config);
/* The keyfile's `ignore` globs (matched against the path relative to the
 * data folder and against the base name); NULL-terminated, never NULL.
 * (transfer none) */
const char *const *jsync_config_get_ignore (JsyncConfig *config);
/* `device-id` from the keyfile, or NULL. (transfer none) */
const char *jsync_config_get_device_id (JsyncConfig *config);
/* Seconds a writer waits for the cache lock (key `lock-timeout`, default
 * 30). */
guint jsync_config_get_lock_timeout (JsyncConfig *config);
/* Whether a rebuild keeps the cache it replaces as "<db>.previous"
 * (--keep-previous, key `keep-previous`, default FALSE: it is removed). */
void jsync_config_set_keep_previous (JsyncConfig *config, gboolean keep);
gboolean jsync_config_get_keep_previous (JsyncConfig *config);
/* The file the keyfile was loaded from, or NULL. (transfer none) */
const char *jsync_config_get_path (JsyncConfig *config);
/* The NAMEs of the [applier:NAME] groups that say enabled=false.
 * (transfer full) */
GStrv jsync_config_dup_disabled_appliers (JsyncConfig *config);

G_END_DECLS

#endif /* JSYNC_CONFIG_H */
