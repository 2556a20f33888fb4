"""A shared room's bounds against a real redis-server: what Redis holds (one copy of each
message, trimmed by bytes as well as count), what a node reads back (in slices of bytes,
only what its mirror keeps), how it hands a backlog to its members after a stall (paced by
what they drain), and an append retried after a timeout (stored once)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from redis import asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from desktopchat.server.stores.broker_log import keys_of
from tests.integration.conftest import process_memory, serve_process
from tests.integration.redis_server import redis_server
from tests.integration.stall_proxy import StallProxy
from tests.integration.test_broker import nodes, on

MIB = 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes."""
    return process_memory(pid, "VmHWM")


async def stored(redis_url: str, room: str = "chat") -> int:
    """How many messages the room's log has assigned ids to."""
    client = aioredis.from_url(redis_url)
    try:
        return int(await client.get(keys_of(room)["seq"]) or 0)
    finally:
        await client.aclose()


async def send_raw_frames(port: int, frames: list[bytes], redis_url: str) -> None:
    """Send ``frames`` as a raw member and wait until Redis has every one."""
    before = await stored(redis_url)
    async with connect(f"ws://127.0.0.1:{port}/chat", proxy=None, max_size=None) as raw:
        for frame in frames:
            await raw.send(frame)
        async with asyncio.timeout(60):
            while await stored(redis_url) < before + len(frames):  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_redis_holds_one_copy_per_message_trimmed_by_bytes_and_a_raw_frame_reads_back(
    tmp_path: Path,
) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1, history_keep_bytes=24 * MIB) as (node,),
    ):
        frames = [bytes([n]) * (4 * MIB) for n in range(12)]
        await send_raw_frames(node.port, frames, redis.url)
        client: Any = aioredis.from_url(redis.url)  # Any: its replies' types vary by option
        try:
            keys = keys_of("chat")
            used = await client.memory_usage(keys["log"])
            kept = await client.xlen(keys["log"])
            held = int(await client.get(keys["bytes"]))
            first = int(await client.get(keys["first"]))
            newest = await client.xrevrange(keys["log"], count=1)
        finally:
            await client.aclose()
        # 24 MiB of bodies: the six newest 4 MiB messages, each stored once (was body and
        # raw frame: 48 MiB for the same six, and 10 000 of them by count alone).
        assert kept == 6
        assert held == 24 * MIB
        assert first == 7
        # jemalloc rounds a 4 MiB body up to its 5 MiB size class: 30 MiB; two copies were 60.
        assert used < 36 * MIB, f"Redis holds {used / MIB:.1f} MiB for 24 MiB of messages"
        assert newest[0][1][b"b"] == frames[-1]


async def test_a_node_joining_a_room_of_big_messages_reads_only_what_its_mirror_keeps(
    tmp_path: Path,
) -> None:
    """40 messages of 8 MiB in Redis; a node with 32 MiB of history joins the room: it reads
    the newest four, a slice at a time (it read pages of 200 entries of body and frame, and
    grew past a gigabyte)."""
    async with redis_server(tmp_path / "redis") as redis:
        async with nodes(redis.url, 1) as (writer,):
            frames = [bytes([n]) * (8 * MIB) for n in range(40)]
            await send_raw_frames(writer.port, frames, redis.url)
            del frames
        flags = ("--broker", redis.url, "--history", "off", "--history-keep-bytes", "32M")
        with serve_process(*flags) as (process, port):
            before = peak_rss(process.pid)
            async with on(port, "late") as late:
                backlog = late.welcome  # type: ignore[attr-defined]
                assert backlog["last_id"] == 40
            grown = peak_rss(process.pid) - before
            assert grown < 200 * MIB, f"the node grew by {grown / MIB:.0f} MiB joining"


