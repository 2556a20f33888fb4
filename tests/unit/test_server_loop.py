"""The server's event loop: uvloop or asyncio's, and the window's server thread."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import weakref
from collections.abc import Callable

import pytest
import uvloop

from desktopchat.app.cli import main
from desktopchat.app.server_thread import ServerLoop
from desktopchat.server.web.collector import MIDDLE_COLLECTIONS_PER_FULL
from desktopchat.server.web.loops import new_loop


def test_auto_is_uvloop_when_installed_and_asyncio_is_always_there() -> None:
    for kind, expected in (("auto", uvloop.Loop), ("uvloop", uvloop.Loop)):
        loop = new_loop(kind)  # type: ignore[arg-type]
        assert isinstance(loop, expected)
        loop.close()
    loop = new_loop("asyncio")
    assert isinstance(loop, asyncio.BaseEventLoop)
    assert not isinstance(loop, uvloop.Loop)
    loop.close()


def test_without_uvloop_auto_falls_back_and_asking_for_it_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    loop = new_loop("auto")
    assert not isinstance(loop, uvloop.Loop)
    loop.close()
    with pytest.raises(RuntimeError, match="pip install uvloop"):
        new_loop("uvloop")
    assert main(["serve", "--loop", "uvloop", "--port", "0"]) == 2
    assert "uvloop is not installed" in capsys.readouterr().err


@pytest.mark.parametrize("factory", [asyncio.new_event_loop, uvloop.new_event_loop])
async def test_a_coroutine_runs_on_the_servers_thread_and_its_outcome_comes_back(
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    server = ServerLoop(factory=factory)
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert await server.run(where()) == "desktopchat-server"

        async def fails() -> None:
            raise OSError(98, "Address already in use")

        with pytest.raises(OSError, match="already in use"):
            await server.run(fails())
    finally:
        server.close()
    assert server.loop.is_closed()


async def test_cancelling_the_caller_cancels_the_coroutine_over_there() -> None:
    server = ServerLoop(factory=asyncio.new_event_loop)
    cancelled = threading.Event()
    try:

        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        waiting = asyncio.ensure_future(server.run(forever()))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await asyncio.to_thread(cancelled.wait, 5)
    finally:
        server.close()


async def test_closing_finishes_what_was_left_running_and_ends_the_thread() -> None:
    server = ServerLoop(factory=asyncio.new_event_loop)
    finished = threading.Event()

    async def leftover() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.set()

    server.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(leftover()))
    await asyncio.sleep(0.05)
    server.close()
    assert finished.is_set(), "the task was cancelled and ran its cleanup"
    assert server.loop.is_closed()
    server.close()  # twice is harmless


async def test_while_a_server_thread_runs_only_the_starting_loop_collects_garbage() -> None:
    assert gc.isenabled()
    before = gc.get_threshold()
    first = ServerLoop(factory=asyncio.new_event_loop)
    second = ServerLoop(factory=asyncio.new_event_loop)
    assert not gc.isenabled(), "automatic collection would run on whatever thread allocates"
    assert gc.get_threshold()[2] == MIDDLE_COLLECTIONS_PER_FULL, "set as `serve` sets it"

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    cycle = Cycle()
    # A finalizer runs on the thread whose collection freed the cycle: it must be this one.
    collected_on: list[str] = []
    weakref.finalize(cycle, lambda: collected_on.append(threading.current_thread().name))
    del cycle
    for _ in range(5000):  # past generation 0's threshold
        Cycle()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if collected_on:
            break
    assert collected_on == [threading.current_thread().name]
    first.close()
    assert not gc.isenabled(), "the second server thread still runs"
    second.close()
    assert gc.isenabled()
    assert gc.get_threshold() == before, "the window's own setting is back"


async def test_a_finishing_stop_is_not_cut_short_by_the_caller_and_the_thread_then_ends() -> None:
    server = ServerLoop(factory=asyncio.new_event_loop)
    stopped = threading.Event()

    async def stop() -> str:
        await asyncio.sleep(0.2)
        stopped.set()
        return "stopped"

    assert await server.finish(stop()) == "stopped"
    assert server.loop.is_closed()

    server = ServerLoop(factory=asyncio.new_event_loop)
    stopped.clear()
    finishing = asyncio.ensure_future(server.finish(stop()))
    await asyncio.sleep(0.05)
    finishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finishing
    assert await asyncio.to_thread(stopped.wait, 5), "the stop ran to its end"
    for _ in range(100):
        if server.loop.is_closed():
            break
        await asyncio.sleep(0.05)
    assert server.loop.is_closed(), "and the thread ended by itself"
