#!/usr/bin/env bash
# Cache hits: wrk against edgegate (bench/edgegate-cache.yaml.in) and nginx with proxy_cache
# (bench/nginx-cache.conf.in), the same 1 KiB object, in alternating rounds. The measurement is
# bench/run.sh's (requests/s, p50/p99, CPU µs per request from /proc); the report goes to
# bench/results/YYYY-MM-DD-HHMM-cache-hit.md. The "origin CPU µs/req" column shows that the
# origin is (almost) never asked: every measured request is a hit.
#
# Environment: as bench/run.sh (DURATION, CONNECTIONS, ROUNDS, WRK_THREADS, WARMUP, TARGETS,
# EDGEGATE_BIN, ORIGIN_BIN, NGINX_BIN, RESULTS_DIR, KEEP_TMP).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TARGETS=${TARGETS:-edgegate nginx}
export EDGEGATE_CONF_IN=bench/edgegate-cache.yaml.in
export NGINX_CONF_IN=bench/nginx-cache.conf.in
export SCENARIO=cache-hit
export COMMAND_NAME=bench/cache.sh
export TITLE="Cache hits: edgegate vs nginx proxy_cache"
export NOTE="Both proxies cache GET / for 1 h; the warm-up run fills the cache, so every measured request is a hit (edgegate: Cache-Status hit; nginx: \$upstream_cache_status HIT)."
exec "$ROOT/bench/run.sh" "$@"
