"""The Join form: address, name, token; errors appear next to the field at fault."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.found_rooms import FoundRoomsModel


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setWordWrap(True)
    label.hide()
    return label


class JoinPage(QWidget):
    """Asks where to join; emits ``joinRequested(address, name, token)``."""

    joinRequested = Signal(str, str, str)
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel("Join a room")
        heading.setObjectName("heading")
        self.found = FoundRoomsModel(self)
        self.found_view = QListView()
        self.found_view.setObjectName("found")
        self.found_view.setModel(self.found)
        self.found_view.setMaximumHeight(150)
        self.found_view.doubleClicked.connect(self._found_chosen)
        self.found_hint = QLabel("Looking for rooms on your network…")
        self.found_hint.setObjectName("hint")
        self.found.modelReset.connect(self._found_changed)
        found_label = QLabel("Rooms on your network")
        found_label.setObjectName("section")
        typed_label = QLabel("Or type the address")
        typed_label.setObjectName("section")
        self.address = QLineEdit()
        self.address.setPlaceholderText("192.168.1.20, host:5042 or ws://host:5042/chat/room")
        self.name = QLineEdit()
        self.name.setPlaceholderText("How others see you")
        self.token = QLineEdit()
        self.token.setPlaceholderText("Only if the room has one")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.errors = {"address": _error_label(), "token": _error_label(), "": _error_label()}

        form = QFormLayout()
        form.addRow("Address", self.address)
        form.addRow("", self.errors["address"])
        form.addRow("Your name", self.name)
        form.addRow("Token", self.token)
        form.addRow("", self.errors["token"])

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        back = QPushButton("Back")
        back.clicked.connect(self.back)
        self.join = QPushButton("Join")
        self.join.setObjectName("primary")
        self.join.setDefault(True)
        self.join.clicked.connect(self._submit)
        self.address.returnPressed.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(self.join)

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(heading)
        column.addWidget(found_label)
        column.addWidget(self.found_view)
        column.addWidget(self.found_hint)
        column.addWidget(typed_label)
        column.addLayout(form)
        column.addWidget(self.errors[""])
        column.addWidget(self.progress)
        column.addLayout(buttons)
        column.addStretch(2)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 2)
        outer.addStretch(1)

    def _found_changed(self) -> None:
        empty = self.found.rowCount() == 0
        self.found_view.setVisible(not empty)
        self.found_hint.setText(
            "No rooms announced on your network yet." if empty else "Double-click a room to join."
        )

    def _found_chosen(self, index: QModelIndex) -> None:
        room = self.found.room_at(index.row())
        self.address.setText(room.url)
        if room.token_required and not self.token.text():
            self.show_error("token", "This room needs a token: ask its host.")
            self.token.setFocus()
            return
        self._submit()

    def fill(self, address: str, name: str) -> None:
        """Prefill the form (from a recent room)."""
        self.address.setText(address)
        if name:
            self.name.setText(name)

    def set_busy(self, busy: bool) -> None:
        """Show progress and lock the form while joining."""
        self.progress.setVisible(busy)
        self.join.setEnabled(not busy)

    def show_error(self, field: str, message: str) -> None:
        """Show ``message`` under ``field`` ("address", "token", or "" for the form)."""
        self.clear_errors()
        label = self.errors.get(field, self.errors[""])
        label.setText(message)
        label.show()

    def clear_errors(self) -> None:
        """Hide every error."""
        for label in self.errors.values():
            label.hide()

    def _submit(self) -> None:
        address = self.address.text().strip()
        if not address:
            self.show_error("address", "Type the address the host gave you.")
            return
        self.clear_errors()
        self.joinRequested.emit(address, self.name.text().strip(), self.token.text())
