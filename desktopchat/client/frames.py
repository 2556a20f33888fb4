"""Frames of raw connections as people read them: which pane (text, JSON or binary), bytes
typed as hex or base64, and the session's log as NDJSON."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from desktopchat.client.events import Control, Frame
from desktopchat.protocol import Kind, ProtocolError, loads


def json_value(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when ``text`` is a JSON object or array, else ``(False, None)``:
    a bare ``42`` or ``"x"`` reads better as text."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return False, None
    try:
        return True, loads(text)
    except ProtocolError:
        return False, None


def frame_kind(data: str | bytes) -> Kind:
    """The pane a frame belongs in."""
    if isinstance(data, bytes):
        return Kind.BINARY
    return Kind.JSON if json_value(data)[0] else Kind.TEXT


_HEX_NOISE = re.compile(r"0x|[\s:,_-]", re.IGNORECASE)


def parse_bytes(text: str, encoding: str) -> bytes:
    """The bytes written in ``text`` as ``hex`` (spaces, colons and ``0x`` allowed) or
    ``base64`` (standard or URL-safe, padding optional); ``ValueError`` says what is wrong."""
    if encoding == "hex":
        digits = _HEX_NOISE.sub("", text)
        if len(digits) % 2:
            raise ValueError("hex needs two digits per byte: the count of digits is odd")
        try:
            return bytes.fromhex(digits)
        except ValueError:
            bad = next(char for char in digits if char not in "0123456789abcdefABCDEF")
            raise ValueError(f"'{bad}' is not a hex digit") from None
    if encoding == "base64":
        compact = "".join(text.split())
        compact += "=" * (-len(compact) % 4)
        try:
            return base64.b64decode(compact.replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from None
    raise ValueError(f"unknown encoding '{encoding}' (hex or base64)")


def ndjson_line(frame: Frame) -> str:
    """One line of the log: ``{"time", "direction", "kind", "data"}``; JSON frames carry
    their value, binary ones base64."""
    kind = frame_kind(frame.data)
    data: Any
    if isinstance(frame.data, bytes):
        data = base64.b64encode(frame.data).decode()
    else:
        data = json_value(frame.data)[1] if kind is Kind.JSON else frame.data
    return _line(frame.time, frame.incoming, kind.value, data)


def ndjson_control(control: Control) -> str:
    """A control frame's line in the same log: ``ping`` and ``pong`` with their payload in
    base64 (a pong with ``rtt_ms``, its round trip), ``close`` with its code and reason."""
    data: dict[str, Any]
    if control.opcode == "close":
        data = {"code": control.code, "reason": control.reason}
    else:
        data = {"payload": base64.b64encode(control.payload).decode()}
        if control.rtt is not None:
            data["rtt_ms"] = round(control.rtt * 1000, 3)
    return _line(control.time, control.incoming, control.opcode, data)


def ndjson_closed(time_ms: int, code: int | None, reason: str) -> str:
    """The line for the server's close (or the connection's loss: ``code`` 1006)."""
    return _line(time_ms, True, "close", {"code": code, "reason": reason})


def _line(time_ms: int, incoming: bool, kind: str, data: Any) -> str:
    moment = datetime.datetime.fromtimestamp(time_ms / 1000, datetime.UTC)
    return json.dumps(
        {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "direction": "in" if incoming else "out",
            "kind": kind,
            "data": data,
        },
        ensure_ascii=False,
    )


def write_ndjson(path: Path, frames: Iterable[Frame]) -> int:
    """Write ``frames`` to ``path``, one NDJSON line each; returns how many (``OSError``)."""
    lines = [ndjson_line(frame) for frame in frames]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
