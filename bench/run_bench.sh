#!/usr/bin/env bash
# Runner benchmark: `RUN true` from start to exit, bld's RunStep beside
# `runc run` of the same busybox root filesystem, median of N runs each.
#
#   bld RunStep, in process    what a build pays per RUN step (bld is one
#                              process for the whole build)
#   bld RunStep, whole process the same plus starting a process that opens the
#                              store, comparable with runc's start to exit
#   runc run                   runc's default spec: new pid/net/ipc/uts/mount
#                              namespaces, masked paths, cgroups (no seccomp
#                              filter: `runc spec` writes none)
# bld's steps run under Docker's seccomp filter; each bld figure is also
# taken with seccomp=unconfined, which shows what the filter costs.
# Both runners get a network namespace of their own (bld: network none).
#
# Usage: bench/run_bench.sh [build-dir] [runs]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-20}

if [ "$(id -u)" != 0 ]; then echo "run_bench: containers need root" >&2; exit 1; fi
if ! command -v runc >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq runc >/dev/null
fi
if ! log=$(cmake --build "$build" --target test_runner 2>&1); then echo "$log" >&2; exit 1; fi
driver=$build/tests/test_runner

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
ms() { printf '%d.%d ms' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }

# The first step unpacks the snapshot; every timed one finds it in place.
BLD_BENCH_DIR=$work BLD_BENCH_RUNS=1 "$driver" "bench: RUN true" >/dev/null

in_process=$(BLD_BENCH_DIR=$work BLD_BENCH_RUNS=$runs "$driver" "bench: RUN true" |
  awk '/^run_us/ {print $2}' | median)
in_process_unconfined=$(BLD_BENCH_DIR=$work BLD_BENCH_RUNS=$runs BLD_BENCH_SECCOMP=unconfined \
  "$driver" "bench: RUN true" | awk '/^run_us/ {print $2}' | median)

bundle=$work/bundle
mkdir -p "$bundle"
(cd "$bundle" && runc spec)
sed -i -e 's/"terminal": true/"terminal": false/' \
  -e 's/"sh"$/"true"/' \
  -e "s|\"path\": \"rootfs\"|\"path\": \"$work/rootfs\"|" \
  -e 's/"readonly": true/"readonly": false/' "$bundle/config.json"

# Whole processes, the three kinds taking turns so that a change of load
# on this shared machine falls on all of them alike.
whole=() whole_unconfined=() runc_times=()
for i in $(seq 1 "$runs"); do
  s=$(now_us)
  BLD_BENCH_DIR=$work BLD_BENCH_RUNS=1 "$driver" "bench: RUN true" >/dev/null
  whole+=($(( $(now_us) - s )))
  s=$(now_us)
  BLD_BENCH_DIR=$work BLD_BENCH_RUNS=1 BLD_BENCH_SECCOMP=unconfined "$driver" "bench: RUN true" >/dev/null
  whole_unconfined+=($(( $(now_us) - s )))
  s=$(now_us)
  runc run --bundle "$bundle" "bld-bench-$$-$i" </dev/null
  runc_times+=($(( $(now_us) - s )))
done
whole_median=$(printf '%s\n' "${whole[@]}" | median)
whole_unconfined_median=$(printf '%s\n' "${whole_unconfined[@]}" | median)
runc_median=$(printf '%s\n' "${runc_times[@]}" | median)

echo "RUN true, median of $runs runs on $(nproc) cores, $(uname -r), load $(cut -d' ' -f1 /proc/loadavg):"
echo "  bld RunStep, in process:                         $(ms "$in_process")"
echo "  bld RunStep, in process, seccomp=unconfined:     $(ms "$in_process_unconfined")"
echo "  bld RunStep, whole process:                      $(ms "$whole_median")"
echo "  bld RunStep, whole process, seccomp=unconfined:  $(ms "$whole_unconfined_median")"
echo "  runc run ($(runc --version | head -1 | awk '{print $3}'), its default spec: no seccomp):  $(ms "$runc_median")"
