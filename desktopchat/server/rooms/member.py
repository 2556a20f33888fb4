"""One connection in a room: its name, its mode, a bounded send queue and the task that writes it.

The room hands a member frames with :meth:`Member.deliver`, which never waits: a member whose
queue is full is too slow for the room and is closed with 1013, so nobody else waits for it.
What a member holds is counted in bytes: its queue and its transport's write buffer together
stay under ``queue_bytes``; a big message is written fragment by fragment, each only once the
transport has drained (so a transport never holds more than one fragment beyond its high
mark); and a member whose buffered bytes do not shrink for ``stall_timeout`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from desktopchat.protocol import CloseCode, CloseReason
from desktopchat.server.framing import FRAGMENT_BYTES, Frame, Outgoing
from desktopchat.server.rooms.connection import Connection
from desktopchat.server.rooms.ratelimit import RateLimiter
from desktopchat.server.rooms.room import Mode

logger = logging.getLogger("desktopchat.server")


TRANSPORT_HIGH_MARK = 64 * 1024
"""asyncio's default write-buffer high mark: a writable transport holds less than this."""


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Member:
    """A member of a room: its name, its mode, and the frames on their way to it.

    Frames go straight onto the transport while it can take them. Otherwise they wait in a
    bounded queue that a writer task drains in order; the task exists only while there is
    something to write (the welcome and backlog ``prelude``, read from history page by page,
    or frames a busy transport could not take), so an idle member costs no task.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        name: str,
        mode: Mode,
        key: str | None,
        queue_size: int,
        queue_bytes: int,
        close_timeout: float,
        limiter: RateLimiter,
        stall_timeout: float,
        prelude: Iterable[Frame] | None = None,
        held: bool = False,
    ) -> None:
        """``held``: the connection is not accepted yet; what is delivered queues until
        :meth:`open` (the room may speak to it from the moment it is in)."""
        self.name = name
        self.mode = mode
        self.key = key
        self.limiter = limiter
        self._connection = connection
        # Made when something must wait and dropped when drained: most members never queue.
        self._pending: deque[Outgoing | _Close] | None = None
        self._queue_size = queue_size
        self._queue_bytes = queue_bytes
        self._queued_bytes = 0
        self._write_now = connection.write_now
        self._buffered = connection.buffered
        self._writable = connection.writable
        self._stall_timeout = stall_timeout
        self._accepted = 0  # bytes ever handed to this member (written or queued)
        self._last_drained = 0
        self._last_progress: float | None = None
        self._close_timeout = close_timeout
        self._closing = False
        self._closer: asyncio.Task[None] | None = None
        self._prelude: Iterator[Frame] | None = None
        # While a writer runs, frames queue behind it so that they stay in order.
        self._writer: asyncio.Task[None] | None = None
        self._opened: asyncio.Event | None = asyncio.Event() if held else None
        if prelude is not None:
            self._prelude = iter(prelude)
        if prelude is not None or held:
            self._start_writer()

    @property
    def closing(self) -> bool:
        """Whether a close has been asked for; such a member gets nothing more."""
        return self._closing

    def held(self) -> int:
        """Bytes on their way to this member: its queue and its transport's write buffer."""
        return self._queued_bytes + self._buffered()

    def deliver(self, outgoing: Outgoing | Frame) -> None:
        """Send without waiting: straight to the transport when it can take the frame now,
        else through the bounded queue; a member that cannot keep up is closed with 1013.

        The member's bytes (queue and transport buffer) are bounded, and so is its queue in
        frames; one frame larger than the byte bound still goes when nothing else waits.
        """
        if self._closing:
            return
        if not isinstance(outgoing, Outgoing):
            outgoing = Outgoing(outgoing)
        size = outgoing.size
        write_now = self._write_now
        # The fast path, for nearly every delivery: nothing queued and a transport below its
        # high mark (write_now checks that), so what it holds plus this frame cannot reach
        # the bound; no need to ask it how much it holds.
        if (
            self._writer is None
            and write_now is not None
            and size <= FRAGMENT_BYTES
            and size + TRANSPORT_HIGH_MARK <= self._queue_bytes
            and write_now(outgoing.wire)
        ):
            self._accepted += size
            return
        held = self.held()
        over = held and held + size > self._queue_bytes
        if over or len(self._pending or ()) >= self._queue_size:
            logger.warning("%s is too slow: send queue full, closing with 1013", self.name)
            self.close_soon(CloseCode.TRY_AGAIN_LATER, CloseReason.QUEUE_FULL, urgent=True)
            return
        self._accepted += size
        self._queued_bytes += size
        self._queue(outgoing)
        self._start_writer()

    def check_stalled(self, now: float) -> bool:
        """Close the member (1013) if bytes wait for it and none has left for
        ``stall_timeout`` seconds: a peer that stopped reading must not hold memory until
        keepalive notices. Called about once a second; returns whether it closed."""
        held = self.held()
        # Progress is bytes that left our buffers, not fewer bytes waiting: a slow reader
        # that keeps up with a steady stream never sees its backlog shrink, but drains.
        drained = self._accepted - held
        if self._last_progress is None or not held or drained > self._last_drained:
            self._last_progress = now
        self._last_drained = drained
        waited = now - self._last_progress
        if self._closing or not held or waited < self._stall_timeout:
            return False
        logger.warning(
            "%s has not read for %.0f s (%d bytes waiting); closing with 1013",
            self.name,
            waited,
            held,
        )
        self.close_soon(CloseCode.TRY_AGAIN_LATER, CloseReason.NOT_READING, urgent=True)
        return True

    def close_soon(self, code: int, reason: str, *, urgent: bool = False) -> None:
        """Start closing in the background; ``urgent`` drops what is still queued."""
        if self._closing:
            return
        self._closing = True
        if urgent:
            self._pending = None
            self._queued_bytes = 0
        self._closer = asyncio.get_running_loop().create_task(
            self._close(code, reason), name=f"closer for {self.name}"
        )

    async def close(self, code: int, reason: str) -> None:
        """Flush the queue, send the close frame, and abort if the peer does not take it in time."""
        self.close_soon(code, reason)
        if self._closer is not None:
            # wait(), not await: the closer may already be cancelled by finish() (the member
            # left meanwhile), which is done, not an error of ours.
            await asyncio.wait({self._closer})

    async def finish(self) -> None:
        """Release the member's tasks once its connection is gone; safe to call twice."""
        self._closing = True
        tasks = [task for task in (self._writer, self._closer) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _close(self, code: int, reason: str) -> None:
        # The close frame follows the queued frames through the writer; the writer may sit in
        # a send that never completes (the peer stopped reading), and this deadline is what
        # frees such a connection.
        self._queue(_Close(code, reason))
        writer = self._start_writer()
        try:
            await asyncio.wait_for(asyncio.shield(writer), self._close_timeout)
        except TimeoutError:
            logger.info("%s did not take its close in time; aborting the connection", self.name)
            writer.cancel()
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (when the server allows it)."""
        if self._connection.abort is not None:
            self._connection.abort()

    def _queue(self, item: Outgoing | _Close) -> None:
        if self._pending is None:
            self._pending = deque()
        self._pending.append(item)

    def _start_writer(self) -> asyncio.Task[None]:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name=f"writer for {self.name}"
            )
        return self._writer

    def open(self) -> None:
        """The connection is accepted: what waited goes out."""
        if self._opened is not None:
            self._opened.set()

    async def _write(self) -> None:
        try:
            if self._opened is not None:
                await self._opened.wait()
                self._opened = None
            if self._prelude is not None:
                for frame in self._prelude:
                    if not await self._send(Outgoing(frame)):
                        return
                self._prelude = None
            while self._pending:
                item = self._pending.popleft()
                if isinstance(item, _Close):
                    await self._connection.close(item.code, item.reason)
                    return
                self._queued_bytes -= item.size
                if not await self._send(item):
                    return
        except (RuntimeError, OSError) as exc:
            # The peer is gone (or already closed); the endpoint's receive loop sees the
            # disconnect and removes the member, so there is nothing to report here.
            logger.debug("writer for %s stopped: %r", self.name, exc)
        finally:
            # No await since the queue was last seen empty: a frame delivered from now on
            # may go straight out again.
            self._writer = None
            if not self._pending:
                self._pending = None

    async def _send(self, outgoing: Outgoing) -> bool:
        """Write one message, fragment by fragment as the transport drains; ``False`` once
        the connection is closing and takes nothing more."""
        write_now, writable = self._write_now, self._writable
        if write_now is None or writable is None:
            # A server without our doors (Starlette's TestClient): the ASGI way.
            for payload in outgoing.payloads:
                await self._connection.send(payload)
            return True
        for fragment in outgoing.fragments:
            await writable.wait()
            if not write_now(fragment):
                return False
        return True
