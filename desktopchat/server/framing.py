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

from collections.abc import Iterator

from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode

Frame = str | bytes
"""One WebSocket message as a member sends or gets it: text, or bytes."""

FRAGMENT_BYTES = 256 * 1024


def frame_of(data: bytes, text: bool) -> bytes:
    """The unmasked server frame carrying ``data`` whole (UTF-8 text when ``text``)."""
    return WireFrame(Opcode.TEXT if text else Opcode.BINARY, data).serialize(
        mask=False, extensions=[]
    )


def fragments_of(data: bytes, text: bool) -> Iterator[bytes]:
    """The frames carrying ``data`` (UTF-8 text when ``text``) as one message: a single frame
    up to ``FRAGMENT_BYTES``, else a first frame and continuations of that size."""
    if len(data) <= FRAGMENT_BYTES:
        yield frame_of(data, text)
        return
    first = Opcode.TEXT if text else Opcode.BINARY
    view = memoryview(data)
    for start in range(0, len(data), FRAGMENT_BYTES):
        yield WireFrame(
            first if start == 0 else Opcode.CONT,
            bytes(view[start : start + FRAGMENT_BYTES]),
            fin=start + FRAGMENT_BYTES >= len(data),
        ).serialize(mask=False, extensions=[])


class Outgoing:
    """One message's payload, or a batch of small ones (presence changes gathered during a
    join storm, written to each member at once), held once as the bytes that go out.

    ``size`` is what it holds: a big message is kept as its fragment frames alone (made once,
    shared by every member it is queued for; not also as its text or its payload), so a
    member's byte bound counts what is really in memory for it.
    """

    __slots__ = ("_data", "_fragments", "_text", "_wire", "size")

    def __init__(self, *payloads: Frame) -> None:
        # Encoded once: the size is in bytes as they go out (non-ASCII text is up to 4 bytes
        # a character), and the frames are built from the same bytes.
        self._text = tuple(isinstance(p, str) for p in payloads)
        data = tuple(p.encode() if isinstance(p, str) else p for p in payloads)
        self.size = sum(map(len, data))
        self._wire: bytes | None = None
        self._fragments: tuple[bytes, ...] | None = None
        self._data: tuple[bytes, ...] | None = data
        if len(data) == 1 and self.size > FRAGMENT_BYTES:
            self._fragments = tuple(fragments_of(data[0], self._text[0]))
            self._data = None

    @property
    def payloads(self) -> tuple[Frame, ...]:
        """The payloads as sent (only the ASGI fallback asks: a big one is read back from
        its frames)."""
        data = self._data if self._data is not None else (_unframed(self.fragments),)
        return tuple(
            chunk.decode() if text else chunk for chunk, text in zip(data, self._text, strict=True)
        )

    @property
    def payload(self) -> Frame:
        """The payload of a single message."""
        return self.payloads[0]

    @property
    def fragments(self) -> tuple[bytes, ...]:
        """The frames to write one after the other (see :func:`fragments_of`); a batch of
        small payloads is a frame each."""
        if self._fragments is None:
            assert self._data is not None  # only a big message drops its bytes, for frames
            self._fragments = tuple(map(frame_of, self._data, self._text))
        return self._fragments

    @property
    def wire(self) -> bytes:
        """Every frame back to back, serialized once: for the fast path, which writes a
        small message (at most ``FRAGMENT_BYTES``) straight to a transport."""
        if self._wire is None:
            self._wire = b"".join(self.fragments)
        return self._wire


def _unframed(frames: tuple[bytes, ...]) -> bytes:
    """The payload of unmasked frames: each without its 2, 4 or 10 header bytes."""
    header = {126: 4, 127: 10}
    return b"".join(frame[header.get(frame[1] & 0x7F, 2) :] for frame in frames)
