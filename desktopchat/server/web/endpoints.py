"""The WebSocket endpoints: ``/ws`` (the seed's echo) and ``/chat[/{room}]`` (the rooms)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from desktopchat.protocol import (
    DEFAULT_ROOM,
    CloseCode,
    CloseReason,
    ErrorEvent,
    Hello,
    HistoryRequest,
    Limits,
    RemoteProtocolError,
    decode_client,
    encode_server,
    parse_raw,
)
from desktopchat.server.framing import Frame
from desktopchat.server.rooms.connection import (
    ABORT_EXTENSION,
    BUFFERED_EXTENSION,
    WRITABLE_EXTENSION,
    WRITE_EXTENSION,
    Connection,
    nothing_buffered,
)
from desktopchat.server.rooms.hub import Hub, Refused, ServedRoom
from desktopchat.server.rooms.member import Member
from desktopchat.server.rooms.ratelimit import RateLimiter
from desktopchat.server.rooms.room import Mode
from desktopchat.server.web.admission import (
    admitted,
    allowed_host_names,
    offered_subprotocol,
    refuse,
)

logger = logging.getLogger("desktopchat.server")


def _frame_of(message: Message) -> Frame | None:
    """The payload of a ``websocket.receive`` message, or ``None`` for a disconnect."""
    if message["type"] != "websocket.receive":
        return None
    text: str | None = message.get("text")
    if text is not None:
        return text
    data: bytes | None = message.get("bytes")
    return data if data is not None else b""


class _Asgi:
    """The ASGI way to one peer, as :class:`Connection` wants it (a frame or a close;
    ``ConnectionError`` once the peer is gone)."""

    __slots__ = ("_websocket",)

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, frame: Frame) -> None:
        try:
            if isinstance(frame, str):
                await self._websocket.send_text(frame)
            else:
                await self._websocket.send_bytes(frame)
        except WebSocketDisconnect as exc:
            raise ConnectionError(f"the peer left ({exc.code})") from exc

    async def close(self, code: int, reason: str) -> None:
        try:
            await self._websocket.close(code, reason)
        except WebSocketDisconnect as exc:
            raise ConnectionError(f"the peer left ({exc.code})") from exc


def connection_of(websocket: WebSocket) -> Connection:
    """The connection of an accepted Starlette WebSocket."""
    asgi = _Asgi(websocket)
    extensions = websocket.scope.get("extensions") or {}
    return Connection(
        send=asgi.send,
        close=asgi.close,
        write_now=extensions.get(WRITE_EXTENSION),
        buffered=extensions.get(BUFFERED_EXTENSION) or nothing_buffered,
        writable=extensions.get(WRITABLE_EXTENSION),
        abort=extensions.get(ABORT_EXTENSION),
    )


async def echo(websocket: WebSocket) -> None:
    """The seed's echo: text ``hello`` → ``Echo: hello``; bytes come back unchanged."""
    await websocket.accept()
    try:
        while (frame := _frame_of(await websocket.receive())) is not None:
            if isinstance(frame, str):
                await websocket.send_text(f"Echo: {frame}")
            else:
                await websocket.send_bytes(frame)
    except WebSocketDisconnect:
        return


