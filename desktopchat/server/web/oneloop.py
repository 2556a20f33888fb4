"""Every room of a server on one event loop, even under an ASGI server that runs several.

Rooms, members and their tasks belong to one asyncio loop: a frame handed to a member wakes
that member's loop, and a room's member table is walked and changed by one thread. Servers
that run the app's lifespan (uvicorn, Starlette's ``TestClient`` inside ``with``) call every
endpoint on the lifespan's loop. ``TestClient`` used without ``with`` runs each connection on
a loop of its own thread: a room shared between them would set another loop's event from the
wrong thread (the member, already asleep, then waits for a frame that has arrived) and change
its table while another thread walks it. So a connection that arrives on a loop other than
the rooms' runs on the rooms' loop, its ASGI ``receive`` and ``send`` run back on the loop it
came on. Rooms whose lifespan never ran live on a spare loop of the process's own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

_spare: asyncio.AbstractEventLoop | None = None
_spare_lock = threading.Lock()


def spare_loop() -> asyncio.AbstractEventLoop:
    """The process's loop for rooms whose server never ran their lifespan (started once)."""
    global _spare
    with _spare_lock:
        if _spare is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="desktopchat rooms", daemon=True).start()
            _spare = loop
        return _spare


class RoomsLoop:
    """The loop a server's rooms live on: its lifespan's while that runs, else the spare."""

    def __init__(self) -> None:
        self.lifespan: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> asyncio.AbstractEventLoop:
        return self.lifespan or spare_loop()


class OnRoomsLoop:
    """ASGI wrapper running ``app`` on the rooms' loop (directly when it is already there)."""

    def __init__(self, app: ASGIApp, rooms_loop: RoomsLoop) -> None:
        self._app = app
        self._rooms_loop = rooms_loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        home, here = self._rooms_loop(), asyncio.get_running_loop()
        if home is here:
            await self._app(scope, receive, send)
            return

        # The server's own doors to the transport (write now, abort, ...) belong to the loop
        # the connection came on: the room falls back to plain ASGI sends.
        extensions = {
            name: door
            for name, door in (scope.get("extensions") or {}).items()
            if not name.startswith("desktopchat.")
        }
        scope = {**scope, "extensions": extensions}

        async def receive_here() -> Message:
            return await _run_on(here, receive())

        async def send_here(message: Message) -> None:
            await _run_on(here, send(message))

        # Cancelling this (the server ends the connection) cancels the app on its loop.
        await _run_on(home, self._app(scope, receive_here, send_here))


async def _run_on(loop: asyncio.AbstractEventLoop, work: Awaitable[T]) -> T:
    async def run() -> T:
        return await work

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), loop))
