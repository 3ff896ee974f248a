/* fixture-stubs.h: callbacks for the fixture plugins whose point is a
 * broken descriptor (badabi, newminor, noname, misnamed) or a failing init
 * (failinit).  The core must refuse those modules before calling anything,
 * so these never run; should a bug let one through, they behave as an
 * applier that accepts every event and stores nothing.
 *
 * A fixture names the callbacks it needs (`.apply = fixture_stub_apply`)
 * or takes them all with FIXTURE_STUB_FIELDS.  Not API: test data only. */
#ifndef FIXTURE_STUBS_H
#define FIXTURE_STUBS_H

#include <jsync/jsync-plugin.h>

static inline gpointer
fixture_stub_init (const JsyncApplierContext *context, GError **error)
{
  return g_strdup ("fixture stub state");
}

static inline gboolean
fixture_stub_apply (gpointer state, const JsyncEvent *event, GError **error)
{
  return TRUE;
}

static inline gboolean
fixture_stub_clear (gpointer state, GError **error)
{
  return TRUE;
}

static inline void
fixture_stub_free (gpointer state)
{
  g_free (state);
}

/* The required fields but ABI, name and prefixes. */
#define FIXTURE_STUB_FIELDS                                             \
  .version = "1.0",                                                     \
  .schema_sql = "",                                                     \
  .tables = (const char *const[]) { NULL },                             \
  .init = fixture_stub_init,                                            \
  .apply = fixture_stub_apply,                                          \
  .clear = fixture_stub_clear,                                          \
  .free = fixture_stub_free

#endif /* FIXTURE_STUBS_H */
