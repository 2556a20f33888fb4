"""The rooms open in the window at once: each room's parts, the sidebar that lists them with
their unread counts, and the Ctrl+K switcher.

A :class:`Conversation` is one room's controller (its session, resume and outbox), its
:class:`~desktopchat.gui.room_view.RoomView`, its read position and its notifications; the
window keeps every one of them connected, in front or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.notifications import Notifications
from desktopchat.gui.reading import ReadPosition
from desktopchat.gui.recent import RecentRoom
from desktopchat.gui.room_view import RoomView

REPAINT_MS = 250
"""A room's line in the sidebar changes at most this often: 19 busy rooms in the background
would otherwise ask for a repaint with every message."""

ACCENT = QColor("#2f6fde")
MENTION = QColor("#d93025")
STATE_COLOURS = {"problem": QColor("#d93025"), "waiting": QColor("#e0a100")}


@dataclass(eq=False)
class Conversation:
    """One room open in the window (or being opened from the Join or Host form)."""

    controller: ChatController
    view: RoomView
    notifications: Notifications
    reading: ReadPosition = field(default_factory=ReadPosition)
    key: str = ""
    """The room's address: where its read position, notification level and book live."""
    title: str = ""
    """As the sidebar names it: ``#chat``, or a plain WebSocket's address."""
    host: str = ""
    """Where it is: the host's address."""
    state: str = "connecting"
    """Its connection in a word or two."""
    detail: str = ""
    """Its connection in a sentence (the status line's, the tooltip's)."""
    trouble: str = ""
    """``"problem"`` (closed, refused, identity changed), ``"waiting"`` (reconnecting) or
    ``""``: how the sidebar colours its state."""
    entered: bool = False
    """Whether the room has been joined once (later welcomes are reconnections)."""
    opened_as: RecentRoom | None = None
    """How to open it again after a restart (``None``: it is not reopened)."""
    token: str | None = None
    hosting: HostOptions | None = None
    """What the room was hosted with, when this window hosts it."""
    peer: str = ""
    """For a direct conversation: the other person."""
    via: Conversation | None = None
    """For a direct conversation: the room it goes through (whose controller it shares)."""
    oldest: int | None = None
    """For a direct conversation: the oldest message id shown (older pages start there)."""
    """The token it was joined with, for the keyring once joined (then forgotten)."""

    @property
    def unread(self) -> int:
        """Messages that arrived while the user was not looking at this room."""
        return self.notifications.unread

    @property
    def mentioned(self) -> bool:
        """Whether a mention (or a direct message to us) is among the unread."""
        return self.notifications.mentions > 0

    @property
    def muted(self) -> bool:
        """Muted from the sidebar: no notification, no count in the title and tray."""
        return self.notifications.off


class ConversationModel(QAbstractListModel):
    """The open rooms, in the order they were opened, for the sidebar and the switcher."""

    HostRole = Qt.ItemDataRole.UserRole + 1
    StateRole = Qt.ItemDataRole.UserRole + 2
    UnreadRole = Qt.ItemDataRole.UserRole + 3
    MentionRole = Qt.ItemDataRole.UserRole + 4
    MutedRole = Qt.ItemDataRole.UserRole + 5
    TroubleRole = Qt.ItemDataRole.UserRole + 6

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rooms: list[Conversation] = []
        self._dirty: set[Conversation] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._repaint)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """How many rooms are open."""
        return 0 if parent.isValid() else len(self.rooms)

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """A room's name, host, state and counts, by role."""
        if not index.isValid() or not 0 <= index.row() < len(self.rooms):
            return None
        room = self.rooms[index.row()]
        values: dict[int, Callable[[], Any]] = {
            Qt.ItemDataRole.DisplayRole: lambda: room.title or room.host,
            Qt.ItemDataRole.ToolTipRole: lambda: (
                f"{room.title} on {room.host}: {room.detail or room.state}"
            ),
            self.HostRole: lambda: room.host,
            self.StateRole: lambda: room.state,
            self.UnreadRole: lambda: room.unread,
            self.MentionRole: lambda: room.mentioned,
            self.MutedRole: lambda: room.muted,
            self.TroubleRole: lambda: room.trouble,
        }
        value = values.get(role)
        return value() if value is not None else None

    def add(self, room: Conversation) -> None:
        """List ``room`` last."""
        self.beginInsertRows(QModelIndex(), len(self.rooms), len(self.rooms))
        self.rooms.append(room)
        self.endInsertRows()

    def remove(self, room: Conversation) -> None:
        """No longer list ``room``."""
        if room not in self.rooms:
            return
        row = self.rooms.index(room)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.rooms[row]
        self.endRemoveRows()
        self._dirty.discard(room)

    def changed(self, room: Conversation, now: bool = False) -> None:
        """``room``'s line is to be shown again: at once with ``now`` (a state, a
        switch), else with the next batch (counts, at most every :data:`REPAINT_MS`)."""
        self._dirty.add(room)
        if now:
            self._repaint()
        elif not self._timer.isActive():
            self._timer.start()

    def row_of(self, room: Conversation) -> QModelIndex:
        """``room``'s index (invalid if it is not listed)."""
        return self.index(self.rooms.index(room)) if room in self.rooms else QModelIndex()

    def _repaint(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for room in dirty:
            index = self.row_of(room)
            if index.isValid():
                self.dataChanged.emit(index, index)


class ConversationDelegate(QStyledItemDelegate):
    """Paints a room as two lines, name over host and state, with its unread count in a
    pill on the right (red when a mention waits); a muted room in the placeholder colour."""

    PADDING = 6

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Two lines of text and the padding."""
        lines = QFontMetrics(option.font).height() * 2
        return QSize(160, lines + 3 * self.PADDING)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """The room's two lines and its count."""
        painter.save()
        palette: QPalette = option.palette
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
        text = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        quiet = palette.color(QPalette.ColorRole.PlaceholderText)
        unread = int(index.data(ConversationModel.UnreadRole) or 0)
        muted = bool(index.data(ConversationModel.MutedRole))
        font = QFont(option.font)
        font.setBold(unread > 0 and not muted)
        metrics = QFontMetrics(font)
        inner = rect.adjusted(self.PADDING * 2, self.PADDING, -self.PADDING * 2, -self.PADDING)
        badge = self._badge(painter, index, inner, unread, muted, font)
        name_rect = QRect(inner.left(), inner.top(), inner.width() - badge, metrics.height())
        painter.setFont(font)
        painter.setPen(quiet if muted and not selected else text)
        name = metrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter, name)
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        trouble = str(index.data(ConversationModel.TroubleRole) or "")
        colour = STATE_COLOURS.get(trouble, quiet)
        painter.setPen(text if selected else colour)
        line = (
            f"{index.data(ConversationModel.HostRole)} · {index.data(ConversationModel.StateRole)}"
        )
        second = QRect(
            inner.left(), name_rect.bottom() + self.PADDING // 2, inner.width(), metrics.height()
        )
        painter.drawText(
            second,
            Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(small).elidedText(line, Qt.TextElideMode.ElideRight, second.width()),
        )
        painter.restore()

    def _badge(
        self,
        painter: QPainter,
        index: QModelIndex | QPersistentModelIndex,
        inner: QRect,
        unread: int,
        muted: bool,
        font: QFont,
    ) -> int:
        """Draw the unread pill at the top right of ``inner``; the width it takes."""
        if not unread:
            return 0
        words = "999+" if unread > 999 else str(unread)
        pill_font = QFont(font)
        pill_font.setBold(True)
        pill_font.setPointSizeF(max(6.0, pill_font.pointSizeF() * 0.85))
        metrics = QFontMetrics(pill_font)
        height = metrics.height() + 2
        width = max(height, metrics.horizontalAdvance(words) + 10)
        pill = QRect(inner.right() - width, inner.top(), width, height)
        colour = MENTION if index.data(ConversationModel.MentionRole) else ACCENT
        if muted:
            colour = QColor(128, 128, 128)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(pill_font)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, words)
        return width + 6


