"""The first screen: Host a room, Join a room, and the rooms used recently."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.recent import RecentRoom


class StartPage(QWidget):
    """Two clear choices and the recent rooms (double-click joins again)."""

    hostChosen = Signal()
    joinChosen = Signal()
    recentChosen = Signal(object)  # RecentRoom
    hintDismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("desktopchat")
        title.setObjectName("title")
        subtitle = QLabel("Chat with everyone on your network — text, JSON and files.")
        subtitle.setObjectName("subtitle")

        self.host_button = QPushButton("Host a room")
        self.host_button.setObjectName("primary")
        self.host_button.setToolTip("Run a room on this computer that others on the LAN can join")
        self.host_button.clicked.connect(self.hostChosen)
        self.join_button = QPushButton("Join a room")
        self.join_button.setObjectName("choice")
        self.join_button.setToolTip("Join a room somebody else hosts")
        self.join_button.clicked.connect(self.joinChosen)
        for button in (self.host_button, self.join_button):
            button.setMinimumHeight(64)

        self.hint = QFrame()
        self.hint.setObjectName("firstRun")
        hint_text = QLabel(
            "<b>New here?</b> <b>Host a room</b> to chat with people on this network: the "
            "room's link and QR code let them in, from this app or any browser. Or "
            "<b>Join a room</b> someone else hosts; rooms nearby are listed for you."
        )
        hint_text.setWordWrap(True)
        got_it = QPushButton("Got it")
        got_it.clicked.connect(self._dismiss_hint)
        hint_row = QHBoxLayout(self.hint)
        hint_row.addWidget(hint_text, 1)
        hint_row.addWidget(got_it, 0, Qt.AlignmentFlag.AlignTop)
        self.hint.hide()

        choices = QHBoxLayout()
        choices.addWidget(self.host_button)
        choices.addWidget(self.join_button)

        self.recent = QListWidget()
        self.recent.setObjectName("recent")
        self.recent.itemActivated.connect(self._recent_activated)
        recent_label = QLabel("Recent rooms and connections")
        recent_label.setObjectName("section")
        self.empty_hint = QLabel("Rooms you host or join will be listed here.")
        self.empty_hint.setObjectName("hint")

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(subtitle, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addSpacing(24)
        column.addWidget(self.hint)
        column.addLayout(choices)
        column.addSpacing(24)
        column.addWidget(recent_label)
        column.addWidget(self.recent, 2)
        column.addWidget(self.empty_hint)
        column.addStretch(1)

        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 3)
        outer.addStretch(1)

    def show_recent(self, rooms: list[RecentRoom]) -> None:
        """List ``rooms``, newest first."""
        self.recent.clear()
        for room in rooms:
            if room.raw:
                label = f"WebSocket: {room.address}"
                if room.subprotocols:
                    label += f"  —  {', '.join(room.subprotocols)}"
            else:
                label = f"{'Hosted: ' if room.hosted else ''}{room.address}"
            if room.name:
                label += f"  —  as {room.name}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, room)
            self.recent.addItem(item)
        self.recent.setVisible(bool(rooms))
        self.empty_hint.setVisible(not rooms)

    def _dismiss_hint(self) -> None:
        self.hint.hide()
        self.hintDismissed.emit()

    def _recent_activated(self, item: QListWidgetItem) -> None:
        self.recentChosen.emit(item.data(Qt.ItemDataRole.UserRole))
