"""The embedded server's own thread and event loop.

Hosted on the window's loop, every frame the room relays waited behind painting, and
painting behind the room: Qt (through qasync) schedules each asyncio callback as a Qt event.
On a plain loop of its own (uvloop's when installed) the room costs what ``serve`` costs,
and the window is one member of it like any other, talking to it through a socket.

Only coroutines cross between the loops, through :meth:`ServerLoop.run`; nothing on the
server's side knows about Qt, and nothing here calls into the window's loop from the
server's thread. One more thing must stay on the window's thread: Python's cyclic garbage
collector. It runs on whichever thread happens to allocate when a threshold is passed; run
on the server's thread, it destroyed the window's Qt objects there, and Qt then fired a timer
of a deleted object (a crash in ``QCoreApplication::notifyInternal2``). While a server thread
runs, automatic collection is off and the window's loop collects instead (what calibre does).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from desktopchat.server.web.collector import hold_long_lived
from desktopchat.server.web.loops import new_loop

logger = logging.getLogger("desktopchat.app")

T = TypeVar("T")

_JOIN_TIMEOUT = 10.0
_POLL = 0.005
_COLLECT_EVERY = 0.1


class ServerLoop:
    """An asyncio loop running on a thread of its own until :meth:`finish` or :meth:`close`.

    ``factory`` makes the loop: uvloop's when installed (tests pass ``asyncio.new_event_loop``
    to cover the other path). Make it from a running loop: that loop collects garbage while
    this one runs.
    """

    def __init__(
        self,
        name: str = "desktopchat-server",
        factory: Callable[[], asyncio.AbstractEventLoop] = new_loop,
    ) -> None:
        _Collector.acquire()
        self._loop = factory()
        self._thread = threading.Thread(target=self._run_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's loop (call into it only with ``call_soon_threadsafe`` or :meth:`run`)."""
        return self._loop

    def _run_forever(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                _Collector.release()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the server's loop and return (or raise) what it did;
        cancelling the caller cancels the coroutine."""
        work = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            await _settled(work)
        except asyncio.CancelledError:
            work.cancel()
            raise
        return work.result()

    async def finish(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (a server's stop) to its end, then end the thread.

        Cancelling the caller does not cancel it (a stop cut short would skip the members'
        1001 and leave uvicorn's tasks behind): the thread then ends by itself when done.
        """
        work = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        work.add_done_callback(lambda _: self._stop_soon())
        await _settled(work)
        self._thread.join(_JOIN_TIMEOUT)
        return work.result()

    def close(self) -> None:
        """Stop the loop now (tasks still on it are cancelled) and wait for the thread."""
        self._stop_soon()
        self._thread.join(_JOIN_TIMEOUT)
        if self._thread.is_alive():
            logger.warning("the server's thread did not end within %.0f s", _JOIN_TIMEOUT)

    def _stop_soon(self) -> None:
        # RuntimeError: the loop has closed already, and its thread is ending anyway.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)


async def _settled(work: concurrent.futures.Future[Any]) -> None:
    """Wait for ``work`` by polling rather than being woken by the server's thread: qasync
    wakes its loop from another thread through a Qt signal connected to a lambda, which
    PySide6 6.8+ can crash on (PYSIDE-3124). Only starting and stopping a server cross
    threads, so a few milliseconds of polling cost nothing."""
    while not work.done():  # noqa: ASYNC110 - see above: no wake-up across threads
        await asyncio.sleep(_POLL)


class _Collector:
    """Python's cyclic garbage collection, done by the window's event loop while server
    threads run (see the module's docstring); automatic collection resumes when the last
    one has ended (released from that server's thread)."""

    _lock = threading.Lock()
    _users = 0
    _was_enabled = True
    _thresholds = gc.get_threshold()
    _task: asyncio.Task[None] | None = None

    @classmethod
    def acquire(cls) -> None:
        """Turn automatic collection off, and collect on the running loop instead."""
        loop = asyncio.get_running_loop()
        with cls._lock:
            if cls._users == 0:
                cls._was_enabled = gc.isenabled()
                gc.disable()
                cls._thresholds = gc.get_threshold()
                hold_long_lived()  # as `serve` does
            cls._users += 1
            if cls._task is None or cls._task.done() or cls._task.get_loop() is not loop:
                cls._task = loop.create_task(_collect_while_needed(), name="collect")

    @classmethod
    def release(cls) -> None:
        """One server thread fewer; with none left, collection is automatic again."""
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                gc.set_threshold(*cls._thresholds)
                if cls._was_enabled:
                    gc.enable()

    @classmethod
    def needed(cls) -> bool:
        """Whether any server thread still runs."""
        return cls._users > 0


async def _collect_while_needed() -> None:
    """Collect the oldest generation whose count passed its threshold, as Python would
    have, ten times a second, until no server thread is left."""
    while _Collector.needed():
        await asyncio.sleep(_COLLECT_EVERY)
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [n for n in range(3) if counts[n] > thresholds[n]]
        if due:
            gc.collect(due[-1])


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish what is still scheduled when the loop stops (normally nothing: the
    server was stopped first), so no task is destroyed while pending."""
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            logger.warning("the server's task %s ended with %r", task.get_name(), task.exception())
