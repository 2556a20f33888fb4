"""How a message looks in a list: a header line (sender · time · mark) over its text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktopchat.gui.panes.message_model import ROW_ROLE, MessageRow
from desktopchat.protocol import Kind

_PAD = 8
_SENDER_COLOURS = ("#2f6fde", "#b5418c", "#1c8a5a", "#c0612b", "#6a4fc7", "#0f8696", "#a23b3b")


def sender_colour(name: str, background: QColor | None = None) -> QColor:
    """A stable colour per sender, so a conversation is easy to follow; lightened on a
    dark ``background`` so that it stays readable there."""
    colour = QColor(_SENDER_COLOURS[sum(map(ord, name)) % len(_SENDER_COLOURS)])
    if background is not None and background.lightness() < 128:
        colour = colour.lighter(165)
    return colour


def _wrap(row: MessageRow) -> int:
    # Prose breaks between words; compact JSON and file names have no spaces to break at.
    flag = Qt.TextFlag.TextWordWrap if row.kind is Kind.TEXT else Qt.TextFlag.TextWrapAnywhere
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
            QRect(0, 0, width, 100_000), _wrap(row), row.preview()
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
            # A tint, not the solid highlight: the text keeps the Text role's colour, which
            # reads on a tint of either a light or a dark theme.
            tint = QColor(palette.color(QPalette.ColorRole.Highlight))
            tint.setAlpha(70)
            painter.fillRect(rect, tint)
        header, body = self._fonts(option)
        inner = rect.adjusted(_PAD, _PAD // 2, -_PAD, -_PAD // 2)
        header_height = QFontMetrics(header).height()
        painter.setFont(header)
        painter.setPen(sender_colour(row.sender, palette.color(QPalette.ColorRole.Base)))
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
            row.preview(),
        )
        painter.restore()
