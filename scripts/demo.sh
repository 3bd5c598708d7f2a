#!/usr/bin/env bash
# The README's first command: install, build, and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
scripts/build.sh
echo "+ bld parse -f testdata/helloworld/Dockerfile"
build/bld parse -f testdata/helloworld/Dockerfile
