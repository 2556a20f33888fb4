"""The server-wide bound on bytes in flight to members: big frames take a share first.

A message is framed once, but a transport copies every frame it cannot send at once into
its own buffer: one 16 MiB message fanned out to 500 members that do not read would hold
8 GB. Members therefore write big frames (see ``Member``) only while holding a reservation
of their size from the one :class:`Budget` of the server, and give it back once their
transport has drained. When the budget is spent, the next big frame waits for one to drain
(or for a stalled member to be dropped) instead of being copied.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Budget:
    """Bytes that may sit in transport buffers for big frames, across every member.

    A single frame larger than the whole budget may still go when nothing else is reserved,
    so no message is ever undeliverable.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reserved = 0
        self._freed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def reserve(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the budget for the block, waiting until they are free."""
        while self.reserved and self.reserved + size > self.limit:
            self._freed.clear()
            await self._freed.wait()
        self.reserved += size
        try:
            yield
        finally:
            self.reserved -= size
            self._freed.set()
