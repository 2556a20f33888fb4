"""A member that stops reading, or dies, never stalls the room; shutdown never waits for it."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable

from websockets.asyncio.client import connect

from desktopchat.server.rooms.member import Member
from tests.integration.conftest import hosted, member, next_of, serve_process, url
from tests.integration.rawsocket import handshake

PAYLOAD = "x" * 4096
# Big enough that the kernel's socket buffers (a few MiB) cannot hide a stalled reader.
BIG = "y" * 65536


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``predicate`` (bounded in count and time) until it holds."""
    for _ in range(int(within / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {within} s")


async def test_a_stalled_reader_is_dropped_and_the_others_keep_receiving_promptly() -> None:
    async with hosted(
        rate=0, send_queue=50, send_queue_bytes=256 * 1024, close_timeout=0.5
    ) as server:
        stalled = await asyncio.to_thread(handshake, server.port, "/chat", receive_buffer=4096)
        try:
            async with (
                connect(url(server), proxy=None) as sender,
                connect(url(server), proxy=None) as listener,
            ):
                await asyncio.sleep(0)  # both joined
                gaps: list[float] = []
                last = time.monotonic()
                for number in range(300):
                    await sender.send(f"{number} {BIG}")
                    got = await asyncio.wait_for(listener.recv(), 5)
                    assert str(got).startswith(f"{number} ")
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now
                    await asyncio.wait_for(sender.recv(), 5)  # the sender hears itself
                assert max(gaps) < 1.0, "one stalled member must not stall the room"
                await eventually(lambda: server.hub.member_count() == 2)
        finally:
            stalled.close()


async def test_a_dead_peer_is_removed_and_presence_says_so() -> None:
    async with (
        hosted(ping_interval=0.3, ping_timeout=0.3) as server,
        member(server, "watcher") as watcher,
    ):
        dead = await asyncio.to_thread(
            handshake, server.port, "/chat?name=ghost", receive_buffer=4096
        )
        try:
            joined = await next_of(watcher, "presence")
            assert (joined["event"], joined["name"]) == ("join", "ghost")
            # ghost never reads again, so it never answers a ping; watcher's client answers.
            left = await next_of(watcher, "presence", within=5)
            assert (left["event"], left["name"]) == ("leave", "ghost")
        finally:
            dead.close()


async def test_sigterm_with_a_stalled_member_still_exits_0_within_5_seconds() -> None:
    with serve_process("--history", "off") as (process, port):
        stalled = await asyncio.to_thread(handshake, port, "/chat", receive_buffer=4096)
        try:
            async with connect(f"ws://127.0.0.1:{port}/chat", proxy=None) as normal:
                for _ in range(200):
                    await normal.send(PAYLOAD)  # fills the stalled member's buffers
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                codes = []
                try:
                    async with asyncio.timeout(5):
                        async for _ in normal:
                            pass
                except Exception:
                    pass
                codes.append(normal.close_code)
                assert await asyncio.to_thread(process.wait, 5) == 0
                assert time.monotonic() - started < 5
                assert codes == [1001]
        finally:
            stalled.close()


async def test_sigint_stops_the_server_the_same_way() -> None:
    with serve_process("--history", "off") as (process, port):
        async with connect(f"ws://127.0.0.1:{port}/chat", proxy=None) as ws:
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(5):
                async for _ in ws:
                    pass
            assert ws.close_code == 1001
        assert await asyncio.to_thread(process.wait, 5) == 0


async def test_memory_of_the_room_stays_bounded_with_a_stalled_member() -> None:
    async with hosted(
        rate=0, send_queue=20, send_queue_bytes=64 * 1024, close_timeout=0.3
    ) as server:
        stalled = await asyncio.to_thread(handshake, server.port, "/chat", receive_buffer=4096)
        try:
            async with connect(url(server), proxy=None) as sender:
                room = server.hub.rooms["chat"]
                for _ in range(200):
                    await sender.send(json.dumps({"pad": BIG}))
                    await asyncio.wait_for(sender.recv(), 5)
                    held = [m.held() for m in room.members if isinstance(m, Member)]
                    # The bound, plus the one frame that may go while nothing else waits.
                    assert max(held) <= 64 * 1024 + 2 * len(BIG) + 64, "members stay bounded"
                await eventually(lambda: len(room) == 1)
        finally:
            stalled.close()


async def test_a_member_that_stops_reading_is_closed_after_the_stall_timeout() -> None:
    async with hosted(rate=0, stall_timeout=1.0, close_timeout=0.3) as server:
        stalled = await asyncio.to_thread(handshake, server.port, "/chat", receive_buffer=4096)
        try:
            async with connect(url(server), proxy=None, max_size=None) as sender:
                room = server.hub.rooms["chat"]
                for _ in range(100):  # enough to fill the kernel's buffers and then ours
                    await sender.send(BIG)
                    await asyncio.wait_for(sender.recv(), 5)
                started = asyncio.get_running_loop().time()
                await eventually(lambda: len(room) == 1, within=6)
                # Not the queue bound (64 MiB, far away): the sweeper saw no progress.
                assert asyncio.get_running_loop().time() - started < 6
        finally:
            stalled.close()
