"""The rows of a pane: a thin ``QAbstractListModel`` over a plain list, appends batched.

A busy room delivers messages far faster than a screen refreshes; inserting rows one by one
would make the view lay out thousands of times a second. Rows wait in a buffer and enter the
model together: at most once per frame (~16 ms), and less often the busier the room is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from desktopchat.gui.panes.colours import SenderColours
from desktopchat.gui.panes.when import full_date
from desktopchat.protocol import Kind
from desktopchat.protocol.sizes import human_size

ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 1
"""``index.data(ROW_ROLE)`` is the :class:`MessageRow` itself."""

FRAME_MS = 16
BUSY_MS = 100
"""While rows keep coming, batches enter ten times a second instead of every frame: each
batch lays out and repaints the list, and a busy room repainted 60 times a second cost the
window more than the room's server. Live enough for a reader; a first message after a
quiet moment still shows within a frame."""
FLOOD_RATE = 200
FLOOD_MS = 500
"""While rows come at ``FLOOD_RATE`` a second or more (more than anyone reads), batches
enter twice a second: a batch costs the window's thread several milliseconds however few
its rows (the list's tail laid out again and repainted), and on a computer that also hosts
the room those milliseconds are taken from the room's server. A list moving twice a second
can still be glanced at; one moving ten times a second at that rate is a blur."""
PAGE_ROWS = 100
"""Held rows that come back at a time when the reader scrolls to the top of a list that
follows a busy room (see ``TailFollower``)."""
PREVIEW_LINES = 10
PREVIEW_CHARS = 1200

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One message as the window shows it (plain data: no Qt, no protocol objects)."""

    time: int
    sender: str
    kind: Kind
    text: str = ""
    data: Any = None
    payload: bytes = b""
    name: str = ""
    mime: str = ""
    id: int | None = None
    cid: str | None = None
    own: bool = False
    delivered: bool = True
    failure: str = ""
    """Why our message was given up on (empty while it is pending or once delivered)."""
    mentioned: bool = False
    """The message names us with ``@name``: highlighted, and always notified."""
    peer: str = ""
    """A direct message's other person (ours to them, or theirs to us); empty for a
    message to the whole room."""

    def summary(self) -> str:
        """One line describing the message (for lists, filters and tooltips)."""
        if self.kind is Kind.BINARY:
            size = human_size(len(self.payload))
            return f"{self.name or 'bytes'} · {self.mime or 'unknown type'} · {size}"
        return self.text

    def preview(self) -> str:
        """What a list row shows: the summary cut to ``PREVIEW_LINES`` lines and
        ``PREVIEW_CHARS`` characters, ending in "… N more lines" when cut.

        A 1 MB message would otherwise be one row 100 000 pixels tall; the detail views
        (JSON, hex) show the whole value.
        """
        text = self.summary()
        if len(text) <= PREVIEW_CHARS and text.count("\n") < PREVIEW_LINES:
            return text
        kept = "\n".join(text.split("\n", PREVIEW_LINES)[:PREVIEW_LINES])[:PREVIEW_CHARS]
        hidden_lines = text.count("\n") - kept.count("\n")
        if hidden_lines > 0:
            more = f"… {hidden_lines} more line{'s' if hidden_lines != 1 else ''}"
        else:
            more = f"… {len(text) - len(kept)} more characters"
        return f"{kept}\n{more}"


class MessageListModel(QAbstractListModel):
    """The messages of one pane. ``rowsAppended(count)`` fires after each batch enters.

    It holds every row but shows the rows from ``hidden`` on: :meth:`keep_newest` hides the
    oldest ones (a list following a busy room lays out only its tail), :meth:`reveal`
    shows them again. Rows are numbered as shown.
    """

    rowsAppended = Signal(int)

    def __init__(
        self,
        parent: QObject | None = None,
        colours: SenderColours | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self.colours = colours or SenderColours()
        """How its senders are coloured (shared by the panes of a room)."""
        self._rows: list[MessageRow] = []
        self._first = 0  # rows before it are held, not shown
        self._incoming: list[MessageRow] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self.flush)
        # None until the first batch: a monotonic clock's zero is some moment after boot,
        # and a machine up for a minute must not look as if it had just flushed.
        self._flushed: float | None = None
        self._rate = 0.0  # rows a second in the last batch

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows) - self._first

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) - self._first:
            return None
        row = self._rows[self._first + index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.sender}: {row.summary()}"
        if role == Qt.ItemDataRole.ToolTipRole:
            state = f" · not sent: {row.failure}" if row.failure else ""
            if not state and not row.delivered:
                state = " · sending…"
            return f"{full_date(row.time)} · {row.sender}{state}"
        return None

    def row_at(self, index: int) -> MessageRow:
        """The row shown at ``index`` (after a flush)."""
        return self._rows[self._first + index]

    def shown(self, index: int) -> MessageRow | None:
        """The row shown at ``index``, or None past either end."""
        position = self._first + index
        return self._rows[position] if self._first <= position < len(self._rows) else None

    def rows(self) -> list[MessageRow]:
        """Every row the pane holds, shown or held back, oldest first (a copy)."""
        return list(self._rows)

    @property
    def hidden(self) -> int:
        """How many older rows are held but not shown."""
        return self._first

    def keep_newest(self, count: int) -> None:
        """Show only the newest ``count`` rows; the older ones stay held for :meth:`reveal`."""
        drop = self.rowCount() - count
        if drop <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, drop - 1)
        self._first += drop
        self.endRemoveRows()

    def reveal(self, count: int | None = None) -> int:
        """Show up to ``count`` (default: all) of the hidden rows again, above the others;
        how many came back."""
        count = self._first if count is None else min(count, self._first)
        if count > 0:
            self.beginInsertRows(QModelIndex(), 0, count - 1)
            self._first -= count
            self.endInsertRows()
        return count

    def append(self, row: MessageRow) -> None:
        """Add a row at the end; it appears with the next batch: within a frame in a quiet
        room, later the busier the room is (``BUSY_MS``, ``FLOOD_MS``)."""
        self._incoming.append(row)
        if not self._flush_timer.isActive():
            self._flush_timer.start(self._wait_ms())

    def _wait_ms(self) -> int:
        if self._flushed is None or self._clock() - self._flushed >= 2 * BUSY_MS / 1000:
            return FRAME_MS
        return FLOOD_MS if self._rate >= FLOOD_RATE else BUSY_MS

    def flush(self) -> None:
        """Move the buffered rows into the model now, in one insert."""
        self._flush_timer.stop()
        if not self._incoming:
            return
        now = self._clock()
        batch, self._incoming = self._incoming, []
        # The first batch (a backlog, say) says nothing about how fast rows come.
        if self._flushed is not None:
            self._rate = len(batch) / max(now - self._flushed, FRAME_MS / 1000)
        self._flushed = now
        first = self.rowCount()
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._rows.extend(batch)
        self.endInsertRows()
        self.rowsAppended.emit(len(batch))

    def prepend(self, rows: list[MessageRow]) -> None:
        """Put older rows (a page of history) above everything, in one insert."""
        if not rows:
            return
        self.flush()
        self.reveal()
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._rows[:0] = rows
        self.endInsertRows()

    def mark_delivered(self, cid: str, message_id: int, at: int | None = None) -> bool:
        """Mark our own message ``cid`` as stored by the server under ``message_id`` (at
        server time ``at``, once known), and move it to where that id belongs.

        Rows of other members can arrive between our sending and the server's answer, and
        our clock is not the server's: shown where it was typed, the message would sit out
        of order and with a time nobody else sees.
        """
        position = self._find(cid)
        if position is None:
            return False
        changes: dict[str, Any] = {"id": message_id, "delivered": True}
        if at is not None:
            changes["time"] = at
        row = replace(self._rows[position], **changes)
        target = position
        # Back past every newer or still-pending row: those belong after ours.
        while target > 0 and (
            self._rows[target - 1].id is None or self._rows[target - 1].id > message_id  # type: ignore[operator]
        ):
            target -= 1
        if target < self._first:  # its place is among the hidden rows: show it there
            self.reveal(self._first - target)
        shown, before = target - self._first, position - self._first
        if target != position:
            self.beginMoveRows(QModelIndex(), before, before, QModelIndex(), shown)
            del self._rows[position]
            self._rows.insert(target, row)
            self.endMoveRows()
        else:
            self._rows[position] = row
        index = self.index(shown)
        self.dataChanged.emit(index, index)
        return True

    def mark_failed(self, cid: str, reason: str) -> bool:
        """Mark our own message ``cid`` as given up on, for ``reason``."""
        position = self._find(cid)
        if position is None:
            return False
        self._rows[position] = replace(self._rows[position], failure=reason)
        if position >= self._first:
            index = self.index(position - self._first)
            self.dataChanged.emit(index, index)
        return True

    def _find(self, cid: str) -> int | None:
        # Our pending messages are among the newest rows: search from the end.
        self.flush()
        for position in range(len(self._rows) - 1, -1, -1):
            if self._rows[position].cid == cid:
                return position
        return None

    def clear(self) -> None:
        """Forget every row (leaving a room)."""
        self.beginResetModel()
        self._rows.clear()
        self._first = 0
        self._incoming.clear()
        self.endResetModel()
