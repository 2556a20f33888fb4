"""The tray icon, where the desktop has one: Show, Mute for 1 hour, Quit, the unread count."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

MUTE_SECONDS = 3600


def badged(icon: QIcon, count: int, size: int = 64) -> QIcon:
    """``icon`` with ``count`` in a red disc at its corner (``icon`` itself for 0)."""
    if count <= 0:
        return icon
    pixmap = icon.pixmap(size, size)
    if pixmap.isNull():
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    disc = QRect(size // 3, size // 3, size * 2 // 3, size * 2 // 3)
    painter.setBrush(QColor("#d93025"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(disc)
    font = QFont()
    font.setPixelSize(size // 3)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(disc, int(Qt.AlignmentFlag.AlignCenter), str(count) if count < 100 else "99+")
    painter.end()
    return QIcon(pixmap)


class Tray(QSystemTrayIcon):
    """The tray icon and its menu. Build it only when ``isSystemTrayAvailable()``: a window
    must never hide into a tray that is not there."""

    showRequested = Signal()
    quitRequested = Signal()
    muteChanged = Signal(bool)

    def __init__(self, icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(icon, parent)
        self._icon = icon
        menu = QMenu(parent)
        menu.addAction("Show desktopchat", self.showRequested.emit)
        self.mute: QAction = menu.addAction("Mute notifications for 1 hour")
        self.mute.setCheckable(True)
        self.mute.toggled.connect(self.muteChanged)
        menu.addSeparator()
        menu.addAction("Quit", self.quitRequested.emit)
        self.setContextMenu(menu)
        self._menu = menu
        self.activated.connect(self._activated)
        self.set_unread(0)

    def set_unread(self, count: int) -> None:
        """Show ``count`` unread messages on the icon and in its tooltip."""
        self.setIcon(badged(self._icon, count))
        self.setToolTip(f"desktopchat: {count} unread" if count else "desktopchat")

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.showRequested.emit()
