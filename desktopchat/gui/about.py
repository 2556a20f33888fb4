"""The About box: the version, where desktopchat keeps its files, and where its log is."""

from __future__ import annotations

import html

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktopchat import __version__
from desktopchat.paths import config_dir, data_dir, log_file


def about_text() -> str:
    """The About box's text (rich text; paths selectable)."""
    rows = [
        ("Settings", config_dir()),
        ("History and identities", data_dir()),
        ("Log", log_file()),
    ]
    places = "".join(
        f"<tr><td><b>{html.escape(what)}</b>&nbsp;&nbsp;</td><td>{html.escape(str(where))}</td></tr>"
        for what, where in rows
    )
    return (
        f"<h3>desktopchat {html.escape(__version__)}</h3>"
        "<p>A chat room for your network: host one, or join one, from this app or a browser."
        "</p>"
        f"<table>{places}</table>"
        f"<p><small>Qt for Python {html.escape(pyside_version)}. MIT licence.</small></p>"
    )


def show_about(parent: QWidget) -> QMessageBox:
    """Open the About box (without blocking the event loop) and return it."""
    box = QMessageBox(parent)
    box.setWindowTitle("About desktopchat")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text())
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.open()
    return box
