"""The host's per-member file transfer limits, on a clock of the test's own."""

from __future__ import annotations

import pytest

from desktopchat.server.web.transfers import TooManyTransfers, Transfers


async def test_a_member_over_its_count_is_refused_in_words_and_others_are_not() -> None:
    transfers = Transfers(rate=0, at_once=2, clock=lambda: 0.0)
    first, second = transfers.start("10.0.0.2"), transfers.start("10.0.0.2")
    with pytest.raises(TooManyTransfers, match="2 file transfers under way, the most"):
        transfers.start("10.0.0.2")
    transfers.start("10.0.0.3").done()
    first.done()
    first.done()  # twice is once
    transfers.start("10.0.0.2").done()
    second.done()
    assert transfers.describe() == "2 file transfers at once per member, no rate limit"


async def test_a_member_over_its_rate_is_paced_up_and_down_together() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    mib = 1024 * 1024
    transfers = Transfers(rate=2 * mib, at_once=4, clock=lambda: now[0], sleep=sleep)
    up, down = transfers.start("10.0.0.2"), transfers.start("10.0.0.2")
    await up.moved(2 * mib)  # the burst: a second's worth
    assert waits == []
    await down.moved(mib)
    await up.moved(mib)
    assert waits == [0.5, 0.5], "both directions draw on one budget"
    assert now[0] == 1.0
    other = transfers.start("10.0.0.3")
    await other.moved(2 * mib)
    assert len(waits) == 2, "another member has its own"
    assert transfers.describe().endswith("2.0 MiB/s")
