#!/usr/bin/env bash
# The README's first command: install, build bld, and build the hello-world
# image on a busybox base made here from Debian's busybox-static.
# The store is BLD_ROOT (default /var/lib/bld).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
scripts/build.sh
bld=build/bld
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { echo "+ $*"; "$@"; }
scripts/busybox-rootfs.sh "$work/busybox.tar"
run $bld import "$work/busybox.tar" busybox
run $bld build -t helloworld testdata/helloworld
run $bld images
run $bld history helloworld
