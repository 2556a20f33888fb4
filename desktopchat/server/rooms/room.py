"""A chat room's rules, with no I/O: its members, who hears what, and in which order.

Like ``websockets``' protocol objects, a :class:`Room` knows no sockets, loops or threads. It
is told what happens (a member joins, a message arrives, the store kept it, the time went
by) and answers with what to store (a :class:`Draft`) and with frames handed to each
member's ``deliver``, which never waits. What is I/O (the order of stores, commits, worker
threads, timers) belongs to its shells: :mod:`desktopchat.server.rooms.live_room` for a room this
server stores, :mod:`desktopchat.server.rooms.shared_room` for one a broker stores.

Every message is stored first (it gets its id there), then encoded once per mode and handed
to every member. Raw members get bare frames, structured members get envelopes; nobody's
slowness or failure reaches anybody else.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from collections import OrderedDict
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
    SendDirect,
    SendJson,
    SendText,
    Welcome,
    encode_raw,
    encode_server,
    name_key,
    unique_name,
)
from desktopchat.server.framing import Frame, Outgoing
from desktopchat.server.settings import Settings
from desktopchat.server.stores.history import History

logger = logging.getLogger("desktopchat.server")

_BACKLOG_PAGE = 200
PRESENCE_WINDOW = 0.05
"""Seconds v2 presence changes are gathered before they go out together."""
OFFLOAD_BYTES = 1024 * 1024
"""Messages from this size on are written to a disk store from a worker thread."""
_BACKLOG_PAGE_BYTES = 1024 * 1024
NOT_STORED = "the server could not store this message (its disk?): not sent, try again"
KNOWN_KEYS = 10_000
"""Names whose client key the room remembers after they left, to page a direct
conversation with someone gone (the oldest are forgotten first)."""


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
    return len(event.text) if isinstance(event, SendText | SendDirect) else 0


def _as_message(event: Sendable, sender: str, now: int) -> ChatMessage:
    if isinstance(event, SendText):
        return ChatMessage(0, now, sender, Kind.TEXT, text=event.text)
    if isinstance(event, SendJson):
        return ChatMessage(0, now, sender, Kind.JSON, data=event.data)
    if isinstance(event, SendDirect):
        return ChatMessage(0, now, sender, event.kind, event.text, event.data, to=event.to)
    return ChatMessage(
        0, now, sender, Kind.BINARY, payload=event.payload, name=event.name, mime=event.mime
    )


def conversation(room: str, one: str, other: str) -> str:
    """Where the history keeps the direct conversation of the clients keyed ``one`` and
    ``other`` in ``room``: a name no room can have (room names have no ``/``), and no key
    in it (a store's file does not tell who talked to whom by their keys)."""
    pair = "\n".join(sorted((one, other))).encode()
    return f"{room}/direct/{hashlib.sha256(pair).hexdigest()[:32]}"


@dataclass(frozen=True, slots=True)
class Draft:
    """A message as the room received it: what to store, and who to answer once stored.

    ``duplicate`` is the acknowledgement to give again when the sender's client id is
    stored already: then nothing is stored, and nothing relayed.
    """

    sender: Peer
    message: ChatMessage
    cid: str | None
    raw_frame: Frame | None
    size: int
    duplicate: Ack | None = None
    store_as: str = ""
    """Where the history keeps it: the room, or a direct conversation."""
    refused: ErrorEvent | None = None
    """Why it is refused before it is stored (a direct message to nobody): told to the
    sender, stored nowhere."""

    @property
    def key(self) -> str | None:
        """The sender's client key, which scopes ``cid``."""
        return self.sender.key


class Room:
    """The members and the rules of one room. Nothing here waits: its owner stores each
    :class:`Draft` and calls :meth:`relay` (or :meth:`refuse`) once it is durable, and calls
    :meth:`flush_presence` when ``wake(seconds)`` asked for it."""

    def __init__(
        self,
        name: str,
        history: History,
        *,
        clock: Callable[[], int],
        settings: Settings,
        wake: Callable[[float], None],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        """``history`` is read for backlogs, pages and client ids (its owner writes it);
        ``clock`` gives the time in milliseconds; ``wake(seconds)`` asks the owner to call
        :meth:`flush_presence` that much later; ``on_change`` is told of joins and leaves."""
        self.name = name
        self.history = history
        self._clock = clock
        self._settings = settings
        self._wake = wake
        self._on_change = on_change
        # A dict as an ordered set: joining and leaving are O(1) in rooms of thousands.
        self._members: dict[Peer, None] = {}
        # Each member's deliver, by what it speaks: the fan-out loop does nothing else.
        self._raw_delivers: dict[Peer, Callable[[Outgoing], None]] = {}
        self._structured_delivers: dict[Peer, Callable[[Outgoing], None]] = {}
        self._taken: set[str] = set()
        self._suffixes: dict[str, int] = {}  # where "guest N" goes on: joins stay O(1)
        self._remote: dict[str, int] = {}  # members elsewhere (a shared room's other nodes)
        self._count = dict.fromkeys(Mode, 0)
        self._relayed = history.last_id(name)
        self._presence: list[tuple[int, str]] = []
        self._presence_seq = 0
        self._seen_up_to: dict[Peer, int] = {}
        self._keys: OrderedDict[str, str] = OrderedDict()  # name_key -> client key
        self._limits = RoomLimits(
            max_message_bytes=settings.max_message_bytes,
            rate=settings.rate,
            burst=settings.burst,
            history_size=settings.history_size,
        )

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    @property
    def members(self) -> tuple[Peer, ...]:
        """The members here, in order of joining."""
        return tuple(self._members)

    @property
    def names(self) -> tuple[str, ...]:
        """Display names of the members here, in order of joining, then of those elsewhere."""
        return (*self.local_names(), *self._remote)

    def local_names(self) -> tuple[str, ...]:
        """Display names of the members here."""
        return tuple(member.name for member in self._members)

    @property
    def last_relayed(self) -> int:
        """The id of the newest message handed to the members."""
        return self._relayed

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
            kept_from = self.history.start_of_recent(self.name, 1 << 62)
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
        if member.key is not None and mode is Mode.V2:
            self._keys[name_key(name)] = member.key
            self._keys.move_to_end(name_key(name))
            if len(self._keys) > KNOWN_KEYS:
                self._keys.popitem(last=False)
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
        if member.name not in self._remote:
            self._taken.discard(name_key(member.name))
        base, _, number = member.name.rpartition(" ")
        key = name_key(base) if number.isdigit() else ""
        if key in self._suffixes:  # "guest 2" is free again: the next guest may have it
            self._suffixes[key] = min(self._suffixes[key], int(number))
        self._count[member.mode] -= 1
        self._announce(PresenceEvent.LEAVE, member.name, self._clock(), member)
        logger.info("%s left #%s (%d members)", member.name, self.name, len(self))
        self._on_change()

    def remote(self, event: PresenceEvent, name: str) -> None:
        """``name`` joined or left elsewhere (another node of a shared room): its name is
        taken while it is there, and the members here are told."""
        if event is PresenceEvent.JOIN:
            self._remote[name] = self._remote.get(name, 0) + 1
            self._taken.add(name_key(name))
        else:
            count = self._remote.pop(name, 0) - 1
            if count > 0:
                self._remote[name] = count
            elif name not in self.local_names():
                self._taken.discard(name_key(name))
            if count < 0:
                return  # never heard of: nothing to tell
        self._announce(event, name, self._clock())

    def draft(self, sender: Peer, event: Sendable, raw_frame: Frame | None = None) -> Draft:
        """What ``sender``'s message asks to store, timed now; a structured resend of a client
        id stored already is a duplicate (to acknowledge again, not to store).

        ``raw_frame`` is the frame exactly as a raw sender sent it, relayed verbatim to raw
        members."""
        cid, now = event.cid, self._clock()
        message = _as_message(event, sender.name, now)
        store_as = self.name
        if isinstance(event, SendDirect):
            found = self._recipient(sender, event.to)
            if isinstance(found, ErrorEvent):
                refused = replace(found, cid=cid)
                return Draft(sender, message, cid, None, 0, store_as="", refused=refused)
            partner, keys = found
            store_as = conversation(self.name, *keys)
            message = replace(message, to=partner.name)  # as it is spelled, not as typed
        duplicate = None
        if cid is not None and sender.key is not None:
            known = self.history.find(store_as, sender.key, cid)
            if known is not None:
                duplicate = Ack(cid, known.id, now, duplicate=True)
        return Draft(sender, message, cid, raw_frame, _size(event), duplicate, store_as)

    def _recipient(self, sender: Peer, to: str) -> tuple[Peer, tuple[str, str]] | ErrorEvent:
        """The member ``sender`` may say something to as ``to``, with both client keys; or
        why not, in words."""
        if sender.key is None:
            return ErrorEvent(
                "no-key", "direct messages need a client key in the hello", None, "to"
            )
        wanted = name_key(to)
        partner = next((m for m in self._members if name_key(m.name) == wanted), None)
        if partner is None:
            return ErrorEvent(
                "no-such-member", f"nobody called '{to}' is in #{self.name} now", None, "to"
            )
        if partner.mode is not Mode.V2 or partner.key is None:
            return ErrorEvent(
                "cannot-receive",
                f"{partner.name}'s app is too old for direct messages (or is a plain WebSocket)",
                None,
                "to",
            )
        return partner, (sender.key, partner.key)

    def turn_down(self, sender: Peer, refusal: ErrorEvent) -> None:
        """Tell ``sender`` why its message was refused before it was stored."""
        sender.deliver(encode_server(refusal))

    def relay(self, draft: Draft, stored: ChatMessage | Ack) -> None:
        """``draft`` is durable as ``stored`` (or, a duplicate, was: its ack is given again):
        acknowledge it to a structured sender, and hand it to everybody."""
        # Who joined or left before this message is told before it.
        self.flush_presence()
        if isinstance(stored, Ack):
            draft.sender.deliver(encode_server(stored))
            return
        if draft.cid is not None:
            draft.sender.deliver(encode_server(Ack(draft.cid, stored.id, stored.time)))
        if stored.direct:
            self._deliver_direct(draft.sender, stored)
        else:
            self.fan_out(stored, draft.raw_frame)

    def _deliver_direct(self, sender: Peer, message: ChatMessage) -> None:
        """Hand a stored direct message to its recipient and to both sides' other sessions
        (members with the same client key): nobody else, and never a v1 or raw member."""
        recipient = self._keys.get(name_key(message.to))
        keys = {sender.key, recipient} - {None}
        frame = Outgoing(encode_server(message))
        for member in self._members:
            if member is not sender and member.mode is Mode.V2 and member.key in keys:
                member.deliver(frame)

    def refuse(self, draft: Draft, reason: BaseException) -> None:
        """``draft`` could not be stored: nobody hears of it, and a structured sender is
        told in words (with its client id) so that it may try again."""
        sender = draft.sender
        logger.error("#%s: a message from %s was not stored: %s", self.name, sender.name, reason)
        if draft.cid is not None:
            sender.deliver(encode_server(ErrorEvent("not-stored", NOT_STORED, draft.cid)))

    def fan_out(self, message: ChatMessage, raw_frame: Frame | None) -> None:
        """Hand a stored message to every member, encoded once per mode (and only for a mode
        somebody in the room speaks); raw members get ``raw_frame`` verbatim when given."""
        self.flush_presence()
        self._relayed = message.id
        if self._structured_delivers:
            structured = Outgoing(encode_server(message))
        if self._raw_delivers:
            raw = Outgoing(raw_frame if raw_frame is not None else encode_raw(message))
        for deliver in self._structured_delivers.values():
            deliver(structured)
        for deliver in self._raw_delivers.values():
            deliver(raw)

    def restart(self, last_id: int) -> None:
        """The next message relayed follows ``last_id`` (a shared room's store started over
        or was trimmed past what was relayed here)."""
        self._relayed = last_id

    def send_page(self, member: Peer, request: HistoryRequest) -> None:
        """Send ``member`` the older page it asked for (nothing unrelayed), then its end: of
        the room, or of its direct conversation with ``request.with_``."""
        limit = min(request.limit, MAX_HISTORY_PAGE)
        if request.with_ is None:
            store_as = self.name
            before = min(request.before, self._relayed + 1)
        else:
            partner = self._keys.get(name_key(request.with_))
            if member.key is None or partner is None:
                member.deliver(encode_server(PageEnd(request.before, 0, False, request.with_)))
                return
            store_as = conversation(self.name, member.key, partner)
            before = request.before
        page = self.history.before(store_as, before, limit, _BACKLOG_PAGE_BYTES)
        for message in page:
            member.deliver(encode_server(replace(message, page=True)))
        more = bool(page) and self.history.has_before(store_as, page[0].id)
        member.deliver(encode_server(PageEnd(request.before, len(page), more, request.with_)))

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
        if len(self._presence) == 1:
            self._wake(PRESENCE_WINDOW)

    def flush_presence(self) -> None:
        """Write the gathered v2 presence changes to every v2 member, in order (at once: a
        message, a page or a close must not overtake them)."""
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
            after = self.history.start_of_recent(self.name, self._settings.history_size)
        while after < welcome.last_id:
            page = self.history.since(self.name, after, _BACKLOG_PAGE, _BACKLOG_PAGE_BYTES)
            for message in page:
                if message.id > welcome.last_id:
                    return
                yield encode_server(message)
            if not page:
                return
            after = page[-1].id
