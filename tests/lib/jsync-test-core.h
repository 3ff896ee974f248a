/* jsync-test-core.h: the test kit's part on the library itself, for the
 * test programs that link the core (tests/lib/jsync-test-core.c, in the
 * same static library as jsync-test.c: the harness programs never pull it
 * in).
 */
#ifndef JSYNC_TEST_CORE_H
#define JSYNC_TEST_CORE_H

#include <jsync/jsync.h>

#include "jsync-test.h"

G_BEGIN_DECLS

/* The library opened on `config`: asserted.  (transfer full) */
JsyncCoordinator *jtest_open (JsyncConfig *config);
/* One sync on `config`; asserts that the run itself succeeded.
 * (transfer full) */
JsyncResult *jtest_sync (JsyncConfig *config);
/* The dump of the cache of `config`: asserted.  (transfer full) */
json_object *jtest_dump (JsyncConfig *config);

G_END_DECLS

#endif /* JSYNC_TEST_CORE_H */
