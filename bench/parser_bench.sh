#!/usr/bin/env bash
# Parser benchmark: `bld parse` of a generated 10,000-instruction Dockerfile
# (every instruction kind, continuations, heredocs, 20 stages), whole process,
# median of N runs. Usage: bench/parser_bench.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
bld=${1:-build}/bld
runs=${2:-21}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gen() {
  echo "# syntax=docker/dockerfile:1"
  echo "ARG BASE=busybox"
  local n=2 stage=0
  while [ $n -lt 10000 ]; do
    echo "FROM \${BASE}:\${TAG:-latest} AS s$stage"; n=$((n+1))
    for i in $(seq 1 50); do
      echo "ENV K$i=\"v $i\" L$i=\${K$i}x"
      echo "RUN --mount=type=cache,target=/c$i echo $i \\"
      echo "    && echo continued $i"
      echo "COPY --chown=1:1 --chmod=0644 src/$i /dst/$i/"
      echo "LABEL org.example.k$i=\"value $i\""
      echo "COPY <<EOF /f$i"
      echo "content $i"
      echo "EOF"
      echo "EXPOSE 80$((i % 10))/tcp"
      echo "CMD [\"/bin/sh\", \"-c\", \"echo $i\"]"
      n=$((n+7))
      [ $n -ge 10000 ] && break
    done
    stage=$((stage+1))
  done
}
gen > "$work/Dockerfile"
count=$(grep -cvE '^(#|    |content|EOF)' "$work/Dockerfile")
echo "instructions: $count, bytes: $(wc -c < "$work/Dockerfile")"

"${1:-build}/bench/parser_bench" "$work/Dockerfile" "$runs"
times=()
for _ in $(seq 1 "$runs"); do
  s=$(date +%s%N)
  "$bld" parse -f "$work/Dockerfile" > /dev/null
  e=$(date +%s%N)
  times+=($(( (e - s) / 1000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
echo "bld parse (whole process, JSON output): median ${median} us over $runs runs"
/usr/bin/env time -v "$bld" parse -f "$work/Dockerfile" 2>&1 >/dev/null | grep -E 'Maximum resident' || true
