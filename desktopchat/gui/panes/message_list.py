"""What every pane shares: the filter proxy, and a list that follows new rows while at the end."""

from __future__ import annotations

import json
from functools import partial

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QToolButton

from desktopchat.gui.panes.links import find_links
from desktopchat.gui.panes.message_delegate import MessageDelegate
from desktopchat.gui.panes.message_model import (
    PAGE_ROWS,
    ROW_ROLE,
    MessageListModel,
    MessageRow,
)
from desktopchat.protocol import Kind


class FilterProxy(QSortFilterProxyModel):
    """Filters a pane on sender and text, case-insensitively (Ctrl+F)."""

    def __init__(self, model: MessageListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(model)
        self._model = model
        self._needle = ""  # casefolded; kept in Python, read for every row that comes

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._needle:
            return True
        row = self._model.shown(source_row)
        if row is None:
            return False
        return self._needle in f"{row.sender}\n{row.summary()}".casefold()

    @property
    def filtering(self) -> bool:
        """A filter is on."""
        return bool(self._needle)

    def setFilterFixedString(self, pattern: str) -> None:
        """Filter on a plain substring (compared casefolded): over every row the pane holds,
        the hidden older ones too."""
        self.beginFilterChange()
        self._needle = pattern.casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        if pattern:
            self._model.reveal()  # filtered as they come back: only matches are laid out

    def shown_row(self, position: int) -> MessageRow | None:
        """The row shown at ``position``, or None past the end: without a filter the proxy
        shows the model's rows as they are, and this costs no call through Qt."""
        if not self._needle:
            return self._model.shown(position)
        row: MessageRow | None = self.index(position, 0).data(ROW_ROLE)
        return row


class TailFollower(QObject):
    """Keeps a message list at its newest row while the user is there, and otherwise offers a
    "new messages ↓" button with the count of rows that arrived out of sight.

    Following is a state, not a guess made at each append: it starts on, the user's own
    scrolling turns it off or (back at the bottom) on, and every growth of the list while
    following scrolls to the end. Checking "am I at the bottom?" when rows arrive fails when
    a batch of history is still being laid out, or while the pane is a hidden tab.
    Our own messages always bring the list to the end.

    While following (and not filtering), the list shows only its newest rows, two screens of
    them (:meth:`tail_rows`): Qt's list lays out every row it shows again whenever rows come
    or go, so a list that showed a whole day of a busy room would spend more on that, at
    every batch, than the room's server spends on the room. Scrolling to the top shows the
    held older rows a page (``PAGE_ROWS``) at a time, and only when none is left does
    ``topReached`` ask for older history.
    """

    AT_END_SLACK = 4  # pixels: rounding in the layout must not count as "scrolled up"
    MIN_TAIL = 20
    FOLLOWING_BATCH = 25
    READING_BATCH = 10_000
    """Rows laid out per pass of the event loop. Following, the list is short and a busy
    room's batch is spread over passes; reading further up, the list is laid out in one
    pass: Qt starts over from the top at each insert, and a shorter first pass would pull
    the scroll range (and the reader) up above where they are."""

    topReached = Signal()
    """The user scrolled to the oldest row shown (time to fetch older ones)."""

    def __init__(self, view: QListView, proxy: FilterProxy, model: MessageListModel) -> None:
        super().__init__(view)
        self._view = view
        self._proxy = proxy
        self._model = model
        self.following = True
        self.unseen = 0
        self._scrolling = False
        self._clamped = False  # the next value change is Qt's, not the user's
        self._anchor = QPersistentModelIndex()  # the row to keep on top as older rows return
        self.jump = QToolButton(view)
        self.jump.setObjectName("jumpToNewest")
        self.jump.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.jump.clicked.connect(self.follow)
        self.jump.hide()
        bar = view.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._value_changed)
        model.rowsAppended.connect(self._appended)
        model.modelReset.connect(self.follow)
        view.installEventFilter(self)

    def follow(self) -> None:
        """Go to the newest row and stay there."""
        self._set_following(True)
        self.unseen = 0
        self._update_jump()
        self._to_end()

    def tail_rows(self) -> int:
        """How many rows the list shows while it follows: enough of the shortest rows it can
        have to fill the viewport twice (so there is always room to scroll up to the held
        ones), and at least ``MIN_TAIL``."""
        delegate = self._view.itemDelegate()
        assert isinstance(delegate, MessageDelegate)
        shortest = delegate.shortest_row(self._view.font())
        return max(self.MIN_TAIL, 2 * self._view.viewport().height() // shortest + 1)

    def _to_end(self) -> None:
        # Not scrollToBottom(): it lays out every pending row first, in one call from Python,
        # holding the GIL all along (a hosted room's server thread waits that long). The
        # layout goes on from the event loop a batch at a time, and each step that moves the
        # end brings the list back to it (_range_changed).
        self._scrolling = True
        try:
            bar = self._view.verticalScrollBar()
            bar.setValue(bar.maximum())
        finally:
            self._scrolling = False

    def _at_end(self) -> bool:
        bar = self._view.verticalScrollBar()
        return bar.value() >= bar.maximum() - self.AT_END_SLACK

    def _set_following(self, on: bool) -> None:
        self.following = on
        self._view.setBatchSize(self.FOLLOWING_BATCH if on else self.READING_BATCH)

    def _range_changed(self, _low: int, high: int) -> None:
        if self.following:
            self._to_end()
            return
        # A range that shrinks below the value (a layout starting over) moves the value.
        self._clamped = self._view.verticalScrollBar().value() > high
        if self._anchor.isValid():
            self._to_anchor()

    def _value_changed(self, value: int) -> None:
        if self._scrolling:
            return
        if self._clamped:
            self._clamped = False
            return
        self._anchor = QPersistentModelIndex()  # the user scrolls: leave the list where it is
        bar = self._view.verticalScrollBar()
        if value == bar.minimum() and bar.maximum() > bar.minimum() and not self._show_older():
            self.topReached.emit()
        self._set_following(self._at_end())
        if self.following:
            self.unseen = 0
            self._update_jump()

    def _show_older(self) -> bool:
        """At the top: show a page of the held older rows above the first, which stays in place."""
        if self._proxy.filtering or not self._model.hidden:
            return False
        self._anchor = QPersistentModelIndex(self._proxy.index(0, 0))
        self._model.reveal(PAGE_ROWS)
        return True

    def _to_anchor(self) -> None:
        # The rows brought back above the anchor are laid out a batch at a time; once the
        # anchor's turn has come, the rows above it have their heights and it can go on top.
        index = self._proxy.index(self._anchor.row(), 0)
        if self._view.visualRect(index).isEmpty():
            return
        self._anchor = QPersistentModelIndex()
        self._scrolling = True
        try:
            self._view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
        finally:
            self._scrolling = False

    def _trim(self) -> None:
        """Show only the newest :meth:`tail_rows`, and whatever the user selected below them."""
        selection = self._view.selectionModel()
        picked = [index.row() for index in selection.selectedRows()]
        shown = self._model.rowCount()
        drop = min([shown - self.tail_rows(), *picked])
        if drop <= 0:
            return
        current = self._view.currentIndex()
        if current.isValid() and current.row() < drop:
            # Qt would make the next row current, and select it.
            selection.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)
        self._model.keep_newest(shown - drop)

    def _appended(self, count: int) -> None:
        rows = self._model.rowCount()
        own = any(self._model.row_at(index).own for index in range(rows - count, rows))
        if (own or self.following) and not self._proxy.filtering:
            self._trim()
        if own:
            self.follow()
        elif self.following:
            # Layout may lag (batched mode): scroll again once this batch is placed.
            QTimer.singleShot(0, self._view, self._to_end)
        else:
            self.unseen += count
            self._update_jump()

    def _fill(self) -> None:
        if self.following and not self._proxy.filtering:
            self._model.reveal(self.tail_rows() - self._model.rowCount())

    def _update_jump(self) -> None:
        if self.following or not self.unseen:
            self.jump.hide()
            return
        plural = "s" if self.unseen != 1 else ""
        self.jump.setText(f"{self.unseen} new message{plural} ↓")
        self.jump.adjustSize()
        self._place_jump()
        self.jump.show()
        self.jump.raise_()

    def _place_jump(self) -> None:
        viewport = self._view.viewport().geometry()
        size = self.jump.sizeHint()
        self.jump.move(viewport.right() - size.width() - 12, viewport.bottom() - size.height() - 10)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Re-place the button on resize (and, following, show more rows in a taller list);
        catch up on a tab that filled while hidden."""
        if watched is self._view:
            if event.type() == QEvent.Type.Resize:
                self._place_jump()
                QTimer.singleShot(0, self._view, self._fill)  # the viewport is resized after
            elif event.type() == QEvent.Type.Show and self.following:
                QTimer.singleShot(0, self._view, self._to_end)
        return False


def message_json(row: MessageRow) -> str:
    """A message as JSON, as the room's protocol carries it (bytes as their size only)."""
    body: dict[str, object] = {"id": row.id, "time": row.time, "sender": row.sender}
    body["type"] = row.kind.value
    if row.kind is Kind.TEXT:
        body["text"] = row.text
    elif row.kind is Kind.JSON:
        body["data"] = row.data
    else:
        body.update(name=row.name, mime=row.mime, size=len(row.payload))
    return json.dumps(body, ensure_ascii=False, indent=2)


