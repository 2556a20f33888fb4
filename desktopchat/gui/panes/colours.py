"""Sender colours that stay apart in a room of ten and read on light and dark themes."""

from __future__ import annotations

from PySide6.QtGui import QColor

_GOLDEN_ANGLE = 137.508  # degrees: consecutive hues as far apart as they can stay


class SenderColours:
    """A colour per sender, by order of first appearance, hues spread by the golden angle.

    A hash of the name into a fixed palette gives two of ten members the same colour more
    often than not; handing out hues in turn keeps a room of ten (and more) distinct.
    """

    def __init__(self) -> None:
        self._order: dict[str, int] = {}

    def colour(self, name: str, background: QColor) -> QColor:
        """``name``'s colour, readable on ``background`` (lighter on a dark one)."""
        turn = self._order.setdefault(name, len(self._order))
        hue = (210 + turn * _GOLDEN_ANGLE) % 360 / 360
        dark = background.lightness() < 128
        # Every eighth sender also steps in lightness, so that hues that come round again differ.
        step = 0.08 * ((turn // 8) % 2)
        lightness = (0.70 - step) if dark else (0.38 + step)
        return QColor.fromHslF(hue, 0.70, lightness)

    def clear(self) -> None:
        """Start over (a new room)."""
        self._order.clear()
