"""The workbench's timeline: every frame of a raw connection, both ways, with its control
frames and the connection's own events (opened, closed, reconnecting, refused), in order,
as one-line moments a list can show and a search can match."""

from __future__ import annotations

import time
from dataclasses import dataclass

from desktopchat.client.events import Control, Frame, SessionEvent, SessionState, StateChanged
from desktopchat.client.frames import frame_kind
from desktopchat.protocol import describe_close, printable

PREVIEW_CHARS = 300
"""Characters of a text frame a moment shows (the panes show it whole)."""
PREVIEW_BYTES = 32
"""Bytes of a binary frame a moment shows, in hex."""

IN, OUT, EVENT = "in", "out", ""
"""Which way a moment went: from the server, from us, or neither (the connection's own)."""


@dataclass(frozen=True, slots=True)
class Moment:
    """One line of the timeline."""

    time: int
    """Milliseconds since the epoch."""
    direction: str
    """:data:`IN`, :data:`OUT` or :data:`EVENT`."""
    kind: str
    """``text``, ``json``, ``binary``, ``ping``, ``pong``, ``close``, ``open``,
    ``connecting``, ``reconnecting`` or ``error``."""
    detail: str
    """One line: the frame's data (cut short; bytes in hex), or what happened."""
    size: int | None = None
    """The frame's payload in bytes (None for the connection's events)."""

    def searchable(self) -> str:
        """What a search matches against: the kind, its way and the detail."""
        return f"{self.kind} {self.direction} {self.detail}"


def moment_of(event: SessionEvent, url: str = "") -> Moment | None:
    """The timeline's line for ``event`` of a raw connection to ``url`` (None for events
    the timeline leaves out, such as "closing")."""
    if isinstance(event, Frame):
        return _frame(event)
    if isinstance(event, Control):
        return _control(event)
    if isinstance(event, StateChanged):
        return _state(event, url)
    return None


def _frame(frame: Frame) -> Moment:
    direction = IN if frame.incoming else OUT
    kind = frame_kind(frame.data).value
    if isinstance(frame.data, bytes):
        return Moment(frame.time, direction, kind, hex_preview(frame.data), len(frame.data))
    return Moment(
        frame.time, direction, kind, one_line(frame.data), len(frame.data.encode(errors="replace"))
    )


def _control(control: Control) -> Moment:
    direction = IN if control.incoming else OUT
    if control.opcode == "close":
        return Moment(
            control.time,
            direction,
            "close",
            describe_close(control.code, control.reason),
            2 + len(control.reason.encode()),
        )
    payload = f"  payload {hex_preview(control.payload)}" if control.payload else ""
    if control.rtt is not None:
        words = f"round trip {control.rtt * 1000:.1f} ms{payload}"
    else:
        words = payload.strip() or "no payload"
    return Moment(control.time, direction, control.opcode, words, len(control.payload))


def _state(change: StateChanged, url: str) -> Moment | None:
    now = time.time_ns() // 1_000_000
    if change.state is SessionState.CONNECTING:
        return Moment(now, EVENT, "connecting", url)
    if change.state is SessionState.OPEN:
        return Moment(now, EVENT, "open", url)
    if change.state is SessionState.RECONNECTING:
        closed = describe_close(change.code, change.reason)
        return Moment(
            now,
            EVENT,
            "reconnecting",
            f"{closed}; attempt {change.attempt} in {change.delay:.1f} s",
        )
    if change.state is SessionState.CLOSED:
        if change.error is not None:
            return Moment(now, EVENT, "error", one_line(change.error.explain()))
        return Moment(now, IN, "close", describe_close(change.code, change.reason))
    return None


def one_line(text: str) -> str:
    """``text`` on one line, cut to :data:`PREVIEW_CHARS`, control characters shown as
    escapes (a server's newline or bidi override must not forge or reorder lines)."""
    cut = text[:PREVIEW_CHARS]
    shown = printable(cut)
    return shown + (f" … (+{len(text) - PREVIEW_CHARS} characters)" if len(text) > len(cut) else "")


def hex_preview(data: bytes, shown_bytes: int = PREVIEW_BYTES) -> str:
    """The first ``shown_bytes`` bytes in hex, and how many more there are."""
    shown = data[:shown_bytes].hex(" ")
    more = len(data) - shown_bytes
    return shown + (f" … (+{more} bytes)" if more > 0 else "")
