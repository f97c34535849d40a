#!/usr/bin/env bash
# Builds the HTTP/1 libFuzzer targets with clang (ASan + UBSan) and runs each
# for a bounded time over a copy of its committed seed corpus.
#
#   bash tests/fuzz/run.sh OUTDIR [SECONDS_PER_TARGET]
#
# New inputs found while fuzzing go to OUTDIR/corpus/<target> (the committed
# corpus is never modified); crashes go to OUTDIR/artifacts/. Exits nonzero if
# a target fails to build or any run finds a crash, leak or timeout.
# Environment: FUZZ_CXX (default clang++), FUZZ_TARGETS (default: all),
# FUZZ_EXTRA_ARGS (passed to every run, e.g. "-jobs=4").
set -euo pipefail

out=${1:?usage: run.sh OUTDIR [SECONDS]}
secs=${2:-30}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cxx=${FUZZ_CXX:-clang++}
targets=${FUZZ_TARGETS:-"http1_request http1_response"}
sources=("$root/gateway/http1/parser.cc" "$root/gateway/http1/body_decoder.cc")

mkdir -p "$out/artifacts"
status=0
for t in $targets; do
  bin="$out/${t}_fuzzer"
  echo "== build $t"
  "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$root" "${sources[@]}" "$here/${t}_fuzzer.cc" -o "$bin"

  corpus="$out/corpus/$t"
  mkdir -p "$corpus"
  cp -f "$here/corpus/$t/"* "$corpus/"

  echo "== run $t for ${secs}s"
  log="$out/$t.log"
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -dict="$here/http1.dict" -artifact_prefix="$out/artifacts/$t-" ${FUZZ_EXTRA_ARGS:-} \
      "$corpus" >"$log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' "$log" || true
    grep -E '^#[0-9]+.*DONE' "$log" | tail -1 || true
  else
    echo "!! $t failed (see $log):"
    grep -E -A30 'ERROR: |check failed|runtime error|SUMMARY' "$log" | head -60 || tail -40 "$log"
    status=1
  fi
done
exit $status
