#!/usr/bin/env bash
# HTTP/1.1 keep-alive benchmark: wrk against the origin directly, through edgegate and through
# nginx, in alternation, on loopback. Reports requests/s, p50/p99 latency and each proxy's CPU
# time per request, and writes bench/results/YYYY-MM-DD-HHMM-http1-keepalive.md.
# See bench/README.md for how to read the numbers.
#
# Environment (all optional):
#   DURATION=10s CONNECTIONS=50 ROUNDS=3 WRK_THREADS=1 WARMUP=2s
#   TARGETS="origin edgegate nginx"   which targets to run, in this order each round (the order is
#                      reversed every other round); besides origin, edgegate and nginx:
#                      edgegate-log   the same edgegate with its access log written to a file
#                      edgegate-bare  the same edgegate with request metrics off (access log off)
#                      edgegate-twin  a second edgegate process with edgegate's config (A/A)
#                      nginx-log      the same nginx with a JSON access log to a file
#   EDGEGATE_BIN=build/edgegate ORIGIN_BIN=build/edgegate-origin NGINX_BIN=nginx
#   RESULTS_DIR=bench/results KEEP_TMP=1 (keep configs and logs of the run)
#   PACE_MS=0          each connection waits this long after every response (wrk's delay()): the
#                      same request rate for every target, below saturation, so that CPU per
#                      request compares work done rather than how well requests batch
#   LOG_DIR=/dev/shm   where edgegate-log writes its access log (default: the run's /tmp dir;
#                      a tmpfs leaves out the disk's write-back)
#   EDGEGATE_CONF_IN=bench/edgegate.yaml.in NGINX_CONF_IN=bench/nginx.conf.in SCENARIO=http1-keepalive
#   (other scenarios, such as bench/cache.sh, run the same measurement with other configs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
ROUNDS=${ROUNDS:-3}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-2s}
TARGETS=${TARGETS:-origin edgegate nginx edgegate-bare edgegate-log}
EDGEGATE_BIN=${EDGEGATE_BIN:-build/edgegate}
ORIGIN_BIN=${ORIGIN_BIN:-build/edgegate-origin}
NGINX_BIN=${NGINX_BIN:-nginx}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
EDGEGATE_CONF_IN=${EDGEGATE_CONF_IN:-bench/edgegate.yaml.in}
NGINX_CONF_IN=${NGINX_CONF_IN:-bench/nginx.conf.in}
SCENARIO=${SCENARIO:-http1-keepalive}
PACE_MS=${PACE_MS:-0}
COMMAND="DURATION=$DURATION CONNECTIONS=$CONNECTIONS ROUNDS=$ROUNDS WRK_THREADS=$WRK_THREADS"
COMMAND+=" TARGETS=\"$TARGETS\"${LOG_DIR:+ LOG_DIR=$LOG_DIR}"
[ "$PACE_MS" = 0 ] || COMMAND+=" PACE_MS=$PACE_MS"
COMMAND+=" ${COMMAND_NAME:-bench/run.sh}"

TMP_PREFIX=edgegate-bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in wrk curl python3 awk; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
[ -x "$ORIGIN_BIN" ] || die "$ORIGIN_BIN not found; build it: cmake -S . -B build &&" \
  "cmake --build build --target edgegate-origin"
# Any of edgegate, edgegate-log, edgegate-bare, edgegate-twin: they all run EDGEGATE_BIN.
edgegate_targets() {
  local re=' edgegate(-log|-bare|-twin)? '
  [[ " $TARGETS " =~ $re ]]
}
if edgegate_targets && [ ! -x "$EDGEGATE_BIN" ]; then
  # The gateway may not be built yet: measure the rest rather than nothing, and say so.
  log "warning: $EDGEGATE_BIN not found: edgegate is skipped (set EDGEGATE_BIN or build it)"
  TARGETS=$(echo "$TARGETS" | sed 's/\bedgegate\(-log\|-bare\|-twin\)\?\b//g')
