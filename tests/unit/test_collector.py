"""The collector's setting for a process holding many long-lived connections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from desktopchat.server.web.collector import MIDDLE_COLLECTIONS_PER_FULL, hold_long_lived


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


def test_full_collections_come_a_tenth_as_often_and_young_ones_as_before(
    thresholds: tuple[int, int, int],
) -> None:
    hold_long_lived()
    young, middle, full = gc.get_threshold()
    assert (young, middle) == thresholds[:2]
    assert full == MIDDLE_COLLECTIONS_PER_FULL == 10 * 10


def test_a_cycle_is_still_collected_without_asking(thresholds: tuple[int, int, int]) -> None:
    hold_long_lived()

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    before = gc.get_stats()[0]["collections"]
    for _ in range(10 * thresholds[0]):  # past the youngest generation's threshold
        Cycle()
    assert gc.get_stats()[0]["collections"] > before
