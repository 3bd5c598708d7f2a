#!/usr/bin/env bash
# Functions called by name ("build_$tool", the traps) look unreachable to it.
# shellcheck disable=SC2317
# Real-image builds, bld beside buildah in the same run (issue 12): a Debian
# bookworm base made here with mmdebstrap (from the host's own Debian apt
# sources) and a busybox base from busybox-static, both served by a local
# docker-registry on 127.0.0.1, and three workloads built by both tools from
# the same Dockerfiles and contexts (bench/workloads/):
#   flask    FROM debian, apt-get install python3-flask, ADD the app, CMD
#   gcc      stage 1 on debian installs gcc and builds a static binary,
#            stage 2 on busybox copies it
#   node     apt-get install nodejs npm, COPY package*.json, npm ci, COPY src
# each measured cold (empty store: the base is pulled from the registry by
# FROM), warm with nothing changed, and with one source file changed; plus a
# cold COPY of a 1 GiB / 20,000-file context. bld and buildah alternate run by
# run (which goes first alternates too, so neither always gets the warmer
# apt mirror). Each cold build is followed by a push of its image to the
# registry (timed apart: bld writes the blobs of a built image's layers at
# its first push, buildah compresses while pushing). Prints Markdown tables:
# medians and bld / buildah, and bld's
# per-step times from its `--progress json` events. Nothing is written to
# bench/RESULTS.md: copy what a real run printed there by hand.
#
# buildah is Debian's, run as `buildah bud --layers --network host
# --tls-verify=false` with overlay storage, runtime runc and its own storage
# and config under the work dir (see ../shared/PEERS.md).
#
# Usage: bench/real_bench.sh [options]
#   --bld PATH          the bld binary (default: build/bld of this checkout)
#   --cold-runs N       cold builds per tool and workload (default 3)
#   --warm-runs N       warm and one-file-changed builds (default 5)
#   --cache DIR         keeps the Debian base tar and the generated 1 GiB
#                       context between runs (default $BLD_BENCH_CACHE,
#                       else /var/tmp/bld-real-bench-cache)
#   --workloads LIST    comma-separated subset of flask,gcc,node,context
#   --logs DIR          keep every build's output there (default: removed
#                       with the rest of the work dir)
#   --refresh-base      make the Debian base again even if it is cached
# Needs, as root: mmdebstrap, docker-registry, buildah, runc, busybox-static,
# curl, python3 (apt-get install mmdebstrap docker-registry buildah runc
# busybox-static curl python3). About 4 GiB free in /var/tmp and the cache.
# Everything it starts (the registry, buildah's storage and mounts, the work
# dir) is removed when it exits, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh
repo=$(pwd)

bld=build/bld
cold_runs=3
warm_runs=5
cache=${BLD_BENCH_CACHE:-/var/tmp/bld-real-bench-cache}
workloads=flask,gcc,node,context
logs=
refresh_base=0
usage() { sed -n '/^# Usage:/,/^# Needs/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
need_value() { [[ $# -ge 2 && -n $2 ]] || { echo "real_bench.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --bld) need_value "$@"; bld=$2; shift 2 ;;
    --cold-runs) need_value "$@"; cold_runs=$2; shift 2 ;;
    --warm-runs) need_value "$@"; warm_runs=$2; shift 2 ;;
    --cache) need_value "$@"; cache=$2; shift 2 ;;
    --workloads) need_value "$@"; workloads=$2; shift 2 ;;
    --logs) need_value "$@"; logs=$2; shift 2 ;;
    --refresh-base) refresh_base=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "real_bench.sh: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$cold_runs" "$warm_runs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "real_bench.sh: a run count must be a positive number, not \"$n\"" >&2; exit 2; }
done
IFS=, read -ra selected <<< "$workloads"
for w in "${selected[@]}"; do
  case $w in flask|gcc|node|context) ;; *) echo "real_bench.sh: unknown workload \"$w\" (flask, gcc, node, context)" >&2; exit 2 ;; esac
