"""The Text pane: the conversation (sender, time, pending/delivered mark) and a line to type in."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.message_model import ROW_ROLE, MessageListModel, MessageRow
from desktopchat.gui.panes import FilterProxy, follow_tail

_PAD = 8
_SENDER_COLOURS = ("#2f6fde", "#b5418c", "#1c8a5a", "#c0612b", "#6a4fc7", "#0f8696", "#a23b3b")


def sender_colour(name: str) -> QColor:
    """A stable colour per sender, so a conversation is easy to follow."""
    return QColor(_SENDER_COLOURS[sum(map(ord, name)) % len(_SENDER_COLOURS)])


class MessageDelegate(QStyledItemDelegate):
    """Paints a message as a header line (sender · time · mark) over its wrapped text."""

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        body = QFont(option.font)
        header = QFont(body)
        header.setBold(True)
        return header, body

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        row: MessageRow | None = index.data(ROW_ROLE)
        if row is None:
            return super().sizeHint(option, index)
        header, body = self._fonts(option)
        width = max(80, option.rect.width() - 2 * _PAD)
        text_rect = QFontMetrics(body).boundingRect(
            QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), row.summary()
        )
        return QSize(width, QFontMetrics(header).height() + text_rect.height() + 2 * _PAD)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row: MessageRow | None = index.data(ROW_ROLE)
        if row is None:
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect
        palette: QPalette = option.palette
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, palette.highlight().color().lighter(170))
        header, body = self._fonts(option)
        inner = rect.adjusted(_PAD, _PAD // 2, -_PAD, -_PAD // 2)
        header_height = QFontMetrics(header).height()
        painter.setFont(header)
        painter.setPen(sender_colour(row.sender))
        name_width = QFontMetrics(header).horizontalAdvance(row.sender)
        painter.drawText(
            QRect(inner.left(), inner.top(), name_width + 2, header_height), 0, row.sender
        )
        painter.setFont(body)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        mark = "" if not row.own else ("  ✓" if row.delivered else "  … sending")
        painter.drawText(
            QRect(inner.left() + name_width + _PAD, inner.top(), inner.width(), header_height),
            0,
            row.clock + mark,
        )
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(
            QRect(
                inner.left(),
                inner.top() + header_height,
                inner.width(),
                inner.height() - header_height,
            ),
            int(Qt.TextFlag.TextWordWrap),
            row.summary(),
        )
        painter.restore()


class TextPane(QWidget):
    """The conversation and the line to type in; Enter sends."""

    sendRequested = Signal(str)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proxy: QSortFilterProxyModel = FilterProxy(self)
        self.proxy.setSourceModel(model)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(MessageDelegate(self.view))
        self.view.setWordWrap(True)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setAlternatingRowColors(False)
        follow_tail(self.view, model)

        self.entry = QLineEdit()
        self.entry.setPlaceholderText("Write a message and press Enter")
        self.entry.returnPressed.connect(self._send)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self._send)

        typing = QHBoxLayout()
        typing.addWidget(self.entry, 1)
        typing.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(typing)

    def set_filter(self, text: str) -> None:
        """Show only messages whose sender or text contains ``text`` (any case)."""
        self.proxy.setFilterFixedString(text)

    def _send(self) -> None:
        text = self.entry.text()
        if text.strip():
            self.sendRequested.emit(text)
            self.entry.clear()
