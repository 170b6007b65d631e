#!/usr/bin/env bash
# Builds .gpu/latent-gpu.tar.xz: everything a GPU server needs to prove and time Latent's CUDA half
# with one command (latent-gpu/run.sh), with no Java, Maven or compiler there.
#
#   bash native/cuda/gpu-bundle.sh            (from anywhere; needs Maven, a JDK with jmods, nvcc, g++)
#   bash native/cuda/gpu-bundle.sh --encoder [--part-size SIZE] [--reference FILE]
#                                             the encoder's bundle instead (below)
#
# The bundle (folder latent-gpu/ inside the archive):
#   run.sh, bench_torch.py      the one command and the PyTorch comparison (native/cuda/gpu/)
#   BUILD-INFO                  commit, build date, toolchain, the glibc the native code needs
#   runtime/                    a Java runtime made with jlink (only the modules the compute path needs)
#   lib/                        the core, compute, space, index, analyse and bench classes with their native libraries
#                               (latent-compute.jar), JavaCPP, Jackson, picocli; liblatentcuda.so for
#                               cuda_check; no ONNX Runtime, no tokenizer
#   lib-debug/liblatentcuda.so  sm_90, -lineinfo, synchronous launches: what the sanitizers run
#   tests/                      the compiled core, compute, space, index and bench tests; JUnit's console launcher
#   bin/cuda_check              the C++ checks driver (native/cuda/check), linked against lib/
# Environment: LATENT_JLINK_JDK (JDK whose jlink and jmods make the runtime; default: the one that
# runs Maven), LATENT_BUNDLE_SKIP_MAVEN=1 (reuse target/ as it is).
#
# --encoder: .gpu/latent-encoder.tar.xz (xz -9e), the text encoder with ONNX Runtime's CUDA provider, too
# large for one transfer, so split (native/cuda/gpu/split-parts.sh) into .gpu/encoder/part-01, part-02, ...
# with .gpu/encoder/MANIFEST.sha256; on the GPU server stash.sh gathers the parts and join.sh (or
# proof.sh, which calls it) joins them. The bundle (folder latent-encoder/ inside the archive):
#   lib/          latent.jar (all of Latent's classes with their native libraries), ONNX Runtime's classes and
#                 its linux-x86_64-gpu native jar (the CUDA provider, libonnxruntime, the JNI library;
#                 without the DNNL provider; stored uncompressed so that xz sees the bytes), the DNNL and
#                 OpenCL presets (classes and native libraries: ONNX Runtime's presets load them), JavaCPP,
#                 DJL's tokenizers (linux-x86_64 native library only) and the jars they need, Jackson,
#                 picocli
#   runtime/      a Java runtime made with jlink (the kNN bundle's modules)
#   model/        all-minilm-l6-v2 float32: the .onnx and its tokenizer json (LangChain4j's model jar)
#   reference/    optional: an .npy of our CPU float32 vectors of the first texts, which the GPU's must match
#                 (--reference FILE, else LATENT_ENCODER_REFERENCE, else .gpu/encoder-reference.npy when
#                 present; EncodeBench --provider cpu --dump DIR writes DIR/embeddings.npy)
#   proof.sh, encoder_peer.py   copies of native/cuda/gpu/ as they were at build time
#   BUILD-INFO    commit, date, versions, sha256 of the model, the glibc the native code needs
# --part-size SIZE  the largest part (bytes, or 50M); default: what one transfer of 64 MiB leaves beside
#                   this repository's files, less 3 MiB, at most 60 MiB; the parts are sized so that the
#                   last one also fits beside the kNN bundle (.gpu/latent-gpu.tar.xz) in the first transfer
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
limit_mib=60
start=$SECONDS
say() { echo "[gpu-bundle] $*"; }
mode=knn
part_size=""
encoder_only=""
reference="${LATENT_ENCODER_REFERENCE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --encoder) mode=encoder; shift ;;
    --part-size) part_size="${2:?--part-size needs a size}"; encoder_only="$1"; shift 2 ;;
    --reference) reference="${2:?--reference needs a file}"; encoder_only="$1"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-bundle: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ "$mode" = knn ] && [ -n "$encoder_only" ]; then
  echo "gpu-bundle: $encoder_only belongs to --encoder" >&2
  exit 64
fi
if [ -n "$reference" ] && [ "$mode" = encoder ] && [ ! -f "$reference" ]; then
  echo "gpu-bundle: reference file $reference not found" >&2
  exit 1
fi

command -v mvn > /dev/null || { echo "gpu-bundle: Maven (mvn) is needed" >&2; exit 1; }
jdk="${LATENT_JLINK_JDK:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}}"
[ -x "$jdk/bin/jlink" ] || { echo "gpu-bundle: no jlink in $jdk (set LATENT_JLINK_JDK to a JDK)" >&2; exit 1; }
[ -d "$jdk/jmods" ] || { echo "gpu-bundle: $jdk has no jmods folder; install its jmods (Debian: openjdk-17-jmods) or set LATENT_JLINK_JDK" >&2; exit 1; }

if [ "${LATENT_BUNDLE_SKIP_MAVEN:-0}" != 1 ]; then
  say "mvn -Pgpu-bundle -pl src/cli -am package -DskipTests (classes, tests, native libraries, console launcher)"
  mvn -B -q -Pgpu-bundle -f "$root/pom.xml" -pl src/cli -am package -DskipTests
fi
if [ "$mode" = encoder ]; then
  # shellcheck source=gpu/encoder-bundle.sh
  . "$here/gpu/encoder-bundle.sh"
  exit 0
