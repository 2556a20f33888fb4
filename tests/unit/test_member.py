"""A member's stall check: bytes leaving its buffers are progress, a frozen buffer is not."""

from __future__ import annotations

import asyncio

from desktopchat.server.framing import Frame
from desktopchat.server.rooms.connection import Connection
from desktopchat.server.rooms.member import Member
from desktopchat.server.rooms.ratelimit import RateLimiter
from desktopchat.server.rooms.room import Mode


class FakeTransport:
    """A transport whose buffer holds what the test says."""

    def __init__(self) -> None:
        self.buffered = 0
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed: list[tuple[int, str]] = []

    def write(self, frame: bytes) -> bool:
        self.buffered += len(frame)
        return True

    async def send(self, frame: Frame) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def connection(self) -> Connection:
        return Connection(
            send=self.send,
            close=self.close,
            write_now=self.write,
            buffered=lambda: self.buffered,
            writable=self.writable,
            abort=lambda: None,
        )


def member(transport: FakeTransport) -> Member:
    return Member(
        transport.connection(),
        name="m",
        mode=Mode.RAW,
        key=None,
        queue_size=1000,
        queue_bytes=10**9,
        close_timeout=0.1,
        limiter=RateLimiter(0, 1, 0.0),
        stall_timeout=10.0,
    )


async def test_a_reader_that_keeps_up_with_a_steady_stream_is_not_stalled() -> None:
    transport = FakeTransport()
    slow = member(transport)
    for second in range(60):
        slow.deliver("x" * 1000)
        transport.buffered = 5000  # it reads as fast as we write: the backlog stays
        assert not slow.check_stalled(float(second))
    assert not slow.closing


async def test_a_reader_whose_buffer_never_drains_is_closed_after_the_timeout() -> None:
    transport = FakeTransport()
    frozen = member(transport)
    frozen.deliver("x" * 1000)
    assert not frozen.check_stalled(0.0)
    assert not frozen.check_stalled(9.0)
    assert frozen.check_stalled(11.0)
    assert frozen.closing
    await frozen.finish()
