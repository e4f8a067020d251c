#!/usr/bin/env bash
# camure-bench across namespace hosts (tests/cluster/harness) side by side with Open MPI and
# MPICH over the same hosts: points 2x1, 4x1, 4x2 (hosts x ranks per host). Every RESULT line
# of the benchmarks gets "hosts=H ppn=R" appended. Needs root (network namespaces).
# Usage: bench/runtime/run_cluster.sh [--build DIR] [--out DIR] [--budget SECONDS] [--points "2x1 4x1 4x2"]
#        [--impls "camure openmpi mpich"] [--sizes barrier,1048576] [--bind none|core]
#        (defaults: all of them, --bind none)
# Binding: the namespace hosts share this machine's cores, and every launcher binds per host, so
# --bind core puts local rank 0 of *every* host on the same physical core (the node leaders of
# camure, which do the inter-host work, all on cpu 0 and the other cpu nearly idle). A real
# cluster has cores per host; to model that, every launcher gets the same --bind (default none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$root/build/bench-runtime-cluster
budget=0.3
points="2x1 4x1 4x2"
bind=none
want_impls="camure openmpi mpich"
sizes=""
usage() { echo "usage: $0 [--build DIR] [--out DIR] [--budget SECONDS] [--points \"2x1 4x1 4x2\"] [--impls \"camure openmpi mpich\"] [--sizes barrier,SIZE,...] [--bind none|core]"; }
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --points) points=$2; shift 2 ;;
    --impls) want_impls=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --bind) bind=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_cluster.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for p in $points; do
  [[ $p =~ ^[1-9]x[1-9]$ ]] || { echo "run_cluster.sh: bad point '$p' (HOSTSxRANKS)" >&2; exit 2; }
done
[[ $bind == none || $bind == core ]] || { echo "run_cluster.sh: --bind must be none or core, not '$bind'" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run_cluster.sh: needs root for the namespace hosts" >&2; exit 77; }
mkdir -p "$out"
H=$root/tests/cluster/harness/netcluster.py

[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target camure-bench camurerun camure-proxy >/dev/null
camurerun=$build/launcher/camurerun
bench=$build/bench/runtime/camure-bench

impls=()
[[ " $want_impls " == *" camure "* ]] && impls+=(camure)
if [[ " $want_impls " == *" openmpi "* ]] && command -v mpicc.openmpi >/dev/null && command -v mpirun.openmpi >/dev/null; then
  mpicc.openmpi -O2 -std=c11 -D_DEFAULT_SOURCE '-DBENCH_IMPL_NAME="openmpi"' -o "$out/mpi_bench_openmpi" "$here/mpi_bench.c"
  impls+=(openmpi)
fi
if [[ " $want_impls " == *" mpich "* ]] && command -v mpicc.mpich >/dev/null && command -v mpiexec.hydra >/dev/null; then
  mpicc.mpich -O2 -std=c11 -D_DEFAULT_SOURCE '-DBENCH_IMPL_NAME="mpich"' -o "$out/mpi_bench_mpich" "$here/mpi_bench.c"
  impls+=(mpich)
fi

maxh=1
for p in $points; do ((${p%x*} > maxh)) && maxh=${p%x*}; done
eval "$(python3 "$H" up --hosts "$maxh" --slots 2)"
trap 'python3 "$H" down "$RUNID" >/dev/null 2>&1 || true' EXIT

results=$out/results.txt
: >"$results"
echo "# $(date -u +%FT%TZ) cpus=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
for p in $points; do
  nh=${p%x*} ppn=${p#*x}
  n=$((nh * ppn))
  hl="" hc=""
  for ((i = 1; i <= nh; i++)); do
    hl+="${hl:+,}h$i:$ppn"
    for ((k = 0; k < ppn; k++)); do hc+="${hc:+,}h$i"; done
  done
  for impl in "${impls[@]}"; do
    case $impl in
      camure) cmd=("$camurerun" --bind-to "$bind" --ssh-opts "-F $SSH_CONFIG" -H "$hl" -n "$n" "$bench" "$budget" $sizes) ;;
      openmpi) cmd=(mpirun.openmpi --allow-run-as-root --oversubscribe --bind-to "$bind" --mca plm_rsh_agent "ssh -F $SSH_CONFIG"
                    --mca btl tcp,self --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0
                    -H "$hc" -n "$n" "$out/mpi_bench_openmpi" "$budget" $sizes) ;;
      mpich) cmd=(mpiexec.hydra -launcher ssh -launcher-exec "$SSH_WRAPPER" -iface eth0 -bind-to "$bind" -hosts "$hl"
                  -n "$n" "$out/mpi_bench_mpich" "$budget" $sizes) ;;
    esac
    echo "run_cluster.sh: $impl $p (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    if ! timeout 600 python3 "$H" run "$RUNID" h1 -- "${cmd[@]}" 2>"$out/stderr-$impl-$p.txt" |
        grep '^RESULT' | sed "s/\$/ hosts=$nh ppn=$ppn/" | tee -a "$results"; then
      echo "run_cluster.sh: $impl $p failed; see $out/stderr-$impl-$p.txt" >&2
    fi
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
