#!/usr/bin/env bash
# Rate-limit benchmark: wrk against the same origin through edgegate with no rate limit, with a
# local-store limit and with a Redis-store limit, in alternation, on loopback. Each request
# carries one of CONNECTIONS keys in X-Key (about a key per connection); the policy never
# refuses, so the runs measure what a decision costs. Writes
# bench/results/YYYY-MM-DD-HHMM-ratelimit.md.
#
# Environment (all optional):
#   DURATION=10s CONNECTIONS=50 ROUNDS=3 WRK_THREADS=1 WARMUP=2s
#   PACE_MS=0   each connection waits this long between requests (wrk's delay()): with
#               PACE_MS > 0 the load is below saturation and p99 shows what a decision adds
#               to a request's latency rather than the queueing of a saturated 2-core machine
#   EDGEGATE_BIN=build/edgegate ORIGIN_BIN=build/edgegate-origin REDIS_BIN=redis-server
#   RESULTS_DIR=bench/results KEEP_TMP=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
ROUNDS=${ROUNDS:-3}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-2s}
PACE_MS=${PACE_MS:-0}
EDGEGATE_BIN=${EDGEGATE_BIN:-build/edgegate}
ORIGIN_BIN=${ORIGIN_BIN:-build/edgegate-origin}
REDIS_BIN=${REDIS_BIN:-redis-server}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
TARGETS="none local redis"
COMMAND="DURATION=$DURATION CONNECTIONS=$CONNECTIONS ROUNDS=$ROUNDS WRK_THREADS=$WRK_THREADS"
[ "$PACE_MS" = 0 ] || COMMAND+=" PACE_MS=$PACE_MS"
COMMAND+=" bench/ratelimit.sh"

TMP_PREFIX=edgegate-rlbench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in wrk curl python3 awk "$REDIS_BIN"; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
[ -x "$ORIGIN_BIN" ] || die "$ORIGIN_BIN not found; build it: cmake -S . -B build && cmake --build build"
[ -x "$EDGEGATE_BIN" ] || die "$EDGEGATE_BIN not found; build it: cmake -S . -B build && cmake --build build"

# 200 with the origin's 1 KiB body and the policy's headers where a limit applies: proves the
# path works (and the limiter runs) before it is measured.
wait_ready() {
  local name=$1 port=$2 host=$3 pid=$4 want_rl=$5 deadline=$((SECONDS + 15)) got=""
  while ((SECONDS < deadline)); do
    alive "$pid" || die "$name exited at start; see $TMP/$name.log"
    got=$(curl -s -D "$TMP/$name.headers" -o /dev/null -w '%{http_code} %{size_download}' \
      --max-time 2 -H "Host: $host" -H "X-Key: ready" "http://127.0.0.1:$port/" || true)
    if [ "$got" = "200 1024" ]; then
      if [ "$want_rl" = 0 ] || grep -qi '^RateLimit: ' "$TMP/$name.headers"; then return; fi
    fi
    sleep 0.2
  done
  die "$name did not answer 200 (with RateLimit headers: $want_rl) for Host $host (last: '$got')"
}

read -r LOCAL_PORT LOCAL_ADMIN REDIS_GW_PORT REDIS_ADMIN REDIS_PORT < <(free_ports 5)

"$ORIGIN_BIN" --listen 127.0.0.1:0 --threads 1 --name bench >"$TMP/origin.out" 2>"$TMP/origin.log" &
ORIGIN_PID=$!
PIDS+=("$ORIGIN_PID")
NAMES[$ORIGIN_PID]=edgegate-origin
for _ in $(seq 100); do grep -q '^listening' "$TMP/origin.out" && break; sleep 0.05; done
ORIGIN_PORT=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/origin.out" | head -1)
[ -n "$ORIGIN_PORT" ] || die "the origin did not start; see $TMP/origin.log"

"$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
  >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
NAMES[$REDIS_PID]=redis-server

