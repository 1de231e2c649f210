#!/usr/bin/env bash
# Runs a preset's test suite and prints what a person wants to read: the
# failures (each with its output: the presets set outputOnFailure) and the
# summary. The full ctest output goes to build/<preset>/test.log, whose path
# is printed. On a terminal a progress counter stands in for the 2,500 lines
# of passing tests. The exit status is ctest's.
# Usage: scripts/ctest.sh PRESET [ctest arguments...]
set -uo pipefail
preset=${1:?usage: scripts/ctest.sh PRESET [ctest arguments]}
shift
cd "$(dirname "$0")/.."
log="build/$preset/test.log"
mkdir -p "build/$preset"
tty=0
[ -t 1 ] && tty=1

echo "ctest --preset $preset $* (full log: $log)"
ctest --preset "$preset" "$@" 2>&1 | tee "$log" | awk -v tty="$tty" '
  function clear() { if (shown) { printf "\r\033[K"; shown = 0 } }
  function show(line) { clear(); print line; fflush() }
  /^ *Start +[0-9]+: / { next }                       # one per test: noise
  /^Test project / { next }
  /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: .* Passed +[0-9.]+ sec$/ {
    if (tty) { split($1, nm, "/"); printf "\r  %d/%d tests done", nm[1], nm[2]; shown = 1; fflush() }
    next
  }
  BEGIN { blank = 1 }                                # no leading blank line
  /^$/ { if (!blank) show(""); blank = 1; next }
  { blank = 0; show($0) }
  END { clear() }
'
status=${PIPESTATUS[0]}
echo "full log: $log"
exit "$status"
