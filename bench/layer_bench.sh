#!/usr/bin/env bash
# Layer throughput: bld writing a layer (gzip, zstd) from a 1 GiB tree of
# 20,000 files and applying it back, beside GNU tar piped into gzip, pigz and
# zstd -T0 on the same tree in the same run. Wall time, CPU time (user + sys,
# the fair figure on a busy machine) and peak memory (max RSS) come from
# /usr/bin/time -v. The tree is read from the page cache (it is read once
# before timing), so the figures measure CPU work, not the disk.
#
# usage: bench/layer_bench.sh [work-dir]      (about 6 GiB free needed there)
#   LAYER_BENCH  the driver built from bench/layer_bench.cc
#                (default: build/bench/layer_bench)
set -euo pipefail

work=${1:-/tmp/bld-layer-bench}
driver=${LAYER_BENCH:-build/bench/layer_bench}
total_bytes=$((1 << 30))
file_count=20000

missing=()
for tool in /usr/bin/time pigz zstd gzip tar; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}" >&2
  apt-get install -y -qq time pigz zstd gzip tar >/dev/null
fi
[[ -x $driver ]] || { echo "layer_bench driver not found at $driver (set LAYER_BENCH)" >&2; exit 1; }

mkdir -p "$work"
tree=$work/tree
if [[ ! -d $tree ]]; then
  "$driver" generate "$tree" "$total_bytes" "$file_count" >/dev/null
fi
# Into the page cache. (GNU tar skips reading file data when writing to
# /dev/null, so cat does the warming.)
find "$tree" -type f -exec cat {} + >/dev/null

mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

# run <label> <bytes processed> <output file or -> <command...>
run() {
  local label=$1 bytes=$2 output=$3
  shift 3
  /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/stdout.txt"
  local seconds cpu peak_kib
  seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time.txt")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { print s }' "$work/time.txt")
  peak_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
  local size=""
  [[ $output != - ]] && size="$(mib "$(stat -c %s "$output")") MiB"
  printf '%-34s %7.2f s %8.1f MiB/s %7.2f s CPU %7.1f MiB peak  %s\n' "$label" "$seconds" \
    "$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { print b / 1048576 / s }')" "$cpu" \
    "$(awk -v k="$peak_kib" 'BEGIN { print k / 1024 }')" "$size"
  grep -E '^(write|apply) ' "$work/stdout.txt" | sed 's/^/    /' || true
}

echo "tree: $file_count files, $(mib "$total_bytes") MiB of content, $(nproc) CPUs"
echo
echo "== write: directory -> compressed layer"
run "bld write gzip (level 6, -T$(nproc))" "$total_bytes" "$work/bld.tar.gz" "$driver" write "$tree" gzip "$work/bld.tar.gz"
run "bld write zstd (level 3, -T$(nproc))" "$total_bytes" "$work/bld.tar.zst" "$driver" write "$tree" zstd "$work/bld.tar.zst"
run "bld write uncompressed" "$total_bytes" "$work/bld.tar" "$driver" write "$tree" none "$work/bld.tar"
run "tar | gzip (level 6)" "$total_bytes" "$work/gnu.tar.gz" sh -c "tar -C '$tree' -cf - . | gzip > '$work/gnu.tar.gz'"
run "tar | pigz (level 6, -p$(nproc))" "$total_bytes" "$work/gnu-pigz.tar.gz" sh -c "tar -C '$tree' -cf - . | pigz > '$work/gnu-pigz.tar.gz'"
run "tar | zstd -T0 (level 3)" "$total_bytes" "$work/gnu.tar.zst" sh -c "tar -C '$tree' -cf - . | zstd -q -T0 > '$work/gnu.tar.zst'"

tar_bytes=$(stat -c %s "$work/bld.tar")
echo
echo "== apply: compressed layer -> directory (throughput of the uncompressed tar)"
apply() {
  local label=$1
  shift
  rm -rf "$work/out"
  mkdir -p "$work/out"
  run "$label" "$tar_bytes" - "$@"
}
apply "bld apply gzip" "$driver" apply "$work/bld.tar.gz" "$work/out"
apply "bld apply zstd" "$driver" apply "$work/bld.tar.zst" "$work/out"
apply "bld apply zstd, overlay mode" "$driver" apply "$work/bld.tar.zst" "$work/out" overlay
apply "gzip -dc | tar -x" sh -c "gzip -dc '$work/bld.tar.gz' | tar -C '$work/out' -xf -"
apply "pigz -dc | tar -x" sh -c "pigz -dc '$work/bld.tar.gz' | tar -C '$work/out' -xf -"
apply "zstd -dc | tar -x" sh -c "zstd -qdc '$work/bld.tar.zst' | tar -C '$work/out' -xf -"
rm -rf "$work/out"
