#!/usr/bin/env bash
# The encoder's half of the GPU proof: joins the encoder bundle (gpu-bundle.sh --encoder) from its parts,
# points ONNX Runtime's CUDA provider at the machine's CUDA libraries, runs our EncodeBench on the CUDA
# provider (vectors against the CPU reference, then the timings) and the torch peer (encoder_peer.py) on the
# same tokens, and prints a step table and the peer's comparison table last.
#
#   bash proof.sh OUT [--stash DIR --dest DIR | --bundle DIR] [options]      on the GPU machine
#   bash proof.sh OUT --cpu [options]                                        here: the same, on the CPU
#
#   OUT             folder for logs and results (made; default ./latent-encoder-out)
#   --stash DIR     the parts and MANIFEST.sha256 (stash.sh put them there); joined into --dest with
#                   join.sh, unless --dest already holds this very bundle
#   --dest DIR      where the bundle is unpacked (default /tmp/latent-encoder)
#   --bundle DIR    an unpacked bundle instead (the folder holding latent-encoder/, or latent-encoder/ itself)
#   --cpu           ONNX Runtime's CPU provider and torch on the CPU, with small defaults; without --stash
#                   or --bundle it takes the parts in .gpu/encoder, moves copies of them one at a time
#                   through stash.sh into a temporary stash (as the transfers would) and joins them there
#   --wait-for NAME wait (at most --wait-max S, default 420) for the background job NAME of bg.sh (the kNN
#                   proof) to finish before anything touches the GPU; its status goes in the table
#   --texts N  --batches LIST  --paths LIST  --seconds S  --check-texts M     EncodeBench's options
#                   (defaults 20000, 32,128,512, run,bound, 3, 2048; with --cpu 64, 32, run,bound, 1, 64)
#   --reference F   .npy of our CPU vectors of the first texts (default: the bundle's reference/*.npy);
#                   EncodeBench fails below cosine --min-cosine (default 0.9999)
#   --peer-seconds S  --peer-modes LIST  --peer-dtypes LIST     encoder_peer.py's --seconds (default 2; 1 with
#                   --cpu), --modes, --dtypes (default: the peer's; with --cpu eager and float32)
#   --encode-limit S  --peer-limit S   time limits of the two steps (default 240 and 180)
#
# Every step has a time limit; a failed step is reported and the next one still runs where it can. The exit
# status is 0 only when every step that ran passed. Files under OUT: summary.txt (the tables), header.txt,
# join.log, env.log, encode.log, peer.log, dump/ (our vectors, manifest.json, timing.json), peer/
# (results.json, results.tsv).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_gpu=""
[ -f "$here/join.sh" ] && repo_gpu="$here"                         # run from native/cuda/gpu
[ -z "$repo_gpu" ] && [ -f "$here/../native/cuda/gpu/join.sh" ] && repo_gpu="$(cd "$here/../native/cuda/gpu" && pwd)"
out="" cpu=0 stash="" dest="/tmp/latent-encoder" bundle="" wait_for="" wait_max=420
texts="" batches="" paths="" seconds="" check_texts="" reference="" min_cosine=0.9999
peer_seconds="" peer_modes="" peer_dtypes="" encode_limit=240 peer_limit=180
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) cpu=1; shift ;;
    --stash) stash="${2:?--stash needs a folder}"; shift 2 ;;
    --dest) dest="${2:?--dest needs a folder}"; shift 2 ;;
    --bundle) bundle="${2:?--bundle needs a folder}"; shift 2 ;;
    --wait-for) wait_for="${2:?--wait-for needs a job name}"; shift 2 ;;
    --wait-max) wait_max="${2:?}"; shift 2 ;;
    --texts) texts="${2:?}"; shift 2 ;;
    --batches) batches="${2:?}"; shift 2 ;;
    --paths) paths="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --check-texts) check_texts="${2:?}"; shift 2 ;;
    --reference) reference="${2:?}"; shift 2 ;;
    --min-cosine) min_cosine="${2:?}"; shift 2 ;;
    --peer-seconds) peer_seconds="${2:?}"; shift 2 ;;
    --peer-modes) peer_modes="${2:?}"; shift 2 ;;
    --peer-dtypes) peer_dtypes="${2:?}"; shift 2 ;;
    --encode-limit) encode_limit="${2:?}"; shift 2 ;;
    --peer-limit) peer_limit="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "proof.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    *) out="$1"; shift ;;
  esac
done
if [ -n "$bundle" ] && [ -n "$stash" ]; then echo "proof.sh: --bundle or --stash, not both" >&2; exit 64; fi
if [ "$cpu" = 0 ] && [ -z "$bundle" ] && [ -z "$stash" ]; then
  echo "proof.sh: say where the bundle is: --stash DIR (its parts), --bundle DIR (unpacked), or --cpu" >&2
  exit 64
