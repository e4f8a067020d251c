"""Command line of the cluster harness (`python3 netcluster.py <command>`)."""

import argparse
import json
import os
import signal
import subprocess
import sys

import nsutil
import runs
from netcluster import SKIP_EXIT, Cluster, ClusterUnavailable


def _up(args):
    try:
        c = Cluster(args.hosts, shm_size=args.shm_size, detached=True, shared_home=args.shared_home)
        c.start()
    except ClusterUnavailable as exc:
        print(f"netcluster: cannot build a cluster here: {exc}", file=sys.stderr)
        return SKIP_EXIT
    info = c.describe()
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(f"RUNID={c.run_id}")
        print(f"SSH_CONFIG={c.ssh_config}")
        print(f"SSH_WRAPPER={c.ssh_wrapper}")
        print(f"HOSTFILE={c.write_hostfile(slots=args.slots)}")
        print(f"HOSTFILE_MPICH={c.write_hostfile(slots=args.slots, style='mpich')}")
        for h, d in info["hosts"].items():
            print(f"{h.upper()}={d['addr']}")
        print(f"# run inside a host: {sys.argv[0]} run {c.run_id} h1 -- CMD...", file=sys.stderr)
        print(f"# tear down:          {sys.argv[0]} down {c.run_id}", file=sys.stderr)
    return 0


def _run(args):
    c = Cluster.attach(args.run_id)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        print("netcluster: run needs a command after the host", file=sys.stderr)
        return 2
    prefix = c.nsenter_argv(args.host)
    os.execvp(prefix[0], prefix + argv)
    return 127  # not reached


def _with(args):
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        print("netcluster: with needs a command", file=sys.stderr)
        return 2
    c = Cluster(args.hosts, shm_size=args.shm_size, shared_home=args.shared_home)
    try:
        c.start()
    except ClusterUnavailable as exc:
        print(f"SKIPPED: cannot build a cluster here: {exc}", file=sys.stderr)
        return SKIP_EXIT
    try:
        env = dict(os.environ, **c.env())
        if args.inside == "root":
            rc = subprocess.call(argv, env=env)
        else:
            rc = c.run(args.inside, argv, env=env, timeout=None, stdin=None, stdout=None,
                       stderr=None).returncode
    finally:
        c.close()
    return rc if rc >= 0 else 128 - rc


def _loss(args):
    c = Cluster.attach(args.run_id)
    c.set_loss(args.percent, host=args.host)
    return 0


def _cut(args):
    c = Cluster.attach(args.run_id)
    if args.ssh_only:
        (c.cut_ssh if args.cmd == "cut" else c.restore_ssh)(args.host)
    else:
        (c.cut_link if args.cmd == "cut" else c.restore_link)(args.host)
    return 0


def _kill(args):
    c = Cluster.attach(args.run_id)
    name = args.signal.upper()
    sig = getattr(signal, name if name.startswith("SIG") else "SIG" + name, None)
    if not isinstance(sig, signal.Signals):
        raise ValueError(f"unknown signal {args.signal!r}")
    for pid in c.kill_all(args.host, args.pattern, sig):
        print(pid)
    return 0


def _down(args):
    for rid in args.run_ids:
        if not runs.DIR_RE.match(f"{runs.PREFIX}-{rid}"):
            print(f"netcluster: {rid!r} is not a run id (6 hex digits)", file=sys.stderr)
            return 2
        runs.teardown_run(rid)
        print(f"removed {rid}")
    return 0


def _list(_args):
    for rid in runs.known_runs():
        state = "alive" if runs.run_alive(rid) else "stale"
        print(f"{rid} {state} {' '.join(runs.run_namespaces(rid))}")
    return 0


def _cleanup(_args):
    for rid in runs.cleanup_stale():
        print(f"removed stale run {rid}")
    return 0


def main(argv):
    if argv[:1] == ["_reap"] and len(argv) == 2:
        runs.reaper_main(argv[1])
        return 0
    ap = argparse.ArgumentParser(prog="netcluster.py",
                                 description="Network-namespace cluster with sshd per host.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="create a detached cluster and print its description")
    p.add_argument("--hosts", type=int, default=4)
    p.add_argument("--shm-size", default=None, help="size of each host's /dev/shm (e.g. 1g)")
    p.add_argument("--slots", type=int, default=1, help="slots per host in the host files")
    p.add_argument("--shared-home", action="store_true",
                   help="ssh sessions get the account's own HOME (default: an empty one per host)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_up)
    p = sub.add_parser("run", help="run a command inside a host of a run")
    p.add_argument("run_id")
    p.add_argument("host")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(fn=_run)
    p = sub.add_parser("with", help="build a cluster, run a command, tear it down; exit "
                       "with its status (77 if no cluster can be built here)")
    p.add_argument("--hosts", type=int, default=4)
    p.add_argument("--shm-size", default=None)
    p.add_argument("--shared-home", action="store_true",
                   help="ssh sessions get the account's own HOME (default: an empty one per host)")
    p.add_argument("--in", dest="inside", default="h1",
                   help="host to run the command in, or 'root' for the machine's namespaces")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(fn=_with)
    p = sub.add_parser("loss", help="set the loss on the bridge (0 clears)")
    p.add_argument("run_id")
    p.add_argument("percent", type=float)
    p.add_argument("--host", default=None, help="only traffic to and from this host")
    p.set_defaults(fn=_loss)
    for name, what in (("cut", "unplug a host (or only its ssh)"),
                       ("restore", "undo cut")):
        p = sub.add_parser(name, help=what)
        p.add_argument("run_id")
        p.add_argument("host")
        p.add_argument("--ssh-only", action="store_true")
        p.set_defaults(fn=_cut)
    p = sub.add_parser("kill", help="signal a host's processes whose command line matches")
    p.add_argument("run_id")
    p.add_argument("host")
    p.add_argument("pattern")
    p.add_argument("--signal", default="KILL")
    p.set_defaults(fn=_kill)
    p = sub.add_parser("down", help="tear runs down")
    p.add_argument("run_ids", nargs="+")
    p.set_defaults(fn=_down)
    sub.add_parser("list", help="list runs").set_defaults(fn=_list)
    sub.add_parser("cleanup", help="remove leftovers of dead runs").set_defaults(fn=_cleanup)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except (nsutil.HarnessError, ValueError) as exc:
        print(f"netcluster: {exc}", file=sys.stderr)
        return 1
