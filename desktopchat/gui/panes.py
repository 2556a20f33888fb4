"""What every pane shares: the filter proxy, and a list that follows new rows when at the end."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import QAbstractItemView, QListView

from desktopchat.gui.message_delegate import MessageDelegate
from desktopchat.gui.message_model import ROW_ROLE, MessageListModel, MessageRow


class FilterProxy(QSortFilterProxyModel):
    """Filters a pane on sender and text, case-insensitively (Ctrl+F)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        needle = self.filterRegularExpression().pattern()
        if not needle:
            return True
        model = self.sourceModel()
        row: MessageRow | None = model.index(source_row, 0, source_parent).data(ROW_ROLE)
        if row is None:
            return False
        haystack = f"{row.sender}\n{row.summary()}".casefold()
        return needle.casefold() in haystack

    def setFilterFixedString(self, pattern: str) -> None:
        """Filter on a plain substring (kept as the pattern, compared casefolded)."""
        self.setFilterRegularExpression(pattern)


class _TailFollower(QObject):
    """Scrolls its view to the newest row after appends, while it is at the bottom.

    A QObject child of the view, so Qt drops the connection when the view goes away.
    """

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view

    def appended(self, _count: int) -> None:
        bar = self._view.verticalScrollBar()
        if bar.value() >= bar.maximum() - 4:
            QTimer.singleShot(0, self._view, self._view.scrollToBottom)


def follow_tail(view: QAbstractItemView, model: MessageListModel) -> None:
    """Keep ``view`` scrolled to the newest row while the user is already at the bottom."""
    model.rowsAppended.connect(_TailFollower(view).appended)


def message_list(model: MessageListModel, parent: QObject) -> tuple[QListView, FilterProxy]:
    """A list of messages as every pane shows them: filterable, painted, following the tail."""
    proxy = FilterProxy(parent)
    proxy.setSourceModel(model)
    view = QListView()
    view.setModel(proxy)
    view.setItemDelegate(MessageDelegate(view))
    view.setWordWrap(True)
    view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
    # Rows have their own heights; laying them out in batches keeps 100 000 rows responsive.
    view.setLayoutMode(QListView.LayoutMode.Batched)
    view.setBatchSize(200)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setUniformItemSizes(False)
    follow_tail(view, model)
    return view, proxy
