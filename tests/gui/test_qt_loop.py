"""The window's asyncio loop: asyncio's order and error handling over Qt's event loop."""

from __future__ import annotations

import asyncio
import contextvars
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from desktopchat.app import qt_loop
from desktopchat.app.qt_loop import QtLoop


def test_callbacks_run_in_the_order_they_were_queued(qloop: QtLoop) -> None:
    ran: list[int] = []

    async def main() -> None:
        for number in range(200):
            qloop.call_soon(ran.append, number)
        await asyncio.sleep(0.01)

    qloop.run_until_complete(main())
    assert ran == list(range(200))


def test_a_callback_chain_leaves_qt_its_turns(qloop: QtLoop) -> None:
    # Each callback queues the next: were they run until the queue is empty, Qt's own
    # events (painting, input, sockets) would wait for the whole chain.
    chain: list[int] = []
    qt_ran_at: list[int] = []
    done = asyncio.Event()

    def step(left: int) -> None:
        chain.append(left)
        if left:
            qloop.call_soon(step, left - 1)
        else:
            done.set()

    async def main() -> None:
        qloop.call_soon(step, 500)
        QTimer.singleShot(0, lambda: qt_ran_at.append(len(chain)))
        await asyncio.wait_for(done.wait(), 10)

    qloop.run_until_complete(main())
    assert qt_ran_at
    assert qt_ran_at[0] < 500


def test_a_cancelled_callback_does_not_run(qloop: QtLoop) -> None:
    ran: list[str] = []

    async def main() -> None:
        qloop.call_soon(ran.append, "kept")
        qloop.call_soon(ran.append, "cancelled").cancel()
        await asyncio.sleep(0.01)

    qloop.run_until_complete(main())
    assert ran == ["kept"]


def test_a_failing_callback_is_reported_and_the_others_still_run(qloop: QtLoop) -> None:
    reported: list[dict[str, Any]] = []
    ran: list[str] = []
    qloop.set_exception_handler(lambda _loop, context: reported.append(context))

    def fail() -> None:
        raise ValueError("broken callback")

    async def main() -> None:
        qloop.call_soon(fail)
        qloop.call_soon(ran.append, "after")
        await asyncio.sleep(0.01)

    qloop.run_until_complete(main())
    assert ran == ["after"]
    assert [type(context["exception"]) for context in reported] == [ValueError]


def test_nothing_runs_while_the_loop_is_stopped(qloop: QtLoop) -> None:
    ran: list[str] = []
    qloop.call_soon(ran.append, "soon")
    qloop.call_later(0, ran.append, "later")
    qloop.call_later(0.01, ran.append, "due while stopped")
    qloop.call_later(0.01, ran.append, "cancelled").cancel()
    QTimer.singleShot(50, lambda: None)
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)
    for _ in range(5):  # Qt's events processed with the loop stopped (a test's phases)
        QCoreApplication.processEvents()
    assert ran == []

    qloop.run_until_complete(asyncio.sleep(0.05))
    assert sorted(ran) == ["due while stopped", "later", "soon"]


def test_a_callback_runs_in_its_context_and_a_timer_keeps_its_order(qloop: QtLoop) -> None:
    seen: list[str] = []
    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")

    async def main() -> None:
        context = contextvars.copy_context()
        context.run(who.set, "ada")
        qloop.call_soon(lambda: seen.append(who.get()), context=context)
        qloop.call_later(0.02, seen.append, "second")
        qloop.call_at(qloop.time() + 0.01, seen.append, "first")
        await asyncio.sleep(0.1)

    qloop.run_until_complete(main())
    assert seen == ["ada", "first", "second"]


def test_closing_drops_what_is_still_queued(qapp: QApplication) -> None:
    loop = QtLoop(qapp)
    ran: list[str] = []
    loop.call_soon(ran.append, "dropped")
    loop.close()
    QCoreApplication.processEvents()
    assert ran == []
    assert loop.is_closed()


def test_run_gives_the_coroutines_result(qapp: QApplication) -> None:
    qapp.setQuitOnLastWindowClosed(False)

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert qt_loop.run(answer()) == 42


class _Socket:
    """One end of a socket pair read by the loop; the other end writes."""

    def __init__(self, loop: QtLoop) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        self.reads: list[bytes] = []
        self.arrived = asyncio.Event()
        self.on_read: Callable[[], object] = lambda: None
        loop.add_reader(self.ours.fileno(), self._read)

    def _read(self) -> None:
        self.reads.append(self.ours.recv(65536))
        self.arrived.set()
        self.on_read()

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def pair(qloop: QtLoop) -> Iterator[_Socket]:
    pair = _Socket(qloop)
    yield pair
    qloop.remove_reader(pair.ours.fileno())
    pair.close()


