"""The addresses people can join a server with: one per LAN IPv4 address of the machine."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import ifaddr

from desktopchat.protocol import DEFAULT_ROOM, page_path, room_path


@dataclass(frozen=True, slots=True)
class JoinAddress:
    """Where to join: ``app`` for desktopchat and WebSocket clients, ``browser`` for the page."""

    ip: str
    app: str
    browser: str


def lan_ipv4_addresses() -> list[str]:
    """Every IPv4 address of the machine's interfaces except loopback and link-local."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for entry in adapter.ips:
            if not isinstance(entry.ip, str):
                continue
            ip = ipaddress.IPv4Address(entry.ip)
            if (
                not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)
                and entry.ip not in found
            ):
                found.append(entry.ip)
    return found


NO_LAN_WARNING = (
    "no network address found: only this computer can join. Connect to a network, then host again."
)


def is_wildcard(host: str) -> bool:
    """Whether ``host`` means every address of the machine."""
    return host in ("", "0.0.0.0", "::")  # noqa: S104 - naming the wildcard, not binding it


def lan_warning(host: str) -> str:
    """Why a server on ``host`` cannot be joined from the LAN, or ``""`` when it can.

    A wildcard host with no LAN address (no Wi-Fi, no cable) falls back to loopback, which
    nobody else can reach: say so rather than offer ``127.0.0.1`` to share.
    """
    return NO_LAN_WARNING if is_wildcard(host) and not lan_ipv4_addresses() else ""


def join_addresses(
    host: str, port: int, room: str = DEFAULT_ROOM, *, tls: bool = False
) -> list[JoinAddress]:
    """The addresses a server bound to ``host``:``port`` can be reached at.

    A wildcard host (``0.0.0.0``, ``::``, empty) means every LAN address; loopback stays
    loopback (nobody else can join); a specific address is itself.
    """
    ips = (lan_ipv4_addresses() or ["127.0.0.1"]) if is_wildcard(host) else [host]
    path = room_path(room)
    result = []
    for ip in ips:
        netloc = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        page = page_path(room)
        ws, web = ("wss", "https") if tls else ("ws", "http")
        result.append(JoinAddress(ip, f"{ws}://{netloc}{path}", f"{web}://{netloc}{page}"))
    return result
