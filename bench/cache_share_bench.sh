#!/usr/bin/env bash
# A second CI runner with an empty store and a shared cache: bld
# (--cache-to type=registry,mode=max / --cache-from) beside buildah (Debian's,
# `buildah bud --layers --cache-to/--cache-from REPO`) on the same local
# docker-registry, in the same run. Per run and tool: runner A builds a
# two-stage Dockerfile and exports its cache (not timed); runner B, an empty
# store, builds it unchanged with the cache; runner D, another empty store,
# builds it unchanged and pushes the image to the same registry (buildah:
# bud, then push); runner C, another empty store, builds it after one file
# of the final stage changed. Prints median wall
# times, their ratio, and the bytes each runner downloaded (blob GETs in the
# registry's access log), beside the size of bld's final image layers.
# Usage: bench/cache_share_bench.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bld=$(realpath "${1:-build}/bld")
runs=${2:-3}
for tool in docker-registry buildah curl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (docker-registry, buildah, curl)" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/bld-cache-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for c in "$work"/containers-*; do
    [ -d "$c" ] || continue
    CONTAINERS_STORAGE_CONF=$c/storage.conf buildah rmi -a -f >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export DOCKER_CONFIG=$work/docker BLD_CONFIG=$work/none.json
# An empty one: buildah push refuses a DOCKER_CONFIG without config.json.
mkdir -p "$DOCKER_CONFIG" && echo '{}' > "$DOCKER_CONFIG/config.json"
make_busybox_tar "$work/busybox.tar"

# The context: the build stage makes 40 MB of layers the final image never
# ships; the final stage copies a small result and adds its own data.
ctx=$work/ctx
mkdir -p "$ctx/src"
for i in $(seq 1 20); do head -c 8192 /dev/urandom | base64 > "$ctx/src/file$i.txt"; done
write_dockerfile() {
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $1 AS build
COPY src/ /src/
RUN head -c 40000000 /dev/urandom > /scratch.bin && sha256sum /scratch.bin /src/* > /sums.txt && cat /src/* | gzip -9 > /built.gz
FROM $1
COPY --from=build /built.gz /sums.txt /app/
COPY app.txt /app/app.txt
RUN head -c 10000000 /dev/urandom > /app/data.bin && sha256sum /app/* > /app/SUMS
DOCKERFILE
}

# downloaded NAME: the bytes of blob GETs the registry answered since mark.
mark() { mark_line=$(wc -l < "$work/registry-$1/log"); }
downloaded() {
  tail -n +"$((mark_line + 1))" "$work/registry-$1/log" | grep -o '"GET /v2/[^"]*/blobs/[^"]*" 20[06] [0-9]*' |
    awk '{s += $NF} END {print s + 0}'
}

# timed NAME CMD...: appends "<ms> <bytes downloaded>" to $work/NAME.
timed() {
  local name=$1 s; shift
  mark "$run"
  s=$(now_ms)
  "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; exit 1; }
  echo "$(( $(now_ms) - s )) $(downloaded "$run")" >> "$work/$name"
}

bld_build() { local r=$1; shift; "$bld" --root "$work/bld-$r-$run" build -q "$@" "$ctx"; }
buildah_build() {
  local r=$1; shift
  setup_containers_env "$work/containers-$r-$run"
  buildah bud -q --layers --tls-verify=false --network host "$@" "$ctx"
}
# buildah 1.28 has no build --push: a build, then a push.
buildah_build_push() {
  local r=$1 name=$2; shift 2
  buildah_build "$r" -t "$name" "$@" >/dev/null
  buildah push -q --tls-verify=false "$name" "docker://$name"
}

for run in $(seq 1 "$runs"); do
  start_registry "$run"
  reg=$registry_host
  base=$reg/base/busybox:1
  "$bld" --root "$work/bld-base-$run" import "$work/busybox.tar" "$base" >/dev/null
  "$bld" --root "$work/bld-base-$run" push -q "$base" >/dev/null
  write_dockerfile "$base"
  echo "app $run" > "$ctx/app.txt"

  bld_build a --cache-to "type=registry,ref=$reg/cache/bld:ci,mode=max" >/dev/null
  timed bld_unchanged bld_build b --cache-from "$reg/cache/bld:ci" -t "bld-final"
  timed bld_pushed bld_build d --cache-from "$reg/cache/bld:ci" --push -t "$reg/team/bld:$run"
  echo "changed $run" > "$ctx/app.txt"
  timed bld_changed bld_build c --cache-from "$reg/cache/bld:ci"
  "$bld" --root "$work/bld-b-$run" save --format oci -o "$work/final-$run.tar" bld-final
  mkdir -p "$work/final-$run" && tar -C "$work/final-$run" -xf "$work/final-$run.tar"
  manifest=$(grep -o 'sha256:[0-9a-f]*' "$work/final-$run/index.json" | head -1 | cut -c8-)
  grep -o '"size":[0-9]*' "$work/final-$run/blobs/sha256/$manifest" | tail -n +2 | cut -d: -f2 |
    awk '{s += $1} END {print s}' >> "$work/final_layers"

  echo "app $run" > "$ctx/app.txt"
  buildah_build a --cache-to "$reg/cache/buildah" >/dev/null
  timed buildah_unchanged buildah_build b --cache-from "$reg/cache/buildah"
  timed buildah_pushed buildah_build_push d "$reg/team/buildah:$run" --cache-from "$reg/cache/buildah"
  echo "changed $run" > "$ctx/app.txt"
  timed buildah_changed buildah_build c --cache-from "$reg/cache/buildah"

  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  pids=()
done

ms() { median $(cut -d' ' -f1 "$work/$1"); }
mb() { awk -v b="$(median $(cut -d' ' -f2 "$work/$1"))" 'BEGIN {printf "%.1f", b / 1e6}'; }
row() {
  printf '| %s | %s ms | %s ms | %.2fx | %s MB | %s MB |\n' "$1" "$(ms "bld_$2")" "$(ms "buildah_$2")" \
    "$(awk -v a="$(ms "bld_$2")" -v b="$(ms "buildah_$2")" 'BEGIN {print a / b}')" "$(mb "bld_$2")" "$(mb "buildah_$2")"
}
echo "second runner with a shared registry cache, median of $runs runs, $(date -u +%F)"
echo "bld's final image: $(awk -v b="$(median $(cat "$work/final_layers"))" 'BEGIN {printf "%.1f", b / 1e6}') MB of layers (base included)"
echo "| runner (empty store) | bld | buildah | bld/buildah | bld downloaded | buildah downloaded |"
echo "|---|---|---|---|---|---|"
row "unchanged sources" unchanged
row "unchanged sources, pushed to the same registry" pushed
row "one final-stage file changed" changed