fi
if [[ " $TARGETS " == *" nginx"* ]]; then
  NGINX_BIN=$(command -v "$NGINX_BIN") || die "nginx not found (apt-get install nginx-light)"
fi

read -r EDGEGATE_PORT ADMIN_PORT NGINX_PORT LOG_PORT LOG_ADMIN_PORT BARE_PORT BARE_ADMIN_PORT \
  NGINX_LOG_PORT TWIN_PORT TWIN_ADMIN_PORT < <(free_ports 10)
start_origin

render() {
  sed -e "s|@TMP@|$TMP|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
    -e "s|@EDGEGATE_PORT@|$EDGEGATE_PORT|g" -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" \
    -e "s|@USER_LINE@|$USER_LINE|g" "$1"
}
# nginx drops its workers to 'nobody' when the master is root; they could not use the private
# temporary directory, and edgegate runs as the same user anyway.
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"

declare -A URL PROXY_PIDS
URL[origin]="http://127.0.0.1:$ORIGIN_PORT/"
PROXY_PIDS[origin]=""
# wrk -v exits 1.
VERSIONS="- wrk: $({ wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')"

if [[ " $TARGETS " == *" edgegate "* ]]; then
  render "$EDGEGATE_CONF_IN" >"$TMP/edgegate.yaml"
  "$EDGEGATE_BIN" -t -c "$TMP/edgegate.yaml" >"$TMP/edgegate-check.log" 2>&1 ||
    die "edgegate -t refused $EDGEGATE_CONF_IN: $(cat "$TMP/edgegate-check.log")"
  "$EDGEGATE_BIN" -c "$TMP/edgegate.yaml" >"$TMP/edgegate.log" 2>&1 &
  PIDS+=($!)
  NAMES[$!]=edgegate
  PROXY_PIDS[edgegate]=$!
  URL[edgegate]="http://127.0.0.1:$EDGEGATE_PORT/"
  wait_ready edgegate "${URL[edgegate]}" "${PROXY_PIDS[edgegate]}"
fi
# The binary's path and build time: the commit above is the checkout's, and EDGEGATE_BIN may
# have been built from another.
if edgegate_targets; then
  VERSIONS+=$'\n'"- edgegate: $("$EDGEGATE_BIN" --version 2>&1 | head -1)"
  VERSIONS+=" ($EDGEGATE_BIN, built $(date -u -r "$EDGEGATE_BIN" '+%F %T UTC'))"
fi

# Starts target $1, the rendered edgegate config with the sed expressions $4... applied, on port
# $2 and admin port $3.
start_variant() {
  local name=$1 port=$2 admin=$3
  shift 3
  render "$EDGEGATE_CONF_IN" | sed -e "s|127.0.0.1:$EDGEGATE_PORT|127.0.0.1:$port|" \
    -e "s|127.0.0.1:$ADMIN_PORT|127.0.0.1:$admin|" "$@" >"$TMP/$name.yaml"
  "$EDGEGATE_BIN" -c "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES[$!]=$name
  PROXY_PIDS[$name]=$!
  URL[$name]="http://127.0.0.1:$port/"
  wait_ready "$name" "${URL[$name]}" "${PROXY_PIDS[$name]}"
}

# edgegate-log: the same edgegate with its access log written to a file (the cost of the log
# line and its writer thread; request metrics on, as in edgegate).
if [[ " $TARGETS " == *" edgegate-log "* ]]; then
  ACCESS_LOG=$TMP/access.log
  if [ -n "${LOG_DIR:-}" ]; then
    ACCESS_LOG=$(mktemp -p "$LOG_DIR" edgegate-bench-access.XXXXXX)
    CLEAN+=("$ACCESS_LOG")
  fi
  start_variant edgegate-log "$LOG_PORT" "$LOG_ADMIN_PORT" -e "s|^    path: off|    path: $ACCESS_LOG|"
  grep -q "path: $ACCESS_LOG" "$TMP/edgegate-log.yaml" || die "edgegate-log: no access_log path"
