"""Announces a hosted room on the LAN with DNS-SD over mDNS (``_desktopchat._tcp.local.``).

The TXT record carries what the Join screen shows before connecting: the room, the host's
display name, the path, whether a token is needed, the protocol version and the member count.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from desktopchat.protocol.discovery import SERVICE_TYPE, RoomRecord, encode_record

logger = logging.getLogger("desktopchat.server")


def service_name(room: str, host_name: str) -> str:
    """The instance name people see: ``chat on alice-laptop``."""
    label = f"{room} on {host_name}"[:63]
    return f"{label}.{SERVICE_TYPE}"


class Advertiser:
    """Registers one room on the LAN for as long as it is hosted."""

    def __init__(
        self,
        *,
        room: str,
        path: str,
        port: int,
        addresses: list[str],
        host_name: str | None = None,
        token_required: bool = False,
        fingerprint: str = "",
    ) -> None:
        self.host_name = host_name or socket.gethostname()
        self._addresses = addresses
        self._record = RoomRecord(
            room, self.host_name, path, token_required, fingerprint=fingerprint
        )
        self._port = port
        self._info = self._make_info(service_name(room, self.host_name), members=0)
        self._zeroconf: AsyncZeroconf | None = None

    @property
    def name(self) -> str:
        """The registered instance name (mDNS may have renamed it to resolve a clash)."""
        return self._info.name

    def _make_info(self, name: str, members: int) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            name,
            addresses=[socket.inet_aton(ip) for ip in self._addresses],
            port=self._port,
            properties=encode_record(replace(self._record, members=members)),
            server=f"{socket.gethostname()}.local.",
        )

    async def start(self) -> None:
        """Announce the room on the interfaces of its addresses (never on loopback)."""
        self._zeroconf = AsyncZeroconf(interfaces=self._addresses, ip_version=IPVersion.V4Only)
        # zeroconf returns the announcing task; awaiting it means "announced", not "queued".
        announcing = await self._zeroconf.async_register_service(self._info, allow_name_change=True)
        await announcing
        logger.info("advertising %s on %s", self._info.name, ", ".join(self._addresses))

    async def update_members(self, members: int) -> None:
        """Refresh the member count in the TXT record."""
        if self._zeroconf is None:
            return
        self._info = self._make_info(self._info.name, members)
        announcing = await self._zeroconf.async_update_service(self._info)
        await announcing

    async def stop(self) -> None:
        """Withdraw the announcement (a goodbye packet, so browsers drop it at once)."""
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        try:
            # The goodbye packets go out from this task; closing before it ends drops them
            # and browsers keep showing the room until its records expire.
            goodbye = await zeroconf.async_unregister_service(self._info)
            await goodbye
        finally:
            await zeroconf.async_close()
