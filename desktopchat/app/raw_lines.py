"""``desktopchat join --raw``: how frames of any WebSocket endpoint appear in the terminal
and how typed lines become frames."""

from __future__ import annotations

import time

from desktopchat.client.errors import SendError
from desktopchat.client.events import Frame
from desktopchat.client.frames import ndjson_line, parse_bytes
from desktopchat.client.raw import MAX_CLOSE_REASON, SENDABLE, RawSession, sendable_close
from desktopchat.client.timeline import hex_preview
from desktopchat.protocol import printable

RAW_HELP = (
    "each line goes out as a text frame; /json VALUE checks it is JSON first, /hex HEX and "
    "/base64 DATA send bytes, /file PATH sends a file, /ping [TEXT] pings, "
    "/close [CODE [REASON]] or /quit closes"
)
HEX_SHOWN = 64
"""Bytes of a binary frame shown in hex on one line (the rest is counted)."""


def format_frame(frame: Frame, ndjson: bool) -> str | None:
    """The stdout line for ``frame``: with ``ndjson`` every frame, both directions; else
    what the server sent, text as it is (escaped), bytes in hex."""
    if ndjson:
        return ndjson_line(frame)
    if not frame.incoming:
        return None
    stamp = time.strftime("%H:%M:%S", time.localtime(frame.time / 1000))
    if isinstance(frame.data, bytes):
        shown = hex_preview(frame.data, HEX_SHOWN)
        return f"[{stamp}] (binary, {len(frame.data)} bytes) {shown}"
    return printable(f"[{stamp}] {frame.data}")


def close_frame(text: str) -> tuple[int, str]:
    """``CODE[:REASON]`` (or ``CODE REASON``) as a close frame's code and reason; raises
    ``ValueError`` for a code an endpoint may not send (see :func:`sendable_close`)."""
    code_text, _, reason = text.strip().replace(" ", ":", 1).partition(":")
    try:
        code = int(code_text or "1000")
    except ValueError:
        raise ValueError(f"'{code_text}' is not a close code") from None
    if not sendable_close(code):
        raise ValueError(f"{code} is not a code to close with: {SENDABLE}")
    if len(reason.encode()) > MAX_CLOSE_REASON:
        raise ValueError(f"a close reason is at most {MAX_CLOSE_REASON} bytes")
    return code, reason


def pong_line(latency: float) -> str:
    """The status line for a pong."""
    return f"-- pong after {latency * 1000:.1f} ms"


async def send_raw_line(session: RawSession, line: str) -> str | None:
    """Send one typed line; a status line to show, if any (a ping's round trip). Raises
    ``SendError`` saying why a line was not sent."""
    command, _, rest = line.partition(" ")
    if command == "/ping":
        return pong_line(await session.ping(rest.encode()))
    if command == "/json":
        await session.send_json_text(rest)
    elif command in ("/hex", "/base64"):
        try:
            payload = parse_bytes(rest, command[1:])
        except ValueError as exc:
            raise SendError(str(exc)) from exc
        await session.send_binary(payload)
    elif command == "/file":
        await session.send_file(rest.strip())
    elif line.startswith("/") and not line.startswith("//"):
        raise SendError(f"unknown command; {RAW_HELP}")
    else:
        # "//text" sends "/text": a way to send a frame that starts with a slash.
        await session.send_text(line[1:] if line.startswith("//") else line)
    return None
