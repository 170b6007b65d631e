#!/usr/bin/env bash
# Splits an archive into parts small enough for one transfer each and writes their manifest.
#
#   bash split-parts.sh ARCHIVE OUT_DIR PART_SIZE
#
#   ARCHIVE    the file to split (for example .gpu/latent-encoder.tar.xz)
#   OUT_DIR    where part-01, part-02, ... and MANIFEST.sha256 go; must be empty or absent
#   PART_SIZE  the largest part, in bytes, or with a binary suffix: 512K, 50M (MiB), 1G
#
# MANIFEST.sha256 is in sha256sum's format (so `sha256sum -c` checks it) with '#' comment lines that
# name the archive, its size, the part size and the part count:
#   # latent bundle manifest 1
#   # archive latent-encoder.tar.xz 212345678
#   # part-size 52428800
#   # parts 5
#   # size part-01 52428800
#   ...
#   <sha256>  part-01
#   ...
#   <sha256>  latent-encoder.tar.xz     (the whole archive: the last line, and the bundle's identity)
# join.sh joins the parts on the far side and refuses a missing, damaged or foreign part by name.
set -euo pipefail

die() { echo "split-parts: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: split-parts.sh ARCHIVE OUT_DIR PART_SIZE"
archive="$1" out="$2" size="$3"
[ -f "$archive" ] || die "$archive: no such file"
for tool in split sha256sum stat; do command -v "$tool" > /dev/null || die "$tool is needed"; done

[[ "$size" =~ ^([0-9]+)([KMG]?)$ ]] || die "part size '$size': a number of bytes, or with K, M or G (binary)"
case "${BASH_REMATCH[2]}" in
  K) bytes=$(( 10#${BASH_REMATCH[1]} * 1024 )) ;;
  M) bytes=$(( 10#${BASH_REMATCH[1]} * 1048576 )) ;;
  G) bytes=$(( 10#${BASH_REMATCH[1]} * 1073741824 )) ;;
  *) bytes=$(( 10#${BASH_REMATCH[1]} )) ;;
esac
[ "$bytes" -gt 0 ] || die "part size must be above 0"

total=$(stat -c %s "$archive")
[ "$total" -gt 0 ] || die "$archive is empty"
count=$(( (total + bytes - 1) / bytes ))
[ "$count" -le 99 ] || die "$count parts of $bytes bytes: at most 99 (choose a larger part size)"

if [ -e "$out" ]; then
  [ -d "$out" ] || die "$out exists and is not a folder"
  [ -z "$(ls -A "$out")" ] || die "$out is not empty (remove the old parts first)"
fi
mkdir -p "$out"

name="$(basename "$archive")"
case "$name" in part-*|MANIFEST.sha256) die "the archive may not be named $name" ;; esac
split -b "$bytes" --numeric-suffixes=1 -a 2 "$archive" "$out/part-"
made=$(find "$out" -maxdepth 1 -name 'part-*' -type f | wc -l)
[ "$made" -eq "$count" ] || die "split made $made parts, expected $count"

whole=$(sha256sum < "$archive" | cut -d' ' -f1)
{
  echo "# latent bundle manifest 1"
  echo "# archive $name $total"
  echo "# part-size $bytes"
  echo "# parts $count"
  for i in $(seq -f '%02g' 1 "$count"); do echo "# size part-$i $(stat -c %s "$out/part-$i")"; done
  (cd "$out" && for i in $(seq -f '%02g' 1 "$count"); do sha256sum "part-$i"; done)
  echo "$whole  $name"
} > "$out/MANIFEST.sha256.tmp"
mv "$out/MANIFEST.sha256.tmp" "$out/MANIFEST.sha256"

echo "split-parts: $name ($total bytes) -> $count parts of at most $bytes bytes in $out"
for i in $(seq -f '%02g' 1 "$count"); do
  awk -v f="part-$i" -v b="$(stat -c %s "$out/part-$i")" 'BEGIN { printf "  %s  %10d bytes  %6.2f MiB\n", f, b, b / 1048576 }'
done
echo "  archive sha256 $whole"
