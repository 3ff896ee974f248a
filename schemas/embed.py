#!/usr/bin/env python3
"""Turn an SQL file into a C header holding it as one string constant.

A line "-- @fts-pending-triggers PREFIX ON TABLE INTO PENDING [ANY] COLUMNS"
becomes the three triggers PREFIX_insert, PREFIX_delete and PREFIX_update
that note in PENDING the rows of TABLE a batch touches (the comments around
it in the schema say why): an inserted row as new (indexed = 0), a deleted
one with the indexed COLUMNS it held (indexed = 1), an updated one as both.
The update trigger fires when a COLUMN (or the rowid) changes; it is
declared AFTER UPDATE OF the COLUMNS, or AFTER any UPDATE with ANY.
"""
import sys


def note(pending, row, columns):
    """An INSERT noting `row` (old or new) in `pending`, unless noted."""
    if row == 'new':
        into, values = 'contentRowid, indexed', 'new.rowid, 0'
    else:
        into = ', '.join(['contentRowid, indexed'] + columns)
        values = ', '.join(['old.rowid, 1'] + ['old.' + c for c in columns])
    return ('  INSERT INTO %s (%s)\n'
            '    SELECT %s\n'
            '    WHERE NOT EXISTS (SELECT 1 FROM %s\n'
            '                      WHERE contentRowid = %s.rowid);\n'
            % (pending, into, values, pending, row))


def pending_triggers(words):
    """The SQL of one @fts-pending-triggers line's words."""
    prefix, on, table, into, pending, *columns = words
    if on != 'ON' or into != 'INTO' or not columns:
        sys.exit('embed.py: @fts-pending-triggers PREFIX ON TABLE INTO'
                 ' PENDING [ANY] COLUMNS, not %s' % ' '.join(words))
    update = 'AFTER UPDATE ON %s' % table
    if columns[0] == 'ANY':
        columns = columns[1:]
    else:
        update = 'AFTER UPDATE OF %s ON %s' % (', '.join(columns), table)
    changed = ' OR '.join(['old.rowid IS NOT new.rowid']
                          + ['old.%s IS NOT new.%s' % (c, c) for c in columns])
    return ('CREATE TRIGGER %s_insert AFTER INSERT ON %s\nBEGIN\n%sEND;\n\n'
            'CREATE TRIGGER %s_delete AFTER DELETE ON %s\nBEGIN\n%sEND;\n\n'
            'CREATE TRIGGER %s_update\n  %s\n  WHEN %s\nBEGIN\n%s%sEND;'
            % (prefix, table, note(pending, 'new', columns),
               prefix, table, note(pending, 'old', columns),
               prefix, update, changed, note(pending, 'old', columns),
               note(pending, 'new', columns)))


src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding='utf-8') as f:
    text = '\n'.join(pending_triggers(line.split()[2:])
                     if line.startswith('-- @fts-pending-triggers ') else line
                     for line in f.read().split('\n'))
body = text.replace('\\', '\\\\').replace('"', '\\"')
lines = ''.join('  "%s\\n"\n' % line for line in body.split('\n'))
with open(dst, 'w', encoding='utf-8') as f:
    f.write('/* Generated from %s by embed.py: do not edit. */\n' % src.split('/')[-1])
    f.write('static const char %s[] =\n%s  ;\n' % (name, lines))
