"""The window's asyncio loop: qasync's, with asyncio's own queue of callbacks ready to run.

qasync runs every ``call_soon`` as a Qt timer of its own: a timer started, a timer event
dispatched into Python, the timer killed, and a check that the callback is no coroutine
function (``inspect``) on the way in. A message arriving over a WebSocket takes two such
callbacks (the socket's readiness, then the task it wakes), and a busy room's member paid
more for them than for decoding its messages, all of it on the thread that paints the
window and holding the interpreter lock a hosted server's thread needs. Here ``call_soon``
appends to a queue, as asyncio's own loops do, and one zero-time Qt timer runs what is
queued at each turn of Qt's event loop; delays and threads stay qasync's.

Sockets are read when Qt says they are readable, at once, without a turn in between; but a
socket that keeps having data is read at most once per ``READ_SPACING``, everything it has
at a time: a busy room's 500 messages a second then cost the window ~100 wakeups, not 500,
each taking several messages. A socket that was quiet is read the moment data comes.

Neither kind of callback runs while the loop is stopped. Qt's events can be processed then
(qasync's last pass after ``run_until_complete``, a modal dialog, pytest-qt between a test's
phases), and a task stepped with no running loop fails inside (``RuntimeError: no running
event loop`` from uvicorn or a hub's sweeper); such callbacks wait for the loop's next run.
"""

from __future__ import annotations

import asyncio
import math
import select
import time
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QSocketNotifier, QTimer, QTimerEvent
from PySide6.QtWidgets import QApplication

T = TypeVar("T")

READ_SPACING = 0.008
"""Seconds between two reads of a socket that keeps having data (under a frame: a room's
messages still reach the list, which shows them in batches, well within one)."""
READS_PER_PAUSE = 64
"""Reads at most at the end of a pause (each a datagram, for a datagram socket)."""


def _readable_now(fileno: int) -> Callable[[], bool]:
    """Whether ``fileno`` has data to read, asked without waiting."""
    if hasattr(select, "poll"):  # no limit on descriptor numbers (a host with 1 000+ members)
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return lambda: bool(poller.poll(0))
    return lambda: bool(select.select([fileno], [], [], 0)[0])  # Windows: sockets only


class _Reader:
    """One socket's reader: a Qt notifier that runs asyncio's read callback, and what that
    read woke, in the same wakeup of the window's thread.

    Stopped, it is kept for the next reader of the same descriptor: flow control (a
    WebSocket whose incoming queue is full) stops reading and starts it again many times a
    second in a busy room, and a new notifier each time cost its making and forgot that the
    socket was busy.
    """

    def __init__(self, loop: QtLoop, fd: Any) -> None:
        self._loop = loop
        self._handle: asyncio.Handle | None = None
        fileno = fd if isinstance(fd, int) else fd.fileno()
        self._has_data = _readable_now(fileno)
        self.notifier = QSocketNotifier(fileno, QSocketNotifier.Type.Read)
        self.notifier.setEnabled(False)
        self.notifier.activated.connect(self._ready)
        self._pause = QTimer()
        self._pause.setSingleShot(True)
        self._pause.timeout.connect(self._paused)
        self._last = -math.inf  # never read
        self._runs = 0  # start() and stop() count: a read that outlived its run stops there

    def start(self, callback: Callable[..., object], args: Any) -> None:
        """Read with ``callback(*args)``: at once when data comes, unless the socket was
        read within ``READ_SPACING`` (then after the rest of the pause)."""
        self._runs += 1
        self._handle = asyncio.Handle(callback, args, self._loop)
        self._listen()

    def stop(self) -> None:
        """Read no more until started again."""
        self._runs += 1
        self._handle = None
        self._pause.stop()
        self.notifier.setEnabled(False)

    def _hold(self) -> None:
        self._pause.start(round(READ_SPACING * 1000))

    def _listen(self) -> None:
        if time.monotonic() - self._last < READ_SPACING:
            self._hold()
        else:
            self.notifier.setEnabled(True)

    def _ready(self) -> None:
        self.notifier.setEnabled(False)
        if self._loop.is_running():
            self._read()
        else:
            self._loop.call_soon(self._read)  # runs once the loop runs again

    def _read(self, busy: bool = False) -> None:
        handle, run = self._handle, self._runs
        if handle is None:
            return  # stopped meanwhile
        previous, self._last = self._last, time.monotonic()
        handle._run()
        if busy:
            # A stream's read takes all it has; a datagram socket's takes one datagram
            # (asyncio's), and what queued up during the pause is taken now too.
            for _ in range(READS_PER_PAUSE - 1):
                if not (self._runs == run and self._has_data()):
                    break
                handle._run()
        # The task waiting for this data, at once: asyncio's loops run what I/O woke in
        # the same pass, and on this loop another pass is another wakeup of the thread.
        self._loop._run_ready()
        if self._runs != run:
            return  # stopped (and perhaps started again) by what ran: that decided
        if busy or self._last - previous < READ_SPACING:
            self._hold()
        else:
            self.notifier.setEnabled(True)

    def _paused(self) -> None:
        # What came during the pause is read now, and the pause goes on while data keeps
        # coming (one wakeup per pause); once a pause brought nothing, the next data is
        # read the moment it comes.
        if self._handle is None:
            return
        if self._loop.is_running() and self._has_data():
            self._read(busy=True)
        else:
            self.notifier.setEnabled(True)


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
        self._readers: dict[Any, _Reader] = {}  # asyncio's __init__ adds its self-pipe's
        self._stopped: dict[Any, _Reader] = {}
        super().__init__(app)
        self._timer.stop()
        self._timer = _Timers(self)
        self._ready: deque[asyncio.Handle] = deque()
        self._turn = QTimer()
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.timeout.connect(self._on_turn)
        self._turn_due = False

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._check_closed()
        self._remove_reader(fd)
        reader = self._stopped.pop(fd, None) or _Reader(self, fd)
        self._readers[fd] = reader
        self._read_notifiers[fd] = reader.notifier
        reader.start(callback, args)

    def _remove_reader(self, fd: Any) -> bool:
        reader = self._readers.pop(fd, None)
        if reader is None:
            return False
        del self._read_notifiers[fd]
        reader.stop()
        # Kept for the descriptor's next reader; a closed one's number comes back with the
        # next socket opened, so these are as many as the descriptors the window has used.
        self._stopped[fd] = reader
        return True

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

    def _on_turn(self) -> None:
        self._turn_due = False
        self._run_ready()

    def _run_ready(self) -> None:
        """Run the callbacks queued so far; those they queue wait for the next turn, after
        Qt has had its own (painting, input, sockets)."""
        if not self.is_running():
            return  # run_forever starts the next turn
        for _ in range(len(self._ready)):
            if not self._ready:
                break  # a turn inside one of them (a Qt event loop run by a callback) ran them
            handle = self._ready.popleft()
            if not handle._cancelled:
                handle._run()
        if self._ready and not self._turn_due:
            self._turn_due = True
            self._turn.start()
        elif not self._ready and self._turn_due:
            self._turn_due = False
            self._turn.stop()

    def run_forever(self) -> None:
        """Run until stopped, beginning with the callbacks that waited for the loop to run."""
        if self._ready and not self._turn_due:
            self._turn_due = True
            self._turn.start()
        super().run_forever()

    def close(self) -> None:
        """Close the loop; callbacks still queued are dropped, as asyncio's loops drop them."""
        if not self.is_running():
            for fd in list(self._readers):
                self._remove_reader(fd)
            self._stopped.clear()
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