fi
if [ "$cpu" = 1 ]; then
  provider=cpu device=cpu
  : "${texts:=64}" "${batches:=32}" "${paths:=run,bound}" "${seconds:=1}" "${check_texts:=64}"
  : "${peer_seconds:=1}" "${peer_modes:=eager}" "${peer_dtypes:=float32}"
else
  provider=cuda device=cuda
  : "${texts:=20000}" "${batches:=32,128,512}" "${paths:=run,bound}" "${seconds:=3}" "${check_texts:=2048}"
  : "${peer_seconds:=2}"
fi
out="${out:-$PWD/latent-encoder-out}"
mkdir -p "$out" || { echo "proof.sh: cannot create $out" >&2; exit 1; }
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/latent-encoder-proof.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step_tag=proof step_width=9
# shellcheck source=steps.sh
. "$here/steps.sh"

# ---- 1. the bundle: joined from its parts, or given ----
t0=$SECONDS
b=""
if [ -n "$bundle" ]; then
  if [ -f "$bundle/latent-encoder/BUILD-INFO" ]; then b="$bundle/latent-encoder"; elif [ -f "$bundle/BUILD-INFO" ]; then b="$bundle"; fi
  if [ -n "$b" ]; then record bundle PASS 0 "$b"; else record bundle FAIL 0 "no latent-encoder/BUILD-INFO in $bundle"; fi
else
  [ -n "$repo_gpu" ] || { echo "proof.sh: join.sh and stash.sh not found (run proof.sh from native/cuda/gpu)" >&2; exit 1; }
  if [ -z "$stash" ]; then
    # --cpu without a stash: the transfers, played here. Each part travels alone with the manifest into a
    # carried folder, and stash.sh moves it into the stash and checks it.
    parts_dir="$(cd "$repo_gpu/../../.." && pwd)/.gpu/encoder"
    if [ ! -f "$parts_dir/MANIFEST.sha256" ]; then
      record join FAIL 0 "no $parts_dir/MANIFEST.sha256: build the bundle first (bash native/cuda/gpu-bundle.sh --encoder)"
    else
      stash="$work/stash"
      dest="$work/latent-encoder"
      : > "$out/join.log"
      for p in "$parts_dir"/part-*; do
        rm -rf "$work/carried" && mkdir -p "$work/carried"
        cp "$parts_dir/MANIFEST.sha256" "$p" "$work/carried/"
        bash "$repo_gpu/stash.sh" "$work/carried" "$stash" 2>&1 | tee -a "$out/join.log"
      done
    fi
  fi
  if [ -n "$stash" ]; then
    joined_id="$(sed -n 's/^bundle //p' "$dest/.latent-join" 2> /dev/null)"
    stash_id="$(tail -n 1 "$stash/MANIFEST.sha256" 2> /dev/null | cut -d' ' -f1)"
    if [ -n "$joined_id" ] && [ "$joined_id" = "$stash_id" ]; then
      note "$dest already holds bundle ${stash_id:0:12} (from an earlier join): not joined again"
      echo "already joined: $dest holds bundle $stash_id" >> "$out/join.log"
      rc=0
    else
      bash "$repo_gpu/join.sh" "$stash" "$dest" 2>&1 | tee -a "$out/join.log"
      rc=${PIPESTATUS[0]}
    fi
    if [ "$rc" = 0 ] && [ -f "$dest/latent-encoder/BUILD-INFO" ]; then
      b="$dest/latent-encoder"
      record join PASS $((SECONDS - t0)) "bundle ${stash_id:0:12}: $(grep -c '^[0-9a-f]\{64\}  part-' "$stash/MANIFEST.sha256") parts -> $dest ($(find "$b" -type f | wc -l) files, $(du -sh "$b" | cut -f1))"
    else
      record join FAIL $((SECONDS - t0)) "$(grep -m1 'refused\|failed\|cannot' "$out/join.log" || echo "join.sh exit $rc")"
    fi
  fi
fi

# ---- 2. header ----
{
  echo "== latent encoder proof, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname) =="
  echo "-- bundle: ${b:-none}"
  [ -n "$b" ] && cat "$b/BUILD-INFO"
  echo "-- options: provider=$provider texts=$texts batches=$batches paths=$paths seconds=$seconds check-texts=$check_texts peer-seconds=$peer_seconds"
  machine_header
} > "$out/header.txt" 2>&1
cat "$out/header.txt"

