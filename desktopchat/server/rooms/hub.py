"""The hub: every room of the server, created on first use, dropped when empty."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from desktopchat.protocol import CloseCode, CloseReason, valid_room_name
from desktopchat.server.rooms.live_room import LiveRoom
from desktopchat.server.rooms.shared_room import SharedRoom
from desktopchat.server.settings import Settings
from desktopchat.server.stores.broker_log import BrokerDown
from desktopchat.server.stores.commits import Commits
from desktopchat.server.stores.history import History, MemoryHistory

ServedRoom = LiveRoom | SharedRoom
"""A room of this server: stored here, or shared through a broker."""

if TYPE_CHECKING:  # the Redis client is the optional `broker` extra
    from desktopchat.server.stores.broker import RedisBroker

SWEEP_INTERVAL = 1.0


def wall_clock_ms() -> int:
    """Server time: milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


class Refused(Exception):
    """A connection the hub will not take, with the close code and reason to send."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Hub:
    """Owns the rooms; enforces the room and member limits before any state changes."""

    def __init__(
        self,
        settings: Settings,
        history: History,
        clock: Callable[[], int] = wall_clock_ms,
        broker: RedisBroker | None = None,
        mirror: MemoryHistory | None = None,
    ) -> None:
        """``broker`` shares the rooms with other nodes; ``mirror`` is then this node's
        memory of the rooms it follows (and ``history`` the same object)."""
        if (broker is None) != (mirror is None):
            raise ValueError("a broker and this node's mirror go together")
        self.settings = settings
        self.history = history
        self.commits = Commits(history)
        self.broker = broker
        self.mirror = mirror
        self._attaching: dict[str, asyncio.Future[None]] = {}
        self._detaching: set[asyncio.Task[None]] = set()
        self._clock = clock
        self._rooms: dict[str, ServedRoom] = {}
        self._watchers: list[Callable[[], None]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.closing = False

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever somebody joins or leaves any room."""
        self._watchers.append(callback)

    def member_count(self, room: str | None = None) -> int:
        """Members of ``room``, or of every room."""
        if room is not None:
            found = self._rooms.get(room)
            return len(found) if found is not None else 0
        return sum(len(each) for each in self._rooms.values())

    def _changed(self) -> None:
        for callback in self._watchers:
            callback()

    @property
    def rooms(self) -> dict[str, ServedRoom]:
        """The rooms that have members, by name."""
        return self._rooms

    def check(self, name: str) -> None:
        """Raise :class:`Refused` if a new member of room ``name`` cannot be taken now."""
        if self.closing:
            raise Refused(CloseCode.GOING_AWAY, CloseReason.SHUTTING_DOWN)
        if not valid_room_name(name):
            raise Refused(CloseCode.POLICY, CloseReason.INVALID_ROOM_NAME)
        room = self._rooms.get(name)
        if room is None and len(self._rooms) >= self.settings.max_rooms:
            raise Refused(CloseCode.TRY_AGAIN_LATER, CloseReason.TOO_MANY_ROOMS)
        if room is not None and len(room) >= self.settings.max_members:
            raise Refused(CloseCode.TRY_AGAIN_LATER, CloseReason.ROOM_FULL)

    def room(self, name: str) -> ServedRoom:
        """The room called ``name``, created if needed (call :meth:`check` first)."""
        room = self._rooms.get(name)
        if room is None and self.broker is not None and self.mirror is not None:
            room = self._rooms[name] = SharedRoom(
                name,
                self.mirror,
                self.broker,
                clock=self._clock,
                settings=self.settings,
                on_change=self._changed,
            )
        elif room is None:
            room = self._rooms[name] = LiveRoom(
                name,
                self.commits,
                clock=self._clock,
                settings=self.settings,
                on_change=self._changed,
            )
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="sweeper")
        return room

    async def ready(self, room: ServedRoom) -> None:
        """A shared room follows the broker before anybody joins it (once, however many
        arrive together); :class:`Refused` when the broker cannot be reached."""
        if self.broker is None or not isinstance(room, SharedRoom):
            return
        attaching = self._attaching.get(room.name)
        if attaching is None:
            attaching = asyncio.ensure_future(self.broker.attach(room))
            self._attaching[room.name] = attaching
        try:
            await asyncio.shield(attaching)
        except BrokerDown:
            self._attaching.pop(room.name, None)
            raise Refused(CloseCode.TRY_AGAIN_LATER, CloseReason.BROKER_DOWN) from None
        if self.broker.down:
            # Followed already, but Redis is away: a newcomer could neither be announced
            # nor have anything stored, so it is refused as in a room not yet followed.
            raise Refused(CloseCode.TRY_AGAIN_LATER, CloseReason.BROKER_DOWN)

    async def _detach(self, room: SharedRoom, attaching: asyncio.Future[None] | None) -> None:
        # An attach still under way would start following after a detach: let it finish.
        if attaching is not None:
            with contextlib.suppress(BrokerDown):
                await attaching
        if self.broker is not None:
            await self.broker.detach(room.name, room)

    async def _sweep(self) -> None:
        """Once a second, close members that stopped reading while bytes wait for them."""
        loop = asyncio.get_running_loop()
        while self._rooms:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = loop.time()
            for room in list(self._rooms.values()):
                for member in room.members:
                    member.check_stalled(now)

    def release(self, room: ServedRoom) -> None:
        """Forget ``room`` once its last member has left (its history stays, within the
        store's retention)."""
        if not len(room) and self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            self.history.forget(room.name)
            if self.broker is not None and isinstance(room, SharedRoom):
                attaching = self._attaching.pop(room.name, None)
                task = asyncio.get_running_loop().create_task(self._detach(room, attaching))
                self._detaching.add(task)
                task.add_done_callback(self._detaching.discard)

    async def close_all(self, code: int = CloseCode.GOING_AWAY, reason: str = "") -> None:
        """Refuse newcomers and close every member of every room."""
        self.closing = True
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await asyncio.gather(*(room.close_all(code, reason) for room in list(self._rooms.values())))