fi

# edgegate-bare: the same edgegate with request metrics off too: against edgegate-log, the
# whole cost of the observability work per request.
if [[ " $TARGETS " == *" edgegate-bare "* ]]; then
  start_variant edgegate-bare "$BARE_PORT" "$BARE_ADMIN_PORT" \
    -e "s|^  access_log:|  request_metrics: false\n  access_log:|"
  grep -q "request_metrics: false" "$TMP/edgegate-bare.yaml" || die "edgegate-bare: no switch"
fi

# edgegate-twin: a second process with edgegate's own config. Against edgegate it shows how far
# two processes that differ in nothing come apart in a run (an A/A comparison): the noise floor
# of the on / off pairs, which also compare two processes.
if [[ " $TARGETS " == *" edgegate-twin "* ]]; then
  start_variant edgegate-twin "$TWIN_PORT" "$TWIN_ADMIN_PORT"
fi

# Starts nginx as target $1 on port $2 from the rendered nginx config with the sed expressions
# $3... applied; its CPU is its master's plus its workers' (looked up once it runs).
start_nginx() {
  local name=$1 port=$2 pid
  shift 2
  render "$NGINX_CONF_IN" | sed -e "s|127.0.0.1:$NGINX_PORT|127.0.0.1:$port|" \
    -e "s|$TMP/nginx.pid|$TMP/$name.pid|" -e "s|$TMP/nginx-error.log|$TMP/$name-error.log|" \
    "$@" >"$TMP/$name.conf"
  "$NGINX_BIN" -p "$TMP" -e "$TMP/$name-error.log" -c "$TMP/$name.conf" >"$TMP/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  NAMES[$pid]=$name
  URL[$name]="http://127.0.0.1:$port/"
  wait_ready "$name" "${URL[$name]}" "$pid"
  PROXY_PIDS[$name]="$pid $(ps -o pid= --ppid "$pid" | tr '\n' ' ')"
}

if [[ " $TARGETS " == *" nginx "* ]]; then
  start_nginx nginx "$NGINX_PORT"
  VERSIONS+=$'\n'"- nginx: $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')"
fi

# nginx-log: the same nginx writing a JSON access log with the fields of edgegate's (no
# redaction) to a file, buffered like edgegate's (64 KiB, flushed after 100 ms): what an
# access log costs nginx in the same harness.
if [[ " $TARGETS " == *" nginx-log "* ]]; then
  NGINX_LOG=$TMP/nginx-access.log
  if [ -n "${LOG_DIR:-}" ]; then
    NGINX_LOG=$(mktemp -p "$LOG_DIR" nginx-bench-access.XXXXXX)
    CLEAN+=("$NGINX_LOG")
  fi
  fmt='{"ts":"$time_iso8601","request_id":"$request_id","client_ip":"$remote_addr",'
  fmt+='"method":"$request_method","host":"$host","path":"$request_uri","status":$status,'
  fmt+='"bytes":$body_bytes_sent,"duration_ms":$request_time,"site":"bench","route":"default",'
  fmt+='"upstream":"origin","upstream_ms":$upstream_header_time,"cache":null,"ratelimit":null,'
  fmt+='"protocol":"$server_protocol"}'
  start_nginx nginx-log "$NGINX_LOG_PORT" -e "s|^  access_log off;.*|  log_format edge \
escape=json '$fmt';\n  access_log $NGINX_LOG edge buffer=64k flush=100ms;|"
  grep -q "access_log $NGINX_LOG" "$TMP/nginx-log.conf" || die "nginx-log: no access_log"
fi

ROWS="$TMP/rows"
: >"$ROWS"
# PACE_MS: wrk calls delay() after every response.
WRK_SCRIPT=()
if [ "$PACE_MS" != 0 ]; then
  echo "delay = function() return $PACE_MS end" >"$TMP/pace.lua"
  WRK_SCRIPT=(-s "$TMP/pace.lua")
