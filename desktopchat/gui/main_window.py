"""The main window: start, host, join and room pages, and the wiring to the controller."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from desktopchat.autostart import start_at_login, starts_at_login
from desktopchat.client import SessionState, display_address
from desktopchat.client.address import address_token, without_secrets
from desktopchat.client.raw import RawOptions, is_secret_header
from desktopchat.client.saved import expand_handshake
from desktopchat.client.transfers import Transfer
from desktopchat.gui.about import show_about
from desktopchat.gui.attention import Attention
from desktopchat.gui.controller import ChatController
from desktopchat.gui.elided import ElidedLabel
from desktopchat.gui.host_page import HostPage
from desktopchat.gui.hosting import HostInfo, HostOptions
from desktopchat.gui.join_page import JoinPage
from desktopchat.gui.menus import build_menus
from desktopchat.gui.notifications import NotifierBackend
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.questions import ask_to_stop, ask_to_trust
from desktopchat.gui.reading import ReadPosition
from desktopchat.gui.recent import RecentRoom, Remembered, SettingsStore
from desktopchat.gui.room_view import WAITING, RoomView
from desktopchat.gui.start_page import StartPage
from desktopchat.gui.theme import Looks
from desktopchat.gui.vault import TokenVault

NOTICE_SECONDS = 15.0
"""How long a passing message stays in the status bar."""

logger = logging.getLogger("desktopchat.gui")


class MainWindow(QMainWindow):
    """The desktopchat window. ``closed`` fires once the user has really closed it."""

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
        self.controller = controller
        self.store = store
        self.vault = vault or TokenVault()
        self._hosting: HostOptions | None = None
        self.remembered: Remembered = store.load()
        self._close_confirmed = False
        self.confirmation: QMessageBox | None = None
        self._last_join: RecentRoom | None = None
        self._last_token: str | None = None
        self.reading = ReadPosition()
        self._room_key = ""
        self._last_raw: tuple[RecentRoom, dict[str, str]] | None = None
        """The plain WebSocket connection being opened, as it will be saved, and its
        secret headers (for the keyring)."""
        self._quitting = False
        self.about: QMessageBox | None = None
        self.setWindowTitle("desktopchat")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1040, 700)
        self.attention = Attention(self, self.remembered, icon or self.windowIcon(), notifier, tray)

        self.start_page = StartPage()
        self.host_page = HostPage()
        self.join_page = JoinPage()
        self.room_view = RoomView()
        self.pages = QStackedWidget()
        for page in (self.start_page, self.host_page, self.join_page, self.room_view):
            self.pages.addWidget(page)
        self.setCentralWidget(self.pages)
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
            self.room_view.set_text_size,
            lambda: self.room_view.text_pane.view.font().pointSizeF(),
        )
        self.menus = build_menus(
            self,
            level=self.attention.notifications.set_level,
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
        self._wire_controller()

    # -- wiring -------------------------------------------------------------------------------

    def _wire_pages(self) -> None:
        self.start_page.hostChosen.connect(lambda: self.pages.setCurrentWidget(self.host_page))
        self.start_page.joinChosen.connect(lambda: self.pages.setCurrentWidget(self.join_page))
        self.start_page.recentChosen.connect(self._recent_chosen)
        self.start_page.hintDismissed.connect(self._hint_dismissed)
        self.host_page.back.connect(self.show_start)
        self.join_page.back.connect(self.show_start)
        self.host_page.hostRequested.connect(self._host)
        self.join_page.joinRequested.connect(self._join)
        self.join_page.rawJoinRequested.connect(self._join_raw)
        room = self.room_view
        room.sendText.connect(self.controller.send_text)
        room.sendJson.connect(self._send_json)
        # The Binary pane sends a file as one binary message (the tutorial's third format);
        # the Files tab and drops on the room send files of any size beside the chat.
        room.sendFile.connect(self.controller.send_file)
        files = room.files_pane
        files.sendRequested.connect(self.controller.send_paths)
        files.fetchRequested.connect(self.controller.fetch)
        files.pauseRequested.connect(self.controller.transfers.pause)
        files.resumeRequested.connect(self.controller.transfers.resume)
        files.cancelRequested.connect(self.controller.transfers.cancel)
        files.forgetRequested.connect(self._forget_transfer)
        room.sendBytes.connect(self.controller.send_bytes)
        room.exportRequested.connect(self._export)
        room.pingRequested.connect(self.controller.ping)
        room.pingEveryChanged.connect(self.controller.ping_every)
        room.closeRequested.connect(self.controller.close_raw)
        room.olderRequested.connect(self.controller.load_older)
        room.allHistoryRequested.connect(self.controller.load_all)
        room.retryRequested.connect(self.controller.retry_now)
        self.attention.openRequested.connect(self.bring_to_front)
        self.attention.seen.connect(self._looked)
        self.attention.quitRequested.connect(self.quit)
        room.leaveRequested.connect(
            lambda: self._leave_asking("Leave the room?", "Leaving", "Stop and leave")
        )
        room.stopHostingRequested.connect(
            lambda: self._leave_asking("Stop hosting?", "Stopping", "Stop hosting")
        )

    def _forget_transfer(self, transfer: Transfer) -> None:
        self.controller.transfers.forget(transfer)
        self.room_view.transfers.remove(transfer)

    def _wire_controller(self) -> None:
        c = self.controller
        room = self.room_view
        c.stateChanged.connect(self._state_changed)
        c.joined.connect(self._joined)
        c.membersChanged.connect(room.set_members)
        c.messageArrived.connect(self._arrived)
        c.messageDelivered.connect(room.mark_delivered)
        c.messageFailed.connect(room.mark_failed)
        c.olderArrived.connect(room.add_older)
        c.historyLoaded.connect(room.history_loaded)
        c.largestMessage.connect(room.binary_pane.show_limit)
        c.progress.connect(room.binary_pane.show_progress)
        c.sendFailed.connect(room.show_send_error)
        c.transferChanged.connect(room.transfers.changed)
        c.fileOffered.connect(lambda _transfer: room.file_offered())
        c.joinFailed.connect(self._join_failed)
        c.trustRequested.connect(self._ask_to_trust)
        c.rawTrustRequested.connect(self._ask_to_trust_raw)
        c.connectedRaw.connect(self._connected_raw)
        c.moment.connect(room.add_moment)
        c.hostStarted.connect(self._host_started)
        c.hostFailed.connect(self.host_page.show_error)
        c.hostStopped.connect(self._host_stopped)
        c.left.connect(self._left)
        c.outboxFull.connect(self._waiting)
        c.busy.connect(self.host_page.set_busy)
        c.busy.connect(self.join_page.set_busy)
        c.problem.connect(self.show_status)
        c.roomsFound.connect(self.join_page.found.set_rooms)
        self.pages.currentChanged.connect(
            lambda _index: c.look_for_rooms(self.pages.currentWidget() is self.join_page)
        )

    # -- living in the window ------------------------------------------------------------------

    def _arrived(self, row: MessageRow) -> None:
        if self.room_view.raw:  # a feed's frames are not messages to be told about
            self.room_view.add_row(row)
            return
        # History read on an earlier visit comes again with a rejoin: shown, not new.
        new = not self.reading.read_before(row.id)
        self.room_view.add_row(row, new)
        if not new:
            return
        if self.reading.arrived(row.id, row.own, self.attention.watching()):
            self.room_view.mark_unread_from(self.reading.line)
        self.attention.arrived(row)

    def _looked(self) -> None:
        if self.attention.in_room and not self.room_view.raw:
            self.reading.looked()
            self.remembered.mark_read(self._room_key, self.reading.upto)

    def _connected_raw(self, url: str, subprotocol: str) -> None:
        self.room_view.reset()
        self.pages.setCurrentWidget(self.room_view)
        template = url
        if self._last_raw is not None:
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
        self.room_view.enter_raw(url, subprotocol, template)
        self.menus.room.setEnabled(False)
        self.attention.in_room = True
        self.attention.set_title(f"{display_address(url)} — desktopchat")

    def _export(self, path: str) -> None:
        try:
            count = self.controller.export_log(path)
        except OSError as exc:
            self.show_status(f"Could not export the log: {exc.strerror or exc}")
            return
        self.show_status(f"Exported {count} frames to {path}")

    def show_status(self, text: str, seconds: float = NOTICE_SECONDS) -> None:
        """A passing message at the left of the status bar, for ``seconds``; the whole of
        it is its tooltip while it shows."""
        self.notice.setText(text)
        self._notice_timer.start(int(seconds * 1000))

    def _sound(self, wanted: bool) -> None:
        self.remembered.sound = wanted
        self.attention.notifications.sound = wanted
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
        the front, and show the link's room on the Join form to join with a click. The room
        in front is not left on a link's word."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if not link:
            return
        logger.info("a link came from another start of desktopchat")
        self.join_page.fill(link, self.remembered.name)
        self.pages.setCurrentWidget(self.join_page)
        self.join_page.join.setFocus()

    def bring_to_front(self) -> None:
        """Show the window with the room in front (a notification or the tray was clicked)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if self.controller.session is not None:
            self.pages.setCurrentWidget(self.room_view)
            self.room_view.tabs.setCurrentWidget(self.room_view.text_pane)
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

    def _recent_chosen(self, room: RecentRoom) -> None:
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
        variables = self.room_view.saved.endpoint_of(room.address).variables
        self.join_page.fill_raw(room.address, options, variables, hint)
        self.pages.setCurrentWidget(self.join_page)

    def _join_raw(self, address: str, options: RawOptions, variables: dict[str, str]) -> None:
        """Connect to a plain WebSocket, its ``{{variables}}`` filled in (the endpoint's, as
        typed on the form and kept with its saved messages); saved once it opens."""
        endpoint = self.room_view.saved.set_variables(address, variables)
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
        self.controller.join_raw(url, expanded)

    def host_now(self, options: HostOptions) -> None:
        """Start hosting straight away (``desktopchat host``), as if the form was sent."""
        self.pages.setCurrentWidget(self.host_page)
        if options.port:
            self.host_page.port.setValue(options.port)
        self._host(options)

    def _host(self, options: HostOptions) -> None:
        self._hosting = options
        self.remembered.name = options.name
        self.remembered.port = options.port or self.remembered.port
        self._last_join = None
        self.controller.host(options)

    def _join(self, address: str, name: str, token: str) -> None:
        self.remembered.name = name
        # The token a guest joins with is kept like the host's: keyring, or not at all.
        used = token or address_token(address)
        self._last_join = RecentRoom(address, name, protected=used is not None)
        self._last_token = used
        self.controller.join(address, name, token)

    def _send_json(self, text: str) -> None:
        self.controller.send_json_text(text)
        self.room_view.json_pane.clear_editor()

    def _host_started(self, info: HostInfo) -> None:
        self.room_view.show_hosting(info)
        options = self._hosting or HostOptions()
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
        self.remembered.remember(recent)
        self._save()

    def _host_stopped(self) -> None:
        self.room_view.show_hosting(None)
        if self.controller.session is None:
            self._back_to_start()

    def _waiting(self, waiting: bool) -> None:
        self.room_view.set_waiting(waiting)
        if waiting:
            self.show_status(WAITING)

    def _left(self) -> None:
        # A session the room had already closed sends no CLOSED on leaving: go back here.
        if not self.controller.hosting and self.pages.currentWidget() is self.room_view:
            self._back_to_start()

    def _back_to_start(self) -> None:
        if self.attention.in_room and not self.room_view.raw:
            self.remembered.mark_read(self._room_key, self.reading.upto)
            self._save()
        self.attention.in_room = False
        self.attention.notifications.read()
        self.attention.set_title("desktopchat")
        self.menus.room.setEnabled(False)
        self.show_start()

    def _joined(self, room: str, name: str, members: list[str], host: str) -> None:
        session = self.controller.session
        key = f"{display_address(session.url)}" if session is not None else room
        if self.pages.currentWidget() is not self.room_view:
            self._room_key = key
            self.reading.start(self.remembered.read.get(key, 0))
            self.room_view.reset()
            if self.controller.host_info is not None:
                self.room_view.show_hosting(self.controller.host_info)
            self.pages.setCurrentWidget(self.room_view)
        # Hosting from this window, we are the host whatever the server was told.
        self.room_view.enter(room, name, members, name if self.controller.hosting else host)
        notifications = self.attention.notifications
        notifications.enter(key, room)
        self.menus.levels[notifications.level].setChecked(True)
        self.menus.room.setEnabled(True)
        self.attention.in_room = True
        self.attention.set_title(f"#{room} — desktopchat")
        if self._last_join is not None:
            self.remembered.remember(self._last_join)
            self.vault.save_joined(without_secrets(self._last_join.address), self._last_token)
            self._last_join = self._last_token = None
            self._save()

    def _join_failed(self, field: str, message: str, detail: str) -> None:
        if self.pages.currentWidget() is self.host_page or self.controller.hosting:
            self.host_page.show_error(f"Hosting started, but joining it failed: {message}")
            return
        self.join_page.show_error(field, message, detail)
        self.pages.setCurrentWidget(self.join_page)

    def _ask_to_trust(self, address: str, name: str, token: str, fingerprint: str) -> None:
        """A room whose identity is new: show its fingerprint and ask, as SSH does."""
        self.confirmation = ask_to_trust(
            self,
            "Trust this room?",
            "This room's identity is new to this computer. Check with the host",
            fingerprint,
            "Its messages and your token travel encrypted to whoever holds this identity.",
            lambda: self.controller.join(address, name, token, fingerprint),
            lambda: self._not_trusted("the room's identity"),
            self._answered,
        )

    def _ask_to_trust_raw(self, address: str, fingerprint: str) -> None:
        """An endpoint whose certificate no authority vouches for: compare, then pin."""
        self.confirmation = ask_to_trust(
            self,
            "Trust this server?",
            "No authority vouches for this server's certificate (it may be self-signed). "
            "Check with its owner",
            fingerprint,
            "",
            lambda: self.controller.trust_raw(address, fingerprint),
            lambda: self._not_trusted("the server's identity"),
            self._answered,
            "Trust and connect",
        )

    def _not_trusted(self, what: str) -> None:
        self.join_page.show_error("", f"Not connected: {what} was not trusted.")
        self.pages.setCurrentWidget(self.join_page)

    def _answered(self) -> None:
        self.confirmation = None

    def _state_changed(self, state: SessionState, description: str) -> None:
        self.status.setText(description[:1].upper() + description[1:])
        self.room_view.set_state(state, description)
        left = self.controller.session is None and not self.controller.hosting
        if state is SessionState.CLOSED and left and self.pages.currentWidget() is self.room_view:
            # We left on purpose; a room that closed on us stays on screen with its reason.
            self._back_to_start()

    def _save(self) -> None:
        try:
            self.store.save(self.remembered)
        except OSError as exc:
            self.show_status(f"Could not save settings: {exc}")

    # -- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first when hosting (everyone would be disconnected; where there is a tray,
        the room may keep running there instead); then report ``closed``."""
        if self.controller.hosting and not self._close_confirmed:
            event.ignore()
            keep = self.attention.tray is not None and not self._quitting
            self._ask_to_stop(
                "Stop hosting?",
                "Closing the window",
                "Stop and close",
                self._close,
                self._to_tray if keep else None,
            )
            self._quitting = False
            return
        if self.attention.in_room and not self.room_view.raw:
            self.remembered.mark_read(self._room_key, self.reading.upto)
        self._save()
        event.accept()
        self.closed.emit()

    def _close(self) -> None:
        self._close_confirmed = True
        self.close()

    def _leave_asking(self, title: str, doing: str, button: str) -> None:
        """Leave the room; while hosting, only once the user agrees to stop it for everyone."""
        if self.controller.hosting:
            self._ask_to_stop(title, doing, button, self.controller.leave)
        else:
            self.controller.leave()

    def _to_tray(self) -> None:
        self.hide()
        if self.attention.tray is not None:
            self.attention.tray.showMessage(
                "desktopchat is still hosting",
                "The room keeps running. Open it again, or quit, from this icon.",
            )

    def _ask_to_stop(
        self,
        title: str,
        doing: str,
        button: str,
        then: Callable[[], None],
        keep: Callable[[], None] | None = None,
    ) -> None:
        """Ask whether to stop the hosted room, naming who would be disconnected; ``then``
        runs if the user agrees, ``keep`` (when given) if they choose to keep hosting from
        the tray."""
        others = max(0, self.controller.hoster.member_count() - 1)
        self.confirmation = ask_to_stop(self, title, doing, others, (button, then), keep)
        self.confirmation.finished.connect(self._answered)
