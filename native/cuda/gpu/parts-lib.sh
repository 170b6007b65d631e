# Sourced by stash.sh and join.sh: reads a MANIFEST.sha256 written by split-parts.sh.
#
# manifest_read FILE sets:
#   m_parts      part names in order (part-01 ...)
#   m_sha        associative: part name -> sha256
#   m_size       associative: part name -> size in bytes
#   m_archive    the archive's name; m_archive_sha, m_archive_size its sha256 and size
#   m_count      the part count the manifest states
# and returns non-zero (with m_error set) for a manifest that is not one of ours or is inconsistent.

declare -a m_parts=()
declare -A m_sha=() m_size=()
m_archive="" m_archive_sha="" m_archive_size="" m_count="" m_error=""

manifest_read() {
  local file="$1" line kind a b
  m_parts=() m_sha=() m_size=() m_archive="" m_archive_sha="" m_archive_size="" m_count="" m_error=""
  if [ ! -f "$file" ]; then m_error="no manifest at $file"; return 1; fi
  if [ "$(head -1 "$file")" != "# latent bundle manifest 1" ]; then
    m_error="$file is not a latent bundle manifest (first line: $(head -1 "$file" | cut -c1-60))"
    return 1
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "# archive "*) read -r _ kind a b <<< "$line"; m_archive="$a"; m_archive_size="$b" ;;
      "# parts "*) read -r _ kind a <<< "$line"; m_count="$a" ;;
      "# size "*) read -r _ kind a b <<< "$line"; m_size[$a]="$b" ;;
      "#"*|"") ;;
      *)
        if [[ "$line" =~ ^([0-9a-f]{64})\ \ (part-[0-9][0-9])$ ]]; then
          m_parts+=("${BASH_REMATCH[2]}")
          m_sha[${BASH_REMATCH[2]}]="${BASH_REMATCH[1]}"
        elif [[ "$line" =~ ^([0-9a-f]{64})\ \ (.+)$ ]] && [ "${BASH_REMATCH[2]}" = "$m_archive" ]; then
          m_archive_sha="${BASH_REMATCH[1]}"
        else
          m_error="$file: unexpected line: $(printf '%s' "$line" | cut -c1-80)"
          return 1
        fi
        ;;
    esac
  done < "$file"
  if [ -z "$m_archive" ] || [ -z "$m_archive_sha" ] || [ -z "$m_count" ]; then
    m_error="$file lacks the archive line, its sha256 or the part count"
    return 1
  fi
  if [ "${#m_parts[@]}" -ne "$m_count" ]; then
    m_error="$file lists ${#m_parts[@]} parts but states $m_count"
    return 1
  fi
  local i=1 p
  for p in "${m_parts[@]}"; do
    if [ "$p" != "$(printf 'part-%02d' "$i")" ]; then
      m_error="$file: parts out of order or numbered with gaps at $p"
      return 1
    fi
    i=$((i + 1))
  done
  return 0
}

# The bundle's short identity: the first 12 hex digits of the whole archive's sha256.
manifest_id() { printf '%s' "${m_archive_sha:0:12}"; }

# sha_of FILE: its sha256 in hex.
sha_of() { sha256sum < "$1" | cut -d' ' -f1; }

# part_problem DIR PART: empty when DIR/PART is present with the manifest's size and sha256, else why not.
part_problem() {
  local f="$1/$2" have want_size="${m_size[$2]:-}"
  if [ ! -e "$f" ]; then echo "missing"; return; fi
  if [ ! -f "$f" ]; then echo "not a plain file"; return; fi
  have=$(stat -c %s "$f")
  if [ -n "$want_size" ] && [ "$have" != "$want_size" ]; then
    echo "size $have bytes, the manifest says $want_size (truncated, damaged or from another bundle)"
    return
  fi
  have=$(sha_of "$f")
  if [ "$have" != "${m_sha[$2]}" ]; then
    echo "sha256 ${have:0:16}..., the manifest says ${m_sha[$2]:0:16}... (damaged or from another bundle)"
  fi
}
