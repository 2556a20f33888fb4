"""Frames for the wire, made once per message however many members receive them.

A relayed message reaches most members through their transport directly (see
``Member.deliver``); framing it once instead of once per member is most of the cost of a
fan-out. Frames go out uncompressed: RFC 7692 lets a sender skip compression for any
message, and on a LAN the CPU is worth more than the bytes.

A big message goes out as fragments of ``FRAGMENT_BYTES``, each written only when the
member's transport has drained: a transport copies whatever it cannot send at once into its
own buffer, and one 16 MiB message to 500 members that do not read would otherwise be held
500 times. Control frames (pings, a close) may come between fragments (RFC 6455 §5.4).
"""

from __future__ import annotations

from websockets.frames import Frame, Opcode

Payload = str | bytes

FRAGMENT_BYTES = 256 * 1024


def frame_of(payload: Payload, data: bytes | None = None) -> bytes:
    """The unmasked server frame carrying ``payload`` (text for str, binary for bytes);
    ``data`` is the payload already encoded, when the caller has it."""
    if isinstance(payload, str):
        encoded = data if data is not None else payload.encode()
        return Frame(Opcode.TEXT, encoded).serialize(mask=False, extensions=[])
    return Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])


def fragments_of(payload: Payload) -> list[bytes]:
    """The frames carrying ``payload`` as one message: a single frame up to
    ``FRAGMENT_BYTES``, else a first frame and continuations of that size."""
    data = payload.encode() if isinstance(payload, str) else payload
    if len(data) <= FRAGMENT_BYTES:
        return [frame_of(payload)]
    first = Opcode.TEXT if isinstance(payload, str) else Opcode.BINARY
    view = memoryview(data)
    return [
        Frame(
            first if start == 0 else Opcode.CONT,
            bytes(view[start : start + FRAGMENT_BYTES]),
            fin=start + FRAGMENT_BYTES >= len(data),
        ).serialize(mask=False, extensions=[])
        for start in range(0, len(data), FRAGMENT_BYTES)
    ]


class Outgoing:
    """One message's payload, or a batch of small ones (presence changes gathered during a
    join storm, written to each member at once), and, made on first use, their frames."""

    __slots__ = ("_data", "_fragments", "_wire", "payloads", "size")

    def __init__(self, *payloads: Payload) -> None:
        self.payloads = payloads
        # Encoded once: the size is in bytes as they go out (non-ASCII text is up to 4 bytes
        # a character), and the frames are built from the same bytes.
        self._data = [p.encode() if isinstance(p, str) else p for p in payloads]
        self.size = sum(map(len, self._data))
        self._wire: bytes | None = None
        self._fragments: list[bytes] | None = None

    @property
    def payload(self) -> Payload:
        """The payload of a single message."""
        return self.payloads[0]

    @property
    def fragments(self) -> list[bytes]:
        """The frames to write one after the other (see :func:`fragments_of`), made once."""
        if self._fragments is None:
            if len(self.payloads) == 1:
                self._fragments = fragments_of(self.payloads[0])
            else:
                self._fragments = [frame_of(payload) for payload in self.payloads]
        return self._fragments

    @property
    def wire(self) -> bytes:
        """Every frame, serialized once, back to back."""
        if self._wire is None:
            self._wire = b"".join(
                frame_of(payload, data)
                for payload, data in zip(self.payloads, self._data, strict=True)
            )
        return self._wire
