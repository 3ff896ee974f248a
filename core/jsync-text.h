/* jsync-text.h: texts from outside (log names, messages) made fit to show,
 * and the tables that name a struct's members by key. */
#ifndef JSYNC_TEXT_H
#define JSYNC_TEXT_H

#include <sqlite3.h>

#include <jsync/jsync.h>

G_BEGIN_DECLS

/* A JSON string of `length` bytes of `text` (up to its NUL when length is
 * -1), valid UTF-8 whatever they are: as they are when they are valid,
 * else with each invalid byte as "\xNN" (jsync_escape_text()).  NULL (JSON
 * null) for a NULL text.  (transfer full) */
json_object *jsync_json_new_text_len (const char *text, gssize length);
#define jsync_json_new_text(text) jsync_json_new_text_len ((text), -1)

/* A column of the current row of `stmt` as JSON: NULL for SQL NULL, a
 * number, or a string, made valid UTF-8 when `valid` (a log's name is
 * bytes).  (transfer full) */
json_object *jsync_json_new_column (sqlite3_stmt *stmt, int column,
                                    gboolean valid);

/* A key (of the keyfile, of a --json object) and the offset of the member
 * that holds its value: an entry of a table that stands for a chain of
 * alike blocks. */
typedef struct
{
  const char *key;
  gsize offset;
} JsyncKeyedMember;

#define JSYNC_KEYED_MEMBER(type, pointer, table, i) \
  G_STRUCT_MEMBER (type, pointer, (table)[i].offset)

G_END_DECLS

#endif /* JSYNC_TEXT_H */