def test_a_socket_is_read_when_data_comes(qloop: QtLoop, pair: _Socket) -> None:
    async def main() -> None:
        for word in (b"one", b"two"):
            pair.arrived.clear()
            pair.theirs.send(word)
            await asyncio.wait_for(pair.arrived.wait(), 5)

    qloop.run_until_complete(main())
    assert pair.reads == [b"one", b"two"]


def test_a_reader_that_removes_itself_stays_removed(qloop: QtLoop, pair: _Socket) -> None:
    pair.on_read = lambda: qloop.remove_reader(pair.ours.fileno())
    pair.theirs.send(b"once")

    async def main() -> None:
        await asyncio.wait_for(pair.arrived.wait(), 5)
        pair.theirs.send(b"twice")
        await asyncio.sleep(0.05)

    qloop.run_until_complete(main())
    assert pair.reads == [b"once"]
    assert not qloop.remove_reader(pair.ours.fileno())


def test_data_that_came_while_the_loop_was_stopped_is_read_once_it_runs(
    qloop: QtLoop, pair: _Socket
) -> None:
    pair.theirs.send(b"early")
    for _ in range(5):
        QCoreApplication.processEvents()
    assert pair.reads == []
    qloop.run_until_complete(asyncio.wait_for(pair.arrived.wait(), 5))
    assert pair.reads == [b"early"]


def test_callbacks_still_run_while_a_callback_runs_a_qt_event_loop(qloop: QtLoop) -> None:
    # A modal dialog's exec() inside a callback: the loop must not stall behind it.
    order: list[str] = []

    def modal() -> None:
        nested = QEventLoop()
        qloop.call_soon(order.append, "queued during the dialog")
        QTimer.singleShot(100, nested.quit)
        nested.exec()
        order.append("dialog closed")

    async def main() -> None:
        qloop.call_soon(modal)
        qloop.call_soon(order.append, "queued before the dialog")
        await asyncio.sleep(0.3)

    qloop.run_until_complete(main())
    assert order == ["queued before the dialog", "queued during the dialog", "dialog closed"]


def test_a_descriptor_numbered_past_select_limit_is_read(qloop: QtLoop) -> None:
    # A window hosting 1 000+ members holds descriptors past select()'s 1 024.
    pair = _Socket(qloop)
    qloop.remove_reader(pair.ours.fileno())
    high = socket.socket(fileno=os.dup2(pair.ours.fileno(), 1500))
    high.setblocking(False)
    reads: list[bytes] = []
    came = asyncio.Event()

    def read() -> None:
        reads.append(high.recv(100))
        came.set()
        if len(reads) == 1:
            pair.theirs.send(b"second")  # right after the first

    async def read_count(count: int) -> None:
        while True:
            came.clear()
            if len(reads) >= count:
                return
            await asyncio.wait_for(came.wait(), 5)

    async def main() -> None:
        pair.theirs.send(b"first")
        await read_count(2)
        pair.theirs.send(b"third")
        await read_count(3)

    qloop.add_reader(high.fileno(), read)
    try:
        qloop.run_until_complete(main())
        assert reads == [b"first", b"second", b"third"]
    finally:
        qloop.remove_reader(high.fileno())
        high.close()
        pair.close()


def test_datagrams_that_queued_up_are_all_taken(qloop: QtLoop) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    reads: list[bytes] = []

    def read() -> None:  # as asyncio's datagram transport does: one datagram a read
        reads.append(ours.recv(100))
        if len(reads) == 1:
            theirs.send(b"right after")

    async def main() -> None:
        theirs.send(b"first")
        while len(reads) < 2:  # noqa: ASYNC110 - counting reads, not waiting for one
            await asyncio.sleep(0.01)
        for n in range(10):
            theirs.send(b"during %d" % n)
        while len(reads) < 12:  # noqa: ASYNC110 - counting reads, not waiting for one
            await asyncio.sleep(0.01)

    qloop.add_reader(ours.fileno(), read)
    try:
        qloop.run_until_complete(asyncio.wait_for(main(), 5))
        assert reads == [b"first", b"right after"] + [b"during %d" % n for n in range(10)]
    finally:
        qloop.remove_reader(ours.fileno())
        ours.close()
        theirs.close()
