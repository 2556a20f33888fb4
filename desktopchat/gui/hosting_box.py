"""Where others can join a room we host: links with copy buttons, the identity, a QR code."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.client import display_address
from desktopchat.gui.elided import ElidedLabel, wrapping
from desktopchat.gui.hosting import HostInfo
from desktopchat.gui.qr import qr_pixmap
from desktopchat.protocol.fingerprints import readable


class HostingBox(QFrame):
    """Where others can join (with copy buttons and a QR code), and Stop hosting."""

    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hostingBox")
        # As tall as it needs, never taller: the member list above takes the rest.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
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
        self.fingerprint = wrapping(QLabel())
        self.fingerprint.setObjectName("hint")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.hide()
        self.warning = wrapping(QLabel())
        self.warning.setObjectName("error")
        self.warning.hide()
        self.token: ElidedLabel | None = None
        # Links, identity and QR code fold away: a host who has shared the room wants the
        # member list back, not half the side bar taken by the box.
        self.details = QWidget()
        inside = QVBoxLayout(self.details)
        inside.setContentsMargins(0, 0, 0, 0)
        inside.addWidget(self.warning)
        inside.addWidget(self.fingerprint)
        inside.addLayout(self._grid)
        inside.addWidget(self.qr)
        self.fold = QToolButton()
        self.fold.setCheckable(True)
        self.fold.setAutoRaise(True)
        self.fold.toggled.connect(self._folded)
        self._folded(False)
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.fold)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.details)
        layout.addWidget(stop)

    def _folded(self, folded: bool) -> None:
        self.details.setVisible(not folded)
        self.fold.setArrowType(Qt.ArrowType.RightArrow if folded else Qt.ArrowType.DownArrow)
        self.fold.setToolTip("Show the links and the QR code" if folded else "Fold them away")

    def show_info(self, info: HostInfo) -> None:
        """List the join links (and addresses) of ``info``, each with a copy button, its
        fingerprint in readable groups, and a QR code of the first link."""
        _clear(self._grid)
        self.token = None
        rows = [("Link", url) for url in info.links] + [("App", url) for url in info.app_urls]
        if not info.links:
            rows += [("Browser", url) for url in info.browser_urls]
        for number, (kind, url) in enumerate(rows):
            label = ElidedLabel(f"{kind}: {display_address(url)}")
            copy = QToolButton()
            copy.setText("Copy")
            copy.setToolTip(f"Copy {kind.lower()} (whoever has it may join)")
            copy.clicked.connect(lambda _checked=False, text=url: copy_text(text))
            self._grid.addWidget(label, number, 0)
            self._grid.addWidget(copy, number, 1)
        if info.token is not None:
            self._token_row(len(rows), info.token)
        self.fingerprint.setVisible(info.fingerprint is not None)
        if info.fingerprint is not None:
            self.fingerprint.setText(f"Identity: {readable(info.fingerprint)}\n{BROWSER_GUESTS}")
        self.warning.setText(info.warning[:1].upper() + info.warning[1:])
        self.warning.setVisible(bool(info.warning))
        # A loopback address is no use to a phone: no QR code when nobody else can join.
        shared = (info.links or info.browser_urls)[:1]
        code = shared[0] if shared and not info.warning else ""
        self.qr.setVisible(bool(code))
        if code:
            self.qr.setPixmap(qr_pixmap(code, 150))

    def _token_row(self, row: int, token: str) -> None:
        """The room's token, hidden until asked for, with Show and Copy: the host may need
        to tell it to someone, or keep it where the keyring cannot (no keyring)."""
        self.token = ElidedLabel(f"Token: {HIDDEN}")
        self.token.setToolTip("The room's token: whoever has it may join")
        show = QToolButton()
        show.setText("Show")
        show.setCheckable(True)
        show.toggled.connect(
            lambda shown: self.token.setText(f"Token: {token if shown else HIDDEN}")
        )
        copy = QToolButton()
        copy.setText("Copy")
        copy.setToolTip("Copy the token (whoever has it may join)")
        copy.clicked.connect(lambda _checked=False: copy_text(token))
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(show)
        buttons.addWidget(copy)
        self._grid.addWidget(self.token, row, 0)
        self._grid.addLayout(buttons, row, 1)


BROWSER_GUESTS = (
    "Browsers first warn “Your connection is not private” (the room's certificate is its "
    "own): guests may go on, comparing its SHA-256 fingerprint with this identity."
)
"""What the host should know of what browser guests will see."""

HIDDEN = "••••••••"
"""How a token looks until the host asks to see it."""


def _clear(layout: QLayout) -> None:
    """Take every item out of ``layout``, deleting its widgets and nested layouts' widgets."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            continue
        widget, inner = item.widget(), item.layout()
        if widget is not None:
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)
            inner.deleteLater()


def copy_text(text: str) -> None:
    """Put ``text`` on the clipboard."""
    QGuiApplication.clipboard().setText(text)