fi
# TCP connections the origin has accepted so far (its /stats; this query's own included).
origin_conns() {
  curl -s --max-time 2 "http://127.0.0.1:$ORIGIN_PORT/stats" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["connections_accepted"])'
}

# The access log writer thread of edgegate-log, as a "pid" for cpu_ticks (/proc/PID/task/TID).
LOG_WRITER=""
if [[ " $TARGETS " == *" edgegate-log "* ]]; then
  tid=$(grep -lx edgegate-alog /proc/"${PROXY_PIDS[edgegate-log]}"/task/*/comm | head -1 |
    awk -F/ '{print $5}')
  [ -n "$tid" ] && LOG_WRITER="${PROXY_PIDS[edgegate-log]}/task/$tid"
fi

# CPU µs per request: ticks $1 over $2 requests.
per_request() {
  awk -v d="$1" -v t="$CLK_TCK" -v r="$2" 'BEGIN { printf "%.2f", d * 1e6 / t / r }'
}

# One wrk run; appends to $ROWS "round target rps p50_ms p99_ms proxy_cpu_us origin_cpu_us
# non2xx errors origin_conns writer_cpu_us" (the last: edgegate-log's access log writer thread,
# included in proxy_cpu_us; "-" for the other targets).
run_one() {
  local round=$1 target=$2 duration=$3 out="$TMP/wrk-$1-$2.txt"
  local pids=${PROXY_PIDS[$target]} writer=""
  local p0 o0 p1 o1 c0 c1 w0=0 w1=0
  [ "$target" = edgegate-log ] && writer=$LOG_WRITER
  c0=$(origin_conns)
  # shellcheck disable=SC2086  # pids is a list
  p0=$(cpu_ticks $pids)
  o0=$(cpu_ticks "$ORIGIN_PID")
  [ -z "$writer" ] || w0=$(cpu_ticks "$writer")
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$duration" --latency "${WRK_SCRIPT[@]}" \
    "${URL[$target]}" >"$out" 2>&1 ||
    die "wrk failed against $target: $(cat "$out")"
  # shellcheck disable=SC2086
  p1=$(cpu_ticks $pids)
  o1=$(cpu_ticks "$ORIGIN_PID")
  [ -z "$writer" ] || w1=$(cpu_ticks "$writer")
  # New origin connections during the run, less the /stats query's: about 0 for a proxy whose
  # pool is warm, CONNECTIONS for the direct runs.
  c1=$(($(origin_conns) - c0 - 1))
  [ "$round" = warmup ] && return
  local requests rps p50 p99 non2xx errors
  requests=$(awk '/ requests in / {print $1}' "$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
  [ -n "$requests" ] && [ "$requests" -gt 0 ] || die "no requests completed against $target: $out"
  local pcpu="-" ocpu wcpu="-"
  [ -n "$pids" ] && pcpu=$(per_request $((p1 - p0)) "$requests")
  ocpu=$(per_request $((o1 - o0)) "$requests")
  [ -z "$writer" ] || wcpu=$(per_request $((w1 - w0)) "$requests")
  echo "$round $target $rps $p50 $p99 $pcpu $ocpu ${non2xx:-0} ${errors:-0} $c1 $wcpu" >>"$ROWS"
  log "round $round $target: $rps req/s, p50 ${p50}ms, p99 ${p99}ms, proxy ${pcpu}us/req," \
    "origin ${ocpu}us/req, non-2xx ${non2xx:-0}, socket errors ${errors:-0}," \
    "new origin connections $c1${writer:+, log writer ${wcpu}us/req}"
}

# Every other round runs the targets in reverse order, so that no target always runs right
# after the same neighbour (the machine's state drifts within a round); neighbours in TARGETS
# stay next to each other.
round_order() {
  if (($1 % 2 == 1)); then
    echo "$TARGETS"
  else
    echo "$TARGETS" | awk '{for (i = NF; i > 0; --i) printf "%s%s", $i, (i > 1 ? " " : "\n")}'
  fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date '+%Y-%m-%d %H:%M:%S %Z')
# A short unrecorded run per target fills the upstream pools and warms caches.
for target in $TARGETS; do run_one warmup "$target" "$WARMUP"; done
# Alternation spreads the machine's background noise over all targets alike.
for round in $(seq "$ROUNDS"); do
  for target in $(round_order "$round"); do run_one "$round" "$target" "$DURATION"; done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
median() { median_of "$ROWS" "$1" "$2"; }
# Per round: "round pair rps_ratio cpu_ratio cpu_diff writer_cpu" of target $2 against target $1
# (column 2 is the constant "pair" so that median_of can read the file).
pairs() {
  awk -v off="$1" -v on="$2" '$2 == off {rps[$1] = $3; cpu[$1] = $6}
    $2 == on {lrps[$1] = $3; lcpu[$1] = $6; w[$1] = $11}
    END { for (r = 1; r in rps; ++r) if (r in lrps && rps[r] > 0 && cpu[r] > 0)
      printf "%s pair %.4f %.4f %.3f %s\n", r, lrps[r] / rps[r], lcpu[r] / cpu[r],
        lcpu[r] - cpu[r], w[r] }' "$ROWS"
}

# The report section of target $2 (on) against target $1 (off); $3: title, $4: what differs.
pair_section() {
  local off=$1 on=$2 file="$TMP/pairs-$1-$2"
  pairs "$off" "$on" >"$file"
  echo
  echo "## $3"
  echo
  echo "$4"
  echo "Both run in every round (the order of the targets reversed every other round); a ratio"
  echo "within a round is less exposed to the machine's drift than a ratio of medians."
  echo
  echo "| round | req/s $on / $off | CPU µs/req $on / $off | CPU µs/req $on - $off |" \
    "log writer CPU µs/req |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  awk '{printf "| %s | %.3f | %.3f | %+.2f | %s |\n", $1, $3, $4, $5, $6}' "$file"
  echo
  echo "Medians of the per-round figures (95% confidence interval of the median in brackets):"
  echo
  echo "- requests/s $on / $off: **$(median_of "$file" pair 3)** [$(median_ci "$file" 3)]"
  local writer
  writer=$(median_of "$file" pair 6)
  echo "- CPU per request $on / $off: **$(median_of "$file" pair 4)** [$(median_ci "$file" 4)]" \
    "($(median_of "$file" pair 5) µs more per request$([ "$writer" = - ] ||
      echo ", $writer µs of it on the access log's writer thread"))"
}

STAMP=$(date '+%Y-%m-%d-%H%M')
mkdir -p "$RESULTS_DIR"
# The default scenario keeps the plain name; another connection count is told in the name.
SUFFIX=""
[ "$CONNECTIONS" = 50 ] || SUFFIX="-c$CONNECTIONS"
[ "$PACE_MS" = 0 ] || SUFFIX+="-paced${PACE_MS}ms"
REPORT="$RESULTS_DIR/$STAMP-$SCENARIO$SUFFIX.md"
{
  echo "# ${TITLE:-HTTP/1.1 keep-alive: origin direct, edgegate, nginx} ($STAMP)"
  echo
  echo "Command: \`$COMMAND\`"
  echo
  echo "Each run: \`wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency URL\` on 127.0.0.1,"
  echo "$ROUNDS rounds of [$TARGETS] in alternation after a $WARMUP warm-up of each."
  echo "Origin: \`edgegate-origin --threads 1\`, \`GET /\` answers a 1 KiB text/plain body."
  echo "Proxies: 1 worker, keep-alive 64 to the origin, no access log"
  echo "(\`$EDGEGATE_CONF_IN\`, \`$NGINX_CONF_IN\`); edgegate-log: the same edgegate with"
  echo "\`access_log.path\` set to a file (in ${LOG_DIR:-a temporary directory under /tmp});"
  echo "edgegate-bare: the same edgegate with \`server.request_metrics: false\` (and no access log)."
  [ "$PACE_MS" = 0 ] || echo "Paced: each connection waits ${PACE_MS} ms after every response" \
    "(wrk's \`delay()\`), so every target gets about the same request rate."
  [ -z "${NOTE:-}" ] || { echo; echo "$NOTE"; }
  echo
  echo "## Machine"
  echo
  machine_info
  echo "$VERSIONS"
  echo
  echo "## Runs"
  echo
  echo "| round | target | req/s | p50 ms | p99 ms | proxy CPU µs/req | origin CPU µs/req |" \
    "non-2xx | socket errors | new origin conns | log writer CPU µs/req |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5,
    $6, $7, $8, $9, $10, $11}' "$ROWS"
  echo
  echo "## Summary (medians over $ROUNDS rounds)"
  echo
  echo "| target | req/s | p50 ms | p99 ms | proxy CPU µs/req |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for target in $TARGETS; do
    echo "| $target | $(median "$target" 3) | $(median "$target" 4) | $(median "$target" 5) |" \
      "$(median "$target" 6) |"
  done
  if [[ " $TARGETS " == *" edgegate "* && " $TARGETS " == *" nginx "* ]]; then
    echo
    echo "edgegate / nginx (below 1.00 means edgegate is better, except for req/s):"
    echo
    echo "- CPU per request: **$(ratio "$(median edgegate 6)" "$(median nginx 6)")**"
    echo "- p99 latency: **$(ratio "$(median edgegate 5)" "$(median nginx 5)")**"
    echo "- p50 latency: $(ratio "$(median edgegate 4)" "$(median nginx 4)")"
    echo "- requests/s: $(ratio "$(median edgegate 3)" "$(median nginx 3)")"
  else
    echo
    echo "edgegate was not run (binary missing or not in TARGETS): no edgegate / nginx ratios."
  fi
  if [[ " $TARGETS " == *" edgegate-bare "* && " $TARGETS " == *" edgegate-log "* ]]; then
    pair_section edgegate-bare edgegate-log \
      "Metrics and access log on (edgegate-log) / off (edgegate-bare)" \
      "edgegate-log counts and times every request and writes its access log line to a file;
edgegate-bare does neither (\`request_metrics: false\`, \`access_log.path: off\`)."
  fi
  if [[ " $TARGETS " == *" edgegate "* && " $TARGETS " == *" edgegate-log "* ]]; then
    pair_section edgegate edgegate-log "Access log to a file (edgegate-log) / off (edgegate)" \
      "Both count and time every request, so the difference is the access log's: the worker
formatting its line, the writer thread writing it."
  fi
  if [[ " $TARGETS " == *" edgegate "* && " $TARGETS " == *" edgegate-twin "* ]]; then
    pair_section edgegate edgegate-twin "Two identical processes: edgegate-twin / edgegate" \
      "edgegate-twin runs edgegate's config in a process of its own: any difference between the
two is the noise floor of an on / off comparison between two processes."
  fi
  if [[ " $TARGETS " == *" nginx "* && " $TARGETS " == *" nginx-log "* ]]; then
    pair_section nginx nginx-log "nginx: access log to a file (nginx-log) / off (nginx)" \
      "nginx-log writes a JSON line with edgegate's fields (\`escape=json\`, no redaction) through a
64 KiB buffer flushed after 100 ms; nginx has \`access_log off\`."
  fi
  if [[ " $TARGETS " == *" edgegate-log "* ]]; then
    echo
    echo "Access log lines written: $(wc -l <"$ACCESS_LOG" 2>/dev/null || echo 0);" \
      "dropped: $(curl -s --max-time 2 "http://127.0.0.1:$LOG_ADMIN_PORT/metrics" |
        awk '$1 == "edgegate_access_log_dropped_total" {print $2}')."
  fi
  if awk '$8 != 0 || $9 != 0 {bad = 1} END {exit !bad}' "$ROWS"; then
    echo
    echo "**Warning:** some runs had non-2xx responses or socket errors: their numbers are suspect."
  fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT"
