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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from zeroconf import Error as ZeroconfError

if TYPE_CHECKING:
    import h11
    from uvicorn._types import ASGISendEvent

from desktopchat.protocol import CloseCode, CloseReason
from desktopchat.server.addresses import JoinAddress, join_addresses
from desktopchat.server.advertise import Advertiser
from desktopchat.server.app import create_app
from desktopchat.server.connection import (
    ABORT_EXTENSION,
    BUFFERED_EXTENSION,
    WRITABLE_EXTENSION,
    WRITE_EXTENSION,
)
from desktopchat.server.hub import Hub
from desktopchat.server.lean import Inbox, LazyEvent
from desktopchat.server.logredact import install_redaction
from desktopchat.server.settings import Settings, default_tls_dir
from desktopchat.server.tls import TlsIdentity, identity_of, load_or_create

_STARTUP_POLL = 0.005

logger = logging.getLogger("desktopchat.server")


_BAD_HEAD = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n"
    b"Connection: close\r\n\r\nInvalid WebSocket request"
)


class RoomWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with two doors for the room (ASGI extensions),
    and a handshake that cannot hang.

    ``abort``: a member that stops reading leaves a send waiting on a buffer that never
    drains, and closing the transport waits for that buffer too; only an abort frees it.
    ``write``: a frame the room has already serialized goes straight onto the transport when
    it is writable, sparing a task switch, an ASGI message and a framing per member.

    uvicorn hands an upgrade request over to this protocol after h11 has read it; a head
    that h11 took but ``websockets`` refuses (over 128 headers, a line over 8 KiB) left the
    socket open with no answer. It now gets a 4xx and a close, and the deadline for the
    request head (``handshake_timeout``) holds until the WebSocket is open.
    """

    handshake_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What every member holds for life, made lean (server/lean.py).
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = LazyEvent()
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.handshake_timeout, self._expire)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _expire(self) -> None:
        if not self.handshake_complete:
            logger.info(
                "dropped %s: no WebSocket handshake within %ss", self.client, self.handshake_timeout
            )
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            # websockets refused the head; uvicorn never sends what it answered.
            answer = b"".join(self.conn.data_to_send()) or _BAD_HEAD
            logger.info("refused %s: %s", self.client, self.conn.handshake_exc)
            self.transport.write(answer)
            self.handshake_complete = self.close_sent = True
            self.transport.close()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake itself failed
        if scope is not None:
            scope["extensions"][ABORT_EXTENSION] = self.transport.abort
            scope["extensions"][WRITE_EXTENSION] = self.write_now
            scope["extensions"][BUFFERED_EXTENSION] = self.transport.get_write_buffer_size
            scope["extensions"][WRITABLE_EXTENSION] = self.writable
        if self.handshake_complete and self._deadline is not None:
            self._deadline.cancel()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self._deadline is not None and self.handshake_complete:
            # Open: the deadline is met, and the handshake's request and response (their
            # headers and all) are never read again. A room holds thousands of idle members.
            # websockets' parser keeps the request for the connection's life (a local of
            # its generator), so its headers are emptied where they are.
            self._deadline.cancel()
            self._deadline = None
            request = vars(self).pop("request", None)
            if request is not None:
                request.headers.clear()
            vars(self).pop("response", None)

    def write_now(self, frame: bytes) -> bool:
        """Write ``frame`` if the connection is open and its buffer below the high mark."""
        if (
            not self.handshake_complete
            or self.close_sent
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    def keepalive_timeout(self) -> None:
        # uvicorn sends a close and calls transport.close(), which waits for a write buffer
        # that a dead peer never drains: the member's pending send would never wake.
        super().keepalive_timeout()
        self.transport.abort()


def room_websockets(handshake_timeout: float) -> type[RoomWebSocketProtocol]:
    """:class:`RoomWebSocketProtocol` with the server's deadline for the handshake."""
    return type(
        "TimedRoomWebSocketProtocol",
        (RoomWebSocketProtocol,),
        {"handshake_timeout": handshake_timeout},
    )


def guarded_h11(handshake_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for the request head (slowloris defence).

    uvicorn restarts its keep-alive timer on every byte received, so a client that trickles
    a header byte now and then would hold its socket forever; this deadline does not move.
    """

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._deadline = self.loop.call_later(handshake_timeout, self._expire)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def handle_websocket_upgrade(self, event: h11.Request) -> None:
            # The WebSocket protocol takes over with a deadline of its own; a timer left
            # here would keep this object (its parser, its buffers) alive until it fired.
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            super().handle_websocket_upgrade(event)

        def _expire(self) -> None:
            # Only a connection still waiting for its first request head: upgraded
            # WebSockets belong to another protocol object, served requests to keep-alive.
            if self.transport.get_protocol() is self and self.cycle is None:
                logger.info(
                    "dropped %s: no complete request within %ss", self.client, handshake_timeout
                )
                self.transport.abort()

    return GuardedH11Protocol


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
    return uvicorn.Config(
        app,
        http=guarded_h11(settings.handshake_timeout),
        ws=room_websockets(settings.handshake_timeout),
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
