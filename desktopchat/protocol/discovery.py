"""The LAN announcement of a room: its DNS-SD service type and the TXT record's keys.

The server writes the record (``server/web/advertise.py``) and clients read it
(``client/discovery.py``); both go through :func:`encode_record` / :func:`decode_record`,
so a key cannot be renamed on one side only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from desktopchat.protocol.messages import SUBPROTOCOL
from desktopchat.protocol.rooms import DEFAULT_ROOM, room_path

SERVICE_TYPE = "_desktopchat._tcp.local."
"""The DNS-SD service type desktopchat rooms are announced under."""


class TxtKey(enum.StrEnum):
    """The keys of a room's TXT record."""

    ROOM = "room"
    HOST = "host"
    PATH = "path"
    TOKEN = "token"  # noqa: S105 - "1" when a token is required; never the token
    VERSION = "v"
    MEMBERS = "members"
    FINGERPRINT = "fp"  # the TLS identity: trust on first use only, mDNS can be spoofed


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """What a room's announcement says before anybody connects."""

    room: str
    host: str
    path: str
    token_required: bool
    members: int | None = None
    version: str = SUBPROTOCOL
    fingerprint: str = ""


def encode_record(record: RoomRecord) -> dict[str, str]:
    """The TXT record's properties for ``record``."""
    properties = {
        TxtKey.ROOM.value: record.room,
        TxtKey.HOST.value: record.host,
        TxtKey.PATH.value: record.path,
        TxtKey.TOKEN.value: "1" if record.token_required else "0",
        TxtKey.VERSION.value: record.version,
    }
    if record.members is not None:
        properties[TxtKey.MEMBERS.value] = str(record.members)
    if record.fingerprint:
        properties[TxtKey.FINGERPRINT.value] = record.fingerprint
    return properties


def decode_record(properties: Mapping[bytes, bytes | None], fallback_host: str = "") -> RoomRecord:
    """Read a TXT record as zeroconf hands it over; missing keys get sensible defaults."""

    def text(key: TxtKey) -> str:
        value = properties.get(key.value.encode())
        return value.decode(errors="replace") if value else ""

    room = text(TxtKey.ROOM) or DEFAULT_ROOM
    members = text(TxtKey.MEMBERS)
    return RoomRecord(
        room=room,
        host=text(TxtKey.HOST) or fallback_host,
        path=text(TxtKey.PATH) or room_path(room),
        token_required=text(TxtKey.TOKEN) == "1",
        members=int(members) if members.isdigit() else None,
        version=text(TxtKey.VERSION),
        fingerprint=text(TxtKey.FINGERPRINT),
    )
