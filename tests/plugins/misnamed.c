/* misnamed.c: a complete, valid descriptor whose name ("other") is not the
 * module's file stem ("misnamed").  The registry must refuse it: the file
 * name is what shadowing, `enabled=false` and the user go by. */
#include <jsync/jsync-plugin.h>

#include "fixture-stubs.h"

JSYNC_APPLIER_DEFINE (
  .name = "other",
  .prefixes = (const char *const[]) { "misnamed_", NULL },
  FIXTURE_STUB_FIELDS);
