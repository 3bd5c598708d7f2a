#!/usr/bin/env bash
# bld build beside buildah (Debian's, `buildah build --layers --network host`)
# on the same machine in the same run: the same Dockerfile and context, the
# same busybox base loaded from the same tar. Prints medians and ratios.
# Usage: bench/build_bench.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bld=$(realpath "${1:-build}/bld")
runs=${2:-7}
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/bld-bench-XXXXXX)
trap 'buildah rm -a >/dev/null 2>&1 || true; buildah rmi -a -f >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
setup_containers_env "$work/containers"
root=$work/bld

make_busybox_tar "$work/busybox.tar"
"$bld" --root "$root" import "$work/busybox.tar" busybox >/dev/null
ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
tar -C "$mnt" -xf "$work/busybox.tar"
buildah umount "$ctr" >/dev/null
buildah commit -q "$ctr" localhost/busybox >/dev/null
buildah rm "$ctr" >/dev/null

# The hello-world app and a 7-line Dockerfile on the base.
ctx=$work/ctx
cp -r testdata/helloworld "$ctx"
for i in $(seq 1 50); do head -c 4096 /dev/urandom | base64 > "$ctx/file$i.txt"; done
sed -i 's|^FROM busybox|FROM BASE|' "$ctx/Dockerfile"
sed 's|^FROM BASE|FROM docker.io/library/busybox|' "$ctx/Dockerfile" > "$ctx/Dockerfile.bld"
sed 's|^FROM BASE|FROM localhost/busybox|' "$ctx/Dockerfile" > "$ctx/Dockerfile.buildah"
runs20=$work/ctx20
mkdir -p "$runs20"
{ echo "FROM BASE"; for i in $(seq 1 20); do echo "RUN true"; done; } > "$runs20/Dockerfile"
sed 's|^FROM BASE|FROM docker.io/library/busybox|' "$runs20/Dockerfile" > "$runs20/Dockerfile.bld"
sed 's|^FROM BASE|FROM localhost/busybox|' "$runs20/Dockerfile" > "$runs20/Dockerfile.buildah"

bld_build() { "$bld" --root "$root" build --progress plain "$@"; }
buildah_build() { buildah build --layers --network host -q "$@"; }

# cold: nothing cached but the base
cold_bld=$(times_ms "$runs" bld_build --no-cache -f "$ctx/Dockerfile.bld" -t app "$ctx")
cold_buildah=$(times_ms "$runs" buildah_build --no-cache -f "$ctx/Dockerfile.buildah" -t app "$ctx")
# warm: nothing changed
bld_build -f "$ctx/Dockerfile.bld" -t app "$ctx" >/dev/null 2>&1
buildah_build -f "$ctx/Dockerfile.buildah" -t app "$ctx" >/dev/null 2>&1
warm_bld=$(times_ms "$runs" bld_build -f "$ctx/Dockerfile.bld" -t app "$ctx")
warm_buildah=$(times_ms "$runs" buildah_build -f "$ctx/Dockerfile.buildah" -t app "$ctx")
# one context file changed before each build
change() { echo "$RANDOM$RANDOM" >> "$ctx/file7.txt"; "$@"; }
one_bld=$(times_ms "$runs" change bld_build -f "$ctx/Dockerfile.bld" -t app "$ctx")
one_buildah=$(times_ms "$runs" change buildah_build -f "$ctx/Dockerfile.buildah" -t app "$ctx")
# 20 x RUN true, not cached
r20_bld=$(times_ms 3 bld_build --no-cache -f "$runs20/Dockerfile.bld" "$runs20")
r20_buildah=$(times_ms 3 buildah_build --no-cache -f "$runs20/Dockerfile.buildah" "$runs20")

row() {
  local name=$1 a b
  a=$(median $2); b=$(median $3)
  awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %d ms | %d ms | %.3f |\n", n, a, b, a / b }'
}
echo "| build ($(nproc) cores, medians of $runs) | bld | buildah | bld / buildah |"
echo "|---|---|---|---|"
row "cold (base only)" "$cold_bld" "$cold_buildah"
row "warm, nothing changed" "$warm_bld" "$warm_buildah"
row "one context file changed" "$one_bld" "$one_buildah"
row "20 x RUN true (median of 3)" "$r20_bld" "$r20_buildah"
