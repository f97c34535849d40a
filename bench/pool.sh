#!/usr/bin/env bash
# Pools the per-round figures of one on/off pair over several bench/run.sh reports.
#
# One run's interval is wide (a round's ratio swings by about ±10% on 2 cores shared by wrk,
# the proxy and the origin), and runs an hour apart differ by several points. Pooling the
# rounds of runs made one after another narrows the interval; grouping them by their TARGETS
# shows whether the layout of a run, rather than the time it ran, moves the figure.
#
#   bench/pool.sh [-s SECTION] REPORT.md...
#
# SECTION: the pair, as its report section names it (default "edgegate-log / edgegate-bare";
# also "edgegate-log / edgegate", "nginx-log / nginx"). Prints a Markdown table: one row per
# report, one per TARGETS layout (when there are several) and one for all the rounds; medians
# of the per-round ratios with their 95% confidence interval, computed as run.sh does.
set -euo pipefail

SECTION="edgegate-log / edgegate-bare"
if [ "${1:-}" = -s ]; then
  SECTION=${2:?-s needs a section, e.g. "edgegate-log / edgegate"}
  shift 2
fi
usage() {
  echo "bench/pool.sh: $*" >&2
  echo "usage: bench/pool.sh [-s SECTION] REPORT.md..." >&2
  exit 2
}
[ $# -gt 0 ] || usage "no report given"
for report in "$@"; do
  [ -r "$report" ] || usage "$report: cannot read it"
  grep -qF "| round | req/s $SECTION |" "$report" || usage "$report: no \"$SECTION\" section"
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP_PREFIX=edgegate-pool
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

# The rows of a report's pair table, as run.sh's pairs file: "round pair rps cpu diff writer".
pair_rows() {
  awk -v want="| round | req/s $SECTION |" '
    index($0, want) == 1 { inside = 1; next }
    inside && /^\| [0-9]+ \|/ { gsub(/ /, ""); split($0, f, "|");
      print f[2], "pair", f[3], f[4], f[5] + 0, f[6]; next }
    inside && /^$/ { exit }' "$1"
}

# The TARGETS of a report, from its Command line.
layout() {
  sed -n 's/^Command: .*TARGETS="\([^"]*\)".*/\1/p' "$1" | head -1
}

# One table row: $1 label, $2 rows file.
row() {
  local n
  n=$(wc -l <"$2")
  echo "| $1 | $n | $(median_of "$2" pair 3) [$(median_ci "$2" 3)] |" \
    "$(median_of "$2" pair 4) [$(median_ci "$2" 4)] | $(median_of "$2" pair 5) |" \
    "$(median_of "$2" pair 6) |"
}

echo "Pair: $SECTION (on / off)"
echo
echo "| run | rounds | req/s on / off [95% interval] | CPU µs/req on / off [95% interval] |" \
  "CPU on − off, µs | writer µs/req |"
echo "| --- | ---: | --- | --- | ---: | ---: |"
: >"$TMP/all"
declare -A SEEN
LAYOUTS=()  # in the order they first appear
for report in "$@"; do
  pair_rows "$report" >"$TMP/one"
  [ -s "$TMP/one" ] || die "$report: the \"$SECTION\" section has no rounds"
  targets=$(layout "$report")
  key=$(echo "${targets:-?}" | tr ' ' '_')
  [ -n "${SEEN[$key]:-}" ] || LAYOUTS+=("$key")
  SEEN[$key]=1
  cat "$TMP/one" >>"$TMP/layout-$key"
  cat "$TMP/one" >>"$TMP/all"
  row "$(basename "$report" .md) ($targets)" "$TMP/one"
done
if [ "${#LAYOUTS[@]}" -gt 1 ]; then
  for key in "${LAYOUTS[@]}"; do row "all [$(echo "$key" | tr '_' ' ')]" "$TMP/layout-$key"; done
fi
row "**all**" "$TMP/all"
