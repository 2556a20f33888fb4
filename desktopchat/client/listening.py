"""What every kind of connection shares with its listeners: subscribing, an async iterator
of events, and one state machine reported as :class:`StateChanged` events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from desktopchat.client.events import SessionEvent, SessionState, StateChanged

logger = logging.getLogger("desktopchat.client")

Listener = Callable[[SessionEvent], None]


class EventSource:
    """Hands events to listeners; a listener that raises is logged and the rest still hear."""

    state: SessionState
    _listeners: list[Listener]

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

    def _emit(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # A broken listener must not break the connection or the other listeners.
                logger.exception("listener %r failed on %r", listener, event)

    def _set_state(self, state: SessionState, **details: object) -> None:
        self.state = state
        self._emit(StateChanged(state, **details))  # type: ignore[arg-type]
