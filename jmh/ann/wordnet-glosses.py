#!/usr/bin/python3
"""Every WordNet 3.0 gloss (Debian's wordnet-base) as JSONL: {"id": N, "text": "lemma: gloss"}, one per synset.

Usage: wordnet-glosses.py OUT.jsonl [WORDNET_DIR]   (default /usr/share/wordnet)
The id is the synset's position in data.noun, data.verb, data.adj, data.adv read in that order.
"""
import json
import os
import sys

out = sys.argv[1]
root = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/wordnet"
n = 0
tmp = out + ".part"
with open(tmp, "w", encoding="utf-8") as f:
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, "data." + pos), encoding="utf-8", errors="replace") as src:
            for line in src:
                if line.startswith("  ") or "|" not in line:
                    continue  # the licence header
                head, gloss = line.split("|", 1)
                fields = head.split()
                lemma = fields[4].replace("_", " ")
                f.write(json.dumps({"id": n, "text": lemma + ": " + gloss.strip()}) + "\n")
                n += 1
os.replace(tmp, out)
print(f"{n} glosses -> {out}", file=sys.stderr)
