"""Low-level helpers for the cluster harness: commands, network namespaces, processes, polling.

Python 3 standard library only. Nothing here knows about clusters; netcluster.py composes it.
"""

import os
import select
import signal
import subprocess
import time


class HarnessError(RuntimeError):
    """A harness operation failed (the message names the command and its error output)."""


def cmd(argv, check=True, timeout=30, input_text=None):
    """Runs argv to completion with a deadline; returns CompletedProcess (text, captured).

    Raises HarnessError when check is set and the command fails or times out.
    """
    try:
        res = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                             timeout=timeout, check=False, stdin=None if input_text is not None
                             else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"timed out after {timeout}s: {' '.join(argv)}") from exc
    except OSError as exc:
        raise HarnessError(f"cannot run {argv[0]}: {exc}") from exc
    if check and res.returncode != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise HarnessError(f"{' '.join(argv)} failed ({res.returncode}): "
                           f"{detail[-1] if detail else 'no output'}")
    return res


def poll_for(cond, timeout, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value or the deadline passes.

    Returns the truthy value; raises TimeoutError naming `what` otherwise. The interval grows
    up to 0.2 s so long waits do not burn CPU.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


def netns_list():
    """Names of all named network namespaces (from /run/netns)."""
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def netns_pids(name):
    """PIDs of every process whose network namespace is the named one."""
    res = cmd(["ip", "netns", "pids", name], check=False, timeout=10)
    if res.returncode != 0:
        return []
    return [int(tok) for tok in res.stdout.split() if tok.isdigit()]


def proc_start_time(pid):
    """Start time (clock ticks since boot) of pid, or None if it does not exist (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: fields resume after the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def proc_alive(pid, start_time=None):
    """True if pid runs (not a zombie) and, when given, started at start_time."""
    st = proc_start_time(pid)
    return st is not None and (start_time is None or st == start_time)


def proc_cmdline(pid):
    """The command line of pid as one space-joined string ('' if gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")


def kill_pid(pid, sig=signal.SIGKILL):
    """Sends sig to pid; a process that is already gone is not an error."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def kill_netns_processes(name, timeout=10):
    """SIGKILLs every process in the named network namespace until none is left.

    Repeats because a process may fork while we kill. Raises HarnessError if processes remain
    at the deadline (for example stuck in uninterruptible sleep).
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in netns_pids(name) if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            kill_pid(pid)
        if time.monotonic() >= deadline:
            raise HarnessError(f"processes {pids} in netns {name} survive SIGKILL")
        time.sleep(0.02)


def ns_inode(pid, kind):
    """The namespace identity (e.g. 'mnt:[4026531841]') of pid for kind, or None if gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def kill_mntns_processes(mnt_ids, timeout=10):
    """SIGKILLs every process whose mount namespace is one of mnt_ids (never this process's
    nor init's), until none is left. Catches what left a host's network namespace (e.g. by
    `unshare -n`) but still lives in its mount namespace."""
    mnt_ids = set(mnt_ids) - {ns_inode(os.getpid(), "mnt"), ns_inode(1, "mnt"), None}
    if not mnt_ids:
        return
    deadline = time.monotonic() + timeout
    while True:
        pids = [int(p) for p in os.listdir("/proc")
                if p.isdigit() and int(p) != os.getpid() and ns_inode(p, "mnt") in mnt_ids]
        pids = [p for p in pids if proc_alive(p)]
        if not pids:
            return
        for pid in pids:
            kill_pid(pid)
        if time.monotonic() >= deadline:
            raise HarnessError(f"processes {pids} in a host mount namespace survive SIGKILL")
        time.sleep(0.02)


def netns_delete(name):
    """Deletes a named network namespace; a missing one is not an error."""
    res = cmd(["ip", "netns", "delete", name], check=False, timeout=10)
    if res.returncode != 0 and name in netns_list():
        raise HarnessError(f"ip netns delete {name}: {res.stderr.strip()}")


def read_listening_ports(pid, proto="tcp"):
    """Ports bound in the network namespace of pid: TCP in LISTEN state, or bound UDP sockets
    (IPv4 and IPv6)."""
    if proto not in ("tcp", "udp"):
        raise ValueError(f"proto must be tcp or udp, not {proto!r}")
    ports = set()
    for table in (proto, proto + "6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) > 3 and (proto == "udp" or cols[3] == "0A"):
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except (OSError, StopIteration):
            continue
    return ports


def read_listening_tcp_ports(pid):
    """TCP ports in LISTEN state in the network namespace of pid (IPv4 and IPv6)."""
    return read_listening_ports(pid, "tcp")


def read_line(pipe, timeout):
    """One line from a binary pipe within timeout seconds ('' on EOF or timeout)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            break
        chunk = os.read(pipe.fileno(), 256)
        if not chunk:
            break
        buf += chunk
    return buf.decode("utf-8", "replace")
