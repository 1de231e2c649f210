#!/usr/bin/env bash
# Runs each goro benchmark program and its Go twin in the same invocation and
# prints a markdown report: median per case, goro/Go ratio (lower is better
# for every unit, so a ratio below 1 means goro wins) and geometric means.
#
# Usage: bench/run.sh [-r REPS] [-f FILTER] [-p PROCS] [--no-build] [--strict]
#                     [--crossbeam]
#   -r REPS     runs per program and side (default 5); medians are reported
#   -p PROCS    worker threads on both sides (GORO_MAXPROCS and GOMAXPROCS);
#               default: one per core. For the scaling runs (1, 4 on 2 cores)
#   -f FILTER   extended regex matched against program names
#               (spawn, sleep, chan, chan_threads, rate, breaker, ...);
#               default: all
#   -x EXCLUDE  extended regex of program names to leave out
#   --no-build  skip configuring/building the C++ side; the Go twins are
#               always built (cached, takes a second)
#   --strict    print no table if any run started on a busy machine
#   --crossbeam also run bench/crossbeam (Rust crossbeam-channel between OS
#               threads, the suite of chan_threads under Go's chan/ case
#               names) in the rounds of the chan pair, and add the columns
#               crossbeam and goro/crossbeam to its rows. Built offline
#               (cached) into build/bench-crossbeam/ with cargo against
#               Debian's librust-crossbeam-channel-dev (installed if
#               missing); without cargo, or if the build fails, the run goes
#               on without those columns
#
# Pairing: build/release/bench/bench_<name> is run against bench/go/<name>.
# bench_<base>_threads with no Go twin of its own is run against
# bench/go/<base>, its cases <base>_threads/x compared with <base>/x.
# Each round runs the goro program(s) of a pair, then the Go twin (goro, Go,
# goro, Go, ...) so that machine noise hits both sides alike; with
# --crossbeam the chan pair's rounds go goro, Go, crossbeam. The crossbeam
# program's cases chan/x are shown next to goro's chan/x and chan_threads/x
# (cells left blank where it has no such case, e.g. chan/ring1000).
#
# The report goes to stdout (paste it into bench/RESULTS.md); progress and
# build output go to stderr. Raw samples are kept in build/bench-results/.
# GORO_BENCH_DIR overrides where the C++ binaries are looked up.
set -euo pipefail

cmdline=$(printf '%q ' "bench/run.sh" "$@")
reps=5
filter=.
build=1
strict=0
crossbeam=0
procs=
exclude='^$'
usage() { sed -n '6,26s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    -r) reps=${2:?-r needs a count}; shift 2 ;;
    -f) filter=${2:?-f needs a regex}; shift 2 ;;
    -x) exclude=${2:?-x needs a regex}; shift 2 ;;
    -p) procs=${2:?-p needs a count}; shift 2 ;;
    --no-build) build=0; shift ;;
    --strict) strict=1; shift ;;
    --crossbeam) crossbeam=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -r wants a positive integer" >&2; exit 2; }
