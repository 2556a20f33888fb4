"""The window's asyncio loop: qasync's, with a queue of callbacks ready to run, on public seams.

qasync runs every ``call_soon`` as a Qt timer of its own: a timer started, a timer event
dispatched into Python, the timer killed, and a check that the callback is no coroutine
function (``inspect``) on the way in. A message arriving over a WebSocket takes two such
callbacks (the socket's readiness, then the task it wakes), and a busy room's member paid
more for them than for decoding its messages, all of it on the thread that paints the
window and holding the interpreter lock a hosted server's thread needs. Here ``call_soon``
appends to a queue, as asyncio's own loops do, and one zero-time Qt timer runs what is
queued at each turn of Qt's event loop; sockets and threads stay qasync's.

Only public API is used: qasync's loop is subclassed in its public methods (``call_soon``,
``call_later``, ``call_at``, ``run_forever``, ``close``), callbacks are wrapped in public
``asyncio.Handle`` objects (for ``cancel()``/``cancelled()``) and run with their context's
``run``, errors go to ``call_exception_handler``. (The previous loop also read a busy
socket at most once per 8 ms through qasync's private reader hooks; bench/README.md says
what that saved and what dropping it costs.)

Nothing queued runs while the loop is stopped. Qt's events can be processed then (qasync's
last pass after ``run_until_complete``, a modal dialog, pytest-qt between a test's phases),
and a task stepped with no running loop fails inside (``RuntimeError: no running event
loop`` from uvicorn or a hub's sweeper); such callbacks wait for the loop's next run. A
timer that falls due meanwhile joins the queue.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Call:
    """A queued callback: the handle given out (to cancel it) and what to run."""

    handle: asyncio.Handle
    callback: Callable[..., object]
    args: tuple[Any, ...]
    context: contextvars.Context


class QtLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type hints
    """An asyncio loop driven by Qt's event loop (qasync) whose ready callbacks run in
    batches, one Qt timer per turn rather than one per callback."""

    def __init__(self, app: QApplication | None = None) -> None:
        # Our attributes' names are not asyncio's (its loop keeps a private ``_ready``):
        # a subclass must not take over what its bases keep.
        self._batched: deque[_Call] = deque()
        self._turn = QTimer()
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.timeout.connect(self._on_turn)
        self._turn_due = False
        super().__init__(app)

    def call_soon(
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Run ``callback(*args)`` at the next turn of the loop, after those queued before."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        call = self._call(callback, args, context)
        self._batched.append(call)
        if not self._turn_due:
            self._turn_due = True
            self._turn.start()
        return call.handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Run ``callback(*args)`` after ``delay`` seconds (qasync's timer), in the queue:
        one that falls due while the loop is stopped waits for it to run."""
        if delay <= 0:
            return self.call_soon(callback, *args, context=context)
        call = self._call(callback, args, context)
        super().call_later(delay, self._due, call)
        return call.handle

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Run ``callback(*args)`` at loop time ``when`` (see :meth:`call_later`)."""
        return self.call_later(when - self.time(), callback, *args, context=context)

    def _call(
        self,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: contextvars.Context | None,
    ) -> _Call:
        # As asyncio's loops: the caller's context unless one is given.
        context = context if context is not None else contextvars.copy_context()
        return _Call(asyncio.Handle(callback, args, self, context), callback, args, context)

    def _due(self, call: _Call) -> None:
        if not call.handle.cancelled() and not self.is_closed():
            self._batched.append(call)
            self._run_ready()

    def _on_turn(self) -> None:
        self._turn_due = False
        self._run_ready()

    def _run_ready(self) -> None:
        """Run the callbacks queued so far; those they queue wait for the next turn, after
        Qt has had its own (painting, input, sockets)."""
        if not self.is_running():
            return  # run_forever starts the next turn
        for _ in range(len(self._batched)):
            if not self._batched:
                break  # a turn inside one of them (a Qt event loop run by a callback) ran them
            call = self._batched.popleft()
            if not call.handle.cancelled():
                self._run(call)
        if self._batched and not self._turn_due:
            self._turn_due = True
            self._turn.start()
        elif not self._batched and self._turn_due:
            self._turn_due = False
            self._turn.stop()

    def _run(self, call: _Call) -> None:
        # As asyncio's Handle runs a callback: in its context, errors to the loop's handler.
        try:
            call.context.run(call.callback, *call.args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.call_exception_handler(
                {
                    "message": f"Exception in callback {call.callback!r}",
                    "exception": exc,
                    "handle": call.handle,
                }
            )

    def run_forever(self) -> None:
        """Run until stopped, beginning with the callbacks that waited for the loop to run."""
        if self._batched and not self._turn_due:
            self._turn_due = True
            self._turn.start()
        super().run_forever()

    def close(self) -> None:
        """Close the loop; callbacks still queued are dropped, as asyncio's loops drop them."""
        super().close()
        self._turn.stop()
        self._batched.clear()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a :class:`QtLoop` (``asyncio.run`` semantics)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    with asyncio.Runner(loop_factory=lambda: QtLoop(app)) as runner:
        return runner.run(main)
