"""The Text pane: the conversation (sender, time, pending/delivered mark) and a box to write in."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.panes.composer import Composer
from desktopchat.gui.panes.message_list import message_list
from desktopchat.gui.panes.message_model import MessageListModel, MessageRow

QUOTED_CHARS = 200
"""How much of a message a reply quotes."""


def quotation(row: MessageRow) -> str:
    """The lines a reply to ``row`` starts with: ``> sender: text`` (cut short), then a blank."""
    text = " ".join(row.summary().split())
    if len(text) > QUOTED_CHARS:
        text = text[: QUOTED_CHARS - 1] + "…"
    return f"> {row.sender}: {text}\n"


class TextPane(QWidget):
    """The conversation and the box to write in; Enter sends, Shift+Enter starts a new line."""

    sendRequested = Signal(str)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view, self.proxy = message_list(model, self)

        self.entry = Composer()
        self.entry.setPlaceholderText("Write a message: Enter sends, Shift+Enter for a new line")
        self.entry.submitted.connect(self._send)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self._send)

        typing = QHBoxLayout()
        typing.addWidget(self.entry, 1)
        typing.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(typing)

    def set_waiting(self, waiting: bool) -> None:
        """Hold sending (the room has yet to take earlier messages); the draft stays."""
        self.send_button.setEnabled(not waiting)

    def forget(self) -> None:
        """Start afresh for another room or endpoint: no draft."""
        self.entry.clear()

    def set_filter(self, text: str) -> None:
        """Show only messages whose sender or text contains ``text`` (any case)."""
        self.proxy.setFilterFixedString(text)

    def quote(self, row: MessageRow) -> None:
        """Start a reply to ``row``: its first words quoted above what is being written."""
        self.entry.setPlainText(quotation(row) + self.entry.text())
        self.entry.moveCursor(QTextCursor.MoveOperation.End)
        self.entry.setFocus()

    def _send(self) -> None:
        text = self.entry.text()
        if text.strip() and self.send_button.isEnabled():
            # Cleared first: a listener that refuses the text puts it back.
            self.entry.clear()
            self.sendRequested.emit(text)
