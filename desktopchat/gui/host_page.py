"""The Host form: room, name, port, who may join, token, history; Start shows progress."""

from __future__ import annotations

import secrets

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktopchat.gui.forms import busy_bar, button_row, centred_column, error_label, is_enter
from desktopchat.gui.hosting import HostOptions
from desktopchat.protocol import DEFAULT_PORT, ROOM_NAME_RULE, valid_room_name


class HostPage(QWidget):
    """Asks how to host; emits ``hostRequested(HostOptions)``."""

    hostRequested = Signal(object)
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel("Host a room")
        heading.setObjectName("heading")

        self.room = QLineEdit("chat")
        self.room.setPlaceholderText("letters, digits, . _ -")
        self.name = QLineEdit()
        self.name.setPlaceholderText("How others see you")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.who = QComboBox()
        self.who.addItem("Everyone on my network (LAN)", True)
        self.who.addItem("This computer only", False)
        self.token = QLineEdit()
        self.token.setPlaceholderText("Optional: members must know it to join")
        generate = QPushButton("Generate")
        generate.setToolTip("Make a random token")
        generate.clicked.connect(lambda: self.token.setText(secrets.token_urlsafe(9)))
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(generate)
        self.history = QCheckBox("Keep the room's history on this computer")
        self.history.setChecked(True)
        # Shown only when a room that had a token comes back without it (no keyring): its
        # old links and anyone else would get in, so that takes the user's word.
        self.open_anyway = QCheckBox("Host it without a token: anyone who can reach it joins")
        self.open_anyway.hide()
        self._had_token = False

        form = QFormLayout()
        form.addRow("Room name", self.room)
        form.addRow("Your name", self.name)
        form.addRow("Port", self.port)
        form.addRow("Who may join", self.who)
        form.addRow("Token", token_row)
        form.addRow("", self.history)
        form.addRow("", self.open_anyway)

        self.error = error_label()
        self.progress = busy_bar()
        buttons, self.start = button_row(self.back.emit, "Start hosting", self._submit)
        centred_column(self, heading, form, self.error, self.progress, buttons)

    def options(self) -> HostOptions:
        """The form's answers."""
        return HostOptions(
            room=self.room.text().strip() or "chat",
            name=self.name.text().strip(),
            port=self.port.value(),
            lan=bool(self.who.currentData()),
            token=self.token.text().strip() or None,
            history=self.history.isChecked(),
        )

    def fill(self, options: HostOptions, hint: str = "", *, had_token: bool = False) -> None:
        """Put ``options`` in the form (re-hosting a recent room); ``hint`` under it.
        ``had_token``: the room had a token, so it is not opened without one unless the
        user says so."""
        self._had_token = had_token and options.token is None
        self.open_anyway.setChecked(False)
        self.open_anyway.setVisible(self._had_token)
        self.room.setText(options.room)
        if options.port:
            self.port.setValue(options.port)
        self.who.setCurrentIndex(0 if options.lan else 1)
        self.token.setText(options.token or "")
        self.error.setText(hint)
        self.error.setVisible(bool(hint))

    def set_busy(self, busy: bool) -> None:
        """Show progress and lock the form while the server starts."""
        self.progress.setVisible(busy)
        self.start.setEnabled(not busy)

    def show_error(self, message: str, suggested_port: int = 0) -> None:
        """Show why hosting failed; offer a free port when the chosen one is taken."""
        if suggested_port:
            self.port.setValue(suggested_port)
            message += f" — port {suggested_port} is free and has been filled in."
        self.error.setText(message)
        self.error.show()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter in any field starts hosting."""
        if is_enter(event) and self.start.isEnabled():
            self._submit()
            return
        super().keyPressEvent(event)

    def _submit(self) -> None:
        options = self.options()
        if not valid_room_name(options.room):
            self.show_error(f"Room names use {ROOM_NAME_RULE}.")
            return
        if self._had_token and options.token is None and not self.open_anyway.isChecked():
            self.show_error(
                "This room had a token. Type it (or Generate a new one: the old links then "
                "stop working), or tick “Host it without a token” to open it to anyone."
            )
            self.token.setFocus()
            return
        self.error.hide()
        self.hostRequested.emit(options)
