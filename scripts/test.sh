#!/usr/bin/env bash
# Installs what is missing, builds edgegate with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test: unit, integration (real
# binaries on free loopback ports), and a bounded fuzz run of the parsers.
# The build is Debug (-O0): on 2 cores compiling is what costs CI time.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DEDGEGATE_SANITIZE=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

# Sanitizer findings fail the test that triggered them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Integration tests measure timeouts: run them one at a time on 2 cores.
ctest --test-dir "$BUILD" --output-on-failure --timeout 900 "$@"
