#!/usr/bin/env bash
# The README's second command: install, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh "$@"
dir=${BLD_BUILD_DIR:-build}
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
