/* jsync-test-core.c: the test kit's part on the library
 * (jsync-test-core.h). */
#include "jsync-test-core.h"

JsyncCoordinator *
jtest_open (JsyncConfig *config)
{
  g_autoptr(GError) error = NULL;
  JsyncCoordinator *coordinator = jsync_coordinator_open (config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (coordinator);
  return coordinator;
}

JsyncResult *
jtest_sync (JsyncConfig *config)
{
  g_autoptr(JsyncCoordinator) coordinator = jtest_open (config);
  g_autoptr(GError) error = NULL;
  JsyncResult *result = jsync_coordinator_sync (coordinator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

json_object *
jtest_dump (JsyncConfig *config)
{
  g_autoptr(JsyncCoordinator) coordinator = jtest_open (config);
  g_autoptr(GError) error = NULL;
  json_object *dump = jsync_coordinator_dump (coordinator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (dump);
  return dump;
}
