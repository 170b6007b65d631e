#!/usr/bin/env python3
"""Joins the before/filter/after outputs of `latent cluster` (BASE-before.txt, BASE-filter.txt, BASE-after.txt)
into one markdown table: per cluster its size, the corpus's most common "section" in it (when the corpus has
one: Debian's), and the terms of each variant; then how many distinct terms the names use.

    python3 jmh/analyse/segments.py BASE CORPUS.jsonl ASSIGNMENTS.tsv
"""
import collections
import json
import re
import sys

base, corpus, assignments = sys.argv[1:4]
line = re.compile(r'^\s*(\d+)\s+(\d+) texts \(\s*[\d.]+ %\)\s+(.*?)\s+\| ')
variants = ['before', 'filter', 'after']
names, sizes, notes = {}, {}, {}
for v in variants:
    names[v] = {}
    for text in open(f'{base}-{v}.txt'):
        m = line.match(text)
        if m:
            c = int(m.group(1))
            sizes[c] = int(m.group(2))
            names[v][c] = m.group(3)
        elif text.startswith('terms:'):
            notes[v] = text.strip()
records = [json.loads(l) for l in open(corpus)]
section = collections.defaultdict(collections.Counter)
if all('section' in r for r in records):
    rows = list(open(assignments))[1:]
    for r in rows:
        row, cluster = int(r.split('\t')[0]), int(r.split('\t')[1])
        section[cluster][records[row]['section']] += 1
order = sorted(sizes, key=lambda c: (-sizes[c], c))
head = '| # | size | ' + ('top section | ' if section else '') + ' | '.join(variants) + ' |'
print(head)
print('|' + '---|' * (head.count('|') - 1))
for c in order:
    sec = ''
    if section:
        s, n = section[c].most_common(1)[0]
        sec = f'{s} ({100 * n / sizes[c]:.0f} %) | '
    print(f'| {c} | {sizes[c]} | {sec}' + ' | '.join(names[v].get(c, '') for v in variants) + ' |')
print()
for v in variants:
    terms = [t for c in order for t in names[v].get(c, '').split(', ') if t]
    repeated = sorted(t for t, n in collections.Counter(terms).items() if n > 1)
    print(f'- {v}: {len(set(terms))} distinct of {len(terms)} terms; naming several segments: '
          f'{", ".join(repeated) if repeated else "none"}')
for v in variants:
    if v in notes:
        print(f'- {v}: {notes[v]}')
