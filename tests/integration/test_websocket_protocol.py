"""Our WebSocket protocol under real uvicorn: the ASGI answers an app may give before it
accepts, the server's shutdown, and members that come and go leaving nothing behind for the
cyclic garbage collector (what made a server's memory climb in steps under churn)."""

from __future__ import annotations

import asyncio
import gc
import json
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


async def test_members_that_leave_are_freed_by_their_reference_count() -> None:
    async with hosted() as server:
        with garbage_kept() as garbage:
            for n in range(20):
                async with connect(url(server), subprotocols=V1, proxy=None) as ws:
                    await ws.send(json.dumps({"type": "hello", "name": f"churn {n}"}))
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
