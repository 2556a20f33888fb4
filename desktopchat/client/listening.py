"""What every kind of connection shares with its listeners: subscribing, an async iterator
of events, and one state machine reported as :class:`StateChanged` events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from websockets.asyncio.client import ClientConnection

from desktopchat.client.errors import SendError
from desktopchat.client.events import SessionEvent, SessionState, StateChanged
from desktopchat.protocol import CloseCode

logger = logging.getLogger("desktopchat.client")

Listener = Callable[[SessionEvent], None]


class Link:
    """One connection's life, as its owner and its listeners see it: the one state machine
    (every change told as a :class:`StateChanged` event), the listeners (one that raises is
    logged and the rest still hear), the socket of the moment, closing, and the wait before
    a reconnect that "Retry now" cuts short. A session and a raw connection each own one."""

    def __init__(self, *, raw: bool = False) -> None:
        self.raw = raw
        """Whether the states are those of a raw connection (which resumes nothing)."""
        self.state = SessionState.CLOSED
        self.ws: ClientConnection | None = None
        """The socket while one is open (between reconnects: ``None``)."""
        self.task: asyncio.Task[None] | None = None
        """What reads the socket and reconnects, while the connection is started."""
        self.closing = False
        """A close was asked for: nothing reconnects."""
        self._listeners: list[Listener] = []
        self._retry = asyncio.Event()

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "bye") -> None:
        """Close with ``code`` and ``reason`` (1000, "bye") and stop reconnecting."""
        self.closing = True
        task, self.task = self.task, None
        if task is None:
            return
        if self.ws is not None and self.state is SessionState.OPEN:
            self.set_state(SessionState.CLOSING)
            await self.ws.close(code, reason)
        else:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self.state is not SessionState.CLOSED:
            self.set_state(SessionState.CLOSED, code=CloseCode.NORMAL)

    def retry_now(self) -> None:
        """Cut the wait before the next reconnect attempt short (a "Retry now" button)."""
        if self.state is SessionState.RECONNECTING:
            self._retry.set()

    async def wait_to_retry(self, delay: float) -> None:
        """Wait ``delay`` seconds before a reconnect, or less if "Retry now" is pressed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._retry.wait()
        self._retry.clear()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Every event from now on, until the connection is closed for good."""
        queue: asyncio.Queue[SessionEvent] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, StateChanged) and event.state is SessionState.CLOSED:
                    return
        finally:
            unsubscribe()

    def emit(self, event: SessionEvent) -> None:
        """Tell every listener."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # A broken listener must not break the connection or the other listeners.
                logger.exception("listener %r failed on %r", listener, event)

    def set_state(self, state: SessionState, **details: object) -> None:
        """Enter ``state``, and tell the listeners why (``details``: see StateChanged)."""
        self.state = state
        self.emit(StateChanged(state, raw=self.raw, **details))  # type: ignore[arg-type]


async def read_to_send(path: str | Path) -> bytes:
    """A file's bytes, read off the loop (``~`` expanded); ``SendError`` says why not."""
    path = Path(path)
    try:
        return await asyncio.to_thread(lambda: path.expanduser().read_bytes())
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror or exc}") from exc


FAIR_FRAMES = 64
"""Frames handled in a row before the loop gets a turn."""


async def fairly(ws: ClientConnection) -> AsyncIterator[str | bytes]:
    """The frames of ``ws``, with a turn of the event loop every :data:`FAIR_FRAMES`.

    When frames are already buffered, receiving one does not suspend: a server that sends
    100 000 events at once would otherwise keep everything else off the loop (signal
    handlers included: SIGTERM went unanswered for seconds).
    """
    count = 0
    async for frame in ws:
        yield frame
        count += 1
        if count % FAIR_FRAMES == 0:
            await asyncio.sleep(0)
