"""What a :class:`~desktopchat.client.session.Session` sends with: messages into the
outbox, refused before sending when over the room's limit, each sent at most
``MAX_ATTEMPTS`` times, big ones in chunks with progress events."""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from desktopchat.client.errors import SendError
from desktopchat.client.events import Progress, Queued, SessionState
from desktopchat.client.listening import Link, read_to_send
from desktopchat.client.outbox import MAX_ATTEMPTS, Outbox, Pending
from desktopchat.protocol import (
    JsonValue,
    Kind,
    ProtocolError,
    RoomLimits,
    Sendable,
    SendBinary,
    SendDirect,
    SendJson,
    SendText,
    dumps,
    encode_client,
    loads,
)
from desktopchat.protocol.sizes import human_size


def direct_command(text: str) -> tuple[str, str] | None:
    """``(NAME, TEXT)`` of ``/msg NAME TEXT`` as typed in ``join``, the window or the page,
    or ``None`` for any other text (``/msg`` with no name or nothing to say included)."""
    if not text.startswith("/msg "):
        return None
    to, _, said = text[len("/msg ") :].strip().partition(" ")
    return (to, said) if to and said.strip() else None


class Sender:
    """The ``send_*`` methods of a session, and how a message goes out: through ``link``
    (its socket and state) from ``outbox``; ``give_up(cid, reason)`` drops a message for
    good and tells why (the session's, which also does it for the server's refusals)."""

    def __init__(
        self,
        link: Link,
        outbox: Outbox,
        *,
        give_up: Callable[[str, str], bool],
        max_size: int,
        chunk_size: int,
    ) -> None:
        self._link = link
        self.outbox = outbox
        self._give_up = give_up
        self._max_size = max_size
        self._chunk_size = chunk_size
        self.limits: RoomLimits | None = None
        """The room's limits, from its last welcome (``None`` from a server without)."""
        self.in_flight: str | None = None
        """The message being written when the connection closed is the one a 1009 blames."""

    @property
    def message_limit(self) -> int:
        """The largest message, in bytes, this room takes (as its welcome said)."""
        return self.limits.max_message_bytes if self.limits is not None else self._max_size

    async def send_text(self, text: str) -> str:
        """Send text; returns its client id. Queued while reconnecting."""
        return await self._send(SendText(text), "text", text[:80])

    async def send_json(self, value: JsonValue) -> str:
        """Send any JSON value; a value JSON cannot hold raises :class:`SendError`."""
        try:
            summary = dumps(value)
        except ProtocolError as exc:
            raise SendError(str(exc)) from exc
        return await self._send(SendJson(value), "json", summary[:80])

    async def send_json_text(self, text: str) -> str:
        """Parse ``text`` as JSON and send it; invalid JSON raises :class:`SendError`."""
        try:
            value = loads(text)
        except ProtocolError as exc:
            raise SendError(str(exc)) from exc
        return await self.send_json(value)

    async def send_binary(
        self, payload: bytes, *, name: str = "", mime: str = "application/octet-stream"
    ) -> str:
        """Send bytes with a file name and MIME type; large payloads report progress."""
        summary = f"{name or 'bytes'} ({len(payload)} bytes)"
        return await self._send(SendBinary(payload, name, mime), "binary", summary)

    async def send_file(self, path: str | Path) -> str:
        """Send a file's bytes with its name and guessed MIME type (``~`` is expanded)."""
        path = Path(path)
        payload = await read_to_send(path)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return await self.send_binary(payload, name=path.name, mime=mime)

    async def send_direct(self, to: str, text: str) -> str:
        """Say ``text`` to the member ``to`` alone; returns its client id."""
        return await self._send(SendDirect(to, Kind.TEXT, text=text), "direct", text[:80])

    async def send_direct_json(self, to: str, value: JsonValue) -> str:
        """Send any JSON value to the member ``to`` alone (a file offer, say)."""
        try:
            summary = dumps(value)
        except ProtocolError as exc:
            raise SendError(str(exc)) from exc
        return await self._send(SendDirect(to, Kind.JSON, data=value), "direct", summary[:80])

    async def _send(self, event: Sendable, kind: str, summary: str) -> str:
        link = self._link
        if link.closing or link.task is None or link.state is SessionState.CLOSED:
            raise SendError("not in a room")
        pending = self.outbox.add(event)
        limit = self.message_limit
        frame = encode_client(pending.event)
        size = len(frame.encode()) if isinstance(frame, str) else len(frame)
        if size > limit:
            self.outbox.acknowledge(pending.cid)
            raise SendError(
                f"{summary} is {human_size(size)}, over this room's limit of {human_size(limit)}"
            )
        link.emit(Queued(pending.cid, kind, summary, pending.event))
        ws = link.ws
        if ws is not None and link.state is SessionState.OPEN:
            # A failed send stays in the outbox and goes again after the reconnect.
            with contextlib.suppress(ConnectionClosed):
                await self.transmit(ws, pending)
        return pending.cid

    async def transmit(self, ws: ClientConnection, pending: Pending) -> None:
        """Send ``pending`` on ``ws`` (in chunks when big), or give it up after
        ``MAX_ATTEMPTS``; ``ConnectionClosed`` leaves it in the outbox."""
        if not self.outbox.attempt(pending.cid):
            self._give_up(
                pending.cid,
                f"not delivered: the connection was lost each of the {MAX_ATTEMPTS} times "
                "it was sent",
            )
            return
        self.in_flight = pending.cid
        frame = encode_client(pending.event)
        if isinstance(frame, str) or len(frame) <= self._chunk_size:
            await ws.send(frame)
            return
        await ws.send(self._chunks(pending.cid, frame))

    async def _chunks(self, cid: str, frame: bytes) -> AsyncIterator[bytes]:
        view = memoryview(frame)
        for start in range(0, len(frame), self._chunk_size):
            yield bytes(view[start : start + self._chunk_size])
            self._link.emit(Progress(cid, min(start + self._chunk_size, len(frame)), len(frame)))