fi
nat="target/core/classes/dev/latent/compute/cuda/linux-x86_64"
[ -f "$nat/liblatentcuda.so" ] || { echo "gpu-bundle: $nat/liblatentcuda.so is missing: the build needs nvcc (see native/README.md)" >&2; exit 1; }
launcher="$(ls target/gpu-bundle-deps/junit-platform-console-standalone-*.jar 2> /dev/null | head -1)"
[ -n "$launcher" ] || { echo "gpu-bundle: JUnit's console launcher is missing from target/gpu-bundle-deps (run without LATENT_BUNDLE_SKIP_MAVEN)" >&2; exit 1; }

stage="$root/.gpu/stage"
b="$stage/latent-gpu"
rm -rf "$stage"
mkdir -p "$b/lib" "$b/lib-debug" "$b/tests" "$b/bin"

# Classes of the parts the compute path needs: nothing of encode, cli or the entry point (dev.latent.Latent);
# resources outside dev/latent (test fixtures such as npy/) come along.
packages=(dev/latent/core dev/latent/compute dev/latent/space dev/latent/index dev/latent/analyse dev/latent/bench)
jar_of() {  # jar_of OUT.jar CLASSES_DIR: the packages above, and CLASSES_DIR's other top-level resources
  local tmp
  tmp="$(mktemp -d)"
  for p in "${packages[@]}"; do
    if [ -d "$2/$p" ]; then mkdir -p "$tmp/$p" && cp -r "$2/$p/." "$tmp/$p/"; fi
  done
  for top in "$2"/*; do
    [ "$(basename "$top")" = dev ] || cp -r "$top" "$tmp/"
  done
  "$jdk/bin/jar" --create --file "$1" -C "$tmp" .
  rm -rf "$tmp"
}
say "jars"
# latent-core's classes (core, compute, space, index, analyse), latent-analyse's (analyse.map, analyse.text: the
# packages list above takes them with analyse) and latent-cli's (bench).
merged="$stage/classes"
mkdir -p "$merged"
cp -r target/core/classes/. target/analyse/classes/. target/cli/classes/. "$merged/"
jar_of "$b/lib/latent-compute.jar" "$merged"
rm -rf "$merged"
jar_of "$b/tests/latent-tests.jar" target/cli/test-classes
cp "$launcher" "$b/tests/"
for dep in javacpp jackson-databind jackson-core jackson-annotations picocli; do
  found=$(ls target/lib/"$dep"-[0-9]*.jar)
  cp $found "$b/lib/"
done
cp "$nat/liblatentcuda.so" "$b/lib/"

say "runtime: jlink from $jdk"
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,java.sql,java.xml,jdk.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-header-files --no-man-pages --output "$b/runtime"

say "lib-debug/liblatentcuda.so (sm_90, -lineinfo, synchronous launches)"
LATENT_CUDA_DEBUG=1 LATENT_CUDA_ARCHS=90 bash native/cuda/build.sh .gpu/debug-work "$b/lib-debug" > .gpu/debug-build.log
say "bin/cuda_check"
bash native/cuda/check/build.sh gpu "$b/bin" "$b/lib"

cp native/cuda/gpu/run.sh native/cuda/gpu/steps.sh native/cuda/gpu/bench_torch.py "$b/"
chmod +x "$b/run.sh" "$b/bench_torch.py"

# The newest glibc symbol version any native file of the bundle needs.
scan="$(mktemp -d)"
for j in "$b"/lib/*.jar; do (cd "$scan" && "$jdk/bin/jar" xf "$j" $("$jdk/bin/jar" tf "$j" | grep '\.so$' || true)); done
glibc="$(find "$b" "$scan" -name '*.so*' -type f -o -path "$b/bin/*" -type f -o -path "$b/runtime/bin/*" -type f \
  | xargs objdump -T 2> /dev/null | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -uV | tail -1)"
needed="$(find "$b" "$scan" -name '*.so*' -type f | xargs objdump -p 2> /dev/null | awk '/NEEDED/ {print $2}' \
  | sort -u | grep -vE '^(libjava|libjvm|libjnijavacpp|libverify|libnet|libnio|libzip|libjimage|liblatentcuda)\.so' | tr '\n' ' ')"
rm -rf "$scan"
commit="$(git rev-parse HEAD 2> /dev/null || echo unknown)"
git diff --quiet HEAD 2> /dev/null || commit="$commit (with uncommitted changes)"
{
  echo "commit: $commit"
  echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -srm)"
  echo "java runtime: $("$b/runtime/bin/java" -version 2>&1 | head -1) (jlink: $("$b/runtime/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ' '))"
  echo "nvcc: $(nvcc --version 2> /dev/null | tail -1 || echo '?')"
  echo "cuda archs: liblatentcuda.so sm_80 sm_90 + compute_90 PTX; lib-debug sm_90"
  echo "glibc needed: $glibc"
  echo "shared libraries needed from the system: $needed"
} > "$b/BUILD-INFO"

say "archive"
archive=".gpu/latent-gpu.tar.xz"
tar -C "$stage" -cf - latent-gpu | xz -T0 -6 > "$archive.tmp"
mv "$archive.tmp" "$archive"
bytes=$(stat -c %s "$archive")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
say "$archive: $mib MiB ($(du -sh "$b" | cut -f1) unpacked), built in $((SECONDS - start)) s"
cat "$b/BUILD-INFO"
if [ "$bytes" -gt $((limit_mib * 1048576)) ]; then
  echo "gpu-bundle: $archive is $mib MiB, above the $limit_mib MiB limit" >&2
  exit 1
fi
echo
echo "Run it on a GPU server:  mkdir -p /tmp/lg && tar -xJf $archive -C /tmp/lg && bash /tmp/lg/latent-gpu/run.sh OUT_FOLDER"
