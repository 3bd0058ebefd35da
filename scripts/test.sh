#!/usr/bin/env bash
# Installs what the tests need and runs every test leg:
#
#   native   Linux, Debug, -Werror           ctest: fork + spawn variants
#   asan     Linux, ASan + UBSan             ctest: fork + spawn variants
#   tsan     Linux, ThreadSanitizer (clang)  ctest: the tests labelled
#            "threads" (threads in one process, fork from threaded ones)
#   mingw    Windows (MinGW-w64 cross build) ctest under Wine
#   shared   Linux, BUILD_SHARED_LIBS=ON     ctest: fork + spawn variants
#   install  cmake --install (static, shared, and static for Windows) + a
#            consumer program built with find_package(mproc) and with
#            pkg-config against each install, then run (Windows: under Wine)
#
# Usage: scripts/test.sh [LEG...]          (default: all legs, in that order)
#
# Environment:
#   MPROC_NO_APT=1      skip apt-get (for local iteration on a ready machine)
#   MPROC_BUILD_ROOT    where build trees go (default: build/ in the repo)
#   MPROC_JOBS          parallel build/test jobs (default: nproc)
#   MPROC_WINE_JOBS     parallel tests under Wine (default: MPROC_JOBS)
#   MPROC_LEG_TIMEOUT   seconds one leg's ctest may take in all (default 900)
#
# Runs unattended as root on a fresh Debian 12 (no stdin, no prompts). Every
# leg runs even if an earlier one failed; the exit status is non-zero if any
# test or leg failed. The last line is "N passed, N failed", counting every
# CTest test of every leg, each consumer check, and each leg that broke
# before its tests could run (as one failure).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1

