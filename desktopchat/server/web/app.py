"""``create_app``: the Starlette application of a desktopchat server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from desktopchat.assets import resource
from desktopchat.protocol import CloseCode, CloseReason
from desktopchat.server.rooms.hub import Hub, wall_clock_ms
from desktopchat.server.settings import Settings
from desktopchat.server.stores.files import FileStore, OldestKept
from desktopchat.server.stores.history import History, MemoryHistory, Retention
from desktopchat.server.stores.sqlite_history import SqliteHistory
from desktopchat.server.web.admission import allowed_host_names, guarded
from desktopchat.server.web.endpoints import echo, room_door
from desktopchat.server.web.files import FileEndpoints
from desktopchat.server.web.httpguard import HttpGuard
from desktopchat.server.web.oneloop import OnRoomsLoop, RoomsLoop

logger = logging.getLogger("desktopchat.server")


async def index(request: Request) -> Response:
    """The browser client (its security headers come from :class:`HttpGuard`)."""
    return FileResponse(resource("static", "index.html"), headers={"Cache-Control": "no-cache"})


class RoomsFirst(Starlette):
    """Starlette, with room WebSockets handed straight to their route.

    The middleware (errors, the HTTP guard, exception handlers) and the router do nothing
    for a room's WebSocket, yet each would keep a coroutine and closures alive for as long
    as the member stays; in a room of thousands that is memory and collector time. Every
    other request takes the usual way.
    """

    def __init__(self, room_routes: Sequence[WebSocketRoute], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._room_routes = room_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            for route in self._room_routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.setdefault("router", self.router)
                    scope.update(child_scope)
                    await route.app(scope, receive, send)
                    return
        if scope["type"] == "http":
            send = _answering_once(scope, send)
        await super().__call__(scope, receive, send)


def _answering_once(scope: Scope, send: Send) -> Send:
    """``send``, for a request the server may already have answered itself: when the
    request turns out malformed after the app got it (a broken chunked body), uvicorn
    answers 400 and the app's own response can no longer go out. That is one line in the
    log, not a traceback of every frame in between."""
    failed = False

    async def answer(message: Message) -> None:
        nonlocal failed
        if failed:
            return
        try:
            await send(message)
        except Exception as exc:  # the connection cannot take a response any more
            failed = True
            logger.info("no answer to %s %s: %s", scope.get("method"), scope.get("path"), exc)

    return answer


def create_app(
    settings: Settings | None = None,
    *,
    history: History | None = None,
    clock: Callable[[], int] = wall_clock_ms,
) -> Starlette:
    """Build the server: ``/ws`` echo, ``/chat`` and ``/chat/{room}`` rooms, ``/`` the page.

    ``history`` defaults to the store ``settings.history`` names; the app owns and closes a
    store it opened itself, never one passed in. The hub is ``app.state.hub``.
    """
    settings = settings or Settings()
    owned = history is None
    broker = None
    if settings.broker:
        # Imported here: the Redis client is the optional `broker` extra.
        from desktopchat.server.stores.broker import RedisBroker

        broker = RedisBroker(
            settings.broker,
            keep=settings.history_keep,
            keep_bytes=settings.history_keep_bytes,
            mirror_bytes=settings.retention().total_bytes,
        )
    mirror = None
    if broker is not None:
        # The broker holds the history; each node keeps a mirror of the recent log in memory.
        if history is not None and not isinstance(history, MemoryHistory):
            raise ValueError("with a broker, the history given must be the node's mirror")
        history = mirror = history or MemoryHistory(settings.retention())
    store = open_history(settings.history, settings.retention()) if history is None else history
    hub = Hub(settings, store, clock, broker, mirror)
    # Without a folder named, this run's own (made on the first upload, gone when it stops).
    temporary_files = settings.files is None
    files_folder = settings.files or Path(tempfile.gettempdir()) / (
        f"desktopchat-files-{secrets.token_hex(6)}"
    )
    files = FileStore(
        files_folder,
        max_bytes=settings.files_max_bytes,
        keep_days=settings.files_keep_days,
        oldest_kept=oldest_kept_of(store),
    )
    rooms_loop = RoomsLoop()
    rooms = OnRoomsLoop(room_door(hub), rooms_loop)
    room_routes = (WebSocketRoute("/chat", rooms), WebSocketRoute("/chat/{room}", rooms))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rooms_loop.lifespan = asyncio.get_running_loop()
        if broker is not None:
            await broker.start()
        try:
            yield
        finally:
            await hub.close_all(CloseCode.GOING_AWAY, CloseReason.SHUTTING_DOWN)
            if broker is not None:
                await broker.close()
            if owned:
                hub.commits.close()
            if temporary_files:
                shutil.rmtree(files_folder, ignore_errors=True)
            rooms_loop.lifespan = None

    app = RoomsFirst(
        room_routes,
        routes=[
            Route("/", index),
            WebSocketRoute("/ws", guarded(echo, settings)),
            *room_routes,
            *(FileEndpoints(files, settings).routes() if settings.files_max_bytes > 0 else ()),
            Mount("/static", StaticFiles(directory=resource("static")), name="static"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(HttpGuard, allowed_names=allowed_host_names(settings))],
    )
    # For whoever runs the app (the runner, tests); the endpoints have theirs passed in.
    app.state.settings = settings
    app.state.hub = hub
    app.state.files = files
    return app


def oldest_kept_of(history: History) -> OldestKept:
    """When a room's oldest kept message was sent, for the file store's sweep (which runs on
    a worker thread): read only from a store made for other threads (SQLite's); files
    beside a memory history go by age alone."""
    if not history.slow_writes:
        return lambda room: None

    def oldest_kept(room: str) -> float | None:
        oldest = history.since(room, 0, 1)
        return oldest[0].time / 1000 if oldest else None

    return oldest_kept


def open_history(path: Path | None, retention: Retention) -> History:
    """The store for ``--history PATH`` (SQLite) or ``--history off`` (``None``: memory)."""
    if path is None:
        return MemoryHistory(retention)
    return SqliteHistory(path, retention)
