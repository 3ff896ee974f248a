/* jsync-result.h: building a JsyncResult. */
#ifndef JSYNC_RESULT_H
#define JSYNC_RESULT_H

#include <jsync/jsync.h>

G_BEGIN_DECLS

JsyncResult *jsync_result_new (void);
void jsync_result_clear (JsyncResult *result);
void jsync_result_finish (JsyncResult *result, gint64 start);
void jsync_result_add_error (JsyncResult *result, const char *file,
                             guint64 line, guint64 offset, const char *id,
                             const char *message);
void jsync_result_add_reread (JsyncResult *result, const char *file,
                              const char *reason);
void jsync_result_add_lost (JsyncResult *result, const char *file,
                            GPtrArray *ids);

G_END_DECLS

#endif /* JSYNC_RESULT_H */
