"""Questions to the user that do not block the event loop (``open()``, never ``exec()``: a
nested loop would stall asyncio under qasync)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

Choice = tuple[str, QMessageBox.ButtonRole, Callable[[], object]]
"""A button: its label, its role (placement, and "destructive" styling), what it does."""


def ask(
    parent: QWidget,
    title: str,
    text: str,
    choices: Sequence[Choice],
    *,
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
    cancelled: Callable[[], None] | None = None,
    finished: Callable[[], None] | None = None,
) -> QMessageBox:
    """Open a box with Cancel (the default) and a button per choice; the chosen one's action
    runs, or ``cancelled``; ``finished`` runs first either way. Returns the open box."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Cancel, parent)
    buttons = [(box.addButton(label, role), action) for label, role, action in choices]
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def answered() -> None:
        if finished is not None:
            finished()
        clicked = box.clickedButton()
        for button, action in buttons:
            if clicked is button:
                action()
                return
        if cancelled is not None:
            cancelled()

    box.finished.connect(answered)
    box.open()
    return box
