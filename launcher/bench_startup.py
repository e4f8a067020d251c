#!/usr/bin/env python3
"""Launcher start-up: `camurerun -n N /bin/true` against Open MPI's and MPICH's launchers, in
the same run. `local`: this host. `cluster`: run inside h1 of a namespace cluster (netcluster.py
`with --in h1`), N ranks over the 4 hosts, every launcher through the harness's ssh config.
One RESULT line per launcher: median and min of RUNS runs (ms)."""
import os
import shutil
import statistics
import subprocess
import sys
import time


def measure(name, cmd, n, runs, where):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).returncode
        times.append((time.perf_counter() - t) * 1e3)
        if rc != 0:
            print(f"RESULT bench=startup where={where} launcher={name} ranks={n} error=exit{rc}", flush=True)
            return
    print(f"RESULT bench=startup where={where} launcher={name} ranks={n} median_ms={statistics.median(times):.1f} "
          f"min_ms={min(times):.1f} runs={runs}", flush=True)


def isolate(mode):
    """CAMURE_BENCH_RT=1: run every launcher (and, across hosts, every host's sshd, whose
    sessions inherit it) under SCHED_FIFO 10, so that other work on a busy machine does not
    decide the numbers. The same for every launcher; off by default."""
    if os.environ.get("CAMURE_BENCH_RT") != "1":
        return
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    if mode == "cluster":
        run_id = os.environ.get("CAMURE_CLUSTER_RUN_ID", "")
        out = subprocess.run(["pgrep", "-f", f"cmrnc-{run_id}/h[0-9]+/sshd_config"], capture_output=True, text=True)
        for pid in out.stdout.split():
            os.sched_setscheduler(int(pid), os.SCHED_FIFO, os.sched_param(10))
    print(f"# isolated: SCHED_FIFO 10 ({mode})", flush=True)


def main():
    mode, camurerun, n, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    isolate(mode)
    cases = []
    if mode == "local":
        cases.append(("camurerun", [camurerun, "-n", n, "/bin/true"]))
        if shutil.which("mpiexec.openmpi"):
            cases.append(("openmpi", ["mpiexec.openmpi", "--allow-run-as-root", "--oversubscribe", "-n", n, "/bin/true"]))
        if shutil.which("mpiexec.hydra"):
            cases.append(("mpich", ["mpiexec.hydra", "-n", n, "/bin/true"]))
    else:
        hosts = os.environ["CAMURE_CLUSTER_HOSTS"].split()
        per = max(1, int(n) // len(hosts))
        hl = ",".join(f"{h}:{per}" for h in hosts)
        cfg = os.environ["CAMURE_CLUSTER_SSH_CONFIG"]
        cases.append(("camurerun", [camurerun, "--ssh-opts", "-F " + cfg, "-H", hl, "-n", n, "/bin/true"]))
        if shutil.which("mpiexec.openmpi"):
            cases.append(("openmpi", ["mpiexec.openmpi", "--allow-run-as-root", "--mca", "plm_rsh_agent", "ssh -F " + cfg,
                                      "--mca", "oob_tcp_if_include", "eth0", "-H", hl, "-n", n, "/bin/true"]))
        # Not a launcher: one bare login per other host, in parallel, with the key exchange
        # camurerun uses by default: the floor every ssh-based launcher stands on.
        logins = " ".join(f"ssh -F {cfg} -o KexAlgorithms=curve25519-sha256 {h} /bin/true &" for h in hosts[1:])
        cases.append(("ssh_logins_floor", ["sh", "-c", logins + " wait"]))
        if shutil.which("mpiexec.hydra"):
            cases.append(("mpich", ["mpiexec.hydra", "-launcher", "ssh", "-launcher-exec",
                                    os.environ["CAMURE_CLUSTER_SSH_WRAPPER"], "-iface", "eth0", "-hosts", hl,
                                    "-n", n, "/bin/true"]))
    for name, cmd in cases:
        measure(name, cmd, n, runs, mode)


if __name__ == "__main__":
    main()
