"""Bookkeeping of harness runs: names, run directories, owners, teardown and stale cleanup.

A run is identified by a 6-hex-digit id. Everything it creates carries the prefix
`cmrnc-<id>`: the network namespaces `cmrnc-<id>-sw` and `cmrnc-<id>-h<i>`, and the run
directory `<base>/cmrnc-<id>`. Teardown needs nothing but the id, so it works from another
process (the reaper, `netcluster.py down`, `cleanup_stale()`).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import nsutil

PREFIX = "cmrnc"
NS_RE = re.compile(r"^cmrnc-([0-9a-f]{6})-(sw|h[0-9]+)$")
DIR_RE = re.compile(r"^cmrnc-([0-9a-f]{6})$")
# A run directory without an owner record yet is being created for at most this long.
CREATION_GRACE_S = 60


def base_dir():
    """Where run directories live (CAMURE_NETCLUSTER_DIR, default /tmp)."""
    return os.environ.get("CAMURE_NETCLUSTER_DIR", "/tmp")


def run_dir(rid):
    return os.path.join(base_dir(), f"{PREFIX}-{rid}")


def switch_ns(rid):
    return f"{PREFIX}-{rid}-sw"


def host_ns(rid, index):
    return f"{PREFIX}-{rid}-h{index}"


def run_namespaces(rid):
    """Existing namespaces of run rid, hosts first and the switch last."""
    names = [n for n in nsutil.netns_list() if NS_RE.match(n) and NS_RE.match(n).group(1) == rid]
    return sorted(names, key=lambda n: (n.endswith("-sw"), n))


def write_json(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def set_owner(rid, pid, detached=False):
    """Records which process keeps run rid alive (pid plus its start time, so reuse is seen)."""
    write_json(os.path.join(run_dir(rid), "owner.json"),
               {"pid": pid, "start": nsutil.proc_start_time(pid), "detached": detached})


def run_alive(rid):
    """True if the run's owner still lives (or the run is still being created)."""
    d = run_dir(rid)
    owner = read_json(os.path.join(d, "owner.json"))
    if owner is None:
        try:
            return time.time() - os.stat(d).st_mtime < CREATION_GRACE_S
        except OSError:
            return False
    return nsutil.proc_alive(owner.get("pid", -1), owner.get("start"))


def teardown_run(rid, timeout=15):
    """Removes every trace of run rid: kills all processes in its hosts' mount namespaces and
    in its network namespaces, deletes the network namespaces (veths and bridge go with them)
    and removes its run directory.

    Idempotent. Raises HarnessError if something could not be removed.
    """
    errors = []
    names = run_namespaces(rid)
    # The hosts' mount namespaces first (those of the anchors recorded in state.json, which
    # only host processes share): also catches processes that left a host's netns.
    state = read_json(os.path.join(run_dir(rid), "state.json")) or {}
    mnt_ids = {nsutil.ns_inode(pid, "mnt") for pid, start in state.get("anchors", {}).values()
               if nsutil.proc_alive(pid, start)}
    try:
        nsutil.kill_mntns_processes(mnt_ids, timeout=timeout)
    except nsutil.HarnessError as exc:
        errors.append(str(exc))
    for name in names:
        try:
            nsutil.kill_netns_processes(name, timeout=timeout)
        except nsutil.HarnessError as exc:
            errors.append(str(exc))
    for name in names:
        try:
            nsutil.netns_delete(name)
        except nsutil.HarnessError as exc:
            errors.append(str(exc))
    shutil.rmtree(run_dir(rid), ignore_errors=True)
    if os.path.exists(run_dir(rid)):
        errors.append(f"cannot remove {run_dir(rid)}")
    if errors:
        raise nsutil.HarnessError("; ".join(errors))


def known_runs():
    """Ids of every run that has a namespace or a run directory."""
    rids = {NS_RE.match(n).group(1) for n in nsutil.netns_list() if NS_RE.match(n)}
    try:
        entries = os.listdir(base_dir())
    except OSError:
        entries = []
    rids |= {DIR_RE.match(e).group(1) for e in entries if DIR_RE.match(e)}
    return sorted(rids)


def cleanup_stale():
    """Tears down leftovers of runs of this harness whose owner is dead; returns their ids.

    Only names with the harness's own prefix are looked at; live parallel runs are kept.
    """
    removed, errors = [], []
    for rid in known_runs():
        if not run_alive(rid):
            try:
                teardown_run(rid)
                removed.append(rid)
            except nsutil.HarnessError as exc:
                errors.append(f"{rid}: {exc}")
    if errors:
        raise nsutil.HarnessError("stale runs not removed: " + "; ".join(errors))
    return removed


# --- reaper: tears a run down when the process that owns it dies, even by SIGKILL -----------

def start_reaper(rid, harness_file):
    """Starts a detached reaper for run rid; returns (write_fd, reaper_pid, reaper_start).

    The reaper blocks reading a pipe whose only write end this process holds (non-inheritable,
    so no child keeps it open). When this process exits for any reason the pipe reaches EOF
    and the reaper tears the run down unless that already happened. The reaper double-forks
    into its own session so a test runner that kills our process tree does not kill it.
    """
    rfd, wfd = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, harness_file, "_reap", rid], stdin=rfd,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
                                close_fds=True)
    finally:
        os.close(rfd)
    try:
        line, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        os.close(wfd)
        raise nsutil.HarnessError("reaper did not start within 20 s") from None
    fields = line.split()
    if proc.returncode != 0 or len(fields) != 2:
        os.close(wfd)
        raise nsutil.HarnessError(f"reaper failed to start: {line!r}")
    return wfd, int(fields[0]), int(fields[1])


def reaper_main(rid):
    """Body of `netcluster.py _reap RID` (stdin: the owner's pipe; stdout: reports pid)."""
    if os.fork() != 0:
        os._exit(0)  # the intermediate exits at once; the grandchild is adopted by init
    os.setsid()
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    pid = os.getpid()
    os.write(1, f"{pid} {nsutil.proc_start_time(pid)}\n".encode())
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    while os.read(0, 4096):
        pass
    if os.path.isdir(run_dir(rid)) or run_namespaces(rid):
        # Another run can only be mistaken for ours by id, and ids are random per run.
        for _ in range(3):
            try:
                teardown_run(rid)
                break
            except nsutil.HarnessError:
                time.sleep(0.5)
    os._exit(0)
