"""Our WebSocket protocol under real uvicorn: the ASGI answers an app may give before it
accepts, the server's shutdown, and members that come and go leaving nothing behind for the
cyclic garbage collector (what made a server's memory climb in steps under churn)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from desktopchat.server.web.app import create_app
from desktopchat.server.web.runner import HostedServer
from tests.integration.conftest import LOCAL, V1, hosted, url
from tests.integration.rawsocket import frame


async def close_first(websocket: WebSocket) -> None:
    await websocket.close(1008)  # before accepting: the seed's token check


async def deny(websocket: WebSocket) -> None:
    await websocket.send_denial_response(PlainTextResponse("no entry", status_code=401))


async def fail(websocket: WebSocket) -> None:
    raise RuntimeError("the app broke")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


def answers() -> Starlette:
    """Our app, with routes that answer in each way ASGI allows."""
    app = create_app(LOCAL)
    app.router.routes.extend(
        [
            WebSocketRoute("/close-first", close_first),
            WebSocketRoute("/deny", deny),
            WebSocketRoute("/fail", fail),
            WebSocketRoute("/echo", echo),
        ]
    )
    return app


async def status_of(address: str) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(address, proxy=None):
            pass
    response = refused.value.response
    return response.status_code, bytes(response.body)


async def test_an_app_that_answers_before_accepting_is_heard_in_http() -> None:
    async with HostedServer(LOCAL, answers()) as server:
        assert await status_of(url(server, "/close-first")) == (403, b"")
        status, body = await status_of(url(server, "/deny"))
        assert (status, body) == (401, b"no entry")
        status, _ = await status_of(url(server, "/fail"))
        assert status == 500
        async with connect(url(server, "/echo"), proxy=None) as ws:  # and the server goes on
            await ws.send("still here")
            assert await ws.recv() == "still here"


async def test_a_server_shutting_down_closes_what_is_open_with_1012() -> None:
    server = HostedServer(LOCAL, answers())
    await server.start()
    async with connect(url(server, "/echo"), proxy=None) as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await server.stop()
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1012


@contextmanager
def garbage_kept() -> Iterator[list[object]]:
    """What the cyclic collector finds unreachable in the block (and keeps, to be looked at)."""
    gc.collect()
    gc.disable()
    found: list[object] = []
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("path", ["/chat", "/ws"])
async def test_members_that_leave_are_freed_by_their_reference_count(path: str) -> None:
    async with hosted() as server:  # compression on: each connection has deflate streams
        with garbage_kept() as garbage:
            for n in range(20):
                async with connect(url(server, path), subprotocols=V1, proxy=None) as ws:
                    if path == "/chat":
                        await ws.send(json.dumps({"type": "hello", "name": f"churn {n}"}))
                        await ws.recv()
                    else:
                        await ws.send("hi")
                        await ws.recv()
            await asyncio.sleep(0.2)  # the server's side of the last close
    ours = sorted(
        {
            f"{type(thing).__module__}.{type(thing).__qualname__}"
            for thing in garbage
            if type(thing).__module__.startswith(("desktopchat.", "uvicorn.", "websockets.server"))
        }
    )
    assert ours == [], "left for the cyclic collector: " + ", ".join(ours)


def head_and_close(port: int) -> bytes:
    """A WebSocket head and, in the same write, a close frame: the peer leaves before the
    app has answered. What comes back."""
    head = (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + frame(0x8, b"\x03\xe8"))
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                answer += chunk
        return answer


async def test_a_peer_that_leaves_before_its_handshake_is_answered_breaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with hosted() as server:
        for _ in range(3):
            await asyncio.to_thread(head_and_close, server.port)
        await asyncio.sleep(0.3)
        async with connect(url(server, "/ws"), proxy=None) as ws:
            await ws.send("after")
            assert await ws.recv() == "Echo: after"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


def trickle(port: int, first: bytes, then: bytes, every: float, within: float) -> bool:
    """Send ``first`` whole, read its answer, then ``then`` a byte every ``every`` seconds;
    whether the server dropped the connection within ``within`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=within) as sock:
        if first:
            sock.sendall(first)
            sock.recv(65536)
        deadline = time.monotonic() + within
        sock.settimeout(every)
        for byte in then:
            if time.monotonic() > deadline:
                return False
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(65536) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False


@pytest.mark.parametrize("first", [b"", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"])
async def test_every_request_head_has_its_deadline_not_only_the_first(first: bytes) -> None:
    slow = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200
    async with hosted(handshake_timeout=1.0) as server:
        dropped = await asyncio.to_thread(trickle, server.port, first, slow, 0.2, 6.0)
    assert dropped, "a head trickled a byte at a time outlived its deadline"


async def test_a_connection_that_said_nothing_is_closed_when_the_server_stops() -> None:
    server = HostedServer(LOCAL, answers())
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    await asyncio.sleep(0.1)
    await server.stop()
    async with asyncio.timeout(5):
        assert await reader.read() == b"", "closed, not served after the stop"
    writer.close()
