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
  else rm -rf "$TMP"; fi
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