done
[[ -x $bld ]] || { echo "real_bench.sh: no bld binary at $bld (build it, or pass --bld)" >&2; exit 2; }
bld=$(realpath "$bld")
[[ $(id -u) == 0 ]] || { echo "real_bench.sh: run as root (RUN steps, mmdebstrap and buildah need it)" >&2; exit 2; }
for tool in mmdebstrap docker-registry buildah runc curl python3 findmnt; do
  command -v "$tool" >/dev/null || { echo "real_bench.sh: $tool is missing (apt-get install mmdebstrap docker-registry buildah runc busybox-static curl python3)" >&2; exit 2; }
done

# The large context: as bench/layer_bench.sh's tree.
context_bytes=$((1 << 30))
context_files=20000
# What a changed source file gets appended, per workload: a comment.
declare -A changed_file=([flask]=app/app.py [gcc]=wc.c [node]=src/server.js)
declare -A comment_start=([flask]='#' [gcc]='/*' [node]='//')
declare -A comment_end=([flask]='' [gcc]=' */' [node]='')
# A command that proves the image works, run in it once per tool.
declare -A check_cmd=(
  [flask]="python3 -c 'import sys; sys.path.insert(0, \"/app\"); import app; print(app.index())'"
  [gcc]="echo one two three | /usr/local/bin/wc-static"
  [node]="node -e 'require(\"/app/node_modules/express\"); console.log(require(\"/app/src/greeting\").greeting(\"node\"))'"
  [context]="find /data -type f | wc -l"
)
declare -A check_expect=([flask]="Hello, world!" [gcc]="1 3 14" [node]="Hello, node!" [context]="$context_files")
# Docker Hub's debian and busybox images set this PATH; an imported rootfs has none.
image_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mkdir -p "$cache"
cache=$(realpath "$cache")
[[ -n $logs ]] && { mkdir -p "$logs"; logs=$(realpath "$logs"); }
work=$(mktemp -d /var/tmp/bld-real-bench-XXXXXX)
logdir=${logs:-$work/logs}
mkdir -p "$logdir"
registry_pid=
buildah_dir=
child=

cleanup() {
  local status=$?
  set +e
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  wipe_buildah
  if [[ -n $registry_pid ]]; then kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null; fi
  findmnt -rn -o TARGET | awk -v d="$work/" 'index($0, d) == 1' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# in_background CMD...: runs CMD and waits for it. While bash waits in
# `wait`, a Ctrl-C runs the trap at once; waiting for a foreground command
# instead, bash ignores the Ctrl-C if the command catches it and exits with
# an error (buildah does), and the benchmark would go on. (A background
# command ignores SIGINT: the cleanup stops it with SIGTERM.)
in_background() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  return "$status"
}

fresh_buildah() { fresh_buildah_store; }

# The host's Debian apt sources for bookworm, as one-line sources.list
# entries, read from apt itself (no mirror is named here).
host_debian_sources() {
  # shellcheck disable=SC2016 # apt's format fields, not shell
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 'Origin: Debian' |
    awk '$2 ~ /^bookworm(-updates|-security)?$/ {print "deb " $1 " " $2 " " $3}' | sort -u
}