# ---- 3. environment: glibc, python with torch, the CUDA libraries the CUDA provider needs ----
env_ok=0
py=""
for c in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
  if command -v "$c" > /dev/null && "$c" -c 'import torch, onnx, numpy' > /dev/null 2>&1; then py="$(command -v "$c")"; break; fi
done
if [ -n "$b" ]; then
  t0=$SECONDS
  need="$(sed -n 's/^glibc needed: *//p' "$b/BUILD-INFO")"
  have="$(ldd --version 2>&1 | head -1 | grep -oE '[0-9]+\.[0-9]+$')"
  if [ -n "$need" ] && [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
    record env FAIL 0 "this machine's glibc $have is older than the $need the bundle's native code needs"
  elif [ "$provider" = cpu ]; then
    env_ok=1
    record env PASS 0 "glibc ${have:-?} (bundle needs ${need:-?}); CPU provider: no CUDA libraries needed; python: ${py:-none with torch, onnx and numpy}"
  else
    # LD_LIBRARY_PATH: every folder of the python packages nvidia.* that holds shared libraries (cuBLAS, cuDNN,
    # cuFFT, the CUDA runtime, ...), found through the python that has torch, else by a glob.
    dirs=""
    if [ -n "$py" ]; then
      dirs="$("$py" - << 'PY' 2> /dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia")
found = set()
for base in (spec.submodule_search_locations if spec else []) or []:
    for root, _, files in os.walk(base):
        if any(f.startswith("lib") and ".so" in f for f in files):
            found.add(root)
print(":".join(sorted(found)))
PY
)"
    fi
    if [ -z "$dirs" ]; then
      dirs="$(ls -d /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib /usr/local/lib/python3*/dist-packages/nvidia/*/lib \
        /usr/lib/python3/dist-packages/nvidia/*/lib 2> /dev/null | tr '\n' ':' | sed 's/:$//')"
    fi
    export LD_LIBRARY_PATH="${dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    libs="$(sed -n 's/^cuda provider needs: *//p' "$b/BUILD-INFO") libcuda.so.1"
    pycheck="${py:-python3}"
    missing="$("$pycheck" -c '
import ctypes, sys
bad = []
for name in sys.argv[1:]:
    try:
        ctypes.CDLL(name)
    except OSError as e:
        bad.append("%s (%s)" % (name, e))
print("; ".join(bad))' $libs 2>&1)"
    {
      echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
      echo "python: ${py:-none with torch, onnx and numpy}"
      echo "libraries checked with dlopen: $libs"
      echo "missing: ${missing:-none}"
    } > "$out/env.log"
    cat "$out/env.log"
    if [ -z "$dirs" ]; then
      record env FAIL $((SECONDS - t0)) "no nvidia.* python packages with libraries found (python: ${py:-none})"
    elif [ -n "$missing" ]; then
      record env FAIL $((SECONDS - t0)) "not loadable: $missing"
    else
      env_ok=1
      record env PASS $((SECONDS - t0)) "glibc ${have:-?} (needs ${need:-?}); $(echo "$libs" | wc -w) CUDA libraries load from $(echo "$dirs" | tr ':' '\n' | wc -l) folders"
    fi
  fi
fi

# ---- 4. wait for the background job (the kNN proof) before the GPU is used ----
if [ -n "$wait_for" ]; then
  [ -n "$repo_gpu" ] || repo_gpu="$here"
  note "waiting for $wait_for (at most $wait_max s)"
  t0=$SECONDS
  msg="$(bash "$repo_gpu/bg.sh" wait "$wait_for" "$wait_max")"
  rc=$?
  echo "$msg"
  case "$rc" in
    0) record wait PASS $((SECONDS - t0)) "$msg" ;;
    125) record wait WARN $((SECONDS - t0)) "$msg; the encoder runs beside it (timings disturbed)" ;;
    *) record wait INFO $((SECONDS - t0)) "$msg" ;;
  esac
fi

# ---- 5. ours: EncodeBench ----
ref_args=()
if [ -z "$reference" ] && [ -n "$b" ]; then reference="$(ls "$b"/reference/*.npy 2> /dev/null | head -1)"; fi
[ -n "$reference" ] && ref_args=(--reference "$reference" --min-cosine "$min_cosine")
dump="$work/dump"
encode_ok=0
if [ -z "$b" ]; then
  record encode FAIL 0 "not run: no bundle"
elif [ "$env_ok" = 0 ]; then
  record encode FAIL 0 "not run: environment (above)"
