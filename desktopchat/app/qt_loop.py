"""The window's asyncio loop: qasync's, with asyncio's own queue of callbacks ready to run.

qasync runs every ``call_soon`` as a Qt timer of its own: a timer started, a timer event
dispatched into Python, the timer killed, and a check that the callback is no coroutine
function (``inspect``) on the way in. A message arriving over a WebSocket takes two such
callbacks (the socket's readiness, then the task it wakes), and a busy room's member paid
more for them than for decoding its messages, all of it on the thread that paints the
window and holding the interpreter lock a hosted server's thread needs. Here ``call_soon``
appends to a queue, as asyncio's own loops do, and one zero-time Qt timer runs what is
queued at each turn of Qt's event loop; delays, sockets and threads stay qasync's.

Neither kind of callback runs while the loop is stopped. Qt's events can be processed then
(qasync's last pass after ``run_until_complete``, a modal dialog, pytest-qt between a test's
phases), and a task stepped with no running loop fails inside (``RuntimeError: no running
event loop`` from uvicorn or a hub's sweeper); such callbacks wait for the loop's next run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QTimer, QTimerEvent
from PySide6.QtWidgets import QApplication

T = TypeVar("T")


class _Timers(qasync._SimpleTimer):  # type: ignore[misc]  # qasync has no type hints
    """qasync's timers (``call_later``), held while their loop is stopped."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop

    def timerEvent(self, event: QTimerEvent) -> None:  # noqa: N802 - Qt's name
        """Run the callback due, unless the loop is stopped: the timer, not single-shot,
        fires again once the loop runs."""
        if self._loop.is_running():
            super().timerEvent(event)


class QtLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type hints
    """An asyncio loop driven by Qt's event loop (qasync) whose ready callbacks run in
    batches, one Qt timer per turn rather than one per callback."""

    _timer: _Timers

    def __init__(self, app: QApplication | None = None) -> None:
        super().__init__(app)
        self._timer.stop()
        self._timer = _Timers(self)
        self._ready: deque[asyncio.Handle] = deque()
        self._turn = QTimer()
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.timeout.connect(self._run_ready)
        self._turn_due = False

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        """Run ``callback(*args)`` at the next turn of the loop, after those queued before."""
        self._check_closed()
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        if not self._turn_due:
            self._turn_due = True
            self._turn.start()
        return handle

    def _run_ready(self) -> None:
        self._turn_due = False
        if not self.is_running():
            return  # run_forever starts the next turn
        # Only what was queued before this turn: callbacks queued by these run at the
        # next one, after Qt has had its turn (painting, input, sockets).
        for _ in range(len(self._ready)):
            handle = self._ready.popleft()
            if not handle._cancelled:
                handle._run()
        if self._ready and not self._turn_due:
            self._turn_due = True
            self._turn.start()

    def run_forever(self) -> None:
        """Run until stopped, beginning with the callbacks that waited for the loop to run."""
        if self._ready and not self._turn_due:
            self._turn_due = True
            self._turn.start()
        super().run_forever()

    def close(self) -> None:
        """Close the loop; callbacks still queued are dropped, as asyncio's loops drop them."""
        super().close()
        self._turn.stop()
        self._ready.clear()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a :class:`QtLoop` (``asyncio.run`` semantics)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    with asyncio.Runner(loop_factory=lambda: QtLoop(app)) as runner:
        return runner.run(main)
