"""The timeline's rows: a table model over the raw connection's moments, appended in
batches and bounded (the oldest go first), as the panes' models are."""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)

from desktopchat.client.timeline import EVENT, IN, Moment
from desktopchat.gui.panes.message_model import ROW_ROLE
from desktopchat.gui.panes.when import full_date
from desktopchat.protocol.sizes import human_size

MAX_MOMENTS = 100_000
"""Moments kept: as many as the NDJSON log keeps frames."""
BATCH_MS = 50
"""A busy endpoint's frames enter the table together, at most this often."""

COLUMNS = ("Time", "", "Kind", "Size", "Data")
TIME, WAY, KIND, SIZE, DATA = range(len(COLUMNS))
ARROWS = {IN: "←", EVENT: "•"}
"""Shown for each direction (ours: →): the server's frames point at us."""
WAYS = {IN: "from the server", EVENT: "the connection"}

Index = QModelIndex | QPersistentModelIndex


def stamp(ms: int) -> str:
    """``14:05:09.123``: a timeline needs milliseconds to tell a burst's order."""
    return QDateTime.fromMSecsSinceEpoch(ms).toLocalTime().toString("HH:mm:ss.zzz")


class TimelineModel(QAbstractTableModel):
    """Moments in order; ``index.data(ROW_ROLE)`` is the :class:`Moment`."""

    def __init__(self, parent: QObject | None = None, limit: int = MAX_MOMENTS) -> None:
        super().__init__(parent)
        self._limit = limit
        self._moments: deque[Moment] = deque()
        self._waiting: list[Moment] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self.flush)

    def add(self, moment: Moment) -> None:
        """Add ``moment`` at the end (with the others that come within a batch)."""
        self._waiting.append(moment)
        if len(self._waiting) > self._limit:
            del self._waiting[: -self._limit]
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Put the waiting moments in the table now, dropping the oldest beyond the limit."""
        self._timer.stop()
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        over = len(self._moments) + len(waiting) - self._limit
        if over > 0:
            dropped = min(over, len(self._moments))
            self.beginRemoveRows(QModelIndex(), 0, dropped - 1)
            for _ in range(dropped):
                self._moments.popleft()
            self.endRemoveRows()
        first = len(self._moments)
        self.beginInsertRows(QModelIndex(), first, first + len(waiting) - 1)
        self._moments.extend(waiting)
        self.endInsertRows()

    def clear(self) -> None:
        """Forget every moment (a new connection starts a new timeline)."""
        self._timer.stop()
        self._waiting.clear()
        self.beginResetModel()
        self._moments.clear()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        """How many moments are shown."""
        return 0 if parent.isValid() else len(self._moments)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Time, direction, kind, size and data."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """The column titles."""
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """A cell's text, and a tooltip with the full date and the direction in words."""
        if not index.isValid() or index.row() >= len(self._moments):
            return None
        moment = self._moments[index.row()]
        if role == ROW_ROLE:
            return moment
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(moment, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{full_date(moment.time)} · {WAYS.get(moment.direction, 'from you')}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _cell(moment: Moment, column: int) -> str:
    if column == TIME:
        return stamp(moment.time)
    if column == WAY:
        return ARROWS.get(moment.direction, "→")
    if column == KIND:
        return moment.kind
    if column == SIZE:
        return "" if moment.size is None else human_size(moment.size)
    return moment.detail