else
  java="$b/runtime/bin/java"
  note "encode: EncodeBench --provider $provider --texts $texts --batches $batches --paths $paths${reference:+ --reference $(basename "$reference")}"
  export DJL_CACHE_DIR="$work/djl"
  limited "$encode_limit" "$out/encode.log" "$java" -Xss4m -Djava.io.tmpdir="$work" \
    -Dorg.bytedeco.javacpp.cachedir="$work/javacpp-cache" -DDJL_CACHE_DIR="$work/djl" -Dai.djl.offline=true \
    -cp "$b/lib/*" dev.latent.bench.EncodeBench \
    --model-path "$b/model/all-minilm-l6-v2.onnx" --tokenizer "$b/model/all-minilm-l6-v2-tokenizer.json" \
    --provider "$provider" --texts "$texts" --batches "$batches" --paths "$paths" --seconds "$seconds" \
    --check-texts "$check_texts" --dump "$dump" "${ref_args[@]}"
  cosine="$(grep -m1 'cosine to reference' "$out/encode.log" | sed 's/^encode-bench: //; s/ to reference [^ ]* / /')"
  [ -n "$reference" ] || cosine="no reference vectors (cosine to the CPU not checked)"
  on="$(grep -m1 'encode-bench: model ' "$out/encode.log" | sed 's/^encode-bench: model [^ ]* on //; s/, [0-9]* texts.*//')"
  speed="$(grep -E 'encode-bench: (run|bound) +batch' "$out/encode.log" \
    | sed -E 's/^encode-bench: ([a-z]+) +batch +([0-9]+):.* ([0-9.]+) texts\/s.*/\1 b\2 \3\/s/' | tr '\n' ',' | sed 's/,$//; s/,/, /g')"
  if [ "$rc" = 0 ] && [ -f "$dump/manifest.json" ]; then
    encode_ok=1
    record encode PASS "$secs" "${on:-?}; $cosine; texts/s: $speed"
  else
    record encode FAIL "$secs" "exit $rc: $(grep -m1 -iE 'error|exception|FAILED' "$out/encode.log" | cut -c1-200)${cosine:+; $cosine}"
  fi
  mkdir -p "$out/dump"
  for f in manifest.json timing.json embeddings.npy; do [ -f "$dump/$f" ] && cp "$dump/$f" "$out/dump/"; done
fi

# ---- 6. the torch peer on the same tokens ----
peer=""
for c in "${b:+$b/encoder_peer.py}" "$here/encoder_peer.py" "${repo_gpu:+$repo_gpu/encoder_peer.py}"; do
  [ -n "$c" ] && [ -f "$c" ] && { peer="$c"; break; }
done
if [ "$encode_ok" = 0 ]; then
  record peer FAIL 0 "not run: needs EncodeBench's dump"
elif [ -z "$py" ]; then
  record peer FAIL 0 "no python3 with torch, onnx and numpy (python3, /opt/torch/.venv/bin/python3, /usr/bin/python3)"
elif [ -z "$peer" ]; then
  record peer FAIL 0 "encoder_peer.py not found (bundle, $here)"
else
  peer_args=(--data "$dump" --onnx "$b/model/all-minilm-l6-v2.onnx" --device "$device" --batches "$batches"
    --texts "$texts" --seconds "$peer_seconds" --min-cosine "$min_cosine" --out "$out/peer")
  [ -n "$peer_modes" ] && peer_args+=(--modes "$peer_modes")
  [ -n "$peer_dtypes" ] && peer_args+=(--dtypes "$peer_dtypes")
  note "peer: $py $(basename "$peer") --device $device"
  PYTHONUNBUFFERED=1 limited "$peer_limit" "$out/peer.log" "$py" "$peer" "${peer_args[@]}"
  check="$(grep -m1 -iE 'least cosine|min cosine|cosine' "$out/peer.log" | cut -c1-160)"
  case "$rc" in
    0) record peer PASS "$secs" "${check:-see peer.log}" ;;
    1) record peer FAIL "$secs" "vectors differ from ours: ${check:-see peer.log}" ;;
    3) record peer FAIL "$secs" "the peer refused the graph: $(grep -m1 -i 'not' "$out/peer.log" | cut -c1-160)" ;;
    *) record peer FAIL "$secs" "exit $rc: $(tail -n 1 "$out/peer.log" | cut -c1-160)" ;;
  esac
fi

# ---- 7. the tables ----
{
  echo
  echo "== latent encoder proof: steps (logs in $out) =="
  printf '%s\n' "${table[@]}"
  if [ -f "$out/peer/results.tsv" ]; then
    echo
    echo "== ours and the torch peer (peer/results.tsv) =="
    awk -F'\t' '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } if (NF > nf) nf = NF }
      END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i]); sub(/ +$/, "", line); print line } }' \
      "$out/peer/results.tsv"
  fi
  if [ "$failed" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
} | tee "$out/summary.txt"
exit "$failed"
