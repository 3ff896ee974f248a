#!/usr/bin/env python3
"""Turn an SQL file into a C header holding it as one string constant."""
import sys

src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding='utf-8') as f:
    text = f.read()
body = text.replace('\\', '\\\\').replace('"', '\\"')
lines = ''.join('  "%s\\n"\n' % line for line in body.split('\n'))
with open(dst, 'w', encoding='utf-8') as f:
    f.write('/* Generated from %s by embed.py: do not edit. */\n' % src.split('/')[-1])
    f.write('static const char %s[] =\n%s  ;\n' % (name, lines))
