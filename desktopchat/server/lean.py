"""An event and an inbox that hold nothing while nobody waits, for what every member keeps.

``asyncio.Event`` and ``asyncio.Queue`` allocate their deques (a 64-slot block each, about
600 bytes) when they are made and keep them for life: uvicorn gives every WebSocket
connection a queue (three deques and an event's) and a ``writable`` event. In a room of
thousands of idle members that was a sixth of what each member cost. These two allocate
when something waits and let go when it is done.
"""

from __future__ import annotations

import asyncio
from typing import Generic, Literal, TypeVar

T = TypeVar("T")


class LazyEvent(asyncio.Event):
    """``asyncio.Event`` whose list of waiters exists only while somebody waits."""

    def __init__(self) -> None:  # no super().__init__(): that builds the deque
        self._value = False
        self._waiting: list[asyncio.Future[Literal[True]]] | None = None

    def __repr__(self) -> str:
        return f"<LazyEvent {'set' if self._value else 'unset'}>"

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake everybody waiting for it."""
        if self._value:
            return
        self._value = True
        waiting, self._waiting = self._waiting, None
        for waiter in waiting or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        """Unset the flag: whoever waits from now on waits for the next :meth:`set`."""
        self._value = False

    async def wait(self) -> Literal[True]:
        """Return at once if the flag is set, else when it is."""
        if self._value:
            return True
        waiter: asyncio.Future[Literal[True]] = asyncio.get_running_loop().create_future()
        if self._waiting is None:
            self._waiting = []
        self._waiting.append(waiter)
        try:
            return await waiter
        finally:
            if self._waiting is not None and waiter in self._waiting:
                self._waiting.remove(waiter)


class Inbox(Generic[T]):
    """The receive queue uvicorn's WebSocket protocol uses (``put_nowait``, ``get``,
    ``empty``, ``qsize``): unbounded, for one reader at a time, empty-handed when empty.

    uvicorn stops reading the socket while anything waits in it, so it stays short.
    """

    __slots__ = ("_items", "_reader")

    def __init__(self) -> None:
        self._items: list[T] | None = None
        self._reader: asyncio.Future[None] | None = None

    def empty(self) -> bool:
        """Whether nothing waits to be read."""
        return not self._items

    def qsize(self) -> int:
        """How many items wait to be read."""
        return len(self._items) if self._items else 0

    def put_nowait(self, item: T) -> None:
        """Add ``item`` and wake the reader."""
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    async def get(self) -> T:
        """The oldest item, waiting for one if there is none."""
        while not self._items:
            if self._reader is not None:
                raise RuntimeError("an Inbox has one reader at a time")
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item
