"""The WebSocket protocol uvicorn runs for every member: ``websockets``' sans-I/O
``ServerProtocol`` on an asyncio transport, speaking ASGI to the app.

uvicorn takes a protocol class through its documented ``ws`` option and hands it every
upgraded connection (``RoomWebSocket(config=, server_state=, app_state=)``, then
``connection_made`` and the request's bytes); :mod:`desktopchat.server.web.http_protocol` hands
it the connections whose first read is a whole WebSocket head. It is ours, so a room gets
what it needs without reaching into another library:

- one object per member and no ASGI queue: the app's ``receive`` takes the next event from
  a list that exists only while events wait, and reading the socket pauses while one does;
- doors for the room, as ASGI scope extensions: ``write`` (a frame the room has framed
  already goes straight onto the transport while it is writable), ``buffered``,
  ``writable`` and ``abort`` (a member that stops reading leaves a close waiting on a
  buffer that never drains; only an abort frees it);
- a handshake that cannot hang: a head that ``websockets`` refuses is answered and closed,
  and the deadline for the request head holds until the WebSocket is open;
- keepalive pings, and an abort (not a close that waits on a dead peer's buffer) when one
  goes unanswered;
- nothing left for the cyclic garbage collector when a connection ends: what refers back
  to this object (the scope's doors, the handshake) is let go, so a room with members
  coming and going all day frees each by its reference count.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import struct
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from desktopchat.server.rooms.connection import (
    ABORT_EXTENSION,
    BUFFERED_EXTENSION,
    WRITABLE_EXTENSION,
    WRITE_EXTENSION,
)

if TYPE_CHECKING:
    import uvicorn
    from uvicorn.server import ServerState

logger = logging.getLogger("desktopchat.server")
# uvicorn's own WebSocket protocols log the handshakes here; so do we, for the same readers
# (the command line keeps these lines for -v, and the log redacts tokens in them).
handshakes = logging.getLogger("uvicorn.error")

Message = dict[str, Any]

_BAD_HEAD = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n"
    b"Connection: close\r\n\r\nInvalid WebSocket request"
)
CLOSE_TIMEOUT = 10.0
"""Seconds a peer has to answer our close frame before its connection is aborted."""


class ClientGone(ConnectionError):
    """The peer is gone: nothing more can be sent to it."""


class Flag:
    """An event for one connection's writability: set, clear, and wait for it to be set.

    Unlike ``asyncio.Event`` it makes its list of waiters only when somebody waits, which
    in a room of thousands of idle members is most of what an event costs.
    """

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake everybody waiting for it."""
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Unset the flag: whoever waits from now on waits for the next :meth:`set`."""
        self._set = False

    async def wait(self) -> None:
        """Return at once if the flag is set, else when it is."""
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status HTTP does not name
        return ""


def _address(info: object) -> tuple[str, int] | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None


class RoomWebSocket(asyncio.Protocol):
    """One WebSocket connection, from its request head to its close (see the module)."""

    # A room holds thousands of these for hours: no per-object dict.
    __slots__ = (
        "_close_timer",
        "_deadline",
        "_denial",
        "_events",
        "_parts",
        "_ping_payload",
        "_ping_timer",
        "_pong_timer",
        "_read_paused",
        "_reader",
        "_response",
        "_text",
        "_told_gone",
        "accepted",
        "answered",
        "app_state",
        "client",
        "close_sent",
        "config",
        "conn",
        "gone",
        "loop",
        "scope",
        "server_state",
        "transport",
        "writable",
    )

    handshake_timeout = 10.0
    """Seconds from the connection to an open WebSocket (set by :func:`room_websockets`)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: object = None,  # uvicorn passes it (None); the loop is the running one
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.loop = asyncio.get_running_loop()
        extensions = []
        if config.ws_per_message_deflate:
            extensions = [
                ServerPerMessageDeflateFactory(
                    server_max_window_bits=12,
                    client_max_window_bits=12,
                    compress_settings={"memLevel": 5},
                )
            ]
        self.conn = ServerProtocol(
            extensions=extensions, max_size=config.ws_max_size, logger=handshakes
        )
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.scope: Message | None = None
        self.writable = Flag(True)
        self.accepted = False  # the 101 went out: the WebSocket is open
        self.answered = False  # a response went out (101, or a refusal)
        self.close_sent = False
        self.gone = False
        self._response: Response | None = None  # the 101, until the app accepts
        self._denial: tuple[int, list[tuple[bytes, bytes]], list[bytes]] | None = None
        self._events: list[Message] | None = None  # for the app, oldest first
        self._reader: asyncio.Future[None] | None = None
        self._told_gone = False
        self._read_paused = False
        self._parts: list[bytes] | None = None  # a fragmented message so far
        self._text = False
        self._deadline: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None

    # -- the transport's side -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport instances, but have its methods.
        self.transport = transport = cast(asyncio.Transport, transport)
        self.client = _address(transport.get_extra_info("peername"))
        self.server_state.connections.add(self)  # type: ignore[arg-type]  # any protocol with shutdown()
        self._deadline = self.loop.call_later(self.handshake_timeout, self._expire)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self._cancel_timers()
        self.server_state.connections.discard(self)
        self._tell_gone(1005 if self.accepted else 1006)
        # A send waiting for a buffer that will never drain now: let it find out.
        self.writable.set()
        # What refers back to this object goes, so that it dies by its reference count.
        self.scope = None
        self._response = None

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def eof_received(self) -> bool | None:
        return None  # the transport closes; connection_lost tells the app

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        conn.receive_data(data)
        if conn.parser_exc is not None:
            # A protocol error, a message over the size limit: websockets has put its close
            # frame out already, and what came before the fault in this read is dropped.
            self._parser_failed()
            return
        for event in conn.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._frame(event)
        if not self.answered and conn.handshake_exc is not None:
            # websockets refused the head (over 128 headers, a line over 8 KiB...): it
            # answered some of these, and for the others we do.
            answer = b"".join(conn.data_to_send()) or _BAD_HEAD
            logger.info("refused %s: %s", self.client, conn.handshake_exc)
            self.answered = self.close_sent = True
            assert self.transport is not None
            self.transport.write(answer)
            self.transport.close()
        else:
            self._flush()

    def shutdown(self) -> None:
        """The server is stopping (uvicorn calls this on every connection it tracks)."""
        self._cancel_timers()
        assert self.transport is not None
        if self.accepted and not self.close_sent:
            self._tell_gone(1012)
            self.conn.send_close(1012)
            self._flush()
        else:
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "The server is shutting down")
        self.transport.close()

    # -- what the peer sends ------------------------------------------------------------------

    def _handshake(self, request: Request) -> None:
        response = self.conn.accept(request)
        if response.status_code != 101:  # not a valid WebSocket handshake
            self.answered = self.close_sent = True
            self.conn.send_response(response)
            self._flush()
            assert self.transport is not None
            self.transport.close()
            return
        self._response = response
        raw_path, _, query = request.path.partition("?")
        root = self.config.root_path
        subprotocols = [
            token.strip()
            for header in request.headers.get_all("Sec-WebSocket-Protocol")
            for token in header.split(",")
        ]
        assert self.transport is not None
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if self.transport.get_extra_info("sslcontext") else "ws",
            "server": _address(self.transport.get_extra_info("sockname")),
            "client": self.client,
            "root_path": root,
            "path": root + unquote(raw_path),
            "raw_path": root.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query.encode("ascii"),
            # ASGI wants header names in lower case; websockets keeps them as sent.
            "headers": [
                (name.lower().encode("ascii"), value.encode("latin-1"))
                for name, value in request.headers.raw_items()
            ],
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {
                "websocket.http.response": {},
                ABORT_EXTENSION: self.transport.abort,
                WRITE_EXTENSION: self.write_now,
                BUFFERED_EXTENSION: self.transport.get_write_buffer_size,
                WRITABLE_EXTENSION: self.writable,
            },
        }
        self._push({"type": "websocket.connect"})
        task = self.loop.create_task(self._run_app(self.scope))
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._text = opcode is Opcode.TEXT
            if frame.fin:
                self._message(frame.data)
            else:
                self._parts = [bytes(frame.data)]
        elif opcode is Opcode.CONT:
            if self._parts is not None:
                self._parts.append(bytes(frame.data))
                if frame.fin:
                    parts, self._parts = self._parts, None
                    self._message(b"".join(parts))
        elif opcode is Opcode.PONG:
            self._pong(bytes(frame.data))
        elif opcode is Opcode.CLOSE:
            self._closed_by_peer()
        # A ping is answered by websockets (its pong goes out with the next flush).

    def _message(self, data: bytes | bytearray | memoryview) -> None:
        if self.close_sent:
            return  # past our close: read on until the peer's close, keep nothing
        if self._text:
            try:
                text = bytes(data).decode()
            except UnicodeDecodeError as exc:
                # The peer's fault: one line, no traceback (docs/operations.md).
                logger.info("Invalid UTF-8 sequence received from %s: %s", self._who(), exc)
                self.conn.fail(1007, "invalid UTF-8")
                self._gone_wrong(1007, "invalid UTF-8")
                return
            self._push({"type": "websocket.receive", "text": text})
        else:
            self._push({"type": "websocket.receive", "bytes": bytes(data)})
        if not self._read_paused:  # one message waits at a time: read no more until taken
            self._read_paused = True
            assert self.transport is not None
            self.transport.pause_reading()

    def _closed_by_peer(self) -> None:
        assert self.transport is not None
        if self.close_sent:  # the peer answered our close: the handshake is complete
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self.transport.close()
            return
        received = self.conn.close_rcvd  # set with the close frame; its answer is queued
        assert received is not None
        self._gone_wrong(received.code, received.reason)

    def _parser_failed(self) -> None:
        sent = self.conn.close_sent
        self._gone_wrong(sent.code if sent is not None else 1006, sent.reason if sent else "")

    def _gone_wrong(self, code: int, reason: str) -> None:
        self._tell_gone(code, reason)
        self.close_sent = True
        self._flush()
        assert self.transport is not None
        self.transport.close()

    def _expire(self) -> None:
        self._deadline = None
        if not self.accepted and self.transport is not None:
            logger.info(
                "dropped %s: no WebSocket handshake within %ss", self.client, self.handshake_timeout
            )
            self.transport.abort()

    # -- keepalive ----------------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if interval is not None and interval > 0:
            self._ping_timer = self.loop.call_later(interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        assert self.transport is not None
        if self.close_sent or self.transport.is_closing():
            return
        # A random payload tells this ping's pong from a stale or unsolicited one.
        self._ping_payload = struct.pack("!I", random.getrandbits(32))
        self.conn.send_ping(self._ping_payload)
        self._flush()
        timeout = self.config.ws_ping_timeout
        if timeout is not None:
            self._pong_timer = self.loop.call_later(timeout, self._no_pong)
        else:
            self._schedule_ping()

    def _pong(self, payload: bytes) -> None:
        if self._ping_payload is None or payload != self._ping_payload:
            return
        self._ping_payload = None
        if self._pong_timer is not None:
            self._pong_timer.cancel()
            self._pong_timer = None
            self._schedule_ping()

    def _no_pong(self) -> None:
        # A dead peer never drains its buffer: closing would wait on it, so abort.
        self._pong_timer = None
        if self.close_sent or self._closing():
            return  # closing already: its own timer ends it
        logger.info("dropped %s: no answer to a keepalive ping", self.client)
        self.conn.fail(1011, "keepalive ping timeout")
        self.close_sent = True
        self._tell_gone(1011, "keepalive ping timeout")
        self._flush()
        assert self.transport is not None
        self.transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._deadline, self._close_timer, self._ping_timer, self._pong_timer):
            if timer is not None:
                timer.cancel()
        self._deadline = self._close_timer = self._ping_timer = self._pong_timer = None

    # -- the app's side (ASGI) ----------------------------------------------------------------

    async def _run_app(self, scope: Message) -> None:
        app: Callable[..., Awaitable[None]] = self.config.loaded_app
        try:
            await app(scope, self.receive, self.send)
        except ClientGone:
            pass
        except Exception:
            logger.exception("the WebSocket app failed on %s", scope.get("path"))
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        else:
            if not self.answered and not self.close_sent:
                logger.error("the WebSocket app returned without accepting or refusing")
                self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        finally:  # also when the app is cancelled (uvicorn's graceful-shutdown timeout)
            if self._close_timer is None and self.transport is not None:
                self.transport.close()

    async def receive(self) -> Message:
        """The next ASGI event for the app: connect, each message, then disconnect."""
        while not self._events:
            if self._reader is not None:
                raise RuntimeError("one reader at a time")
            self._reader = self.loop.create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        event = self._events.pop(0)
        if not self._events:
            self._events = None
            if self._read_paused and not self.gone:
                self._read_paused = False
                assert self.transport is not None
                self.transport.resume_reading()
        return event

    async def send(self, message: Message) -> None:
        """Carry out an ASGI message from the app."""
        await self.writable.wait()
        if self.gone:
            raise ClientGone("the peer is gone")
        kind = message["type"]
        if not self.answered:
            if self.close_sent or self._closing():
                # The peer closed (or broke the protocol) before the app answered: there is
                # no handshake left to answer.
                raise ClientGone("the peer left before its handshake was answered")
            self._answer(message)
        elif self._denial is not None:
            self._deny_body(message)
        elif self.close_sent:
            if kind == "websocket.close":
                return
            raise ClientGone("the connection is closing")
        elif kind == "websocket.send":
            try:
                if message.get("bytes") is not None:
                    self.conn.send_binary(message["bytes"])
                elif message.get("text") is not None:
                    self.conn.send_text(message["text"].encode())
                else:
                    raise RuntimeError("a websocket.send with neither text nor bytes")
            except InvalidState as exc:
                raise ClientGone("the connection is closing") from exc
            self._flush()
        elif kind == "websocket.close":
            self.close(message.get("code", 1000), message.get("reason") or "")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on an open WebSocket")

    def _answer(self, message: Message) -> None:
        kind = message["type"]
        path = self.scope["path"] if self.scope is not None else "?"
        if kind == "websocket.accept":
            response = self._response
            assert response is not None
            assert self.transport is not None
            handshakes.info('%s - "WebSocket %s" [accepted]', self._who(), self._target())
            for name, value in message.get("headers", ()):
                response.headers[name.decode("latin-1")] = value.decode("latin-1")
            if message.get("subprotocol"):
                response.headers["Sec-WebSocket-Protocol"] = message["subprotocol"]
            self._response = None
            if self.transport.is_closing():
                return
            self.answered = self.accepted = True
            self.conn.send_response(response)
            self._flush()
            if self._deadline is not None:  # open: the deadline is met
                self._deadline.cancel()
                self._deadline = None
            self._schedule_ping()
        elif kind == "websocket.close":
            handshakes.info('%s - "WebSocket %s" 403', self._who(), self._target())
            self._refuse(HTTPStatus.FORBIDDEN, "")
            self._tell_gone(1006)
        elif kind == "websocket.http.response.start":
            status = int(message["status"])
            if not 100 <= status < 600:
                raise RuntimeError(f"invalid HTTP status {status} in a WebSocket denial")
            handshakes.info('%s - "WebSocket %s" %d', self._who(), self._target(), status)
            self.answered = True
            self._denial = (status, list(message.get("headers", ())), [])
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} before {path}'s handshake")

    def _deny_body(self, message: Message) -> None:
        assert self._denial is not None
        if message["type"] != "websocket.http.response.body":
            raise RuntimeError(f"expected a denial's body, got {message['type']!r}")
        status, raw_headers, body = self._denial
        body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        content = b"".join(body)
        headers = Headers(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers]
        )
        headers.setdefault("Date", email.utils.formatdate(usegmt=True))
        headers.setdefault("Connection", "close")
        headers.setdefault("Content-Length", str(len(content)))
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        phrase = _phrase(status)
        self._denial = None
        self._tell_gone(1006)
        self.close_sent = True
        self.conn.send_response(Response(status, phrase, headers, content))
        self._flush()
        assert self.transport is not None
        self.transport.close()

    def close(self, code: int, reason: str) -> None:
        """Send a close frame; the peer has :data:`CLOSE_TIMEOUT` seconds to answer it."""
        assert self.transport is not None
        if self.close_sent or self.transport.is_closing():
            return
        self._tell_gone(code, reason)
        self.conn.send_close(code, reason)
        self._flush()
        self.close_sent = True
        if self._read_paused:  # read on: the peer's close is what we wait for
            self._read_paused = False
            self.transport.resume_reading()
        # A peer that does not answer may not read either: closing would wait on its buffer.
        self._close_timer = self.loop.call_later(CLOSE_TIMEOUT, self.transport.abort)

    def write_now(self, frame: bytes) -> bool:
        """Write ``frame`` if the connection is open and its buffer below the high mark."""
        transport = self.transport
        if (
            not self.accepted
            or self.close_sent
            or not self.writable.is_set()
            or transport is None
            or transport.is_closing()
        ):
            return False
        transport.write(frame)
        return True

    # -- helpers ------------------------------------------------------------------------------

    def _push(self, event: Message) -> None:
        if self._events is None:
            self._events = [event]
        else:
            self._events.append(event)
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    def _tell_gone(self, code: int, reason: str = "") -> None:
        """Tell the app (once) that the connection is over."""
        if self._told_gone or self.scope is None:
            return
        self._told_gone = True
        self._push({"type": "websocket.disconnect", "code": code, "reason": reason})

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        transport = self.transport
        if self.answered or self.close_sent or self._closing() or transport is None:
            return  # answered already, or nobody left to answer
        self.answered = self.close_sent = True
        self.conn.send_response(self.conn.reject(status, text))
        self._flush()
        transport.close()

    def _closing(self) -> bool:
        return self.gone or self.transport is None or self.transport.is_closing()

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        data = self.conn.data_to_send()
        if data:
            transport.write(b"".join(data))

    def _who(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "-"

    def _target(self) -> str:
        if self.scope is None:
            return "?"
        query: str = self.scope["query_string"].decode("ascii")
        path: str = self.scope["path"]
        return path + (f"?{query}" if query else "")


def room_websockets(handshake_timeout: float) -> type[RoomWebSocket]:
    """:class:`RoomWebSocket` with the server's deadline for the handshake."""
    attributes = {"handshake_timeout": handshake_timeout, "__slots__": ()}
    return type("TimedRoomWebSocket", (RoomWebSocket,), attributes)
