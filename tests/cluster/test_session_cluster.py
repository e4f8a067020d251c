#!/usr/bin/env python3
"""Cluster tests of camure::session across 4 namespace hosts: barrier + broadcast under 5 %
nftables loss plus interceptor reordering/duplication, a member host's process SIGKILLed, the
coordinator SIGKILLed. Every node is camure-session-node; checks are its RESULT lines + exit codes."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness"))
import clustertest  # noqa: E402
from clustertest import find_binary  # noqa: E402

PORT = 47100
TIMEOUT = 120


class Node:
    """A camure-session-node process inside a host, its stdout lines collected by a thread."""

    def __init__(self, cluster, host, argv):
        self.host = host
        self.proc = cluster.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._q.put(line)
        self._q.put(None)

    def wait_line(self, pattern, timeout=TIMEOUT):
        """Returns the first (past or future) output line matching pattern, or None by timeout."""
        rx = re.compile(pattern)
        for line in list(self.lines):
            if rx.search(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            if rx.search(line):
                return line
        return None

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        self._t.join(timeout=5)
        return rc

    def output(self):
        return "\n".join(self.lines)


class SessionCluster(clustertest.ClusterTestCase):
    HOSTS = 4

    def setUp(self):
        self.exe = find_binary("camure-session-node")
        self.assertIsNotNone(self.exe, "build camure-session-node first (cmake --build <dir>)")
        self.cluster.clear_loss()

    def start(self, rounds, messages, size, extra_coord=(), extra_member=(), members_per_host=None,
              interceptor=("--dup", "0.02", "--reorder", "0.02")):
        c = self.cluster
        members_per_host = members_per_host or {h: 1 for h in c.hosts[1:]}
        n = sum(members_per_host.values())
        common = ["--rounds", str(rounds), "--messages", str(messages), "--size", str(size),
                  "--liveness-ms", "1500", *interceptor]
        coord = Node(c, "h1", [self.exe, "coordinator", "--bind", f"{c.addr('h1')}:{PORT}",
                               "--group", f"{c.mcast_group(1)}:{PORT + 1}", "--members", str(n),
                               *common, *extra_coord])
        self.assertIsNotNone(coord.wait_line(r"event=started", 30), coord.output())
        members = []
        for h, k in members_per_host.items():
            for _ in range(k):
                members.append(Node(c, h, [self.exe, "member", "--coordinator", f"{c.addr('h1')}:{PORT}",
                                           *common, *extra_member]))
        return coord, members

    def test_barrier_broadcast_with_loss(self):
        """5 % loss on the bridge + 2 % dup/reorder in-process; two members share host h4."""
        self.cluster.set_loss(5)
        coord, members = self.start(300, 2000, 3000, members_per_host={"h2": 1, "h3": 1, "h4": 2})
        rcs = [m.wait() for m in members]
        crc = coord.wait()
        for m, rc in zip(members, rcs):
            self.assertEqual(rc, 0, f"member on {m.host}:\n{m.output()}\ncoordinator:\n{coord.output()}")
            self.assertIsNotNone(m.wait_line(r"ok=1", 1))
        self.assertEqual(crc, 0, coord.output())
        line = coord.wait_line(r"role=coordinator ok=1", 1)
        self.assertIsNotNone(line, coord.output())
        self.assertRegex(line, r"evictions=0")
        self.assertGreater(self.cluster.dropped(), 0, "the nftables rule dropped nothing")
        repairs = int(re.search(r"repairs=(\d+)", line).group(1))
        self.assertGreater(repairs, 0, "loss must have caused repairs")

    def test_ipv6_barrier_broadcast(self):
        """The same over IPv6 link-local addresses and an ff12:: group, with 2 % loss."""
        c = self.cluster
        c.set_loss(2)
        coord_ep = f"[{c.addr6('h1')}%{c.iface}]:{PORT}"
        common = ["--rounds", "100", "--messages", "300", "--size", "2000", "--liveness-ms", "1500"]
        coord = Node(c, "h1", [self.exe, "coordinator", "--bind", coord_ep, "--group", f"[ff12::77:1]:{PORT + 1}",
                               "--members", "3", *common])
        self.assertIsNotNone(coord.wait_line(r"event=started", 30), coord.output())
        members = [Node(c, h, [self.exe, "member", "--coordinator", coord_ep, *common]) for h in c.hosts[1:]]
        rcs = [m.wait() for m in members]
        crc = coord.wait()
        for m, rc in zip(members, rcs):
            self.assertEqual(rc, 0, f"member on {m.host}:\n{m.output()}\ncoordinator:\n{coord.output()}")
        self.assertEqual(crc, 0, coord.output())

    def test_member_killed(self):
        """A member host's process is SIGKILLed mid-barrier; the others finish, one eviction."""
        self.cluster.set_loss(2)
        coord, members = self.start(3000, 200, 1000, extra_coord=("--progress-every", "100"))
        self.assertIsNotNone(coord.wait_line(r"event=round n=200", 60), coord.output())
        killed = self.cluster.kill_all("h3", r"camure-session-node")
        self.assertTrue(killed, "no node process on h3")
        for m in members:
            rc = m.wait()
            if m.host == "h3":
                self.assertEqual(rc, -signal.SIGKILL)
            else:
                self.assertEqual(rc, 0, f"member on {m.host}:\n{m.output()}")
        self.assertEqual(coord.wait(), 0, coord.output())
        self.assertIsNotNone(coord.wait_line(r"role=coordinator ok=1 .*evictions=1", 1), coord.output())

    def test_coordinator_killed(self):
        """The coordinator is SIGKILLed; every member's blocked barrier fails with coordinator_lost."""
        self.cluster.set_loss(2)
        coord, members = self.start(50, 50, 500, extra_coord=("--hold",),
                                    extra_member=("--expect-coordinator-loss",))
        self.assertIsNotNone(coord.wait_line(r"event=holding", 60), coord.output())
        for m in members:
            self.assertIsNotNone(m.wait_line(r"event=done", 30), m.output())
        self.assertTrue(self.cluster.kill_all("h1", r"camure-session-node"))
        for m in members:
            self.assertEqual(m.wait(30), 0, f"member on {m.host}:\n{m.output()}")
            line = m.wait_line(r"event=coordinator_lost", 1)
            self.assertIsNotNone(line, m.output())
        coord.wait(10)


if __name__ == "__main__":
    clustertest.main()
