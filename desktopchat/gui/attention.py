"""Getting the user's attention for a room they are not looking at: the unread count in the
window title, the tray and the taskbar badge, the urgency hint, and notifications."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMainWindow, QSystemTrayIcon

from desktopchat.assets import resource
from desktopchat.gui.notifications import Notifications, NotifierBackend, TrayNotifier
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.recent import Remembered
from desktopchat.gui.tray import MUTE_SECONDS, Tray

COUNT_MS = 250
"""The unread count on the title, tray icon and badge changes at most this often: a busy
room in the background would otherwise repaint the tray icon and retitle the window (a
round trip to the window system each) for every message."""


class Attention(QObject):
    """Watches ``window``: whether it is in front and showing a room (``in_room``, the room
    whose :class:`Notifications` is ``notifications``), and tells every open room's
    notifications so. The title, tray and badge count what is unread in every room but the
    muted ones. ``openRequested`` when the user asks to see the window (the tray was
    clicked); ``quitRequested`` from the tray."""

    openRequested = Signal()
    quitRequested = Signal()
    seen = Signal()  # the user has the room in front of them: it is read

    def __init__(
        self,
        window: QMainWindow,
        remembered: Remembered,
        icon: QIcon,
        backend: NotifierBackend | None = None,
        tray: bool | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.in_room = False
        self.title = "desktopchat"
        has_tray = QSystemTrayIcon.isSystemTrayAvailable() if tray is None else tray
        if icon.isNull():
            icon = QIcon(str(resource("icons", "desktopchat.svg")))
        self.tray: Tray | None = Tray(icon, window) if has_tray else None
        if backend is None and self.tray is not None:
            backend = TrayNotifier(self.tray)
        self._remembered = remembered
        self.backend = backend
        self.notifications = Notifications(remembered, backend, parent=self)
        """The notifications of the room in front (or of the room about to be opened)."""
        self.rooms: list[Notifications] = [self.notifications]
        """Every open room's notifications."""
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_MS)
        self._count_timer.timeout.connect(self._show_latest)
        self._shown_count = 0
        self._alerted = False
        self.notifications.unreadChanged.connect(self._unread_changed)
        self._muted_until = 0.0
        if self.tray is not None:
            self.tray.showRequested.connect(self.openRequested)
            self.tray.quitRequested.connect(self.quitRequested)
            self.tray.muteChanged.connect(lambda on: self.mute_for(MUTE_SECONDS if on else 0))
            self.tray.show()
        window.installEventFilter(self)

    def add_room(self) -> Notifications:
        """The notifications of one more open room (as loud and as muted as the others)."""
        added = Notifications(self._remembered, self.backend, parent=self)
        added.sound = self.notifications.sound
        left = self._muted_until - time.monotonic()
        if left > 0:  # "mute for an hour" covers a room opened during it, to its end
            added.mute_for(left)
        added.unreadChanged.connect(self._unread_changed)
        self.rooms.append(added)
        return added

    def drop_room(self, notifications: Notifications) -> None:
        """A room was left: its notification goes, its count leaves the total."""
        if notifications in self.rooms:
            self.rooms.remove(notifications)
        notifications.read()
        self._unread_changed(self.unread)

    def show_room(self, notifications: Notifications) -> None:
        """``notifications``' room is the one in front now."""
        self.notifications = notifications

    def mute_for(self, seconds: float) -> None:
        """Notify nothing from any room for ``seconds`` (0: notify again now)."""
        self._muted_until = time.monotonic() + seconds if seconds else 0.0
        for room in self.rooms:
            room.mute_for(seconds)

    def set_sound(self, wanted: bool) -> None:
        """Mentions and direct messages chime, in every room."""
        for room in self.rooms:
            room.sound = wanted

    @property
    def unread(self) -> int:
        """What is unread in every room that is not muted."""
        return sum(room.unread for room in self.rooms if not room.off)

    def watching(self) -> bool:
        """Whether the user has the room in front of them right now."""
        window = self._window
        return (
            self.in_room
            and window.isVisible()
            and window.isActiveWindow()
            and not window.isMinimized()
        )

    def arrived(self, row: MessageRow, room: Notifications | None = None) -> None:
        """A message arrived in ``room`` (default: the room in front)."""
        if row.own:
            return
        room = room or self.notifications
        watching = room is self.notifications and self.watching()
        room.arrived(row, watching)
        if watching or (room.off and not row.mentioned):
            return
        if self._window.isVisible() and not self._alerted:
            QApplication.alert(self._window)  # it stays raised until the window is seen
            self._alerted = True

    def set_title(self, title: str) -> None:
        """The window's title before the unread count."""
        self.title = title
        self._show_unread(self.unread)

    def looked(self) -> None:
        """The user may be looking at the room now: clear what is unread if so."""
        if self.watching():
            self.notifications.read()
            self.seen.emit()

    def _unread_changed(self, _room_count: int = 0) -> None:
        # The first change shows at once, later ones within COUNT_MS; clearing is at once.
        count = self.unread
        if count == 0:
            self._alerted = False
        if count == 0 or not self._count_timer.isActive():
            self._count_timer.start()
            self._show_unread(count)

    def _show_latest(self) -> None:
        if self._shown_count != self.unread:
            self._count_timer.start()
            self._show_unread(self.unread)

    def _show_unread(self, count: int) -> None:
        self._shown_count = count
        self._window.setWindowTitle(f"({count}) {self.title}" if count else self.title)
        if self.tray is not None:
            self.tray.set_unread(count)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.setBadgeNumber(count)  # the taskbar/dock badge, where the desktop has one

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Coming to the front (or being shown again) reads the room."""
        if watched is self._window and event.type() in (
            QEvent.Type.ActivationChange,
            QEvent.Type.WindowStateChange,
            QEvent.Type.Show,
        ):
            self.looked()
        return False