render() {
  sed -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" -e "s|@EDGEGATE_PORT@|$1|g" -e "s|@ADMIN_PORT@|$2|g" \
    -e "s|@STORE@|$3|g" -e "s|@REDIS_PORT@|$REDIS_PORT|g" bench/ratelimit.yaml.in
}
declare -A PORT HOST PROXY_PID
start_gateway() {
  local name=$1 port=$2 admin=$3 store=$4
  render "$port" "$admin" "$store" >"$TMP/$name.yaml"
  "$EDGEGATE_BIN" -t -c "$TMP/$name.yaml" >"$TMP/$name-check.log" 2>&1 ||
    die "edgegate -t refused the $name config: $(cat "$TMP/$name-check.log")"
  "$EDGEGATE_BIN" -c "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES[$!]="edgegate ($name)"
  GW_PID=$!
}
start_gateway gw-local "$LOCAL_PORT" "$LOCAL_ADMIN" local
LOCAL_PID=$GW_PID
start_gateway gw-redis "$REDIS_GW_PORT" "$REDIS_ADMIN" redis
REDIS_GW_PID=$GW_PID
PORT[none]=$LOCAL_PORT HOST[none]=none.bench PROXY_PID[none]=$LOCAL_PID
PORT[local]=$LOCAL_PORT HOST[local]=local.bench PROXY_PID[local]=$LOCAL_PID
PORT[redis]=$REDIS_GW_PORT HOST[redis]=redis.bench PROXY_PID[redis]=$REDIS_GW_PID
wait_ready none "$LOCAL_PORT" none.bench "$LOCAL_PID" 0
wait_ready local "$LOCAL_PORT" local.bench "$LOCAL_PID" 1
wait_ready redis "$REDIS_GW_PORT" redis.bench "$REDIS_GW_PID" 1

# Every request: the target's Host and one of CONNECTIONS keys, in turn. The same script runs
# against every target, so wrk's own cost is the same for all.
cat >"$TMP/keys.lua" <<'LUA'
local host = os.getenv("BENCH_HOST")
local keys = tonumber(os.getenv("BENCH_KEYS"))
local pace = tonumber(os.getenv("BENCH_PACE_MS"))
local n = 0
if pace > 0 then
  delay = function() return pace end
end
request = function()
  n = n + 1
  return wrk.format("GET", "/", {["Host"] = host, ["X-Key"] = "key-" .. (n % keys)})
end
LUA

ROWS="$TMP/rows"
: >"$ROWS"
run_one() {
  local round=$1 target=$2 duration=$3 out="$TMP/wrk-$1-$2.txt"
  local pid="${PROXY_PID[$target]}"
  local c0 c1 r0 r1
  c0=$(cpu_ticks "$pid")
  r0=$(cpu_ticks "$REDIS_PID")
  BENCH_HOST=${HOST[$target]} BENCH_KEYS=$CONNECTIONS BENCH_PACE_MS=$PACE_MS wrk -t"$WRK_THREADS" -c"$CONNECTIONS" \
    -d"$duration" --latency -s "$TMP/keys.lua" "http://127.0.0.1:${PORT[$target]}/" >"$out" 2>&1 ||
    die "wrk failed against $target: $(cat "$out")"
  c1=$(cpu_ticks "$pid")
  r1=$(cpu_ticks "$REDIS_PID")
  [ "$round" = warmup ] && return
  local requests rps p50 p99 non2xx errors cpu rcpu
  requests=$(awk '/ requests in / {print $1}' "$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  [ -n "$requests" ] && [ "$requests" -gt 0 ] || die "no requests completed against $target: $out"
  cpu=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v r="$requests" 'BEGIN { printf "%.2f", d * 1e6 / t / r }')
  rcpu=$(awk -v d=$((r1 - r0)) -v t="$CLK_TCK" -v r="$requests" 'BEGIN { printf "%.2f", d * 1e6 / t / r }')
  echo "$round $target $rps $p50 $p99 $cpu ${non2xx:-0} ${errors:-0} $rcpu" >>"$ROWS"
  log "round $round $target: $rps req/s, p50 ${p50}ms, p99 ${p99}ms, CPU ${cpu}us/req" \
    "(Redis ${rcpu}us/req)," \
    "non-2xx ${non2xx:-0}, socket errors ${errors:-0}"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date '+%Y-%m-%d %H:%M:%S %Z')
for target in $TARGETS; do run_one warmup "$target" "$WARMUP"; done
for round in $(seq "$ROUNDS"); do
  for target in $TARGETS; do run_one "$round" "$target" "$DURATION"; done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# What the limiter decided during the runs (proves it ran on every request).
decisions() {
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
    awk -v d="$2" '$1 ~ /^edgegate_ratelimit_decisions_total\{/ && $1 ~ "decision=\"" d "\"" {s += $2}
      END {printf "%d", s}'
}
LOCAL_ALLOWED=$(decisions "$LOCAL_ADMIN" allowed)
REDIS_ALLOWED=$(decisions "$REDIS_ADMIN" allowed)
REDIS_ERRORS=$(decisions "$REDIS_ADMIN" error)
LOCAL_LIMITED=$(decisions "$LOCAL_ADMIN" limited)
REDIS_LIMITED=$(decisions "$REDIS_ADMIN" limited)

median() { median_of "$ROWS" "$1" "$2"; }

