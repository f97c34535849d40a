#!/usr/bin/env bash
# Installs what is missing, builds edgegate, and runs it with
# conf/examples/demo.yaml in front of two instances of the bundled origin.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
echo "building edgegate in $BUILD/ (the first build takes a few minutes)..."
LOG=$(mktemp)
if ! bash scripts/build.sh "$BUILD" >"$LOG" 2>&1; then
  cat "$LOG"
  echo "demo: the build failed (log above)" >&2
  exit 1
fi
rm -f "$LOG"

# The preferred port if it is free, else one the kernel picks.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
export EDGEGATE_HTTP_PORT=${EDGEGATE_HTTP_PORT:-$(free_port 8080)}
export EDGEGATE_HTTPS_PORT=${EDGEGATE_HTTPS_PORT:-$(free_port 8443)}
export EDGEGATE_ADMIN_PORT=${EDGEGATE_ADMIN_PORT:-$(free_port 9901)}
PORT_A=$(free_port 3000)
PORT_B=$(free_port 3001)
export ORIGIN_A=127.0.0.1:$PORT_A ORIGIN_B=127.0.0.1:$PORT_B

# A self-signed certificate for the HTTPS listener, made on the first run (and again
# when it is about to expire) in demo-run/tls/, which git ignores: never commit a key.
export EDGEGATE_TLS_DIR=$ROOT/demo-run/tls
if ! openssl x509 -checkend 86400 -noout -in "$EDGEGATE_TLS_DIR/demo.pem" >/dev/null 2>&1; then
  mkdir -p "$EDGEGATE_TLS_DIR"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$EDGEGATE_TLS_DIR/demo.key" -out "$EDGEGATE_TLS_DIR/demo.pem" -days 90 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,DNS:demo.test,DNS:www.demo.test,IP:127.0.0.1" \
    >/dev/null 2>&1) || { echo "demo: openssl could not make the demo certificate" >&2; exit 1; }
  echo "demo: made a self-signed certificate in $EDGEGATE_TLS_DIR"
fi

RUN=$(mktemp -d /tmp/edgegate-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

"$BUILD/edgegate-origin" --listen "$ORIGIN_A" --name origin-a >"$RUN/origin-a.log" 2>&1 &
pids+=($!)
"$BUILD/edgegate-origin" --listen "$ORIGIN_B" --name origin-b >"$RUN/origin-b.log" 2>&1 &
pids+=($!)

"$BUILD/edgegate" -t -c conf/examples/demo.yaml
"$BUILD/edgegate" -c conf/examples/demo.yaml &
pids+=($!)

for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$EDGEGATE_ADMIN_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

P=$EDGEGATE_HTTP_PORT
S=$EDGEGATE_HTTPS_PORT
A=$EDGEGATE_ADMIN_PORT
cat <<MSG

edgegate is running on http://127.0.0.1:$P and https://localhost:$S (admin on 127.0.0.1:$A),
in front of two demo origins ($ORIGIN_A, $ORIGIN_B). Try:

  curl -i http://127.0.0.1:$P/                       # 1 KiB from an origin (see X-Origin alternate)
  curl -s --cacert demo-run/tls/demo.pem https://localhost:$S/echo   # over TLS: X-Forwarded-Proto: https
  curl --http2 -k -sI https://localhost:$S/          # HTTP/2 by ALPN: "HTTP/2 200"
  curl --http2-prior-knowledge -sI http://127.0.0.1:$P/   # cleartext h2c on the plain listener
  openssl s_client -connect 127.0.0.1:$S -servername demo.test </dev/null | head   # the certificate
  curl -s http://127.0.0.1:$P/echo | python3 -m json.tool   # what the origin received (X-Forwarded-*, X-Request-Id)
  curl -i -H 'Host: unknown.test' http://127.0.0.1:$P/      # 421: no site for that host
  curl -i http://127.0.0.1:$P/delay/200              # a slow origin answer
  curl -i http://127.0.0.1:$P/status/503             # origin errors pass through
  curl -s -o /dev/null -w '%{size_download}\n' http://127.0.0.1:$P/bytes/104857600   # 100 MiB streamed
  curl -s http://127.0.0.1:$A/metrics | grep ^edgegate_requests_total
  curl -s http://127.0.0.1:$A/config | head -20
  wrk -t1 -c32 -d5s http://127.0.0.1:$P/

Reload after editing conf/examples/demo.yaml: kill -HUP \$(pgrep -f 'edgegate -c conf/examples/demo.yaml')
Press Ctrl-C to stop.
MSG
wait
