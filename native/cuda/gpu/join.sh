#!/usr/bin/env bash
# Joins the parts of a bundle (split-parts.sh) and unpacks it, or refuses before touching anything.
#
#   bash join.sh STASH_DIR DEST
#
#   STASH_DIR  holds MANIFEST.sha256 and the parts it lists (stash.sh puts them there)
#   DEST       the folder to unpack into. It must be absent, an empty folder, or a folder an earlier
#              join.sh made (it holds .latent-join); only then is it replaced. Anything else is refused.
#
# Order: every listed part present (a missing one is named), every part's size and sha256 (a damaged
# part, or one from another bundle, is named), DEST replaceable; then the parts are concatenated into a
# temporary folder beside DEST, the whole archive's sha256 is checked, the archive is unpacked there, and
# the result is renamed to DEST. A refused or failed join leaves DEST as it was and removes only the
# temporary folder it made. The parts stay in STASH_DIR.
# Exit status: 0 joined; 2 a part missing; 3 a part damaged or foreign; 4 the joined archive's sha256
# differs; 5 DEST cannot be replaced; 6 unpacking failed; 1 anything else; 64 usage.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=parts-lib.sh
. "$here/parts-lib.sh"

[ $# -eq 2 ] || { echo "usage: join.sh STASH_DIR DEST" >&2; exit 64; }
stash="$1" dest="${2%/}"
say() { echo "[join] $*"; }
refuse() { local code="$1"; shift; echo "join: refused: $*" >&2; echo "join: nothing joined; $dest left as it was" >&2; exit "$code"; }
for tool in sha256sum stat tar xz; do command -v "$tool" > /dev/null || { echo "join: $tool is needed" >&2; exit 1; }; done
[ -n "$dest" ] || { echo "join: DEST is empty" >&2; exit 64; }

manifest_read "$stash/MANIFEST.sha256" || refuse 2 "$m_error"
id="$(manifest_id)"
say "bundle $id: $m_archive, $m_archive_size bytes in $m_count parts ($stash)"

# 1. Every listed part present.
missing=()
for p in "${m_parts[@]}"; do [ -f "$stash/$p" ] || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  refuse 2 "missing ${missing[*]} (${#missing[@]} of the $m_count parts in $stash/MANIFEST.sha256)"
fi
shopt -s nullglob
for f in "$stash"/part-*; do
  [ -n "${m_sha[$(basename "$f")]:-}" ] || say "note: $(basename "$f") is not in this manifest (another bundle?): not used"
done

# 2. Every part whole and of this bundle.
bad=()
for p in "${m_parts[@]}"; do
  why="$(part_problem "$stash" "$p")"
  if [ -n "$why" ]; then
    bad+=("$p")
    echo "join: $p: $why" >&2
  fi
done
[ "${#bad[@]}" -eq 0 ] || refuse 3 "${bad[*]} damaged or not of bundle $id"
say "all $m_count parts present, sizes and sha256 as listed"

# 3. DEST: absent, empty, or an earlier join's.
parent="$(dirname "$dest")"
name="$(basename "$dest")"
replace=""
if [ -e "$dest" ] || [ -L "$dest" ]; then
  if [ -L "$dest" ] || [ ! -d "$dest" ]; then
    refuse 5 "$dest exists and is not a folder"
  elif [ -f "$dest/.latent-join" ]; then
    replace=ours
  elif [ -z "$(ls -A "$dest")" ]; then
    replace=empty
  else
    refuse 5 "$dest exists, is not empty and was not made by join.sh (no .latent-join in it)"
  fi
fi
mkdir -p "$parent" || refuse 5 "cannot create $parent"

# 4. Join, check, unpack beside DEST; only the folder made here is ever removed.
tmp="$(mktemp -d "$parent/.$name.join.XXXXXX")" || refuse 5 "cannot make a temporary folder in $parent"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
for p in "${m_parts[@]}"; do cat "$stash/$p"; done > "$tmp/$m_archive" || { echo "join: concatenation failed (disk full?)" >&2; exit 1; }
have="$(sha_of "$tmp/$m_archive")"
if [ "$have" != "$m_archive_sha" ]; then
  echo "join: the joined archive's sha256 is $have, the manifest says $m_archive_sha" >&2
  echo "join: nothing unpacked; $dest left as it was" >&2
  exit 4
fi
say "joined $m_archive: $(stat -c %s "$tmp/$m_archive") bytes, sha256 ok ($((SECONDS - t0)) s)"

mkdir "$tmp/unpack"
case "$m_archive" in
  *.tar.xz|*.txz) unpack=(tar -xJf) ;;
  *.tar.gz|*.tgz) unpack=(tar -xzf) ;;
  *.tar) unpack=(tar -xf) ;;
  *) echo "join: $m_archive: not a .tar, .tar.xz or .tar.gz; nothing unpacked" >&2; exit 6 ;;
esac
t0=$SECONDS
if ! "${unpack[@]}" "$tmp/$m_archive" -C "$tmp/unpack" --no-same-owner; then
  echo "join: unpacking $m_archive failed; $dest left as it was" >&2
  exit 6
fi
rm -f "$tmp/$m_archive"
printf 'bundle %s\narchive %s %s\njoined %s from %s\n' "$m_archive_sha" "$m_archive" "$m_archive_size" \
  "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$stash" > "$tmp/unpack/.latent-join"

case "$replace" in
  ours) mv "$dest" "$tmp/previous" || { echo "join: cannot move the earlier $dest aside" >&2; exit 1; } ;;
  empty) rmdir "$dest" || { echo "join: cannot remove the empty $dest" >&2; exit 1; } ;;
esac
if ! mv -T "$tmp/unpack" "$dest"; then
  [ "$replace" = ours ] && mv -T "$tmp/previous" "$dest"
  echo "join: cannot rename the unpacked folder to $dest" >&2
  exit 1
fi
case "$replace" in
  ours) how=", replacing the folder an earlier join made" ;;
  empty) how=", replacing the empty folder" ;;
  *) how="" ;;
esac
say "unpacked into $dest ($((SECONDS - t0)) s$how):"
(cd "$dest" && find . -mindepth 1 -maxdepth 2 ! -name .latent-join | LC_ALL=C sort | while IFS= read -r e; do
  printf '  %8s  %s%s\n' "$(du -sh "$e" | cut -f1)" "${e#./}" "$([ -d "$e" ] && echo /)"
done)
say "$(find "$dest" -type f | wc -l) files, $(du -sh "$dest" | cut -f1) in all"
