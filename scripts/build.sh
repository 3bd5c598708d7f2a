#!/usr/bin/env bash
# Configures and builds bld into build/ (or $BLD_BUILD_DIR); extra arguments
# go to cmake's configure step (e.g. -DBLD_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BLD_BUILD_DIR:-build}
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