class Sidebar(QWidget):
    """The open rooms, one click away, and a button to open one more. A room's context menu
    mutes it or leaves it."""

    chosen = Signal(object)  # Conversation
    addRequested = Signal()
    muteRequested = Signal(object, bool)  # Conversation, whether to mute
    leaveRequested = Signal(object)  # Conversation

    def __init__(self, model: ConversationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.model = model
        self.list = QListView()
        self.list.setObjectName("conversations")
        self.list.setModel(model)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setAccessibleName("Open rooms")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.clicked.connect(self._clicked)
        self.list.activated.connect(self._clicked)
        self.add = QPushButton("+ Join or host a room")
        self.add.setToolTip("Open one more room beside these")
        self.add.clicked.connect(self.addRequested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.add)
        self.menu: QMenu | None = None

    def select(self, room: Conversation | None) -> None:
        """Show ``room`` as the one in front (``None``: none is)."""
        index = self.model.row_of(room) if room is not None else QModelIndex()
        if index.isValid():
            self.list.setCurrentIndex(index)
        else:
            self.list.clearSelection()

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.chosen.emit(self.model.rooms[index.row()])

    def menu_for(self, room: Conversation) -> QMenu:
        """The context menu of ``room``: mute or unmute, leave."""
        menu = QMenu(self)
        mute = QAction("Unmute" if room.muted else "Mute", menu)
        mute.triggered.connect(lambda: self.muteRequested.emit(room, not room.muted))
        leave = QAction("Leave", menu)
        leave.triggered.connect(lambda: self.leaveRequested.emit(room))
        menu.addAction(mute)
        menu.addAction(leave)
        return menu

    def _menu(self, position: Any) -> None:
        index = self.list.indexAt(position)
        if not index.isValid():
            return
        if self.menu is not None:
            self.menu.deleteLater()  # the last one shown: a menu is made per right-click
        self.menu = self.menu_for(self.model.rooms[index.row()])
        self.menu.popup(self.list.viewport().mapToGlobal(position))


class Switcher(QDialog):
    """Ctrl+K: type part of a room's name or host, Enter goes there."""

    def __init__(self, model: ConversationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Go to a room")
        self.chosen: Conversation | None = None
        self._rooms = model
        self.filter = QSortFilterProxyModel(self)
        self.filter.setSourceModel(model)
        self.filter.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.setFilterRole(Qt.ItemDataRole.ToolTipRole)  # name, host and state
        self.search = QLineEdit()
        self.search.setPlaceholderText("Room or host")
        self.search.textChanged.connect(self._typed)
        self.search.returnPressed.connect(self._go)
        self.list = QListView()
        self.list.setModel(self.filter)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.activated.connect(self._go)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(360, 320)
        self._typed("")

    def _typed(self, text: str) -> None:
        self.filter.setFilterFixedString(text)
        if self.filter.rowCount():
            self.list.setCurrentIndex(self.filter.index(0, 0))

    def _go(self, *_: Any) -> None:
        index = self.filter.mapToSource(self.list.currentIndex())
        if index.isValid():
            self.chosen = self._rooms.rooms[index.row()]
            self.accept()
