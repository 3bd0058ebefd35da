#!/usr/bin/env bash
# Builds cmocka for a target Debian does not package it for, and installs it
# into a prefix inside the build tree, for that test leg:
#
#   scripts/build-cmocka.sh mingw [PREFIX]  64-bit Windows (MinGW-w64), for
#                                           the Wine leg (default PREFIX:
#                                           build/deps/cmocka-mingw)
#   scripts/build-cmocka.sh musl [PREFIX]   Linux with musl (musl-gcc,
#                                           static), for the musl leg
#                                           (default: build/deps/cmocka-musl)
#
# Why this script exists: Debian packages cmocka for glibc Linux only, and the
# tests must not depend on anything installed by hand. So we take Debian's own
# source package (the same cmocka version the native leg uses), unpack it
# under build/deps/ and build it with the target's toolchain file.
#
# How: `apt-get source` with a private sources list, state and cache, all
# under build/deps/apt/, so the machine's /etc/apt and /var/lib/apt are never
# touched (they have no deb-src lines on a stock image).
#
# Idempotent: if PREFIX already holds the library, it does nothing.
# Needs: apt-get, dpkg-dev (dpkg-source), cmake, ninja-build, and mingw-w64
# or musl-tools.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-}
case $target in
  mingw | musl) ;;
  *)
    echo "usage: $0 mingw|musl [PREFIX]" >&2
    exit 2
    ;;
esac
prefix=${2:-$repo/build/deps/cmocka-$target}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
deps=$(dirname "$prefix")
stamp=$prefix/.mproc-cmocka-installed

if [[ -f $stamp && -f $prefix/lib/libcmocka-static.a && -f $prefix/include/cmocka.h ]]; then
  echo "cmocka for $target already in $prefix ($(cat "$stamp"))"
  exit 0
fi

# ---- 1. Debian's source package, through a private apt configuration ------
# The suite is this machine's Debian release, so the source matches the
# libcmocka-dev the native legs use. The mirror can be overridden for
# machines that reach Debian through another host.
# shellcheck disable=SC1091
suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
suite=${suite:-bookworm}
mirror=${MPROC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_dir=$deps/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
if [[ -r $keyring ]]; then
  echo "deb-src [signed-by=$keyring] $mirror $suite main" >"$apt_dir/sources.list"
else
  echo "deb-src $mirror $suite main" >"$apt_dir/sources.list"
fi

apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"   # ignore /etc/apt/sources.list.d
  -o "Dir::State::Lists=$apt_dir/lists"  # private package lists (and lock)
  -o "Dir::Cache=$apt_dir/cache"         # private pkgcache.bin / archives
  -q
)
# As root, apt drops to the _apt user to download, which then cannot write
# into our private directories ("unsandboxed download" warnings or errors).
# The files only land in our own build tree, so download as root.
if [[ $(id -u) -eq 0 ]]; then
  apt_opts+=(-o "APT::Sandbox::User=root")
fi

src_root=$deps/src
if ! compgen -G "$src_root/cmocka-*/CMakeLists.txt" >/dev/null; then
  echo "== fetching Debian source package cmocka ($suite) into $src_root"
  apt-get "${apt_opts[@]}" update
  rm -rf "$src_root"
  mkdir -p "$src_root"
  # apt-get source unpacks (with dpkg-source) into the current directory.
  (cd "$src_root" && apt-get "${apt_opts[@]}" source cmocka)
fi
src=$(compgen -G "$src_root/cmocka-*/CMakeLists.txt" | head -n1)
src=$(dirname "$src")
version=${src##*/cmocka-}
echo "== building cmocka $version for $target from $src"

# ---- 2. Build, static --------------------------------------------------------
# cmocka 1.1.x always builds its shared library; WITH_STATIC_LIB adds
# libcmocka-static.a, which is what we link: the Windows .exe files then need
# no cmocka.dll under Wine, and the musl tests are fully static programs.
# MinGW: -static-libgcc keeps the DLL from needing libgcc_s_seh-1.dll (it is
# built and installed all the same, so keep it self-contained).
build=$deps/cmocka-$target-build
rm -rf "$build"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
case $target in
  mingw) target_args=(-DCMAKE_TOOLCHAIN_FILE="$repo/cmake/mingw-w64.cmake"
                      -DCMAKE_SHARED_LINKER_FLAGS=-static-libgcc) ;;
  musl) target_args=(-DCMAKE_TOOLCHAIN_FILE="$repo/cmake/musl.cmake") ;;
esac
cmake -S "$src" -B "$build" "${gen[@]}" "${target_args[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DWITH_STATIC_LIB=ON \
  -DWITH_EXAMPLES=OFF \
  -DUNIT_TESTING=OFF \
  -DPICKY_DEVELOPER=OFF
cmake --build "$build"
cmake --install "$build"

test -f "$prefix/lib/libcmocka-static.a"
test -f "$prefix/include/cmocka.h"
echo "$version" >"$stamp"
echo "== cmocka $version for $target installed in $prefix"
