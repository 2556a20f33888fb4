"""A room shared by several nodes through a broker: the broker orders and stores, every node
relays what the broker's log says, in its order, to its own members."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from desktopchat.protocol import (
    Ack,
    CloseCode,
    CloseReason,
    ErrorEvent,
    Hello,
    PresenceEvent,
    Sendable,
    SendDirect,
    encode_server,
)
from desktopchat.server.framing import Frame
from desktopchat.server.rooms.live_room import RoomOnLoop
from desktopchat.server.rooms.room import Mode, Peer
from desktopchat.server.settings import Settings
from desktopchat.server.stores.broker_log import BrokerDown, Entry
from desktopchat.server.stores.history import MemoryHistory

if TYPE_CHECKING:  # the Redis client is the optional `broker` extra
    from desktopchat.server.stores.broker import RedisBroker

logger = logging.getLogger("desktopchat.server")

P = TypeVar("P", bound=Peer)

BROKER_DOWN = "the room's message store is unreachable: not sent, try again"
NO_DIRECT = "direct messages are not available on a server of several nodes: not sent"


class SharedRoom(RoomOnLoop):
    """A :class:`Room` whose messages go through ``broker``: acknowledged once the broker
    has them, relayed when this node reads them back from the broker's log (so every node
    relays in the one order), with members of other nodes in its member list."""

    def __init__(
        self,
        name: str,
        mirror: MemoryHistory,
        broker: RedisBroker,
        *,
        clock: Callable[[], int],
        settings: Settings,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name, mirror, clock=clock, settings=settings, on_change=on_change)
        self._clock = clock
        self._mirror = mirror
        self._broker = broker
        # Our messages stored by the broker but not yet acknowledged: the follower may read
        # one back before the append returns, and its ack must go out before its copy.
        self._awaiting: dict[tuple[str | None, str], Peer] = {}
        self._closing: set[asyncio.Task[None]] = set()

    # -- what members see ---------------------------------------------------------------------

    def local_names(self) -> tuple[str, ...]:
        """The names of this node's members."""
        return self.rules.local_names()

    def join(self, mode: Mode, hello: Hello, make: Callable[[str, Iterator[Frame] | None], P]) -> P:
        """Admit a newcomer here, and tell the other nodes."""
        member = self.rules.join(mode, hello, make)
        self._broker.announce(self.name, PresenceEvent.JOIN, member.name)
        return member

    def leave(self, member: Peer) -> None:
        """A member here left: tell the other nodes too."""
        if member in self.rules:
            self._broker.announce(self.name, PresenceEvent.LEAVE, member.name)
        self.rules.leave(member)

    def remote(self, event: PresenceEvent, name: str) -> None:
        """``name`` joined or left on another node."""
        self.rules.remote(event, name)

    # -- messages -----------------------------------------------------------------------------

    async def publish(
        self, sender: Peer, event: Sendable, *, raw_frame: Frame | None = None
    ) -> None:
        """Give the message to the broker; acknowledge it once the broker has it. It is
        relayed, here as everywhere, when the log is read back."""
        if isinstance(event, SendDirect):
            # The broker's log is the room's, read by every node: no place for two people.
            refusal = ErrorEvent("not-here", NO_DIRECT, event.cid, "type")
            sender.deliver(encode_server(refusal))
            return
        # The broker tells duplicates (the mirror keeps no client ids).
        draft = self.rules.draft(sender, event, raw_frame)
        cid, message = draft.cid, draft.message
        waiting = (sender.key, cid) if cid is not None else None
        if waiting is not None:
            self._awaiting[waiting] = sender
        try:
            stored = await self._broker.append(self.name, message, sender.key, cid, raw_frame)
        except BrokerDown as exc:
            logger.warning("#%s: a message from %s was not stored: %s", self.name, sender.name, exc)
            if waiting is not None:
                self._awaiting.pop(waiting, None)
                sender.deliver(encode_server(ErrorEvent("broker-down", BROKER_DOWN, cid)))
            elif not sender.mode.structured:
                # A raw member has no error events: the close is its only word that the
                # frame was not stored (it reconnects, and is refused until Redis is back).
                await sender.close(CloseCode.TRY_AGAIN_LATER, CloseReason.BROKER_DOWN)
            return
        if waiting is None or cid is None:
            return
        if stored.duplicate:
            self._awaiting.pop(waiting, None)
            sender.deliver(encode_server(Ack(cid, stored.id, self._clock(), duplicate=True)))
        elif self._awaiting.pop(waiting, None) is not None:
            sender.deliver(encode_server(Ack(cid, stored.id, message.time)))

    def relay(self, entry: Entry) -> None:
        """A message read from the broker's log, in its order: keep it, acknowledge it to its
        sender here if not yet done, hand it to everybody."""
        message = self._mirror.append(self.name, entry.message)
        if entry.cid is not None:
            sender = self._awaiting.pop((entry.key, entry.cid), None)
            if sender is not None:
                sender.deliver(encode_server(Ack(entry.cid, message.id, message.time)))
        self.rules.fan_out(message, entry.raw_frame)

    def restart(self, last_id: int) -> None:
        """Follow the broker's log from after ``last_id`` (a fresh mirror, or the broker lost
        or trimmed what this node had)."""
        self._mirror.restart(self.name, last_id)
        self.rules.restart(last_id)

    def lost(self) -> None:
        """The broker lost the room (Redis restarted without its data): ids start over.
        Members here are sent away with 1012 so that they come back and are told (their
        welcome says ``reset``), rather than taking the new id 1 for one they have seen."""
        self.restart(0)
        task = asyncio.get_running_loop().create_task(
            self.close_all(CloseCode.SERVICE_RESTART, "the room's history was lost")
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def last_relayed(self) -> int:
        """The id of the last message relayed here."""
        return self.rules.last_relayed

    def held(self) -> int:
        """The most bytes any member here has on its way (what paces the relay)."""
        return max((member.held() for member in self.rules.members), default=0)
