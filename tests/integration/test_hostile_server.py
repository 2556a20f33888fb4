"""A hostile server against ``desktopchat join``: it cannot grow the client without bound or
keep it from answering SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

from desktopchat.protocol import SUBPROTOCOL, Kind, Presence, PresenceEvent, Welcome
from desktopchat.protocol.messages import ChatMessage
from desktopchat.protocol.server_events import encode_server
from tests.integration.conftest import ROOT

BODY = "x" * 60_000


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def hostile(ws: ServerConnection) -> None:
    """Welcome, then history pages nobody asked for that never end, and a flood of joins."""
    await ws.recv()  # the hello
    await ws.send(encode_server(Welcome("chat", "victim", ("victim",), 0, 0)))
    for n in range(1, 5_001):  # 300 MB of "page" messages, never a page_end
        page = ChatMessage(n, 0, "evil", Kind.TEXT, text=BODY, page=True)
        await ws.send(encode_server(page))
    for n in range(100_000):
        await ws.send(encode_server(Presence(PresenceEvent.JOIN, f"bot{n}", None, 0)))
    await ws.wait_closed()


async def test_unasked_pages_and_a_flood_of_joins_neither_grow_the_client_nor_block_sigterm() -> (
    None
):
    async with serve(hostile, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL], max_size=None) as srv:  # type: ignore[list-item]
        port = next(iter(srv.sockets)).getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "desktopchat", "join", f"127.0.0.1:{port}", "-n"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert process.stderr is not None
        stderr = process.stderr
        joined = asyncio.Event()

        async def read_stderr() -> None:  # as a terminal does: all of it, all along
            while line := await stderr.readline():
                if b"bot5000 joined" in line:
                    joined.set()

        reading = asyncio.ensure_future(read_stderr())
        # Until the server is well into its joins (the pages are behind it).
        async with asyncio.timeout(60):
            await joined.wait()
        assert peak_rss_mb(process.pid) < 200, "the unasked pages were not kept"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(5):
            assert await process.wait() == 143
        await reading
