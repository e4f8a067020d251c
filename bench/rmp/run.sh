#!/usr/bin/env bash
# Runs the whole RMP benchmark sweep (latency points, then every throughput point) and prints
# RESULT lines, preceded by the machine's load so noisy numbers are recognisable.
# Usage: bench/rmp/run.sh [build-dir] [extra camure-bench-rmp args, e.g. --scale 0.2]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
shift || true
if [[ ! -x $build/bench/rmp/camure-bench-rmp ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j "$(nproc)" --target camure-bench-rmp
fi
echo "# $(date -u +%FT%TZ) $(uname -r) cpus=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/bench/rmp/camure-bench-rmp" "$@"
