"""A chat room: its members, its history, and the rules of who hears what.

Every message is stored first (it gets its id there), then encoded once per mode and handed to
each member's queue. Raw members get bare frames, structured members get envelopes; nobody's
slowness or failure reaches anybody else.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from desktopchat.protocol import (
    MAX_HISTORY_PAGE,
    Ack,
    ChatMessage,
    ErrorEvent,
    Hello,
    HistoryRequest,
    Kind,
    PageEnd,
    Presence,
    PresenceEvent,
    RoomLimits,
    Sendable,
    SendBinary,
    SendJson,
    SendText,
    Welcome,
    encode_raw,
    encode_server,
    name_key,
    unique_name,
)
from desktopchat.server.connection import Frame
from desktopchat.server.framing import Outgoing
from desktopchat.server.history import History, StoreError
from desktopchat.server.settings import Settings

logger = logging.getLogger("desktopchat.server")

_BACKLOG_PAGE = 200
PRESENCE_WINDOW = 0.05
"""Seconds v2 presence changes are gathered before they go out together."""
OFFLOAD_BYTES = 1024 * 1024
"""Messages from this size on are written to a disk store from a worker thread."""
_BACKLOG_PAGE_BYTES = 1024 * 1024
NOT_STORED = "the server could not store this message (its disk?): not sent, try again"


class Mode(enum.Enum):
    """How a member speaks: bare frames as in the seed, or envelopes (``desktopchat.v1``,
    whose presence events carry the whole member list, or ``desktopchat.v2``, whose
    presence events carry only the change)."""

    RAW = "raw"
    V1 = "desktopchat.v1"
    V2 = "desktopchat.v2"

    @property
    def structured(self) -> bool:
        """Whether the member speaks envelopes."""
        return self is not Mode.RAW


class Peer(Protocol):
    """What a room needs of a member (``Member``, or a recording fake in tests)."""

    @property
    def name(self) -> str:
        """The member's unique display name in the room."""

    @property
    def mode(self) -> Mode:
        """Raw or structured."""

    @property
    def key(self) -> str | None:
        """The client's key, scoping its message ids (structured members)."""

    def deliver(self, outgoing: Outgoing | Frame) -> None:
        """Send a frame without waiting."""

    def check_stalled(self, now: float) -> bool:
        """Close the member if it stopped reading; whether it did."""

    def held(self) -> int:
        """Bytes on their way to the member (queued, or in its transport's buffer)."""

    async def close(self, code: int, reason: str) -> None:
        """Close the member's connection."""


P = TypeVar("P", bound=Peer)


def _size(event: Sendable) -> int:
    if isinstance(event, SendBinary):
        return len(event.payload)
    return len(event.text) if isinstance(event, SendText) else 0


def _as_message(event: Sendable, sender: str, now: int) -> ChatMessage:
    if isinstance(event, SendText):
        return ChatMessage(0, now, sender, Kind.TEXT, text=event.text)
    if isinstance(event, SendJson):
        return ChatMessage(0, now, sender, Kind.JSON, data=event.data)
    return ChatMessage(
        0, now, sender, Kind.BINARY, payload=event.payload, name=event.name, mime=event.mime
    )


Batch = asyncio.Future[None] | None  # a stored message's commit to wait for (None: done)


@dataclass(frozen=True, slots=True)
class _Unrelayed:
    """A message stored and waiting for its commit to go out."""

    committed: Batch
    sender: Peer
    event: Sendable
    raw_frame: Frame | None
    stored: ChatMessage | Ack


