"""The main window: start, host, join and room pages, the sidebar of open rooms, and the
wiring of each room's controller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from desktopchat.autostart import start_at_login, starts_at_login
from desktopchat.client import AddressError, SessionState, display_address
from desktopchat.client.address import address_token, room_url, without_secrets
from desktopchat.client.raw import RawOptions, is_secret_header
from desktopchat.client.saved import expand_handshake
from desktopchat.client.transfers import Transfer
from desktopchat.gui.about import show_about
from desktopchat.gui.attention import Attention
from desktopchat.gui.controller import ChatController, shut_down_all
from desktopchat.gui.conversations import Conversation, ConversationModel, Sidebar, Switcher
from desktopchat.gui.elided import ElidedLabel
from desktopchat.gui.host_page import HostPage
from desktopchat.gui.hosting import HostInfo, HostOptions
from desktopchat.gui.join_page import JoinPage
from desktopchat.gui.menus import build_menus
from desktopchat.gui.notifications import Notifications, NotifierBackend
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.questions import ask_to_stop, ask_to_trust
from desktopchat.gui.reading import ReadPosition
from desktopchat.gui.recent import RecentRoom, Remembered, SettingsStore
from desktopchat.gui.room_view import WAITING, RoomView
from desktopchat.gui.start_page import StartPage
from desktopchat.gui.theme import Looks
from desktopchat.gui.vault import TokenVault
from desktopchat.protocol import Kind
from desktopchat.protocol.rooms import DEFAULT_ROOM, room_of_path

NOTICE_SECONDS = 15.0
"""How long a passing message stays in the status bar."""

TROUBLE = {
    SessionState.CONNECTING: "waiting",
    SessionState.RECONNECTING: "waiting",
    SessionState.CLOSING: "problem",
    SessionState.CLOSED: "problem",
}
"""How the sidebar colours a room's state (an open room: not at all)."""

STATE_WORDS = {
    SessionState.CONNECTING: "connecting",
    SessionState.OPEN: "connected",
    SessionState.RECONNECTING: "reconnecting",
    SessionState.CLOSING: "closing",
    SessionState.CLOSED: "closed",
}
"""A room's state in the sidebar: a word (the status line and the tooltip say the rest)."""

logger = logging.getLogger("desktopchat.gui")


def _title_and_host(room: RecentRoom) -> tuple[str, str]:
    """How the sidebar names a room not joined yet: ``#name`` and ``host:port``."""
    if room.hosted:
        return f"#{room.room or DEFAULT_ROOM}", f"127.0.0.1:{room.port}"
    try:
        url = urlsplit(room_url(room.address))
    except AddressError:
        return room.address, ""
    return f"#{room_of_path(url.path) or DEFAULT_ROOM}", url.netloc


