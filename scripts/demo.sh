#!/usr/bin/env bash
# The README's first command: install, build bld, build the hello-world image
# on a busybox base made here from Debian's busybox-static, run it with port
# 4000 published, and fetch its page. The store is BLD_ROOT (default
# /var/lib/bld).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
scripts/build.sh --target bld  # the demo needs bld only, not the tests
bld=build/bld
work=$(mktemp -d)
name=helloworld-demo
cleanup() {
  $bld rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

run() { echo "+ $*"; "$@"; }
scripts/busybox-rootfs.sh "$work/busybox.tar"
run $bld import "$work/busybox.tar" busybox
run $bld build -t helloworld testdata/helloworld
run $bld images
run $bld history helloworld
$bld rm -f "$name" >/dev/null 2>&1 || true
run $bld run -d --name "$name" -p 4000:80 helloworld
run $bld ps
echo "+ busybox wget -qO- http://127.0.0.1:4000/"
for _ in $(seq 50); do
  if busybox wget -qO- http://127.0.0.1:4000/ 2>/dev/null; then exit 0; fi
  sleep 0.1
done
echo "demo: the container did not answer on 127.0.0.1:4000" >&2
$bld logs "$name" >&2 || true
exit 1
