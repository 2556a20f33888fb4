"""The menu bar: the room's notifications, the look (theme, text size), and Help."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

_LEVELS = (("all", "Every message"), ("mentions", "Only when @mentioned"), ("none", "Nothing"))
_THEMES = (("system", "Like the desktop"), ("light", "Light"), ("dark", "Dark"))


@dataclass
class Menus:
    """The actions whose state the window updates (checked level, theme …)."""

    levels: dict[str, QAction]
    hide_previews: QAction
    themes: dict[str, QAction]
    room: QMenu
    start_at_login: QAction
    sound: QAction


def _choices(
    menu: QMenu, choices: tuple[tuple[str, str], ...], chosen: Callable[[str], None]
) -> dict[str, QAction]:
    group = QActionGroup(menu)
    actions: dict[str, QAction] = {}
    for key, label in choices:
        action = menu.addAction(label)
        action.setCheckable(True)
        action.triggered.connect(lambda _checked=False, key=key: chosen(key))
        group.addAction(action)
        actions[key] = action
    return actions


def build_menus(
    window: QMainWindow,
    *,
    level: Callable[[str], None],
    hide_previews: Callable[[bool], None],
    theme: Callable[[str], None],
    zoom: Callable[[int], None],
    about: Callable[[], None],
    start_at_login: Callable[[bool], None],
    sound: Callable[[bool], None],
) -> Menus:
    """Add the menus to ``window``; each choice calls the matching callable (``zoom`` gets
    +1, -1, or 0 for the normal size)."""
    bar = window.menuBar()
    room = bar.addMenu("&Room")
    notify = room.addMenu("Notify me of")
    levels = _choices(notify, _LEVELS, level)
    previews = room.addAction("Hide message text in notifications")
    previews.setCheckable(True)
    previews.toggled.connect(hide_previews)
    chime = room.addAction("Sound for mentions and direct messages")
    chime.setCheckable(True)
    chime.toggled.connect(sound)

    view = bar.addMenu("&View")
    themes = _choices(view.addMenu("Theme"), _THEMES, theme)
    view.addSeparator()
    for label, keys, step in (
        ("Bigger text", QKeySequence.StandardKey.ZoomIn, 1),
        ("Smaller text", QKeySequence.StandardKey.ZoomOut, -1),
    ):
        action = view.addAction(label)
        action.setShortcut(keys)
        action.triggered.connect(lambda _checked=False, step=step: zoom(step))
    normal = view.addAction("Normal text size")
    normal.setShortcut(QKeySequence("Ctrl+0"))
    normal.triggered.connect(lambda: zoom(0))
    view.addSeparator()
    at_login = view.addAction("Start at login")
    at_login.setCheckable(True)
    at_login.toggled.connect(start_at_login)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction("About desktopchat", about)
    return Menus(levels, previews, themes, room, at_login, chime)