class MessageListView(QListView):
    """A pane's list of messages; ``follower`` keeps it at the newest row.

    Its context menu copies a message's text or JSON, opens its links, saves its file, or
    asks to reply; the last three are signals for the room to act on.
    """

    follower: TailFollower
    replyRequested = Signal(object)  # MessageRow
    saveRequested = Signal(object)  # MessageRow
    linkActivated = Signal(str)

    def message_menu(self, row: MessageRow) -> QMenu:
        """The context menu of ``row`` (built afresh: actions depend on the message)."""
        menu = QMenu(self)
        clipboard = QGuiApplication.clipboard()
        if row.kind is not Kind.BINARY:
            menu.addAction("Copy text", lambda: clipboard.setText(row.text))
        menu.addAction("Copy as JSON", lambda: clipboard.setText(message_json(row)))
        if row.kind is Kind.BINARY:
            menu.addAction("Save file…", lambda: self.saveRequested.emit(row))
        links = find_links(row.text) if row.kind is Kind.TEXT else []
        for link in links[:5]:
            shown = link.url if len(link.url) <= 60 else link.url[:57] + "…"
            # "&" marks a mnemonic in a menu's text: a link's "&" must be doubled to show.
            label = shown.replace("&", "&&")
            menu.addAction(f"Open {label}", partial(self.linkActivated.emit, link.url))
            menu.addAction(f"Copy link {label}", partial(clipboard.setText, link.url))
        menu.addSeparator()
        menu.addAction("Reply", lambda: self.replyRequested.emit(row))
        return menu

    def mark_unread_from(self, message_id: int | None) -> None:
        """Draw the "new messages" line above the first row from ``message_id`` on."""
        delegate = self.itemDelegate()
        if isinstance(delegate, MessageDelegate) and delegate.unread_line != message_id:
            delegate.mark_unread_from(message_id)
            self.scheduleDelayedItemsLayout()

    def changeEvent(self, event: QEvent) -> None:
        """A new font or style measures every row again."""
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            delegate = self.itemDelegate()
            if isinstance(delegate, MessageDelegate):
                delegate.forget()
        super().changeEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Show the menu of the message under the pointer."""
        row: MessageRow | None = self.indexAt(event.pos()).data(ROW_ROLE)
        if row is None:
            return
        self.message_menu(row).popup(event.globalPos())


def message_list(model: MessageListModel, parent: QObject) -> tuple[MessageListView, FilterProxy]:
    """A list of messages as every pane shows them: filterable, painted, following the tail."""
    proxy = FilterProxy(model, parent)
    view = MessageListView()
    view.setModel(proxy)
    delegate = MessageDelegate(model.colours, view)
    delegate.linkActivated.connect(view.linkActivated)
    delegate.watch(proxy, proxy.shown_row)
    view.setItemDelegate(delegate)
    view.setMouseTracking(True)  # the pointing hand over links
    view.setWordWrap(True)
    view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
    # Rows have their own heights, measured in Python: following a busy room, a batch of
    # them is laid out over a few passes of the event loop (TailFollower sets the size).
    view.setLayoutMode(QListView.LayoutMode.Batched)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setUniformItemSizes(False)
    view.follower = TailFollower(view, proxy, model)
    view.follower.follow()
    return view, proxy
