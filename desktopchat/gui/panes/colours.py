"""Sender colours that stay apart in a room of ten and read on light and dark themes."""

from __future__ import annotations

import hashlib

from PySide6.QtGui import QColor

_GOLDEN_ANGLE = 137.508  # degrees: consecutive hues as far apart as they can stay

SLOTS = 16
"""Distinct colours: 8 hues apart by the golden angle, each in two lightnesses."""


class SenderColours:
    """A colour per sender, the same from one session to the next, distinct in a room of ten.

    Each name has a slot of its own among :data:`SLOTS` (from a hash of the name, so that
    ada is the same colour tomorrow), and hues are spread over the slots by the golden
    angle. A hash alone gives two of ten members the same colour more often than not: a
    name whose slot is taken in this room takes the next free one.
    """

    def __init__(self) -> None:
        self._order: dict[str, int] = {}
        self._taken: set[int] = set()

    def _slot(self, name: str) -> int:
        slot = self._order.get(name)
        if slot is None:
            slot = int.from_bytes(hashlib.blake2s(name.encode(), digest_size=4).digest()) % SLOTS
            while slot in self._taken and len(self._taken) < SLOTS:
                slot = (slot + 1) % SLOTS
            self._taken.add(slot)
            self._order[name] = slot
        return slot

    def colour(self, name: str, background: QColor) -> QColor:
        """``name``'s colour, readable on ``background`` (lighter on a dark one)."""
        turn = self._slot(name)
        hue = (210 + turn * _GOLDEN_ANGLE) % 360 / 360
        dark = background.lightness() < 128
        # The second eight slots step in lightness (away from the background), so that
        # hues that come round again differ.
        step = 0.08 * ((turn // 8) % 2)
        lightness = (0.70 + step) if dark else (0.38 - step)
        return QColor.fromHslF(hue, 0.70, lightness)

    def clear(self) -> None:
        """Start over (a new room)."""
        self._order.clear()
        self._taken.clear()
