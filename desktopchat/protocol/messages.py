"""The events of ``desktopchat.v1`` as frozen dataclasses.

Client → server: :class:`Hello`, :class:`SendText`, :class:`SendJson`, :class:`SendBinary`,
:class:`SendDirect`, :class:`HistoryRequest`.
Server → client: :class:`Welcome`, :class:`ChatMessage`, :class:`Presence`, :class:`Ack`,
:class:`ErrorEvent`. Times are integer milliseconds since the Unix epoch, stamped by the server.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeAlias

SUBPROTOCOL = "desktopchat.v1"
"""The first dialect of the structured protocol (presence events carry the member list)."""

SUBPROTOCOL_V2 = "desktopchat.v2"
"""The second dialect: presence events carry only the change (docs/protocol.md)."""

SUBPROTOCOLS = (SUBPROTOCOL_V2, SUBPROTOCOL)
"""The dialects this version speaks, newest first: a client offers them all, the server
picks the newest it knows."""

JsonValue: TypeAlias = Any
"""Any value ``json.loads`` can return."""


class Kind(enum.StrEnum):
    """What a chat message carries."""

    TEXT = "text"
    JSON = "json"
    BINARY = "binary"


class PresenceEvent(enum.StrEnum):
    """What happened to a member."""

    JOIN = "join"
    LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame of a structured client: who it wishes to be and where it resumes.

    ``name`` is a wish: the server makes it unique. ``resume`` is the last message id the client
    saw (``None`` for a new member, which then gets the room's recent history). ``key`` is an
    opaque per-client string that scopes client message ids across reconnects.
    """

    name: str | None = None
    resume: int | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SendText:
    """A member sends text. ``cid`` is the client's own id, echoed in the :class:`Ack`."""

    text: str
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class SendJson:
    """A member sends any JSON value."""

    data: JsonValue
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class SendBinary:
    """A member sends bytes, with a file name and a MIME type."""

    payload: bytes
    name: str = ""
    mime: str = "application/octet-stream"
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class SendDirect:
    """A member says something to one other member of the room: text, or JSON (``kind``).

    The host relays it to that member alone (and to the sender's other sessions), keeps it
    in a history of the two of them, and never shows it to anyone else (docs/protocol.md,
    "Direct messages").
    """

    to: str
    kind: Kind
    text: str = ""
    data: JsonValue = None
    cid: str | None = None


MAX_HISTORY_PAGE = 200
"""The most messages one history page holds."""


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """A member asks for older messages: up to ``limit`` of those with ids below ``before``.

    The server answers with the messages (oldest first, each marked ``page``), then a
    :class:`PageEnd`. ``limit`` is at most :data:`MAX_HISTORY_PAGE`; a page also stops after
    1 MiB of message bodies.
    """

    before: int
    limit: int = 50
    with_: str | None = None
    """A page of the direct conversation with this member (by name), not of the room."""


Sendable: TypeAlias = SendText | SendJson | SendBinary | SendDirect
"""A chat message a member sends (everything a client sends but the hello)."""

ClientEvent: TypeAlias = Hello | HistoryRequest | Sendable


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message of the room, as stored and relayed: one of text, JSON or binary.

    Exactly the field of its kind is meaningful: ``text`` for text, ``data`` for JSON,
    ``payload`` (+ ``name`` and ``mime``) for binary. ``page`` marks a message sent as part
    of a history page the member asked for (:class:`HistoryRequest`), not live traffic.
    """

    id: int
    time: int
    sender: str
    kind: Kind
    text: str = ""
    data: JsonValue = None
    payload: bytes = b""
    name: str = ""
    mime: str = ""
    page: bool = False
    to: str = ""
    """For a direct message, the member it was said to (empty: said to the room)."""

    @property
    def direct(self) -> bool:
        """Whether it was said to one member, not to the room."""
        return bool(self.to)


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """The room's rules, as the welcome states them, so a client can keep to them.

    ``max_message_bytes`` is the largest frame the server takes (a bigger one closes the
    sender with 1009); ``rate`` messages per second (0: no limit) with bursts of ``burst``;
    ``history_size`` recent messages reach a newcomer.
    """

    max_message_bytes: int
    rate: float
    burst: int
    history_size: int


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server's answer to :class:`Hello`: the member's assigned name and the room's state.

    ``last_id`` is the newest id in the room when the member joined; the backlog (missed or
    recent messages) follows as ordinary :class:`ChatMessage` events, then live traffic.
    ``limits`` is absent from servers older than the field. ``reset`` says the ``resume``
    id the client sent is beyond this room's history (the server restarted without it, or
    the id is from another room): the client's position means nothing here, and the backlog
    that follows is the recent history, as for a newcomer.
    """

    room: str
    name: str
    members: tuple[str, ...]
    last_id: int
    time: int
    resumed: bool = False
    limits: RoomLimits | None = None
    reset: bool = False
    host: str | None = None
    """The member name of the person hosting the room, when a person hosts it."""
    gap: bool = False
    """The ``resume`` position is older than the room still holds: messages after it are
    missing from the backlog (the history was trimmed), not silently skipped."""


@dataclass(frozen=True, slots=True)
class Presence:
    """A member joined or left. ``members`` is the room's list after the change in
    ``desktopchat.v1``; ``desktopchat.v2`` sends only the change (``None``), the list being
    in the welcome."""

    event: PresenceEvent
    name: str
    members: tuple[str, ...] | None
    time: int


@dataclass(frozen=True, slots=True)
class Ack:
    """The server stored the sender's message ``cid`` as ``id``; ``duplicate`` if it already had."""

    cid: str
    id: int
    time: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something the member sent was refused; the connection stays open.

    ``field`` names the envelope field at fault, when one is.
    """

    code: str
    message: str
    cid: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class PageEnd:
    """The end of a history page: ``count`` messages were sent for the request ``before``;
    ``more`` says older ones exist."""

    before: int
    count: int
    more: bool
    with_: str | None = None
    """The member whose direct conversation the page was of (``None``: the room's)."""


ServerEvent: TypeAlias = Welcome | ChatMessage | Presence | Ack | ErrorEvent | PageEnd
