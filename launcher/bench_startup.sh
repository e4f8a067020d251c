#!/usr/bin/env bash
# Launcher start-up time: `camurerun -n N /bin/true` against Open MPI's and MPICH's launchers
# in the same run (those that are installed), locally and — as root, where the namespace
# cluster harness works — across 4 hosts over ssh (CAMURE_BENCH_CLUSTER=0 skips that).
# One RESULT line per launcher and place; medians of RUNS.
# CAMURE_BENCH_RT=1 runs every launcher (and the cluster's sshds) under SCHED_FIFO 10, which
# keeps other work on a busy machine from deciding the numbers (root; same for every launcher).
# Usage: launcher/bench_startup.sh [build-dir] [N] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
n=${2:-16}
runs=${3:-20}
camurerun=$build/launcher/camurerun
[[ -x $camurerun ]] || { echo "bench_startup: $camurerun not built" >&2; exit 2; }

echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/launcher/bench_startup.py" local "$camurerun" "$n" "$runs"
if [[ ${CAMURE_BENCH_CLUSTER:-1} != 0 && $(id -u) == 0 ]]; then
  set +e
  # CAMURE_BENCH_SHARED_HOME=1: the hosts' ssh sessions run the account's own shell start-up
  # files (default: each host has an empty HOME, as separate machines would).
  home_opt=()
  if [[ ${CAMURE_BENCH_SHARED_HOME:-0} != 0 ]]; then home_opt=(--shared-home); echo "# cluster: shared HOME"
  else echo "# cluster: an empty HOME per host"; fi
  python3 "$here/tests/cluster/harness/netcluster.py" with --hosts 4 "${home_opt[@]}" --in h1 -- \
    python3 "$here/launcher/bench_startup.py" cluster "$camurerun" "$n" "$runs"
  rc=$?
  set -e
  [[ $rc == 77 ]] && echo "# cluster part skipped: no namespace cluster on this machine"
fi
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
