#!/usr/bin/env bash
# What the multi-platform tests need beyond packages, idempotently:
#  - binfmt_misc mounted and qemu-user-static's emulators registered with it
#    (the package registers them where systemd or binfmt-support runs at
#    install time; a container may have neither);
#  - an arm64 busybox (Debian's busybox-static for arm64, unpacked, not
#    installed) to make linux/arm64 base images from, at
#    /usr/local/lib/bld-test/arm64/busybox.
# Run as root, after qemu-user-static and binfmt-support are installed.
set -euo pipefail

binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/status" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt"
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  update-binfmts --enable qemu-aarch64
fi

dest=/usr/local/lib/bld-test/arm64
if [ ! -x "$dest/busybox" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt
  (cd "$work" && apt-get download -qq busybox-static:arm64)
  dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/root"
  mkdir -p "$dest"
  install -m 755 "$work/root/bin/busybox" "$dest/busybox"
fi
