"""Fault injection on a cluster: packet loss, link and ssh cuts, hidden paths, and undoing
them all. A mixin of netcluster.Cluster (uses its hosts, index, switch_ns, run, start_sshd,
_loss, _anchors and _sshd)."""

import os

import netbuild
import nsutil


class Faults:
    def set_loss(self, percent, host=None):
        """Drops percent % (0..100, two decimals) of IPv4/IPv6 frames crossing the bridge;
        only those to or from host if given. Replaces any previous loss setting."""
        self._loss.set(percent, None if host is None else self.index(host))

    def clear_loss(self):
        self._loss.clear()

    def dropped(self):
        """Frames dropped by the loss rule since the last set_loss()."""
        return self._loss.dropped()

    def cut_link(self, host):
        """Unplugs the host's cable at the switch: its traffic vanishes silently."""
        nsutil.cmd(["ip", "-n", self.switch_ns, "link", "set", f"p{self.index(host)}", "down"])

    def restore_link(self, host):
        nsutil.cmd(["ip", "-n", self.switch_ns, "link", "set", f"p{self.index(host)}", "up"])

    def cut_ssh(self, host):
        """Silently drops ssh (TCP port 22, either side) to and from host; other traffic,
        multicast included, flows on. Sessions stall and die by keepalive timeout."""
        self._loss.block_tcp_port(self.index(host), 22)

    def restore_ssh(self, host):
        self._loss.block_tcp_port(self.index(host), 22, blocked=False)

    def deny_login(self, host):
        """Restarts the host's sshd so that it refuses every login after authentication
        ("Permission denied"); sessions it already opened keep running. Undone by
        allow_login() or reset_faults()."""
        self.stop_sshd(host)
        self.start_sshd(host, options=("DenyUsers=*",))
        self._denied.add(host)

    def allow_login(self, host):
        self.stop_sshd(host)
        self.start_sshd(host)
        self._denied.discard(host)

    def hide_path(self, host, directory):
        """Makes a directory look empty on one host only (an empty tmpfs over it in the host's
        mount namespace), e.g. so a program is missing there. Visible to ssh sessions too."""
        if not os.path.isdir(directory):
            raise ValueError(f"hide_path needs an existing directory, not {directory!r}")
        self.run(host, ["mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "camure-hidden",
                        os.path.abspath(directory)], check=True)

    def unhide_path(self, host, directory):
        self.run(host, ["umount", os.path.abspath(directory)], check=True)

    def _hidden_paths(self, host):
        anchor, _ = self._anchors[host]
        paths = []
        with open(f"/proc/{anchor}/mountinfo", encoding="utf-8") as f:
            for line in f:
                before, _, after = line.partition(" - ")
                if after.split()[1:2] == ["camure-hidden"]:
                    paths.append(before.split()[4])
        return paths

    def reset_faults(self):
        """Undoes every fault: loss, link and ssh cuts, stopped or denying sshds, hidden paths.

        ClusterTestCase calls it before each test so tests sharing a cluster stay independent.
        """
        self._loss.clear()
        self._loss.clear_blocks()
        netbuild.ip_batch(self.switch_ns, [f"link set p{self.index(h)} up" for h in self.hosts])
        for host in self.hosts:
            for path in reversed(self._hidden_paths(host)):
                self.run(host, ["umount", path], check=True)
            sshd = self._sshd.get(host)
            pid = sshd if isinstance(sshd, int) else getattr(sshd, "pid", None)
            if host in self._denied or pid is None or not nsutil.proc_alive(pid):
                self.stop_sshd(host)
                self.start_sshd(host)
                self._denied.discard(host)
