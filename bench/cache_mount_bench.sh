#!/usr/bin/env bash
# RUN --mount=type=cache: an "apt install" whose packages come from a local
# HTTP server (busybox httpd on 127.0.0.1) into a cache mount, built with
# --no-cache so that the step always runs: once with an empty cache (every
# package downloaded) and once with the cache of the build before (every
# package reused). bld beside buildah (Debian's, `buildah build --layers
# --network host`, its caches under a private TMPDIR) in the same run, on the
# same busybox base. Prints medians and ratios.
# Usage: bench/cache_mount_bench.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bld=$(realpath "${1:-build}/bld")
runs=${2:-5}
# 40 packages of 4 MiB: enough download for the reuse to show beside the
# container start and the layer write.
packages=40
package_kib=4096
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/bld-bench-XXXXXX)
httpd_pid=
cleanup() {
  [ -n "$httpd_pid" ] && kill "$httpd_pid" 2>/dev/null || true
  buildah rm -a >/dev/null 2>&1 || true
  buildah rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
setup_containers_env "$work/containers"
mkdir -p "$work/buildah-tmp"
root=$work/bld

make_busybox_tar "$work/busybox.tar"
"$bld" --root "$root" import "$work/busybox.tar" busybox >/dev/null
ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
tar -C "$mnt" -xf "$work/busybox.tar"
buildah umount "$ctr" >/dev/null
buildah commit -q "$ctr" localhost/busybox >/dev/null
buildah rm "$ctr" >/dev/null

# The package server.
mkdir -p "$work/www"
for i in $(seq 1 "$packages"); do head -c "${package_kib}K" /dev/urandom > "$work/www/p$i.deb"; done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
busybox httpd -f -p "127.0.0.1:$port" -h "$work/www" &
httpd_pid=$!
until busybox wget -q -O /dev/null "http://127.0.0.1:$port/p1.deb" 2>/dev/null; do sleep 0.1; done

ctx=$work/ctx
mkdir -p "$ctx"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM BASE
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked sh -c 'for i in \$(seq 1 $packages); do \
  [ -f /var/cache/apt/p\$i.deb ] || wget -q -O /var/cache/apt/p\$i.deb http://127.0.0.1:$port/p\$i.deb || exit 1; \
  done; ls /var/cache/apt > /installed'
DOCKERFILE
sed 's|^FROM BASE|FROM docker.io/library/busybox|' "$ctx/Dockerfile" > "$ctx/Dockerfile.bld"
sed 's|^FROM BASE|FROM localhost/busybox|' "$ctx/Dockerfile" > "$ctx/Dockerfile.buildah"

bld_build() { "$bld" --root "$root" build --no-cache --progress plain -f "$ctx/Dockerfile.bld" "$ctx"; }
buildah_build() { TMPDIR=$work/buildah-tmp buildah build --layers --no-cache --network host -q -f "$ctx/Dockerfile.buildah" "$ctx"; }
bld_empty_cache() { "$bld" --root "$root" cache prune >/dev/null; }
buildah_empty_cache() { rm -rf "$work"/buildah-tmp/buildah-cache-*; }
# empty_then TOOL: empties TOOL's caches, then builds
empty_then() { "${1}_empty_cache"; "${1}_build"; }

cold_bld=$(times_ms "$runs" empty_then bld)
cold_buildah=$(times_ms "$runs" empty_then buildah)
warm_bld=$(times_ms "$runs" bld_build)
warm_buildah=$(times_ms "$runs" buildah_build)

row() {
  local name=$1 a b
  a=$(median $2); b=$(median $3)
  awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %d ms | %d ms | %.3f |\n", n, a, b, a / b }'
}
echo "| RUN with a cache mount, $packages x $package_kib KiB packages ($(nproc) cores, medians of $runs) | bld | buildah | bld / buildah |"
echo "|---|---|---|---|"
row "empty cache: every package downloaded" "$cold_bld" "$cold_buildah"
row "cache of the build before: every package reused" "$warm_bld" "$warm_buildah"
awk -v c="$(median $cold_bld)" -v w="$(median $warm_bld)" -v bc="$(median $cold_buildah)" -v bw="$(median $warm_buildah)" \
  'BEGIN { printf "\nreused / downloaded: bld %.3f, buildah %.3f\n", w / c, bw / bc }'
