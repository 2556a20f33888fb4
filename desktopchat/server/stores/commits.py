"""When a store commits: once per turn of the event loop, for every room it holds.

The stores (:mod:`desktopchat.server.stores.history`) are synchronous and know no loop; this is
their asyncio side. The first append in a turn of the loop is committed on its own: durable
on return, so a room whose messages come one per turn (any paced conversation) relays each
at once. Appends after it in the same turn share one batch, committed by a callback at the
end of the turn: a burst costs two commits, not one per message. Big messages go to a
worker thread, durable when it returns, so that the loop never waits for the disk.
"""

from __future__ import annotations

import asyncio

from desktopchat.protocol import ChatMessage
from desktopchat.server.stores.history import History, StoreError

Batch = asyncio.Future[None] | None
"""A stored message's commit to wait for (failing with :class:`StoreError`), or ``None``:
durable already."""


class Commits:
    """The commits of one store shared by every room of the server."""

    def __init__(self, store: History) -> None:
        self.store = store
        self._batch: asyncio.Future[None] | None = None
        self._turn_used = False  # this turn's first append was committed on its own

    def append(
        self, room: str, message: ChatMessage, key: str | None, cid: str | None
    ) -> tuple[ChatMessage, Batch]:
        """Store ``message`` now; the batch whose commit makes it durable (``None``: it is).
        :class:`StoreError` when it was not stored."""
        if not self.store.slow_writes:
            return self.store.append(room, message, key, cid), None
        loop = asyncio.get_running_loop()
        if self._batch is None and not self._turn_used:
            self._turn_used = True
            loop.call_soon(self._next_turn)
            return self.store.append(room, message, key, cid), None
        if self._batch is None:
            self.store.begin()
            self._batch = loop.create_future()
            loop.call_soon(self._commit)
        return self.store.append(room, message, key, cid), self._batch

    async def append_alone(
        self, room: str, message: ChatMessage, key: str | None, cid: str | None
    ) -> ChatMessage:
        """Store a big message from a worker thread; durable on return."""
        if not self.store.slow_writes:
            return self.store.append(room, message, key, cid)
        return await asyncio.to_thread(self.store.append_alone, room, message, key, cid)

    def pending(self) -> Batch:
        """The open batch (what a message stored earlier in this turn waits for)."""
        return self._batch

    def _next_turn(self) -> None:
        self._turn_used = False

    def _commit(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            self.store.commit()
        except StoreError as exc:
            batch.set_exception(exc)
            batch.exception()  # told to whoever waits on it; not an error nobody saw
        else:
            batch.set_result(None)

    def close(self) -> None:
        """Commit what is open and close the store."""
        self._commit()
        self.store.close()
