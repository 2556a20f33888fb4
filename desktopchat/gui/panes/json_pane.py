"""The JSON pane: every JSON message, the selected one pretty-printed and as a tree, and an
editor that validates as you type (Ctrl+Enter sends)."""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.elided import ElidedLabel
from desktopchat.gui.panes.json_highlight import JsonHighlighter
from desktopchat.gui.panes.json_tree import JsonTreeModel
from desktopchat.gui.panes.message_list import message_list
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageListModel, MessageRow
from desktopchat.protocol import ProtocolError, loads


def json_problem(text: str) -> str | None:
    """``None`` when the protocol would send ``text`` as JSON, else where and what is wrong
    (``"line L, column C: what is wrong"`` for syntax errors).

    The rule is the protocol's (:func:`desktopchat.protocol.loads`): no NaN or Infinity,
    no nesting too deep to parse, so nothing the editor accepts is refused on sending.
    """
    try:
        loads(text)
    except ProtocolError as exc:
        cause = exc.__cause__
        if isinstance(cause, json.JSONDecodeError):
            return f"line {cause.lineno}, column {cause.colno}: {cause.msg}"
        return str(cause or exc)
    return None


_HINT = "Type JSON; Ctrl+Enter sends"


class JsonEditor(QPlainTextEdit):
    """A monospace editor whose Ctrl+Enter asks to send."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if ctrl and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class JsonPane(QWidget):
    """JSON messages and the JSON editor; emits ``sendRequested(text)`` for valid JSON only."""

    sendRequested = Signal(str)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fill: Callable[[str], str] = str
        """The editor's text as it will be sent (a raw connection fills in ``{{variables}}``
        first; ``ValueError`` names an unknown one): what is validated."""
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.view, self.proxy = message_list(model, self)
        self.view.selectionModel().selectionChanged.connect(self._selected)
        model.rowsAppended.connect(self._select_newest)
        model.modelReset.connect(self.clear_detail)

        self.pretty = QPlainTextEdit()
        self.pretty.setReadOnly(True)
        self.pretty.setFont(mono)
        self.pretty.setPlaceholderText("Select a JSON message to see it here")
        base = self.palette().color(QPalette.ColorRole.Base)
        self._pretty_colours = JsonHighlighter(self.pretty.document(), base)
        self.tree_model = JsonTreeModel()
        self.tree = QTreeView()
        self.tree.setModel(self.tree_model)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)

        detail = QSplitter(Qt.Orientation.Vertical)
        detail.addWidget(self.pretty)
        detail.addWidget(self.tree)
        browse = QSplitter()
        browse.addWidget(self.view)
        browse.addWidget(detail)
        browse.setSizes([320, 420])

        self.editor = JsonEditor()
        self.editor.setObjectName("jsonEditor")
        self.editor.setFont(mono)
        self.editor.setPlaceholderText('{"type": "update", "data": [1, 2, 3]}')
        self.editor.setMaximumHeight(130)
        self._editor_colours = JsonHighlighter(self.editor.document(), base)
        self.editor.textChanged.connect(self._validate)
        self.editor.submitted.connect(self._submit)
        self._waiting = False
        self.status = ElidedLabel(_HINT)
        self.status.setObjectName("hint")
        self.send_button = QPushButton("Send JSON")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self._submit)
        QShortcut(QKeySequence("Ctrl+Return"), self.editor, self._submit)

        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(browse, 1)
        layout.addWidget(self.editor)
        layout.addLayout(bottom)

    def set_filter(self, text: str) -> None:
        """Show only messages whose sender or JSON text contains ``text``."""
        self.proxy.setFilterFixedString(text)

    def clear_editor(self) -> None:
        """Empty the editor after a send."""
        self.editor.clear()

    def forget(self) -> None:
        """Start afresh for another room or endpoint: no draft, no old status."""
        self.editor.clear()
        self.status.setText(_HINT)
        self.clear_detail()

    def set_waiting(self, waiting: bool) -> None:
        """Hold sending (the room has yet to take earlier messages); the draft stays."""
        self._waiting = waiting
        self._validate()

    def show_send_error(self, message: str) -> None:
        """Say why the last JSON was not sent."""
        self.status.setText(f"Not sent: {message}")
        self.status.setObjectName("error")
        self._restyle()

    def _validate(self) -> bool:
        text = self.editor.toPlainText()
        unknown = ""
        try:
            problem = json_problem(self.fill(text)) if text.strip() else "empty"
        except ValueError as exc:
            problem = unknown = str(exc)
        self.send_button.setEnabled(problem is None and not self._waiting)
        if unknown:
            self.status.setText(f"Cannot send: {unknown}")
            self.status.setObjectName("error")
        elif not text.strip():
            self.status.setText("Type JSON; Ctrl+Enter sends")
            self.status.setObjectName("hint")
        elif problem is None:
            self.status.setText("Valid JSON — Ctrl+Enter sends")
            self.status.setObjectName("hint")
        else:
            self.status.setText(f"Invalid JSON at {problem}")
            self.status.setObjectName("error")
        self._restyle()
        return problem is None

    def _restyle(self) -> None:
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _submit(self) -> None:
        if self._validate() and not self._waiting:
            self.sendRequested.emit(self.editor.toPlainText())

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self.show_row(indexes[0].data(ROW_ROLE))

    def show_row(self, row: MessageRow | None) -> None:
        """Show ``row`` pretty-printed and as a tree."""
        if row is None:
            return
        self.pretty.setPlainText(json.dumps(row.data, indent=2, ensure_ascii=False))
        self.tree_model.show_value(row.data)
        self.tree.expandToDepth(1)
        self.tree.resizeColumnToContents(0)

    def clear_detail(self) -> None:
        """Show no message (the list was emptied: we left the room)."""
        self.pretty.clear()
        self.tree_model.clear_value()

    def _select_newest(self, _count: int) -> None:
        # Follow new messages only while the user has not picked one to look at.
        if self.view.selectionModel().hasSelection() or not self.proxy.rowCount():
            return
        last = self.proxy.index(self.proxy.rowCount() - 1, 0, QModelIndex())
        self.show_row(last.data(ROW_ROLE))
