/* jsync-dump.h: canonical JSON of cache tables (`jsync dump`). */
#ifndef JSYNC_DUMP_H
#define JSYNC_DUMP_H

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* Every row of `table`, ordered by every column in turn, as an array of
 * objects {column: value}: integers as integers, reals as doubles, text as
 * strings, NULL as null, blobs as base64 strings. (transfer full) */
json_object *jsync_dump_table (sqlite3 *db, const char *table, GError **error);

G_END_DECLS

#endif /* JSYNC_DUMP_H */
