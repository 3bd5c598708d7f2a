#!/usr/bin/env bash
# Installs what bld needs to build and test on Debian 12, idempotently: a
# package already installed is not asked for again, and apt-get update runs
# only when something is missing.
set -euo pipefail

BUILD_PKGS=(cmake ninja-build g++ pkg-config
  libssl-dev libarchive-dev libzstd-dev zlib1g-dev liblmdb-dev
  libcli11-dev catch2 libcurl4-openssl-dev nlohmann-json3-dev libseccomp-dev)
# What the tests and the demo run: the busybox base image is made from
# busybox-static; the rest are the real peers the interop tests talk to
# (the registry server, skopeo, podman, umoci, runc) and the tools their
# setups use (htpasswd from apache2-utils, tar with zstd, pgrep from procps,
# ssh-keygen/ssh-agent from openssh-client for RUN --mount=type=ssh); the
# container escape tests compile their probe with gcc -static (libc6-dev);
# the multi-platform tests run linux/arm64 steps under QEMU
# (qemu-user-static, registered by binfmt-support; see foreign-arch-setup.sh).
TEST_PKGS=(busybox-static docker-registry skopeo podman umoci runc apache2-utils zstd
  golang-github-containers-common procps openssh-client gcc libc6-dev qemu-user-static binfmt-support)

want=("${BUILD_PKGS[@]}")
case "${1:-build}" in
  build) ;;
  demo) want+=(busybox-static) ;;
  test) want+=("${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 [build|demo|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "${1:-build}" = test ]; then
  "$(dirname "$0")/foreign-arch-setup.sh"
fi
