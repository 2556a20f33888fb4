"""The room history: every message stored, with its id, before anybody hears of it.

Two stores share one interface: :class:`~desktopchat.server.stores.sqlite_history.SqliteHistory`
(the default; a WAL database that survives ``kill -9``) and :class:`MemoryHistory`
(``--history off``; recent messages, gone with the process). Both are bounded: in messages
per room and in bytes (and, on disk, in age), so what a peer sends cannot grow them forever.
Stores are plain synchronous objects, with no event loop: an INSERT costs microseconds, and
doing it inline keeps ids, storage and relay in one order. What makes a message durable is
the commit: a store takes appends one by one (each durable on return) or in a batch
(:meth:`History.begin`, then durable together at :meth:`History.commit`). When to batch is
the caller's choice (:mod:`desktopchat.server.stores.commits` makes one commit per turn of the
event loop); the room relays and acknowledges only what is durable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from desktopchat.protocol import ChatMessage, Kind, dumps

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Retention:
    """How much history is kept: the newest ``messages`` per room, none older than ``days``
    (on disk; 0 = no age limit), and at most ``total_bytes`` of message bodies in all."""

    messages: int = 10_000
    days: float = 90.0
    total_bytes: int = 1024 * MiB


class StoreError(Exception):
    """The store could not keep a message (a disk that is full or failing): it was not
    stored, and must be neither acknowledged nor relayed."""


class History(Protocol):
    """What a room needs of its history store.

    ``slow_writes`` says an append may block for a while (a disk write): its owner then
    batches appends and stores big messages from a worker thread (:meth:`append_alone`).
    Such a store must be safe across threads (SQLite's serialized mode is).
    """

    slow_writes: bool

    def last_id(self, room: str) -> int:
        """The newest id in ``room`` (0 when empty)."""

    def begin(self) -> None:
        """Open a batch: what :meth:`append` stores from now on is durable together, once
        :meth:`commit` returns."""

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        """Store ``message`` (its ``id`` is ignored) and return it with the id assigned;
        :class:`StoreError` when it cannot (then the open batch is lost too). In a batch it
        is durable at :meth:`commit`; outside one, on return."""

    def append_alone(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        """:meth:`append`, durable on return whatever batch is open (from a worker thread,
        while the loop keeps a batch open: that batch is committed with it, early, and lost
        with it if it fails)."""

    def commit(self) -> None:
        """Make the open batch durable and close it; :class:`StoreError` when it was lost
        (none of its messages is stored). Nothing to do without a batch."""

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        """The message a member stored earlier under the same client id, if any."""

    def since(
        self, room: str, after: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        """Up to ``limit`` messages with ids above ``after``, oldest first, stopping once
        their bodies pass ``max_bytes`` (always at least one message, if there is one)."""

    def before(
        self, room: str, before: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        """Up to ``limit`` of the newest messages with ids below ``before``, oldest first,
        stopping (from the newest back) once their bodies pass ``max_bytes``."""

    def has_before(self, room: str, before: int) -> bool:
        """Whether ``room`` holds a message with an id below ``before`` (cheap: reads none)."""

    def start_of_recent(self, room: str, count: int) -> int:
        """The id after which the newest ``count`` messages of ``room`` begin."""

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        """The newest ``count`` messages, oldest first."""

    def forget(self, room: str) -> None:
        """``room`` has no members any more: a store may release what only they needed."""

    def close(self) -> None:
        """Flush and release the store."""


def take_page(
    messages: Iterable[tuple[ChatMessage, int]], limit: int, max_bytes: int | None
) -> list[ChatMessage]:
    """The first ``limit`` of ``messages`` (each with its body's size), stopping once the
    bodies taken pass ``max_bytes``; always at least one message if there is one."""
    found: list[ChatMessage] = []
    total = 0
    for message, size in messages:
        if len(found) >= limit or (found and max_bytes is not None and total > max_bytes):
            break
        found.append(message)
        total += size
    return found


def body_size(message: ChatMessage) -> int:
    """The bytes a message's body takes (text as UTF-8, JSON compact, or the payload)."""
    return len(message_body(message))


def message_body(message: ChatMessage) -> bytes:
    """A message's body as stored."""
    if message.kind is Kind.BINARY:
        return message.payload
    if message.kind is Kind.JSON:
        return dumps(message.data).encode()
    return message.text.encode()


def with_id(message: ChatMessage, new_id: int) -> ChatMessage:
    """``message`` under id ``new_id`` (as stored: not part of a page)."""
    return replace(message, id=new_id, page=False)


_Entry = tuple[ChatMessage, int, tuple[str, str, str] | None]  # message, size, cid key

ENTRY_OVERHEAD = 512
"""Bytes a kept message costs beyond its body (objects, indexes), counted in the bound, so
that a flood of tiny messages is bounded too."""


class MemoryHistory:
    """History kept in memory: the newest ``retention.messages`` per room, and at most
    ``retention.total_bytes`` in all rooms together (the oldest messages anywhere go first).

    A room whose messages are all gone and that has no members is forgotten entirely, so
    room names used once cannot pile up; its ids then start over, which a resuming client
    learns from the welcome's ``reset``.
    """

    slow_writes = False

    def __init__(self, retention: Retention | None = None) -> None:
        self._retention = retention or Retention()
        self._rooms: dict[str, deque[_Entry]] = {}
        self._last: dict[str, int] = {}
        self._cids: dict[tuple[str, str, str], ChatMessage] = {}
        self._order: deque[tuple[str, int]] = deque()  # (room, id), oldest first
        self._idle: set[str] = set()
        self.bytes = 0
        self._kept = 0

    def begin(self) -> None:
        """Memory holds a message as soon as it is appended: nothing to batch."""

    def commit(self) -> None:
        """Nothing waits for a commit in memory."""

    def last_id(self, room: str) -> int:
        self._idle.discard(room)  # asked on joining: the room is in use
        return self._last.get(room, 0)

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        self._idle.discard(room)
        stored = with_id(message, self._last.get(room, 0) + 1)
        self._last[room] = stored.id
        log = self._rooms.setdefault(room, deque())
        cid_key = (room, key, cid) if key is not None and cid is not None else None
        size = body_size(stored) + ENTRY_OVERHEAD
        log.append((stored, size, cid_key))
        self._order.append((room, stored.id))
        self.bytes += size
        self._kept += 1
        if cid_key is not None:
            self._cids[cid_key] = stored
        while len(log) > self._retention.messages:
            self._evict_oldest_of(room)
        while self.bytes > self._retention.total_bytes and len(self._order) > 1:
            self._evict_oldest()
        if len(self._order) > 2 * self._kept + 1024:
            self._compact_order()
        return stored

    def append_alone(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        """:meth:`append`: every append is durable (for this process) on return."""
        return self.append(room, message, key, cid)

    def _compact_order(self) -> None:
        # Messages dropped by their room's count limit leave stale entries behind; keep the
        # order list proportional to what is kept. Ids grow with time in every room, and a
        # room's entries are in order, so merging the rooms by message time keeps the age.
        kept = [
            (entry[0].time, room, entry[0].id) for room, log in self._rooms.items() for entry in log
        ]
        kept.sort()
        self._order = deque((room, ident) for _, room, ident in kept)

    def _evict_oldest(self) -> None:
        room, ident = self._order.popleft()
        log = self._rooms.get(room)
        if log and log[0][0].id == ident:  # else already gone with its room's count limit
            self._evict_oldest_of(room)

    def _evict_oldest_of(self, room: str) -> None:
        log = self._rooms[room]
        _, size, cid_key = log.popleft()
        self.bytes -= size
        self._kept -= 1
        if cid_key is not None:
            self._cids.pop(cid_key, None)
        if not log:
            del self._rooms[room]
            if room in self._idle:
                self._drop(room)

    def _drop(self, room: str) -> None:
        self._idle.discard(room)
        self._last.pop(room, None)

    def restart(self, room: str, last_id: int) -> None:
        """Forget ``room``'s messages; the next one appended gets ``last_id + 1`` (a node's
        mirror of a shared room, following the broker's ids)."""
        while self._rooms.get(room):
            self._evict_oldest_of(room)
        self._rooms.pop(room, None)
        self._last[room] = last_id

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        return self._cids.get((room, key, cid))

    def since(
        self, room: str, after: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        log = self._rooms.get(room, deque())
        newer = ((m, size - ENTRY_OVERHEAD) for m, size, _ in log if m.id > after)
        return take_page(newer, limit, max_bytes)

    def before(
        self, room: str, before: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        log = self._rooms.get(room, deque())
        older = ((m, size - ENTRY_OVERHEAD) for m, size, _ in reversed(log) if m.id < before)
        return take_page(older, limit, max_bytes)[::-1]

    def has_before(self, room: str, before: int) -> bool:
        log = self._rooms.get(room)
        return log is not None and bool(log) and log[0][0].id < before

    def start_of_recent(self, room: str, count: int) -> int:
        log = self._rooms.get(room)
        if not log or count <= 0:
            return self._last.get(room, 0)
        return log[max(0, len(log) - count)][0].id - 1

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        log = self._rooms.get(room, deque())
        return [m for m, _, _ in log][-count:] if count > 0 else []

    def forget(self, room: str) -> None:
        self._idle.add(room)
        if room not in self._rooms:
            self._drop(room)

    def close(self) -> None:
        self._rooms.clear()
        self._cids.clear()
        self._order.clear()
        self.bytes = 0
        self._kept = 0
