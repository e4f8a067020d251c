#!/usr/bin/env python3
"""camurerun across 4 namespace hosts (issue 5). camurerun runs inside h1 with the harness's
ssh config; h2..h4 are reached over real ssh and run camure-proxy. Checks use the
launcher_probe rank program; every test ends by checking that no camure process is left on
any host."""

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

LEFTOVER = r"launcher_probe|camure-proxy|camurerun"


class Run:
    """camurerun inside a host; stdout/stderr lines collected by threads."""

    def __init__(self, cluster, host, args, stdin=subprocess.DEVNULL):
        self.proc = cluster.popen(host, args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.out, self.err = [], []
        self._q = queue.Queue()
        self._threads = [threading.Thread(target=self._pump, args=(s, l), daemon=True)
                         for s, l in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    def _pump(self, stream, into):
        for line in stream:
            into.append(line.rstrip("\n"))
            self._q.put(line)

    def wait_lines(self, pattern, n, timeout=60):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [l for l in list(self.out) if rx.search(l)]
            if len(got) >= n:
                return got
            try:
                self._q.get(timeout=0.2)
            except queue.Empty:
                pass
        return [l for l in list(self.out) if rx.search(l)]

    def finish(self, timeout=90):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        for t in self._threads:
            t.join(timeout=10)
        return rc


def fields(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


class LauncherCluster(clustertest.ClusterTestCase):
    HOSTS = 4

    @classmethod
    def setUpClass(cls):
        cls.camurerun = find_binary("camurerun")
        cls.probe = find_binary("launcher_probe")
        if not cls.camurerun or not cls.probe or not find_binary("camure-proxy"):
            raise AssertionError("build camurerun, camure-proxy and launcher_probe first")
        super().setUpClass()

    def launch(self, args, stdin=subprocess.DEVNULL):
        c = self.cluster
        argv = [self.camurerun, "--ssh-opts", "-F " + c.ssh_config] + args
        return Run(c, "h1", argv, stdin=stdin)

    def assert_nothing_left(self, timeout=40):
        c = self.cluster
        deadline = time.monotonic() + timeout
        left = {}
        while time.monotonic() < deadline:
            left = {h: c.pgrep(h, LEFTOVER) for h in c.hosts}
            left = {h: p for h, p in left.items() if p}
            if not left:
                return
            time.sleep(0.2)  # polling a condition with a deadline, not a synchronisation sleep
        self.fail("camure processes left: %r" % {h: [c.processes(h).get(p) for p in ps] for h, ps in left.items()})

    def hosts_of(self, lines):
        return {int(fields(l)["CAMURE_RANK"]): l for l in lines}

    def test_env_output_exit_and_stdin(self):
        c = self.cluster
        r = self.launch(["-H", "h1:2,h2:2,h3:2,h4:2", "-n", "8", "--tag-output", self.probe, "env",
                         "CAMURE_NODE_ADDR", "CAMURE_MCAST"])
        rc = r.finish()
        self.assertEqual(rc, 0, "\n".join(r.err))
        self.assertEqual(len(r.out), 8, r.out)
        for line in r.out:
            m = re.match(r"^\[(\d+)\] env (\d+) ", line)
            self.assertIsNotNone(m, line)  # tagged and intact
            self.assertEqual(m.group(1), m.group(2))
            f = fields(line)
            rank = int(f["CAMURE_RANK"])
            host = c.hosts[rank // 2]
            self.assertEqual(f["CAMURE_SIZE"], "8")
            self.assertEqual(f["CAMURE_LOCAL_RANK"], str(rank % 2))
            self.assertEqual(f["CAMURE_LOCAL_SIZE"], "2")
            self.assertEqual(f["CAMURE_NODE_ID"], str(rank // 2))
            self.assertEqual(f["CAMURE_NUM_NODES"], "4")
            self.assertEqual(f["CAMURE_NODE_ADDR"], c.addr(host), line)
        # Exit status of a remote rank.
        r = self.launch(["-H", "h1:2,h2:2,h3:2,h4:2", self.probe, "exit", "5=4"])
        self.assertEqual(r.finish(), 4)
        self.assertEqual(len(r.err), 1, r.err)
        self.assertIn("rank 5 ", r.err[0])
        self.assertIn("on host h3", r.err[0])
        # stdin reaches rank 0 (on h2 here: the first host of the list).
        data = "".join("line %d of the input\n" % i for i in range(200))
        r = self.launch(["-H", "h2:1,h1:1", self.probe, "stdin"], stdin=subprocess.PIPE)
        r.proc.stdin.write(data)
        r.proc.stdin.close()
        self.assertEqual(r.finish(), 0, r.err)
        self.assertTrue(any(l.startswith("stdin 0 %d " % len(data)) for l in r.out), r.out)
        self.assert_nothing_left()

    def test_hostfiles_and_kv(self):
        c = self.cluster
        for style in ("openmpi", "mpich"):
            hf = c.write_hostfile(slots=2, style=style)
            r = self.launch(["--hostfile", hf, self.probe, "kv"])
            self.assertEqual(r.finish(), 0, r.err + r.out)
            self.assertEqual(len(r.out), 8, r.out)
            for line in r.out:
                m = re.match(r"^kv (\d+) ok 64 (\d+) (\S+)$", line)
                self.assertIsNotNone(m, line)
                rank = int(m.group(1))
                self.assertEqual(int(m.group(2)), rank // 2)
                self.assertEqual(m.group(3), c.addr(c.hosts[rank // 2]))
        self.assert_nothing_left()

    def test_remote_rank_killed(self):
        r = self.launch(["-H", "h1:2,h2:2,h3:2,h4:2", self.probe, "wait"])
        ready = r.wait_lines(r"^ready ", 8)
        self.assertEqual(len(ready), 8, r.err)
        pid = int([l for l in ready if l.startswith("ready 5 ")][0].split()[2])
        self.assertIn(pid, self.cluster.pgrep("h3", "launcher_probe"))
        os.kill(pid, signal.SIGKILL)  # hosts share the pid namespace
        self.assertEqual(r.finish(), 137)
        self.assertEqual(len(r.err), 1, r.err)
        self.assertIn("rank 5 (pid %d) on host h3 was killed by signal 9" % pid, r.err[0])
        self.assert_nothing_left()

    def test_ssh_cut(self):
        r = self.launch(["-H", "h1:1,h2:1,h3:1,h4:1", self.probe, "wait"])
        self.assertEqual(len(r.wait_lines(r"^ready ", 4)), 4, r.err)
        self.cluster.cut_ssh("h3")
        rc = r.finish(timeout=60)
        self.assertNotEqual(rc, 0)
        self.assertIsNotNone(rc)
        self.assertEqual(len(r.err), 1, r.err)
        self.assertIn("host h3", r.err[0])
        self.assert_nothing_left(timeout=60)  # sshd on h3 closes the channel after its keepalives

    def test_program_missing_on_one_host(self):
        self.cluster.hide_path("h3", os.path.dirname(self.probe))
        t = time.monotonic()
        r = self.launch(["-H", "h1:1,h2:1,h3:1,h4:1", self.probe, "wait"])
        rc = r.finish()
        self.assertNotEqual(rc, 0)
        self.assertEqual(len(r.err), 1, r.err)
        self.assertIn("host h3", r.err[0])
        self.assertIn(self.probe, r.err[0])
        self.assertLess(time.monotonic() - t, 60)
        self.assert_nothing_left()

    def test_unreachable_host_and_refused_login(self):
        c = self.cluster
        for fault, undo, expect in ((c.stop_sshd, c.start_sshd, "refused"),
                                    (c.deny_login, c.allow_login, "Permission denied")):
            fault("h4")
            r = self.launch(["--launch-timeout", "20", "-H", "h1:1,h2:1,h4:1", self.probe, "wait"])
            rc = r.finish(timeout=60)
            undo("h4")
            self.assertIsNotNone(rc, "camurerun hung")
            self.assertNotEqual(rc, 0)
            self.assertEqual(len(r.err), 1, r.err)
            self.assertIn("host h4", r.err[0])
            self.assertIn(expect, r.err[0])
            self.assert_nothing_left()

    def test_tree_launch(self):
        # Fan-out 1: h1 starts h2's proxy, which starts h3's, which starts h4's, over ssh.
        c = self.cluster
        r = self.launch(["--launch-fanout", "1", "-H", "h1:2,h2:2,h3:2,h4:2", self.probe, "kv"])
        self.assertEqual(r.finish(), 0, r.err + r.out)
        self.assertEqual(len(r.out), 8, r.out)
        for line in r.out:
            m = re.match(r"^kv (\d+) ok 64 (\d+) (\S+)$", line)
            self.assertIsNotNone(m, line)
            self.assertEqual(m.group(3), c.addr(c.hosts[int(m.group(1)) // 2]))
        r = self.launch(["--launch-fanout", "1", "-H", "h1:2,h2:2,h3:2,h4:2", self.probe, "wait"])
        ready = r.wait_lines(r"^ready ", 8)
        self.assertEqual(len(ready), 8, r.err)
        pid = int([l for l in ready if l.startswith("ready 7 ")][0].split()[2])
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(r.finish(), 137)
        self.assertEqual(len(r.err), 1, r.err)
        self.assertIn("rank 7 (pid %d) on host h4" % pid, r.err[0])
        self.assert_nothing_left()

    def test_killed_camurerun_leaves_nothing(self):
        r = self.launch(["-H", "h1:2,h2:2,h3:2,h4:2", self.probe, "wait"])
        self.assertEqual(len(r.wait_lines(r"^ready ", 8)), 8, r.err)
        r.proc.send_signal(signal.SIGKILL)
        r.finish()
        self.assert_nothing_left()


if __name__ == "__main__":
    clustertest.main()
