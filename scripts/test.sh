#!/usr/bin/env bash
# Sets up, builds and runs the whole camure test suite: all tiers in a release build, then the
# unit and multiprocess tiers again under ASan+UBSan and under TSan, then a short fuzz run.
# Environment: CAMURE_SANITIZERS=0 skips the sanitizer builds; CAMURE_FUZZ=0 skips fuzzing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
status=0

stage() { printf '\n=== %s ===\n' "$*"; }

stage "release build: all tiers"
"$here/scripts/setup.sh" "$here/build"
# The release stage also moves one 1 GiB broadcast message (issue 3: any size up to >= 1 GiB);
# the sanitizer stages skip it (too slow there) and report it as skipped.
(cd "$here/build" && CAMURE_TEST_GIANT=1 ctest --output-on-failure -j "$jobs" --timeout 600) || status=1

if [[ ${CAMURE_SANITIZERS:-1} != 0 ]]; then
  for san in address thread; do
    stage "sanitizer $san: unit and multiprocess tiers"
    b="$here/build-$san"
    cmake -S "$here" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DCAMURE_SANITIZER=$san \
      -DCAMURE_BUILD_EXAMPLES=OFF -DCAMURE_BUILD_BENCH=OFF >/dev/null
    cmake --build "$b" -j "$jobs"
    (cd "$b" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --output-on-failure -j "$jobs" -L 'unit|multiprocess' --timeout 900) || status=1
  done
fi

if [[ ${CAMURE_FUZZ:-1} != 0 && -f "$here/tests/fuzz/CMakeLists.txt" ]]; then
  stage "fuzz: short libFuzzer runs (clang)"
  b="$here/build-fuzz"
  CC=clang CXX=clang++ cmake -S "$here" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAMURE_BUILD_FUZZ=ON \
    -DCAMURE_BUILD_EXAMPLES=OFF -DCAMURE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$b" -j "$jobs" --target camure-fuzz-all
  (cd "$b" && ctest --output-on-failure -j "$jobs" -L fuzz --timeout 300) || status=1
fi

stage "done: $([[ $status == 0 ]] && echo 'all stages passed' || echo 'FAILURES above')"
exit $status
