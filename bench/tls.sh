#!/usr/bin/env bash
# TLS and HTTP/2 benchmark, edgegate vs nginx with the same ECDSA P-256 certificate (made for the
# run, never stored), one worker each, in alternating rounds on loopback:
#   handshake  TLS handshakes per second: wrk with "Connection: close", so every request is a
#              new connection; wrk keeps its TLS session across them (SSL_clear), so most are
#              TLS 1.3 resumptions (ticket + new X25519 exchange, no certificate signature)
#   full       full TLS handshakes per second: FULL_CLIENTS `openssl s_time -new` processes, a
#              new session for every connection (each a certificate signature and key exchange)
#   keepalive  TLS keep-alive requests per second (wrk over HTTPS)
#   h2         HTTP/2 requests per second: h2load, 100 concurrent streams per connection
# Reports rates and each proxy's CPU time per request, and writes
# bench/results/YYYY-MM-DD-HHMM-tls-h2.md.
#
# Environment (all optional):
#   DURATION=10s ROUNDS=3 CONNECTIONS=50 H2_CLIENTS=4 STREAMS=100 FULL_CLIENTS=3
#   SCENARIOS="handshake full keepalive h2"
#   EDGEGATE_BIN=build/edgegate ORIGIN_BIN=build/edgegate-origin NGINX_BIN=nginx
#   RESULTS_DIR=bench/results KEEP_TMP=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
H2_CLIENTS=${H2_CLIENTS:-4}
STREAMS=${STREAMS:-100}
FULL_CLIENTS=${FULL_CLIENTS:-3}
SCENARIOS=${SCENARIOS:-handshake full keepalive h2}
EDGEGATE_BIN=${EDGEGATE_BIN:-build/edgegate}
ORIGIN_BIN=${ORIGIN_BIN:-build/edgegate-origin}
NGINX_BIN=${NGINX_BIN:-nginx}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
COMMAND="DURATION=$DURATION ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS H2_CLIENTS=$H2_CLIENTS"
COMMAND+=" STREAMS=$STREAMS FULL_CLIENTS=$FULL_CLIENTS SCENARIOS=\"$SCENARIOS\" bench/tls.sh"

TMP_PREFIX=edgegate-bench-tls
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for tool in wrk h2load curl openssl python3 awk; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
[ -x "$ORIGIN_BIN" ] || die "$ORIGIN_BIN not found (cmake --build build)"
[ -x "$EDGEGATE_BIN" ] || die "$EDGEGATE_BIN not found (cmake --build build)"
NGINX_BIN=$(command -v "$NGINX_BIN") || die "nginx not found (apt-get install nginx-light)"

read -r EDGEGATE_PORT ADMIN_PORT NGINX_PORT < <(free_ports 3)
start_origin

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$TMP/bench.key" -out "$TMP/bench.pem" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>"$TMP/openssl.log" ||
  die "openssl could not make the certificate: $(cat "$TMP/openssl.log")"

render() {
  sed -e "s|@TMP@|$TMP|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
    -e "s|@EDGEGATE_PORT@|$EDGEGATE_PORT|g" -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" \
    -e "s|@USER_LINE@|$USER_LINE|g" "$1"
}
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"

# The HTTP/1.1 benchmark's configurations with TLS (and h2) on their listener: the same work
# otherwise.
render bench/edgegate.yaml.in | awk -v tmp="$TMP" '
  { print }
  /bind: 127.0.0.1:/ && !done && prev ~ /name: http/ {
    print "    tls:"; print "      certificates:"
    print "        - cert: " tmp "/bench.pem"; print "          key: " tmp "/bench.key"
    print "      alpn: [h2, http/1.1]"; done = 1 }
  { prev = $0 }' >"$TMP/edgegate.yaml"
grep -q "alpn: \[h2" "$TMP/edgegate.yaml" || die "no tls block in $TMP/edgegate.yaml"
render bench/nginx.conf.in | sed \
  -e "s|listen 127.0.0.1:$NGINX_PORT;|listen 127.0.0.1:$NGINX_PORT ssl http2;\n    ssl_certificate $TMP/bench.pem;\n    ssl_certificate_key $TMP/bench.key;\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:bench:10m;|" \
  >"$TMP/nginx.conf"
grep -q "ssl http2" "$TMP/nginx.conf" || die "no ssl listener in $TMP/nginx.conf"

"$EDGEGATE_BIN" -t -c "$TMP/edgegate.yaml" >"$TMP/edgegate-check.log" 2>&1 ||
  die "edgegate -t refused the configuration: $(cat "$TMP/edgegate-check.log")"
