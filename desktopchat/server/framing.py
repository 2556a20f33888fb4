"""Frames for the wire, made once per message however many members receive them.

A relayed message reaches most members through their transport directly (see
``Member.deliver``); framing it once instead of once per member is most of the cost of a
fan-out. Frames go out uncompressed: RFC 7692 lets a sender skip compression for any
message, and on a LAN the CPU is worth more than the bytes.
"""

from __future__ import annotations

from websockets.frames import Frame, Opcode

Payload = str | bytes


def frame_of(payload: Payload) -> bytes:
    """The unmasked server frame carrying ``payload`` (text for str, binary for bytes)."""
    if isinstance(payload, str):
        return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False, extensions=[])
    return Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])


class Outgoing:
    """A payload and, made on first use, its frame."""

    __slots__ = ("_wire", "payload")

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The frame, serialized once."""
        if self._wire is None:
            self._wire = frame_of(self.payload)
        return self._wire
