"""Questions to the user that do not block the event loop (``open()``, never ``exec()``: a
nested loop would stall asyncio under qasync)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from desktopchat.protocol.fingerprints import readable

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


def ask_to_trust(
    parent: QWidget,
    title: str,
    check: str,
    fingerprint: str,
    why: str,
    trusted: Callable[[], object],
    refused: Callable[[], None],
    finished: Callable[[], None],
    button: str = "Trust and join",
) -> QMessageBox:
    """Show a certificate's ``fingerprint`` and ask, as SSH does, before trusting it."""
    text = f"{check} that it reads\n\n{readable(fingerprint)}\n\nbefore you trust it."
    return ask(
        parent,
        title,
        f"{text} {why}".strip(),
        [(button, QMessageBox.ButtonRole.AcceptRole, trusted)],
        cancelled=refused,
        finished=finished,
    )


def ask_to_stop(
    parent: QWidget,
    title: str,
    doing: str,
    others: int,
    stop: tuple[str, Callable[[], object]],
    keep: Callable[[], object] | None = None,
) -> QMessageBox:
    """Ask whether to stop a hosted room, naming who would be disconnected; ``stop`` is
    the button and what it does, ``keep`` (where there is a tray) keeps hosting from there."""
    who = (
        f" and disconnects {others} other member{'s' if others != 1 else ''}"
        if others
        else "; nobody else is in it right now"
    )
    choices: list[Choice] = [(stop[0], QMessageBox.ButtonRole.DestructiveRole, stop[1])]
    if keep is not None:
        choices.append(("Keep hosting in the tray", QMessageBox.ButtonRole.AcceptRole, keep))
    return ask(parent, title, f"You are hosting this room. {doing} stops it{who}.", choices)
