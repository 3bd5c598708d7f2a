#!/usr/bin/env bash
# Configures and builds bld into build/ (or $BLD_BUILD_DIR).
#   scripts/build.sh [--target NAME] [CMAKE_ARG...]
# --target builds one target (e.g. bld, without the tests); by default
# everything is built. Other arguments go to cmake's configure step (e.g.
# -DBLD_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BLD_BUILD_DIR:-build}
target=()
if [[ ${1:-} == --target ]]; then
  if [[ $# -lt 2 ]]; then
    echo "scripts/build.sh: --target needs a target name (e.g. bld)" >&2
    exit 2
  fi
  target=(--target "$2")
  shift 2
fi
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" "${target[@]}"
