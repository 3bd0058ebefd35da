#!/bin/sh
# CTest's CMAKE_CROSSCOMPILING_EMULATOR for the MinGW build: runs a Windows
# .exe under Wine in a Wine prefix private to the build tree.
#
#   wine-run.sh WINEPREFIX PROGRAM.exe [ARGS...]
#   wine-run.sh WINEPREFIX --init      (create the prefix, then return)
#   wine-run.sh WINEPREFIX --stop      (end this prefix's wineserver)
#
# Why a wrapper and not plain `wine`:
#   - a private WINEPREFIX keeps ~/.wine untouched and lets build trees be
#     thrown away;
#   - the first start of Wine in a new prefix takes several seconds to
#     create it. Doing that once, under a lock, keeps parallel tests from
#     racing to create the same prefix and keeps that cost out of the first
#     test's timing;
#   - Wine's chatter (fixme:, the "wine32 is missing" hint, the Mono and Gecko
#     installers) is switched off so test logs show only the tests.
set -eu

prefix=${1:?usage: wine-run.sh WINEPREFIX PROGRAM.exe [ARGS...]}
shift
# Wine insists on an absolute WINEPREFIX.
case $prefix in
  /*) ;;
  *) prefix=$PWD/$prefix ;;
esac

WINEPREFIX=$prefix
WINEDEBUG=${WINEDEBUG:--all}
# 64-bit only prefix: no WoW64 part, which Debian's wine64 cannot fill.
WINEARCH=win64
# No Mono (mscoree) or Gecko (mshtml): nothing here is .NET or HTML, and
# their installers would try to download and pop up dialogs.
WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
export WINEPREFIX WINEDEBUG WINEARCH WINEDLLOVERRIDES

wine=${MPROC_WINE:-wine}

init_prefix() {
  [ -f "$prefix/.mproc-ready" ] && return 0
  mkdir -p "$(dirname "$prefix")"
  (
    flock 9
    if [ ! -f "$prefix/.mproc-ready" ]; then
      wineboot -i >/dev/null 2>&1 || true
      # wineboot returns before the prefix's services settle; wait for them
      # so the first real test does not pay for it (bounded, in case some
      # service never ends: then just carry on).
      timeout 120 wineserver -w || true
      [ -f "$prefix/system.reg" ] || { echo "wine-run: could not create Wine prefix $prefix" >&2; exit 1; }
      touch "$prefix/.mproc-ready"
    fi
  ) 9>"$prefix.lock"
}

case "${1:-}" in
  --init)
    init_prefix
    exit 0
    ;;
  --stop)
    # Ask the prefix's wineserver to end and wait until it has, so no Wine
    # process outlives the test run.
    if [ -d "$prefix" ]; then
      wineserver -k 2>/dev/null || true
      wineserver -w 2>/dev/null || true
    fi
    exit 0
    ;;
esac

init_prefix
exec "$wine" "$@"
