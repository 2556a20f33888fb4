"""Where others can join a room we host: links with copy buttons, the identity, a QR code."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client import display_address
from desktopchat.gui.hosting import HostInfo
from desktopchat.gui.qr import qr_pixmap
from desktopchat.protocol.fingerprints import readable


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
