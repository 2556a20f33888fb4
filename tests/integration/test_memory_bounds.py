"""What a hostile member can make the server hold stays within the stated bounds.

Each test runs ``desktopchat serve`` as its own process and reads that process's resident
memory from /proc, so the figures are the server's, not the test's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from desktopchat.protocol import SUBPROTOCOL
from tests.integration.conftest import V1, process_memory, serve_process
from tests.integration.rawsocket import frame, handshake

MiB = 1024 * 1024


def rss(pid: int) -> int:
    """The process's resident set size in bytes."""
    return process_memory(pid, "VmRSS")


async def eventually(predicate: Callable[[], bool], within: float) -> None:
    for _ in range(int(within / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not true after {within} s")


def blob_frame(size: int, cid: str) -> bytes:
    header = json.dumps({"type": "binary", "name": "b.bin", "mime": "x/y", "cid": cid}).encode()
    return len(header).to_bytes(4, "big") + header + b"\x00" * size


async def send_acked(ws: ClientConnection, frames: list[bytes]) -> None:
    """Send each frame and wait for its ack (so the server has stored it)."""
    for data in frames:
        await ws.send(data)
        while True:
            reply = await asyncio.wait_for(ws.recv(), 20)
            if isinstance(reply, str) and json.loads(reply)["type"] == "ack":
                break


async def hello(ws: ClientConnection, name: str) -> None:
    await ws.send(json.dumps({"type": "hello", "name": name}))
    assert json.loads(await ws.recv())["type"] == "welcome"


def never_reading(port: int, path: str = "/chat", *, structured: bool = False) -> socket.socket:
    """A member that joins and then reads nothing (its receive window stays tiny)."""
    sock = handshake(
        port, path, receive_buffer=4096, subprotocol=SUBPROTOCOL if structured else None
    )
    if structured:
        sock.sendall(frame(0x1, b'{"type":"hello","name":"leech"}'))
    return sock


async def test_newcomers_that_never_read_hold_one_backlog_page_not_the_history(
    tmp_path: Path,
) -> None:
    flags = ("--history", str(tmp_path / "h.sqlite3"), "--rate", "0")
    with serve_process(*flags) as (process, port):
        async with connect(
            f"ws://127.0.0.1:{port}/chat", subprotocols=V1, proxy=None, max_size=None
        ) as ws:
            await hello(ws, "filler")
            await send_acked(ws, [blob_frame(2 * MiB, f"c{n}") for n in range(40)])
        await asyncio.sleep(0.5)
        before = rss(process.pid)
        leeches = [await asyncio.to_thread(never_reading, port, structured=True) for _ in range(6)]
        await asyncio.sleep(2)
        grown = rss(process.pid) - before
        for sock in leeches:
            sock.close()
    # Each holds at most a page (≤ 1 MiB + one message) and what its socket buffer took;
    # the whole 80 MiB backlog each would be ~480 MB.
    assert grown < 60 * MiB, f"server grew {grown / MiB:.0f} MiB"


async def test_a_big_message_to_members_that_never_read_is_not_copied_for_each() -> None:
    flags = ("--history", "off", "--stall-timeout", "3", "--rate", "0")
    with serve_process(*flags) as (process, port):
        leeches = [await asyncio.to_thread(never_reading, port) for _ in range(20)]
        async with (
            connect(f"ws://127.0.0.1:{port}/chat", proxy=None, max_size=None) as sender,
            connect(f"ws://127.0.0.1:{port}/chat", proxy=None, max_size=None) as reader,
        ):
            await asyncio.sleep(0.3)
            before = rss(process.pid)
            peak = before
            await sender.send(b"\x01" * (8 * MiB))
            started = time.monotonic()
            received = asyncio.ensure_future(reader.recv())
            while not received.done() and time.monotonic() - started < 15:
                peak = max(peak, rss(process.pid))
                await asyncio.sleep(0.05)
            assert received.done(), "a member that reads gets the message"
            assert len(received.result()) == 8 * MiB
            for sock in leeches:
                sock.close()
    grown = peak - before
    # 20 copies would be 160 MiB; each holds a fragment or two beyond its socket buffer.
    assert grown < 64 * MiB, f"server grew {grown / MiB:.0f} MiB"


async def test_memory_history_is_bounded_and_the_stalled_are_closed(tmp_path: Path) -> None:
    flags = ("--history", "off", "--history-keep-bytes", "24M", "--rate", "0")
    with serve_process(*flags) as (process, port):
        await asyncio.sleep(0.3)
        before = rss(process.pid)
        for room in ("a", "b", "c"):
            async with connect(
                f"ws://127.0.0.1:{port}/chat/{room}", subprotocols=V1, proxy=None, max_size=None
            ) as ws:
                await hello(ws, "writer")
                await send_acked(ws, [blob_frame(MiB, f"{room}{n}") for n in range(40)])
        await asyncio.sleep(0.5)
        grown = rss(process.pid) - before
    # 120 MiB were sent; the store keeps 24 MiB (plus the allocator's slack).
    assert grown < 70 * MiB, f"server grew {grown / MiB:.0f} MiB"


async def test_history_on_disk_stops_growing_at_its_byte_bound(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    flags = ("--history", str(path), "--history-keep-bytes", "4M", "--rate", "0")
    with serve_process(*flags) as (_, port):
        async with connect(
            f"ws://127.0.0.1:{port}/chat", subprotocols=V1, proxy=None, max_size=None
        ) as ws:
            await hello(ws, "writer")
            await send_acked(ws, [blob_frame(64 * 1024, f"c{n}") for n in range(300)])
    # 19 MiB were sent; bodies are capped at 4 MiB, and freed pages are given back.
    assert path.stat().st_size < 10 * MiB
