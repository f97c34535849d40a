# Shared by the bench scripts (source it, do not run it): logging, process
# bookkeeping with a cleanup that stops exactly what the script started, and
# free loopback ports. The caller sets TMP_PREFIX before sourcing.

log() { echo "bench: $*" >&2; }
# kill -0 also succeeds on a zombie, which an exited child of ours stays until it is waited for.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}
die() {
  log "error: $*"
  exit 1
}

TMP=$(mktemp -d "/tmp/${TMP_PREFIX:-edgegate-bench}.XXXXXX")
PIDS=()
declare -A NAMES
CLEAN=()  # files outside $TMP that the run created
cleanup() {
  local status=$?
  # Children first by the pids we started (never by name): nginx's master stops its worker.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    # A crash on SIGTERM is a bug of that program worth knowing about, not of this run.
    [ $rc -eq 0 ] || log "warning: ${NAMES[$pid]:-pid $pid} exited with status $rc on SIGTERM"
  done
  if [ "${KEEP_TMP:-0}" = 1 ] || [ $status -ne 0 ]; then log "logs and configs kept in $TMP"
  else rm -rf "$TMP" "${CLEAN[@]}"; fi
  exit $status
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

# N distinct free loopback ports: hold all N sockets bound at once so they differ.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

CLK_TCK=$(getconf CLK_TCK)

# Waits until URL answers 200 with the origin's 1 KiB body and X-Origin header: proves the whole
# path works before it is measured (a 421 or 502 at 100k req/s would look like a fast proxy).
# More curl options (e.g. --cacert) may follow the pid.
wait_ready() {
  local name=$1 url=$2 pid=$3 deadline=$((SECONDS + 15)) got=""
  shift 3
  while ((SECONDS < deadline)); do
    alive "$pid" || die "$name exited at start; see $TMP/$name.log"
    got=$(curl -s "$@" -D "$TMP/$name.headers" -o "$TMP/$name.body" \
      -w '%{http_code} %{size_download}' --max-time 2 "$url" || true)
    if [ "$got" = "200 1024" ] && grep -qi '^X-Origin: bench' "$TMP/$name.headers"; then return; fi
    sleep 0.2
  done
  die "$name did not answer 200 with the origin's body on $url (last: '$got'); see $TMP/$name.log"
}

# utime + stime in clock ticks of all the given processes (all their threads).
cpu_ticks() {
  local total=0 pid stat
  for pid in "$@"; do
    # nginx's cache loader exits once the cache is loaded: a process that is gone counts 0.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    # Field 2 (comm) may hold spaces: cut up to its ')' so that utime/stime are fields 12 and 13.
    total=$((total + $(sed 's/^.*) //' <<<"$stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# The origin (ORIGIN_BIN): one thread, like the proxies' one worker. Sets ORIGIN_PID, ORIGIN_PORT.
start_origin() {
  "$ORIGIN_BIN" --listen 127.0.0.1:0 --threads 1 --name bench >"$TMP/origin.out" \
    2>"$TMP/origin.log" &
  ORIGIN_PID=$!
  PIDS+=("$ORIGIN_PID")
  NAMES[$ORIGIN_PID]=edgegate-origin
  for _ in $(seq 100); do grep -q '^listening' "$TMP/origin.out" && break; sleep 0.05; done
  ORIGIN_PORT=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/origin.out" | head -1)
  [ -n "$ORIGIN_PORT" ] || die "the origin did not start; see $TMP/origin.log"
  wait_ready origin "http://127.0.0.1:$ORIGIN_PORT/" "$ORIGIN_PID"
}

# wrk's latencies come as 727.00us, 2.53ms, 1.02s or 1.50m: all to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000;
    else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# Median of column $3 over the rows of file $1 whose column 2 is $2 ("-" when there is none).
median_of() {
  awk -v t="$2" -v c="$3" '$2 == t && $c != "-" {print $c}' "$1" | sort -g |
    awk '{v[NR] = $1} END {
      if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
      else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "low high": a 95% confidence interval of the median of column $2 of file $1, from
# order statistics (distribution-free: the k-th smallest and k-th largest value, k the largest
# with P(Binomial(n, 1/2) < k) <= 2.5%); "- -" with fewer than 6 rounds.
median_ci() {
  awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {
    n = NR; if (n < 6) { print "- -"; exit }
    k = 0; cum = 0; p = 0.5 ^ n
    for (j = 0; j < n; ++j) { cum += p; if (cum > 0.025) break; k = j + 1; p = p * (n - j) / (j + 1) }
    if (k < 1) k = 1
    printf "%.3f %.3f\n", v[k], v[n - k + 1] }'
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-";
    else printf "%.2f", a / b }'
}

# The "Machine" lines of a report: when ($STARTED), which commit, the CPU and the load
# ($LOAD_BEFORE, $LOAD_AFTER) the numbers were taken under.
machine_info() {
  echo "- started $STARTED; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(
    git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- nproc: $(nproc); kernel: $(uname -r)"
  echo "- CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "- load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER"
}
