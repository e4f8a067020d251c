#!/usr/bin/env python3
"""Self-test of the cluster harness (label cluster): connectivity, ssh, private /dev/shm and
hostname, multicast, loss injection, link cuts and teardown that leaves nothing behind.

Run one case: `python3 tests/cluster/test_harness.py loss_injection` (as root); all: no args.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import unittest

HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness")
sys.path.insert(0, HARNESS)

import clustertest  # noqa: E402
import nsutil  # noqa: E402
import runs  # noqa: E402
from netcluster import Cluster, cleanup_stale  # noqa: E402
from nsutil import poll_for  # noqa: E402

PY = sys.executable
NETCLUSTER = os.path.join(HARNESS, "netcluster.py")

MCAST_RECV = r"""
import socket, sys
group, port, local = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton(local))
s.settimeout(20)
print("ready", flush=True)
data, src = s.recvfrom(2048)
print(data.decode(), src[0], flush=True)
"""

MCAST_SEND = r"""
import socket, sys
group, port, local, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
s.bind((local, 0))
s.sendto(payload.encode(), (group, port))
"""

MCAST6_RECV = r"""
import socket, struct, sys
group, port = sys.argv[1], int(sys.argv[2])
idx = socket.if_nametoindex("eth0")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", port))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
             socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx))
s.settimeout(20)
print("ready", flush=True)
data, src = s.recvfrom(2048)
print(data.decode(), src[0].split("%")[0], flush=True)
"""

MCAST6_SEND = r"""
import socket, sys
group, port, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3]
idx = socket.if_nametoindex("eth0")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
s.sendto(payload.encode(), (group, port, 0, idx))
"""

UDP_COUNT = r"""
import socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
group = sys.argv[4] if len(sys.argv) > 4 else None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE: never drop for lack of buffer
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group or addr, port))
if group:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton(addr))
s.settimeout(60)
print("ready", flush=True)
seen = set()
while True:
    data = s.recv(64)
    if data == b"END":
        break
    seen.add(int(data))
print(" ".join(str(i) for i in range(n) if i not in seen), flush=True)
"""

# Bounded count and rate: at most 20 datagrams per 2 ms (<= 10k/s).
UDP_SEND = r"""
import socket, sys, time
n, addr, port, local = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((local, 0))
if n == 0:
    s.sendto(b"END", (addr, port))
for i in range(n):
    s.sendto(b"%d" % i, (addr, port))
    if i % 20 == 19:
        time.sleep(0.002)
"""


def read_line(proc, timeout):
    """One line of a Popen's text stdout within timeout (TimeoutError otherwise)."""
    if not select.select([proc.stdout], [], [], timeout)[0]:
        raise TimeoutError(f"no output from {proc.args[-4:]} within {timeout}s")
    return proc.stdout.readline().strip()


