#!/usr/bin/env bash
# Builds mproc with its examples (natively) and runs every example program,
# in the order of their file names in examples/, each under a header.
#
#   scripts/demo.sh [NAME...]     (default: every examples/*.c)
#
# Installs cmake, gcc and ninja with apt-get only if one is missing (and only
# as root; MPROC_NO_APT=1 never installs). The tests are not built here, so
# cmocka is not needed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
build=${MPROC_BUILD_ROOT:-$repo/build}/demo
# Some examples sleep on purpose (timing, is_alive); none should take long.
per_example_timeout=${MPROC_DEMO_TIMEOUT:-120}

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v ninja >/dev/null || need+=(ninja-build)
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ ${MPROC_NO_APT:-0} != 1 && $(id -u) -eq 0 ]]; then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update </dev/null
    apt-get -q -y -o Dpkg::Use-Pty=0 install "${need[@]}" </dev/null
  else
    echo "missing tools: ${need[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi

echo "== building mproc and its examples in ${build#"$repo"/}"
log=$build.log
mkdir -p "$(dirname "$build")"
if ! { cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=ON &&
       cmake --build "$build" --parallel; } >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "build failed (full log: $log)" >&2
  exit 1
fi

# Preferred: the run_examples target of examples/CMakeLists.txt, which runs
# every example in the order of the seed programs, each under a header that
# names its seed. The loop below is the fallback for a tree without it.
if [[ $# -eq 0 ]] && grep -q 'run_examples' examples/CMakeLists.txt 2>/dev/null; then
  echo
  # A hung example must not hang the demo: 10 minutes is far more than all
  # of them together need.
  if timeout 600 cmake --build "$build" --target run_examples; then
    echo
    echo "demo: all examples ran"
    exit 0
  fi
  echo "demo: an example failed (see above)" >&2
  exit 1
fi

# The examples are the programs examples/CMakeLists.txt builds from
# examples/*.c (a .c file that is only a helper, or only for another OS,
# builds no program of its own name and is passed over). A failed build has
# already stopped us above, so nothing is skipped by accident.
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for src in examples/*.c; do
    [[ -e $src ]] || continue
    name=$(basename "$src" .c)
    [[ -x $build/bin/$name ]] && names+=("$name")
  done
fi
if [[ ${#names[@]} -eq 0 ]]; then
  echo "no examples in examples/" >&2
  exit 1
fi

failed=()
for name in "${names[@]}"; do
  exe=$build/bin/$name
  echo
  echo "=================== examples/$name.c ==================="
  if [[ ! -x $exe ]]; then
    echo "(not built: no program $name in ${build#"$repo"/}/bin)"
    failed+=("$name")
    continue
  fi
  # Run from the build dir so examples that write files leave them there.
  # No stdin: examples must not wait for input.
  rc=0
  (cd "$build" && timeout "$per_example_timeout" "$exe" </dev/null) || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "(exited with status $rc)"
    failed+=("$name")
  fi
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "demo: ${#failed[@]} of ${#names[@]} examples failed: ${failed[*]}"
  exit 1
fi
echo "demo: all ${#names[@]} examples ran"
