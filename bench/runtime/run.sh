#!/usr/bin/env bash
# Runs camure-bench and the same measurement under Open MPI and MPICH (mpi_bench.c), side by
# side in one run, and writes a markdown table and a PNG plot.
# Usage: bench/runtime/run.sh [--build DIR] [--out DIR] [--ns "2 4 8 16"] [--budget SECONDS]
#                             [--points barrier,8,1024] [--repeat R] [--variant NAME:VAR=VALUE,...]
# --points runs only those points (default: barrier and bcast of 8 B, 1 KiB, 64 KiB, 1 MiB);
# --repeat runs every (N, implementation) R times, interleaved, so report.py can take medians;
# --variant (repeatable) adds camure run with those CAMURE_* settings as implementation NAME,
# e.g. --variant camure-leader:CAMURE_BARRIER_RELEASE=leader; --benchmarks FILE (e.g. BENCHMARKS.md)
# also writes the table into FILE's "bench/runtime/run.sh" block, with the command and machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$root/build/bench-runtime
ns="2 4 8 16"
budget=0.3
points=""
repeat=1
variants=()
benchmarks=""
all_args=("$@")

usage() { echo "usage: $0 [--build DIR] [--out DIR] [--ns \"2 4 8 16\"] [--budget SECONDS] [--points LIST] [--repeat R] [--variant NAME:VAR=VALUE,...] [--benchmarks FILE]"; }
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ns) ns=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --points) points=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --benchmarks) benchmarks=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in $ns; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad rank count '$n' in --ns" >&2; exit 2; }
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad --repeat '$repeat'" >&2; exit 2; }
[[ -z $points || $points =~ ^[a-z0-9,]+$ ]] || { echo "run.sh: bad --points '$points'" >&2; exit 2; }
declare -A variant_env=()
for v in "${variants[@]}"; do
  [[ $v =~ ^([a-z0-9][a-z0-9-]*):(CAMURE_[A-Z0-9_]+=[^,[:space:]]*(,CAMURE_[A-Z0-9_]+=[^,[:space:]]*)*)$ ]] ||
    { echo "run.sh: bad --variant '$v' (NAME:CAMURE_VAR=VALUE,...)" >&2; exit 2; }
  [[ ${BASH_REMATCH[1]} != camure && ${BASH_REMATCH[1]} != openmpi && ${BASH_REMATCH[1]} != mpich ]] ||
    { echo "run.sh: --variant name '${BASH_REMATCH[1]}' is taken" >&2; exit 2; }
  variant_env[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done
mkdir -p "$out"

# The MPI implementations and matplotlib come from Debian packages; install what is missing.
packages=(openmpi-bin libopenmpi-dev mpich libmpich-dev python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "run.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    echo "run.sh: missing ${missing[*]} and not root: those parts are skipped" >&2
  fi
fi

# camure-bench and camurerun from the build tree (configured if needed).
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target camure-bench camurerun >/dev/null
camurerun=$build/launcher/camurerun
bench=$build/bench/runtime/camure-bench

impls=(camure "${!variant_env[@]}")
if command -v mpicc.openmpi >/dev/null && command -v mpirun.openmpi >/dev/null; then
  mpicc.openmpi -O2 -std=c11 -D_DEFAULT_SOURCE '-DBENCH_IMPL_NAME="openmpi"' -o "$out/mpi_bench_openmpi" "$here/mpi_bench.c"
  impls+=(openmpi)
fi
if command -v mpicc.mpich >/dev/null && command -v mpiexec.mpich >/dev/null; then
  mpicc.mpich -O2 -std=c11 -D_DEFAULT_SOURCE '-DBENCH_IMPL_NAME="mpich"' -o "$out/mpi_bench_mpich" "$here/mpi_bench.c"
  impls+=(mpich)
fi

results=$out/results.txt
: >"$results"
echo "# $(date -u +%FT%TZ) $(uname -n) cpus=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
args=("$budget")
[[ -n $points ]] && args+=("$points")
for n in $ns; do
  for ((rep = 1; rep <= repeat; ++rep)); do
    for impl in "${impls[@]}"; do
      case $impl in
        camure) cmd=("$camurerun" -n "$n" "$bench" "${args[@]}") ;;
        openmpi) cmd=(mpirun.openmpi --allow-run-as-root --oversubscribe -n "$n" "$out/mpi_bench_openmpi" "${args[@]}") ;;
        mpich) cmd=(mpiexec.mpich -n "$n" "$out/mpi_bench_mpich" "${args[@]}") ;;
        *) IFS=, read -r -a kv <<<"${variant_env[$impl]}"
           cmd=(env "${kv[@]}" "CAMURE_BENCH_IMPL=$impl" "$camurerun" -n "$n" "$bench" "${args[@]}") ;;
      esac
      echo "run.sh: $impl n=$n run $rep/$repeat (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      if ! timeout 600 "${cmd[@]}" 2>"$out/stderr-$impl-$n.txt" | grep '^RESULT' | tee -a "$results"; then
        echo "run.sh: $impl n=$n failed; see $out/stderr-$impl-$n.txt" >&2
      fi
    done
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"

# Debian's matplotlib belongs to /usr/bin/python3 (a pyenv python3 earlier in PATH lacks it).
py=python3
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import matplotlib' 2>/dev/null; then py=$cand; break; fi
done
into=()
if [[ -n $benchmarks ]]; then
  into=(--into "$benchmarks" --header "Latest \`bench/runtime/run.sh ${all_args[*]}\` ($(date -u +%F), $(uname -n), $(nproc) cpus, commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); raw: \`$results\`):")
fi
"$py" "$here/report.py" "$results" --markdown "$out/runtime.md" --png "$out/runtime.png" "${into[@]}"
cat "$out/runtime.md"
echo "run.sh: wrote $out/runtime.md, $out/runtime.png and $results" >&2
