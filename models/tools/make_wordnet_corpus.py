#!/usr/bin/env python3
"""Builds models/corpus/wordnet-glosses.jsonl from WordNet 3.0 data files (Debian package wordnet-base).

Deterministic: every k-th synset of each part of speech, in file order, so the same data files always
give the same corpus. Usage: python3 models/tools/make_wordnet_corpus.py /usr/share/wordnet models/corpus

A third argument N scales the plan to about N texts (each part of speech in the same proportion) and writes
wordnet-glosses-N.jsonl instead: larger corpora of distinct texts, for benchmarks (WordNet 3.0 holds
117,659 synsets).
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


def main(wordnet_dir, out_dir, total=None):
    rows = []
    planned = sum(count for _, _, count in PLAN)
    for pos, name, count in PLAN:
        all_synsets = list(synsets(os.path.join(wordnet_dir, name)))
        if total is not None:
            count = min(len(all_synsets), round(count * total / planned))
        step = len(all_synsets) / count
        for i in range(count):
            offset, ss_type, lemma, gloss = all_synsets[int(i * step)]
            rows.append({"id": offset + pos, "text": lemma + ": " + gloss})
    name = "wordnet-glosses.jsonl" if total is None else f"wordnet-glosses-{total}.jsonl"
    with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as out:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(len(rows), "texts")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
