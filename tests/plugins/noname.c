/* noname.c: a descriptor of the right ABI that lacks a required field (its
 * name is NULL); every other field is set.  The registry must record the
 * missing field by name. */
#include <jsync/jsync-plugin.h>

#include "fixture-stubs.h"

JSYNC_APPLIER_DEFINE (
  .name = NULL,
  .prefixes = (const char *const[]) { "noname_", NULL },
  FIXTURE_STUB_FIELDS);
