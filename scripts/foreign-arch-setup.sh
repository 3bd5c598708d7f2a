#!/usr/bin/env bash
# What the multi-platform tests need beyond packages, idempotently:
#  - binfmt_misc mounted and qemu-user-static's emulators registered with it
#    (the package registers them where systemd or binfmt-support runs at
#    install time; a container may have neither);
#  - an arm64 busybox (Debian's busybox-static for arm64, unpacked, not
#    installed) to make linux/arm64 base images from, at
#    /usr/local/lib/bld-test/arm64/busybox.
# Run as root, after qemu-user-static and binfmt-support are installed. A
# machine that does not let it register an emulator (binfmt_misc cannot be
# mounted in some containers) gets a warning, not a failure: the tests that
# need QEMU then say why they did not run, and the rest run.
set -euo pipefail

warn() { echo "foreign-arch-setup: $*; the multi-platform tests will not run" >&2; }
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/status" ] && ! mount -t binfmt_misc binfmt_misc "$binfmt"; then
  warn "cannot mount binfmt_misc at $binfmt"
elif [ ! -e "$binfmt/qemu-aarch64" ]; then
  update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  update-binfmts --enable qemu-aarch64 || warn "cannot register qemu-aarch64 with binfmt_misc"
fi

dest=/usr/local/lib/bld-test/arm64
# (Called in an || list, where set -e does not stop it: each step checks.)
fetch_arm64_busybox() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64 || return 1
    apt-get update -qq || return 1
  fi
  local work
  work=$(mktemp -d) || return 1
  chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt
  (cd "$work" && apt-get download -qq busybox-static:arm64) &&
    dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/root" &&
    mkdir -p "$dest" &&
    install -m 755 "$work/root/bin/busybox" "$dest/busybox"
  local status=$?
  rm -rf "$work"
  return "$status"
}
if [ ! -x "$dest/busybox" ]; then
  fetch_arm64_busybox || warn "cannot fetch Debian's busybox-static for arm64"
fi
