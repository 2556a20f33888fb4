"""Labels that never widen their window: a one-line label whose text, longer than the room
it has, is cut with an ellipsis (the whole text is its tooltip), and wrapping labels that ask
for no width of their own.

A plain ``QLabel`` asks for the width of its whole text; one long status message, file name
or link then raised the window's minimum width past the screen, putting *Send* and the
close button out of reach.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """A plain-text, one-line :class:`QLabel` that elides instead of growing."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text`` (cut to fit); the whole of it is the tooltip."""
        super().setText(text)
        self.setToolTip(text if text else "")

    def minimumSizeHint(self) -> QSize:
        """As tall as a line, as narrow as nothing."""
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the text cut with "…" at the right to the width the label has."""
        painter = QPainter(self)
        area = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, area.width()
        )
        painter.drawText(area, int(self.alignment()), shown)


def wrapping(label: QLabel) -> QLabel:
    """Make ``label`` wrap its words and ask for no width of its own: a long word (a
    fingerprint, a path) is cut at the edge rather than widening the window."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
