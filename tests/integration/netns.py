"""Two network namespaces joined by a veth pair: a private LAN for mDNS tests (needs root)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Lan:
    """Namespaces ``host`` (10.77.0.1) and ``guest`` (10.77.0.2) on one link."""

    host: str
    guest: str

    def command(self, namespace: str, *argv: str) -> list[str]:
        """``argv`` run inside ``namespace``."""
        return ["ip", "netns", "exec", namespace, *argv]


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=10)


@contextmanager
def private_lan() -> Iterator[Lan]:
    """Create the two namespaces (removed afterwards, whatever happens)."""
    if os.geteuid() != 0:
        raise PermissionError("the mDNS tests create network namespaces and must run as root")
    tag = uuid.uuid4().hex[:6]
    lan = Lan(host=f"dc{tag}h", guest=f"dc{tag}g")
    ends = {lan.host: (f"dc{tag}a", "10.77.0.1/24"), lan.guest: (f"dc{tag}b", "10.77.0.2/24")}
    created: list[str] = []
    try:
        for namespace in ends:
            _ip("netns", "add", namespace)
            created.append(namespace)
        (end_a, _), (end_b, _) = ends.values()
        _ip("link", "add", end_a, "type", "veth", "peer", "name", end_b)
        for namespace, (end, address) in ends.items():
            _ip("link", "set", end, "netns", namespace)
            _ip("-n", namespace, "addr", "add", address, "dev", end)
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", namespace, "link", "set", end, "up")
            # mDNS sends to 224.0.0.251: without a route for it there is "no route to host".
            _ip("-n", namespace, "route", "add", "224.0.0.0/4", "dev", end)
        yield lan
    finally:
        for namespace in created:
            subprocess.run(["ip", "netns", "del", namespace], check=False, timeout=10)
