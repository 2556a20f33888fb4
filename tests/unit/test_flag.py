"""The writability flag of a WebSocket connection behaves as the asyncio event it stands in
for, and holds no list of waiters while nobody waits."""

from __future__ import annotations

import asyncio

from desktopchat.server.web.websocket_protocol import Flag


async def test_a_flag_wakes_every_waiter_and_holds_nothing_after() -> None:
    flag = Flag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    await asyncio.gather(*waiters)
    assert flag.is_set()
    await flag.wait()  # set: no waiting at all
    assert flag._waiters is None
    flag.clear()
    assert not flag.is_set()


async def test_a_cancelled_waiter_leaves_the_flag_usable() -> None:
    flag = Flag()
    gone = asyncio.create_task(flag.wait())
    stays = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    assert flag._waiters is not None
    assert len(flag._waiters) == 1
    flag.set()
    await stays
    assert gone.cancelled()