"$EDGEGATE_BIN" -c "$TMP/edgegate.yaml" >"$TMP/edgegate.log" 2>&1 &
PIDS+=($!)
NAMES[$!]=edgegate
declare -A URL PROXY_PIDS
PROXY_PIDS[edgegate]=$!
URL[edgegate]="https://localhost:$EDGEGATE_PORT/"
"$NGINX_BIN" -p "$TMP" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" >"$TMP/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
NAMES[$NGINX_PID]=nginx
URL[nginx]="https://localhost:$NGINX_PORT/"
for target in edgegate nginx; do
  wait_ready "$target" "${URL[$target]}" "${PROXY_PIDS[$target]:-$NGINX_PID}" --cacert "$TMP/bench.pem"
  got=$(curl -s --http2 --cacert "$TMP/bench.pem" -o /dev/null -w '%{http_version}' "${URL[$target]}")
  [ "$got" = 2 ] || die "$target does not speak h2 by ALPN (curl saw HTTP/$got)"
done
PROXY_PIDS[nginx]="$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID" | tr '\n' ' ')"
VERSIONS="- wrk: $({ wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')"
VERSIONS+=$'\n'"- h2load: $(h2load --version 2>&1 | head -1)"
VERSIONS+=$'\n'"- edgegate: $("$EDGEGATE_BIN" --version 2>&1 | head -1) ($EDGEGATE_BIN)"
VERSIONS+=$'\n'"- nginx: $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')"
VERSIONS+=$'\n'"- $(openssl version)"

ROWS="$TMP/rows"
: >"$ROWS"
SECS=${DURATION%s}

# One run; appends "round scenario/target rate proxy_cpu_us_per_request errors" to $ROWS.
run_one() {
  local round=$1 scenario=$2 target=$3 duration=$4 out="$TMP/$1-$2-$3.txt"
  local pids=${PROXY_PIDS[$target]} p0 p1 requests rate errors
  # shellcheck disable=SC2086  # pids is a list
  p0=$(cpu_ticks $pids)
  case $scenario in
    handshake | keepalive)
      local extra=()
      [ "$scenario" = handshake ] && extra=(-H "Connection: close")
      wrk -t1 -c"$CONNECTIONS" -d"$duration" "${extra[@]}" "${URL[$target]}" >"$out" 2>&1 ||
        die "wrk failed against $target: $(cat "$out")"
      requests=$(awk '/ requests in / {print $1}' "$out")
      rate=$(awk '/^Requests\/sec:/ {print $2}' "$out")
      errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", "");
        n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
      ;;
    full)
      # s_time sends "GET <path> HTTP/1.0": the path carries a whole HTTP/1.1 request with a
      # Host (the last header soaks up s_time's " HTTP/1.0").
      local port=${URL[$target]##*:} i failed=0 spids=()
      port=${port%/}
      for i in $(seq "$FULL_CLIENTS"); do
        openssl s_time -connect "127.0.0.1:$port" -new -time "${duration%s}" \
          -www $'/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Pad:' >"$out.$i" 2>&1 &
        spids+=($!)
      done
      for i in "${spids[@]}"; do wait "$i" || failed=1; done
      [ "$failed" = 0 ] || die "openssl s_time failed against $target: $(cat "$out".*)"
      requests=$(cat "$out".* | awk '/connections in .* real seconds/ {n += $1} END {print n + 0}')
      rate=$(awk -v n="$requests" -v d="${duration%s}" 'BEGIN {printf "%.2f", n / d}')
      # Every connection must have read the origin's 1 KiB answer.
      errors=$(cat "$out".* | awk '/bytes read per connection/ && $(NF - 4) < 1024 {n++}
        END {print n + 0}')
      ;;
    h2)
      h2load -c"$H2_CLIENTS" -m"$STREAMS" -D"${duration%s}" "${URL[$target]}" >"$out" 2>&1 ||
        die "h2load failed against $target: $(cat "$out")"
      grep -q "Application protocol: h2" "$out" || die "h2load did not speak h2 to $target"
      requests=$(awk '/^requests:/ {print $8}' "$out")
      rate=$(awk '/^finished in/ {print $4}' "$out")
      errors=$(awk '/^requests:/ {print $10 + $12} /^status codes:/ {print $7 + $9}' "$out" |
        awk '{n += $1} END {print n + 0}')
      ;;
  esac
  # shellcheck disable=SC2086
  p1=$(cpu_ticks $pids)
  [ "$round" = warmup ] && return
  [ -n "$requests" ] && [ "$requests" -gt 0 ] || die "no requests completed against $target: $out"
  local pcpu
  pcpu=$(awk -v d=$((p1 - p0)) -v t="$CLK_TCK" -v r="$requests" \
    'BEGIN { printf "%.2f", d * 1e6 / t / r }')
  echo "$round $scenario/$target $rate $pcpu $errors" >>"$ROWS"
  log "round $round $scenario $target: $rate req/s, proxy ${pcpu}us/req, errors $errors"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date '+%Y-%m-%d %H:%M:%S %Z')
