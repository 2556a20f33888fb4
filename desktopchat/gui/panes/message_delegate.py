"""How a message looks in a list: a day line where the day changes, a header (sender · time ·
mark) over its text, links that open on a click and a tint when it mentions us."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
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
    QStaticText,
    QTextDocument,
    QTextOption,
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
from desktopchat.gui.panes.when import clock, day_line
from desktopchat.protocol import Kind

_PAD = 8
_WIDTHS = 4
_KNOWN_HEIGHTS = 50_000
"""Row heights kept (then forgotten all at once): a few MB, far more rows than a window
lays out between two width changes."""

_FACES = 512
"""Rows whose text stays laid out once measured, for painting (a few screens' worth, and a
flood's batch)."""

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class _Look:
    """The fonts made from one base font, and their metrics: made once per font, not per row."""

    header: QFont
    body: QFont
    header_height: int
    separator_height: int

    @classmethod
    def of(cls, font: QFont) -> _Look:
        body = QFont(font)
        header = QFont(body)
        header.setBold(True)
        height = QFontMetrics(header).height()
        return cls(header, body, height, QFontMetrics(body).height() + _PAD * 2)


@dataclass(slots=True)
class _Face:
    """What measuring and painting a row need that does not change from one time to the next."""

    row: MessageRow
    look: _Look
    body: QStaticText | None
    """The text laid out once; None for text with links (a document paints those)."""
    header: tuple[int, str] | None = None
    """The sender's width, and the time with (for our own messages) their state: made when
    the row is first painted (a flood's rows are measured, most never painted)."""


def _static_text(row: MessageRow, width: int, font: QFont) -> QStaticText:
    """The row's text laid out in ``font`` at ``width``: the same object measures the row and
    paints it, so the two cannot disagree."""
    # Prose breaks between words, and a word longer than the line (a hash, a long address)
    # anywhere rather than running past the edge; compact JSON and file names anywhere.
    # Lines break at "\n", and tabs and "\r" are spaces (not tab stops) as in a plain label.
    plain = row.preview().replace("\r", " ").replace("\t", " ").replace("\n", "\u2028")
    text = QStaticText(plain)
    text.setTextFormat(Qt.TextFormat.PlainText)
    option = QTextOption()
    option.setWrapMode(
        QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
        if row.kind is Kind.TEXT
        else QTextOption.WrapMode.WrapAnywhere
    )
    text.setTextOption(option)
    text.setTextWidth(width)
    text.prepare(font=font)
    return text


def _mark(row: MessageRow) -> str:
    """How our own message stands, after its time (nothing for others' messages)."""
    if not row.own:
        return ""
    return "  ✗ not sent" if row.failure else ("  ✓" if row.delivered else "  … sending")


class MessageDelegate(QStyledItemDelegate):
    """Paints messages; ``linkActivated(url)`` when a link in one is clicked."""

    linkActivated = Signal(str)

    def __init__(self, colours: SenderColours, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.colours = colours
        self._heights: dict[tuple[int, int], tuple[MessageRow, int]] = {}
        self._laid: dict[int, list[int]] = {}
        self._look_made: _Look | None = None
        self._faces: dict[tuple[int, int], _Face] = {}
        self._shown: Callable[[int], MessageRow | None] | None = None
        self.unread_line: int | None = None
        """The message id the "new messages" line goes above (in this pane: above its first
        row from that id on, unless that row is ours)."""

    def _look(self, option: QStyleOptionViewItem) -> _Look:
        # One view, one font: a new one comes with a FontChange, and forget().
        if self._look_made is None:
            self._look_made = _Look.of(option.font)
        return self._look_made

    def shortest_row(self, font: QFont) -> int:
        """The height of the shortest row this delegate paints in ``font`` (one line of
        text under its header, no day line)."""
        look = _Look.of(font)
        return look.header_height + QFontMetrics(look.body).height() + 2 * _PAD

    def _row(self, index: Index, position: int | None = None) -> MessageRow | None:
        """The row ``index``'s model shows at ``position`` (default: ``index``'s own)."""
        position = index.row() if position is None else position
        if self._shown is not None:
            return self._shown(position)
        row: MessageRow | None = index.model().index(position, 0).data(ROW_ROLE)
        return row

    def _day_line(self, index: Index, row: MessageRow) -> str | None:
        above = self._row(index, index.row() - 1) if index.row() else None
        day = day_line(row.time, above.time if above is not None else None)
        line = self.unread_line
        if line is None or row.own or row.id is None or row.id < line:
            return day
        if above is not None and (above.id is None or above.id >= line):
            return day
        return f"New messages · {day}" if day else "New messages"

    def line_above(self, index: Index) -> str | None:
        """The words of the line drawn above the row at ``index`` (a day, "New
        messages"), or None."""
        row = self._row(index)
        return self._day_line(index, row) if row is not None else None

    def mark_unread_from(self, message_id: int | None) -> None:
        """Draw the "new messages" line above ``message_id`` (None: nowhere); rows are
        measured again, as the line takes room."""
        if message_id != self.unread_line:
            self.unread_line = message_id
            self._forget_from(0)

    def _face(self, row: MessageRow, look: _Look, width: int) -> _Face:
        # Rows are frozen: a changed message (delivered, failed) is a new row, a new face.
        face = self._faces.get((id(row), width))
        if face is not None and face.row is row and face.look is look:
            return face
        links = row.kind is Kind.TEXT and bool(find_links(row.preview()))
        face = _Face(row, look, None if links else _static_text(row, width, look.body))
        if len(self._faces) >= _FACES:
            self._faces.clear()
        self._faces[id(row), width] = face
        return face

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

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        # QListView lays out every row it shows again whenever rows come or go, so this
        # runs for each of them at each batch: heights are kept by position (``watch``
        # moves them along as the model changes; 0 is "not known"), and asking the model
        # for rows, measuring and finding day lines happen once per row.
        width = max(80, option.rect.width() - 2 * _PAD)
        position = index.row()
        # The layout asks at the viewport's width, other callers with an empty rect: a few
        # widths at a time, each with its own list.
        laid = self._laid.get(width)
        if laid is None:
            if len(self._laid) >= _WIDTHS:
                self._laid.clear()
            laid = self._laid[width] = []
        elif position < len(laid) and laid[position]:
            return QSize(width, laid[position])
        row = self._row(index)
        if row is None:
            return super().sizeHint(option, index)
        known = self._heights.get((id(row), width))
        if known is not None and known[0] is row:
            height = known[1]
        else:
            height = self._measure(row, option, width)
            if len(self._heights) >= _KNOWN_HEIGHTS:
                self._heights.clear()
            self._heights[id(row), width] = (row, height)
        if self._day_line(index, row) is not None:
            height += self._look(option).separator_height
        if position >= len(laid):  # painting asks for the rows in sight before the layout
            laid.extend([0] * (position + 1 - len(laid)))
        laid[position] = height
        return QSize(width, height)

    def watch(
        self, model: QAbstractItemModel, rows: Callable[[int], MessageRow | None] | None = None
    ) -> None:
        """Keep known heights in step with ``model`` (the view's model); ``rows(position)``,
        if given, is the row ``model`` shows there, found without a round trip through Qt
        (asking the model through a proxy costs more than measuring the row)."""
        self._shown = rows
        model.rowsInserted.connect(lambda _parent, first, last: self._inserted(first, last))
        model.rowsRemoved.connect(lambda _parent, first, last: self._removed(first, last))
        model.rowsMoved.connect(lambda *_: self._forget_from(0))
        model.dataChanged.connect(lambda top, bottom, *_: self._changed(top.row(), bottom.row()))
        model.layoutChanged.connect(lambda *_: self._forget_from(0))
        model.modelReset.connect(lambda: self._forget_from(0))

    def forget(self) -> None:
        """Measure every row again (the font changed)."""
        self._heights.clear()
        self._look_made = None
        self._faces.clear()
        self._forget_from(0)

    def _forget_from(self, position: int) -> None:
        for laid in self._laid.values():
            del laid[position:]

    # A row's day line depends on the row above it: the row after a change is redone too.

    def _inserted(self, first: int, last: int) -> None:
        for laid in self._laid.values():
            if first < len(laid):
                laid[first:first] = [0] * (last - first + 1)
                laid[last + 1] = 0

    def _removed(self, first: int, last: int) -> None:
        for laid in self._laid.values():
            del laid[first : last + 1]
            if first < len(laid):
                laid[first] = 0

    def _changed(self, top: int, bottom: int) -> None:
        for laid in self._laid.values():
            laid[top : bottom + 2] = [0] * len(laid[top : bottom + 2])

    def _measure(self, row: MessageRow, option: QStyleOptionViewItem, width: int) -> int:
        """The row's height without a day line: header, wrapped text and padding."""
        look = self._look(option)
        body = self._face(row, look, width).body
        if body is not None:
            text_height = math.ceil(body.size().height())
        else:
            document = self._document(row, look.body, width)
            assert document is not None  # a face has no static text only when there are links
            text_height = int(document.size().height()) + 1
        return look.header_height + text_height + 2 * _PAD

    def _text_rect(self, option: QStyleOptionViewItem, index: Index, row: MessageRow) -> QRect:
        rect: QRect = option.rect
        look = self._look(option)
        if self._day_line(index, row) is not None:
            rect = rect.adjusted(0, look.separator_height, 0, 0)
        inner = rect.adjusted(_PAD, _PAD // 2, -_PAD, -_PAD // 2)
        return inner.adjusted(0, look.header_height, 0, 0)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = self._row(index)
        if row is None:
            super().paint(painter, option, index)
            return
        look = self._look(option)
        rect: QRect = option.rect
        palette: QPalette = option.palette
        painter.save()
        separator = self._day_line(index, row)
        if separator is not None:
            self._paint_separator(painter, option, look, separator)
            rect = rect.adjusted(0, look.separator_height, 0, 0)
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
        inner = rect.adjusted(_PAD, _PAD // 2, -_PAD, -_PAD // 2)
        face = self._face(row, look, inner.width())
        if face.header is None:
            mark = ""
            if row.own:
                mark = (
                    "  ✗ not sent" if row.failure else ("  ✓" if row.delivered else "  … sending")
                )
            face.header = (
                QFontMetrics(look.header).horizontalAdvance(row.sender),
                clock(row.time) + mark,
            )
        name_width, header = face.header
        height = look.header_height
        painter.setFont(look.header)
        painter.setPen(self.colours.colour(row.sender, palette.color(QPalette.ColorRole.Base)))
        painter.drawText(QRect(inner.left(), inner.top(), name_width + 2, height), 0, row.sender)
        painter.setFont(look.body)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRect(inner.left() + name_width + _PAD, inner.top(), inner.width(), height),
            0,
            header,
        )
        text_top = QPoint(inner.left(), inner.top() + height)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        if face.body is not None:
            painter.drawStaticText(text_top, face.body)
        else:
            document = self._document(row, look.body, inner.width())
            assert document is not None  # a face has no static text only when there are links
            context = QAbstractTextDocumentLayout.PaintContext()
            context.palette = QPalette(palette)
            painter.translate(text_top)
            document.documentLayout().draw(painter, context)
        painter.restore()

    def _paint_separator(
        self, painter: QPainter, option: QStyleOptionViewItem, look: _Look, label: str
    ) -> None:
        rect: QRect = option.rect
        height = look.separator_height
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
        row = self._row(index)
        if row is None:
            return ""
        text_rect = self._text_rect(option, index, row)
        document = self._document(row, self._look(option).body, text_rect.width())
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
