"""The rooms found on the LAN, as a list model for the Join screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from desktopchat.client.discovery import FoundRoom

ROOM_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class FoundRoomsModel(QAbstractListModel):
    """Rooms announced on the LAN: name, host, members, a lock when a token is needed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rooms: list[FoundRoom] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rooms)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rooms):
            return None
        room = self._rooms[index.row()]
        if role == ROOM_ROLE:
            return room
        if role == Qt.ItemDataRole.DisplayRole:
            members = f" · {room.members} here" if room.members is not None else ""
            lock = "🔒 " if room.token_required else ""
            return f"{lock}#{room.room} on {room.host}{members}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return room.url + (" (needs a token)" if room.token_required else "")
        return None

    def room_at(self, row: int) -> FoundRoom:
        """The room in ``row``."""
        return self._rooms[row]

    def set_rooms(self, rooms: list[FoundRoom]) -> None:
        """Replace the list (rooms come and go as a whole snapshot)."""
        self.beginResetModel()
        self._rooms = list(rooms)
        self.endResetModel()
