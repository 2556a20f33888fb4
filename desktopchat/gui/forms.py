"""What the Host and Join forms share: error labels, the busy bar, the button row, the layout."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopchat.gui.elided import wrapping


def error_label() -> QLabel:
    """A hidden, wrapping label styled as an error."""
    label = wrapping(QLabel())
    label.setObjectName("error")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def busy_bar() -> QProgressBar:
    """A thin, hidden, indeterminate progress bar for "working on it"."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(6)
    bar.hide()
    return bar


def button_row(
    back: Callable[[], object], label: str, submit: Callable[[], object]
) -> tuple[QHBoxLayout, QPushButton]:
    """Back on the left, the primary action on the right; returns the row and that button."""
    back_button = QPushButton("Back")
    back_button.clicked.connect(back)
    primary = QPushButton(label)
    primary.setObjectName("primary")
    primary.setDefault(True)
    primary.clicked.connect(submit)
    row = QHBoxLayout()
    row.addWidget(back_button)
    row.addStretch(1)
    row.addWidget(primary)
    return row, primary


def is_enter(event: QKeyEvent) -> bool:
    """Whether ``event`` is Enter or Return with no modifier but the keypad's.

    Line edits and spin boxes pass Enter on to their page (Qt ignores it there so that a
    default button can act), so a form page submits from any of its fields by catching it.
    """
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not modifiers


def centred_column(page: QWidget, *parts: QWidget | QLayout) -> None:
    """Lay ``parts`` out top to bottom in a column centred on ``page``."""
    column = QVBoxLayout()
    column.addStretch(1)
    for part in parts:
        if isinstance(part, QLayout):
            column.addLayout(part)
        else:
            column.addWidget(part)
    column.addStretch(2)
    outer = QHBoxLayout(page)
    outer.addStretch(1)
    outer.addLayout(column, 2)
    outer.addStretch(1)