debian_tar=$cache/debian-bookworm.tar
make_debian_base() {
  local sources=()
  mapfile -t sources < <(host_debian_sources)
  ((${#sources[@]})) || { echo "real_bench.sh: the host's apt has no Debian bookworm source (apt-get indextargets)" >&2; exit 1; }
  echo "making the Debian bookworm base with mmdebstrap from: ${sources[*]}" >&2
  in_background mmdebstrap --quiet --variant=apt --include=ca-certificates --format=tar bookworm "$debian_tar.tmp" "${sources[@]}" >&2
  mv "$debian_tar.tmp" "$debian_tar"
}
[[ $refresh_base == 1 || ! -s $debian_tar ]] && make_debian_base

# The registry, on a port the kernel picks (it logs which).
mkdir -p "$work/registry"
printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n' \
  "$work/registry" > "$work/registry/config.yml"
docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
registry_pid=$!
registry=
for _ in $(seq 1 100); do
  registry=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/registry/log" | cut -d' ' -f3 || true)
  [[ -n $registry ]] && curl -sf "http://$registry/v2/" >/dev/null && break
  registry=
  sleep 0.1
done
[[ -n $registry ]] || { echo "real_bench.sh: docker-registry did not start: $(cat "$work/registry/log")" >&2; exit 1; }
# No credentials: the registry is open. (buildah from stats this file.)
mkdir -p "$work/docker"
echo '{}' > "$work/docker/config.json"
export DOCKER_CONFIG=$work/docker BLD_CONFIG=$work/no-bld-config.json

# The bases go into the registry from a store of their own: imported, given
# the PATH and CMD Docker Hub's images have, pushed.
seed=$work/seed-root
push_base() {
  local tar=$1 name=$2 cmd=$3
  "$bld" --root "$seed" import "$tar" "bench-import/$name" >/dev/null
  mkdir -p "$work/empty"
  printf 'FROM bench-import/%s\nENV PATH=%s\nCMD ["%s"]\n' "$name" "$image_path" "$cmd" |
    "$bld" --root "$seed" build -q --progress quiet -f - -t "$registry/$name" "$work/empty" >/dev/null
  "$bld" --root "$seed" push -q "$registry/$name" >/dev/null
}
make_busybox_tar "$work/busybox.tar"
push_base "$debian_tar" debian:bookworm bash
push_base "$work/busybox.tar" busybox:latest sh
rm -rf "$seed" "$work/busybox.tar"

# The large context, generated once into the cache.
context_tree=$cache/context-1GiB-20k
if [[ " ${selected[*]} " == *" context "* && ! -f $context_tree/.complete ]]; then
  echo "generating the 1 GiB / $context_files-file context in $context_tree" >&2
  rm -rf "$context_tree"
  in_background python3 bench/context_tree.py "$context_tree/tree" "$context_bytes" "$context_files"
  touch "$context_tree/.complete"
fi

# context_for WORKLOAD: sets ctx and dockerfile.
context_for() {
  local w=$1
  dockerfile=$repo/bench/workloads/$w/Dockerfile
  if [[ $w == context ]]; then
    ctx=$context_tree/tree
    return
  fi
  ctx=$work/ctx-$w
  rm -rf "$ctx"
  cp -r "bench/workloads/$w" "$ctx"
  if [[ $w == node ]]; then
    # The machine's CA certificates (a proxy may intercept HTTPS here), else
    # the host's whole bundle: never committed, made for each run.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
      cat /usr/local/share/ca-certificates/*.crt > "$ctx/host-ca.crt"
    else
      cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
    fi
  fi
}

bld_root=$work/bld-root
# build_bld LOG: one build of $w into $bld_root; sets ms; returns its status.
build_bld() {
  local log=$1 s status=0
  s=$(now_ms)
  in_background "$bld" --root "$bld_root" build --progress json --network host --build-arg "REGISTRY=$registry" \
    -f "$dockerfile" -t "bench/$w" "$ctx" > "$log" 2>&1 || status=$?
  ms=$(( $(now_ms) - s ))
  return "$status"
}
build_buildah() {
  local log=$1 s status=0
  s=$(now_ms)
  in_background buildah bud --layers --network host --tls-verify=false --build-arg "REGISTRY=$registry" \
    -f "$dockerfile" -t "localhost/bench-$w" "$ctx" > "$log" 2>&1 || status=$?
  ms=$(( $(now_ms) - s ))
  return "$status"
}

# push_TOOL LOG N: pushes the image the cold build N of $w just made to the
# local registry, under a repository of its own (so neither tool finds its
# own earlier upload there); sets ms. bld writes a built image's layer blobs
# at its first push (store-format.md, "Lazy images"), buildah compresses
# while it pushes: the time a CI job that builds and pushes pays after the
# build.
push_bld() {
  local log=$1 n=$2 s status=0 target="$registry/pushed-bld-$w-$n/app:latest"
  "$bld" --root "$bld_root" tag "bench/$w" "$target"
  s=$(now_ms)
  in_background "$bld" --root "$bld_root" push "$target" > "$log" 2>&1 || status=$?
  ms=$(( $(now_ms) - s ))
  return "$status"
}
push_buildah() {
  local log=$1 n=$2 s status=0
  s=$(now_ms)
  in_background buildah push --tls-verify=false "localhost/bench-$w" \
    "docker://$registry/pushed-buildah-$w-$n/app:latest" > "$log" 2>&1 || status=$?
  ms=$(( $(now_ms) - s ))
  return "$status"
}

# Image checks, outside the timings: the image runs and does its job.
check_bld() {
  local out
  out=$("$bld" --root "$bld_root" run --rm "bench/$w" sh -c "${check_cmd[$w]}" 2>&1) || true
  [[ $out == *"${check_expect[$w]}"* ]] || { echo "bld's $w image failed its check (${check_cmd[$w]}): $out" >&2; return 1; }
}
check_buildah() {
  local ctr out
  ctr=$(buildah from --pull=never -q "localhost/bench-$w" 2>"$work/from.err") ||
    { echo "buildah from localhost/bench-$w failed: $(cat "$work/from.err")" >&2; return 1; }
  out=$(buildah run --network host "$ctr" -- sh -c "${check_cmd[$w]}" 2>&1) || true
  buildah rm "$ctr" >/dev/null
  [[ $out == *"${check_expect[$w]}"* ]] || { echo "buildah's $w image failed its check (${check_cmd[$w]}): $out" >&2; return 1; }
}

# The layers bld's steps added (their sizes), from the store of its first
# cold build of $w. The gcc build's first stage is tagged on its own (every
# step cached by then) to reach its layers.
record_layers() {
  local pairs=("0=bench/$w")
  if [[ $w == gcc ]]; then
    "$bld" --root "$bld_root" build -q --progress quiet --network host --build-arg "REGISTRY=$registry" \
      --target build -f "$dockerfile" -t bench/gcc-build "$ctx" >/dev/null
    pairs=("0=bench/gcc-build" "1=bench/gcc")
  fi
  python3 bench/step_times.py layers "$bld" "$bld_root" "${pairs[@]}" > "$logdir/$w-layers.json"
}

declare -A times failed bld_cold_logs
# record TOOL PHASE: one measured build of $w (after `prepare_TOOL PHASE`).
# A failed build marks the workload failed for that tool and shows its log.
record() {
  local tool=$1 phase=$2 n=$3 log action=build
  log=$logdir/$w-$phase-$n-$tool.log
  [[ $phase == push ]] && action=push
  if "${action}_$tool" "$log" "$n"; then
    times[$w,$phase,$tool]+="$ms "
    if [[ $tool == bld && $phase == cold ]]; then bld_cold_logs[$w]+="$log "; fi
  else
    if [[ -z $logs ]]; then
      # The work dir goes at exit: a failure's log stays in the cache.
      local kept
      kept=$cache/failed-logs/$(date -u +%Y%m%dT%H%M%S)-${log##*/}
      mkdir -p "$cache/failed-logs"
      cp "$log" "$kept"
      log=$kept
    fi
    failed[$w,$tool]="$phase run $n: see $log"
    echo "== $tool $w $phase run $n FAILED after $ms ms; the end of its output ($log):" >&2
    tail -n 25 "$log" >&2
    return 1
  fi
}

# run_workload W: cold, then (not for the context) warm and one file changed.
run_workload() {
  w=$1
  context_for "$w"
  if [[ $w == context ]]; then
    # Into the page cache, so that neither tool pays for the first read.
    find "$ctx" -type f -exec cat {} + >/dev/null
  fi
  local i tool order
  for i in $(seq 1 "$cold_runs"); do
    order="bld buildah"
    (( i % 2 == 0 )) && order="buildah bld"
    for tool in $order; do
      [[ -n ${failed[$w,$tool]:-} ]] && continue
      if [[ $tool == bld ]]; then rm -rf "$bld_root"; else fresh_buildah; fi
      echo "$w: cold run $i, $tool" >&2
      record "$tool" cold "$i" || continue
      if [[ $w != context ]]; then record "$tool" push "$i" || continue; fi
      if ((i == 1)); then "check_$tool" || failed[$w,$tool]="its image failed the check"; fi
      if ((i == 1)) && [[ $tool == bld ]]; then record_layers; fi
    done
  done
  if [[ $w != context ]]; then measure_warm; fi
  rm -rf "$bld_root"
  wipe_buildah
}

# The warm phases of $w, on the stores its last cold builds left.
measure_warm() {
  local phase i tool order
  for phase in warm changed; do
    for i in $(seq 1 "$warm_runs"); do
      [[ $phase == changed ]] &&
        printf '%s change %s %s\n' "${comment_start[$w]}" "$i" "${comment_end[$w]}" >> "$ctx/${changed_file[$w]}"
      order="bld buildah"
      (( i % 2 == 0 )) && order="buildah bld"
      for tool in $order; do
        [[ -n ${failed[$w,$tool]:-} ]] && continue
        echo "$w: $phase run $i, $tool" >&2
        record "$tool" "$phase" "$i" || true
      done
    done
  done
}

versions="bld $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?'), $(buildah --version),"
versions+=" $(runc --version | head -1), docker-registry $(docker-registry --version | awk '{print $3}'),"
versions+=" mmdebstrap $(mmdebstrap --version | awk '{print $2}')"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%F %H:%M UTC')
for w in "${selected[@]}"; do run_workload "$w"; done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f s", ms / 1000 }'; }
# shown MEDIAN_MS RUN_MS...: "12.34 s (11.9-13.0)", the median and the range.
shown() {
  local m=$1; shift
  printf '%s' "$(seconds "$m")"
  if (($# > 1)); then
    printf '%s\n' "$@" | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END { printf " (%.2f-%.2f)", lo / 1000, hi / 1000 }'
  fi
}
echo
echo "## bld beside buildah on real images ($started)"
echo
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r);" \
  "load average (1, 5, 15 min) $load_before at the start, $load_after at the end"
echo "- $versions"
echo "- Debian base: $(basename "$debian_tar") made $(date -u -r "$debian_tar" '+%F %H:%M UTC') by mmdebstrap" \
  "($(du -m "$debian_tar" | cut -f1) MiB uncompressed)"
echo "- medians (and ranges) of $cold_runs cold and $warm_runs warm runs; cold = empty store, the base pulled from the local registry"
echo
echo "| workload | build | bld | buildah | bld / buildah |"
echo "|---|---|---|---|---|"
declare -A phase_name=([cold]="cold" [push]="push after the cold build" [warm]="warm, nothing changed"
  [changed]="one source file changed")
for w in "${selected[@]}"; do
  for phase in cold push warm changed; do
    [[ $w == context && $phase != cold ]] && continue
    a=${times[$w,$phase,bld]:-} b=${times[$w,$phase,buildah]:-}
    ma=- mb=- ratio=-
    # shellcheck disable=SC2086
    [[ -n $a ]] && { ma=$(median $a); ma_s=$(shown "$ma" $a); }
    # shellcheck disable=SC2086
    [[ -n $b ]] && { mb=$(median $b); mb_s=$(shown "$mb" $b); }
    [[ $ma != - && $mb != - ]] && ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')
    [[ -n ${failed[$w,bld]:-} && $ma == - ]] && ma_s="failed"
    [[ -n ${failed[$w,buildah]:-} && $mb == - ]] && mb_s="failed"
    printf '| %s | %s | %s | %s | %s |\n' "$w" "${phase_name[$phase]}" "${ma_s:--}" "${mb_s:--}" "$ratio"
    unset ma_s mb_s
  done
done
echo
echo "bld's steps in the cold builds, medians. \"exit -> done\" is the time from a RUN process's exit to its step"
echo "being done (the layer's cost on the critical path); the layer is the step's diff, uncompressed."
echo
echo "| workload | step | duration | layer | exit -> done | per 100 MB |"
echo "|---|---|---|---|---|---|"
for w in "${selected[@]}"; do
  # shellcheck disable=SC2086
  [[ -n ${bld_cold_logs[$w]:-} ]] && python3 bench/step_times.py steps "$w" "$logdir/$w-layers.json" ${bld_cold_logs[$w]}
done
status=0
for key in "${!failed[@]}"; do
  echo "FAILED: ${key/,/ with } (${failed[$key]})" >&2
  status=1
done
exit "$status"