STAMP=$(date '+%Y-%m-%d-%H%M')
mkdir -p "$RESULTS_DIR"
# The default scenario keeps the plain name; another connection count is told in the name.
SUFFIX=""
[ "$CONNECTIONS" = 50 ] || SUFFIX="-c$CONNECTIONS"
[ "$PACE_MS" = 0 ] || SUFFIX+="-paced${PACE_MS}ms"
REPORT="$RESULTS_DIR/$STAMP-ratelimit$SUFFIX.md"
NONE_RPS=$(median none 3) LOCAL_RPS=$(median local 3) REDIS_RPS=$(median redis 3)
NONE_P99=$(median none 5) LOCAL_P99=$(median local 5) REDIS_P99=$(median redis 5)
{
  echo "# Rate limiting: no limit, local store, Redis store ($STAMP)"
  echo
  echo "Command: \`$COMMAND\`"
  echo
  echo "Each run: \`wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency -s keys.lua\` on"
  echo "127.0.0.1, $ROUNDS rounds of [$TARGETS] in alternation after a $WARMUP warm-up of each."
  echo "Every request carries \`X-Key: key-<n mod $CONNECTIONS>\` (about a key per connection)."
  [ "$PACE_MS" = 0 ] ||
    echo "Paced: each connection waits ${PACE_MS} ms after every response (wrk's \`delay()\`)."
  echo "edgegate: 1 worker, keep-alive to \`edgegate-origin --threads 1\` (\`GET /\`, 1 KiB),"
  echo "\`bench/ratelimit.yaml.in\`: \`none\` is a site without a limit and \`local\` one with"
  echo "\`rate_limit: bench\` in the same process (\`store: local\`); \`redis\` is the same site in a"
  echo "second process with \`store: redis\` on a local \`redis-server\`. The policy never"
  echo "refuses: the runs measure the cost of a decision."
  echo
  echo "## Machine"
  echo
  echo "- started $STARTED; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(
    git diff --quiet HEAD -- ratelimit gateway 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- nproc: $(nproc); kernel: $(uname -r); CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "- load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER"
  echo "- edgegate: $("$EDGEGATE_BIN" --version 2>&1 | head -1) ($EDGEGATE_BIN)"
  echo "- $("$REDIS_BIN" --version | awk '{print $1, $2, $3}')"
  echo
  echo "## Runs"
  echo
  echo "| round | target | req/s | p50 ms | p99 ms | edgegate CPU µs/req | Redis CPU µs/req | non-2xx | socket errors |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $9, $7,
    $8}' "$ROWS"
  echo
  echo "## Summary (medians over $ROUNDS rounds)"
  echo
  echo "| target | req/s | p50 ms | p99 ms | edgegate CPU µs/req | Redis CPU µs/req |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for target in $TARGETS; do
    echo "| $target | $(median "$target" 3) | $(median "$target" 4) | $(median "$target" 5) |" \
      "$(median "$target" 6) | $(median "$target" 9) |"
  done
  echo
  awk -v n="$NONE_RPS" -v l="$LOCAL_RPS" -v r="$REDIS_RPS" -v np="$NONE_P99" -v rp="$REDIS_P99" \
    -v lp="$LOCAL_P99" 'BEGIN {
      printf "- local store vs no limit: requests/s %+.1f%% (goal: a loss under 5%%), p99 %+.3f ms\n",
        (l / n - 1) * 100, lp - np
      printf "- Redis store vs no limit: p99 %+.3f ms (goal: under +1 ms), requests/s %+.1f%%\n",
        rp - np, (r / n - 1) * 100 }'
  # Paired by round (a round's targets ran back to back, under the same background load):
  # the median of the per-round differences is steadier than the difference of medians.
  awk '$2 == "none" {n[$1] = $3; np[$1] = $5} $2 == "local" {l[$1] = $3}
    $2 == "redis" {rp[$1] = $5}
    END { for (r in n) { print (l[r] / n[r] - 1) * 100, rp[r] - np[r] } }' "$ROWS" >"$TMP/paired"
  echo "- paired by round (median of the per-round differences): local store requests/s" \
    "$(cut -d' ' -f1 "$TMP/paired" | sort -g | awk '{v[NR] = $1} END {
      printf "%+.1f%%", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')," \
    "Redis store p99 $(cut -d' ' -f2 "$TMP/paired" | sort -g | awk '{v[NR] = $1} END {
      printf "%+.3f ms", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
  echo "- decisions during the runs: local $LOCAL_ALLOWED allowed, $LOCAL_LIMITED limited;" \
    "Redis $REDIS_ALLOWED allowed, $REDIS_LIMITED limited, $REDIS_ERRORS errors (on_error)"
  if awk '$7 != 0 || $8 != 0 {bad = 1} END {exit !bad}' "$ROWS" || [ "$REDIS_ERRORS" != 0 ]; then
    echo
    echo "**Warning:** some runs had non-2xx responses, socket errors or Redis errors:" \
      "their numbers are suspect."
  fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT"
