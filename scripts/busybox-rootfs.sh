#!/usr/bin/env bash
# Writes a busybox root filesystem tar from Debian's busybox-static: the base
# image of the demo and the benchmarks (`bld import OUT.tar busybox`), since
# nothing is pulled from Docker Hub here. The tests make the same tree in C++
# (tests/support/busybox.cc).
# Usage: scripts/busybox-rootfs.sh OUT.tar [BUSYBOX]
# BUSYBOX: another architecture's busybox binary to put in it instead (the
# applets are listed by the host's, the same Debian version), e.g. the arm64
# one scripts/foreign-arch-setup.sh unpacks.
set -euo pipefail
out=${1:?usage: $0 OUT.tar [BUSYBOX]}
busybox=${2:-/bin/busybox}
[ -x /bin/busybox ] || { echo "busybox-static is not installed (/bin/busybox missing)" >&2; exit 1; }
[ -x "$busybox" ] || { echo "no busybox binary at $busybox" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,etc,tmp,root,proc,sys,dev}
cp "$busybox" "$dir/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
chmod 1777 "$dir/tmp"
tar -C "$dir" --numeric-owner -cf "$out" .
