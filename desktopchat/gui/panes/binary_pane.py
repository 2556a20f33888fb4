"""The Binary pane: every file or blob, a hex + ASCII view, an image preview, Save as…,
Send file… and drag and drop, with a progress bar for large payloads."""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontDatabase, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client.frames import parse_bytes
from desktopchat.gui.elided import ElidedLabel
from desktopchat.gui.panes.hex_model import HexModel
from desktopchat.gui.panes.message_list import message_list
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageListModel, MessageRow
from desktopchat.gui.places import open_folder, save_path
from desktopchat.protocol.files import safe_file_name
from desktopchat.protocol.sizes import human_size

_NOTHING_SELECTED = "Select a message to see its bytes"
_DROP_HERE = "Drop files here to send them"


BASE64_SHOWN = 64 * 1024
"""Bytes of the selected message shown as base64 (the hex view and Save as… have them all)."""


class BinaryPane(QWidget):
    """Binary messages; emits ``sendFileRequested(path)`` for files to send and
    ``sendBytesRequested(bytes)`` for bytes typed as hex or base64."""

    sendFileRequested = Signal(str)
    sendBytesRequested = Signal(bytes)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.current: MessageRow | None = None
        self.view, self.proxy = message_list(model, self)
        self.view.selectionModel().selectionChanged.connect(self._selected)
        model.modelReset.connect(self.clear_detail)

        self.hex_model = HexModel(self)
        self.hex = QTableView()
        self.hex.setModel(self.hex_model)
        self.hex.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.hex.verticalHeader().hide()
        header = self.hex.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.hex.verticalHeader().setDefaultSectionSize(20)

        self.preview = QLabel(_NOTHING_SELECTED)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setObjectName("hint")
        self.preview.setMinimumHeight(120)
        self._pixmap: QPixmap | None = None

        # The hex dump needs the full width (offset, 16 bytes, their ASCII); list and
        # preview share the row above it.
        browse = QSplitter()
        browse.addWidget(self.view)
        browse.addWidget(self.preview)
        browse.setSizes([360, 360])
        self.base64 = QLineEdit()
        self.base64.setReadOnly(True)
        self.base64.setPlaceholderText("base64 of the selected message")
        dump = QWidget()
        dump_layout = QVBoxLayout(dump)
        dump_layout.setContentsMargins(0, 0, 0, 0)
        dump_layout.addWidget(self.hex, 1)
        dump_layout.addWidget(self.base64)
        detail = QSplitter(Qt.Orientation.Vertical)
        detail.addWidget(browse)
        detail.addWidget(dump)
        detail.setSizes([260, 300])

        self.encoding = QComboBox()
        self.encoding.addItems(["hex", "base64"])
        self.typed = QLineEdit()
        self.typed.setPlaceholderText("Bytes to send: 48 65 6c 6c 6f, or base64")
        self.typed.returnPressed.connect(self._send_typed)
        self.send_typed = send_typed = QPushButton("Send bytes")
        send_typed.clicked.connect(self._send_typed)
        typing = QHBoxLayout()
        typing.addWidget(self.encoding)
        typing.addWidget(self.typed, 1)
        typing.addWidget(send_typed)

        self.save_button = QPushButton("Save as…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.ask_where_to_save)
        self.send_button = send = QPushButton("Send file…")
        send.clicked.connect(self._ask_what_to_send)
        self.status = ElidedLabel(_DROP_HERE)
        self.status.setObjectName("hint")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.save_button)
        bottom.addWidget(send)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(detail, 1)
        layout.addLayout(typing)
        layout.addLayout(bottom)

    def set_filter(self, text: str) -> None:
        """Show only messages whose sender, name or type contains ``text``."""
        self.proxy.setFilterFixedString(text)

    def show_progress(self, sent: int, total: int) -> None:
        """Progress of a file being sent; hidden once it is all out."""
        done = total <= 0 or sent >= total
        self.progress.setVisible(not done)
        if not done:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(sent * 1000 / total))

    def show_limit(self, largest: int) -> None:
        """Say, where files are picked, how big a file the room takes."""
        words = f"up to {human_size(largest)}"
        self.status.setText(f"{_DROP_HERE} ({words})")
        self.send_button.setToolTip(f"Send a file to the room ({words})")

    def set_waiting(self, waiting: bool) -> None:
        """Hold sending (the room has yet to take earlier messages); typed bytes stay."""
        self.send_button.setEnabled(not waiting)
        self.send_typed.setEnabled(not waiting)

    def forget(self) -> None:
        """Start afresh for another room or endpoint: no typed bytes, no old status."""
        self.typed.clear()
        self.status.setText(_DROP_HERE)
        self.progress.hide()
        self.clear_detail()

    def show_send_error(self, message: str) -> None:
        """Say why a file was not sent."""
        self.status.setText(f"Not sent: {message}")

    def show_row(self, row: MessageRow) -> None:
        """Show ``row``'s bytes, and the picture when they are one."""
        self.current = row
        self.save_button.setEnabled(True)
        self.hex_model.set_bytes(row.payload)
        shown = base64.b64encode(row.payload[:BASE64_SHOWN]).decode()
        more = len(row.payload) > BASE64_SHOWN
        self.base64.setText(shown + (" …" if more else ""))
        pixmap = QPixmap()
        if pixmap.loadFromData(row.payload):
            self._pixmap = pixmap
            self._fit_preview()
        else:
            self._pixmap = None
            self.preview.setPixmap(QPixmap())
            what = row.mime or "data"
            self.preview.setText(f"{row.name or 'bytes'} — {what}, no preview")

    def clear_detail(self) -> None:
        """Show no message (the list was emptied: we left the room)."""
        self.current = None
        self._pixmap = None
        self.save_button.setEnabled(False)
        self.hex_model.set_bytes(b"")
        self.base64.clear()
        self.preview.setPixmap(QPixmap())
        self.preview.setText(_NOTHING_SELECTED)

    def save_to(self, path: str) -> bool:
        """Write the selected message's bytes to ``path``; report failure in the pane."""
        if self.current is None or not path:
            return False
        try:
            Path(path).write_bytes(self.current.payload)
        except OSError as exc:
            self.status.setText(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self.status.setText(f"Saved {Path(path).name}")
        return True

    # -- dialogs: open(), never exec(): a nested loop would stall asyncio under qasync ----------

    def ask_where_to_save(self) -> None:
        """Ask where to save the selected message's bytes (a dialog that does not block)."""
        if self.current is None:
            return
        # The sender chose the name: only a cleaned last component may suggest where to save.
        name = safe_file_name(self.current.name, "message.bin")
        dialog = QFileDialog(self, "Save as", save_path(name))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.save_to)
        dialog.open()

    def _send_typed(self) -> None:
        if not self.send_typed.isEnabled():  # Enter while sending waits
            return
        try:
            payload = parse_bytes(self.typed.text(), self.encoding.currentText())
        except ValueError as exc:
            self.status.setText(f"Not sent: {exc}")
            return
        if not payload:
            self.status.setText("Type the bytes to send first")
            return
        self.sendBytesRequested.emit(payload)
        self.typed.clear()
        self.status.setText(f"Sending {human_size(len(payload))}")

    def _ask_what_to_send(self) -> None:
        dialog = QFileDialog(self, "Send file", open_folder())
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.sendFileRequested)
        dialog.open()

    # -- drag and drop ------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        for path in files:
            self.sendFileRequested.emit(path)
        if files:
            event.acceptProposedAction()

    # -- internals ----------------------------------------------------------------------------

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            row = indexes[0].data(ROW_ROLE)
            if row is not None:
                self.show_row(row)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_preview()

    def _fit_preview(self) -> None:
        if self._pixmap is None:
            return
        size = self.preview.size()
        self.preview.setPixmap(
            self._pixmap.scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
