#!/usr/bin/env bash
# Moves the bundle parts one transfer carried out of the carried folder into a stash that outlives the
# next transfer, checking each part against the manifest before the move and again on arrival.
#
#   bash stash.sh PART_DIR STASH_DIR
#
#   PART_DIR   the carried folder: MANIFEST.sha256 and one or more of its parts (part-01 ...)
#   STASH_DIR  for example /tmp/stash; made when absent. Holds the manifest and the parts so far.
#
# A part that is damaged, or belongs to another bundle, is named and left where it is; a stash that holds
# another bundle's manifest is refused as a whole (nothing is moved). The last lines say which parts the
# stash holds and which are still to come.
# Exit status: 0 every carried part is stashed; 2 no part or no manifest carried; 3 a part refused
# (damaged or foreign) or the stash holds another bundle; 64 usage.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=parts-lib.sh
. "$here/parts-lib.sh"

[ $# -eq 2 ] || { echo "usage: stash.sh PART_DIR STASH_DIR" >&2; exit 64; }
src="$1" stash="$2"
say() { echo "[stash] $*"; }
for tool in sha256sum stat cmp; do command -v "$tool" > /dev/null || { echo "stash: $tool is needed" >&2; exit 1; }; done

if ! manifest_read "$src/MANIFEST.sha256"; then
  echo "stash: refused: $m_error" >&2
  exit 2
fi
id="$(manifest_id)"
mkdir -p "$stash" || { echo "stash: cannot create $stash" >&2; exit 1; }
if [ -e "$stash/MANIFEST.sha256" ]; then
  if ! cmp -s "$src/MANIFEST.sha256" "$stash/MANIFEST.sha256"; then
    other="$( (manifest_read "$stash/MANIFEST.sha256" && manifest_id) 2> /dev/null || echo 'unreadable')"
    echo "stash: refused: $stash holds bundle $other, the carried parts belong to bundle $id; not mixing" \
      "them (empty $stash or choose another stash folder)" >&2
    exit 3
  fi
else
  cp "$src/MANIFEST.sha256" "$stash/.MANIFEST.sha256.incoming" && mv "$stash/.MANIFEST.sha256.incoming" "$stash/MANIFEST.sha256" \
    || { echo "stash: cannot write $stash/MANIFEST.sha256" >&2; exit 1; }
fi

status=0
carried=0
shopt -s nullglob
for f in "$src"/part-*; do
  p="$(basename "$f")"
  carried=$((carried + 1))
  if [ -z "${m_sha[$p]:-}" ]; then
    echo "stash: refused $p: not in the manifest of bundle $id (from another bundle?); left in $src" >&2
    status=3
    continue
  fi
  why="$(part_problem "$src" "$p")"
  if [ -n "$why" ]; then
    echo "stash: refused $p: $why; left in $src" >&2
    status=3
    continue
  fi
  # Copy, check on arrival, then rename into place: a part in the stash under its own name is always whole.
  incoming="$stash/.$p.incoming"
  if ! cp "$f" "$incoming"; then
    rm -f "$incoming"
    echo "stash: cannot copy $p into $stash" >&2
    status=3
    continue
  fi
  have="$(sha_of "$incoming")"
  if [ "$have" != "${m_sha[$p]}" ]; then
    rm -f "$incoming"
    echo "stash: refused $p: damaged on arrival in $stash (sha256 ${have:0:16}..., expected ${m_sha[$p]:0:16}...); left in $src" >&2
    status=3
    continue
  fi
  mv -f "$incoming" "$stash/$p" && rm -f "$f"
  say "$p: $(stat -c %s "$stash/$p") bytes, sha256 ${have:0:16}... ok, in $stash"
done

if [ "$carried" -eq 0 ]; then
  echo "stash: no part-* in $src (nothing carried?)" >&2
  status=2
fi

have_list="" missing_list="" n=0
for p in "${m_parts[@]}"; do
  if [ -f "$stash/$p" ]; then have_list="$have_list $p"; n=$((n + 1)); else missing_list="$missing_list $p"; fi
done
say "bundle $id ($m_archive): $stash holds $n of $m_count parts:${have_list:- none}"
if [ -n "$missing_list" ]; then
  say "still to come:$missing_list"
else
  say "complete: bash $here/join.sh $stash DEST"
fi
exit "$status"
