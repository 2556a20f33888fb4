"""The room: members, connection state, the hosting box, and the text, JSON and binary panes."""

from __future__ import annotations

import html

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client import SessionState, display_address
from desktopchat.gui.hosting import HostInfo
from desktopchat.gui.panes.binary_pane import BinaryPane
from desktopchat.gui.panes.json_pane import JsonPane
from desktopchat.gui.panes.message_model import MessageListModel, MessageRow
from desktopchat.gui.panes.text_pane import TextPane
from desktopchat.gui.qr import qr_pixmap
from desktopchat.protocol import Kind
from desktopchat.protocol.fingerprints import readable

KINDS = (Kind.TEXT, Kind.JSON, Kind.BINARY)
_TITLES = {Kind.TEXT: "Text", Kind.JSON: "JSON", Kind.BINARY: "Binary"}


class HostingBox(QFrame):
    """Where others can join (with copy buttons and a QR code), and Stop hosting."""

    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hostingBox")
        self._grid = QGridLayout()
        self._grid.setColumnStretch(0, 1)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setToolTip("Scan with a phone to open the room in its browser")
        stop = QPushButton("Stop hosting")
        stop.setObjectName("danger")
        stop.clicked.connect(self.stopRequested)
        title = QLabel("You are hosting")
        title.setObjectName("section")
        self.fingerprint = QLabel()
        self.fingerprint.setObjectName("hint")
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.hide()
        self.warning = QLabel()
        self.warning.setObjectName("error")
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.warning)
        layout.addWidget(self.fingerprint)
        layout.addLayout(self._grid)
        layout.addWidget(self.qr)
        layout.addWidget(stop)

    def show_info(self, info: HostInfo) -> None:
        """List the join links (and addresses) of ``info``, each with a copy button, its
        fingerprint in readable groups, and a QR code of the first link."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        rows = [("Link", url) for url in info.links] + [("App", url) for url in info.app_urls]
        if not info.links:
            rows += [("Browser", url) for url in info.browser_urls]
        for number, (kind, url) in enumerate(rows):
            label = QLabel(f"<b>{kind}</b>&nbsp; {html.escape(display_address(url))}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setToolTip("The token is hidden here; Copy gives the whole link")
            copy = QToolButton()
            copy.setText("Copy")
            copy.setToolTip(f"Copy {kind.lower()} (whoever has it may join)")
            copy.clicked.connect(lambda _checked=False, text=url: copy_text(text))
            self._grid.addWidget(label, number, 0)
            self._grid.addWidget(copy, number, 1)
        self.fingerprint.setVisible(info.fingerprint is not None)
        if info.fingerprint is not None:
            self.fingerprint.setText(f"Identity: {readable(info.fingerprint)}")
        self.warning.setText(info.warning[:1].upper() + info.warning[1:])
        self.warning.setVisible(bool(info.warning))
        # A loopback address is no use to a phone: no QR code when nobody else can join.
        shared = (info.links or info.browser_urls)[:1]
        code = shared[0] if shared and not info.warning else ""
        self.qr.setVisible(bool(code))
        if code:
            self.qr.setPixmap(qr_pixmap(code, 150))


def copy_text(text: str) -> None:
    """Put ``text`` on the clipboard."""
    QGuiApplication.clipboard().setText(text)


class RoomView(QWidget):
    """A room on screen. Widgets only: it emits what the user asks for and shows what it is told."""

    sendText = Signal(str)
    sendJson = Signal(str)
    sendFile = Signal(str)
    leaveRequested = Signal()
    olderRequested = Signal()
    stopHostingRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = {kind: MessageListModel(self) for kind in KINDS}
        self.members = QStringListModel(self)
        self._unread = dict.fromkeys(KINDS, 0)

        self.title = QLabel("#chat")
        self.title.setObjectName("heading")
        self.me = QLabel()
        self.me.setObjectName("hint")
        self.state = QLabel("connecting")
        self.state.setObjectName("state")
        self.state.setWordWrap(True)
        members_label = QLabel("Members")
        members_label.setObjectName("section")
        member_list = QListView()
        member_list.setModel(self.members)
        member_list.setObjectName("members")
        self.hosting = HostingBox()
        self.hosting.stopRequested.connect(self.stopHostingRequested)
        self.hosting.hide()
        self.leave = QPushButton("Leave room")
        self.leave.clicked.connect(self.leaveRequested)

        side = QWidget()
        side.setObjectName("sidebar")
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.title)
        side_layout.addWidget(self.me)
        side_layout.addWidget(self.state)
        side_layout.addWidget(members_label)
        side_layout.addWidget(member_list, 1)
        side_layout.addWidget(self.hosting)
        side_layout.addWidget(self.leave)

        self.text_pane = TextPane(self.models[Kind.TEXT])
        self.json_pane = JsonPane(self.models[Kind.JSON])
        self.binary_pane = BinaryPane(self.models[Kind.BINARY])
        self.text_pane.sendRequested.connect(self.sendText)
        self.json_pane.sendRequested.connect(self.sendJson)
        self.binary_pane.sendFileRequested.connect(self.sendFile)
        self.tabs = QTabWidget()
        for kind, pane in zip(KINDS, self.panes(), strict=True):
            self.tabs.addTab(pane, _TITLES[kind])
        self.tabs.currentChanged.connect(self._tab_changed)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter this pane (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_filter)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        self.older = QPushButton("Load older messages")
        self.older.setToolTip(
            "Fetch the messages before the oldest shown (the filter searches them too)"
        )
        self.older.clicked.connect(self._ask_for_older)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.older)
        main_layout.addLayout(top)
        main_layout.addWidget(self.tabs, 1)

        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 740])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def panes(self) -> tuple[TextPane, JsonPane, BinaryPane]:
        """The three panes, in tab order."""
        return self.text_pane, self.json_pane, self.binary_pane

    # -- what the controller tells us ---------------------------------------------------------

    def enter(self, room: str, name: str, members: list[str]) -> None:
        """We are in ``room`` as ``name``."""
        self.title.setText(f"#{room}")
        self.me.setText(f"You are {name}")
        self.members.setStringList(members)

    def add_row(self, row: MessageRow) -> None:
        """Show a message in its pane; count it as unread when that pane is not in front."""
        if row.kind not in self.models:
            return
        self.models[row.kind].append(row)
        if not row.own and self.tabs.currentIndex() != KINDS.index(row.kind):
            self._unread[row.kind] += 1
            self._update_tab(row.kind)

    def mark_delivered(self, cid: str, message_id: int) -> None:
        """Our message ``cid`` is stored by the server."""
        for model in self.models.values():
            if model.mark_delivered(cid, message_id):
                return

    def mark_failed(self, cid: str, reason: str) -> None:
        """Our message ``cid`` was given up on."""
        for model in self.models.values():
            if model.mark_failed(cid, reason):
                return

    def set_state(self, state: SessionState | str, description: str) -> None:
        """Show the connection state (colour by state via the ``state`` property; ``"error"``
        for a message that could not be sent)."""
        self.state.setText(description)
        self.state.setProperty("state", state.value if isinstance(state, SessionState) else state)
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)

    def set_members(self, members: list[str]) -> None:
        """Replace the member list."""
        self.members.setStringList(members)

    def show_hosting(self, info: HostInfo | None) -> None:
        """Show the hosting box (or hide it when ``info`` is None)."""
        if info is None:
            self.hosting.hide()
            return
        self.hosting.show_info(info)
        self.hosting.show()

    def show_send_error(self, kind: Kind, message: str) -> None:
        """A message could not be sent."""
        if kind is Kind.JSON:
            self.json_pane.show_send_error(message)
        elif kind is Kind.BINARY:
            self.binary_pane.show_send_error(message)
        else:
            self.set_state("error", f"not sent: {message}")

    def add_older(self, rows: list[MessageRow], more: bool) -> None:
        """Show a page of older messages above the others; say when there are no more."""
        for kind in KINDS:
            self.models[kind].prepend([row for row in rows if row.kind is kind])
        self.show_older_state(more)

    def show_older_state(self, more: bool, busy: bool = False) -> None:
        """Enable "Load older messages" while older ones may exist and none is loading."""
        self.older.setEnabled(more and not busy)
        self.older.setText(
            "Loading…" if busy else ("Load older messages" if more else "No older messages")
        )

    def _ask_for_older(self) -> None:
        self.show_older_state(True, busy=True)
        self.olderRequested.emit()

    def reset(self) -> None:
        """Forget the room (after leaving)."""
        self.show_older_state(True)
        for model in self.models.values():
            model.clear()
        self.members.setStringList([])
        self._unread = dict.fromkeys(KINDS, 0)
        for kind in KINDS:
            self._update_tab(kind)
        self.show_hosting(None)

    # -- internals ----------------------------------------------------------------------------

    def unread(self, kind: Kind) -> int:
        """Messages of ``kind`` not yet seen."""
        return self._unread[kind]

    def _update_tab(self, kind: Kind) -> None:
        count = self._unread[kind]
        title = _TITLES[kind] + (f"  ({count})" if count else "")
        self.tabs.setTabText(KINDS.index(kind), title)

    def _tab_changed(self, index: int) -> None:
        kind = KINDS[index]
        self._unread[kind] = 0
        self._update_tab(kind)
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        for pane in self.panes():
            pane.set_filter(text if pane is self.tabs.currentWidget() else "")

    def _focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()
