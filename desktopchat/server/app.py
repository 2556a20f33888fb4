"""``create_app``: the Starlette application of a desktopchat server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute, websocket_session
from starlette.staticfiles import StaticFiles

from desktopchat.assets import resource
from desktopchat.protocol import CloseCode, CloseReason
from desktopchat.server.admission import allowed_host_names, guarded
from desktopchat.server.broker import RedisBroker
from desktopchat.server.endpoints import echo, room_endpoint
from desktopchat.server.history import History, MemoryHistory, open_history
from desktopchat.server.httpguard import HttpGuard
from desktopchat.server.hub import Hub, wall_clock_ms
from desktopchat.server.oneloop import OnRoomsLoop, RoomsLoop
from desktopchat.server.settings import Settings


async def index(request: Request) -> Response:
    """The browser client (its security headers come from :class:`HttpGuard`)."""
    return FileResponse(resource("static", "index.html"), headers={"Cache-Control": "no-cache"})


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
    broker = RedisBroker(settings.broker, keep=settings.history_keep) if settings.broker else None
    if broker is not None and history is None:
        # The broker holds the history; each node keeps a mirror of the recent log in memory.
        history = MemoryHistory(settings.retention())
    store = open_history(settings.history, settings.retention()) if history is None else history
    hub = Hub(settings, store, clock, broker)
    rooms_loop = RoomsLoop()
    rooms = OnRoomsLoop(websocket_session(guarded(room_endpoint(hub), settings)), rooms_loop)

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
                store.close()
            rooms_loop.lifespan = None

    app = Starlette(
        routes=[
            Route("/", index),
            WebSocketRoute("/ws", guarded(echo, settings)),
            WebSocketRoute("/chat", rooms),
            WebSocketRoute("/chat/{room}", rooms),
            Mount("/static", StaticFiles(directory=resource("static")), name="static"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(HttpGuard, allowed_names=allowed_host_names(settings))],
    )
    # For whoever runs the app (the runner, tests); the endpoints have theirs passed in.
    app.state.settings = settings
    app.state.hub = hub
    return app
