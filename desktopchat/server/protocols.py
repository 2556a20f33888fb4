"""uvicorn's two protocols as a room needs them: the HTTP one with a deadline for the request
head and a short way to the WebSocket one, which has doors for the room and a handshake that
cannot hang."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from desktopchat.server.connection import (
    ABORT_EXTENSION,
    BUFFERED_EXTENSION,
    WRITABLE_EXTENSION,
    WRITE_EXTENSION,
)
from desktopchat.server.lean import Inbox, LazyEvent

if TYPE_CHECKING:
    import h11
    from uvicorn._types import ASGISendEvent

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
            # ASGI wants header names in lower case. uvicorn passes on the names as its
            # HTTP protocol wrote them (lowered); a head that came straight here
            # (guarded_h11) has them as the client sent them: "Host" would not be found.
            scope["headers"] = [(name.lower(), value) for name, value in scope["headers"]]
            scope["extensions"][ABORT_EXTENSION] = self.transport.abort
            scope["extensions"][WRITE_EXTENSION] = self.write_now
            scope["extensions"][BUFFERED_EXTENSION] = self.transport.get_write_buffer_size
            scope["extensions"][WRITABLE_EXTENSION] = self.writable
        if self.handshake_complete and self._deadline is not None:
            self._deadline.cancel()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self._deadline is not None and self.handshake_complete:
            # Open: the deadline is met. (The handshake's request and response stay with the
            # connection: emptying uvicorn's and websockets' objects in place, to spare an
            # idle member their headers, stood on their internals.)
            self._deadline.cancel()
            self._deadline = None

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


_UPGRADE = re.compile(rb"\r\nupgrade:[ \t]*websocket[ \t]*\r\n", re.IGNORECASE)


def _websocket_head(data: bytes) -> bool:
    """Whether ``data`` holds a whole ``GET`` head asking for a WebSocket."""
    end = data.find(b"\r\n\r\n")
    return data.startswith(b"GET ") and end > 0 and _UPGRADE.search(data, 0, end + 2) is not None


def guarded_h11(handshake_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for the request head (slowloris defence).

    uvicorn restarts its keep-alive timer on every byte received, so a client that trickles
    a header byte now and then would hold its socket forever; this deadline does not move.
    """

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _fresh = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self._deadline = self.loop.call_later(handshake_timeout, self._expire)
            self._fresh = True

        def data_received(self, data: bytes) -> None:
            # A WebSocket handshake whose whole head came in the connection's first read
            # goes to the WebSocket protocol as it is: uvicorn would parse it with h11, write
            # it out again and have websockets parse that (a tenth of a member's connect).
            # Anything else, h11 reads as before.
            fresh, self._fresh = self._fresh, False
            if fresh and self.ws_protocol_class is not None and _websocket_head(data):
                self._upgrade(data)
            else:
                super().data_received(data)

        def _upgrade(self, data: bytes) -> None:
            # What handle_websocket_upgrade does, with the bytes as they came.
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            self.connections.discard(self)
            protocol = self.ws_protocol_class(  # type: ignore[call-arg, misc]
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            protocol.connection_made(self.transport)
            protocol.data_received(data)
            self.transport.set_protocol(protocol)

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