for scenario in $SCENARIOS; do
  for target in edgegate nginx; do run_one warmup "$scenario" "$target" 2s; done
done
for round in $(seq "$ROUNDS"); do
  for scenario in $SCENARIOS; do
    for target in edgegate nginx; do run_one "$round" "$scenario" "$target" "$DURATION"; done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

STAMP=$(date '+%Y-%m-%d-%H%M')
mkdir -p "$RESULTS_DIR"
REPORT="$RESULTS_DIR/$STAMP-tls-h2.md"
{
  echo "# TLS handshakes, TLS keep-alive and HTTP/2: edgegate vs nginx ($STAMP)"
  echo
  echo "Command: \`$COMMAND\`"
  echo
  echo "Same ECDSA P-256 certificate, TLS 1.2-1.3, one worker each, keep-alive 64 to"
  echo "\`edgegate-origin --threads 1\` answering \`GET /\` with 1 KiB; $ROUNDS rounds of $SECS s in"
  echo "alternation after a 2 s warm-up of each."
  echo
  echo "- handshake: \`wrk -t1 -c$CONNECTIONS -H 'Connection: close'\`: one request per"
  echo "  connection; wrk keeps its TLS session, so most are TLS 1.3 resumptions (ticket and a"
  echo "  new X25519 exchange, no certificate signature); req/s = handshakes/s"
  echo "- full: $FULL_CLIENTS \`openssl s_time -new\` processes: a new session for every"
  echo "  connection, each a full handshake; req/s = full handshakes/s, bound by the clients'"
  echo "  own CPU on these cores: compare the CPU per handshake"
  echo "- keepalive: \`wrk -t1 -c$CONNECTIONS\` over HTTPS"
  echo "- h2: \`h2load -c$H2_CLIENTS -m$STREAMS\` (ALPN h2)"
  echo
  echo "## Machine"
  echo
  machine_info
  echo "$VERSIONS"
  echo
  echo "## Runs"
  echo
  echo "| round | scenario/target | req/s | proxy CPU µs/req | errors |"
  echo "| --- | --- | ---: | ---: | ---: |"
  awk '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$ROWS"
  echo
  echo "## Summary (medians over $ROUNDS rounds)"
  echo
  echo "| scenario | edgegate req/s | nginx req/s | req/s ratio | per-round req/s ratio |" \
    "edgegate CPU µs/req | nginx CPU µs/req | CPU ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for scenario in $SCENARIOS; do
    er=$(median_of "$ROWS" "$scenario/edgegate" 3)
    nr=$(median_of "$ROWS" "$scenario/nginx" 3)
    ec=$(median_of "$ROWS" "$scenario/edgegate" 4)
    nc=$(median_of "$ROWS" "$scenario/nginx" 4)
    # edgegate / nginx within each round (the two ran seconds apart), then the median.
    awk -v s="$scenario" '$2 == s "/edgegate" {e[$1] = $3} $2 == s "/nginx" {n[$1] = $3}
      END {for (r in e) if (n[r] > 0) printf "%s ratio %.3f\n", r, e[r] / n[r]}' \
      "$ROWS" >"$TMP/round-ratios"
    pr=$(median_of "$TMP/round-ratios" ratio 3)
    echo "| $scenario | $er | $nr | **$(ratio "$er" "$nr")** | $pr | $ec | $nc |" \
      "$(ratio "$ec" "$nc") |"
  done
  echo
  echo "req/s ratio = edgegate / nginx of the medians (above 1.00: edgegate is faster);"
  echo "per-round req/s ratio = the median of edgegate / nginx taken in each round; CPU ratio"
  echo "below 1.00: edgegate spends less CPU per request."
  if awk '$5 != 0 {bad = 1} END {exit !bad}' "$ROWS"; then
    echo
    echo "**Warning:** some runs had errors or non-2xx responses: their numbers are suspect."
  fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT"
