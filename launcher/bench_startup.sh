#!/usr/bin/env bash
# Launcher start-up time: `camurerun -n N /bin/true` against Open MPI's and MPICH's launchers
# in the same run (those that are installed). One RESULT line per launcher; medians of RUNS.
# Usage: launcher/bench_startup.sh [build-dir] [N] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
n=${2:-16}
runs=${3:-20}
camurerun=$build/launcher/camurerun
[[ -x $camurerun ]] || { echo "bench_startup: $camurerun not built" >&2; exit 2; }

echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$n" "$runs" "$camurerun" <<'PY'
import shutil, statistics, subprocess, sys, time
n, runs, camurerun = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cases = [("camurerun", [camurerun, "-n", n, "/bin/true"])]
if shutil.which("mpiexec.openmpi"):
    cases.append(("openmpi", ["mpiexec.openmpi", "--allow-run-as-root", "--oversubscribe", "-n", n, "/bin/true"]))
if shutil.which("mpiexec.hydra"):
    cases.append(("mpich", ["mpiexec.hydra", "-n", n, "/bin/true"]))
for name, cmd in cases:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        times.append((time.perf_counter() - t) * 1e3)
        if rc != 0:
            print(f"RESULT bench=startup launcher={name} ranks={n} error=exit{rc}")
            break
    else:
        print(f"RESULT bench=startup launcher={name} ranks={n} median_ms={statistics.median(times):.1f} "
              f"min_ms={min(times):.1f} runs={runs}")
PY
