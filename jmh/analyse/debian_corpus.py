#!/usr/bin/env python3
"""A corpus of Debian package descriptions from the local APT lists (no network): one JSON line per package,
{"id", "text", "section"}, the short description as the text, exact duplicate descriptions dropped, a seeded
random sample of N packages in list order.

    python3 jmh/analyse/debian_corpus.py OUT.jsonl [N=5000] [SEED=1]
"""
import glob
import json
import random
import subprocess
import sys

out, n, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5000, int(sys.argv[3]) if len(sys.argv) > 3 else 1
lists = sorted(glob.glob('/var/lib/apt/lists/*_Packages*'))
if not lists:
    sys.exit('debian_corpus: no /var/lib/apt/lists/*_Packages* file (run apt-get update)')
packages, seen = [], set()
for path in lists:
    cat = ['lz4cat', path] if path.endswith('.lz4') else ['zcat', path] if path.endswith('.gz') else ['cat', path]
    text = subprocess.run(cat, check=True, capture_output=True, text=True).stdout
    for stanza in text.split('\n\n'):
        fields = {}
        for line in stanza.split('\n'):
            if ': ' in line and not line.startswith(' '):
                key, value = line.split(': ', 1)
                fields[key] = value
        name, desc = fields.get('Package'), fields.get('Description')
        if not name or not desc or desc in seen:
            continue
        seen.add(desc)
        packages.append({'id': name, 'text': desc, 'section': fields.get('Section', '?')})
chosen = sorted(random.Random(seed).sample(range(len(packages)), min(n, len(packages))))
with open(out, 'w') as f:
    for i in chosen:
        f.write(json.dumps(packages[i]) + '\n')
print(f'debian_corpus: {len(chosen)} of {len(packages)} packages with distinct descriptions from {", ".join(lists)}')
