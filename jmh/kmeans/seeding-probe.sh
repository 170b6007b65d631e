#!/usr/bin/env bash
# Is the gap between one Latent run and one scikit-learn run on the digits (stability between seeds) due to
# seeding on a sample or to the iteration cap? Runs SeedingProbe.java on WORK/digits.npy (as
# restarts_vs_sklearn.py leaves it) and prints ARI against the digit and ARI between seeds per configuration.
#
#   bash jmh/kmeans/seeding-probe.sh WORK
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$1"; out="$work/probe"; mkdir -p "$out"
java -cp "$root/target/latent.jar:$root/target/lib/*" "$root/jmh/kmeans/SeedingProbe.java" "$work/digits.npy" L2 10 "$out" 2>/dev/null
/usr/bin/python3 - "$out" <<'PY'
import itertools, sys
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score as ari
out, t = sys.argv[1], load_digits().target
for s, i in [(0, 25), (1797, 25), (0, 300), (1797, 300)]:
    ls = [np.array(open(f"{out}/p-{s}-{i}-{seed}.txt").read().strip(",").split(","), int) for seed in range(10)]
    a = [ari(t, l) for l in ls]
    st = [ari(x, y) for x, y in itertools.combinations(ls, 2)]
    print(f"seeding sample {'default' if s == 0 else 'all'}, {i} iterations: ARI {np.mean(a):.3f} "
          f"({min(a):.3f}-{max(a):.3f}), between seeds {np.mean(st):.3f} ({min(st):.3f}-{max(st):.3f})")
PY
