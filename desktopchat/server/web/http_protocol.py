"""The HTTP protocol uvicorn runs for every connection: a deadline for the first request head,
and a short way to the WebSocket protocol, around uvicorn's own h11 protocol.

uvicorn takes the class through its documented ``http`` option and builds one per connection
(``GuardedHTTP(config=, server_state=, app_state=)``). It does not subclass uvicorn's
protocol, nor read its state: it sees the bytes as they come and hands them on.

- **The deadline** (slowloris defence): uvicorn restarts its keep-alive timer on every byte
  received, so a client that trickles a header byte now and then would hold its socket
  forever. Here every request head must be whole within ``handshake_timeout`` of its first
  byte (the first, of the connection), or the connection is aborted; the deadline does not
  move. Bytes of a body with a ``Content-Length`` are counted past; after a chunked body the
  watch ends (the page and the rooms take no bodies).
- **The short way:** a WebSocket handshake whose whole head came in the connection's first
  read goes straight to :class:`~desktopchat.server.web.websocket_protocol.RoomWebSocket` as it
  is. Through h11, uvicorn would parse it, write it out again and have ``websockets`` parse
  that: a tenth of a member's connect. Anything else is h11's, which upgrades a WebSocket
  whose head came in pieces through the same ``ws`` class.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

from desktopchat.server.web.websocket_protocol import RoomWebSocket

if TYPE_CHECKING:
    import uvicorn
    from uvicorn.server import ServerState

logger = logging.getLogger("desktopchat.server")

_UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket[ \t]*\r\n", re.IGNORECASE)
_CONNECTION_UPGRADE = re.compile(rb"\r\nconnection:[^\r\n]*\bupgrade\b", re.IGNORECASE)
# h11 takes a head that ends with bare line feeds too.
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"\ncontent-length:[ \t]*(\d{1,19})[ \t]*\r?\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\ntransfer-encoding:", re.IGNORECASE)
MAX_HEAD = 64 * 1024
"""Bytes of a head watched for its end; h11 refuses a longer head itself."""


def websocket_head(data: bytes) -> bool:
    """Whether ``data`` holds a whole ``GET`` head asking for a WebSocket upgrade."""
    end = data.find(b"\r\n\r\n")
    if not data.startswith(b"GET ") or end <= 0:
        return False
    return bool(_UPGRADE.search(data, 0, end + 2) and _CONNECTION_UPGRADE.search(data, 0, end + 2))


class GuardedHTTP(asyncio.Protocol):
    """uvicorn's h11 protocol behind a deadline for the first request head (see the module)."""

    handshake_timeout = 10.0
    """Seconds for the first request head (set per server by :func:`guarded_http`)."""
    websocket: type[RoomWebSocket] = RoomWebSocket
    """What a WebSocket head that came whole is handed to (set by :func:`guarded_http`)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: object = None,  # uvicorn passes it (None); the loop is the running one
    ) -> None:
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = asyncio.get_running_loop()
        self._inner: asyncio.Protocol | None = None  # h11's, from the first byte not ours
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._head: bytearray | None = None  # the head being read, until its end
        self._body_left = 0  # bytes of a request body still to come
        self._watching = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport instances, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        # Tracked, so that a server shutting down closes a connection that said nothing yet.
        self._server_state.connections.add(self)  # type: ignore[arg-type]
        self._start_head()

    def data_received(self, data: bytes) -> None:
        inner = self._inner
        if inner is None:
            if websocket_head(data):
                self._to_websocket(data)
                return
            inner = self._inner = H11Protocol(
                config=self._config, server_state=self._server_state, app_state=self._app_state
            )
            self._server_state.connections.discard(self)  # h11's protocol tracks it now
            assert self._transport is not None
            inner.connection_made(self._transport)
        if self._watching:
            self._watch(data)
        inner.data_received(data)

    def shutdown(self) -> None:
        """The server is stopping: a connection that sent nothing yet is closed."""
        self._met()
        if self._inner is None and self._transport is not None:
            self._transport.close()

    def _watch(self, data: bytes) -> None:
        at = 0
        while at < len(data) and self._watching:
            if self._body_left:
                taken = min(self._body_left, len(data) - at)
                self._body_left -= taken
                at += taken
                continue
            if self._head is None:
                self._start_head()
            head = self._head
            assert head is not None
            before = len(head)
            head += data[at : at + MAX_HEAD]
            end = _END_OF_HEAD.search(head, max(0, before - 3))
            if end is None:
                if len(head) >= MAX_HEAD:
                    self._stop_watching()  # h11 answers a head this long
                return
            at += end.end() - before
            self._head_done(bytes(head[: end.end()]))

    def _head_done(self, head: bytes) -> None:
        self._met()
        if _CHUNKED.search(head):
            self._stop_watching()
        elif (length := _CONTENT_LENGTH.search(head)) is not None:
            self._body_left = int(length.group(1))

    def _start_head(self) -> None:
        self._head = bytearray()
        if self._deadline is None:
            self._deadline = self._loop.call_later(self.handshake_timeout, self._expire)

    def _stop_watching(self) -> None:
        self._watching = False
        self._met()

    def _to_websocket(self, data: bytes) -> None:
        self._stop_watching()
        self._server_state.connections.discard(self)  # the WebSocket protocol tracks itself
        assert self._transport is not None
        protocol = self.websocket(
            config=self._config, server_state=self._server_state, app_state=self._app_state
        )
        self._transport.set_protocol(protocol)
        protocol.connection_made(self._transport)
        protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        self._server_state.connections.discard(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None  # it refers back to the transport, which refers to us

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def _met(self) -> None:
        self._head = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        transport = self._transport
        # Only a connection still waiting for a head: one that h11 upgraded belongs to the
        # WebSocket protocol (with a deadline of its own).
        if (
            transport is not None
            and transport.get_protocol() is self
            and not transport.is_closing()
        ):
            client = transport.get_extra_info("peername")
            logger.info(
                "dropped %s: no complete request head within %ss", client, self.handshake_timeout
            )
            transport.abort()


def guarded_http(handshake_timeout: float, websocket: type[RoomWebSocket]) -> type[GuardedHTTP]:
    """:class:`GuardedHTTP` with the server's deadline for the first request head, handing
    whole WebSocket heads to ``websocket``."""
    attributes = {"handshake_timeout": handshake_timeout, "websocket": websocket}
    return type("TimedGuardedHTTP", (GuardedHTTP,), attributes)