async def test_after_a_stall_a_node_hands_the_backlog_on_as_fast_as_members_drain_it(
    tmp_path: Path,
) -> None:
    """100 messages of 1 MiB arrive at once after a node's stall: a raw listener that reads
    them gets all 100 (it was closed with 1013 after five, the whole batch queued in one
    turn past its 64 MiB bound)."""
    async with redis_server(tmp_path / "redis") as redis, StallProxy(redis.port) as proxy:
        far = f"redis://127.0.0.1:{proxy.port}/0"
        async with (
            nodes(redis.url, 1) as (near,),
            nodes(far, 1) as (stalled,),
            connect(f"ws://127.0.0.1:{stalled.port}/chat", proxy=None, max_size=None) as listener,
        ):
            await asyncio.sleep(0.5)  # the listener's node follows the room
            proxy.stall()
            await send_raw_frames(near.port, [bytes([n]) * MIB for n in range(100)], redis.url)
            proxy.flow()
            got: list[int] = []
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(60):
                    while len(got) < 100:
                        frame = await listener.recv()
                        assert isinstance(frame, bytes)
                        got.append(frame[0])
            assert listener.close_code is None, (listener.close_code, len(got))
            assert got == list(range(100))


async def test_an_append_retried_after_redis_was_too_slow_is_stored_once(tmp_path: Path) -> None:
    """Redis sleeps past the node's 5 s timeout while a raw frame is appended: the client
    retries the script, and the retry must find the frame stored (it was stored twice)."""
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1) as (node,),
        on(node.port, "watcher") as watcher,
    ):
        client = aioredis.from_url(redis.url, socket_timeout=30)
        try:
            # A first frame: the node's connection to Redis is open and idle, as in a room
            # in use (a new connection's handshake fails differently, and is not retried).
            await send_raw_frames(node.port, [b"first"], redis.url)
            sleeping = asyncio.ensure_future(client.execute_command("DEBUG", "SLEEP", "6.5"))
            await asyncio.sleep(0.3)
            async with connect(f"ws://127.0.0.1:{node.port}/chat", proxy=None) as raw:
                await raw.send("once, however slow Redis is")
                await sleeping
                async with asyncio.timeout(30):
                    while await stored(redis.url) < 2:  # noqa: ASYNC110 (Redis has no event)
                        await asyncio.sleep(0.1)
                await asyncio.sleep(2)  # a second copy would be appended by now
            assert await stored(redis.url) == 2
            assert await client.xlen(keys_of("chat")["log"]) == 2
        finally:
            await client.aclose()
        texts: list[str] = []
        async with asyncio.timeout(10):
            while not texts:
                event = await watcher.recv()
                if isinstance(event, str) and json.loads(event)["type"] == "text":
                    texts.append(json.loads(event)["text"])
        assert texts == ["once, however slow Redis is"]


async def test_ten_senders_through_a_redis_paused_for_writes_reach_a_listener_whole(
    tmp_path: Path,
) -> None:
    """``CLIENT PAUSE 6000 WRITE`` while ten raw members send ten messages of 1 MiB each:
    when Redis resumes, a raw listener on another node gets all 100, none closed."""
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 2) as (near, far),
        connect(f"ws://127.0.0.1:{far.port}/chat", proxy=None, max_size=None) as listener,
    ):
        await asyncio.sleep(0.5)  # the listener's node follows the room
        client: Any = aioredis.from_url(redis.url)
        try:
            await client.execute_command("CLIENT", "PAUSE", "6000", "WRITE")
        finally:
            await client.aclose()

        async def sender(n: int) -> None:
            async with connect(f"ws://127.0.0.1:{near.port}/chat", proxy=None) as raw:
                for m in range(10):
                    await raw.send(bytes([n * 10 + m]) * MIB)
                async with asyncio.timeout(60):
                    while await stored(redis.url) < 100:  # noqa: ASYNC110
                        await asyncio.sleep(0.1)

        senders = asyncio.gather(*(sender(n) for n in range(10)))
        got: set[int] = set()
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(60):
                while len(got) < 100:
                    frame = await listener.recv()
                    assert isinstance(frame, bytes)
                    got.add(frame[0])
        await senders
        assert listener.close_code is None, (listener.close_code, len(got))
        assert got == set(range(100))
