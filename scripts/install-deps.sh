#!/usr/bin/env bash
# Installs the Debian 12 packages edgegate builds and tests with.
# Idempotent: prints nothing and touches nothing when every package is present.
set -euo pipefail

# `install-deps.sh --build`: only what building the binaries needs (docker/Dockerfile).
BUILD_PACKAGES=(
  build-essential cmake pkg-config
  libevent-dev libssl-dev libnghttp2-dev libhiredis-dev libyaml-cpp-dev
  prometheus-cpp-dev nlohmann-json3-dev libxxhash-dev
  libgtest-dev libgmock-dev python3
)
PACKAGES=(
  "${BUILD_PACKAGES[@]}" git
  clang libclang-rt-14-dev clang-format
  curl wrk nghttp2-client redis-server nginx-light haproxy openssl python3 procps prometheus chromium
  testssl.sh
)
if [ "${1:-}" = "--build" ]; then PACKAGES=("${BUILD_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The distribution's nginx and redis services are not ours: tests and benchmarks
# start their own instances on free loopback ports.
for svc in nginx redis-server haproxy prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
