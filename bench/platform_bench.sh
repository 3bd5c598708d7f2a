#!/usr/bin/env bash
# Functions called by name ("build_$tool") look unreachable to it.
# shellcheck disable=SC2317
# The cost of a second platform (issue 15): the same Dockerfile built for
# linux/amd64 alone and for linux/amd64,linux/arm64, by bld and by buildah
# (`buildah bud --layers --platform ... --manifest`) in the same run, each
# cold (a new store with only the two base images in it). The Dockerfile is
# the cross-compiling shape: a stage on the build platform that both
# platforms share (32 MiB of data made once), and a target stage per
# platform whose RUN does CPU work (gzip and sha256sum of that data): under
# QEMU for arm64. Also a warm rebuild of the two-platform build. Prints a
# Markdown table of medians; copy it to bench/RESULTS.md by hand.
#
# The bases are busybox root filesystems for amd64 (Debian's busybox-static)
# and arm64 (the arm64 busybox scripts/foreign-arch-setup.sh unpacks), made
# into images by `bld import --platform` and by buildah from scratch with
# `buildah config --arch`.
#
# Usage: bench/platform_bench.sh [--bld PATH] [--runs N]
# Needs, as root: buildah, runc, busybox-static, qemu-user-static registered
# with binfmt_misc (scripts/install-deps.sh test does it).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh

bld=build/bld
runs=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --bld) bld=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) sed -n '/^# Usage:/,/^# Needs/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "platform_bench.sh: run as root" >&2; exit 2; }
arm64_busybox=/usr/local/lib/bld-test/arm64/busybox
[[ -x $arm64_busybox ]] || { echo "platform_bench.sh: no $arm64_busybox (scripts/install-deps.sh test)" >&2; exit 2; }
command -v buildah >/dev/null || { echo "platform_bench.sh: apt-get install buildah runc" >&2; exit 2; }
bld=$(realpath "$bld")

work=$(mktemp -d /var/tmp/bld-platform-bench-XXXXXX)
buildah_dir=
cleanup() {
  local status=$?
  set +e
  wipe_buildah
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

make_busybox_tar "$work/amd64.tar"
make_busybox_tar "$work/arm64.tar" "$arm64_busybox"
mkdir -p "$work/ctx"
# buildah expands TARGETARCH in FROM only when it is declared first.
cat > "$work/ctx/Dockerfile" <<'EOF'
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM localhost/base-amd64 AS data
RUN dd if=/dev/urandom of=/data bs=1M count=32 2>/dev/null
FROM localhost/base-$TARGETARCH
COPY --from=data /data /data
RUN gzip -1 -c /data > /data.gz && sha256sum /data.gz > /sum && uname -m > /machine && rm /data
EOF
# buildah 1.28 (Debian 12) looks a `FROM --platform=$BUILDPLATFORM` base up
# for the target platform ("image not known" for the arm64 build), so its
# data stage is on the target's base: the dd runs once per platform (under
# QEMU for arm64) where bld runs it once.
# shellcheck disable=SC2016 # Dockerfile variables, not the shell's
sed 's|--platform=$BUILDPLATFORM localhost/base-amd64|localhost/base-$TARGETARCH|' "$work/ctx/Dockerfile" > "$work/ctx/Dockerfile.buildah"

# A new bld store with the two bases.
fresh_bld() {
  rm -rf "$work/bld-root"
  "$bld" --root "$work/bld-root" import --platform linux/amd64 "$work/amd64.tar" localhost/base-amd64 >/dev/null
  "$bld" --root "$work/bld-root" import --platform linux/arm64 "$work/arm64.tar" localhost/base-arm64 >/dev/null
}
# A new buildah storage with the two bases.
fresh_buildah() {
  fresh_buildah_store
  local arch ctr
  for arch in amd64 arm64; do
    ctr=$(buildah from --arch "$arch" scratch)
    buildah add "$ctr" "$work/$arch.tar" / >/dev/null
    buildah config --arch "$arch" --os linux --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    buildah commit -q "$ctr" "localhost/base-$arch" >/dev/null
    buildah rm "$ctr" >/dev/null
  done
}

build_bld() { "$bld" --root "$work/bld-root" build -q --platform "$1" -t bench/multi "$work/ctx"; }
build_buildah() {
  buildah manifest rm localhost/bench-multi >/dev/null 2>&1 || true  # the list only, not its images
  buildah bud --layers --pull=never --platform "$1" --manifest localhost/bench-multi -f "$work/ctx/Dockerfile.buildah" "$work/ctx"
}

# cold TOOL PLATFORMS: one cold build; sets ms. (Not in a $(...) subshell:
# fresh_buildah's storage settings must stay for the warm build after it.)
cold() {
  "fresh_$1"
  local s; s=$(now_ms)
  "build_$1" "$2" > "$work/$1.log" 2>&1 || { echo "FAILED: $1 $2: $(tail -5 "$work/$1.log")" >&2; exit 1; }
  ms=$(( $(now_ms) - s ))
}
# warm TOOL PLATFORMS: a rebuild with nothing changed, after a cold build; sets ms.
warm() {
  local s; s=$(now_ms)
  "build_$1" "$2" > "$work/$1.log" 2>&1 || { echo "FAILED: warm $1 $2: $(tail -5 "$work/$1.log")" >&2; exit 1; }
  ms=$(( $(now_ms) - s ))
}

declare -A t
for i in $(seq 1 "$runs"); do
  # Which tool goes first alternates.
  tools=(bld buildah); (( i % 2 == 0 )) && tools=(buildah bld)
  for tool in "${tools[@]}"; do
    cold "$tool" linux/amd64; t[$tool,one]+=" $ms"
    cold "$tool" linux/amd64,linux/arm64; t[$tool,two]+=" $ms"
    warm "$tool" linux/amd64,linux/arm64; t[$tool,warm]+=" $ms"
  done
done
# The images are what they say: the arm64 entry ran on aarch64 (QEMU).
out=$("$bld" --root "$work/bld-root" run --rm --platform linux/arm64 bench/multi cat /machine)
[[ $out == aarch64 ]] || { echo "bld's arm64 image says $out" >&2; exit 1; }

# shellcheck disable=SC2086 # the runs are words
ms() { median ${t[$1]}; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| build (median of $runs, ms) | bld | buildah | bld / buildah |"
echo "|---|---|---|---|"
for k in one two warm; do
  case $k in one) label="cold, linux/amd64" ;; two) label="cold, linux/amd64 + linux/arm64" ;; warm) label="warm, both platforms" ;; esac
  echo "| $label | $(ms "bld,$k") | $(ms "buildah,$k") | $(ratio "$(ms "bld,$k")" "$(ms "buildah,$k")") |"
done
echo "| second platform's cost (two / one) | $(ratio "$(ms bld,two)" "$(ms bld,one)") | $(ratio "$(ms buildah,two)" "$(ms buildah,one)") | |"
