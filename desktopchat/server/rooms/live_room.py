"""A room this server stores, on the event loop: the I/O around its :class:`Room`.

The room's rules are synchronous; what waits is here: messages are stored one at a time per
room (a big one on a worker thread), go out once committed in the order they were stored,
and the presence window is a timer of the loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from desktopchat.protocol import Ack, ChatMessage, Hello, HistoryRequest, Sendable
from desktopchat.server.framing import Frame
from desktopchat.server.rooms.room import Draft, Mode, Peer, Room
from desktopchat.server.settings import Settings
from desktopchat.server.stores.commits import Batch, Commits
from desktopchat.server.stores.history import History, StoreError

OFFLOAD_BYTES = 1024 * 1024
"""Messages from this size on are written to a disk store from a worker thread."""

P = TypeVar("P", bound=Peer)


@dataclass(frozen=True, slots=True)
class _Unrelayed:
    """A message stored and waiting for its commit to go out."""

    committed: Batch
    draft: Draft
    stored: ChatMessage | Ack  # Ack: a duplicate, acknowledged again


class PresenceTimer:
    """Calls a room's :meth:`~Room.flush_presence` when the room asks to be woken.

    It holds its room weakly: the room holds it, and a cycle would leave every room that
    emptied to the cyclic collector (with its members' objects), not to its reference count.
    """

    def __init__(self) -> None:
        self._room: weakref.ref[Room] | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def room(self) -> Room | None:
        """The room to wake."""
        return self._room() if self._room is not None else None

    @room.setter
    def room(self, room: Room) -> None:
        self._room = weakref.ref(room)

    def __call__(self, delay: float) -> None:
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        room = self.room
        if room is not None:
            room.flush_presence()

    def cancel(self) -> None:
        """Nothing more to wake for (the room is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class RoomOnLoop:
    """A :class:`Room` on the event loop: its presence timer, and what every room of the
    server answers (who is in it, a page of history, closing everybody)."""

    def __init__(
        self,
        name: str,
        history: History,
        *,
        clock: Callable[[], int],
        settings: Settings,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._timer = PresenceTimer()
        self.rules = Room(
            name, history, clock=clock, settings=settings, wake=self._timer, on_change=on_change
        )
        self._timer.room = self.rules

    @property
    def name(self) -> str:
        """The room's name."""
        return self.rules.name

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def members(self) -> tuple[Peer, ...]:
        """The members here, in order of joining."""
        return self.rules.members

    @property
    def names(self) -> tuple[str, ...]:
        """Display names of the members (here, then elsewhere)."""
        return self.rules.names

    def join(self, mode: Mode, hello: Hello, make: Callable[[str, Iterator[Frame] | None], P]) -> P:
        """See :meth:`Room.join`."""
        return self.rules.join(mode, hello, make)

    def leave(self, member: Peer) -> None:
        """See :meth:`Room.leave`."""
        self.rules.leave(member)

    def send_page(self, member: Peer, request: HistoryRequest) -> None:
        """See :meth:`Room.send_page`."""
        self.rules.send_page(member, request)

    async def close_all(self, code: int, reason: str) -> None:
        """Close every member here at once, after the presence changes they were due; a
        stalled one is aborted."""
        self._timer.cancel()
        self.rules.flush_presence()
        await asyncio.gather(*(member.close(code, reason) for member in self.rules.members))


class LiveRoom(RoomOnLoop):
    """One room this server stores: its :class:`Room` and its store's commits. Only
    :meth:`publish` and :meth:`close_all` wait."""

    def __init__(
        self,
        name: str,
        commits: Commits,
        *,
        clock: Callable[[], int],
        settings: Settings,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name, commits.store, clock=clock, settings=settings, on_change=on_change)
        self._commits = commits
        self._in_order = asyncio.Lock()
        self._unrelayed: deque[_Unrelayed] = deque()

    async def publish(
        self, sender: Peer, event: Sendable, *, raw_frame: Frame | None = None
    ) -> None:
        """Store a message, acknowledge it to a structured sender, relay it to everybody.

        ``raw_frame`` is the frame exactly as a raw sender sent it, relayed verbatim to raw
        members. Messages are stored one at a time (a big one on a worker thread) and go out
        once committed, in the order they were stored; the sender's next message need not
        wait for the commit.
        """
        async with self._in_order:
            # Drafted in the order too: a resend must see the copy a worker is storing.
            draft = self.rules.draft(sender, event, raw_frame)
            if draft.refused is not None:
                self.rules.turn_down(sender, draft.refused)
                return
            try:
                stored, committed = await self._store(draft)
            except StoreError as exc:
                self.rules.refuse(draft, exc)
                return
        if committed is None and not self._unrelayed:
            self.rules.relay(draft, stored)
            return
        self._unrelayed.append(_Unrelayed(committed, draft, stored))
        if committed is not None:
            committed.add_done_callback(self._relay_committed)
        else:  # durable, but behind messages that wait for their commit
            self._relay_committed(None)

    async def _store(self, draft: Draft) -> tuple[ChatMessage | Ack, Batch]:
        if draft.duplicate is not None:  # its copy may be in the batch not yet committed
            return draft.duplicate, self._commits.pending()
        room, message, key, cid = draft.store_as, draft.message, draft.key, draft.cid
        if draft.size >= OFFLOAD_BYTES:
            return await self._commits.append_alone(room, message, key, cid), None
        return self._commits.append(room, message, key, cid)

    def _relay_committed(self, _batch: asyncio.Future[None] | None) -> None:
        # Oldest first, in order, as far as the commits have come.
        while self._unrelayed:
            head = self._unrelayed[0]
            if head.committed is not None and not head.committed.done():
                return
            self._unrelayed.popleft()
            failure = head.committed.exception() if head.committed is not None else None
            if failure is not None:
                self.rules.refuse(head.draft, failure)
            else:
                self.rules.relay(head.draft, head.stored)
