"""The Join form: address, name, token; errors appear next to the field at fault."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QWidget,
)

from desktopchat.client.raw import RawOptions
from desktopchat.gui.forms import busy_bar, button_row, centred_column, error_label, is_enter
from desktopchat.gui.found_rooms import FoundRoomsModel
from desktopchat.gui.raw_fields import RawFields
from desktopchat.gui.saved_panel import parse_variables

LOOKING = "Looking for rooms on your network…"
NONE_FOUND = "No rooms found on your network. Type the address the host gave you below."
SEARCH_MS = 4000


class JoinPage(QWidget):
    """Asks where to join; emits ``joinRequested(address, name, token)``."""

    joinRequested = Signal(str, str, str)
    rawJoinRequested = Signal(str, object, object)  # address, RawOptions, variables (dict)
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
        self.found_hint = QLabel(LOOKING)
        self.found_hint.setObjectName("hint")
        self.found.modelReset.connect(self._found_changed)
        # Rooms answer within a second or two; after this long, "looking" means "none".
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_MS)
        self.search_timer.timeout.connect(self._found_changed)
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
        self.errors = {"address": error_label(), "token": error_label(), "": error_label()}
        self.raw_fields = RawFields()
        # A plain WebSocket has no room: no name to be shown under, no room token.
        self.raw_fields.raw.toggled.connect(lambda raw: self.name.setDisabled(raw))
        self.raw_fields.raw.toggled.connect(lambda raw: self.token.setDisabled(raw))
        self.offer_raw = QPushButton("Connect as a plain WebSocket")
        self.offer_raw.setToolTip("Show this server's frames as they are, in the three panes")
        self.offer_raw.clicked.connect(self._connect_raw)
        self.offer_raw.hide()

        form = QFormLayout()
        form.addRow("Address", self.address)
        form.addRow("", self.errors["address"])
        form.addRow("", self.offer_raw)
        form.addRow("Your name", self.name)
        form.addRow("Token", self.token)
        form.addRow("", self.errors["token"])
        form.addRow("", self.raw_fields)

        self.progress = busy_bar()
        buttons, self.join = button_row(self.back.emit, "Join", self._submit)
        centred_column(
            self,
            heading,
            found_label,
            self.found_view,
            self.found_hint,
            typed_label,
            form,
            self.errors[""],
            self.progress,
            buttons,
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter in any field joins."""
        if is_enter(event) and self.join.isEnabled():
            self._submit()
            return
        super().keyPressEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        """Each visit looks afresh: "looking…" until rooms answer or the search times out."""
        super().showEvent(event)
        self.search_timer.start()
        self._found_changed()

    def _found_changed(self) -> None:
        empty = self.found.rowCount() == 0
        self.found_view.setVisible(not empty)
        if not empty:
            self.found_hint.setText("Double-click a room to join.")
        elif self.search_timer.isActive():
            self.found_hint.setText(LOOKING)
        else:
            self.found_hint.setText(NONE_FOUND)

    def _found_chosen(self, index: QModelIndex) -> None:
        room = self.found.room_at(index.row())
        self.address.setText(room.url)
        if room.token_required and not self.token.text():
            self.show_error("token", "This room needs a token: ask its host.")
            self.token.setFocus()
            return
        self._submit()

    def fill(self, address: str, name: str, token: str = "", hint: str = "") -> None:
        """Prefill the form (from a recent room: a room, not a plain WebSocket); ``hint``
        under the token."""
        self.clear_errors()
        self.raw_fields.raw.setChecked(False)
        self.address.setText(address)
        if name:
            self.name.setText(name)
        self.token.setText(token)
        if hint:
            self.show_error("token", hint)

    def fill_raw(
        self, address: str, options: RawOptions, variables: dict[str, str], hint: str = ""
    ) -> None:
        """Prefill the form with a saved plain WebSocket connection and its endpoint's
        ``variables``; ``hint`` below it."""
        self.clear_errors()
        self.address.setText(address)
        self.raw_fields.fill(options, variables)
        if hint:
            self.show_error("", hint)

    def set_busy(self, busy: bool) -> None:
        """Show progress and lock the form while joining."""
        self.progress.setVisible(busy)
        self.join.setEnabled(not busy)

    def show_error(self, field: str, message: str, detail: str = "") -> None:
        """Show ``message`` under ``field`` ("address", "token", or "" for the form), with
        the technical ``detail`` (a code, an OS error) smaller below it."""
        self.clear_errors()
        # Something answers, but not a room: offer to talk to it as it is.
        self.offer_raw.setVisible(field == "not-a-room")
        field = "address" if field == "not-a-room" else field
        label = self.errors.get(field, self.errors[""])
        text = html.escape(message[:1].upper() + message[1:])
        if detail:
            text += f"<br><small>Details: {html.escape(detail)}</small>"
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setText(text)
        label.setToolTip(detail)
        label.show()

    def clear_errors(self) -> None:
        """Hide every error."""
        for label in self.errors.values():
            label.hide()
        self.offer_raw.hide()

    def _submit(self) -> None:
        address = self.address.text().strip()
        if not address:
            self.show_error("address", "Type the address the host gave you.")
            return
        self.clear_errors()
        if self.raw_fields.raw.isChecked():
            self._connect_raw()
            return
        self.joinRequested.emit(address, self.name.text().strip(), self.token.text())

    def _connect_raw(self) -> None:
        self.raw_fields.raw.setChecked(True)
        try:
            options = self.raw_fields.options()
        except ValueError as exc:
            self.raw_fields.toggle.setChecked(True)
            self.show_error("", str(exc))
            return
        self.clear_errors()
        variables = parse_variables(self.raw_fields.variables.toPlainText())
        self.rawJoinRequested.emit(self.address.text().strip(), options, variables)
