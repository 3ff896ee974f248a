/* failinit.c: a complete, valid descriptor whose init() always fails with
 * "init: cannot open the frobnicator" (JSYNC_APPLIER_ERROR_FAILED).
 *
 * The registry loads it (it never calls init); the cache calls init and
 * must then report the plugin with that reason and go on without it, its
 * events (prefix "failinit_", table failinit_events) staying pending. */
#include <jsync/jsync-plugin.h>

#include "fixture-stubs.h"

static gpointer
failinit_init (const JsyncApplierContext *context, GError **error)
{
  g_set_error (error, JSYNC_APPLIER_ERROR, JSYNC_APPLIER_ERROR_FAILED,
               "init: cannot open the frobnicator");
  return NULL;
}

JSYNC_APPLIER_DEFINE (
  .name = "failinit",
  .version = "1.0",
  .description = "test fixture: init always fails",
  .prefixes = (const char *const[]) { "failinit_", NULL },
  .schema_sql = "CREATE TABLE IF NOT EXISTS failinit_events"
                " (id TEXT PRIMARY KEY);",
  .schema_version = 1,
  .tables = (const char *const[]) { "failinit_events", NULL },
  .init = failinit_init,
  .apply = fixture_stub_apply,
  .clear = fixture_stub_clear,
  .free = fixture_stub_free);
