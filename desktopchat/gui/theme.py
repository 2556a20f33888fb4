"""The app's own light or dark look, or the desktop's (the default)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from desktopchat.gui.recent import Remembered

_DARK = {
    QPalette.ColorRole.Window: "#202124",
    QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#17181a",
    QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.Text: "#e8eaed",
    QPalette.ColorRole.Button: "#2b2d30",
    QPalette.ColorRole.ButtonText: "#e8eaed",
    QPalette.ColorRole.Highlight: "#3d7be0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    QPalette.ColorRole.ToolTipBase: "#2b2d30",
    QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.Mid: "#3c4043",
    QPalette.ColorRole.Light: "#3c4043",
    QPalette.ColorRole.Dark: "#111214",
    QPalette.ColorRole.BrightText: "#ffffff",
}
_SCHEMES = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}


def dark_palette() -> QPalette:
    """A dark palette whose every text colour reads on its background (4.5:1 and more)."""
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6f75"))
    return palette


class Themes:
    """Switches the application between ``system``, ``light`` and ``dark``.

    The desktop's palette is kept from before the first switch, so that ``system`` goes back
    to exactly what the desktop gave (which may itself be dark).
    """

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._desktop = QPalette(app.palette())
        self._desktop_style = app.style().name()
        self.current = "system"

    def apply(self, choice: str) -> None:
        """Use ``choice`` from now on (an unknown one is ``system``)."""
        choice = choice if choice in _SCHEMES else "system"
        if choice == self.current:
            return
        self.current = choice
        hints = self._app.styleHints()
        if choice in _SCHEMES:
            # The app's own colours: Fusion draws them the same on every desktop.
            self._app.setStyle(QStyleFactory.create("Fusion"))
            light = self._app.style().standardPalette()
            palette = dark_palette() if choice == "dark" else light
            hints.setColorScheme(_SCHEMES[choice])
        else:
            self._app.setStyle(QStyleFactory.create(self._desktop_style))
            palette = self._desktop
            hints.unsetColorScheme()
        self._app.setPalette(palette)
        # Style sheets resolve palette() once, when applied: apply again for the new colours.
        self._app.setStyleSheet(self._app.styleSheet())


class Looks:
    """The user's choices of look, applied and remembered: theme and message text size.

    It knows no widget: ``text_size(points)`` applies a size (0: the desktop's), and
    ``shown_points()`` is the size shown now (where a step up or down starts from);
    ``theme_chosen`` callables hear of every theme applied (the menu checks it).
    """

    def __init__(
        self,
        remembered: Remembered,
        text_size: Callable[[int], None],
        shown_points: Callable[[], float],
    ) -> None:
        self._remembered = remembered
        self._text_size = text_size
        self._shown_points = shown_points
        app = QApplication.instance()
        self._themes = Themes(app) if isinstance(app, QApplication) else None
        self.theme_chosen: list[Callable[[str], None]] = []

    def apply_remembered(self) -> None:
        """Apply the theme and text size remembered from the last run."""
        self.set_theme(self._remembered.theme)
        self._text_size(self._remembered.text_size)

    def set_theme(self, choice: str) -> None:
        """Use the ``system``, ``light`` or ``dark`` theme, and remember it."""
        self._remembered.theme = choice
        if self._themes is not None:
            self._themes.apply(choice)
        for told in self.theme_chosen:
            told(choice)

    def zoom(self, step: int) -> None:
        """Message text a point bigger (``1``), smaller (``-1``) or back to normal (``0``)."""
        size = 0
        if step:
            shown = round(self._shown_points())
            size = max(6, min(48, (self._remembered.text_size or shown) + step))
        self._remembered.text_size = size
        self._text_size(size)

    def hide_previews(self, hidden: bool) -> None:
        """Notifications say who wrote, not what (or again what)."""
        self._remembered.hide_previews = hidden