build_root=${MPROC_BUILD_ROOT:-$repo/build}
jobs=${MPROC_JOBS:-$(nproc 2>/dev/null || echo 2)}
wine_jobs=${MPROC_WINE_JOBS:-$jobs}
leg_timeout=${MPROC_LEG_TIMEOUT:-900}
log_dir=$build_root/logs
all_legs=(native asan tsan mingw shared install)
legs=("$@")
[[ ${#legs[@]} -eq 0 ]] && legs=("${all_legs[@]}")

# Debian package names. wine + wine64: the `wine` launcher and the 64-bit
# loader (no i386 multiarch needed: everything here is x86_64).
apt_packages=(
  cmake ninja-build gcc libc6-dev make pkg-config
  libcmocka-dev clang
  mingw-w64 wine wine64
  dpkg-dev xz-utils debian-archive-keyring
)

say() { printf '\n=== %s\n' "$*"; }

# ---- Dependencies ------------------------------------------------------------
install_packages() {
  if [[ ${MPROC_NO_APT:-0} == 1 ]]; then
    say "MPROC_NO_APT=1: not installing packages"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    say "not root: cannot apt-get install; assuming these are present: ${apt_packages[*]}"
    return 0
  fi
  say "installing packages: ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # -o Dpkg::Use-Pty=0 and -q keep the CI log free of progress bars.
  apt-get -q update </dev/null &&
    apt-get -q -y -o Dpkg::Use-Pty=0 install "${apt_packages[@]}" </dev/null
}

# ---- Bookkeeping -------------------------------------------------------------
total_pass=0
total_fail=0
summary=()
any_fail=0

# record LEG STATUS DETAIL SECONDS
record() {
  summary+=("$(printf '%-8s %-4s %-38s %4ss' "$1" "$2" "$3" "$4")")
  [[ $2 == PASS ]] || any_fail=1
}

# run_logged LOGFILE CMD...: runs a noisy step (configure, build) into a log
# file and shows its tail only if it fails, to keep the CI log readable.
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED: $*"
    # The first errors say what broke; the tail says where the step stopped.
    echo "---- errors in $log"
    grep -E -m 40 'FAILED:|error:|Error|undefined reference|multiple definition' "$log"
    echo "---- last 15 lines of $log"
    tail -n 15 "$log"
    echo "----"
    return 1
  fi
}

# ctest_counts LOGFILE: sets ct_pass/ct_fail from CTest's closing line
# "NN% tests passed, F tests failed out of T".
ctest_counts() {
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n1)
  if [[ -z $line ]]; then
    ct_pass=0
    ct_fail=0
    return 1
  fi
  local failed total
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  ct_fail=$failed
  ct_pass=$((total - failed))
}

# ctest_leg NAME BUILD_DIR DESCRIPTION START_SECONDS [extra ctest args...]
# Runs ctest in BUILD_DIR, counts its tests, records the leg.
ctest_leg() {
  local name=$1 dir=$2 desc=$3 start=$4
  shift 4
  local log=$log_dir/$name-ctest.log
  say "[$name] ctest"
  # --no-tests=error: a leg that finds no test must not pass quietly.
  # Each test has its own TIMEOUT; the outer limit only guards CI's budget
  # against many tests hanging one after the other.
  timeout "$leg_timeout" \
    ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  [[ $rc -eq 124 ]] && echo "[$name] ctest stopped after ${leg_timeout}s"
  if ! ctest_counts "$log"; then
    ct_pass=0
    ct_fail=1
  elif [[ $rc -ne 0 && $ct_fail -eq 0 ]]; then
    # ctest failed although every test passed (a setup error): count it.
    ct_fail=1
  fi
  total_pass=$((total_pass + ct_pass))
  total_fail=$((total_fail + ct_fail))
  local status=PASS
  [[ $rc -eq 0 && $ct_fail -eq 0 ]] || status=FAIL
  record "$name" "$status" "$desc: $ct_pass/$((ct_pass + ct_fail)) tests" $((SECONDS - start))
}

# A leg that failed before reaching its tests counts as one failure.
broken_leg() {
  total_fail=$((total_fail + 1))
  record "$1" FAIL "$2: $3" $((SECONDS - $4))
}

# configure_build NAME BUILD_DIR CMAKE_ARGS...: configure and build a tree.
configure_build() {
  local name=$1 dir=$2
  shift 2
  say "[$name] configure + build in ${dir#"$repo"/}"
  run_logged "$log_dir/$name-configure.log" cmake -S "$repo" -B "$dir" -G Ninja "$@" &&
    run_logged "$log_dir/$name-build.log" cmake --build "$dir" --parallel "$jobs"
}

# ---- The legs ----------------------------------------------------------------
leg_native() {
  local start=$SECONDS dir=$build_root/native
  if configure_build native "$dir" -DCMAKE_BUILD_TYPE=Debug -DMPROC_WERROR=ON \
      -DMPROC_FAULT_POINTS=ON; then
    ctest_leg native "$dir" "Debug, fork+spawn" "$start" -j "$jobs"
  else
    broken_leg native "Debug" "configure/build failed" "$start"
  fi
}

leg_asan() {
  local start=$SECONDS dir=$build_root/asan
  # RelWithDebInfo: optimised code finds other bugs than the Debug leg, and
  # the sanitizers keep line numbers in their reports.
  if configure_build asan "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMPROC_SANITIZE=ON -DMPROC_WERROR=ON -DMPROC_FAULT_POINTS=ON; then
    ctest_leg asan "$dir" "ASan+UBSan, fork+spawn" "$start" -j "$jobs"
  else
    broken_leg asan "ASan+UBSan" "configure/build failed" "$start"
  fi
}

leg_tsan() {
  local start=$SECONDS dir=$build_root/tsan
  # clang: gcc 12's TSan does not know futex-free atomics any better, and
  # clang's runtime is the one Debian ships ready. -O1: TSan's own advice.
  if configure_build tsan "$dir" -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
      -DMPROC_TSAN=ON -DMPROC_WERROR=ON -DMPROC_FAULT_POINTS=ON \
      -DMPROC_BUILD_EXAMPLES=OFF; then
    ctest_leg tsan "$dir" "TSan, threaded tests, fork+spawn" "$start" \
      -j "$jobs" -L threads
  else
    broken_leg tsan "TSan" "configure/build failed" "$start"
  fi
}

leg_mingw() {
  local start=$SECONDS dir=$build_root/mingw
  local cmocka=$build_root/deps/cmocka-mingw
  say "[mingw] cmocka for MinGW"
  if ! run_logged "$log_dir/mingw-cmocka.log" "$repo/scripts/build-cmocka.sh" mingw "$cmocka"; then
    broken_leg mingw "Windows/Wine" "building cmocka for MinGW failed" "$start"
    return
  fi
  if ! configure_build mingw "$dir" \
      -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/mingw-w64.cmake" \
      -DCMOCKA_ROOT="$cmocka" -DCMAKE_BUILD_TYPE=Debug -DMPROC_WERROR=ON \
      -DMPROC_FAULT_POINTS=ON; then
    broken_leg mingw "Windows/Wine" "configure/build failed" "$start"
    return
  fi
  # Create the Wine prefix once, before the clock of any test starts.
  local wrap=$repo/cmake/wine-run.sh prefix=$dir/wineprefix
  say "[mingw] preparing the Wine prefix"
  if ! "$wrap" "$prefix" --init; then
    broken_leg mingw "Windows/Wine" "could not create the Wine prefix" "$start"
    return
  fi
  ctest_leg mingw "$dir" "Windows under Wine" "$start" -j "$wine_jobs"
  # No wineserver may outlive the run (it would hold the build dir busy and
  # keep CI's process tree alive).
  "$wrap" "$prefix" --stop
}

leg_shared() {
  local start=$SECONDS dir=$build_root/shared
  if configure_build shared "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBUILD_SHARED_LIBS=ON -DMPROC_WERROR=ON -DMPROC_FAULT_POINTS=ON; then
    ctest_leg shared "$dir" "shared lib, fork+spawn" "$start" -j "$jobs"
  else
    broken_leg shared "shared lib" "configure/build failed" "$start"
  fi
}

leg_install() {
  local start=$SECONDS pass=0 fail=0 kind
  # static and shared: native installs. mingw: a static Windows install,
  # consumed by a cross-compiled program run under Wine.
  for kind in static shared mingw; do
    local dir=$build_root/install-$kind prefix=$build_root/prefix-$kind
    local args=(-DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF
                -DMPROC_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$prefix")
    local check=("$repo/scripts/consumer-check.sh")
    case $kind in
      static) args+=(-DBUILD_SHARED_LIBS=OFF) ;;
      shared) args+=(-DBUILD_SHARED_LIBS=ON) ;;
      mingw)
        args+=(-DBUILD_SHARED_LIBS=OFF -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/mingw-w64.cmake")
        check+=(--mingw "$build_root/mingw/wineprefix")
        ;;
    esac
    rm -rf "$prefix"
    if configure_build "install-$kind" "$dir" "${args[@]}" &&
      run_logged "$log_dir/install-$kind-install.log" cmake --install "$dir"; then
      say "[install] consumer checks against the $kind install"
      local out
      out=$("${check[@]}" "$prefix" "$build_root/consumer-$kind" 2>&1)
      echo "$out"
      pass=$((pass + $(grep -c '^consumer-check: PASS' <<<"$out")))
      fail=$((fail + $(grep -c '^consumer-check: FAIL' <<<"$out")))
      # The script failing without a verdict line is a failure too.
      if ! grep -q '^consumer-check: ' <<<"$out"; then
        fail=$((fail + 1))
      fi
    else
      fail=$((fail + 1))
    fi
  done
  "$repo/cmake/wine-run.sh" "$build_root/mingw/wineprefix" --stop
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  local status=PASS
  [[ $fail -eq 0 ]] || status=FAIL
  record install "$status" "static/shared/mingw consumers: $pass/$((pass + fail))" $((SECONDS - start))
}

# ---- Main --------------------------------------------------------------------
mkdir -p "$log_dir"

# Whatever happens (a failed leg, Ctrl-C), leave no wineserver behind: it
# would outlive the run and keep CI's process tree alive.
stop_wine() {
  local p=$build_root/mingw/wineprefix
  [[ -d $p ]] && "$repo/cmake/wine-run.sh" "$p" --stop
  return 0
}
trap stop_wine EXIT
run_start=$SECONDS

if ! install_packages; then
  say "package installation failed"
  echo "0 passed, 1 failed"
  exit 1
fi

for leg in "${legs[@]}"; do
  case $leg in
    native | asan | tsan | mingw | shared | install) "leg_$leg" ;;
    *)
      echo "unknown leg '$leg' (legs: ${all_legs[*]})" >&2
      exit 2
      ;;
  esac
done

say "summary (logs in ${log_dir#"$repo"/})"
for line in "${summary[@]}"; do
  echo "$line"
done
echo "total time $((SECONDS - run_start))s"
echo "$total_pass passed, $total_fail failed"
[[ $any_fail -eq 0 && $total_fail -eq 0 ]]
