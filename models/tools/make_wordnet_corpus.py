#!/usr/bin/env python3
"""Builds models/corpus/wordnet-glosses.jsonl from WordNet 3.0 data files (Debian package wordnet-base).

Deterministic: every k-th synset of each part of speech, in file order, so the same data files always
give the same corpus. Usage: python3 models/tools/make_wordnet_corpus.py /usr/share/wordnet models/corpus
"""
import json
import os
import sys

# Part of speech -> (data file, number of synsets to take). About 5,000 texts in all.
PLAN = [("n", "data.noun", 3000), ("v", "data.verb", 1000), ("a", "data.adj", 800), ("r", "data.adv", 200)]


def synsets(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        for line in f:
            if line.startswith("  "):  # licence header lines
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            offset, ss_type, w_cnt = fields[0], fields[2], int(fields[3], 16)
            lemma = fields[4].replace("_", " ")
            # Adjective lemmas may carry a syntactic marker such as "(a)" or "(p)".
            if "(" in lemma:
                lemma = lemma[: lemma.index("(")]
            yield offset, ss_type, lemma, gloss.strip()


def main(wordnet_dir, out_dir):
    rows = []
    for pos, name, count in PLAN:
        all_synsets = list(synsets(os.path.join(wordnet_dir, name)))
        step = len(all_synsets) / count
        for i in range(count):
            offset, ss_type, lemma, gloss = all_synsets[int(i * step)]
            rows.append({"id": offset + pos, "text": lemma + ": " + gloss})
    with open(os.path.join(out_dir, "wordnet-glosses.jsonl"), "w", encoding="utf-8", newline="\n") as out:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(len(rows), "texts")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
