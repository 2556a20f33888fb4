"""Getting the user's attention for a room they are not looking at: the unread count in the
window title, the tray and the taskbar badge, the urgency hint, and notifications."""

from __future__ import annotations

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
    """Watches ``window``: whether it is in front and showing the room (``in_room``), and
    tells :class:`Notifications` so. ``openRequested`` when the user asks to see the room
    (a notification or the tray was clicked); ``quitRequested`` from the tray."""

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
        self.notifications = Notifications(remembered, backend, parent=self)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_MS)
        self._count_timer.timeout.connect(self._show_latest)
        self._shown_count = 0
        self._alerted = False
        self.notifications.unreadChanged.connect(self._unread_changed)
        self.notifications.opened.connect(self.openRequested)
        if self.tray is not None:
            self.tray.showRequested.connect(self.openRequested)
            self.tray.quitRequested.connect(self.quitRequested)
            self.tray.muteChanged.connect(
                lambda on: self.notifications.mute_for(MUTE_SECONDS if on else 0)
            )
            self.tray.show()
        window.installEventFilter(self)

    def watching(self) -> bool:
        """Whether the user has the room in front of them right now."""
        window = self._window
        return (
            self.in_room
            and window.isVisible()
            and window.isActiveWindow()
            and not window.isMinimized()
        )

    def arrived(self, row: MessageRow) -> None:
        """A message arrived in the room."""
        if row.own:
            return
        watching = self.watching()
        self.notifications.arrived(row, watching)
        if not watching and self._window.isVisible() and not self._alerted:
            QApplication.alert(self._window)  # it stays raised until the window is seen
            self._alerted = True

    def set_title(self, title: str) -> None:
        """The window's title before the unread count."""
        self.title = title
        self._show_unread(self.notifications.unread)

    def looked(self) -> None:
        """The user may be looking at the room now: clear what is unread if so."""
        if self.watching():
            self.notifications.read()
            self.seen.emit()

    def _unread_changed(self, count: int) -> None:
        # The first change shows at once, later ones within COUNT_MS; clearing is at once.
        if count == 0:
            self._alerted = False
        if count == 0 or not self._count_timer.isActive():
            self._count_timer.start()
            self._show_unread(count)

    def _show_latest(self) -> None:
        if self._shown_count != self.notifications.unread:
            self._count_timer.start()
            self._show_unread(self.notifications.unread)

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
