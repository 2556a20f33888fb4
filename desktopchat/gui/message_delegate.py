"""How a message looks in a list: a header line (sender · time · mark) over its text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktopchat.gui.message_model import ROW_ROLE, MessageRow

_PAD = 8
_SENDER_COLOURS = ("#2f6fde", "#b5418c", "#1c8a5a", "#c0612b", "#6a4fc7", "#0f8696", "#a23b3b")


def sender_colour(name: str) -> QColor:
    """A stable colour per sender, so a conversation is easy to follow."""
    return QColor(_SENDER_COLOURS[sum(map(ord, name)) % len(_SENDER_COLOURS)])


def _wrap(row: MessageRow) -> int:
    # Prose breaks between words; compact JSON and file names have no spaces to break at.
    flag = Qt.TextFlag.TextWordWrap if row.kind == "text" else Qt.TextFlag.TextWrapAnywhere
    return int(flag)


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
            QRect(0, 0, width, 100_000), _wrap(row), row.summary()
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
        mark = ""
        if row.own:
            mark = "  ✗ not sent" if row.failure else ("  ✓" if row.delivered else "  … sending")
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
            _wrap(row),
            row.summary(),
        )
        painter.restore()
