"""The main window: start, host, join and room pages, and the wiring to the controller."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QStackedWidget, QWidget

from desktopchat.client import SessionState, display_address
from desktopchat.gui.controller import ChatController
from desktopchat.gui.host_page import HostPage
from desktopchat.gui.hosting import HostInfo, HostOptions
from desktopchat.gui.join_page import JoinPage
from desktopchat.gui.recent import RecentRoom, Remembered, SettingsStore
from desktopchat.gui.room_view import RoomView
from desktopchat.gui.start_page import StartPage
from desktopchat.gui.vault import TokenVault
from desktopchat.protocol.fingerprints import readable


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
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.store = store
        self.vault = vault or TokenVault()
        self._hosting: HostOptions | None = None
        self.remembered: Remembered = store.load()
        self._close_confirmed = False
        self.confirmation: QMessageBox | None = None
        self._last_join: RecentRoom | None = None
        self.setWindowTitle("desktopchat")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1040, 700)

        self.start_page = StartPage()
        self.host_page = HostPage()
        self.join_page = JoinPage()
        self.room_view = RoomView()
        self.pages = QStackedWidget()
        for page in (self.start_page, self.host_page, self.join_page, self.room_view):
            self.pages.addWidget(page)
        self.setCentralWidget(self.pages)
        self.status = QLabel("Not in a room")
        self.statusBar().addPermanentWidget(self.status, 1)

        self.host_page.name.setText(self.remembered.name)
        self.host_page.port.setValue(self.remembered.port)
        self.join_page.name.setText(self.remembered.name)
        self.start_page.show_recent(self.remembered.recent)
        self._wire_pages()
        self._wire_controller()

    # -- wiring -------------------------------------------------------------------------------

    def _wire_pages(self) -> None:
        self.start_page.hostChosen.connect(lambda: self.pages.setCurrentWidget(self.host_page))
        self.start_page.joinChosen.connect(lambda: self.pages.setCurrentWidget(self.join_page))
        self.start_page.recentChosen.connect(self._recent_chosen)
        self.host_page.back.connect(self.show_start)
        self.join_page.back.connect(self.show_start)
        self.host_page.hostRequested.connect(self._host)
        self.join_page.joinRequested.connect(self._join)
        room = self.room_view
        room.sendText.connect(self.controller.send_text)
        room.sendJson.connect(self._send_json)
        room.sendFile.connect(self.controller.send_file)
        room.olderRequested.connect(self.controller.load_older)
        room.leaveRequested.connect(
            lambda: self._leave_asking("Leave the room?", "Leaving", "Stop and leave")
        )
        room.stopHostingRequested.connect(
            lambda: self._leave_asking("Stop hosting?", "Stopping", "Stop hosting")
        )

    def _wire_controller(self) -> None:
        c = self.controller
        room = self.room_view
        c.stateChanged.connect(self._state_changed)
        c.joined.connect(self._joined)
        c.membersChanged.connect(room.set_members)
        c.messageArrived.connect(room.add_row)
        c.messageDelivered.connect(room.mark_delivered)
        c.messageFailed.connect(room.mark_failed)
        c.olderArrived.connect(room.add_older)
        c.largestMessage.connect(room.binary_pane.show_limit)
        c.progress.connect(room.binary_pane.show_progress)
        c.sendFailed.connect(room.show_send_error)
        c.joinFailed.connect(self._join_failed)
        c.trustRequested.connect(self._ask_to_trust)
        c.hostStarted.connect(self._host_started)
        c.hostFailed.connect(self.host_page.show_error)
        c.hostStopped.connect(self._host_stopped)
        c.busy.connect(self.host_page.set_busy)
        c.busy.connect(self.join_page.set_busy)
        c.problem.connect(self.statusBar().showMessage)
        c.roomsFound.connect(self.join_page.found.set_rooms)
        self.pages.currentChanged.connect(
            lambda _index: c.look_for_rooms(self.pages.currentWidget() is self.join_page)
        )

    # -- page flow ----------------------------------------------------------------------------

    def show_start(self) -> None:
        """Back to the first screen."""
        self.start_page.show_recent(self.remembered.recent)
        self.pages.setCurrentWidget(self.start_page)

    def _recent_chosen(self, room: RecentRoom) -> None:
        if room.hosted:
            token = self.vault.load(room.room, room.port) if room.protected else None
            hint = ""
            if room.protected and token is None:
                hint = "This room had a token: type it again (the keyring does not have it)."
            options = HostOptions(room.room or "chat", "", room.port, room.lan, token)
            self.host_page.fill(options, hint)
            self.pages.setCurrentWidget(self.host_page)
            return
        self.join_page.fill(room.address, room.name or self.remembered.name)
        self.pages.setCurrentWidget(self.join_page)

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
        self._last_join = RecentRoom(address, name)
        self.controller.join(address, name, token)

    def _send_json(self, text: str) -> None:
        self.controller.send_json_text(text)
        self.room_view.json_pane.clear_editor()

    def _host_started(self, info: HostInfo) -> None:
        self.room_view.show_hosting(info)
        options = self._hosting or HostOptions()
        # The port actually bound: a room hosted on "any free port" comes back on the same.
        self.vault.save(options.room, info.port, options.token)
        recent = RecentRoom(
            display_address(info.own_url),
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

    def _back_to_start(self) -> None:
        self.setWindowTitle("desktopchat")
        self.show_start()

    def _joined(self, room: str, name: str, members: list[str]) -> None:
        if self.pages.currentWidget() is not self.room_view:
            self.room_view.reset()
            if self.controller.host_info is not None:
                self.room_view.show_hosting(self.controller.host_info)
            self.pages.setCurrentWidget(self.room_view)
        self.room_view.enter(room, name, members)
        self.setWindowTitle(f"#{room} — desktopchat")
        if self._last_join is not None:
            self.remembered.remember(self._last_join)
            self._last_join = None
            self._save()

    def _join_failed(self, field: str, message: str) -> None:
        if self.pages.currentWidget() is self.host_page or self.controller.hosting:
            self.host_page.show_error(f"Hosting started, but joining it failed: {message}")
            return
        self.join_page.show_error(field, message)
        self.pages.setCurrentWidget(self.join_page)

    def _ask_to_trust(self, address: str, name: str, token: str, fingerprint: str) -> None:
        """A room whose identity is new: show its fingerprint and ask, as SSH does."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Trust this room?",
            "This room's identity is new to this computer. Check with the host that it reads\n\n"
            f"{readable(fingerprint)}\n\nbefore you trust it. Its messages and your token "
            "travel encrypted to whoever holds this identity.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        trust = box.addButton("Trust and join", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered() -> None:
            self.confirmation = None
            if box.clickedButton() is trust:
                self.controller.join(address, name, token, fingerprint)
            else:
                self.join_page.show_error("", "Not joined: the room's identity was not trusted.")
                self.pages.setCurrentWidget(self.join_page)

        box.finished.connect(answered)
        self.confirmation = box
        box.open()

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
            self.statusBar().showMessage(f"could not save settings: {exc}", 8000)

    # -- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first when hosting (everyone would be disconnected); then report ``closed``."""
        if self.controller.hosting and not self._close_confirmed:
            event.ignore()
            self._ask_to_stop("Stop hosting?", "Closing the window", "Stop and close", self._close)
            return
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

    def _ask_to_stop(self, title: str, doing: str, button: str, then: Callable[[], None]) -> None:
        """Ask whether to stop the hosted room, naming who would be disconnected; ``then``
        runs if the user agrees."""
        others = max(0, self.controller.hoster.member_count() - 1)
        who = (
            f" and disconnects {others} other member{'s' if others != 1 else ''}"
            if others
            else "; nobody else is in it right now"
        )
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            f"You are hosting this room. {doing} stops it{who}.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        stop = box.addButton(button, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered() -> None:
            self.confirmation = None
            if box.clickedButton() is stop:
                then()

        # open(), not exec(): a nested event loop would stall the asyncio loop under qasync.
        box.finished.connect(answered)
        self.confirmation = box
        box.open()
