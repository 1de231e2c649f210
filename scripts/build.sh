#!/usr/bin/env bash
# Builds targets of a configured preset quietly: one line saying what is
# built (a progress counter on it when stdout is a terminal), the whole make
# output in build/<preset>/build.log, and on failure the log's errors.
# Usage: scripts/build.sh PRESET JOBS TARGET...
set -uo pipefail
preset=${1:?usage: scripts/build.sh PRESET JOBS TARGET...}
jobs=${2:?}
shift 2
cd "$(dirname "$0")/.."
log="build/$preset/build.log"
tty=0
[ -t 1 ] && tty=1
printf 'building %s (%s; log: %s)' "$*" "$preset" "$log"
[ "$tty" = 1 ] || echo
cmake --build --preset "$preset" -j "$jobs" --target "$@" >"$log" 2>&1 &
pid=$!
if [ "$tty" = 1 ]; then
  while kill -0 "$pid" 2>/dev/null; do
    pct=$(grep -o '^\[ *[0-9]*%\]' "$log" 2>/dev/null | tail -1)
    printf '\r\033[Kbuilding %s %s' "$*" "$pct"
    sleep 1
  done
fi
wait "$pid"
status=$?
[ "$tty" = 1 ] && printf '\r\033[K' && [ "$status" -eq 0 ] && echo "built $* ($preset)"
if [ "$status" -ne 0 ]; then
  [ "$tty" = 1 ] && echo "building $* failed"
  grep -E -B2 -A6 'error|Error' "$log" | head -80
  echo "build failed (status $status); full log: $log"
fi
exit "$status"
