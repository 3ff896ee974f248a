/* fuzz-keyfile.c: libFuzzer target for the keyfile loader
 * (jsync_config_load_file).
 *
 * Input: the bytes of a keyfile.  It is loaded; a failure must come with
 * a JSYNC_ERROR (or GKeyFile's) error and a message; a success must leave
 * every getter answering (the resolved data folder, database, plugin path,
 * limits, ignore globs, disabled appliers) with values in their ranges.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define FUZZ_NAME "fuzz-keyfile"
#include "fuzz-common.h"

#include "jsync-config.h"

static const char *conf_path;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* Unknown keys are warnings: not findings. */
  conf_path = fuzz_init_scratch ("jsync.conf");
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(JsyncConfig) config = jsync_config_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = NULL;
  g_auto(GStrv) required = NULL;
  g_auto(GStrv) disabled = NULL;
  const char *const *ignore;
  int fd;

  fd = g_open (conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  CHECK (size == 0 || write (fd, data, size) == (gssize) size);
  close (fd);

  if (!jsync_config_load_file (config, conf_path, &error))
    {
      CHECK (error != NULL && error->message != NULL);
      CHECK (error->domain == JSYNC_ERROR
             || error->domain == G_KEY_FILE_ERROR
             || error->domain == G_FILE_ERROR);
      CHECK (jsync_error_exit_status (error) == JSYNC_EXIT_USAGE
             || jsync_error_exit_status (error) == JSYNC_EXIT_ENVIRONMENT);
      return 0;
    }
  CHECK (error == NULL);
  CHECK (jsync_config_get_data_dir (config) != NULL);
  CHECK (jsync_config_get_database (config) != NULL);
  CHECK (jsync_config_get_batch_size (config) > 0);
  CHECK (jsync_config_get_max_line_bytes (config) > 0);
  (void) jsync_config_get_strict (config);
  (void) jsync_config_get_lock_timeout (config);
  (void) jsync_config_get_plugins_dir (config);
  (void) jsync_config_get_device_id (config);
  CHECK (g_strcmp0 (jsync_config_get_path (config), conf_path) == 0);
  CHECK (jsync_config_get_keyfile (config) != NULL);
  ignore = jsync_config_get_ignore (config);
  CHECK (ignore != NULL);
  for (guint i = 0; ignore[i] != NULL; i++)
    (void) g_pattern_match_simple (ignore[i], "conversations/x.jsonl");
  path = jsync_config_dup_plugin_path (config);
  required = jsync_config_dup_required_plugin_dirs (config);
  disabled = jsync_config_dup_disabled_appliers (config);
  CHECK (path != NULL && required != NULL && disabled != NULL);
  return 0;
}
