#!/usr/bin/env bash
# bld push and pull beside skopeo copy (Debian's) in the same run: a 200 MiB
# image (four layers of random data, gzip) between an OCI layout or a bld
# store and Debian's docker-registry on 127.0.0.1. Every push goes to an empty
# registry (skopeo's blob-info cache would otherwise skip uploads). Prints
# median wall times, throughput and peak RSS (from /usr/bin/time -v).
# Usage: bench/registry_bench.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bld=$(realpath "${1:-build}/bld")
runs=${2:-3}
for tool in docker-registry skopeo /usr/bin/time curl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (docker-registry, skopeo, time, curl)" >&2; exit 1; }
done

layers=4
layer_mib=50
work=$(mktemp -d /var/tmp/bld-registry-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$work/policy.json"
skopeo() { command skopeo --policy "$work/policy.json" "$@"; }
export DOCKER_CONFIG=$work/docker BLD_CONFIG=$work/none.json

# The image as an OCI layout: four tar layers of random bytes, gzip -1.
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
descriptors=() diff_ids=()
for i in $(seq 1 $layers); do
  mkdir -p "$work/l$i"
  head -c $((layer_mib << 20)) /dev/urandom > "$work/l$i/data$i.bin"
  tar -C "$work/l$i" --numeric-owner -cf "$work/l$i.tar" .
  diff_ids+=("\"sha256:$(sha256sum "$work/l$i.tar" | cut -d' ' -f1)\"")
  gzip -1 -n -c "$work/l$i.tar" > "$work/l$i.tgz"
  d=$(sha256sum "$work/l$i.tgz" | cut -d' ' -f1)
  mv "$work/l$i.tgz" "$layout/blobs/sha256/$d"
  descriptors+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$layout/blobs/sha256/$d")}")
  rm -rf "$work/l$i" "$work/l$i.tar"
done
join() { local IFS=,; echo "$*"; }
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$(join "${diff_ids[@]}")" > "$work/config.json"
cd_=$(sha256sum "$work/config.json" | cut -d' ' -f1)
cp "$work/config.json" "$layout/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cd_" "$(stat -c %s "$work/config.json")" "$(join "${descriptors[@]}")" > "$work/manifest.json"
md=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
cp "$work/manifest.json" "$layout/blobs/sha256/$md"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$md" "$(stat -c %s "$work/manifest.json")" > "$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
mib=$(( $(du -sbc "$layout"/blobs/sha256/* | tail -1 | cut -f1) >> 20 ))

# measure NAME CMD...: appends "<ms> <peak KiB>" to $work/NAME.
measure() {
  local name=$1 s; shift
  s=$(now_ms)
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
  echo "$(( $(now_ms) - s )) $(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")" >> "$work/$name"
}

for run in $(seq 1 "$runs"); do
  start_registry "skopeo-$run"
  rs=$registry_host
  measure skopeo_push skopeo copy -q --dest-tls-verify=false "oci:$layout:v1" "docker://$rs/bench/app:v1"
  measure skopeo_pull skopeo copy -q --src-tls-verify=false "docker://$rs/bench/app:v1" "oci:$work/out-$run:v1"
  rm -rf "$work/out-$run"
  root=$work/root-$run
  measure bld_pull "$bld" --root "$root" pull -q "$rs/bench/app:v1"
  start_registry "bld-$run"
  rb=$registry_host
  "$bld" --root "$root" tag "$rs/bench/app:v1" "$rb/bench/app:v1"
  measure bld_push "$bld" --root "$root" push -q "$rb/bench/app:v1"
  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  pids=()
  rm -rf "$root" "$work"/registry-*
done

summary() {
  local name=$1 times peaks t
  times=$(cut -d' ' -f1 "$work/$name")
  peaks=$(cut -d' ' -f2 "$work/$name" | sort -n | tail -1)
  # shellcheck disable=SC2086
  t=$(median $times)
  printf '| %s | %s ms | %s MiB/s | %s MiB |\n' "$2" "$t" "$(awk -v m="$mib" -v t="$t" 'BEGIN {printf "%.0f", m * 1000 / t}')" \
    "$(awk -v k="$peaks" 'BEGIN {printf "%.1f", k / 1024}')"
}
echo "registry round trip: ${mib} MiB image, $layers layers, median of $runs runs, $(date -u +%F)"
echo "| what | wall | throughput | peak RSS |"
echo "|---|---|---|---|"
summary bld_push "bld push (store -> empty registry)"
summary skopeo_push "skopeo copy oci: -> empty registry"
summary bld_pull "bld pull (registry -> empty store, digests and diffIDs verified)"
summary skopeo_pull "skopeo copy registry -> oci:"
