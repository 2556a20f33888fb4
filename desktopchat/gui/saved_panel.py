"""Saved messages of a raw connection's endpoint: send one with a click, save what is being
written, and the ``{{variables}}`` they may use."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client.saved import BUILT_IN, Endpoint, SavedMessage, SavedMessages
from desktopchat.gui.elided import wrapping


def parse_variables(text: str) -> dict[str, str]:
    """``name = value`` lines as a dict (blank lines and lines without ``=`` are skipped)."""
    variables: dict[str, str] = {}
    for line in text.splitlines():
        name, equals, value = line.partition("=")
        if equals and name.strip():
            variables[name.strip()] = value.strip()
    return variables


class SavedPanel(QWidget):
    """Emits ``sendRequested(kind, body)`` with the variables filled in, and
    ``saveWanted(name)`` when the user wants what is being written kept under ``name``."""

    sendRequested = Signal(str, str)
    saveWanted = Signal(str)

    def __init__(self, store: SavedMessages | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.endpoint = Endpoint()
        title = QLabel("Saved messages")
        title.setObjectName("section")
        self.list = QListWidget()
        self.list.setObjectName("saved")
        self.list.itemActivated.connect(lambda _item: self._send())
        send = QPushButton("Send")
        send.clicked.connect(self._send)
        delete = QPushButton("Delete")
        delete.clicked.connect(self._delete)
        self.name = QLineEdit()
        self.name.setPlaceholderText("Name for what you are writing")
        keep = QPushButton("Save")
        keep.setToolTip("Keep the text or JSON being written under this name")
        keep.clicked.connect(lambda: self.saveWanted.emit(self.name.text().strip()))
        self.variables = QPlainTextEdit()
        self.variables.setPlaceholderText(
            "user = ada\n(and always: " + ", ".join(f"{{{{{n}}}}}" for n in BUILT_IN) + ")"
        )
        self.variables.setMaximumHeight(70)
        self.variables.textChanged.connect(self._variables_changed)
        self.status = wrapping(QLabel())
        self.status.setObjectName("hint")
        buttons = QHBoxLayout()
        buttons.addWidget(send)
        buttons.addWidget(delete)
        naming = QHBoxLayout()
        naming.addWidget(self.name, 1)
        naming.addWidget(keep)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(naming)
        layout.addWidget(QLabel("Variables"))
        layout.addWidget(self.variables)
        layout.addWidget(self.status)

    def endpoint_of(self, address: str) -> Endpoint:
        """What is kept for the endpoint at ``address`` (as typed: ``{{variables}}`` and all)."""
        self._store = self._store or SavedMessages()
        return self._store.of(address if "://" in address else f"ws://{address}")

    def set_variables(self, address: str, variables: dict[str, str]) -> Endpoint:
        """Add ``variables`` (typed on the Join form) to the endpoint at ``address``, kept
        for next time (the panel beside the panes removes them); the endpoint."""
        endpoint = self.endpoint_of(address)
        if variables.items() - endpoint.variables.items():
            endpoint.variables.update(variables)
            self._write("")
        return endpoint

    def show_endpoint(self, url: str) -> None:
        """Show what is kept for ``url``'s endpoint."""
        self.endpoint = self.endpoint_of(url)
        self.variables.blockSignals(True)
        self.variables.setPlainText(
            "\n".join(f"{name} = {value}" for name, value in self.endpoint.variables.items())
        )
        self.variables.blockSignals(False)
        self._refill()

    def keep(self, name: str, kind: str, body: str) -> None:
        """Keep ``body`` as ``name`` (replacing one of the same name)."""
        if not name or not body.strip():
            self.status.setText("Write something and give it a name to save it.")
            return
        messages = [m for m in self.endpoint.messages if m.name != name]
        self.endpoint.messages = [*messages, SavedMessage(name, body, kind)]
        self._write(f"Saved “{name}”.")
        self.name.clear()
        self._refill()

    def _refill(self) -> None:
        self.list.clear()
        for message in self.endpoint.messages:
            item = QListWidgetItem(f"{message.name}  ({message.kind})")
            item.setToolTip(message.body)
            item.setData(Qt.ItemDataRole.UserRole, message)
            self.list.addItem(item)

    def _current(self) -> SavedMessage | None:
        item = self.list.currentItem()
        message = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return message if isinstance(message, SavedMessage) else None

    def _send(self) -> None:
        message = self._current()
        if message is None:
            self.status.setText("Pick a saved message to send.")
            return
        try:
            body = self.endpoint.expand(message.body)
        except ValueError as exc:
            self.status.setText(f"Not sent: {exc}")
            return
        self.status.setText(f"Sent “{message.name}”.")
        self.sendRequested.emit(message.kind, body)

    def _delete(self) -> None:
        message = self._current()
        if message is None:
            return
        self.endpoint.messages = [m for m in self.endpoint.messages if m is not message]
        self._write(f"Deleted “{message.name}”.")
        self._refill()

    def _variables_changed(self) -> None:
        self.endpoint.variables = parse_variables(self.variables.toPlainText())
        self._write("")

    def _write(self, done: str) -> None:
        if self._store is None:
            return
        try:
            self._store.save()
        except OSError as exc:
            self.status.setText(f"Could not save: {exc.strerror or exc}")
            return
        self.status.setText(done)
