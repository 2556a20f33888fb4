"""A tree of one JSON value (key | value | type), for the JSON pane's selected message."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QStandardItem, QStandardItemModel

MAX_NODES = 5000
"""Beyond this many nodes the tree stops growing (a huge document stays responsive)."""


def type_label(value: Any) -> str:
    """The JSON name of ``value``'s type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return f"array [{len(value)}]"
    return f"object {{{len(value)}}}"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else str(value)


class JsonTreeModel(QStandardItemModel):
    """Three columns: key (or index), value (scalars only), type."""

    def __init__(self) -> None:
        super().__init__()
        self.setHorizontalHeaderLabels(["Key", "Value", "Type"])
        self.truncated = False

    def clear_value(self) -> None:
        """Show nothing (no message selected)."""
        self.removeRows(0, self.rowCount())
        self.truncated = False

    def show_value(self, value: Any) -> None:
        """Replace the tree with ``value``."""
        self.clear_value()
        budget = [MAX_NODES]
        self._add(self.invisibleRootItem(), "(root)", value, budget)

    def _add(self, parent: QStandardItem, key: str, value: Any, budget: list[int]) -> None:
        if budget[0] <= 0:
            self.truncated = True
            return
        budget[0] -= 1
        container = isinstance(value, dict | list)
        row = [QStandardItem(key), QStandardItem("" if container else _scalar(value))]
        row.append(QStandardItem(type_label(value)))
        for item in row:
            item.setEditable(False)
        parent.appendRow(row)
        if isinstance(value, dict):
            for child_key, child in value.items():
                self._add(row[0], str(child_key), child, budget)
        elif isinstance(value, list):
            for number, child in enumerate(value):
                self._add(row[0], f"[{number}]", child, budget)
