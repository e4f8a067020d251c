#!/usr/bin/env bash
# Runs camure-bench-session across 2 and 4 namespace hosts (tests/cluster/harness, nftables loss
# 0 % and 1 %) and, in the same run, Open MPI's MPI_Barrier / MPI_Bcast over TCP on the same
# hosts (mpi_session_bench.c). Prints RESULT lines; needs root (exit 77 = skipped otherwise).
# Usage: bench/session/run_cluster.sh [--build DIR] [--hosts "2 4"] [--loss "0 1"] [--seconds S]
#        [--sizes 8,1024,65536,1048576] [--barrier-iters N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
hosts_list="2 4"
losses="0 1"
seconds=0.5
sizes=8,1024,65536,1048576
iters=2000
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --hosts) hosts_list=$2; shift 2 ;;
    --loss) losses=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --barrier-iters) iters=$2; shift 2 ;;
    -h|--help) sed -n 2,6p "$0"; exit 0 ;;
    *) echo "run_cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run_cluster.sh: SKIPPED: needs root for network namespaces" >&2; exit 77; }
H="python3 $root/tests/cluster/harness/netcluster.py"
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target camure-bench-session >/dev/null
bench=$(find "$build" -name camure-bench-session -type f -perm -u+x | head -1)
mpibench=""
if command -v mpicc.openmpi >/dev/null && command -v mpirun.openmpi >/dev/null; then
  mpibench=$build/bench/session/mpi_session_bench
  mkdir -p "$(dirname "$mpibench")"
  mpicc.openmpi -O2 -std=c11 -o "$mpibench" "$here/mpi_session_bench.c"
else
  echo "run_cluster.sh: Open MPI (openmpi-bin, libopenmpi-dev) missing: MPI part skipped" >&2
fi

runid=""
cleanup() { [[ -n $runid ]] && $H down "$runid" >/dev/null 2>&1 || true; }
trap cleanup EXIT

for n in $hosts_list; do
  eval "$($H up --hosts "$n")"
  runid=$RUNID
  k=$(echo "$H1" | cut -d. -f3)
  group=239.77.$k.1
  for loss in $losses; do
    $H loss "$runid" "$loss" >/dev/null
    common=(--sizes "$sizes" --barrier-iters "$iters" --seconds "$seconds" --datagram 1400 --loss 0)
    pids=()
    for ((h = 2; h <= n; h++)); do
      $H run "$runid" "h$h" -- "$bench" --role member --coordinator "$H1:45000" "${common[@]}" &
      pids+=($!)
    done
    $H run "$runid" h1 -- "$bench" --role coordinator --coordinator "$H1:45000" --group "$group" \
      --expect $((n - 1)) "${common[@]}" --tag "hosts=$n nft_loss_pct=$loss"
    for p in "${pids[@]}"; do wait "$p" || echo "run_cluster.sh: a member failed (hosts=$n loss=$loss)" >&2; done
    if [[ -n $mpibench ]]; then
      $H run "$runid" h1 -- mpirun.openmpi --allow-run-as-root --mca plm_rsh_agent "ssh -F $SSH_CONFIG" \
        --mca btl tcp,self --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0 \
        --hostfile "$HOSTFILE" -n "$n" "$mpibench" "$iters" "$seconds" "$sizes" "impl=openmpi hosts=$n nft_loss_pct=$loss" ||
        echo "run_cluster.sh: Open MPI run failed (hosts=$n loss=$loss)" >&2
    fi
  done
  $H down "$runid" >/dev/null
  runid=""
done
