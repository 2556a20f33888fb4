"""The room: members, connection state, the hosting box, and the text, JSON and binary panes."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client import SessionState, display_address
from desktopchat.client.timeline import Moment
from desktopchat.gui.elided import ElidedLabel, wrapping
from desktopchat.gui.hosting import HostInfo
from desktopchat.gui.hosting_box import HostingBox
from desktopchat.gui.members import MemberListModel
from desktopchat.gui.panes.binary_pane import BinaryPane
from desktopchat.gui.panes.colours import SenderColours
from desktopchat.gui.panes.files_pane import FilesPane, TransferListModel
from desktopchat.gui.panes.json_pane import JsonPane
from desktopchat.gui.panes.links import opens_quietly
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageListModel, MessageRow
from desktopchat.gui.panes.text_pane import TextPane
from desktopchat.gui.panes.timeline_pane import TimelinePane
from desktopchat.gui.places import save_path
from desktopchat.gui.questions import ask
from desktopchat.gui.saved_panel import SavedPanel
from desktopchat.protocol import Kind

KINDS = (Kind.TEXT, Kind.JSON, Kind.BINARY)
_TITLES = {Kind.TEXT: "Text", Kind.JSON: "JSON", Kind.BINARY: "Binary"}


WAITING = (
    "The room has not yet taken the messages you sent before: sending resumes as soon as it "
    "does, and what you type waits here"
)


class SearchField(QLineEdit):
    """The filter's field: Escape empties it, as in every search box."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape clears the search; other keys as in any line edit."""
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class RoomView(QWidget):
    """A room on screen. Widgets only: it emits what the user asks for and shows what it is told."""

    sendText = Signal(str)
    sendJson = Signal(str)
    sendFile = Signal(str)
    leaveRequested = Signal()
    olderRequested = Signal()
    allHistoryRequested = Signal()
    retryRequested = Signal()
    stopHostingRequested = Signal()
    sendBytes = Signal(bytes)
    exportRequested = Signal(str)  # where to write the raw connection's log
    pingRequested = Signal(bytes)  # a raw connection's ping, with its payload
    pingEveryChanged = Signal(int)  # seconds between pings (0: none)
    closeRequested = Signal(int, str)  # close the raw connection with this code and reason
    directRequested = Signal(str)  # a direct conversation with this member

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colours = SenderColours()
        self.models = {kind: MessageListModel(self, self.colours) for kind in KINDS}
        self.members = MemberListModel(self)
        self._unread = dict.fromkeys(KINDS, 0)
        self.link_question: QMessageBox | None = None
        self.export_dialog: QFileDialog | None = None
        self.raw = False

        self.title = ElidedLabel("#chat")
        self.title.setObjectName("heading")
        self.me = ElidedLabel()
        self.me.setObjectName("hint")
        self.state = wrapping(QLabel("connecting"))
        self.state.setObjectName("state")
        self.retry = QPushButton("Retry now")
        self.retry.setToolTip("Try to reconnect now instead of waiting")
        self.retry.clicked.connect(self.retryRequested)
        self.retry.hide()
        self.members_label = QLabel("Members")
        self.members_label.setObjectName("section")
        self.member_list = QListView()
        self.member_list.setModel(self.members)
        self.member_list.setObjectName("members")
        self.member_list.setToolTip("Double-click a member to say something to them alone")
        self.member_list.doubleClicked.connect(self._direct_to)
        self.saved = SavedPanel()
        self.saved.saveWanted.connect(self._keep_current)
        self.saved.sendRequested.connect(self._send_saved)
        self.saved.hide()
        self.export = QPushButton("Export log (NDJSON)…")
        self.export.setToolTip("Every frame of this connection, both ways, one JSON per line")
        self.export.clicked.connect(self._ask_where_to_export)
        self.export.hide()
        self.hosting = HostingBox()
        self.hosting.stopRequested.connect(self.stopHostingRequested)
        self.hosting.hide()
        self.leave = QPushButton("Leave room")
        self.leave.clicked.connect(self.leaveRequested)

        side = QWidget()
        side.setObjectName("sidebar")
        side_layout = self._side = QVBoxLayout(side)
        side_layout.addWidget(self.title)
        side_layout.addWidget(self.me)
        side_layout.addWidget(self.state)
        side_layout.addWidget(self.retry)
        side_layout.addWidget(self.members_label)
        side_layout.addWidget(self.member_list, 1)
        side_layout.addWidget(self.saved, 1)
        side_layout.addWidget(self.export)
        side_layout.addWidget(self.hosting)
        side_layout.addWidget(self.leave)

        self.text_pane = TextPane(self.models[Kind.TEXT])
        self.json_pane = JsonPane(self.models[Kind.JSON])
        self.binary_pane = BinaryPane(self.models[Kind.BINARY])
        self.text_pane.sendRequested.connect(self._send_text)
        self.json_pane.sendRequested.connect(self._send_json)
        self.json_pane.fill = self._preview
        self.binary_pane.sendFileRequested.connect(self.sendFile)
        self.binary_pane.sendBytesRequested.connect(self.sendBytes)
        # A raw connection's every frame and event, in order; the three panes are views of
        # it by kind. Rooms have no timeline: their messages are the conversation.
        self.timeline = TimelinePane()
        self.timeline.pingRequested.connect(self.pingRequested)
        self.timeline.pingEveryChanged.connect(self.pingEveryChanged)
        self.timeline.closeRequested.connect(self.closeRequested)
        self.tabs = QTabWidget()
        for kind, pane in zip(KINDS, self.panes(), strict=True):
            self.tabs.addTab(pane, _TITLES[kind])
        self.timeline_tab = self.tabs.addTab(self.timeline, "Timeline")
        self.tabs.setTabVisible(self.timeline_tab, False)
        # Files offered, sent and fetched beside the chat (rooms only: a raw endpoint has no
        # host to hold them).
        self.transfers = TransferListModel(self)
        self.files_pane = FilesPane(self.transfers)
        self.files_tab = self.tabs.addTab(self.files_pane, "Files")
        self._offers_unseen = 0
        self.setAcceptDrops(True)
        self.tabs.currentChanged.connect(self._tab_changed)
        for pane in self.panes():
            pane.view.replyRequested.connect(self._reply)
            pane.view.linkActivated.connect(self.open_link)
            pane.view.saveRequested.connect(self._save)
            pane.view.follower.topReached.connect(self._top_reached)

        self.filter = SearchField()
        self.filter.setPlaceholderText("Filter this pane (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_filter)
        self.matches = QLabel()
        self.matches.setObjectName("hint")
        self.matches.hide()

        main = QWidget()
        main_layout = QVBoxLayout(main)
        self.older = QPushButton("Load older messages")
        self.older.setToolTip(
            "Fetch the messages before the oldest shown (the filter searches them too)"
        )
        self.older.clicked.connect(self._ask_for_older)
        self.search_all = QPushButton("Search all history")
        self.search_all.setToolTip(
            "Load the room's whole history, so that the filter searches all of it"
        )
        self.search_all.clicked.connect(self._ask_for_all)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.matches)
        top.addWidget(self.older)
        top.addWidget(self.search_all)
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

    def enter(self, room: str, name: str, members: list[str], host: str = "") -> None:
        """We are in ``room`` as ``name``; ``host`` is the hosting member's name, if known."""
        self._show_raw(False)
        self.title.setText(f"#{room}")
        self.me.setText(f"You are {name}")
        self.members.setStringList(members)
        self.members.mark(name, host)

    def enter_raw(self, url: str, subprotocol: str, template: str = "") -> None:
        """We are connected to any WebSocket endpoint ``url`` (not a room), typed as
        ``template`` (with its ``{{variables}}``: whose saved messages and variables show)."""
        self._show_raw(True)
        self.title.setText("WebSocket")
        chosen = f"\nSubprotocol: {subprotocol}" if subprotocol else ""
        self.me.setText(f"{display_address(url)}{chosen}")
        self.saved.show_endpoint(template or url)

    def _show_raw(self, raw: bool) -> None:
        self.raw = raw
        room_only: tuple[QWidget, ...] = (
            self.members_label,
            self.member_list,
            self.older,
            self.search_all,
        )
        for widget in room_only:
            widget.setVisible(not raw)
        self.saved.setVisible(raw)
        self.export.setVisible(raw)
        self.tabs.setTabVisible(self.files_tab, not raw)
        self.leave.setText("Disconnect" if raw else "Leave room")
        self.tabs.setTabVisible(self.timeline_tab, raw)
        if raw:
            self.tabs.setCurrentWidget(self.timeline)
        elif self.tabs.currentWidget() is self.timeline:
            self.tabs.setCurrentWidget(self.text_pane)

    def _keep_current(self, name: str) -> None:
        if self.tabs.currentWidget() is self.json_pane:
            self.saved.keep(name, "json", self.json_pane.editor.toPlainText())
        else:
            self.saved.keep(name, "text", self.text_pane.entry.text())

    def _direct_to(self, index: QModelIndex) -> None:
        """A direct conversation with the member double-clicked (not with ourselves)."""
        name = self.members.name_at(index.row())
        if name and name != self.members.me and not self.raw:
            self.directRequested.emit(name)

    def make_direct(self, peer: str, room: str) -> None:
        """Make this view a direct conversation with ``peer`` through ``#room``: text
        only, no member list, and closing it does not leave the room."""
        self.title.setText(f"@{peer}")
        self.me.setText(f"To {peer} alone, through #{room}")
        for widget in (self.members_label, self.member_list, self.search_all):
            widget.hide()
        for tab in range(1, self.tabs.count()):
            self.tabs.setTabVisible(tab, False)
        # What was the member list's room stays empty, instead of stretching the state.
        self._side.insertStretch(self._side.indexOf(self.leave), 1)
        self.setAcceptDrops(False)  # files go to a room (its Files tab), not to one person
        self.leave.setText("Close conversation")
        self.leave.setToolTip("Out of the sidebar; a new message from them opens it again")

    def _send_text(self, text: str) -> None:
        # On a raw connection what is typed may use the endpoint's {{variables}}, as saved
        # messages do; a room's messages are sent as typed.
        if self.raw:
            try:
                text = self.saved.endpoint.expand(text)
            except ValueError as exc:
                self.text_pane.entry.setPlainText(text)  # the draft is not lost
                self.set_state("error", f"not sent: {exc}")
                return
        self.sendText.emit(text)

    def _send_json(self, text: str) -> None:
        if self.raw:
            try:
                text = self.saved.endpoint.expand(text)
            except ValueError as exc:
                self.json_pane.show_send_error(str(exc))
                return
        self.sendJson.emit(text)

    def _preview(self, text: str) -> str:
        """What the JSON editor's text will be once sent (``ValueError``: an unknown
        variable), for its validation."""
        return self.saved.endpoint.expand(text, counting=False) if self.raw else text

    def _send_saved(self, kind: str, body: str) -> None:
        (self.sendJson if kind == "json" else self.sendText).emit(body)

    def _ask_where_to_export(self) -> None:
        dialog = QFileDialog(self, "Export the log as NDJSON", save_path("websocket-log.ndjson"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.exportRequested)
        self.export_dialog = dialog
        dialog.open()

    def add_row(self, row: MessageRow, new: bool = True) -> None:
        """Show a message in its pane; count it as unread when it is ``new`` (not history
        read before) and that pane is not in front (nor the timeline, which shows every
        frame)."""
        if row.kind not in self.models:
            return
        self.models[row.kind].append(row)
        if (
            new
            and not row.own
            and self.tabs.currentIndex()
            not in (
                KINDS.index(row.kind),
                self.timeline_tab,
            )
        ):
            self._unread[row.kind] += 1
            self._update_tab(row.kind)

    def add_moment(self, moment: Moment) -> None:
        """Add a raw connection's frame or event to the timeline."""
        self.timeline.add(moment)

    def mark_unread_from(self, message_id: int | None) -> None:
        """The "new messages" line goes above ``message_id`` in each pane (None: none)."""
        for pane in self.panes():
            pane.view.mark_unread_from(message_id)

    def mark_delivered(self, cid: str, message_id: int, at: int | None = None) -> None:
        """Our message ``cid`` is stored by the server as ``message_id`` (at server time ``at``)."""
        for model in self.models.values():
            if model.mark_delivered(cid, message_id, at):
                return

    def mark_failed(self, cid: str, reason: str) -> None:
        """Our message ``cid`` was given up on."""
        for model in self.models.values():
            if model.mark_failed(cid, reason):
                return

    def set_state(self, state: SessionState | str, description: str) -> None:
        """Show the connection state (colour by state via the ``state`` property; ``"error"``
        for a message that could not be sent)."""
        self.state.setText(description[:1].upper() + description[1:])
        self.retry.setVisible(state is SessionState.RECONNECTING)
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

    def set_waiting(self, waiting: bool) -> None:
        """While the room has yet to take the messages already sent (a full outbox), the
        Send buttons wait and what is typed stays in its box."""
        for pane in (self.text_pane, self.json_pane, self.binary_pane):
            pane.set_waiting(waiting)
        self.text_pane.send_button.setToolTip(WAITING if waiting else "")

    def show_send_error(self, kind: Kind, message: str) -> None:
        """A message could not be sent."""
        if kind is Kind.JSON:
            self.json_pane.show_send_error(message)
        elif kind is Kind.BINARY:
            self.binary_pane.show_send_error(message)
            self.files_pane.say(f"Not sent: {message}")
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
        self.search_all.setEnabled(more and not busy)
        self.older.setText(
            "Loading…" if busy else ("Load older messages" if more else "No older messages")
        )

    def history_loaded(self, fetched: int, cut_short: bool) -> None:
        """The whole history was fetched for searching (or as much as a window holds)."""
        self.show_older_state(cut_short)
        if cut_short:
            self.set_state("open", f"Loaded {fetched} older messages: older ones were left out")
        self._apply_filter(self.filter.text())

    def _ask_for_older(self) -> None:
        self.show_older_state(True, busy=True)
        self.olderRequested.emit()

    def _ask_for_all(self) -> None:
        self.show_older_state(True, busy=True)
        self.allHistoryRequested.emit()

    def _top_reached(self) -> None:
        # Scrolling up past the oldest message shown fetches the page before it.
        if self.older.isEnabled():
            self._ask_for_older()

    # -- what the user does with a message ------------------------------------------------------

    def _reply(self, row: MessageRow) -> None:
        self.tabs.setCurrentWidget(self.text_pane)
        self.text_pane.quote(row)

    def _save(self, row: MessageRow) -> None:
        self.tabs.setCurrentWidget(self.binary_pane)
        self.binary_pane.show_row(row)
        self.binary_pane.ask_where_to_save()

    def open_link(self, url: str) -> None:
        """Open ``url`` in its application; ask first, showing it whole, for a scheme other
        than http, https or mailto (``file:``, ``smb:`` and the like can run or fetch things)."""
        if opens_quietly(url):
            QDesktopServices.openUrl(QUrl(url))
            return
        self.link_question = ask(
            self,
            "Open this link?",
            f"This link does not lead to a web page. It opens:\n\n{url}\n\n"
            "Open it only if you trust who sent it.",
            [
                (
                    "Open",
                    QMessageBox.ButtonRole.AcceptRole,
                    lambda: QDesktopServices.openUrl(QUrl(url)),
                )
            ],
            icon=QMessageBox.Icon.Warning,
            finished=self._link_answered,
        )

    def _link_answered(self) -> None:
        self.link_question = None

    def set_text_size(self, points: int) -> None:
        """Messages and the box to write in at ``points`` (0: the style's size)."""
        sheet = f"font-size: {points}pt;" if points > 0 else ""
        for pane in self.panes():
            pane.view.setStyleSheet(sheet)
        self.text_pane.entry.setStyleSheet(sheet)
        self.json_pane.editor.setStyleSheet(sheet)

    def reset(self) -> None:
        """Forget the room (after leaving)."""
        self.show_older_state(True)
        for model in self.models.values():
            model.clear()
        self.colours.clear()
        self.members.setStringList([])
        self.members.mark("", "")
        self._unread = dict.fromkeys(KINDS, 0)
        for kind in KINDS:
            self._update_tab(kind)
        self.show_hosting(None)
        self.transfers.clear()
        self._offers_unseen = 0
        self._update_files_tab()
        self.files_pane.say("")
        # Nothing of one room may show in the next: drafts, "not sent" lines, the state.
        self.text_pane.forget()
        self.json_pane.forget()
        self.binary_pane.forget()
        self.timeline.forget()
        self.mark_unread_from(None)
        self.state.setText("connecting")
        self.retry.hide()
        self.filter.clear()

    # -- internals ----------------------------------------------------------------------------

    def unread(self, kind: Kind) -> int:
        """Messages of ``kind`` not yet seen."""
        return self._unread[kind]

    def _update_tab(self, kind: Kind) -> None:
        count = self._unread[kind]
        title = _TITLES[kind] + (f"  ({count})" if count else "")
        self.tabs.setTabText(KINDS.index(kind), title)

    def _tab_changed(self, index: int) -> None:
        if index < len(KINDS):
            kind = KINDS[index]
            self._unread[kind] = 0
            self._update_tab(kind)
        if index == self.files_tab:
            self._offers_unseen = 0
            self._update_files_tab()
        self._apply_filter(self.filter.text())

    def file_offered(self) -> None:
        """Someone offered a file: count it on the Files tab until it is looked at."""
        if self.tabs.currentIndex() != self.files_tab:
            self._offers_unseen += 1
            self._update_files_tab()

    def _update_files_tab(self) -> None:
        count = self._offers_unseen
        self.tabs.setTabText(self.files_tab, "Files" + (f"  ({count})" if count else ""))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Qt: files and folders dropped anywhere on a room are sent beside the chat."""
        if event.mimeData().hasUrls() and not self.raw:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Qt: send what was dropped, and show it going in the Files tab."""
        self.files_pane.dropEvent(event)
        self.tabs.setCurrentIndex(self.files_tab)

    def _apply_filter(self, text: str) -> None:
        current = self.tabs.currentWidget()
        panes: tuple[TextPane | JsonPane | BinaryPane | TimelinePane, ...] = (
            *self.panes(),
            self.timeline,
        )
        for pane in panes:
            if pane is not current:
                pane.set_filter("")
                continue
            # The selected message stays selected (and in sight) as the filter changes or
            # clears: clearing a search must not lose the message it found.
            chosen = pane.view.currentIndex().data(ROW_ROLE)
            pane.set_filter(text)
            if chosen is not None:
                for number in range(pane.proxy.rowCount()):
                    index = pane.proxy.index(number, 0)
                    if index.data(ROW_ROLE) == chosen:
                        pane.view.setCurrentIndex(index)
                        pane.view.scrollTo(index)
                        break
            found = pane.proxy.rowCount()
            self.matches.setText(f"{found} match{'es' if found != 1 else ''}")
        self.matches.setVisible(bool(text))

    def _focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()
