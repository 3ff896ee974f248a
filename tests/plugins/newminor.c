/* newminor.c: a descriptor built against a newer minor ABI than the core's
 * (JSYNC_ABI_MINOR + 1), written by hand.  A newer minor may rely on fields
 * this core does not know, so the registry must refuse it. */
#include <jsync/jsync-plugin.h>

#include "fixture-stubs.h"

G_MODULE_EXPORT const JsyncApplierDesc jsync_applier_descriptor = {
  .abi_major = JSYNC_ABI_MAJOR,
  .abi_minor = JSYNC_ABI_MINOR + 1,
  .struct_size = sizeof (JsyncApplierDesc),
  .name = "newminor",
  .prefixes = (const char *const[]) { "newminor_", NULL },
  FIXTURE_STUB_FIELDS,
};
