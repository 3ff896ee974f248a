/* badabi.c: a descriptor of another ABI major (99), written by hand since
 * JSYNC_APPLIER_DEFINE() always fills in the right one.  The registry must
 * refuse it from abi_major alone, reading nothing else of the struct. */
#include <jsync/jsync-plugin.h>

#include "fixture-stubs.h"

G_MODULE_EXPORT const JsyncApplierDesc jsync_applier_descriptor = {
  .abi_major = 99,
  .abi_minor = 0,
  .struct_size = sizeof (JsyncApplierDesc),
  .name = "badabi",
  .prefixes = (const char *const[]) { "badabi_", NULL },
  FIXTURE_STUB_FIELDS,
};
