"""What a :class:`~desktopchat.client.session.Session` reports, as frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from desktopchat.client.errors import JoinError
from desktopchat.protocol import (
    ChatMessage,
    ErrorEvent,
    Presence,
    Sendable,
    Welcome,
    describe_close,
    endpoint_close,
    plain_close,
)

HISTORY_RESET = "the room's history started over: messages from before are not in it"
"""What to tell the user when a welcome says ``reset``."""

HISTORY_GAP = "some messages sent while you were away are no longer in the room's history"
"""What to tell the user when a welcome says ``gap``."""


class SessionState(enum.Enum):
    """The one state machine of a session: connecting → open → closing → closed, or
    reconnecting (with its attempt and delay) after an unexpected close."""

    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The session entered ``state``; the other fields say why and what next."""

    state: SessionState
    attempt: int = 0
    delay: float = 0.0
    code: int | None = None
    reason: str = ""
    error: JoinError | None = None
    raw: bool = False
    """A raw connection: nothing is resumed after a reconnect (the UI says so)."""
    ours: bool = False
    """We closed it (a raw connection's close with a code and reason of our choosing)."""

    def describe(self) -> str:
        """One line for a status bar, in words first and the code as detail:
        ``The connection was lost: reconnecting in 2.1 s (attempt 3; 1006)``."""
        if self.state is SessionState.RECONNECTING:
            if self.raw:
                return (
                    f"Disconnected ({describe_close(self.code, self.reason)}): reconnecting in "
                    f"{self.delay:.1f} s (attempt {self.attempt}). Raw connections do not "
                    "resume: what the server sends meanwhile is lost."
                )
            return (
                f"{plain_close(self.code, self.reason)}: reconnecting in {self.delay:.1f} s "
                f"(attempt {self.attempt}; {describe_close(self.code, self.reason)})"
            )
        if self.state is SessionState.CLOSED:
            if self.error is not None:
                return f"Closed: {self.error.explain()}"
            # Any WebSocket endpoint is not a room: no room's words for how it ended.
            if self.ours:
                words = "You closed the connection"
            elif self.raw:
                words = endpoint_close(self.code)
            else:
                words = plain_close(self.code, self.reason)
            return f"Closed: {words} ({describe_close(self.code, self.reason)})"
        return str(self.state.value)


@dataclass(frozen=True, slots=True)
class Joined:
    """The room welcomed us (first join or a resume): our name and the member list."""

    welcome: Welcome


@dataclass(frozen=True, slots=True)
class Received:
    """A message of the room; ``cid`` is set when it is one of ours (the id we sent it under)."""

    message: ChatMessage
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """Somebody joined or left. ``members`` is the room's list after the change when the
    server sent one (``desktopchat.v1``), ``None`` for a change alone (``v2``): the
    session's ``members`` has the list either way. (Not a copy per change: in a room of
    thousands, that made every join cost the whole list.)"""

    presence: Presence
    members: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """A message of ours waits in the outbox for the server's acknowledgement.

    ``message`` is what was sent (text, JSON value or bytes), for showing it as pending.
    """

    cid: str
    kind: str
    summary: str
    message: Sendable | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """The server stored our message ``cid`` as ``id``."""

    cid: str
    id: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Older messages the room sent on request, oldest first; ``more`` if older ones exist."""

    messages: tuple[ChatMessage, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class Failed:
    """Our message ``cid`` was given up on and left the outbox: ``reason`` says why.

    The server refused it (an error event, or a close for its size), or the connection died
    under it on every attempt. It will not be sent again.
    """

    cid: str
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Bytes of a large message handed to the network so far."""

    cid: str
    sent: int
    total: int


@dataclass(frozen=True, slots=True)
class ServerError:
    """The server refused something we sent (rate limit, invalid envelope …)."""

    error: ErrorEvent


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame of a raw connection (any WebSocket endpoint), as it went over the wire:
    ``incoming`` from the server, or one of ours."""

    time: int
    incoming: bool
    data: str | bytes


@dataclass(frozen=True, slots=True)
class Control:
    """A control frame of a raw connection: our ``ping`` (with its payload), the server's
    ``pong`` (with the round trip in seconds), or our ``close`` (its code and reason).
    The server's close is a :class:`StateChanged` with its code and reason."""

    time: int
    incoming: bool
    opcode: str
    """``ping``, ``pong`` or ``close``."""
    payload: bytes = b""
    rtt: float | None = None
    code: int | None = None
    reason: str = ""


SessionEvent = (
    Frame
    | Control
    | StateChanged
    | Joined
    | Received
    | PresenceChanged
    | Queued
    | Delivered
    | Failed
    | Progress
    | ServerError
)
