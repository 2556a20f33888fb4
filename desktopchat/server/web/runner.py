"""Running the app under uvicorn inside a program that owns the event loop and the signals.

Three of uvicorn's defaults do not suit an embedded server (docs/architecture.md, "Facts
about the stack"): it captures SIGINT/SIGTERM and re-raises them after shutdown, it calls
``sys.exit(3)`` when the port is busy, and it closes members with 1012 rather than 1001.
:class:`HostedServer` binds the socket itself (a busy port is an ``OSError`` the caller can
show), turns signal capture off, and closes every member with 1001 before uvicorn shuts
down.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Iterator
from types import TracebackType
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from zeroconf import Error as ZeroconfError

from desktopchat.protocol import CloseCode, CloseReason
from desktopchat.server.rooms.hub import Hub
from desktopchat.server.settings import Settings, default_tls_dir
from desktopchat.server.web.addresses import JoinAddress, join_addresses
from desktopchat.server.web.advertise import Advertiser
from desktopchat.server.web.app import create_app
from desktopchat.server.web.heap import keep_heap_warm
from desktopchat.server.web.http_protocol import guarded_http
from desktopchat.server.web.logredact import install_redaction
from desktopchat.server.web.tls import TlsIdentity, identity_of, load_or_create
from desktopchat.server.web.websocket_protocol import room_websockets

_STARTUP_POLL = 0.005

logger = logging.getLogger("desktopchat.server")


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the program hosting it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0 picks a free port).

    Raises ``OSError`` with the system's reason (e.g. address already in use).
    """
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if hasattr(socket, "SO_REUSEADDR") and not hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def tls_identity(settings: Settings) -> TlsIdentity | None:
    """The certificate to serve with, if the settings ask for TLS (see ``uses_tls``)."""
    if not settings.uses_tls():
        return None
    if settings.cert is not None and settings.key is not None:
        return identity_of(settings.cert, settings.key)
    return load_or_create(default_tls_dir())


def uvicorn_config(
    app: Starlette, settings: Settings, identity: TlsIdentity | None = None
) -> uvicorn.Config:
    """uvicorn's settings for our app: protocol classes named, logging and signals ours."""
    websocket = room_websockets(settings.handshake_timeout)
    return uvicorn.Config(
        app,
        http=guarded_http(settings.handshake_timeout, websocket),
        ws=websocket,
        ws_per_message_deflate=settings.compression,
        lifespan="on",
        loop="none",
        log_config=None,
        access_log=True,
        server_header=False,
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_timeout,
        timeout_graceful_shutdown=max(1, round(settings.close_timeout)),
        ssl_certfile=identity.cert if identity is not None else None,
        ssl_keyfile=identity.key if identity is not None else None,
    )


class HostedServer:
    """A desktopchat server running as a task on the current event loop.

    Use ``async with HostedServer(settings) as server`` or :meth:`start` / :meth:`stop`.
    ``server.port`` is the port actually bound (useful with port 0).
    """

    def __init__(self, settings: Settings, app: Starlette | None = None) -> None:
        self.settings = settings
        self.app = app or create_app(settings)
        self._server: EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._advertiser: Advertiser | None = None
        self._announce: asyncio.Task[None] | None = None
        self.identity: TlsIdentity | None = None
        """The TLS identity while serving with TLS (its ``fingerprint`` is what clients pin)."""

    @property
    def hub(self) -> Hub:
        """The rooms of this server."""
        hub: Hub = self.app.state.hub
        return hub

    @property
    def port(self) -> int:
        """The bound port."""
        if self._socket is None:
            raise RuntimeError("the server is not running")
        port: int = self._socket.getsockname()[1]
        return port

    def addresses(self) -> list[JoinAddress]:
        """Where people can join this server's room."""
        return join_addresses(
            self.settings.host, self.port, self.settings.room, tls=self.identity is not None
        )

    @property
    def advertised_as(self) -> str | None:
        """The mDNS instance name, while the room is announced on the LAN."""
        return self._advertiser.name if self._advertiser is not None else None

    async def start(self) -> None:
        """Bind, start uvicorn, and return once it accepts connections.

        Raises ``OSError`` (a busy port, a certificate that cannot be read) or
        ``ssl.SSLError`` (a key that does not match its certificate), in words.
        """
        install_redaction()
        keep_heap_warm()
        self.identity = tls_identity(self.settings)
        self._socket = bind_socket(self.settings.host, self.settings.port)
        self._server = EmbeddedServer(uvicorn_config(self.app, self.settings, self.identity))
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[self._socket]), name="uvicorn"
        )
        while not self._server.started:
            if self._task.done():
                self._socket.close()
                self._task.result()
                raise RuntimeError("the server stopped while starting")
            await asyncio.sleep(_STARTUP_POLL)
        await self._start_advertising()

    async def _start_advertising(self) -> None:
        settings = self.settings
        lan = [a.ip for a in self.addresses() if not ipaddress.ip_address(a.ip).is_loopback]
        if not settings.advertise or not lan:
            return  # loopback-only hosts (or no network at all) stay quiet
        path = urlsplit(self.addresses()[0].app).path
        advertiser = Advertiser(
            room=settings.room,
            path=path,
            port=self.port,
            addresses=lan,
            host_name=settings.host_name,
            token_required=settings.token is not None,
            fingerprint=self.identity.fingerprint if self.identity is not None else "",
        )
        try:
            await advertiser.start()
        except (OSError, ZeroconfError) as exc:
            logger.warning("cannot advertise the room on the LAN: %s", exc)
            return
        self._advertiser = advertiser
        self.hub.watch(self._members_changed)

    def _members_changed(self) -> None:
        if self._advertiser is not None and (self._announce is None or self._announce.done()):
            self._announce = asyncio.get_running_loop().create_task(self._announce_members())

    async def _announce_members(self) -> None:
        # Joins come in bursts; one update a second is plenty for a list on a Join screen.
        await asyncio.sleep(1.0)
        if self._advertiser is not None:
            await self._advertiser.update_members(self.hub.member_count(self.settings.room))

    async def _stop_advertising(self) -> None:
        advertiser, self._advertiser = self._advertiser, None
        if self._announce is not None:
            self._announce.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announce
        if advertiser is not None:
            try:
                await advertiser.stop()
            except (OSError, ZeroconfError) as exc:
                logger.warning("could not withdraw the LAN announcement: %s", exc)

    async def stop(self) -> None:
        """Close every member with 1001, then shut uvicorn down and free the port."""
        if self._server is None or self._task is None:
            return
        try:
            await self._stop_advertising()
            await self.hub.close_all(CloseCode.GOING_AWAY, CloseReason.SHUTTING_DOWN)
        finally:
            self._server.should_exit = True
            await self._task
            if self._socket is not None:
                self._socket.close()
            self._server = self._task = None

    async def __aenter__(self) -> HostedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
