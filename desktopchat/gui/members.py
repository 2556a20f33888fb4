"""The member list: names as the room knows them, marked "you" and "host" on screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QStringListModel, Qt
from PySide6.QtGui import QFont


class MemberListModel(QStringListModel):
    """``stringList()`` holds the plain names; the display adds "(you)" and "(host)", and
    shows us in bold."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.me = ""
        self.host = ""

    def mark(self, me: str, host: str) -> None:
        """Who we are and who hosts (``""``: nobody known)."""
        self.me, self.host = me, host
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1))

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """The name with its marks; our own row in bold."""
        name = super().data(index, Qt.ItemDataRole.DisplayRole)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(name, str):
            marks = [word for word, who in (("you", self.me), ("host", self.host)) if who == name]
            return f"{name} ({', '.join(marks)})" if marks else name
        if role == Qt.ItemDataRole.FontRole and name == self.me:
            font = QFont()
            font.setBold(True)
            return font
        return super().data(index, role)

    def name_at(self, row: int) -> str:
        """The plain name in ``row`` (``""`` past the end)."""
        names = self.stringList()
        return names[row] if 0 <= row < len(names) else ""
