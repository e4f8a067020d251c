"""Builds the pieces of a cluster: the switch, one host's link and address, a host's anchor.

The switch is a network namespace holding bridge br0 (multicast snooping off, so multicast
floods to every port; STP off, so a port forwards as soon as it is up). A host is a network
namespace whose eth0 is one end of a veth pair; the other end, p<i>, is a port of br0. The
host's anchor process holds its private mount, UTS and IPC namespaces (own /dev/shm, /run,
/etc/hosts, hostname and System V IPC); everything else enters those with nsenter.
"""

import os
import subprocess

import nsutil
from nsutil import HarnessError


def sysctl(ns, settings):
    """Sets sysctls (["key=value", ...]) inside network namespace ns (net.* is per namespace)."""
    nsutil.cmd(["nsenter", f"--net=/run/netns/{ns}", "--", "sysctl", "-q", "-w"] + settings)


def ip_batch(ns, lines):
    """Runs `ip` commands inside ns in one process."""
    nsutil.cmd(["ip", "-n", ns, "-batch", "-"], input_text="\n".join(lines) + "\n")


def build_switch(sw):
    """Fills the (existing) switch namespace sw: lo, bridge br0, no IPv6 on the switch itself
    (so the bridge adds no ND/MLD frames of its own)."""
    sysctl(sw, ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
    ip_batch(sw, ["link set lo up", "link add br0 type bridge",
                  "link set br0 type bridge mcast_snooping 0 stp_state 0",
                  "link set br0 up"])


def add_host_link(sw, ns, index, address, iface, mtu):
    """Plugs the (existing) host namespace ns into the switch as port p<index>, with
    address/24 on iface, lo up and the multicast route 224.0.0.0/4 via iface. IPv6 link-local
    addresses are usable at once (no duplicate address detection delay)."""
    sysctl(ns, ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
    ip_batch(ns, [
        f"link add {iface} mtu {mtu} type veth peer name p{index} netns {sw}",
        "link set lo up",
        f"addr add {address}/24 dev {iface}",
        f"link set {iface} up",
        f"route add 224.0.0.0/4 dev {iface}"])
    ip_batch(sw, [f"link set p{index} mtu {mtu} master br0", f"link set p{index} up"])


def start_anchor(host_dir, host, ns, shm_size=None, timeout=15):
    """Starts the anchor of a host: in netns ns, new mount, UTS and IPC namespaces, a fresh tmpfs
    on /dev/shm (size shm_size if given) and /run, host_dir/hosts bound on /etc/hosts, and
    hostname host. Returns its Popen once it is ready (HarnessError with its log otherwise)."""
    size = f",size={shm_size}" if shm_size else ""
    script = "\n".join([
        "set -e",
        f"mount -t tmpfs -o mode=1777{size} camure-shm /dev/shm",
        "mount -t tmpfs -o mode=755,size=64m camure-run /run",
        "mkdir -p /run/sshd /run/lock /run/user/0",
        "chmod 700 /run/user/0",
        "ln -s /dev/shm /run/shm",
        f"mount --bind {host_dir}/hosts /etc/hosts",
        f"hostname {host}",
        "echo ready",
        "exec sleep infinity </dev/null >/dev/null 2>&1"])
    log_path = os.path.join(host_dir, "anchor.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--mount", "--uts", "--ipc",
             "--propagation", "private", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True, cwd="/")
    try:
        line = nsutil.read_line(proc.stdout, timeout)
    finally:
        proc.stdout.close()
    if line.strip() != "ready":
        proc.kill()
        proc.wait()
        with open(log_path, encoding="utf-8", errors="replace") as f:
            err = f.read().strip()
        raise HarnessError(f"{host}: namespace set-up failed: {err or 'no output'}")
    return proc
