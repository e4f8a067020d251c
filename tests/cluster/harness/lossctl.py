"""Packet loss on the cluster's bridge with nftables (the kernel has no netem).

One table `bridge cmrnc` with a chain on the bridge forward hook lives in the switch
namespace. A loss setting is one rule per direction `numgen random mod 10000 < P*100 counter
drop`, matching IPv4 and IPv6 frames only (ARP passes, so neighbour resolution never stalls a
test). The forward hook sees each copy of a flooded multicast frame per egress port, so every
receiver loses its own independent share, like separate lossy links.
"""

import json

from nsutil import HarnessError, cmd

TABLE = "cmrnc"
CHAIN = "loss"
BLOCK = "block"  # per-host TCP port cuts (ssh), evaluated before the loss chain


class LossControl:
    def __init__(self, switch_ns):
        self._prefix = ["nsenter", f"--net=/run/netns/{switch_ns}", "--"]

    def _nft(self, script):
        res = cmd(self._prefix + ["nft", "-f", "-"], check=False, input_text=script)
        if res.returncode != 0:
            raise HarnessError(f"nft failed: {res.stderr.strip()}")

    def install(self):
        self._nft(f"add table bridge {TABLE}\n"
                  f"add chain bridge {TABLE} {CHAIN} "
                  "{ type filter hook forward priority 0; policy accept; }\n"
                  f"add chain bridge {TABLE} {BLOCK} "
                  "{ type filter hook forward priority -10; policy accept; }\n")

    def block_tcp_port(self, port_index, tcp_port, blocked=True):
        """Drops (or stops dropping) TCP with port tcp_port either side, to or from switch
        port p<port_index>: connections of that host on that port stall silently.

        Stateless (rules carry a comment naming port and TCP port), so a CLI call in another
        process can undo what this one did.
        """
        tag = f"blk-p{port_index}-{int(tcp_port)}"
        handles = self._rule_handles(BLOCK, tag)
        if blocked and not handles:
            self._nft("".join(f'add rule bridge {TABLE} {BLOCK} {d}ifname "p{port_index}" '
                              f'tcp {e}port {int(tcp_port)} drop comment "{tag}"\n'
                              for d in ("i", "o") for e in ("s", "d")))
        elif not blocked and handles:
            self._nft("".join(f"delete rule bridge {TABLE} {BLOCK} handle {h}\n"
                              for h in handles))

    def _rule_handles(self, chain, comment):
        res = cmd(self._prefix + ["nft", "-j", "-a", "list", "chain", "bridge", TABLE, chain])
        return [item["rule"]["handle"] for item in json.loads(res.stdout).get("nftables", [])
                if "rule" in item and item["rule"].get("comment") == comment]

    def set(self, percent, port_index=None):
        """Drops percent % of IP frames; only via switch port p<port_index> if given."""
        try:
            p = float(percent)
        except (TypeError, ValueError):
            raise ValueError(f"loss percent must be a number, not {percent!r}") from None
        if not 0 <= p <= 100:
            raise ValueError(f"loss percent must be within 0..100, not {percent}")
        threshold = round(p * 100)
        match = "ether type { ip, ip6 }"
        rules = []
        if threshold > 0:
            sel = [""] if port_index is None else [f'iifname "p{port_index}" ',
                                                   f'oifname "p{port_index}" ']
            gen = f"numgen random mod 10000 < {threshold} " if threshold < 10000 else ""
            rules = [f"add rule bridge {TABLE} {CHAIN} {s}{match} {gen}counter drop\n"
                     for s in sel]
        self._nft(f"flush chain bridge {TABLE} {CHAIN}\n" + "".join(rules))

    def clear(self):
        self._nft(f"flush chain bridge {TABLE} {CHAIN}\n")

    def clear_blocks(self):
        """Removes every TCP port cut."""
        self._nft(f"flush chain bridge {TABLE} {BLOCK}\n")

    def dropped(self):
        """Frames the current loss rules dropped so far."""
        res = cmd(self._prefix + ["nft", "-j", "list", "chain", "bridge", TABLE, CHAIN])
        total = 0
        for item in json.loads(res.stdout).get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if isinstance(expr, dict) and "counter" in expr:
                    total += int(expr["counter"].get("packets", 0))
        return total
