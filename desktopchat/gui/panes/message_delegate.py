"""How a message looks in a list: a day line where the day changes, a header (sender · time ·
mark) over its text, links that open on a click and a tint when it mentions us."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from desktopchat.gui.panes.colours import SenderColours
from desktopchat.gui.panes.links import as_html, find_links
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageRow
from desktopchat.gui.panes.when import clock, day_label, day_of
from desktopchat.protocol import Kind

_PAD = 8
_WIDTHS = 4
_KNOWN_HEIGHTS = 50_000
"""Row heights kept (then forgotten all at once): a few MB, far more rows than a window
lays out between two width changes."""

Index = QModelIndex | QPersistentModelIndex


def _wrap(row: MessageRow) -> int:
    # Prose breaks between words; compact JSON and file names have no spaces to break at.
    flag = Qt.TextFlag.TextWordWrap if row.kind is Kind.TEXT else Qt.TextFlag.TextWrapAnywhere
    return int(flag)


def _day_change(index: Index) -> str | None:
    """The day separator above ``index`` (the first row, or a row on a new day), if any."""
    row: MessageRow = index.data(ROW_ROLE)
    day = day_of(row.time)
    if index.row() > 0:
        before: MessageRow | None = index.model().index(index.row() - 1, 0).data(ROW_ROLE)
        if before is not None and day_of(before.time) == day:
            return None
    return day_label(day)


class MessageDelegate(QStyledItemDelegate):
    """Paints messages; ``linkActivated(url)`` when a link in one is clicked."""

    linkActivated = Signal(str)

    def __init__(self, colours: SenderColours, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.colours = colours
        self._heights: dict[int, tuple[MessageRow, int, int]] = {}
        self._laid: dict[int, list[int]] = {}

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        body = QFont(option.font)
        header = QFont(body)
        header.setBold(True)
        return header, body

    def _document(self, row: MessageRow, font: QFont, width: int) -> QTextDocument | None:
        """The row's text as a document when it has links (plain text is drawn directly)."""
        if row.kind is not Kind.TEXT:
            return None
        text = row.preview()
        links = find_links(text)
        if not links:
            return None
        document = QTextDocument()
        document.setDefaultFont(font)
        document.setDocumentMargin(0)
        document.setHtml(as_html(text, links))
        document.setTextWidth(width)
        return document

    def _separator_height(self, option: QStyleOptionViewItem) -> int:
        return QFontMetrics(option.font).height() + _PAD * 2

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        # QListView lays out every row again whenever rows are added, so this runs for
        # each row of the list at each batch: known heights are looked up by position
        # (``watch`` forgets them from where the model changed), and asking the model for
        # rows, measuring and finding day lines happen once per row.
        width = max(80, option.rect.width() - 2 * _PAD)
        position = index.row()
        # The layout asks at the viewport's width, other callers with an empty rect: a few
        # widths at a time, each with its own list.
        laid = self._laid.get(width)
        if laid is None:
            if len(self._laid) >= _WIDTHS:
                self._laid.clear()
            laid = self._laid[width] = []
        elif position < len(laid):
            return QSize(width, laid[position])
        row: MessageRow | None = index.data(ROW_ROLE)
        if row is None:
            return super().sizeHint(option, index)
        known = self._heights.get(id(row))
        if known is not None and known[0] is row and known[1] == width:
            height = known[2]
        else:
            height = self._measure(row, option, width)
            if len(self._heights) >= _KNOWN_HEIGHTS:
                self._heights.clear()
            self._heights[id(row)] = (row, width, height)
        if _day_change(index) is not None:
            height += self._separator_height(option)
        if position == len(laid):
            laid.append(height)
        return QSize(width, height)

    def watch(self, model: QAbstractItemModel) -> None:
        """Forget known heights from wherever ``model`` (the view's model) changes."""
        model.rowsInserted.connect(lambda _parent, first, _last: self._forget_from(first))
        model.rowsRemoved.connect(lambda _parent, first, _last: self._forget_from(first))
        model.rowsMoved.connect(lambda *_: self._forget_from(0))
        model.dataChanged.connect(lambda top_left, *_: self._forget_from(top_left.row()))
        model.layoutChanged.connect(lambda *_: self._forget_from(0))
        model.modelReset.connect(lambda: self._forget_from(0))

    def forget(self) -> None:
        """Measure every row again (the font changed)."""
        self._heights.clear()
        self._forget_from(0)

    def _forget_from(self, position: int) -> None:
        # A row's day line depends on the row above it: the first changed row is redone too.
        for laid in self._laid.values():
            del laid[position:]

    def _measure(self, row: MessageRow, option: QStyleOptionViewItem, width: int) -> int:
        """The row's height without a day line: header, wrapped text and padding."""
        header, body = self._fonts(option)
        document = self._document(row, body, width)
        if document is not None:
            text_height = int(document.size().height()) + 1
        else:
            text_height = (
                QFontMetrics(body)
                .boundingRect(QRect(0, 0, width, 100_000), _wrap(row), row.preview())
                .height()
            )
        return QFontMetrics(header).height() + text_height + 2 * _PAD

    def _text_rect(self, option: QStyleOptionViewItem, index: Index) -> QRect:
        rect: QRect = option.rect
        if _day_change(index) is not None:
            rect = rect.adjusted(0, self._separator_height(option), 0, 0)
        header, _body = self._fonts(option)
        inner = rect.adjusted(_PAD, _PAD // 2, -_PAD, -_PAD // 2)
        return inner.adjusted(0, QFontMetrics(header).height(), 0, 0)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row: MessageRow | None = index.data(ROW_ROLE)
        if row is None:
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect
        palette: QPalette = option.palette
        painter.save()
        separator = _day_change(index)
        if separator is not None:
            self._paint_separator(painter, option, separator)
            rect = rect.adjusted(0, self._separator_height(option), 0, 0)
        if row.mentioned:
            tint = QColor(palette.color(QPalette.ColorRole.Link))
            tint.setAlpha(40)
            painter.fillRect(rect, tint)
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), tint.darker(80))
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
        painter.setPen(self.colours.colour(row.sender, palette.color(QPalette.ColorRole.Base)))
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
            clock(row.time) + mark,
        )
        text_rect = inner.adjusted(0, header_height, 0, 0)
        document = self._document(row, body, text_rect.width())
        if document is not None:
            context = QAbstractTextDocumentLayout.PaintContext()
            context.palette = QPalette(palette)
            context.palette.setColor(
                QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.Text)
            )
            painter.translate(text_rect.topLeft())
            document.documentLayout().draw(painter, context)
        else:
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(text_rect, _wrap(row), row.preview())
        painter.restore()

    def _paint_separator(self, painter: QPainter, option: QStyleOptionViewItem, label: str) -> None:
        rect: QRect = option.rect
        height = self._separator_height(option)
        band = QRect(rect.left(), rect.top(), rect.width(), height)
        metrics = QFontMetrics(option.font)
        width = metrics.horizontalAdvance(label) + 2 * _PAD
        middle = band.center().y()
        line = QColor(option.palette.color(QPalette.ColorRole.PlaceholderText))
        line.setAlpha(90)
        painter.setPen(line)
        left_end = band.center().x() - width // 2
        painter.drawLine(band.left() + _PAD, middle, left_end, middle)
        painter.drawLine(left_end + width, middle, band.right() - _PAD, middle)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRect(left_end, band.top(), width, height), int(Qt.AlignmentFlag.AlignCenter), label
        )

    def link_at(self, option: QStyleOptionViewItem, index: Index, point: QPointF) -> str:
        """The address of the link under ``point`` (view coordinates), or ``""``."""
        row: MessageRow | None = index.data(ROW_ROLE)
        if row is None:
            return ""
        text_rect = self._text_rect(option, index)
        document = self._document(row, self._fonts(option)[1], text_rect.width())
        if document is None:
            return ""
        return document.documentLayout().anchorAt(point - QPointF(text_rect.topLeft()))

    def editorEvent(
        self,
        event: QEvent,
        model: object,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        """A click on a link opens it; hovering one shows the pointing hand."""
        if not isinstance(event, QMouseEvent):
            return False
        url = self.link_at(option, index, event.position())
        view = option.widget
        if isinstance(view, QAbstractItemView) and event.type() == QEvent.Type.MouseMove:
            shape = Qt.CursorShape.PointingHandCursor if url else Qt.CursorShape.ArrowCursor
            view.viewport().setCursor(shape)
        left = event.button() == Qt.MouseButton.LeftButton
        if url and left and event.type() == QEvent.Type.MouseButtonRelease:
            self.linkActivated.emit(url)
            return True
        return False
