#!/usr/bin/env bash
# Installs the Debian packages goro needs, and nothing when they are present.
# Usage: scripts/bootstrap.sh [build|bench]
#   build (default): compilers, cmake, GoogleTest/Mock, Google Benchmark, OpenSSL
#   bench:           the above plus Go, golang.org/x/sync and golang.org/x/time
#                    (for the Go twins of the benchmarks; bench/go/go.mod uses
#                    the Debian copies)
set -euo pipefail
want=(cmake make g++ clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev pkg-config)
if [ "${1:-build}" = bench ]; then want+=(golang-go golang-golang-x-sync-dev golang-golang-x-time-dev); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
