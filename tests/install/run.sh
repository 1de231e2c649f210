#!/usr/bin/env bash
# The install/consumer test (ctest: goro_install_consumer; `make deb` too).
#
# Installs an already built goro build tree into a scratch prefix and builds
# and runs tests/install/consumer three ways, as the README tells users to:
#   1. find_package(goro) with CMAKE_PREFIX_PATH=<prefix>
#   2. pkg-config (PKG_CONFIG_PATH=<prefix>/.../pkgconfig) and the compiler
#      directly, with the build's compiler (and clang++ too when the build
#      used GCC: Clang needs goro.pc's -fsized-deallocation)
#   3. FetchContent of this checkout (FETCHCONTENT_SOURCE_DIR_GORO), which
#      also checks that a subproject goro defines no tests/bench/examples
# With --deb FILE, instead of 3: checks that the package holds exactly the
# files `cmake --install` installs, and runs 1 and 2 against its contents.
#
# Offline: nothing is downloaded. Only the consumer is compiled, except in
# step 3, which builds the library once (incrementally on later runs: the
# work directory is kept). Step logs are in the work directory; a failing
# step prints its log.
#
# Usage: run.sh --build DIR --src DIR --cxx COMPILER --work DIR [--deb FILE]
set -euo pipefail

build="" src="" cxx="" work="" deb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --src) src=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --deb) deb=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$build" ] && [ -n "$src" ] && [ -n "$cxx" ] && [ -n "$work" ] ||
  { echo "usage: run.sh --build DIR --src DIR --cxx COMPILER --work DIR [--deb FILE]" >&2; exit 2; }
consumer="$src/tests/install/consumer"
mkdir -p "$work"
work=$(cd "$work" && pwd)
jobs=2

step() {  # step NAME CMD... : runs CMD with its output in $work/NAME.log
  local name=$1; shift
  if "$@" >"$work/$name.log" 2>&1; then
    echo "ok   $name"
  else
    echo "FAIL $name: $*"
    sed 's/^/     | /' "$work/$name.log"
    exit 1
  fi
}

run_consumer() {  # run_consumer NAME BINARY : runs it, checks its line
  local name=$1 bin=$2
  step "$name-run" "$bin"
  grep -q "sum of squares 1..10 = 385, select case 0" "$work/$name-run.log" ||
    { echo "FAIL $name-run: unexpected output"; cat "$work/$name-run.log"; exit 1; }
  echo "     $(cat "$work/$name-run.log")"
}

check_find_package() {  # PREFIX
  local prefix=$1 dir="$work/find_package"
  rm -rf "$dir"
  step find_package-configure cmake -S "$consumer" -B "$dir" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DGORO_CONSUMER_MODE=find_package
  # The package found must be the one just installed, not a system copy.
  grep -q "^goro_DIR:PATH=$prefix/" "$dir/CMakeCache.txt" ||
    { echo "FAIL find_package: found $(grep '^goro_DIR' "$dir/CMakeCache.txt"), not under $prefix"; exit 1; }
  step find_package-build cmake --build "$dir" -j "$jobs"
  run_consumer find_package "$dir/consumer"
}

check_pkg_config() {  # PREFIX
  local prefix=$1 pc
  pc=$(find "$prefix" -name goro.pc -path '*/pkgconfig/*' | head -n 1)
  [ -n "$pc" ] || { echo "FAIL pkg-config: no goro.pc under $prefix"; exit 1; }
  export PKG_CONFIG_PATH="$(dirname "$pc")"
  local flags
  flags=$(pkg-config --cflags --libs goro) ||
    { echo "FAIL pkg-config --cflags --libs goro"; exit 1; }
  echo "     pkg-config --cflags --libs goro: $flags"
  local compilers=("$cxx")
  if "$cxx" --version 2>/dev/null | grep -qi "free software foundation" && command -v clang++ >/dev/null; then
    compilers+=(clang++)
  fi
  local c n
  for c in "${compilers[@]}"; do
    n="pkg-config-$(basename "$c")"
    # shellcheck disable=SC2086  # flags are words
    step "$n-build" "$c" "$consumer/main.cpp" -o "$work/$n" $flags
    # (for a BUILD_SHARED_LIBS goro: no rpath from pkg-config)
    LD_LIBRARY_PATH="$(pkg-config --variable=libdir goro)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      run_consumer "$n" "$work/$n"
  done
}

check_fetch_content() {
  local dir="$work/fetch"
  step fetch-configure cmake -S "$consumer" -B "$dir" \
    -DCMAKE_CXX_COMPILER="$cxx" -DGORO_CONSUMER_MODE=fetch \
    -DFETCHCONTENT_SOURCE_DIR_GORO="$src" -DFETCHCONTENT_FULLY_DISCONNECTED=ON
  step fetch-build cmake --build "$dir" -j "$jobs" --target consumer
  run_consumer fetch "$dir/consumer"
}

prefix="$work/prefix"
rm -rf "$prefix"
step install cmake --install "$build" --prefix "$prefix"
(cd "$prefix" && find . -type f | sed 's|^\./||' | sort) >"$work/installed.txt"
echo "     installed $(wc -l <"$work/installed.txt") files into $prefix"

if [ -z "$deb" ]; then
  check_find_package "$prefix"
  check_pkg_config "$prefix"
  check_fetch_content
else
  root="$work/deb-root"
  rm -rf "$root"
  step deb-extract dpkg-deb -x "$deb" "$root"
  step deb-info dpkg-deb -I "$deb"
  debprefix="$root/usr"
  (cd "$debprefix" && find . -type f | sed 's|^\./||' | sort) >"$work/deb-files.txt"
  if ! diff -u "$work/installed.txt" "$work/deb-files.txt" >"$work/deb-diff.txt"; then
    echo "FAIL deb: files differ from cmake --install (- install, + deb):"
    cat "$work/deb-diff.txt"; exit 1
  fi
  echo "ok   deb holds the same $(wc -l <"$work/deb-files.txt") files under /usr"
  check_find_package "$debprefix"
  check_pkg_config "$debprefix"
fi
echo "install test passed"
