"""The box a message is written in: Enter sends, Shift+Enter starts a new line."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 6
"""The box grows with its text up to this many lines, then scrolls."""


class Composer(QPlainTextEdit):
    """A message being written. ``submitted`` on Enter; Shift+Enter inserts a line break."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def text(self) -> str:
        """What has been written."""
        return self.toPlainText()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter (either key, without Shift) sends; everything else edits."""
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        if enter:
            self.insertPlainText("\n")
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        """Refit when the font changes (text size follows Ctrl+plus/minus)."""
        super().changeEvent(event)
        self._fit()

    def _fit(self) -> None:
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = 2 * self.frameWidth() + margins.top() + margins.bottom()
        spacing = self.fontMetrics().lineSpacing()
        self.setFixedHeight(lines * spacing + frame + 2 * int(self.document().documentMargin()))
