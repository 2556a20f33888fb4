"""A hex + ASCII view of bytes as a table model: 16 bytes a row, rows made only when shown."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

BYTES_PER_ROW = 16
HEADERS = ("Offset", "Hex", "ASCII")

Index = QModelIndex | QPersistentModelIndex


def ascii_of(chunk: bytes) -> str:
    """Printable ASCII as itself, everything else as a dot."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)


class HexModel(QAbstractTableModel):
    """Offset | hex bytes | ASCII, computed per visible row, so 16 MiB shows at once."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._data = b""

    def set_bytes(self, data: bytes) -> None:
        """Show ``data``."""
        self.beginResetModel()
        self._data = data
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.isValid():
            return 0
        return (len(self._data) + BYTES_PER_ROW - 1) // BYTES_PER_ROW

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        start = index.row() * BYTES_PER_ROW
        chunk = self._data[start : start + BYTES_PER_ROW]
        if index.column() == 0:
            return f"{start:08x}"
        if index.column() == 1:
            return " ".join(f"{b:02x}" for b in chunk)
        return ascii_of(chunk)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None
