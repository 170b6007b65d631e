#!/usr/bin/env bash
# The map pictures described in the notes: the sample glosses with 12 k-means segments (PNG, and the page with a
# lasso selection and with a word search, screenshot in headless Chromium), the UCI digits coloured by their label
# (--color-by, numeric legend), and an update of a 4,000-gloss map with the other 1,000 placed by --place-on.
# Usage: bash jmh/map/pictures.sh OUTDIR   (needs target/latent.jar, python3 with numpy, sklearn's digits CSV,
# and /usr/bin/chromium for the screenshots)
set -euo pipefail
out=${1:?usage: pictures.sh OUTDIR}
mkdir -p "$out"
jar=$(pwd)/target/latent.jar
corpus=$(pwd)/models/corpus/wordnet-glosses.jsonl
cd "$out"
[ -f glosses.npy ] || java -jar "$jar" embed "$corpus" -o glosses.npy
python3 - <<'PY'
import gzip, json, numpy as np
a = np.loadtxt(gzip.open('/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz'), delimiter=',')
np.save('digits.npy', a[:, :64].astype(np.float32))
with open('digits.jsonl', 'w') as f:
    for i, t in enumerate(a[:, 64].astype(int)):
        f.write(json.dumps({'id': 'd%04d' % i, 'text': 'digit %d image %d' % (t, i), 'label': int(t)}) + '\n')
np.save('glosses-4000.npy', np.load('glosses.npy')[:4000])
PY
java -jar "$jar" map glosses.npy --corpus "$corpus" --coords glosses12.npy -o glosses12 -q
java -jar "$jar" map digits.npy --metric l2 --corpus digits.jsonl --color-by label --outliers none --coords digits.tsv -o digits-label -q
java -jar "$jar" map glosses-4000.npy --coords old.tsv -o old -q
java -jar "$jar" map glosses.npy --corpus "$corpus" --place-on old.tsv --coords new.tsv -o new -q
# The page driven as a person would: a shift-drag lasso on the left of the plot.
python3 - <<'PY'
html = open('glosses12.html', encoding='utf-8').read()
driver = '''<script>
setTimeout(function () {
  var wrap = document.getElementById('plotwrap'), rect = wrap.getBoundingClientRect();
  function fire(type, x, y) { wrap.dispatchEvent(new MouseEvent(type, { clientX: rect.left + x, clientY: rect.top + y, shiftKey: true, bubbles: true })); }
  var cx = rect.width * 0.2, cy = rect.height * 0.35, r = 90, k;
  fire('mousedown', cx + r, cy);
  for (k = 1; k <= 24; k++) fire('mousemove', cx + r * Math.cos(k * Math.PI / 12) * (1 + 0.3 * Math.sin(3 * k * Math.PI / 12)), cy + r * Math.sin(k * Math.PI / 12));
  fire('mouseup', cx + r, cy);
}, 50);
</script></body>'''
i = html.rindex('</body>')
open('glosses12-driven.html', 'w', encoding='utf-8').write(html[:i] + driver + html[i + 7:])
PY
shot() {
  local profile; profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars --window-size=1400,900 \
    --virtual-time-budget=3000 --screenshot="$1" "$2" 2>/dev/null
  rm -rf "$profile"
}
shot glosses12-select.png "file://$(pwd)/glosses12-driven.html"
shot glosses12-river.png "file://$(pwd)/glosses12.html#q=river"
ls -la