def room_door(hub: Hub) -> ASGIApp:
    """The ASGI app of ``/chat`` and ``/chat/{room}``: admission, :func:`join`, the relay.

    Plain ASGI rather than a Starlette endpoint: every layer around a connection's task
    lives as long as the member does (a coroutine, its closures), and a room holds
    thousands of idle members.
    """
    settings = hub.settings
    allowed_hosts = allowed_host_names(settings)
    limits = Limits(max_frame_bytes=settings.max_message_bytes)
    flood_bytes = settings.send_queue_bytes // 2

    async def door(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if not await admitted(websocket, settings, allowed_hosts):
            return
        # Joining's locals (the hello, the limits, ...) end with join(): only what the
        # member needs stays while it is in the room.
        joined = await join(websocket, hub, limits)
        if joined is None:
            return
        room, member = joined
        try:
            await _relay(websocket, room, member, limits, flood_bytes)
        finally:
            room.leave(member)
            hub.release(room)
            await member.finish()

    return door


async def join(websocket: WebSocket, hub: Hub, limits: Limits) -> tuple[ServedRoom, Member] | None:
    """Bring a member in: the room's checks, accept, its hello (structured), the join;
    ``None`` when it was refused or left first.

    A raw member is in the room before its accept goes out, its frames held until then: a
    raw client counts itself in once its handshake is done, and a message another member
    sent right after that was relayed to everybody but it (a structured member counts
    itself in at its welcome, which comes from the room)."""
    room_name = websocket.path_params.get("room", DEFAULT_ROOM)
    try:
        hub.check(room_name)
    except Refused as refusal:
        await refuse(websocket, refusal)
        return None
    subprotocol = offered_subprotocol(websocket)
    wish = Hello(name=websocket.query_params.get("name"))
    if subprotocol is None:
        mode, hello = Mode.RAW, wish
    else:
        await websocket.accept(subprotocol=subprotocol)
        mode = Mode(subprotocol)
        received = await _receive_hello(websocket, wish, hub.settings.hello_timeout, limits)
        if received is None:
            return None
        hello = received
        try:
            hub.check(room_name)
        except Refused as refusal:
            await websocket.close(refusal.code, refusal.reason)
            return None
    room = hub.room(room_name)
    try:
        await hub.ready(room)
    except Refused as refusal:
        hub.release(room)
        if mode is Mode.RAW:
            await refuse(websocket, refusal)
        else:
            await websocket.close(refusal.code, refusal.reason)
        return None
    settings, connection = hub.settings, connection_of(websocket)
    started = asyncio.get_running_loop().time()

    def make(name: str, prelude: Iterator[Frame] | None) -> Member:
        return Member(
            connection,
            name=name,
            mode=mode,
            key=hello.key,
            queue_size=settings.send_queue,
            queue_bytes=settings.send_queue_bytes,
            close_timeout=settings.close_timeout,
            limiter=RateLimiter(settings.rate, settings.burst, started),
            stall_timeout=settings.stall_timeout,
            prelude=prelude,
            held=mode is Mode.RAW,
        )

    member = room.join(mode, hello, make)
    if mode is Mode.RAW:
        try:
            await websocket.accept()
        except BaseException:
            room.leave(member)
            hub.release(room)
            await member.finish()
            raise
        member.open()
    return room, member


def _error(exc: RemoteProtocolError) -> str:
    return encode_server(ErrorEvent(exc.code, str(exc), field=getattr(exc, "field", None)))


async def _receive_hello(
    websocket: WebSocket, wish: Hello, within: float, limits: Limits
) -> Hello | None:
    """Wait for a structured client's hello; anything else before it gets an error event."""
    try:
        async with asyncio.timeout(within):
            while (frame := _frame_of(await websocket.receive())) is not None:
                try:
                    event = decode_client(frame, limits)
                except RemoteProtocolError as exc:
                    await websocket.send_text(_error(exc))
                    continue
                if isinstance(event, Hello):
                    return Hello(name=event.name or wish.name, resume=event.resume, key=event.key)
                await websocket.send_text(_HELLO_FIRST)
    except TimeoutError:
        await websocket.close(CloseCode.POLICY, CloseReason.NO_HELLO)
    except WebSocketDisconnect:
        pass
    return None


_HELLO_FIRST = encode_server(
    ErrorEvent("hello-required", "send a hello before anything else", field="type")
)
_ALREADY_JOINED = encode_server(
    ErrorEvent("already-joined", "hello is only for joining", field="type")
)


async def _relay(
    websocket: WebSocket, room: ServedRoom, member: Member, limits: Limits, flood_bytes: int
) -> None:
    """Read the member's frames until it leaves, publishing each to the room.

    Over its rate, a member's next frame waits (and its socket is not read meanwhile: TCP
    slows the sender down); only a member that is over its rate and also makes the server
    hold ``flood_bytes`` for it (it sends but does not read) is closed as a flooder.
    """
    loop = asyncio.get_running_loop()
    while (frame := _frame_of(await websocket.receive())) is not None:
        if member.closing:
            continue
        wait = member.limiter.delay(loop.time())
        if wait:
            if member.held() > flood_bytes:
                logger.warning("%s is flooding #%s; closing with 1008", member.name, room.name)
                member.close_soon(CloseCode.POLICY, CloseReason.FLOODING, urgent=True)
                continue
            await asyncio.sleep(wait)
        if member.mode is Mode.RAW:
            await room.publish(member, parse_raw(frame), raw_frame=frame)
            continue
        try:
            event = decode_client(frame, limits)
        except RemoteProtocolError as exc:
            member.deliver(_error(exc))
            continue
        if isinstance(event, Hello):
            member.deliver(_ALREADY_JOINED)
        elif isinstance(event, HistoryRequest):
            room.send_page(member, event)  # paced like any message, by the rate limit
        else:
            await room.publish(member, event)
