#!/usr/bin/env python3
"""Cluster test harness: hosts made of network namespaces joined by a bridge, each with sshd.

    with Cluster(hosts=4) as c:
        c.run("h1", ["hostname"])                  # -> "h1"
        c.ssh("h1", "h2", "cat /proc/loadavg")     # real ssh between hosts
        c.set_loss(5)                              # nftables drops 5 % on the bridge

Each host hN is a network namespace with `eth0` = 10.77.K.N/24 (K chosen per run) plugged
into bridge br0 of a switch namespace (multicast snooping off, so multicast floods), a route
224.0.0.0/4 via eth0, and an anchor process holding private mount, UTS and IPC namespaces
with its own /dev/shm, /run, /etc/hosts (h1..hN) and hostname. sshd and every command the
harness starts run inside all of them; sessions that sshd opens inherit them. Nothing in the
root namespace's network or ssh configuration is touched. See tests/cluster/README.md.

CLI (for manual use, shell tests and benchmark scripts):
    netcluster.py up [--hosts N] [--slots S]   create a detached cluster, print its description
    netcluster.py run RUNID HOST -- CMD...     run a command inside a host
    netcluster.py loss RUNID PCT [--host H]    cut RUNID H [--ssh-only]    restore ...
    netcluster.py kill RUNID HOST REGEX [--signal SIG]
    netcluster.py down RUNID                   tear it down
    netcluster.py with [--hosts N] [--in H|root] -- CMD   up, run CMD, down; CMD's status
    netcluster.py list | cleanup               show runs / remove leftovers of dead runs
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import nsutil  # noqa: E402
import runs  # noqa: E402
import exitguard  # noqa: E402
import netbuild  # noqa: E402
import sshsetup  # noqa: E402
from faults import Faults  # noqa: E402
from lossctl import LossControl  # noqa: E402
from nsutil import HarnessError, poll_for  # noqa: E402

SKIP_EXIT = 77
IFACE = "eth0"
TOOLS = ("ip", "nft", "nsenter", "unshare", "mount", "ssh", "ssh-keygen")


class ClusterUnavailable(unittest.SkipTest):
    """The machine cannot host a cluster (not root, no netns, no sshd...): skip, never pass."""


def unavailable_reason():
    """Why a cluster cannot be built here, or None if the prerequisites are present."""
    if os.geteuid() != 0:
        return "cluster tests need root (network namespaces, mounts, sshd)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not os.access(sshsetup.SSHD, os.X_OK):
        missing.append(sshsetup.SSHD)
    if missing:
        return f"missing tools: {', '.join(missing)} (scripts/setup.sh installs them)"
    return None


class Cluster(Faults):
    """N hosts in network namespaces behind one bridge, each with sshd; see module doc."""

    def __init__(self, hosts=4, *, shm_size=None, mtu=1500, detached=False,
                 cleanup_stale=True, ssh_check=True, ssh_alive=(1, 3), shared_home=False):
        if not isinstance(hosts, int) or not 1 <= hosts <= 250:
            raise ValueError(f"hosts must be 1..250, not {hosts!r}")
        if shm_size is not None and not re.fullmatch(r"[0-9]+[kKmMgG%]?", str(shm_size)):
            raise ValueError(f"shm_size must look like 512m, 2g or 50%, not {shm_size!r}")
        if not isinstance(mtu, int) or not 576 <= mtu <= 65535:
            raise ValueError(f"mtu must be 576..65535, not {mtu!r}")
        self.run_id = secrets.token_hex(3)
        self.k = 1 + int(self.run_id, 16) % 254
        self._n = hosts
        self._shm_size = shm_size
        self._mtu = mtu
        self._detached = detached
        self._cleanup_stale = cleanup_stale
        self._ssh_check = ssh_check
        self._ssh_alive = tuple(ssh_alive)
        self._shared_home = bool(shared_home)
        self._anchors = {}  # host -> (pid, start time)
        self._sshd = {}  # host -> Popen (or pid when attached)
        self._denied = set()  # hosts whose sshd refuses logins (deny_login)
        self._children = []
        self._reaper = None
        self._loss = None
        self._started = self._closed = False

    # --- names -----------------------------------------------------------------------------
    @property
    def hosts(self):
        """Host names h1..hN."""
        return [f"h{i}" for i in range(1, self._n + 1)]

    @property
    def run_dir(self):
        return runs.run_dir(self.run_id)

    @property
    def ssh_config(self):
        """ssh_config for clients: `ssh -F <this> h2 cmd` works from any host."""
        return os.path.join(self.run_dir, "ssh_config")

    @property
    def ssh_wrapper(self):
        """Executable that runs `ssh -F <ssh_config> "$@"` (for launch agents taking a path)."""
        return os.path.join(self.run_dir, "bin", "ssh")

    @property
    def subnet(self):
        return f"10.77.{self.k}.0/24"

    @property
    def switch_ns(self):
        return runs.switch_ns(self.run_id)

    iface = IFACE

    @property
    def reaper(self):
        """(pid, start time) of the run's reaper process, or None (detached or not started)."""
        return self._reaper[1:] if self._reaper else None

    def index(self, host):
        if host not in self.hosts:
            raise ValueError(f"unknown host {host!r}; hosts are {', '.join(self.hosts)}")
        return int(host[1:])

    def addr(self, host):
        """The host's 10.77 address on eth0."""
        return f"10.77.{self.k}.{self.index(host)}"

    def netns(self, host):
        return runs.host_ns(self.run_id, self.index(host))

    def mcast_group(self, n=1):
        """A multicast group private to this run: 239.77.K.n."""
        if not 1 <= n <= 254:
            raise ValueError("n must be 1..254")
        return f"239.77.{self.k}.{n}"

    def mcast_group6(self, n=1):
        """A link-scope IPv6 multicast group private to this run: ff12::77:K:n (use with
        interface eth0 and the hosts' link-local addresses, addr6())."""
        if not 1 <= n <= 0xffff:
            raise ValueError("n must be 1..65535")
        return f"ff12::77:{self.k:x}:{n:x}"

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Builds the cluster; raises ClusterUnavailable (a SkipTest) if the machine cannot."""
        if self._started:
            raise HarnessError("cluster already started")
        reason = unavailable_reason()
        if reason:
            raise ClusterUnavailable(reason)
        self._started = True
        if self._cleanup_stale:
            try:
                runs.cleanup_stale()
            except HarnessError as exc:  # leftovers of others never stop this run
                print(f"netcluster: warning: {exc}", file=sys.stderr)
        os.mkdir(self.run_dir, 0o700)
        if not self._detached:  # a detached run outlives this process on purpose
            exitguard.register(self)
        try:
            runs.set_owner(self.run_id, os.getpid())
            if not self._detached:
                self._reaper = runs.start_reaper(self.run_id, os.path.abspath(__file__))
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        sw = self.switch_ns
        res = nsutil.cmd(["ip", "netns", "add", sw], check=False)
        if res.returncode != 0:
            raise ClusterUnavailable(f"cannot create a network namespace: {res.stderr.strip()}")
        try:
            netbuild.build_switch(sw)
            self._loss = LossControl(sw)
            self._loss.install()
        except HarnessError as exc:  # a kernel without bridge or nf_tables bridge support
            raise ClusterUnavailable(f"cannot build the switch: {exc}") from exc
        sshsetup.write_run_material(self.run_dir, self.run_id,
                                    [(h, self.addr(h)) for h in self.hosts], self._ssh_alive,
                                    own_home=not self._shared_home)
        for host in self.hosts:
            nsutil.cmd(["ip", "netns", "add", self.netns(host)])
            netbuild.add_host_link(sw, self.netns(host), self.index(host), self.addr(host), IFACE,
                                   self._mtu)
        for host in self.hosts:
            self._start_anchor(host)
        for host in self.hosts:
            self.start_sshd(host, wait=False)
        for host in self.hosts:
            self._wait_sshd(host)
        if self._ssh_check:
            self._check_ssh()
        self._save_state()
        if self._detached:
            pid, _ = self._anchors["h1"]
            runs.set_owner(self.run_id, pid, detached=True)

    def close(self):
        """Tears everything down (processes, namespaces, run directory). Idempotent."""
        if self._closed or not self._started:
            return
        self._closed = True
        try:
            self._keep_logs()
        except OSError as exc:
            print(f"netcluster: cannot keep logs of {self.run_id}: {exc}", file=sys.stderr)
        try:
            runs.teardown_run(self.run_id)
        finally:
            for p in self._children + [s for s in self._sshd.values() if hasattr(s, "wait")]:
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if self._reaper:
                wfd, pid, start = self._reaper
                os.close(wfd)  # EOF: the reaper sees the run gone and exits
                try:
                    poll_for(lambda: not nsutil.proc_alive(pid, start), 10, what="reaper exit")
                except TimeoutError:
                    nsutil.kill_pid(pid)
            exitguard.unregister(self)

    def _keep_logs(self):
        """Copies sshd and anchor logs to $CAMURE_CLUSTER_LOGDIR/<run id>/ if that is set."""
        dest = os.environ.get("CAMURE_CLUSTER_LOGDIR")
        if not dest:
            return
        for host in self.hosts:
            for name in ("sshd.log", "anchor.log"):
                src = os.path.join(self.run_dir, host, name)
                if os.path.exists(src):
                    os.makedirs(os.path.join(dest, self.run_id), exist_ok=True)
                    shutil.copyfile(src, os.path.join(dest, self.run_id, f"{host}-{name}"))

    # --- building blocks -------------------------------------------------------------------
    def _start_anchor(self, host):
        proc = netbuild.start_anchor(os.path.join(self.run_dir, host), host, self.netns(host),
                                     self._shm_size)
        self._children.append(proc)
        self._anchors[host] = (proc.pid, nsutil.proc_start_time(proc.pid))
        self._save_state()  # teardown from another process finds the anchors from now on

    def nsenter_argv(self, host):
        """Command prefix that enters the host's network, mount, UTS and IPC namespaces."""
        pid, start = self._anchors[self._check_host(host)]
        if not nsutil.proc_alive(pid, start):
            raise HarnessError(f"{host}: anchor process {pid} is gone")
        try:
            cwd = os.getcwd()
        except FileNotFoundError:
            cwd = "/"
        return ["nsenter", "-t", str(pid), "-n", "-m", "-u", "-i", f"--wd={cwd}", "--"]

    def _check_host(self, host):
        self.index(host)
        return host

    def start_sshd(self, host, wait=True, options=()):
        """(Re)starts the host's sshd, with extra sshd_config options ("Key=value") if given;
        with wait, returns once it accepts connections."""
        hd = os.path.join(self.run_dir, host)
        extra = [arg for opt in options for arg in ("-o", opt)]
        proc = subprocess.Popen(
            self.nsenter_argv(host) + [sshsetup.SSHD, "-D", "-f", os.path.join(hd, "sshd_config"),
                                       "-E", os.path.join(hd, "sshd.log")] + extra,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, cwd="/")
        self._sshd[host] = proc
        if wait:
            self._wait_sshd(host)

    def stop_sshd(self, host):
        """Kills the host's listening sshd (sessions it already opened keep running)."""
        proc = self._sshd.pop(self._check_host(host), None)
        if proc is not None:
            pid = proc if isinstance(proc, int) else proc.pid
            nsutil.kill_pid(pid)
            if isinstance(proc, int):
                poll_for(lambda: not nsutil.proc_alive(pid), 10, what=f"sshd on {host} to exit")
            else:
                proc.wait(timeout=10)

    def _wait_sshd(self, host):
        proc = self._sshd[host]
        anchor, _ = self._anchors[host]

        def listening():
            if proc.poll() is not None:
                raise HarnessError(f"{host}: sshd exited ({proc.returncode}): "
                                   f"{self.logs(host).strip() or 'no log'}")
            return 22 in nsutil.read_listening_tcp_ports(anchor)
        poll_for(listening, 20, what=f"sshd on {host}")

    def _check_ssh(self):
        """One real login h1 -> hN proves keys, configs and routing (every sshd was already
        seen listening; their configs differ only in address and host key)."""
        last = self.hosts[-1]
        r = self.ssh("h1", last, "hostname", timeout=30)
        if r.returncode != 0 or r.stdout.strip() != last:
            raise HarnessError(f"ssh h1 -> {last} failed ({r.returncode}): "
                               f"{r.stderr.strip() or r.stdout.strip()} {self.logs(last).strip()}")

    def _save_state(self):
        runs.write_json(os.path.join(self.run_dir, "state.json"), {
            "run_id": self.run_id, "k": self.k, "hosts": self._n,
            "anchors": self._anchors,
            "sshd": {h: (p if isinstance(p, int) else p.pid) for h, p in self._sshd.items()}})

    @classmethod
    def attach(cls, run_id):
        """A Cluster object for an existing (detached) run, e.g. from `netcluster.py up`.

        close() on it tears the run down.
        """
        state = runs.read_json(os.path.join(runs.run_dir(run_id), "state.json"))
        if state is None:
            raise HarnessError(f"no cluster run {run_id!r} (no {runs.run_dir(run_id)}/state.json)")
        c = cls(state["hosts"], cleanup_stale=False)
        c.run_id, c.k = state["run_id"], state["k"]
        c._anchors = {h: tuple(v) for h, v in state["anchors"].items()}
        c._sshd = dict(state["sshd"])
        c._loss = LossControl(c.switch_ns)
        c._started = True
        return c

    # --- running things on hosts -----------------------------------------------------------
    def run(self, host, argv, *, timeout=60, check=False, **kwargs):
        """Runs argv (list, or str for `sh -c`) inside host; returns CompletedProcess.

        Defaults: output captured as text, stdin /dev/null, 60 s timeout (never hangs).
        """
        if isinstance(argv, str):
            argv = ["sh", "-c", argv]
        kwargs.setdefault("stdin", subprocess.DEVNULL if "input" not in kwargs else None)
        if "stdout" not in kwargs and "stderr" not in kwargs:
            kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.nsenter_argv(host) + list(argv), timeout=timeout, check=check,
                              **kwargs)

    def popen(self, host, argv, **kwargs):
        """Starts argv in the background inside host; the Popen is killed at teardown."""
        if isinstance(argv, str):
            argv = ["sh", "-c", argv]
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(self.nsenter_argv(host) + list(argv), **kwargs)
        self._children.append(proc)
        return proc

    def ssh_argv(self, to_host):
        """['ssh', '-F', ssh_config, to_host]: append the remote command."""
        return [sshsetup.SSH, "-F", self.ssh_config, self._check_host(to_host)]

    def ssh(self, from_host, to_host, command, **kwargs):
        """Runs command on to_host over real ssh started from from_host."""
        return self.run(from_host, self.ssh_argv(to_host) + [command], **kwargs)

    def ssh_popen(self, from_host, to_host, command, **kwargs):
        return self.popen(from_host, self.ssh_argv(to_host) + [command], **kwargs)

    def pids(self, host):
        """PIDs of every process in the host (its network namespace)."""
        return nsutil.netns_pids(self.netns(host))

    def processes(self, host):
        """{pid: command line} of every process in the host."""
        return {p: nsutil.proc_cmdline(p) for p in self.pids(host)}

    def pgrep(self, host, pattern):
        """PIDs of the host's processes whose command line matches regex pattern."""
        rx = re.compile(pattern)
        return sorted(p for p, cl in self.processes(host).items() if rx.search(cl))

    def wait_listening(self, host, port, proto="tcp", timeout=30):
        """Waits until something in host listens on TCP port (or has bound UDP port)."""
        anchor, _ = self._anchors[self._check_host(host)]
        poll_for(lambda: port in nsutil.read_listening_ports(anchor, proto), timeout,
                 what=f"{proto} port {port} on {host}")

    def kill_all(self, host, pattern, sig=signal.SIGKILL):
        """Sends sig to the host's processes whose command line matches regex pattern.

        The harness's own anchor and listening sshd are spared. Returns the pids signalled.
        """
        spare = {self._anchors[self._check_host(host)][0]}
        if host in self._sshd:
            s = self._sshd[host]
            spare.add(s if isinstance(s, int) else s.pid)
        rx = re.compile(pattern)
        hit = [p for p, cl in self.processes(host).items() if p not in spare and rx.search(cl)]
        return [p for p in hit if nsutil.kill_pid(p, sig)]

    # --- files for launchers ---------------------------------------------------------------
    def write_hostfile(self, path=None, slots=1, style="openmpi", hosts=None):
        """Writes a host file (Open MPI `hN slots=S` or MPICH `hN:S`); returns its path.

        slots: int for every host, or {host: slots}.
        """
        hosts = list(hosts or self.hosts)
        if style not in ("openmpi", "mpich"):
            raise ValueError("style must be 'openmpi' or 'mpich'")
        path = path or os.path.join(self.run_dir, f"hostfile.{style}")
        lines = [f"# camure cluster {self.run_id}"]
        for h in hosts:
            s = slots[h] if isinstance(slots, dict) else slots
            lines.append(f"{h} slots={s}" if style == "openmpi" else f"{h}:{s}")
        sshsetup.write_file(path, "\n".join(lines) + "\n", 0o644)
        return path

    def addr6(self, host):
        """The host's link-local IPv6 address on eth0 (use with scope eth0), or None."""
        res = nsutil.cmd(["ip", "-n", self.netns(host), "-6", "-o", "addr", "show", "dev", IFACE,
                          "scope", "link"], check=False)
        for tok in res.stdout.split():
            if tok.startswith("fe80:"):
                return tok.split("/")[0]
        return None

    def logs(self, host):
        """The host's sshd log (for failure messages)."""
        try:
            with open(os.path.join(self.run_dir, self._check_host(host), "sshd.log"),
                      encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def env(self):
        """CAMURE_CLUSTER_* variables describing the run, for programs and scripts."""
        e = {"CAMURE_CLUSTER_RUN_ID": self.run_id,
             "CAMURE_CLUSTER_HOSTS": " ".join(self.hosts),
             "CAMURE_CLUSTER_SSH_CONFIG": self.ssh_config,
             "CAMURE_CLUSTER_SSH_WRAPPER": self.ssh_wrapper,
             "CAMURE_CLUSTER_IFACE": IFACE,
             "CAMURE_CLUSTER_SUBNET": self.subnet,
             "CAMURE_CLUSTER_MCAST_GROUP": self.mcast_group(1),
             "CAMURE_CLUSTER_HOSTFILE": self.write_hostfile(),
             "CAMURE_CLUSTER_CLI": f"{sys.executable} {os.path.abspath(__file__)}"}
        for h in self.hosts:
            e[f"CAMURE_CLUSTER_ADDR_{h.upper()}"] = self.addr(h)
        return e

    def describe(self):
        """A dict describing the cluster (what `netcluster.py up` prints)."""
        return {"run_id": self.run_id, "run_dir": self.run_dir, "ssh_config": self.ssh_config,
                "ssh_wrapper": self.ssh_wrapper, "switch_ns": self.switch_ns,
                "hosts": {h: {"addr": self.addr(h), "netns": self.netns(h),
                              "anchor_pid": self._anchors[h][0]} for h in self.hosts}}


def cleanup_stale():
    """Removes leftovers of earlier crashed runs of this harness; returns their run ids."""
    return runs.cleanup_stale()


if __name__ == "__main__":
    from cli import main
    sys.exit(main(sys.argv[1:]))
