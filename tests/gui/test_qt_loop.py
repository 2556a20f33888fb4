"""The window's asyncio loop: asyncio's order and error handling over Qt's event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer
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
    for _ in range(5):  # Qt's events processed with the loop stopped (a test's phases)
        QCoreApplication.processEvents()
    assert ran == []

    qloop.run_until_complete(asyncio.sleep(0.02))
    assert sorted(ran) == ["later", "soon"]


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
