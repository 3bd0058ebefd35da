#!/usr/bin/env bash
# Builds and runs a tiny program against an *installed* mproc, the two ways a
# user would: CMake's find_package(mproc CONFIG) and pkg-config.
#
#   scripts/consumer-check.sh PREFIX [WORKDIR]
#   scripts/consumer-check.sh --mingw WINEPREFIX PREFIX [WORKDIR]
#
# --mingw: PREFIX holds a Windows (MinGW) install; the program is
# cross-compiled with cmake/mingw-w64.cmake and run under Wine in WINEPREFIX.
#
# Prints one line per check, "consumer-check: PASS <how>" or
# "consumer-check: FAIL <how>", and exits non-zero if any check failed.
# The program (cmake/consumer-check/main.c) starts a child process, so this
# proves more than linking: the installed library works.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mingw=0
if [[ ${1:-} == --mingw ]]; then
  mingw=1
  wineprefix=${2:?usage: consumer-check.sh --mingw WINEPREFIX PREFIX [WORKDIR]}
  shift 2
fi
prefix=$(cd "${1:?usage: consumer-check.sh PREFIX [WORKDIR]}" && pwd)
work=${2:-$repo/build/consumer}
src=$repo/cmake/consumer-check
rm -rf "$work"
mkdir -p "$work"

version=$(sed -nE 's/^#define MPROC_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' \
  "$repo/include/mproc.h" | paste -sd.)
failed=0
label=""
[[ $mingw == 1 ]] && label=" (MinGW, under Wine)"

verdict() { # verdict STATUS HOW
  echo "consumer-check: $1 $2$label"
  [[ $1 == PASS ]] || failed=1
}

# run EXE: runs the consumer natively or under Wine.
run() {
  if [[ $mingw == 1 ]]; then
    "$repo/cmake/wine-run.sh" "$wineprefix" "$1"
  else
    "$1"
  fi
}

# ---- 1. find_package(mproc CONFIG) ------------------------------------------
cmake_args=(-DMPROC_EXPECTED_VERSION="$version")
if [[ $mingw == 1 ]]; then
  # The toolchain confines package search to its roots, so the install
  # prefix is given as one (this is how users of a cross toolchain do it).
  cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$repo/cmake/mingw-w64.cmake"
               -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_PREFIX_PATH=/
               -DCMAKE_EXE_LINKER_FLAGS=-static-libgcc)
else
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix")
fi
exe=$work/cmake/consumer
[[ $mingw == 1 ]] && exe=$exe.exe
if cmake -S "$src" -B "$work/cmake" "${cmake_args[@]}" >"$work/cmake.log" 2>&1 &&
  cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 &&
  run "$exe"; then
  verdict PASS "find_package(mproc $version CONFIG) in $prefix"
else
  tail -n 30 "$work/cmake.log"
  verdict FAIL "find_package(mproc $version CONFIG) in $prefix"
fi

# ---- 2. pkg-config ------------------------------------------------------------
# The .pc file sits in <libdir>/pkgconfig; libdir is lib/ or lib/<multiarch>.
pcfile=$(find "$prefix" -name mproc.pc -path '*/pkgconfig/*' | head -n1)
if [[ -z $pcfile ]]; then
  verdict FAIL "pkg-config: no mproc.pc under $prefix"
else
  # PKG_CONFIG_LIBDIR (not _PATH): only this prefix, none of the build
  # machine's .pc files.
  PKG_CONFIG_LIBDIR=$(dirname "$pcfile")
  export PKG_CONFIG_LIBDIR
  libdir=$(pkg-config --variable=libdir mproc)
  if [[ $mingw == 1 ]]; then
    cc=(x86_64-w64-mingw32-gcc-win32 -static-libgcc)
    exe=$work/consumer-pc.exe
  else
    cc=("${CC:-cc}")
    exe=$work/consumer-pc
  fi
  # --static: a static libmproc needs its Libs.private (pthread, dl, psapi);
  # for a shared one the extra flags are harmless.
  # shellcheck disable=SC2046
  if "${cc[@]}" -std=c11 -Wall -Wextra -o "$exe" "$src/main.c" \
      $(pkg-config --cflags --libs --static mproc) >"$work/pkg-config.log" 2>&1 &&
    LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} run "$exe"; then
    verdict PASS "pkg-config mproc ($(pkg-config --modversion mproc))"
  else
    cat "$work/pkg-config.log"
    verdict FAIL "pkg-config mproc"
  fi
fi

exit $failed