class Room:
    """The members and history of one room; all methods run on the event loop, and only
    :meth:`publish` awaits (a big message being stored)."""

    def __init__(
        self,
        name: str,
        history: History,
        *,
        clock: Callable[[], int],
        settings: Settings,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = name
        self._history = history
        self._clock = clock
        self._settings = settings
        self._on_change = on_change
        # A dict as an ordered set: joining and leaving are O(1) in rooms of thousands.
        self._members: dict[Peer, None] = {}
        # Each member's deliver, by what it speaks: the fan-out loop does nothing else.
        self._raw_delivers: dict[Peer, Callable[[Outgoing], None]] = {}
        self._structured_delivers: dict[Peer, Callable[[Outgoing], None]] = {}
        self._taken: set[str] = set()
        self._suffixes: dict[str, int] = {}  # where "guest N" goes on: joins stay O(1)
        self._count = dict.fromkeys(Mode, 0)
        self._relayed = history.last_id(name)
        self._presence: list[tuple[int, str]] = []
        self._presence_seq = 0
        self._seen_up_to: dict[Peer, int] = {}
        self._presence_flush: asyncio.TimerHandle | None = None
        self._in_order = asyncio.Lock()
        self._unrelayed: deque[_Unrelayed] = deque()
        self._limits = RoomLimits(
            max_message_bytes=settings.max_message_bytes,
            rate=settings.rate,
            burst=settings.burst,
            history_size=settings.history_size,
        )

    def __len__(self) -> int:
        return len(self._members)

    @property
    def members(self) -> tuple[Peer, ...]:
        """The members, in order of joining."""
        return tuple(self._members)

    @property
    def names(self) -> tuple[str, ...]:
        """Display names of the members, in order of joining."""
        return tuple(member.name for member in self._members)

    def join(self, mode: Mode, hello: Hello, make: Callable[[str, Iterator[Frame] | None], P]) -> P:
        """Admit a newcomer: name it, greet it with the backlog, and tell the others.

        ``make(name, prelude)`` builds the member once the room has named it; ``prelude``
        (the welcome and the backlog, for a structured member) is what it must send first.
        """
        name = unique_name(hello.name, self._taken, self._suffixes)
        now = self._clock()
        prelude: Iterator[Frame] | None = None
        if mode.structured:
            # What has been relayed, not what is stored: a big message may be in the store
            # and not yet relayed (stored on a worker thread); a newcomer gets it live.
            last_id = self._relayed
            # An id beyond what this room holds is a position from elsewhere: start over.
            reset = hello.resume is not None and hello.resume > last_id
            resume = None if reset else hello.resume
            # Older than the room still holds: what came between is gone, and it is said.
            kept_from = self._history.start_of_recent(self.name, 1 << 62)
            gap = resume is not None and resume < kept_from
            welcome = Welcome(
                room=self.name,
                name=name,
                members=(*self.names, name),
                last_id=last_id,
                time=now,
                resumed=resume is not None,
                limits=self._limits,
                reset=reset,
                host=self._settings.host_member or None,
                gap=gap,
            )
            prelude = self._prelude(welcome, resume)
        member = make(name, prelude)
        self._members[member] = None
        (self._structured_delivers if mode.structured else self._raw_delivers)[member] = (
            member.deliver
        )
        self._taken.add(name_key(name))
        self._count[mode] += 1
        self._announce(PresenceEvent.JOIN, name, now, member)
        logger.info("%s joined #%s (%s, %d members)", name, self.name, mode.value, len(self))
        self._on_change()
        return member

    def leave(self, member: Peer) -> None:
        """Remove a member (it is gone or going) and tell the others."""
        if member not in self._members:
            return
        del self._members[member]
        (self._structured_delivers if member.mode.structured else self._raw_delivers).pop(member)
        self._taken.discard(name_key(member.name))
        base, _, number = member.name.rpartition(" ")
        key = name_key(base) if number.isdigit() else ""
        if key in self._suffixes:  # "guest 2" is free again: the next guest may have it
            self._suffixes[key] = min(self._suffixes[key], int(number))
        self._count[member.mode] -= 1
        self._announce(PresenceEvent.LEAVE, member.name, self._clock(), member)
        logger.info("%s left #%s (%d members)", member.name, self.name, len(self))
        self._on_change()

    async def publish(
        self, sender: Peer, event: Sendable, *, raw_frame: Frame | None = None
    ) -> None:
        """Store a message, acknowledge it to a structured sender, relay it to everybody.

        ``raw_frame`` is the frame exactly as a raw sender sent it, relayed verbatim to raw
        members. A structured resend with a client id already stored is acknowledged again
        (``duplicate``) and not stored or relayed twice. Messages are stored one at a time (a
        big one on a worker thread) and go out once committed, in the order they were stored.
        """
        try:
            async with self._in_order:
                stored, committed = await self._store(sender, event)
        except StoreError as exc:
            self._not_stored(sender, event, exc)
            return
        if committed is None and not self._unrelayed:
            self._publish_stored(sender, event, raw_frame, stored)
            return
        # Out once committed, in order; the sender's next message need not wait: one commit.
        self._unrelayed.append(_Unrelayed(committed, sender, event, raw_frame, stored))
        if committed is not None:
            committed.add_done_callback(self._relay_committed)

    def _relay_committed(self, _batch: asyncio.Future[None]) -> None:  # oldest first, in order
        while self._unrelayed:
            head = self._unrelayed[0]
            if head.committed is not None and not head.committed.done():
                return
            self._unrelayed.popleft()
            failure = head.committed.exception() if head.committed is not None else None
            if failure is not None:
                self._not_stored(head.sender, head.event, failure)
            else:
                self._publish_stored(head.sender, head.event, head.raw_frame, head.stored)

    def _not_stored(self, sender: Peer, event: Sendable, exc: BaseException) -> None:
        logger.error("#%s: a message from %s was not stored: %s", self.name, sender.name, exc)
        if event.cid is not None:
            sender.deliver(encode_server(ErrorEvent("not-stored", NOT_STORED, event.cid)))

    async def _store(self, sender: Peer, event: Sendable) -> tuple[ChatMessage | Ack, Batch]:
        """The message stored (or the ack of its earlier copy), and its commit to wait for."""
        cid, history = event.cid, self._history
        if cid is not None and sender.key is not None:
            known = history.find(self.name, sender.key, cid)
            if known is not None:  # it may be in the batch not yet committed
                return Ack(cid, known.id, self._clock(), duplicate=True), history.committed()
        message = _as_message(event, sender.name, self._clock())
        if history.slow_writes and _size(event) >= OFFLOAD_BYTES:  # committed on return
            stored = await asyncio.to_thread(history.append, self.name, message, sender.key, cid)
            return stored, None
        return history.append(self.name, message, sender.key, cid), history.committed()

    def _publish_stored(
        self, sender: Peer, event: Sendable, raw_frame: Frame | None, stored: ChatMessage | Ack
    ) -> None:
        cid = event.cid
        # Who joined or left before this message is told before it.
        self._flush_presence()
        if isinstance(stored, Ack):
            sender.deliver(encode_server(stored))
            return
        if cid is not None:
            sender.deliver(encode_server(Ack(cid, stored.id, stored.time)))
        self._fan_out(stored, raw_frame)

    def _fan_out(self, message: ChatMessage, raw_frame: Frame | None) -> None:
        """Hand a stored message to every member, encoded once per mode (and only for a mode
        somebody in the room speaks); raw members get ``raw_frame`` verbatim when given."""
        self._flush_presence()
        self._relayed = message.id
        if self._structured_delivers:
            structured = Outgoing(encode_server(message))
        if self._raw_delivers:
            raw = Outgoing(raw_frame if raw_frame is not None else encode_raw(message))
        for deliver in self._structured_delivers.values():
            deliver(structured)
        for deliver in self._raw_delivers.values():
            deliver(raw)

    def send_page(self, member: Peer, request: HistoryRequest) -> None:
        """Send ``member`` the older page it asked for (nothing unrelayed), then its end."""
        before = min(request.before, self._relayed + 1)
        limit = min(request.limit, MAX_HISTORY_PAGE)
        page = self._history.before(self.name, before, limit, _BACKLOG_PAGE_BYTES)
        for message in page:
            member.deliver(encode_server(replace(message, page=True)))
        more = bool(page) and self._history.has_before(self.name, page[0].id)
        member.deliver(encode_server(PageEnd(request.before, len(page), more)))

    async def close_all(self, code: int, reason: str) -> None:
        """Close every member at once (used at shutdown); a stalled one is aborted."""
        self._flush_presence()
        await asyncio.gather(*(member.close(code, reason) for member in self._members))

    def _announce(
        self, event: PresenceEvent, name: str, now: int, subject: Peer | None = None
    ) -> None:
        # Raw members hear no presence. v1 members get the whole list with every change, at
        # once (O(members) to build, so only when one will hear it). v2 members get the
        # change alone, gathered for PRESENCE_WINDOW and written as one batch: in a join
        # storm, one write per member per window instead of one per join. ``subject`` is
        # the member who joined or left here (``None``: on another node of a shared room).
        joining = event is PresenceEvent.JOIN
        mode = subject.mode if subject is not None else None
        if self._count[Mode.V1] - (joining and mode is Mode.V1) > 0:
            full = Outgoing(encode_server(Presence(event, name, self.names, now)))
            for member in self._members:
                if member.mode is Mode.V1 and member is not subject:
                    member.deliver(full)
        if self._count[Mode.V2] - (joining and mode is Mode.V2) <= 0:
            return
        self._presence_seq += 1
        self._presence.append((self._presence_seq, encode_server(Presence(event, name, None, now))))
        if joining and subject is not None and mode is Mode.V2:
            # Its welcome already lists everybody so far: it hears only what comes after.
            self._seen_up_to[subject] = self._presence_seq
        if self._presence_flush is None:
            self._presence_flush = asyncio.get_running_loop().call_later(
                PRESENCE_WINDOW, self._flush_presence
            )

    def _flush_presence(self) -> None:
        """Write the gathered v2 presence changes to every v2 member, in order."""
        if self._presence_flush is not None:
            self._presence_flush.cancel()
            self._presence_flush = None
        pending, self._presence = self._presence, []
        fresh, self._seen_up_to = self._seen_up_to, {}
        if not pending:
            return
        everything = Outgoing(*(frame for _, frame in pending))
        for member in self._members:
            if member.mode is not Mode.V2:
                continue
            seen = fresh.get(member)
            if seen is None:
                member.deliver(everything)
            elif seen < pending[-1][0]:
                member.deliver(Outgoing(*(frame for seq, frame in pending if seq > seen)))

    def _prelude(self, welcome: Welcome, resume: int | None) -> Iterator[Frame]:
        # Read page by page as the member takes it: a page holds at most _BACKLOG_PAGE
        # messages and, past the first, _BACKLOG_PAGE_BYTES of bodies, so a newcomer that
        # never reads holds one page, not the room's whole history.
        yield encode_server(welcome)
        after = resume
        if after is None:
            after = self._history.start_of_recent(self.name, self._settings.history_size)
        while after < welcome.last_id:
            page = self._history.since(self.name, after, _BACKLOG_PAGE, _BACKLOG_PAGE_BYTES)
            for message in page:
                if message.id > welcome.last_id:
                    return
                yield encode_server(message)
            if not page:
                return
            after = page[-1].id
