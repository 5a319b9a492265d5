"""Network namespaces for the network-fault tests: one namespace per host, all plugged by veth
pairs into a bridge that lives in a namespace of its own (the "switch"), so that nothing is
added to the machine's own network namespace. Faults:

- ``cut(host)`` / ``restore(host)``: the host's switch port goes down / up. The host keeps its
  own interface up and its routes: its packets leave and are dropped at the switch, nobody gets a
  FIN, a RST or an error, as when a cable is pulled two hops away (ARP may fail later, as on a
  real LAN).
- ``partition(a, b)`` / ``heal(a, b)``: nftables rules drop what a receives from b and what b
  receives from a (input hooks: the sender's own stack sees nothing), while both keep their
  links to everyone else. Needs ``nft``; without it, falls back to cutting ``a``'s port.

Names start with ``otnf-<pid of the creating process>-``, so that concurrent runs never meet
and leftovers of a run that died can be recognised (``remove_stale``). Every command has a
timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Dict, List, Sequence, Tuple

PREFIX = "otnf-"
SUBNET = "10.77.0"  # inside the namespaces only: no clash with the machine's own networks


def _ip(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout, check=check)


def permitted() -> Tuple[bool, str]:
    """Whether this process may create network namespaces and veth pairs; the reason if not."""
    if shutil.which("ip") is None:
        return False, "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return False, "network namespaces need root (run as root, or in a container that allows `ip netns`)"
    name = f"{PREFIX}{os.getpid()}-probe"
    try:
        r = _ip("netns", "add", name, check=False)
        if r.returncode != 0:
            return False, f"`ip netns add` is not permitted here: {r.stderr.strip()}"
        r = _ip("-n", name, "link", "add", "pa", "type", "veth", "peer", "name", "pb", check=False)
        if r.returncode != 0:
            return False, f"veth pairs are not permitted here: {r.stderr.strip()}"
        r = _ip("-n", name, "link", "add", "br0", "type", "bridge", check=False)
        if r.returncode != 0:
            return False, f"bridges are not permitted here: {r.stderr.strip()}"
        return True, ""
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"`ip netns` failed: {e}"
    finally:
        _ip("netns", "del", name, check=False)


def have_nft() -> bool:
    return shutil.which("nft") is not None


def remove_stale() -> List[str]:
    """Deletes namespaces left by runs whose process is gone (their role processes exit by
    themselves when their controller's pipes close); the names deleted."""
    r = _ip("netns", "list", check=False)
    gone = []
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(rf"{PREFIX}(\d+)-", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            _ip("netns", "del", name, check=False)
            gone.append(name)
    return gone


class Network:
    """Hosts on one bridge. ``hosts`` maps a short host name (at most 12 characters) to the last
    byte of its address in ``SUBNET``.0/24."""

    def __init__(self, tag: str, hosts: Dict[str, int]) -> None:
        self.base = f"{PREFIX}{os.getpid()}-{tag}"
        self.switch = f"{self.base}-sw"
        self.hosts = dict(hosts)
        self.created: List[str] = []
        self.partitions: Dict[Tuple[str, str], str] = {}
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise

    def ns(self, host: str) -> str:
        return f"{self.base}-{host}"

    def addr(self, host: str) -> str:
        return f"{SUBNET}.{self.hosts[host]}"

    def port(self, host: str) -> str:
        return f"p-{host}"

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self.created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def _build(self) -> None:
        for h in self.hosts:
            if len(self.port(h)) > 15:
                raise ValueError(f"host name {h!r} is too long for an interface name")
        self._add_ns(self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for h in self.hosts:
            ns = self.ns(h)
            self._add_ns(ns)
            # Both ends are made where they live: nothing appears in the machine's namespace.
            _ip("-n", self.switch, "link", "add", self.port(h), "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", self.switch, "link", "set", self.port(h), "master", "br0")
            _ip("-n", self.switch, "link", "set", self.port(h), "up")
            _ip("-n", ns, "addr", "add", f"{self.addr(h)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def sysctl(self, host: str, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        subprocess.run(self.command(host, ["sh", "-c", f"echo {value} > {path}"]),
                       check=True, timeout=10, capture_output=True)

    def cut(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", self.port(host), "down")

    def restore(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", self.port(host), "up")

    def partition(self, a: str, b: str) -> str:
        """Silently drops all traffic between a and b, both ways; the method used."""
        if not have_nft():
            self.cut(a)
            self.partitions[(a, b)] = "link"
            return f"switch port of {a} down (nft not installed)"
        for here, there in ((a, b), (b, a)):
            rules = (
                f"table inet otnf_{there} {{\n"
                " chain input { type filter hook input priority -10; policy accept;\n"
                f"  ip saddr {self.addr(there)} drop\n"
                " }\n"
                "}\n"
            )
            subprocess.run(self.command(here, ["nft", "-f", "-"]), input=rules,
                           text=True, check=True, timeout=10, capture_output=True)
        self.partitions[(a, b)] = "nft"
        return f"nftables: {a} and {b} drop each other's packets on input"

    def heal(self, a: str, b: str) -> None:
        how = self.partitions.pop((a, b), None)
        if how == "link":
            self.restore(a)
        elif how == "nft":
            for here, there in ((a, b), (b, a)):
                subprocess.run(self.command(here, ["nft", "delete", "table", "inet", f"otnf_{there}"]),
                               check=False, timeout=10, capture_output=True)

    def command(self, host: str, argv: Sequence[str]) -> List[str]:
        """The argv that runs ``argv`` inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def teardown(self) -> List[str]:
        """Deletes every namespace made (and with them every veth and the bridge); what could
        not be deleted."""
        left = []
        for name in reversed(self.created):
            r = _ip("netns", "del", name, check=False)
            if r.returncode != 0 and "No such file" not in r.stderr:
                left.append(f"{name}: {r.stderr.strip()}")
        self.created.clear()
        return left



def namespaces_of_this_run() -> List[str]:
    r = _ip("netns", "list", check=False)
    mine = f"{PREFIX}{os.getpid()}-"
    return [line.split()[0] for line in r.stdout.splitlines() if line.split() and line.split()[0].startswith(mine)]
