"""The Text pane: the conversation (sender, time, pending/delivered mark) and a line to type in."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.panes.message_list import message_list
from desktopchat.gui.panes.message_model import MessageListModel


class TextPane(QWidget):
    """The conversation and the line to type in; Enter sends."""

    sendRequested = Signal(str)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view, self.proxy = message_list(model, self)

        self.entry = QLineEdit()
        self.entry.setPlaceholderText("Write a message and press Enter")
        self.entry.returnPressed.connect(self._send)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self._send)

        typing = QHBoxLayout()
        typing.addWidget(self.entry, 1)
        typing.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(typing)

    def set_filter(self, text: str) -> None:
        """Show only messages whose sender or text contains ``text`` (any case)."""
        self.proxy.setFilterFixedString(text)

    def _send(self) -> None:
        text = self.entry.text()
        if text.strip():
            self.sendRequested.emit(text)
            self.entry.clear()
