#!/usr/bin/env bash
# Builds the release binaries edgegate and edgegate-origin: what the README, the demo
# and docker/Dockerfile run, so CI (which runs the demo's build) proves the image's
# build steps too.
#   scripts/build.sh [BUILD_DIR]   (default build/; JOBS=N to change the parallelism)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD_DIR:-build}}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j"${JOBS:-$(nproc)}" --target edgegate edgegate-origin
