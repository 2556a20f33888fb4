"""``desktopchat join``: a room in the terminal, on the same session as the window.

Lines typed are sent as text; ``/json {…}`` sends JSON, ``/file PATH`` a file, ``/quit``
leaves with 1000. Incoming messages print with time and sender, state changes as one line.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from desktopchat.client.errors import JoinError, SendError
from desktopchat.client.events import (
    Delivered,
    Joined,
    PresenceChanged,
    Progress,
    Queued,
    Received,
    ServerError,
    SessionEvent,
    SessionState,
    StateChanged,
)
from desktopchat.client.session import Session
from desktopchat.protocol import ChatMessage, CloseCode, Kind, dumps

HELP = "type to chat; /json VALUE sends JSON, /file PATH sends a file, /quit leaves"


def format_message(message: ChatMessage) -> str:
    """``[12:03:04] alice: hello`` (JSON compact, binary as a one-line summary)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(message.time / 1000))
    if message.kind is Kind.TEXT:
        body = message.text
    elif message.kind is Kind.JSON:
        body = "(json) " + dumps(message.data)
    else:
        body = f"(file) {message.name or 'bytes'} [{message.mime}, {len(message.payload)} bytes]"
    return f"[{stamp}] {message.sender}: {body}"


def format_event(event: SessionEvent) -> str | None:
    """The line to print for a session event, or ``None`` to stay quiet."""
    if isinstance(event, Received):
        return format_message(event.message)
    if isinstance(event, StateChanged):
        return f"-- {event.describe()}"
    if isinstance(event, Joined):
        welcome = event.welcome
        return f"-- you are {welcome.name} in #{welcome.room}; here: {', '.join(welcome.members)}"
    if isinstance(event, PresenceChanged):
        return f"-- {event.presence.name} {'joined' if event.presence.event == 'join' else 'left'}"
    if isinstance(event, ServerError):
        return f"!! {event.error.message} ({event.error.code})"
    if isinstance(event, Progress) and event.sent == event.total:
        return f"-- sent {event.total} bytes"
    if isinstance(event, Delivered | Queued | Progress):
        return None
    return None


async def _stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _send_line(session: Session, line: str, out: TextIO) -> None:
    try:
        if line.startswith("/json "):
            await session.send_json_text(line[len("/json ") :])
        elif line.startswith("/file "):
            await session.send_file(line[len("/file ") :].strip())
        elif line.startswith("/"):
            print(f"!! unknown command; {HELP}", file=out, flush=True)
        else:
            await session.send_text(line)
    except SendError as exc:
        print(f"!! not sent: {exc}", file=out, flush=True)


async def run_terminal(session: Session, out: TextIO) -> int:
    """Join, then relay stdin to the room and the room to ``out``; returns the exit status.

    0 when the user leaves (``/quit`` or end of input), 1 when joining fails or the room
    closes us for good.
    """
    closed = asyncio.Event()
    final: list[StateChanged] = []

    def show(event: SessionEvent) -> None:
        line = format_event(event)
        if line is not None:
            print(line, file=out, flush=True)
        if isinstance(event, StateChanged) and event.state is SessionState.CLOSED:
            final.append(event)
            closed.set()

    session.subscribe(show)
    try:
        await session.start()
    except JoinError as exc:
        print(f"desktopchat: cannot join: {exc}", file=sys.stderr)
        return 1
    print(f"-- {HELP}", file=out, flush=True)
    reader = await _stdin_lines()
    closing = asyncio.ensure_future(closed.wait())
    try:
        while True:
            reading = asyncio.ensure_future(reader.readline())
            done, _ = await asyncio.wait({reading, closing}, return_when=asyncio.FIRST_COMPLETED)
            if closing in done:
                reading.cancel()
                return 0 if final and final[-1].code == CloseCode.NORMAL else 1
            raw = reading.result()
            line = raw.decode(errors="replace").rstrip("\r\n")
            if not raw or line == "/quit":
                await session.close()
                return 0
            if line:
                await _send_line(session, line, out)
    finally:
        closing.cancel()
