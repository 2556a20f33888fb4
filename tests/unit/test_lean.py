"""The lean event and inbox behave as the asyncio classes they stand in for."""

from __future__ import annotations

import asyncio

import pytest

from desktopchat.server.lean import Inbox, LazyEvent


async def test_an_event_wakes_every_waiter_and_holds_nothing_after() -> None:
    event = LazyEvent()
    assert not event.is_set()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert event.is_set()
    assert await event.wait() is True  # set: no waiting at all
    assert event._waiting is None
    event.clear()
    assert not event.is_set()
    assert "unset" in repr(event)


async def test_a_cancelled_waiter_leaves_the_event_usable() -> None:
    event = LazyEvent()
    gone = asyncio.create_task(event.wait())
    stays = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    event.set()
    event.set()  # twice: nothing more to wake
    assert await stays is True
    assert "set" in repr(event)


async def test_the_inbox_hands_items_out_in_order_and_wakes_its_reader() -> None:
    inbox: Inbox[str] = Inbox()
    assert inbox.empty()
    assert inbox.qsize() == 0
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("a")
    inbox.put_nowait("b")
    assert await reader == "a"
    assert inbox.qsize() == 1
    assert await inbox.get() == "b"
    assert inbox.empty()


async def test_the_inbox_has_one_reader_at_a_time_and_survives_a_cancelled_one() -> None:
    inbox: Inbox[int] = Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader"):
        await inbox.get()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    inbox.put_nowait(1)
    assert await inbox.get() == 1
