/* jsync-test-core.c: the test kit's part on the library
 * (jsync-test-core.h). */
#include "jsync-test-core.h"

/* `value`, asserted to have come without an error and not to be NULL. */
static gpointer
checked (gpointer value, GError **error)
{
  g_assert_no_error (*error);
  g_assert_nonnull (value);
  return value;
}

JsyncResult *
jtest_sync (JsyncConfig *config)
{
  g_autoptr(JsyncCoordinator) coordinator = jtest_open (config);
  g_autoptr(GError) error = NULL;

  return checked (jsync_coordinator_sync (coordinator, &error), &error);
}

JsyncCoordinator *
jtest_open (JsyncConfig *config)
{
  g_autoptr(GError) error = NULL;

  return checked (jsync_coordinator_open (config, &error), &error);
}

json_object *
jtest_dump (JsyncConfig *config)
{
  g_autoptr(JsyncCoordinator) coordinator = jtest_open (config);
  g_autoptr(GError) error = NULL;

  return checked (jsync_coordinator_dump (coordinator, &error), &error);
}
