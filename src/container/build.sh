#!/usr/bin/env bash
# Builds the container image of src/container/Dockerfile where no image registry can be reached: a Debian 12
# base made with debootstrap (Debian's mirror only) and `podman import`, then the image; then it runs the image
# with no network at all (--network none) and asks the server, from inside the container, for /health and a search.
#
#   bash src/container/build.sh [TAG]       (root; needs podman, debootstrap; run `mvn -B -q package -DskipTests` first)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
tag="${1:-latent}"
base=localhost/latent-debian:bookworm
[ -f target/latent.jar ] || { echo "build.sh: target/latent.jar is missing: run mvn -B -q package -DskipTests" >&2; exit 1; }
if ! podman image exists "$base"; then
  rootfs="$(mktemp -d)"
  echo "[container] debootstrap bookworm (minbase) into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian > "$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; exit 1; }
  tar -C "$rootfs" -c . | podman import - "$base"
  rm -rf "$rootfs" "$rootfs.log"
fi
# The build context: only what the Dockerfile copies (the repository's target/ holds far more).
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/target" "$ctx/models/corpus"
cp target/latent.jar "$ctx/target/"
cp -r target/lib "$ctx/target/lib"
cp models/corpus/wordnet-glosses.jsonl "$ctx/models/corpus/"
echo "[container] podman build -t $tag (base $base, context $(du -sh "$ctx" | cut -f1))"
# chroot isolation runs the RUN steps without an OCI runtime or cgroups (it works in VMs and containers that
# refuse to nest them).
podman build --isolation chroot --build-arg BASE="$base" -f src/container/Dockerfile -t "$tag" "$ctx"
rm -rf "$ctx"

echo "[container] run with --network none and ask /health and /v1/search from inside"
# runc where it is installed (crun refuses hosts with cgroups v1 and v2 mounted together); limits set below
# the host's, which any runtime may do.
runtime=()
if command -v runc > /dev/null; then runtime=(--runtime runc); fi
cid="$(podman run -d "${runtime[@]}" --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network none "$tag")"
trap 'podman rm -f "$cid" > /dev/null 2>&1 || true' EXIT
ask() {  # ask METHOD PATH [BODY]: one HTTP/1.0 request to the server inside the container, over bash's /dev/tcp
  podman exec -i "$cid" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${#3}\r\n\r\n%s" "$1" "$2" "$3" >&3 && cat <&3' _ "$@"
}
for i in $(seq 1 60); do
  if ask GET /health 2> /dev/null | grep -q '200'; then break; fi
  sleep 1
done
ask GET /health
echo
ask POST /v1/search '{"text": "a large body of water", "k": 3}'
echo
ask POST /v1/embeddings '{"input": "hello", "model": "all-minilm-l6-v2-q"}' | head -c 400
echo