class MainWindow(QMainWindow):
    """The desktopchat window. ``closed`` fires once the user has really closed it.

    Every room opened stays open, in the sidebar, until it is left: each is a
    :class:`~desktopchat.gui.conversations.Conversation` with a controller of its own. The
    Join and Host forms open a room with ``_pending``, a conversation not listed yet; the
    controller given here is its first.
    """

    closed = Signal()

    def __init__(
        self,
        controller: ChatController,
        store: SettingsStore,
        icon: QIcon | None = None,
        parent: QWidget | None = None,
        vault: TokenVault | None = None,
        notifier: NotifierBackend | None = None,
        tray: bool | None = None,
    ) -> None:
        """``notifier`` shows desktop notifications (else the tray's balloons, if a tray is
        there); ``tray`` forces the tray icon on or off (default: if the desktop has one)."""
        super().__init__(parent)
        self.store = store
        self.vault = vault or TokenVault()
        self.remembered: Remembered = store.load()
        self._close_confirmed = False
        self.confirmation: QMessageBox | None = None
        self._last_raw: tuple[RecentRoom, dict[str, str]] | None = None
        """The plain WebSocket connection being opened, as it will be saved, and its
        secret headers (for the keyring)."""
        self._quitting = False
        self.about: QMessageBox | None = None
        self.switcher: Switcher | None = None
        self._closed = False
        self.setWindowTitle("desktopchat")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1040, 700)
        self.attention = Attention(self, self.remembered, icon or self.windowIcon(), notifier, tray)
        self.attention.set_sound(self.remembered.sound)

        self.start_page = StartPage()
        self.host_page = HostPage()
        self.join_page = JoinPage()
        self.pages = QStackedWidget()
        for page in (self.start_page, self.host_page, self.join_page):
            self.pages.addWidget(page)
        self.rooms = ConversationModel(self)
        self.sidebar = Sidebar(self.rooms)
        self.sidebar.hide()  # until a room is open
        self.current: Conversation | None = None
        """The room in front (or last in front, while a form is shown)."""
        self._pending = self._conversation(controller, self.attention.notifications)
        self.split = QSplitter()
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.sidebar)
        self.split.addWidget(self.pages)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([220, 820])
        self.setCentralWidget(self.split)
        # Two labels of our own rather than QStatusBar's message: a permanent widget that
        # stretches hides every showMessage(), and a QLabel's text sets the window's
        # minimum width. Passing messages on the left, the connection's state on the right.
        self.notice = ElidedLabel()
        self.notice.setObjectName("notice")
        self.status = ElidedLabel("Not in a room")
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.statusBar().addPermanentWidget(self.notice, 3)
        self.statusBar().addPermanentWidget(self.status, 2)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.clear)

        self.host_page.name.setText(self.remembered.name)
        self.host_page.port.setValue(self.remembered.port)
        self.join_page.name.setText(self.remembered.name)
        self.start_page.show_recent(self.remembered.recent)
        self.start_page.hint.setVisible(not self.remembered.hint_seen)
        self.looks = Looks(
            self.remembered,
            self._set_text_size,
            lambda: self.room_view.text_pane.view.font().pointSizeF(),
        )
        self.menus = build_menus(
            self,
            level=self._set_level,
            hide_previews=self.looks.hide_previews,
            theme=self.looks.set_theme,
            zoom=self.looks.zoom,
            about=self._about,
            start_at_login=self._start_at_login,
            sound=self._sound,
        )
        self.menus.sound.setChecked(self.remembered.sound)
        self.menus.hide_previews.setChecked(self.remembered.hide_previews)
        at_login = self.menus.start_at_login
        at_login.blockSignals(True)  # what is on disk, not a choice to write back
        at_login.setChecked(starts_at_login())
        at_login.blockSignals(False)
        self.menus.room.setEnabled(False)
        self.looks.theme_chosen.append(self._theme_chosen)
        self.looks.apply_remembered()
        self._wire_pages()
        self._wire_switching()

    # -- the room in front --------------------------------------------------------------------

    @property
    def _front(self) -> Conversation:
        return self.current or self._pending

    @property
    def controller(self) -> ChatController:
        """The controller of the room in front (before any room: the one the forms use)."""
        return self._front.controller

    @property
    def room_view(self) -> RoomView:
        """The view of the room in front (before any room: the one the next room gets)."""
        return self._front.view

    @property
    def reading(self) -> ReadPosition:
        """Where the user has read to in the room in front."""
        return self._front.reading

    @property
    def conversations(self) -> list[Conversation]:
        """The open rooms, in the sidebar's order."""
        return self.rooms.rooms

    # -- wiring -------------------------------------------------------------------------------

    def _wire_pages(self) -> None:
        self.start_page.hostChosen.connect(lambda: self.pages.setCurrentWidget(self.host_page))
        self.start_page.joinChosen.connect(lambda: self.pages.setCurrentWidget(self.join_page))
        self.start_page.recentChosen.connect(self._recent_chosen)
        self.start_page.hintDismissed.connect(self._hint_dismissed)
        self.host_page.back.connect(self._back)
        self.join_page.back.connect(self._back)
        self.host_page.hostRequested.connect(self._host)
        self.join_page.joinRequested.connect(self._join)
        self.join_page.rawJoinRequested.connect(self._join_raw)
        self.attention.openRequested.connect(self.bring_to_front)
        self.attention.seen.connect(self._looked)
        self.attention.quitRequested.connect(self.quit)
        self.sidebar.chosen.connect(self.show_conversation)
        self.sidebar.addRequested.connect(self._open_another)
        self.sidebar.muteRequested.connect(self.mute)
        self.sidebar.leaveRequested.connect(self._leave_from_sidebar)
        self.pages.currentChanged.connect(
            lambda _index: self._pending.controller.look_for_rooms(
                self.pages.currentWidget() is self.join_page
            )
        )

    def _wire_switching(self) -> None:
        for keys, step in (
            ("Ctrl+Tab", 1),
            ("Ctrl+Shift+Tab", -1),
            ("Ctrl+PgDown", 1),
            ("Ctrl+PgUp", -1),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(partial(self.switch_by, step))
        find = QShortcut(QKeySequence("Ctrl+K"), self)
        find.activated.connect(self.open_switcher)

    def _conversation(
        self, controller: ChatController, notifications: Notifications
    ) -> Conversation:
        """A room's parts, wired: its view sends through its controller, its controller's
        news reaches its view and this window."""
        view = RoomView()
        if self.remembered.text_size:
            view.set_text_size(self.remembered.text_size)
        self.pages.addWidget(view)
        room = Conversation(controller, view, notifications)
        self._wire_view(room)
        self._wire_controller(room)
        return room

    def _wire_view(self, conv: Conversation) -> None:
        c, room = conv.controller, conv.view
        room.sendText.connect(c.send_text)
        room.sendJson.connect(partial(self._send_json, conv))
        # The Binary pane sends a file as one binary message (the tutorial's third format);
        # the Files tab and drops on the room send files of any size beside the chat.
        room.sendFile.connect(c.send_file)
        files = room.files_pane
        files.sendRequested.connect(c.send_paths)
        files.fetchRequested.connect(c.fetch)
        files.pauseRequested.connect(c.transfers.pause)
        files.resumeRequested.connect(c.transfers.resume)
        files.cancelRequested.connect(c.transfers.cancel)
        files.forgetRequested.connect(partial(self._forget_transfer, conv))
        room.sendBytes.connect(c.send_bytes)
        room.exportRequested.connect(partial(self._export, conv))
        room.pingRequested.connect(c.ping)
        room.pingEveryChanged.connect(c.ping_every)
        room.closeRequested.connect(c.close_raw)
        room.olderRequested.connect(c.load_older)
        room.allHistoryRequested.connect(c.load_all)
        room.retryRequested.connect(c.retry_now)
        room.leaveRequested.connect(
            partial(self._leave_asking, conv, "Leave the room?", "Leaving", "Stop and leave")
        )
        room.stopHostingRequested.connect(
            partial(self._leave_asking, conv, "Stop hosting?", "Stopping", "Stop hosting")
        )
        room.directRequested.connect(partial(self.open_direct, conv))

    def _forget_transfer(self, conv: Conversation, transfer: Transfer) -> None:
        conv.controller.transfers.forget(transfer)
        conv.view.transfers.remove(transfer)

    def _wire_controller(self, conv: Conversation) -> None:
        c, room = conv.controller, conv.view
        c.stateChanged.connect(partial(self._state_changed, conv))
        c.joined.connect(partial(self._joined, conv))
        c.membersChanged.connect(partial(self._members_changed, conv))
        c.messageArrived.connect(partial(self._arrived, conv))
        c.messageDelivered.connect(partial(self._delivered, conv))
        c.messageFailed.connect(partial(self._failed, conv))
        c.olderArrived.connect(room.add_older)
        c.directOlderArrived.connect(partial(self._direct_older, conv))
        c.historyLoaded.connect(room.history_loaded)
        c.largestMessage.connect(room.binary_pane.show_limit)
        c.progress.connect(room.binary_pane.show_progress)
        c.sendFailed.connect(partial(self._send_failed, conv))
        c.transferChanged.connect(room.transfers.changed)
        c.fileOffered.connect(lambda _transfer: room.file_offered())
        c.joinFailed.connect(partial(self._join_failed, conv))
        c.trustRequested.connect(partial(self._ask_to_trust, conv))
        c.rawTrustRequested.connect(partial(self._ask_to_trust_raw, conv))
        c.connectedRaw.connect(partial(self._connected_raw, conv))
        c.moment.connect(room.add_moment)
        c.hostStarted.connect(partial(self._host_started, conv))
        c.hostFailed.connect(partial(self._host_failed, conv))
        c.hostStopped.connect(partial(self._host_stopped, conv))
        c.left.connect(partial(self._left, conv))
        c.outboxFull.connect(partial(self._waiting, conv))
        c.busy.connect(partial(self._busy, conv))
        c.problem.connect(partial(self._problem, conv))
        c.roomsFound.connect(self.join_page.found.set_rooms)
        conv.notifications.opened.connect(partial(self._notification_clicked, conv))

    # -- direct conversations -------------------------------------------------------------------

    def open_direct(self, room: Conversation, peer: str) -> None:
        """In front: the direct conversation with ``peer`` through ``room`` (made if new),
        its composer ready."""
        fresh = all(other.via is not room or other.peer != peer for other in self.rooms.rooms)
        conv = self._direct(room, peer)
        if fresh:  # what the two of you said before, kept by the host
            room.controller.load_direct(peer, None)
        self.show_conversation(conv)
        conv.view.tabs.setCurrentWidget(conv.view.text_pane)
        conv.view.text_pane.entry.setFocus()

    def _direct(self, room: Conversation, peer: str) -> Conversation:
        """The direct conversation with ``peer`` through ``room``, listed (made if new)."""
        for conv in self.rooms.rooms:
            if conv.via is room and conv.peer == peer:
                return conv
        view = RoomView()
        if self.remembered.text_size:
            view.set_text_size(self.remembered.text_size)
        self.pages.addWidget(view)
        name = room.view.members.me
        view.enter(room.title.lstrip("#"), name, [name, peer], room.view.members.host)
        view.make_direct(peer, room.title.lstrip("#"))
        conv = Conversation(room.controller, view, self.attention.add_room(), peer=peer, via=room)
        conv.key = f"{room.key} @{peer}"
        conv.title, conv.host = f"@{peer}", f"via {room.title}"
        conv.entered = True
        conv.reading.start(self.remembered.read.get(conv.key, 0))
        conv.notifications.enter(conv.key, peer)
        conv.notifications.direct = room.title.lstrip("#")
        self._presence(conv, room.view.members.stringList())
        view.sendText.connect(partial(self._say_directly, conv))
        view.olderRequested.connect(partial(self._older_direct, conv))
        view.leaveRequested.connect(partial(self._close_conversation, conv))
        self.rooms.add(conv)
        return conv

    def _older_direct(self, conv: Conversation) -> None:
        conv.controller.load_direct(conv.peer, conv.oldest)

    def _direct_older(
        self, room: Conversation, peer: str, rows: list[MessageRow], more: bool
    ) -> None:
        conv = next((c for c in self._directs(room) if c.peer == peer), None)
        if conv is None:
            return
        model = conv.view.models[Kind.TEXT]
        model.flush()
        # Our own messages of this run are shown already (their ids came with the acks).
        shown = {row.id for row in model.rows() if row.id is not None}
        older = [row for row in rows if row.id not in shown]
        ids = [row.id for row in older if row.id is not None]
        if ids:
            conv.oldest = min(ids) if conv.oldest is None else min(conv.oldest, *ids)
        conv.view.add_older(older, more)

    def _say_directly(self, conv: Conversation, text: str) -> None:
        conv.controller.send_direct(conv.peer, text)

    def _directs(self, room: Conversation) -> list[Conversation]:
        return [conv for conv in self.rooms.rooms if conv.via is room]

    def _presence(self, conv: Conversation, members: list[str]) -> None:
        here = conv.peer in members
        conv.state = "in the room" if here else "not in the room now"
        room = conv.via.title if conv.via is not None else "the room"
        conv.detail = f"{conv.peer} is in {room}" if here else f"{conv.peer} is not in {room} now"
        conv.trouble = "" if here else "away"
        conv.view.set_state("open" if here else "reconnecting", conv.detail)

    def _members_changed(self, room: Conversation, members: list[str]) -> None:
        room.view.set_members(members)
        for conv in self._directs(room):
            self._presence(conv, members)
            self.rooms.changed(conv)

    def _delivered(self, room: Conversation, cid: str, message_id: int, at: object) -> None:
        for conv in (room, *self._directs(room)):
            conv.view.mark_delivered(cid, message_id, at if isinstance(at, int) else None)

    def _send_failed(self, room: Conversation, kind: Kind, message: str) -> None:
        # Said where it was typed: the direct conversation in front, or the room.
        shown = self.current if self.current in self._directs(room) else room
        (shown or room).view.show_send_error(kind, message)

    def _failed(self, room: Conversation, cid: str, reason: str) -> None:
        for conv in (room, *self._directs(room)):
            conv.view.mark_failed(cid, reason)

    # -- the sidebar ----------------------------------------------------------------------------

    def show_conversation(self, conv: Conversation) -> None:
        """Bring ``conv``'s room in front (it stays connected when another one is)."""
        if conv not in self.rooms.rooms:
            return
        before = self.current
        if before is not None and before is not conv:
            self._remember_read(before)
        self.current = conv
        self.pages.setCurrentWidget(conv.view)
        self.sidebar.select(conv)
        self.attention.show_room(conv.notifications)
        self.attention.in_room = True
        self.attention.set_title(f"{conv.title} — desktopchat")
        raw = conv.view.raw
        self.menus.room.setEnabled(not raw)
        if not raw:
            self.menus.levels[conv.notifications.level].setChecked(True)
        words = conv.detail or conv.state
        self.status.setText(words[:1].upper() + words[1:])
        self.attention.looked()
        self.rooms.changed(conv, now=True)

    def switch_by(self, step: int) -> None:
        """The next (``1``) or previous (``-1``) room of the sidebar, round."""
        rooms = self.rooms.rooms
        if not rooms:
            return
        at = rooms.index(self.current) if self.current in rooms else -step
        showing = self.pages.currentWidget() is self._front.view and self.current is not None
        self.show_conversation(
            rooms[(at + step) % len(rooms)] if showing else rooms[at % len(rooms)]
        )

    def open_switcher(self) -> None:
        """Ctrl+K: find a room by typing part of its name or host."""
        if not self.rooms.rooms:
            return
        self.switcher = Switcher(self.rooms, self)
        self.switcher.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per Ctrl+K
        self.switcher.accepted.connect(self._switched)
        self.switcher.open()

    def _switched(self) -> None:
        if self.switcher is not None and self.switcher.chosen is not None:
            self.show_conversation(self.switcher.chosen)
        self.switcher = None

    def mute(self, conv: Conversation, muted: bool) -> None:
        """No notifications from ``conv`` (nor a count in the title), or again as before."""
        if not conv.key:  # its level is kept by its address, known once it is joined
            self.show_status(f"{conv.title} can be muted once it is joined")
            return
        conv.notifications.set_level("none" if muted else "all")
        self._levels_changed(conv)

    def _set_level(self, level: str) -> None:
        self.attention.notifications.set_level(level)
        if self.current is not None:
            self._levels_changed(self.current)

    def _levels_changed(self, conv: Conversation) -> None:
        if conv is self.current:
            self.menus.levels[conv.notifications.level].setChecked(True)
        self.attention.set_title(self.attention.title)  # the total may have changed
        self.rooms.changed(conv, now=True)
        self._save()

    def _leave_from_sidebar(self, conv: Conversation) -> None:
        if conv.via is not None:
            self._close_conversation(conv)
        elif conv.controller.hosting:
            self._leave_asking(conv, "Stop hosting?", "Stopping", "Stop hosting")
        else:
            self._leave(conv)

    def _open_another(self) -> None:
        if self.current is not None:
            self._remember_read(self.current)
        self.attention.in_room = False
        self.show_start()

    def _list(self, conv: Conversation) -> None:
        """Put ``conv`` in the sidebar (the next form's room gets a fresh conversation),
        in place of a room of the same address that could not be joined."""
        if conv.opened_as is not None:
            for dead in [
                other
                for other in self.rooms.rooms
                if other.opened_as is not None
                and other.opened_as.address == conv.opened_as.address
                and other.controller.session is None
                and not other.controller.hosting
            ]:
                self._close_conversation(dead)
        if conv is self._pending:
            self._pending = self._conversation(conv.controller.sibling(), self.attention.add_room())
            # The forms are the new conversation's now, and it is busy with nothing.
            self.host_page.set_busy(False)
            self.join_page.set_busy(False)
        self.rooms.add(conv)
        self.sidebar.show()
        self._save()

    def _close_conversation(self, conv: Conversation) -> None:
        """``conv`` was left: out of the sidebar, its controller finished, its view gone;
        another room (or the start page) comes in front."""
        if conv not in self.rooms.rooms or self._closed:
            return
        for direct in self._directs(conv):
            self._close_conversation(direct)
        self._remember_read(conv)
        self.rooms.remove(conv)
        self.attention.drop_room(conv.notifications)
        self.sidebar.setVisible(bool(self.rooms.rooms))
        if conv is self.current:
            self.current = None
            if self.rooms.rooms:
                self.show_conversation(self.rooms.rooms[-1])
            else:
                self._back_to_start()
        if conv.via is None:
            # Later: this runs from the controller's own signal, inside the task that left.
            QTimer.singleShot(0, partial(self._finish, conv))
        else:
            self.pages.removeWidget(conv.view)
            conv.view.deleteLater()
        self._save()

    def _finish(self, conv: Conversation) -> None:
        def gone() -> None:
            self.pages.removeWidget(conv.view)
            conv.view.deleteLater()

        conv.controller.retire(gone)

    async def shutdown(self) -> None:
        """Leave every room and stop hosting (the window is closing)."""
        if not self._closed:  # ended by a signal (a logout), not by closing the window
            self._keep_for_next_start()
        rooms = [*(conv for conv in self.rooms.rooms if conv.via is None), self._pending]
        await shut_down_all([conv.controller for conv in rooms])

    def restore_rooms(self) -> None:
        """Open again the rooms that were open when the window last closed (not the plain
        WebSocket connections: those are the workbench's, opened by hand)."""
        for room in list(self.remembered.open_rooms):
            if not room.raw and all(conv.opened_as != room for conv in self.rooms.rooms):
                self._restore(room)
        if self.current is None and self.rooms.rooms:
            self.show_conversation(self.rooms.rooms[0])

    def _restore(self, room: RecentRoom) -> None:
        if room.hosted:
            token = self.vault.load(room.room, room.port) if room.protected else None
            options = HostOptions(
                room.room or "chat", self.remembered.name, room.port, room.lan, token
            )
            self._open_listed(room, options=options)
            return
        token = self.vault.load_joined(room.address) if room.protected else None
        self._open_listed(room, token=token or "")

    def _open_listed(
        self, room: RecentRoom, token: str = "", options: HostOptions | None = None
    ) -> Conversation:
        """Open ``room`` in the sidebar at once (a restart, a link), hosting it again with
        ``options``, else joining it with ``token``: its state tells how that goes, and it
        stays listed if it fails."""
        conv = self._conversation(self._pending.controller.sibling(), self.attention.add_room())
        conv.opened_as = room
        conv.hosting = options
        conv.title, conv.host = _title_and_host(room)
        conv.state = "joining…"
        conv.trouble = "waiting"
        self.rooms.add(conv)
        self.sidebar.show()
        if options is not None:
            conv.controller.host(options)
        else:
            conv.token = token or address_token(room.address)
            conv.controller.join(room.address, room.name or self.remembered.name, token)
        return conv

    # -- living in the window ------------------------------------------------------------------

    def _arrived(self, conv: Conversation, row: MessageRow) -> None:
        if conv.view.raw:  # a feed's frames are not messages to be told about
            conv.view.add_row(row)
            return
        if row.peer:  # said to one person: it belongs to that conversation
            conv = self._direct(conv, row.peer)
            if row.id is not None and (conv.oldest is None or row.id < conv.oldest):
                conv.oldest = row.id
        # History read on an earlier visit comes again with a rejoin: shown, not new.
        new = not conv.reading.read_before(row.id)
        conv.view.add_row(row, new)
        if not new:
            return
        watching = conv is self.current and self.attention.watching()
        if conv.reading.arrived(row.id, row.own, watching):
            conv.view.mark_unread_from(conv.reading.line)
        self.attention.arrived(row, conv.notifications)
        if not watching and not row.own:
            self.rooms.changed(conv)

    def _looked(self) -> None:
        conv = self.current
        if conv is not None and self.attention.in_room and not conv.view.raw:
            conv.reading.looked()
            self.remembered.mark_read(conv.key, conv.reading.upto)
            self.rooms.changed(conv, now=True)

    def _remember_read(self, conv: Conversation) -> None:
        if conv.entered and not conv.view.raw:
            self.remembered.mark_read(conv.key, conv.reading.upto)

    def _notification_clicked(self, conv: Conversation) -> None:
        self.show_conversation(conv)
        self.bring_to_front()

    def _connected_raw(self, conv: Conversation, url: str, subprotocol: str) -> None:
        conv.view.reset()
        template = url
        if self._last_raw is not None and conv is self._pending:
            saved, secrets = self._last_raw
            self._last_raw = None
            template = saved.address
            self.remembered.remember(saved)
            kept = self.vault.save_headers(without_secrets(saved.address), secrets)
            if secrets and not kept:
                self.show_status(
                    f"Saved the connection without {', '.join(secrets)}: no keyring to keep "
                    "secret headers in"
                )
            self._save()
        conv.view.enter_raw(url, subprotocol, template)
        conv.entered = True
        conv.title = display_address(url)
        conv.host = "WebSocket"
        conv.state = "open"
        if conv not in self.rooms.rooms:
            self._list(conv)
        self.show_conversation(conv)

    def _export(self, conv: Conversation, path: str) -> None:
        try:
            count = conv.controller.export_log(path)
        except OSError as exc:
            self.show_status(f"Could not export the log: {exc.strerror or exc}")
            return
        self.show_status(f"Exported {count} frames to {path}")

    def show_status(self, text: str, seconds: float = NOTICE_SECONDS) -> None:
        """A passing message at the left of the status bar, for ``seconds``; the whole of
        it is its tooltip while it shows."""
        self.notice.setText(text)
        self._notice_timer.start(int(seconds * 1000))

    def _problem(self, conv: Conversation, text: str) -> None:
        listed = conv in self.rooms.rooms and conv is not self.current
        self.show_status(f"{conv.title}: {text}" if listed and conv.title else text)

    def _set_text_size(self, points: int) -> None:
        for conv in (*self.rooms.rooms, self._pending):
            conv.view.set_text_size(points)

    def _sound(self, wanted: bool) -> None:
        self.remembered.sound = wanted
        self.attention.set_sound(wanted)
        self._save()

    def _start_at_login(self, wanted: bool) -> None:
        try:
            start_at_login(wanted)
        except OSError as exc:
            self.show_status(f"Could not change Start at login: {exc.strerror or exc}")
            return
        self.show_status("desktopchat starts at login" if wanted else "No longer started at login")

    def open_link(self, link: str) -> None:
        """A link handed over by ``desktopchat LINK`` (or a second start, ``""``): come to
        the front and open the link's room in the sidebar, beside the rooms already open
        (or bring it in front, if it is open). Without a name to join as, the Join form
        asks for one."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if not link:
            return
        logger.info("a link came from another start of desktopchat")
        plain = without_secrets(link)
        for conv in self.rooms.rooms:
            if conv.opened_as is not None and conv.opened_as.address == plain:
                self.show_conversation(conv)
                return
        name = self.remembered.name
        if not name:
            self.join_page.fill(link, "")
            self.pages.setCurrentWidget(self.join_page)
            self.join_page.name.setFocus()
            return
        token = address_token(link)
        room = RecentRoom(link, name, protected=token is not None)
        conv = self._open_listed(room)
        conv.opened_as = replace(room, address=plain)
        self.show_conversation(conv)

    def bring_to_front(self) -> None:
        """Show the window with the room in front (a notification or the tray was clicked)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if self.current is not None:
            self.show_conversation(self.current)
            self.current.view.tabs.setCurrentWidget(self.current.view.text_pane)
        self.attention.looked()

    def _hint_dismissed(self) -> None:
        self.remembered.hint_seen = True
        self._save()

    def _theme_chosen(self, choice: str) -> None:
        themes = self.menus.themes
        themes.get(choice, themes["system"]).setChecked(True)

    def _about(self) -> None:
        self.about = show_about(self)

    def quit(self) -> None:
        """Quit from the tray: show the window (it may be hidden) and close it for good."""
        self._quitting = True
        self.bring_to_front()
        self.close()

    # -- page flow ----------------------------------------------------------------------------

    def show_start(self) -> None:
        """Back to the first screen."""
        self.start_page.show_recent(self.remembered.recent)
        self.pages.setCurrentWidget(self.start_page)
        self.sidebar.select(None)

    def _back(self) -> None:
        """The forms' Back: to the room in front, if one is open; else the first screen."""
        if self.current is not None:
            self.show_conversation(self.current)
        else:
            self.show_start()

    def _recent_chosen(self, room: RecentRoom) -> None:
        for conv in self.rooms.rooms:
            if conv.opened_as is not None and conv.opened_as.address == room.address:
                self.show_conversation(conv)  # open already: not a second time
                return
        if room.raw:
            self._recent_raw_chosen(room)
            return
        if room.hosted:
            token = self.vault.load(room.room, room.port) if room.protected else None
            hint = ""
            if room.protected and token is None:
                hint = (
                    "This room had a token, and this desktop's keyring does not have it: "
                    "type it again, or Generate a new one."
                )
            options = HostOptions(room.room or "chat", "", room.port, room.lan, token)
            self.host_page.fill(options, hint, had_token=room.protected)
            self.pages.setCurrentWidget(self.host_page)
            return
        token = self.vault.load_joined(room.address) if room.protected else None
        hint = ""
        if room.protected and token is None:
            hint = "This room takes a token, and this desktop's keyring does not have it."
        self.join_page.fill(room.address, room.name or self.remembered.name, token or "", hint)
        self.pages.setCurrentWidget(self.join_page)

    def _recent_raw_chosen(self, room: RecentRoom) -> None:
        kept = (self.vault.load_headers(room.address) if room.secret_headers else None) or {}
        # A secret the keyring did not keep is listed empty, to be typed again.
        headers = [*room.headers, *((name, kept.get(name, "")) for name in room.secret_headers)]
        missing = [name for name in room.secret_headers if name not in kept]
        hint = ""
        if missing:
            hint = (
                f"The value of {', '.join(missing)} was not kept: this desktop has no keyring "
                "to keep it in. Type it again under Advanced."
            )
        options = RawOptions(room.subprotocols, tuple(headers), room.origin or None, room.insecure)
        variables = self._pending.view.saved.endpoint_of(room.address).variables
        self.join_page.fill_raw(room.address, options, variables, hint)
        self.pages.setCurrentWidget(self.join_page)

    def _join_raw(self, address: str, options: RawOptions, variables: dict[str, str]) -> None:
        """Connect to a plain WebSocket, its ``{{variables}}`` filled in (the endpoint's, as
        typed on the form and kept with its saved messages); saved once it opens."""
        endpoint = self._pending.view.saved.set_variables(address, variables)
        try:
            url, expanded = expand_handshake(address, options, endpoint)
        except ValueError as exc:
            self.join_page.show_error("address", f"Not connected: {exc}")
            return
        secrets = {name: value for name, value in options.headers if is_secret_header(name)}
        saved = RecentRoom(
            address,
            raw=True,
            subprotocols=options.subprotocols,
            headers=tuple(pair for pair in options.headers if not is_secret_header(pair[0])),
            secret_headers=tuple(secrets),
            origin=options.origin or "",
            insecure=options.insecure,
        )
        self._last_raw = (saved, secrets)
        self._pending.controller.join_raw(url, expanded)

    def host_now(self, options: HostOptions) -> None:
        """Start hosting straight away (``desktopchat host``), as if the form was sent."""
        self.pages.setCurrentWidget(self.host_page)
        if options.port:
            self.host_page.port.setValue(options.port)
        self._host(options)

    def _host(self, options: HostOptions) -> None:
        self._pending.hosting = options
        self.remembered.name = options.name
        self.remembered.port = options.port or self.remembered.port
        self._pending.controller.host(options)

    def _join(self, address: str, name: str, token: str) -> None:
        self.remembered.name = name
        # The token a guest joins with is kept like the host's: keyring, or not at all.
        used = token or address_token(address)
        self._pending.opened_as = RecentRoom(address, name, protected=used is not None)
        self._pending.token = used
        self._pending.controller.join(address, name, token)

    def _send_json(self, conv: Conversation, text: str) -> None:
        conv.controller.send_json_text(text)
        conv.view.json_pane.clear_editor()

    def _host_started(self, conv: Conversation, info: HostInfo) -> None:
        conv.view.show_hosting(info)
        options = conv.hosting or HostOptions()
        # The port actually bound: a room hosted on "any free port" comes back on the same.
        kept = self.vault.save(options.room, info.port, options.token)
        if options.token is not None and not kept:
            self.show_status(
                "No keyring on this desktop, so the room's token was not kept: copy it from "
                "the hosting box into your password manager to host this room again."
            )
        # Listed by the address others join (the LAN's), not the loopback we join by.
        shared = info.app_urls[0] if info.app_urls and options.lan else info.own_url
        recent = RecentRoom(
            display_address(shared),
            hosted=True,
            room=options.room,
            port=info.port,
            lan=options.lan,
            protected=options.token is not None,
        )
        conv.opened_as = recent
        conv.token = None  # the host's token is kept above, by room and port
        self.remembered.remember(recent)
        self._save()

    def _host_failed(self, conv: Conversation, message: str, port: int) -> None:
        if conv is self._pending:
            self.host_page.show_error(message, port)
            return
        self._trouble(conv, f"not hosted: {message}")

    def _host_stopped(self, conv: Conversation) -> None:
        conv.view.show_hosting(None)
        if conv.controller.session is None:
            self._close_conversation(conv)

    def _waiting(self, conv: Conversation, waiting: bool) -> None:
        conv.view.set_waiting(waiting)
        if waiting and conv is self.current:
            self.show_status(WAITING)

    def _busy(self, conv: Conversation, busy: bool) -> None:
        if conv is self._pending:
            self.host_page.set_busy(busy)
            self.join_page.set_busy(busy)

    def _left(self, conv: Conversation) -> None:
        # A session the room had already closed sends no CLOSED on leaving: go from here.
        if not conv.controller.hosting:
            self._close_conversation(conv)

    def _back_to_start(self) -> None:
        self.attention.in_room = False
        self.attention.set_title("desktopchat")
        self.status.setText("Not in a room")
        self.menus.room.setEnabled(False)
        self.show_start()

    def _joined(
        self, conv: Conversation, room: str, name: str, members: list[str], host: str
    ) -> None:
        session = conv.controller.session
        key = f"{display_address(session.url)}" if session is not None else room
        first = not conv.entered  # later welcomes are reconnections
        if first:
            conv.entered = True
            conv.key = key
            conv.reading.start(self.remembered.read.get(key, 0))
            conv.view.reset()
            # The state came before the welcome; reset() has just shown "connecting".
            conv.view.set_state(conv.controller.state, conv.detail or conv.state)
            if conv.controller.host_info is not None:
                conv.view.show_hosting(conv.controller.host_info)
        # Hosting from this window, we are the host whatever the server was told.
        conv.view.enter(room, name, members, name if conv.controller.hosting else host)
        conv.notifications.enter(key, room)
        conv.title = f"#{room}"
        conv.host = urlsplit(session.url).netloc if session is not None else conv.host
        if conv.controller.host_info is not None:
            conv.host = f"hosted here, port {conv.controller.host_info.port}"
        if first and conv.opened_as is not None:
            self.remembered.remember(conv.opened_as)
            if not conv.opened_as.hosted:
                self.vault.save_joined(without_secrets(conv.opened_as.address), conv.token)
            conv.token = None
        if conv not in self.rooms.rooms:
            self._list(conv)
            self.show_conversation(conv)
        elif conv is self.current and self.pages.currentWidget() is conv.view:
            self.show_conversation(conv)  # its title and menus, as the welcome says
        else:  # a room in the back (or behind a form) stays there
            self.rooms.changed(conv, now=True)
        if first:
            self._save()

    def _join_failed(self, conv: Conversation, field: str, message: str, detail: str) -> None:
        if conv is not self._pending:
            self._trouble(
                conv, "identity changed" if field == "identity" else f"not joined: {message}"
            )
            if conv is not self.current or self.pages.currentWidget() is not conv.view:
                return
            # In front: the Join form, filled in, says what to change (a new token …);
            # joining from it replaces this room in the sidebar.
            if conv.opened_as is not None:
                self.join_page.fill(conv.opened_as.address, conv.opened_as.name)
        if self.pages.currentWidget() is self.host_page or conv.controller.hosting:
            self.host_page.show_error(f"Hosting started, but joining it failed: {message}")
            return
        self.join_page.show_error(field, message, detail)
        self.pages.setCurrentWidget(self.join_page)

    def _trouble(self, conv: Conversation, words: str) -> None:
        """``conv`` (listed) could not be opened: its line in the sidebar says why."""
        conv.state = conv.detail = words
        conv.trouble = "problem"
        conv.view.set_state(SessionState.CLOSED, words)
        self.rooms.changed(conv, now=True)
        if conv is self.current:
            self.status.setText(words[:1].upper() + words[1:])

    def _ask_to_trust(
        self, conv: Conversation, address: str, name: str, token: str, fingerprint: str
    ) -> None:
        """A room whose identity is new: show its fingerprint and ask, as SSH does."""
        self.confirmation = ask_to_trust(
            self,
            "Trust this room?",
            "This room's identity is new to this computer. Check with the host",
            fingerprint,
            "Its messages and your token travel encrypted to whoever holds this identity.",
            lambda: conv.controller.join(address, name, token, fingerprint),
            lambda: self._not_trusted(conv, "the room's identity"),
            self._answered,
        )

    def _ask_to_trust_raw(self, conv: Conversation, address: str, fingerprint: str) -> None:
        """An endpoint whose certificate no authority vouches for: compare, then pin."""
        self.confirmation = ask_to_trust(
            self,
            "Trust this server?",
            "No authority vouches for this server's certificate (it may be self-signed). "
            "Check with its owner",
            fingerprint,
            "",
            lambda: conv.controller.trust_raw(address, fingerprint),
            lambda: self._not_trusted(conv, "the server's identity"),
            self._answered,
            "Trust and connect",
        )

    def _not_trusted(self, conv: Conversation, what: str) -> None:
        if conv is not self._pending:
            self._trouble(conv, f"not connected: {what} was not trusted")
            return
        self.join_page.show_error("", f"Not connected: {what} was not trusted.")
        self.pages.setCurrentWidget(self.join_page)

    def _answered(self) -> None:
        self.confirmation = None

    def _state_changed(self, conv: Conversation, state: SessionState, description: str) -> None:
        conv.view.set_state(state, description)
        conv.state = STATE_WORDS[state]
        conv.detail = description
        conv.trouble = TROUBLE.get(state, "")
        if conv is self.current:
            self.status.setText(description[:1].upper() + description[1:])
        self.rooms.changed(conv, now=True)
        left = conv.controller.session is None and not conv.controller.hosting
        if state is SessionState.CLOSED and left:
            # We left on purpose; a room that closed on us stays listed with its reason.
            self._close_conversation(conv)

    def _save(self) -> None:
        self.remembered.open_rooms = [
            conv.opened_as for conv in self.rooms.rooms if conv.opened_as is not None
        ]
        try:
            self.store.save(self.remembered)
        except OSError as exc:
            self.show_status(f"Could not save settings: {exc}")

    # -- closing ------------------------------------------------------------------------------

    def _hosted(self) -> Conversation | None:
        return next((conv for conv in self.rooms.rooms if conv.controller.hosting), None)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first when hosting (everyone would be disconnected; where there is a tray,
        the room may keep running there instead); then report ``closed``."""
        hosted = self._hosted()
        if hosted is not None and not self._close_confirmed:
            event.ignore()
            keep = self.attention.tray is not None and not self._quitting
            self._ask_to_stop(
                hosted,
                "Stop hosting?",
                "Closing the window",
                "Stop and close",
                self._close,
                self._to_tray if keep else None,
            )
            self._quitting = False
            return
        self._keep_for_next_start()
        event.accept()
        self.closed.emit()

    def _keep_for_next_start(self) -> None:
        """Save where each room was read to and which rooms are open, once: leaving them
        as the window closes must not take them out of the next start."""
        for conv in self.rooms.rooms:
            self._remember_read(conv)
        self._save()
        self._closed = True

    def _close(self) -> None:
        self._close_confirmed = True
        self.close()

    def _leave_asking(self, conv: Conversation, title: str, doing: str, button: str) -> None:
        """Leave ``conv``'s room; while hosting it, only once the user agrees to stop it
        for everyone."""
        if conv.controller.hosting:
            self._ask_to_stop(conv, title, doing, button, partial(self._leave, conv))
        else:
            self._leave(conv)

    def _leave(self, conv: Conversation) -> None:
        if conv.controller.session is None and not conv.controller.hosting:
            self._close_conversation(conv)  # never joined (a restart's room that failed)
            return
        conv.controller.leave()

    def _to_tray(self) -> None:
        self.hide()
        if self.attention.tray is not None:
            self.attention.tray.showMessage(
                "desktopchat is still hosting",
                "The room keeps running. Open it again, or quit, from this icon.",
            )

    def _ask_to_stop(
        self,
        conv: Conversation,
        title: str,
        doing: str,
        button: str,
        then: Callable[[], None],
        keep: Callable[[], None] | None = None,
    ) -> None:
        """Ask whether to stop ``conv``'s hosted room, naming who would be disconnected;
        ``then`` runs if the user agrees, ``keep`` (when given) if they choose to keep
        hosting from the tray."""
        others = max(0, conv.controller.hoster.member_count() - 1)
        self.confirmation = ask_to_stop(self, title, doing, others, (button, then), keep)
        self.confirmation.finished.connect(self._answered)
