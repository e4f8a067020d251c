#!/usr/bin/env python3
"""The MPI-style runtime across 4 namespace hosts (issue 5): camurerun inside h1 launches
2 ranks on each of h1..h4 over real ssh; the node leaders talk over the job's multicast
session. Runs the runtime's existing check programs (barrier ordering, bcast from every root
0 B .. 64 MiB content-checked, pub/sub counts and order), with a host list and a host file,
and again with 5 % packet loss. Build camurerun, camure-proxy and test_runtime_prog_cxx first."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness"))
import clustertest  # noqa: E402
from clustertest import find_binary  # noqa: E402

HOSTS = "h1:2,h2:2,h3:2,h4:2"


class RuntimeCluster(clustertest.ClusterTestCase):
    HOSTS = 4

    @classmethod
    def setUpClass(cls):
        cls.camurerun = find_binary("camurerun")
        cls.prog = find_binary("test_runtime_prog_cxx")
        if not cls.camurerun or not cls.prog or not find_binary("camure-proxy"):
            raise AssertionError("build camurerun, camure-proxy and test_runtime_prog_cxx first")
        super().setUpClass()

    def tearDown(self):
        self.cluster.clear_loss()
        super().tearDown()

    def run_job(self, hosts_args, prog_args, timeout=240):
        c = self.cluster
        argv = [self.camurerun, "--ssh-opts", "-F " + c.ssh_config] + hosts_args + ["-n", "8", self.prog] + prog_args
        r = c.run("h1", argv, timeout=timeout,
                  env=dict(os.environ, CAMURE_COLLECTIVE_TIMEOUT="120"))
        self.assertEqual(r.returncode, 0, "camurerun %s failed:\n%s\n%s" % (" ".join(argv), r.stdout[-4000:],
                                                                          r.stderr[-4000:]))
        for h in self.cluster.hosts:
            self.assertEqual(self.cluster.pgrep(h, "test_runtime_prog"), [], "rank left on " + h)
        return r

    def barrier(self, hosts_args):
        with tempfile.NamedTemporaryFile(dir=os.environ.get("CAMURE_BUILD_DIR", None), prefix="rt-cluster-",
                                         delete=False) as f:
            path = f.name
        try:
            self.run_job(hosts_args, ["barrier", "200", path])
        finally:
            os.unlink(path)

    def test_barrier_ordering(self):
        self.barrier(["-H", HOSTS])

    def test_bcast_every_root(self):
        self.run_job(["-H", HOSTS], ["bcast", "all"])

    def test_pubsub(self):
        self.run_job(["-H", HOSTS], ["pubsub", "200"])

    def test_hostfile(self):
        hf = self.cluster.write_hostfile(slots=2)
        self.barrier(["--hostfile", hf])
        self.run_job(["--hostfile", hf], ["bcast", "ends"])

    def test_with_loss(self):
        self.cluster.set_loss(5)
        self.barrier(["-H", HOSTS])
        self.run_job(["-H", HOSTS], ["bcast", "ends"])
        self.run_job(["-H", HOSTS], ["pubsub", "100"])
        self.assertGreater(self.cluster.dropped(), 0, "the loss rule dropped nothing")


if __name__ == "__main__":
    clustertest.main()
