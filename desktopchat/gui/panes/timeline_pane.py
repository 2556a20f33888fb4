"""The Timeline pane of a raw connection: every frame and event in order, searchable, and
the control frames a workbench sends (a ping with a payload, pings on an interval, a close
with a code and reason)."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client.raw import MAX_CLOSE_REASON, MAX_PING_PAYLOAD, SENDABLE, sendable_close
from desktopchat.client.timeline import Moment
from desktopchat.gui.elided import wrapping
from desktopchat.gui.panes.message_model import ROW_ROLE
from desktopchat.gui.panes.timeline_model import DATA, TimelineModel

PING_SECONDS = 30
"""The ping interval offered first (websocat and browsers' keep-alives are 20 to 60 s)."""


class TimelineFilter(QSortFilterProxyModel):
    """Shows the moments whose kind, direction or data contain the search (any case)."""

    def __init__(self, model: TimelineModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(model)
        self._model = model
        self._needle = ""

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._needle:
            return True
        moment: Moment | None = self._model.index(source_row, 0).data(ROW_ROLE)
        return moment is not None and self._needle in moment.searchable().casefold()

    def setFilterFixedString(self, pattern: str) -> None:
        """Filter on a plain substring, compared casefolded."""
        self.beginFilterChange()
        self._needle = pattern.casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)


class TimelinePane(QWidget):
    """The timeline and the control frames; it emits what the user asks for."""

    pingRequested = Signal(bytes)
    pingEveryChanged = Signal(int)  # seconds between pings; 0: no more pings
    closeRequested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TimelineModel(self)
        self.proxy = TimelineFilter(self.model, self)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setObjectName("timeline")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DATA, QHeaderView.ResizeMode.Stretch)
        # Contents-sized columns would measure every row of a long timeline at each batch.
        header.setResizeContentsPrecision(50)
        self.model.rowsInserted.connect(self._follow)
        self._following = True
        self.view.verticalScrollBar().valueChanged.connect(self._scrolled)

        self.payload = QLineEdit()
        self.payload.setPlaceholderText(
            f"Ping payload (optional, at most {MAX_PING_PAYLOAD} bytes)"
        )
        self.ping = QPushButton("Ping")
        self.ping.setToolTip("Send a ping; the pong's round trip shows in the timeline")
        self.ping.clicked.connect(self._ping)
        self.payload.returnPressed.connect(self._ping)
        self.every = QCheckBox("Every")
        self.every.setToolTip("Keep pinging on an interval (a keep-alive, and a latency graph)")
        self.seconds = QSpinBox()
        self.seconds.setRange(1, 3600)
        self.seconds.setValue(PING_SECONDS)
        self.seconds.setSuffix(" s")
        self.every.toggled.connect(self._interval_changed)
        self.seconds.valueChanged.connect(self._interval_changed)

        self.code = QSpinBox()
        self.code.setRange(1000, 4999)
        self.code.setValue(1000)
        self.code.setToolTip(f"The close code: {SENDABLE}")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Close reason (optional)")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Send a close frame with this code and reason")
        self.close_button.clicked.connect(self._close)
        self.error = wrapping(QLabel())
        self.error.setObjectName("error")
        self.error.hide()

        pings = QHBoxLayout()
        pings.addWidget(self.payload, 1)
        pings.addWidget(self.ping)
        pings.addWidget(self.every)
        pings.addWidget(self.seconds)
        closing = QHBoxLayout()
        closing.addWidget(QLabel("Code"))
        closing.addWidget(self.code)
        closing.addWidget(self.reason, 1)
        closing.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        layout.addLayout(pings)
        layout.addLayout(closing)

    def add(self, moment: Moment) -> None:
        """Add a moment to the timeline."""
        self.model.add(moment)

    def set_filter(self, text: str) -> None:
        """Show only moments that contain ``text``."""
        self.proxy.setFilterFixedString(text)

    def forget(self) -> None:
        """Start afresh for another connection: no moments, no pings on an interval."""
        self.model.clear()
        self.every.setChecked(False)
        self.payload.clear()
        self.reason.clear()
        self.code.setValue(1000)
        self.error.hide()
        self._following = True

    def _ping(self) -> None:
        payload = self.payload.text().encode()
        if len(payload) > MAX_PING_PAYLOAD:
            self._refuse(f"A ping carries at most {MAX_PING_PAYLOAD} bytes: this is {len(payload)}")
            return
        self.error.hide()
        self.pingRequested.emit(payload)

    def _interval_changed(self) -> None:
        self.pingEveryChanged.emit(self.seconds.value() if self.every.isChecked() else 0)

    def _close(self) -> None:
        code, reason = self.code.value(), self.reason.text()
        if not sendable_close(code):
            self._refuse(f"{code} is not a close code an endpoint may send: {SENDABLE}")
            return
        if len(reason.encode()) > MAX_CLOSE_REASON:
            self._refuse(f"A close reason is at most {MAX_CLOSE_REASON} bytes of UTF-8")
            return
        self.error.hide()
        self.every.setChecked(False)
        self.closeRequested.emit(code, reason)

    def _refuse(self, words: str) -> None:
        self.error.setText(words)
        self.error.show()

    # Following the newest moment, as the panes do: while the user is at the end.

    def _scrolled(self, value: int) -> None:
        self._following = value >= self.view.verticalScrollBar().maximum()

    def _follow(self) -> None:
        if self._following:
            self.view.scrollToBottom()