if [ -n "$procs" ]; then
  [[ $procs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -p wants a positive integer" >&2; exit 2; }
  export GORO_MAXPROCS=$procs GOMAXPROCS=$procs
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxxdir=${GORO_BENCH_DIR:-$root/build/release/bench}
godir=$root/build/bench-go
log() { echo "run.sh: $*" >&2; }

# --- toolchains and builds ---------------------------------------------------
# bench/go/go.mod replaces golang.org/x/sync and golang.org/x/time with the
# Debian packages' copies (the Go side builds offline, GOPROXY=off).
pkgs=()
command -v go >/dev/null || pkgs+=(golang-go)
[ -f /usr/share/gocode/src/golang.org/x/sync/go.mod ] || pkgs+=(golang-golang-x-sync-dev)
[ -f /usr/share/gocode/src/golang.org/x/time/go.mod ] || pkgs+=(golang-golang-x-time-dev)
if [ ${#pkgs[@]} -gt 0 ]; then
  log "installing ${pkgs[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y "${pkgs[@]}" >&2 ||
    { $sudo apt-get update >&2 && $sudo apt-get install -y "${pkgs[@]}" >&2; }
fi

if [ $build = 1 ]; then
  log "building the C++ benchmarks (cmake --preset release)"
  (cd "$root" && cmake --preset release && cmake --build --preset release -j "$(nproc)") >&2
fi

log "building the Go twins into build/bench-go/"
mkdir -p "$godir"
(cd "$root/bench/go" &&
  GOCACHE=$root/build/go-cache GOPATH=$root/build/gopath GOENV=off \
  GOPROXY=off GOFLAGS='' GOTOOLCHAIN=local \
  go build -o "$godir/" ./...) >&2

# --- pairing -----------------------------------------------------------------
names=$( { for d in "$root"/bench/go/*/; do   # bench/go/internal: shared code
             if [ -d "$d" ] && [ "$(basename "$d")" != internal ]; then basename "$d"; fi
           done
           for b in "$cxxdir"/bench_*; do
             if [ -f "$b" ]; then b=${b##*/}; echo "${b#bench_}"; fi
           done
         } | sort -u)
progs=()                 # C++ program names that have a Go twin, in order
declare -A twin=()       # C++ program name -> Go twin name
twins=()                 # Go twin names, in order, without repeats
for name in $names; do
  [[ $name =~ $filter ]] || continue
  [[ $name =~ $exclude ]] && continue
  if [ -d "$root/bench/go/$name" ]; then t=$name
  elif [[ $name == *_threads && -d $root/bench/go/${name%_threads} ]]; then t=${name%_threads}
  else log "skipping $name: no Go twin in bench/go/"; continue
  fi
  if [ ! -x "$cxxdir/bench_$name" ]; then
    log "skipping $name: $cxxdir/bench_$name not found"; continue
  fi
  if [ ! -x "$godir/$t" ]; then
    log "skipping $name: Go twin $godir/$t not built"; continue
  fi
  progs+=("$name"); twin[$name]=$t
  [[ " ${twins[*]} " == *" $t "* ]] || twins+=("$t")
done

# --- crossbeam (opt-in) -------------------------------------------------------
# bench/crossbeam/.cargo/config.toml replaces crates-io with Debian's crate
# directory /usr/share/cargo/registry; the build is offline and --locked to
# bench/crossbeam/Cargo.lock. Any failure here only drops the columns.
cbbin=                   # the crossbeam program, when it is to be run
cbinfo=
if [ $crossbeam = 1 ]; then
  cbdir=$root/build/bench-crossbeam
  cargo=$(command -v cargo || true)
  if [ -z "$cargo" ] && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    cargo=${CARGO_HOME:-$HOME/.cargo}/bin/cargo
  fi
  if [[ " ${twins[*]} " != *" chan "* ]]; then
    log "--crossbeam: the chan pair is not selected; no crossbeam columns"
  elif [ -z "$cargo" ]; then
    log "--crossbeam: cargo not found (PATH, ~/.cargo/bin); no crossbeam columns"
  else
    if ! compgen -G '/usr/share/cargo/registry/crossbeam-channel-*' >/dev/null; then
      log "--crossbeam: installing librust-crossbeam-channel-dev"
      sudo=""
      [ "$(id -u)" -ne 0 ] && sudo=sudo
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y librust-crossbeam-channel-dev >&2 ||
        { DEBIAN_FRONTEND=noninteractive $sudo apt-get update >&2 &&
          DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y librust-crossbeam-channel-dev >&2; } ||
        log "--crossbeam: could not install librust-crossbeam-channel-dev"
    fi
    log "building the crossbeam program into build/bench-crossbeam/ (cargo, offline)"
    if (cd "$root/bench/crossbeam" &&
        PATH=$(dirname "$cargo"):$PATH "$cargo" build --release --offline --locked \
          --target-dir "$cbdir") >&2 && [ -x "$cbdir/release/chan" ]; then
      cbbin=$cbdir/release/chan
      cbver=$(awk '$1 == "name" && $3 == "\"crossbeam-channel\"" { f = 1; next }
                   f && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' \
                "$root/bench/crossbeam/Cargo.lock")
      rustv=$(PATH=$(dirname "$cargo"):$PATH rustc --version 2>/dev/null || true)
      cbinfo="crossbeam-channel ${cbver:-?}${rustv:+, $rustv}"
    else
      log "--crossbeam: the offline cargo build failed (see above); no crossbeam columns."
      log "  It needs Debian's librust-crossbeam-channel-dev; if Debian's crate versions"
      log "  changed, regenerate the lock: cd bench/crossbeam && cargo generate-lockfile --offline"
    fi
  fi
fi

# --- header ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
echo "## goro vs Go"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(uname -m), nproc $(nproc)${cpu:+, $cpu}"
echo "- g++: $(g++ --version 2>/dev/null | head -n1 || echo 'not found')"
echo "- go: $(go version)"
echo "- command: \`${cmdline% }\`"
echo "- workers: ${procs:-one per core} (GORO_MAXPROCS / GOMAXPROCS)"
if [ -n "$cbbin" ]; then
  echo "- crossbeam: $cbinfo; bench/crossbeam between OS threads, chan cases only"
  echo "- runs: $reps per side, goro, Go and crossbeam interleaved; medians shown; lower is better, goro/Go (goro/crossbeam) < 1 means goro is faster"
else
  echo "- runs: $reps per side, goro and Go interleaved; medians shown; lower is better, goro/Go < 1 means goro is faster"
fi
echo

if [ ${#progs[@]} -eq 0 ]; then
  echo "No benchmark pairs to run."
  exit 0
fi

# --- runs --------------------------------------------------------------------
mkdir -p "$root/build/bench-results"
raw=$root/build/bench-results/$(date -u +%Y%m%dT%H%M%SZ).raw
pairs=$raw.pairs
: >"$raw"
for p in "${progs[@]}"; do echo "$p ${twin[$p]}"; done >"$pairs"

errlog=$(mktemp)
trap 'rm -f "$errlog"' EXIT
# The machine must be quiet: on a loaded 2-core box goro's workers share a
# core and every cross-core cost disappears from the numbers. Before each
# run: the 1-minute load average and the other runnable user threads (ps;
# the least of 3 samples 0.1 s apart, so a passing blip does not count).
# Busy = another user thread runnable. The load average is recorded but
# does not decide: it mostly counts this script's own previous run (a
# quiet run of the whole suite shows load 2-3).
# Cells with a sample taken on a busy machine are marked; --strict refuses
# to print a table at all then.
load_now() { cut -d' ' -f1 /proc/loadavg; }
# Kernel threads (kworker, kdamond) are left out: they wake briefly on an
# idle VM, and counting them (procs_running) flagged 63 of 100 runs of a
# quiet session as busy.
runnable_now() {
  local m=999 r i
  for i in 1 2 3; do
    r=$(ps -eLo stat=,pid=,ppid=,comm= 2>/dev/null |
        awk '$1 ~ /^R/ && $2 != 2 && $3 != 2 && $4 != "ps" { n++ } END { print n + 0 }')
    [ "$r" -lt "$m" ] && m=$r
    [ "$i" -lt 3 ] && sleep 0.1
  done
  echo "$m"
}
# The core-to-core round trip (probe_c2c, 30 ms) before and after each run;
# the larger of the two goes with the run's samples. On a VM the vCPUs can
# move between close and far placements mid-session (one machine here:
# 90 ns vs 450 ns), and cross-core handoffs follow it; a cell with a sample
# taken at more than twice the session's least round trip is marked.
probe=$cxxdir/probe_c2c
c2c_now() {
  local out=
  [ -x "$probe" ] && out=$("$probe" 2>/dev/null || true)
  awk '$1 == "C2C" && $2 ~ /^[0-9]+$/ { print $2; f = 1 } END { if (!f) print 0 }' <<<"$out"
}
busy_runs=0
c2c_runs=()
max_load=0
max_runnable=0
# run SIDE NAME BINARY: appends "SIDE NAME case value unit busy c2c" lines
# to $raw.
run() {
  local start=$SECONDS out rc=0 load runnable busy=0 c2c c2c_after
  load=$(load_now); runnable=$(runnable_now); c2c=$(c2c_now)
  if [ "$runnable" -gt 0 ]; then
    busy=1; busy_runs=$((busy_runs + 1))
  fi
  max_load=$(awk -v a="$max_load" -v b="$load" 'BEGIN { print (b > a ? b : a) }')
  [ "$runnable" -gt "$max_runnable" ] && max_runnable=$runnable
  printf 'run.sh: [%d/%d] %s %s (load %s, %s other runnable%s, c2c %s ns) ... ' "$rep" "$reps" \
    "$1" "$2" "$load" "$runnable" "$([ $busy = 1 ] && echo ', BUSY')" "$c2c" >&2
  out=$("$3" 2>"$errlog") || rc=$?
  c2c_after=$(c2c_now)
  [ "$c2c_after" -gt "$c2c" ] && c2c=$c2c_after
  c2c_runs+=("$c2c")
  echo "$(( SECONDS - start ))s (c2c after $c2c_after ns)" >&2
  if [ $rc -ne 0 ]; then
    log "$3 exited with status $rc; its stderr ends with:"
    tail -n 5 "$errlog" >&2
  fi
  awk -v side="$1" -v prog="$2" -v busy="$busy" -v c2c="$c2c" \
    '$1 == "BENCH" && NF >= 4 { print side, prog, $2, $3, $4, busy, c2c }' <<<"$out" >>"$raw"
}
for ((rep = 1; rep <= reps; rep++)); do
  for t in "${twins[@]}"; do
    for p in "${progs[@]}"; do
      [ "${twin[$p]}" = "$t" ] && run goro "$p" "$cxxdir/bench_$p"
    done
    run go "$t" "$godir/$t"
    if [ -n "$cbbin" ] && [ "$t" = chan ]; then run crossbeam chan "$cbbin"; fi
  done
done
log "raw samples in ${raw#"$root"/}"
total_runs=$((reps * (${#progs[@]} + ${#twins[@]} + (${#cbbin} > 0))))
echo "- load: highest 1-min load average before a run $max_load, most other runnable tasks $max_runnable; $busy_runs of $total_runs runs started on a busy machine (another task runnable)"
printf '%s\n' "${c2c_runs[@]}" | awk '$1 > 0 { v[++n] = $1 }
  END {
    if (n == 0) { print "- core-to-core round trip: not measured (no probe_c2c)"; exit }
    lo = v[1]; hi = v[1]
    for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
    for (i = 1; i <= n; i++) if (v[i] > 2 * lo) far++
    printf "- core-to-core round trip around each run (bench/probe_c2c): %d-%d ns; %d of %d runs above twice the least (far vCPU placement)\n", lo, hi, far + 0, n
  }'
echo
if [ "$busy_runs" -gt 0 ]; then
  log "$busy_runs of $total_runs runs started on a busy machine: their cells are marked with *"
  if [ $strict = 1 ]; then
    echo "Not publishing: the machine was busy (--strict)."
    exit 1
  fi
fi

# --- report ------------------------------------------------------------------
awk -v reps="$reps" -v cb="${cbbin:+1}" '
function fmt(v) {
  if (v >= 100) return sprintf("%.0f", v)
  if (v >= 10) return sprintf("%.1f", v)
  return sprintf("%.2f", v)
}
# median of the space-separated numbers in s; sets N to their count
function median(s,    a, n, i, j, x) {
  n = split(s, a, " ")
  for (i = 2; i <= n; i++) {          # insertion sort (mawk has no asort)
    x = a[i] + 0
    for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
    a[j + 1] = x
  }
  N = n
  return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function cell(side, prog, c,    m) {
  if (!((side, prog, c) in vals)) return "—"
  m = median(vals[side, prog, c])
  return fmt(m) " " unit[side, prog, c] (N < reps ? " (n=" N ")" : "") \
         (((side, prog, c) in busy) ? " *" : "") (far(side, prog, c) ? " †" : "")
}
function far(side, prog, c) { return far_key(side SUBSEP prog SUBSEP c) }
function far_key(k) {
  return c2clo > 0 && (k in c2cmax) && c2cmax[k] > 2 * c2clo
}
function addratio(key, r) {
  if (!(key in cnt)) gorder[++ng] = key
  cnt[key]++; logsum[key] += log(r)
}
# The table of geometric means of one ratio, keys in the order first seen.
function gmtable(label, ord, n, c, ls,    i, k) {
  print ""
  print "| geometric mean of " label " | cases | " label " |"
  print "|---|---:|---:|"
  for (i = 1; i <= n; i++) {
    k = ord[i]
    print "| " k " | " c[k] " | " sprintf("%.2f", exp(ls[k] / c[k])) " |"
  }
}
function addcb(key, r) {
  if (!(key in cbcnt)) cborder[++ncb] = key
  cbcnt[key]++; cblogsum[key] += log(r)
}
# With --crossbeam: the crossbeam and goro/crossbeam cells of a row whose
# goro case is (side, prog, c) and whose crossbeam twin case is (t, gc);
# blank where crossbeam has no such case.
function cbcells(side, prog, c, t, gc,    x, r, gm, xm) {
  if (!cb) return ""
  if (!(("crossbeam", t, gc) in vals)) return "  |  |"
  x = cell("crossbeam", t, gc); r = "—"
  if ((side, prog, c) in vals) {
    gm = median(vals[side, prog, c]); xm = median(vals["crossbeam", t, gc])
    if (unit[side, prog, c] != unit["crossbeam", t, gc]) r = "unit mismatch"
    else if (gm > 0 && xm > 0) {
      r = sprintf("%.2f", gm / xm)
      addcb(prog, gm / xm)
      split(c, parts, "/")
      if (parts[3] != "") addcb(parts[1] "/" parts[2], gm / xm)
    }
  }
  return " " x " | " r " |"
}
FILENAME == ARGV[1] { order[++np] = $1; twin[$1] = $2; next }
{
  k = $1 SUBSEP $2 SUBSEP $3
  vals[k] = vals[k] " " $4; unit[k] = $5
  if ($6 == 1) busy[k] = 1
  if ($7 > 0) { if ($7 > c2cmax[k]) c2cmax[k] = $7; if (!c2clo || $7 < c2clo) c2clo = $7 }
  if (!(($1, $2, $3) in seen)) { seen[$1, $2, $3]; ncase[$1, $2]++; cases[$1, $2, ncase[$1, $2]] = $3 }
}
END {
  print "| case | goro | Go | goro/Go |" (cb ? " crossbeam | goro/crossbeam |" : "")
  print "|---|---:|---:|---:|" (cb ? "---:|---:|" : "")
  for (i = 1; i <= np; i++) {
    p = order[i]; t = twin[p]
    delete shown
    for (j = 1; j <= ncase["goro", p]; j++) {
      c = cases["goro", p, j]
      gc = index(c, p "/") == 1 ? t substr(c, length(p) + 1) : c
      shown[gc]
      g = cell("goro", p, c); o = cell("go", t, gc); ratio = "—"
      if (("go", t, gc) in vals) {
        gm = median(vals["goro", p, c]); om = median(vals["go", t, gc])
        if (unit["goro", p, c] != unit["go", t, gc]) ratio = "unit mismatch"
        else if (gm > 0 && om > 0) {
          ratio = sprintf("%.2f", gm / om)
          addratio(p, gm / om)
          split(c, parts, "/")
          if (parts[3] != "") addratio(parts[1] "/" parts[2], gm / om)
        }
      }
      print "| " c (gc != c ? " (vs " gc ")" : "") " | " g " | " o " | " ratio " |" \
            cbcells("goro", p, c, t, gc)
    }
    # Go cases the goro program lacks (not for a borrowed twin like
    # chan_threads -> chan: those rows go with the program of the twin)
    for (j = 1; t == p && j <= ncase["go", t]; j++) {
      gc = cases["go", t, j]
      if (!(gc in shown))
        print "| " gc " | — | " cell("go", t, gc) " | — |" cbcells("goro", p, gc, t, gc)
    }
  }
  for (k in busy) { print ""; print "\\* at least one sample taken on a busy machine: not a quiet-machine figure"; break }
  for (k in c2cmax) if (far_key(k)) { print ""; print "† at least one sample taken while the core-to-core round trip was above twice the least seen (the far vCPU placement: cross-core handoffs cost more)"; break }
  gmtable("goro/Go", gorder, ng, cnt, logsum)
  if (ncb > 0) gmtable("goro/crossbeam", cborder, ncb, cbcnt, cblogsum)
}' "$pairs" "$raw"
