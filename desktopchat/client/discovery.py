"""Finding rooms on the LAN: DNS-SD over mDNS (``_desktopchat._tcp.local.``), never blocking.

A :class:`RoomBrowser` keeps a live list of rooms as hosts appear and leave; :func:`find_rooms`
collects what answers within a timeout. Without a network, both are quietly empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from zeroconf import Error as ZeroconfError
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from desktopchat.protocol.discovery import SERVICE_TYPE, decode_record

logger = logging.getLogger("desktopchat.client")

_RESOLVE_MS = 3000


@dataclass(frozen=True, slots=True)
class FoundRoom:
    """A room announced on the LAN."""

    instance: str
    room: str
    host: str
    ip: str
    port: int
    path: str
    token_required: bool
    members: int | None
    version: str
    fingerprint: str = ""

    @property
    def url(self) -> str:
        """The address to join it with (``wss``: rooms on the LAN serve TLS). The announced
        fingerprint is not put in it: mDNS can be spoofed, so joining asks the user to check
        a new identity (a link cannot lie)."""
        # Always TLS: a spoofed record without a fingerprint must not lead to clear text.
        return f"wss://{self.ip}:{self.port}{self.path}"


def room_from(info: AsyncServiceInfo) -> FoundRoom | None:
    """The room an mDNS answer describes, or ``None`` when it is incomplete."""
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or info.port is None:
        return None
    record = decode_record(info.properties, (info.server or "").removesuffix(".local."))
    return FoundRoom(
        instance=info.name,
        room=record.room,
        host=record.host,
        ip=addresses[0],
        port=info.port,
        path=record.path,
        token_required=record.token_required,
        members=record.members,
        version=record.version,
        fingerprint=record.fingerprint,
    )


class RoomBrowser:
    """Watches the LAN; ``on_change(rooms)`` gets the whole current list on every change."""

    def __init__(self, on_change: Callable[[list[FoundRoom]], None]) -> None:
        self._on_change = on_change
        self._rooms: dict[str, FoundRoom] = {}
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.problem: str | None = None
        """Why it is not looking (no network but loopback, say), once :meth:`start` failed."""

    @property
    def rooms(self) -> list[FoundRoom]:
        """The rooms seen so far, by name."""
        return sorted(self._rooms.values(), key=lambda room: (room.room, room.host))

    async def start(self) -> None:
        """Start listening; no network means no rooms, not an error. A browser stopped
        before it started never starts."""
        if self._stopped:
            return
        try:
            self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
            self._browser = AsyncServiceBrowser(
                self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._changed]
            )
        except (OSError, ZeroconfError, RuntimeError) as exc:
            # zeroconf raises RuntimeError when no interface but loopback has an address.
            self.problem = str(exc) or type(exc).__name__
            logger.info("not looking for rooms on the LAN: %s", exc)
            await self.stop()

    async def stop(self) -> None:
        """Stop listening and release the sockets (again and again, harmlessly)."""
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        browser, self._browser = self._browser, None
        zeroconf, self._zeroconf = self._zeroconf, None
        with contextlib.suppress(OSError, ZeroconfError):
            if browser is not None:
                await browser.async_cancel()
            if zeroconf is not None:
                await zeroconf.async_close()

    def _changed(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            if self._rooms.pop(name, None) is not None:
                self._on_change(self.rooms)
            return
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, service_type, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, _RESOLVE_MS):
            return
        found = room_from(info)
        if found is not None and self._rooms.get(name) != found:
            self._rooms[name] = found
            self._on_change(self.rooms)


class NoNetwork(Exception):
    """This computer has no network to look for rooms on (only loopback, or none)."""


async def find_rooms(listen: float = 3.0) -> list[FoundRoom]:
    """The rooms that announce themselves within ``listen`` seconds; :class:`NoNetwork`
    when there is no network to listen on."""
    browser = RoomBrowser(lambda _rooms: None)
    await browser.start()
    if browser.problem is not None:
        raise NoNetwork(browser.problem)
    try:
        await asyncio.sleep(listen)
        return browser.rooms
    finally:
        await browser.stop()
