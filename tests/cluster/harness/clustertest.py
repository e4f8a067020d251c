"""unittest support for cluster tests: a shared-cluster base class and a CTest-aware main().

    import clustertest
    class MyTest(clustertest.ClusterTestCase):
        HOSTS = 4
        def test_x(self):
            self.cluster.ssh("h1", "h2", "true")
    if __name__ == "__main__":
        clustertest.main()

main() runs the cases named on the command line (`Class.test` or just `test`; all if none),
prints skip reasons, and exits 0 on success, 1 on failure and 77 (CTest SKIP_RETURN_CODE) if
every case that ran was skipped, so a skip never looks like a pass.
"""

import os
import shutil
import sys
import unittest

from netcluster import SKIP_EXIT, Cluster
from nsutil import poll_for  # noqa: F401 - re-exported for tests (in __all__)

__all__ = ["ClusterTestCase", "main", "poll_for", "build_dir", "find_binary"]


class ClusterTestCase(unittest.TestCase):
    """Builds one Cluster(HOSTS) for the whole class (skips the class if impossible) and undoes
    every fault (loss, cuts, stopped sshd, hidden paths) before each test."""

    HOSTS = 4
    cluster = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = Cluster(cls.HOSTS)
        cls.addClassCleanup(cls.cluster.close)
        cls.cluster.start()

    def setUp(self):
        super().setUp()
        self.cluster.reset_faults()


def build_dir():
    """The CMake build directory (CAMURE_BUILD_DIR, set by camure_add_cluster_test), or None."""
    return os.environ.get("CAMURE_BUILD_DIR")


def find_binary(name):
    """Absolute path of a built program: searched under the build directory, then PATH."""
    bd = build_dir()
    if bd:
        for root, _dirs, files in os.walk(bd):
            if name in files and os.access(os.path.join(root, name), os.X_OK):
                return os.path.join(root, name)
    return shutil.which(name)


def _collect(names, module):
    loader = unittest.TestLoader()
    if not names:
        return loader.loadTestsFromModule(module)
    suite = unittest.TestSuite()
    all_ids = {t.id().split(".", 1)[1]: t for t in _flatten(loader.loadTestsFromModule(module))}
    for name in names:
        hits = [t for tid, t in all_ids.items()
                if tid == name or tid.endswith("." + name) or tid.endswith(".test_" + name)]
        if not hits:
            raise SystemExit(f"no test case named {name!r}; have: {', '.join(sorted(all_ids))}")
        suite.addTests(hits)
    return suite


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main(argv=None, module=None):
    """Runs the selected cases; exits 0 pass, 1 fail, 77 all skipped. `--list` lists cases."""
    argv = sys.argv[1:] if argv is None else argv
    module = module or sys.modules["__main__"]
    if argv[:1] == ["--list"]:
        for t in _flatten(unittest.TestLoader().loadTestsFromModule(module)):
            print(t.id().split(".", 1)[1])
        sys.exit(0)
    suite = _collect(argv, module)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    sys.stdout.flush()
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun == 0 and not result.skipped:
        print("no test ran")
        sys.exit(1)
    if len(result.skipped) >= result.testsRun:
        for test, reason in result.skipped:
            print(f"SKIPPED {test}: {reason}")
        sys.exit(SKIP_EXIT)
    sys.exit(0)