class HarnessTest(clustertest.ClusterTestCase):
    HOSTS = 4

    def test_ping_all_pairs(self):
        c = self.cluster
        for h in c.hosts:
            self.assertEqual(c.run(h, ["hostname"], check=True).stdout.strip(), h)
        for src in c.hosts:
            for dst in c.hosts:
                if src != dst:
                    r = c.run(src, ["ping", "-n", "-q", "-c", "1", "-W", "5", c.addr(dst)],
                              timeout=20)
                    self.assertEqual(r.returncode, 0, f"ping {src} -> {dst}: {r.stdout}{r.stderr}")
        # IPv6 link-local works too (no DAD delay).
        r = c.run("h1", ["ping", "-6", "-n", "-c", "1", "-W", "5", f"{c.addr6('h2')}%{c.iface}"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_ssh_hostname_and_private_shm(self):
        c = self.cluster
        r = c.ssh("h1", "h2", "hostname; ls -A /dev/shm", timeout=30)
        self.assertEqual((r.returncode, r.stdout.split()), (0, ["h2"]),
                         f"want hostname h2 and an empty /dev/shm: {r.stderr}")
        for h in c.hosts:
            self.assertEqual(c.run(h, ["ls", "-A", "/dev/shm"], check=True).stdout, "",
                             f"/dev/shm of {h} is not empty")
        probe = f"/dev/shm/cmrnc-probe-{c.run_id}"
        c.run("h1", ["touch", probe], check=True)
        self.assertEqual(c.ssh("h2", "h1", f"test -e {probe}").returncode, 0,
                         "a file in h1's /dev/shm is not visible to an ssh session on h1")
        self.assertEqual(c.ssh("h1", "h2", f"test -e {probe}").returncode, 1,
                         "h1's /dev/shm leaks into h2")
        for h in c.hosts[2:]:
            self.assertEqual(c.run(h, ["test", "-e", probe]).returncode, 1, f"leaks into {h}")
        self.assertFalse(os.path.exists(probe), "h1's /dev/shm leaks into the machine's")
        r = c.run("h4", ["getent", "hosts", "h2"], check=True)
        self.assertEqual(r.stdout.split()[0], c.addr("h2"))
        # Network, mount, UTS and IPC namespaces differ between hosts and from the machine's;
        # an ssh session is in its host's.
        kinds = ("net", "mnt", "uts", "ipc")
        probe_ns = " ".join(f"/proc/self/ns/{k}" for k in kinds)
        seen = {h: c.run(h, f"readlink {probe_ns}", check=True).stdout.split() for h in c.hosts}
        seen["root"] = [os.readlink(f"/proc/self/ns/{k}") for k in kinds]
        for i, kind in enumerate(kinds):
            self.assertEqual(len({v[i] for v in seen.values()}), len(seen), f"{kind}: {seen}")
        self.assertEqual(c.ssh("h1", "h3", f"readlink {probe_ns}", check=True).stdout.split(),
                         seen["h3"])

    def test_multicast_reaches_every_host(self):
        c = self.cluster
        group, port, payload = c.mcast_group(1), 47701, f"hello-{c.run_id}"
        receivers = {h: c.popen(h, [PY, "-c", MCAST_RECV, group, str(port), c.addr(h)],
                                stdout=subprocess.PIPE, text=True) for h in c.hosts[1:]}
        for h, p in receivers.items():
            self.assertEqual(read_line(p, 20), "ready", h)
        c.run("h1", [PY, "-c", MCAST_SEND, group, str(port), c.addr("h1"), payload], check=True)
        for h, p in receivers.items():
            out, _ = p.communicate(timeout=25)
            self.assertEqual(p.returncode, 0, f"{h} received nothing")
            self.assertEqual(out.split(), [payload, c.addr("h1")], h)

    def test_ipv6_multicast_reaches_every_host(self):
        c = self.cluster
        group, port, payload = c.mcast_group6(1), 47704, f"hello6-{c.run_id}"
        receivers = {h: c.popen(h, [PY, "-c", MCAST6_RECV, group, str(port)],
                                stdout=subprocess.PIPE, text=True) for h in c.hosts[1:]}
        for h, p in receivers.items():
            self.assertEqual(read_line(p, 20), "ready", h)
        c.run("h1", [PY, "-c", MCAST6_SEND, group, str(port), payload], check=True)
        for h, p in receivers.items():
            out, _ = p.communicate(timeout=25)
            self.assertEqual(p.returncode, 0, f"{h} received nothing")
            self.assertEqual(out.split(), [payload, c.addr6("h1")], h)

    def _udp_round(self, loss, receivers=("h2",), group=None, n=1000):
        """Sends n datagrams from h1 to h2 (or to group, received on `receivers`) with loss %
        set; returns ({receiver: set of missing sequence numbers}, frames dropped)."""
        c = self.cluster
        port = 47702
        dest = group or c.addr(receivers[0])
        procs = {h: c.popen(h, [PY, "-c", UDP_COUNT, c.addr(h), str(port), str(n)]
                            + ([group] if group else []), stdout=subprocess.PIPE, text=True)
                 for h in receivers}
        for h, p in procs.items():
            self.assertEqual(read_line(p, 20), "ready", h)
        sender = [PY, "-c", UDP_SEND, None, dest, str(port), c.addr("h1")]
        c.set_loss(loss)
        try:
            sender[3] = str(n)
            c.run("h1", sender, check=True, timeout=60)
            dropped = c.dropped()
        finally:
            c.clear_loss()
        sender[3] = "0"

        def end_seen():  # END may be lost only if loss was still on; it is not any more
            c.run("h1", sender, check=True)
            return all(p.poll() is not None for p in procs.values())
        poll_for(end_seen, 30, interval=0.1, what="receivers to see END")
        missing = {}
        for h, p in procs.items():
            out = p.stdout.read()
            self.assertEqual(p.returncode, 0, f"{h}: {out}")
            missing[h] = {int(tok) for tok in out.split()}
        return missing, dropped

    def test_loss_injection(self):
        c = self.cluster
        missing, dropped = self._udp_round(5)
        lost = len(missing["h2"])
        self.assertTrue(10 <= lost <= 150, f"{lost} of 1000 lost at 5 % loss (want 1..15 %)")
        self.assertGreaterEqual(dropped, lost, "datagrams vanished without the loss rule")
        missing, dropped = self._udp_round(0)
        self.assertEqual((len(missing["h2"]), dropped), (0, 0), "datagrams lost without loss set")
        # Per-host loss only touches that host's traffic.
        c.set_loss(100, host="h3")
        try:
            self.assertNotEqual(c.run("h1", ["ping", "-c", "1", "-W", "1", c.addr("h3")]).returncode, 0)
            self.assertEqual(c.run("h1", ["ping", "-c", "1", "-W", "5", c.addr("h2")]).returncode, 0)
        finally:
            c.clear_loss()
        self.assertEqual(c.run("h1", ["ping", "-c", "1", "-W", "5", c.addr("h3")]).returncode, 0)

    def test_multicast_loss_is_per_receiver(self):
        c = self.cluster
        missing, _ = self._udp_round(20, receivers=c.hosts[1:], group=c.mcast_group(2), n=500)
        for h, m in missing.items():
            self.assertTrue(25 <= len(m) <= 200, f"{h} lost {len(m)} of 500 at 20 % loss")
        # Independent drops per egress port: the receivers do not all lose the same frames.
        self.assertLess(len(set.intersection(*missing.values())), min(map(len, missing.values())))

    def _ssh_session_dies(self, to_host, cut, restore):
        """An ssh session h1 -> to_host dies on both sides once cut() runs; works after restore()."""
        c = self.cluster
        p = c.ssh_popen("h1", to_host, "exec cat", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
        p.stdin.write("hello\n")
        p.stdin.flush()
        self.assertEqual(read_line(p, 20), "hello")
        cats = poll_for(lambda: [pid for pid, cl in c.processes(to_host).items() if cl == "cat"],
                        10, what=f"cat on {to_host}")
        cut()
        try:
            poll_for(lambda: p.poll() is not None, 30, what="ssh client to give up")
            self.assertEqual(p.returncode, 255)
            poll_for(lambda: not any(nsutil.proc_alive(pid) for pid in cats), 30,
                     what=f"sshd on {to_host} to end the session")
        finally:
            restore()
        r = c.ssh("h1", to_host, "hostname", timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, to_host), r.stderr)

    def test_cut_link_ends_ssh_session(self):
        c = self.cluster
        self._ssh_session_dies("h2", lambda: c.cut_link("h2"), lambda: c.restore_link("h2"))

    def test_cut_ssh_keeps_other_traffic(self):
        c = self.cluster

        def cut():
            c.cut_ssh("h3")
            self.assertEqual(c.run("h1", ["ping", "-c", "1", "-W", "5", c.addr("h3")]).returncode,
                             0, "cut_ssh stopped more than ssh")
            r = c.run("h2", c.ssh_argv("h3")[:-1] + ["-o", "ConnectTimeout=2", "h3", "true"],
                      timeout=30)
            self.assertEqual(r.returncode, 255, "a new ssh connection passed the cut")
        self._ssh_session_dies("h3", cut, lambda: c.restore_ssh("h3"))

    def test_kill_all_spares_harness(self):
        c = self.cluster
        p = c.popen("h4", ["sleep", "400"])
        poll_for(lambda: c.pgrep("h4", r"^sleep 400$") == [p.pid], 10, what="sleep 400 on h4")
        self.assertEqual(c.kill_all("h4", r"^sleep 400$"), [p.pid])
        self.assertEqual(p.wait(timeout=10), -signal.SIGKILL)
        self.assertEqual(c.kill_all("h4", "sleep|sshd"), [])
        self.assertEqual(c.ssh("h1", "h4", "hostname", check=True).stdout.strip(), "h4")

    def test_wait_listening(self):
        c = self.cluster
        code = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                "s.bind((sys.argv[1], 47703)); sys.stdin.read()")
        p = c.popen("h2", [PY, "-c", code, c.addr("h2")], stdin=subprocess.PIPE)
        c.wait_listening("h2", 47703, "udp", timeout=20)
        with self.assertRaises(TimeoutError):
            c.wait_listening("h3", 47703, "udp", timeout=0.3)
        c.wait_listening("h3", 22)  # sshd
        p.kill()
        p.wait()

    def test_stop_sshd_and_deny_login(self):
        c = self.cluster
        c.stop_sshd("h3")
        try:
            r = c.ssh("h1", "h3", "true", timeout=30)
            self.assertEqual(r.returncode, 255)
            self.assertIn("refused", r.stderr)
        finally:
            c.start_sshd("h3")
        self.assertEqual(c.ssh("h1", "h3", "hostname", check=True).stdout.strip(), "h3")
        c.deny_login("h3")
        try:
            r = c.ssh("h1", "h3", "true", timeout=30)
            self.assertEqual(r.returncode, 255)
            self.assertIn("Permission denied", r.stderr)
        finally:
            c.allow_login("h3")
        self.assertEqual(c.ssh("h1", "h3", "hostname", check=True).stdout.strip(), "h3")

    def test_reset_faults_undoes_everything(self):
        c = self.cluster
        d = os.path.join(c.run_dir, "resetdir")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f"), "w", encoding="ascii") as f:
            f.write("x")
        c.set_loss(100)
        c.cut_link("h2")
        c.cut_ssh("h3")
        c.stop_sshd("h4")
        c.deny_login("h1")
        c.hide_path("h1", d)
        c.reset_faults()
        self.assertEqual(c.dropped(), 0)
        self.assertTrue(c.run("h1", ["test", "-e", os.path.join(d, "f")]).returncode == 0)
        for h in c.hosts:
            self.assertEqual(c.ssh("h1", h, "hostname", timeout=30).stdout.strip(), h)

    def test_forked_child_exit_keeps_cluster(self):
        import exitguard
        pid = os.fork()
        if pid == 0:  # a child that exits normally runs the exit guard: it must not tear down
            try:
                exitguard.close_all()
            finally:
                os._exit(0)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        c = self.cluster
        self.assertTrue(os.path.isdir(c.run_dir))
        self.assertEqual(c.run("h2", ["hostname"], check=True).stdout.strip(), "h2")

    def test_hide_path_is_per_host(self):
        c = self.cluster
        d = os.path.join(c.run_dir, "progdir")
        os.mkdir(d)
        with open(os.path.join(d, "prog"), "w", encoding="ascii") as f:
            f.write("#!/bin/sh\nhostname\n")
        os.chmod(os.path.join(d, "prog"), 0o755)
        c.hide_path("h2", d)
        r = c.ssh("h1", "h2", os.path.join(d, "prog"))
        self.assertEqual(r.returncode, 127, r.stdout)
        self.assertEqual(c.ssh("h1", "h3", os.path.join(d, "prog"), check=True).stdout.strip(), "h3")
        c.unhide_path("h2", d)
        self.assertEqual(c.ssh("h1", "h2", os.path.join(d, "prog"), check=True).stdout.strip(), "h2")


def root_network():
    """Links, addresses, routes and nftables of the machine's own network namespace."""
    return [nsutil.cmd(argv, check=False).stdout for argv in
            (["ip", "-o", "link", "show"], ["ip", "-o", "addr", "show"], ["ip", "route", "show"],
             ["ip", "-6", "route", "show"], ["nft", "list", "tables"])]


class TeardownTest(unittest.TestCase):
    def _leaves_nothing(self, raise_inside):
        state = {}
        before = root_network()
        try:
            with Cluster(3) as c:
                for h in c.hosts:
                    c.popen(h, ["sleep", "300"])
                c.ssh("h1", "h3", "setsid sleep 301 </dev/null >/dev/null 2>&1 &", check=True)
                poll_for(lambda: "sleep 301" in c.processes("h3").values(), 10, what="sleep 301")
                # A process that leaves its host's network namespace is still found (by its
                # mount namespace) and killed.
                escaped = c.popen("h2", ["unshare", "--net", "sleep", "302"])
                poll_for(lambda: nsutil.proc_cmdline(escaped.pid) == "sleep 302", 10,
                         what="sleep 302 in its own netns")
                self.assertNotIn(escaped.pid, c.pids("h2"))
                c.run("h2", "echo x > /dev/shm/probe", check=True)
                state["pids"] = {p: nsutil.proc_start_time(p) for h in c.hosts for p in c.pids(h)}
                state["pids"][escaped.pid] = nsutil.proc_start_time(escaped.pid)
                state["names"] = [c.netns(h) for h in c.hosts] + [c.switch_ns]
                state["dir"] = c.run_dir
                state["reaper"] = c.reaper
                if raise_inside:
                    raise KeyError("boom")
        except KeyError:
            self.assertTrue(raise_inside)
        self.assertGreaterEqual(len(state["pids"]), 3 * 3)  # anchor, sshd, sleep per host (+1)
        self.assertEqual([n for n in state["names"] if n in nsutil.netns_list()], [])
        self.assertFalse(os.path.exists(state["dir"]))
        alive = [p for p, st in state["pids"].items() if nsutil.proc_alive(p, st)]
        self.assertEqual(alive, [], "processes of the run survived")
        self.assertFalse(nsutil.proc_alive(state["reaper"][0], state["reaper"][1]))
        self.assertEqual(root_network(), before, "the machine's own network changed")

    def test_teardown_leaves_nothing(self):
        self._leaves_nothing(False)

    def test_teardown_after_exception(self):
        self._leaves_nothing(True)

    def test_reaper_cleans_up_after_sigkill(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        code = ("import sys, netcluster; c = netcluster.Cluster(2); c.start(); "
                "print(c.run_id, flush=True); sys.stdin.read()")
        child = subprocess.Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=dict(os.environ, PYTHONPATH=HARNESS))
        try:
            rid = read_line(child, 60)
            self.assertRegex(rid, r"^[0-9a-f]{6}$")
            self.addCleanup(runs.teardown_run, rid)
            self.assertEqual(len(runs.run_namespaces(rid)), 3)
        finally:
            child.kill()
            child.wait()
        poll_for(lambda: not runs.run_namespaces(rid) and not os.path.exists(runs.run_dir(rid)),
                 30, what="the reaper to remove the killed owner's run")

    def test_sigterm_tears_down_before_exit(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        code = ("import sys, netcluster\n"
                "with netcluster.Cluster(2) as c:\n"
                "    print(c.run_id, flush=True)\n"
                "    sys.stdin.read()\n")
        child = subprocess.Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=dict(os.environ, PYTHONPATH=HARNESS))
        try:
            rid = read_line(child, 60)
            self.assertRegex(rid, r"^[0-9a-f]{6}$")
            self.addCleanup(runs.teardown_run, rid)
            child.send_signal(signal.SIGTERM)
            self.assertEqual(child.wait(timeout=60), -signal.SIGTERM)
        finally:
            child.kill()
            child.wait()
        # The handler tore the run down before the process died (the reaper had no work).
        self.assertEqual(runs.run_namespaces(rid), [])
        self.assertFalse(os.path.exists(runs.run_dir(rid)))

    def test_cleanup_stale_spares_live_runs(self):
        with Cluster(2) as live:
            stale = Cluster(2, detached=True, cleanup_stale=False)
            stale.start()
            self.addCleanup(stale.close)
            self.assertTrue(runs.run_alive(stale.run_id))
            owner = stale.describe()["hosts"]["h1"]["anchor_pid"]
            os.kill(owner, signal.SIGKILL)
            poll_for(lambda: not runs.run_alive(stale.run_id), 10, what="owner death")
            removed = cleanup_stale()
            self.assertIn(stale.run_id, removed)
            self.assertNotIn(live.run_id, removed)
            self.assertEqual(runs.run_namespaces(stale.run_id), [])
            self.assertFalse(os.path.exists(stale.run_dir))
            self.assertEqual(live.ssh("h1", "h2", "hostname", check=True).stdout.strip(), "h2")

    def test_cli_up_run_down(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        up = subprocess.run([PY, NETCLUSTER, "up", "--hosts", "2"], capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(up.returncode, 0, up.stderr)
        info = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        rid = info["RUNID"]
        self.addCleanup(runs.teardown_run, rid)
        r = subprocess.run([PY, NETCLUSTER, "run", rid, "h2", "--", "hostname"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "h2"), r.stderr)
        r = subprocess.run([PY, NETCLUSTER, "run", rid, "h1", "--", "ssh", "-F",
                            info["SSH_CONFIG"], "h2", "hostname"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "h2"), r.stderr)
        r = subprocess.run([PY, NETCLUSTER, "down", rid], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(runs.run_namespaces(rid), [])
        self.assertFalse(os.path.exists(runs.run_dir(rid)))
        for argv, status in ((["down", "xyz"], 2), (["run", "abcdef", "h1", "true"], 1)):
            r = subprocess.run([PY, NETCLUSTER] + argv, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, status, argv)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


    def test_cli_with_runs_and_tears_down(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        r = subprocess.run([PY, NETCLUSTER, "with", "--hosts", "2", "--", "sh", "-c",
                            'hostname; echo "$CAMURE_CLUSTER_RUN_ID"; '
                            'ssh -F "$CAMURE_CLUSTER_SSH_CONFIG" h2 hostname; exit 7'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 7, r.stderr)
        host, rid, remote = r.stdout.split()
        self.assertEqual((host, remote), ("h1", "h2"))
        self.assertEqual(runs.run_namespaces(rid), [])
        self.assertFalse(os.path.exists(runs.run_dir(rid)))


class MpiLaunchTest(clustertest.ClusterTestCase):
    """The exact incantations README.md documents for Open MPI and MPICH over the cluster."""
    HOSTS = 4

    def test_openmpi_launches_over_cluster_ssh(self):
        if not shutil.which("mpirun.openmpi"):
            self.skipTest("Open MPI (openmpi-bin) is not installed")
        c = self.cluster
        r = c.run("h1", ["mpirun.openmpi", "--allow-run-as-root", "--mca", "plm_rsh_agent",
                         f"ssh -F {c.ssh_config}", "--mca", "btl", "tcp,self",
                         "--mca", "btl_tcp_if_include", c.iface, "--mca", "oob_tcp_if_include",
                         c.iface, "--hostfile", c.write_hostfile(slots=2), "-n", "8",
                         "hostname"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), sorted(c.hosts * 2))

    def test_mpich_launches_over_cluster_ssh(self):
        if not shutil.which("mpiexec.hydra"):
            self.skipTest("MPICH (mpich) is not installed")
        c = self.cluster
        r = c.run("h1", ["mpiexec.hydra", "-launcher", "ssh", "-launcher-exec", c.ssh_wrapper,
                         "-iface", c.iface, "-f", c.write_hostfile(slots=2, style="mpich"),
                         "-n", "8", "hostname"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), sorted(c.hosts * 2))


if __name__ == "__main__":
    clustertest.main()
