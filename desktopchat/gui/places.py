"""Where file dialogs open: the user's own folders, never the program's working folder
(which, started from a menu or a package, is ``/`` or the install folder)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def _folder(location: QStandardPaths.StandardLocation) -> Path:
    found = QStandardPaths.writableLocation(location)
    # A fresh account may have no Downloads folder yet: a dialog would then fall back to
    # the working folder.
    return Path(found) if found and Path(found).is_dir() else Path.home()


def download_folder() -> Path:
    """Where downloads go unless the user says otherwise: Downloads (or home)."""
    return _folder(QStandardPaths.StandardLocation.DownloadLocation)


def save_path(name: str) -> str:
    """Where to offer to save ``name``: in the user's Downloads folder (or home)."""
    return str(download_folder() / name)


def open_folder() -> str:
    """Where to look for a file to send: the user's home."""
    return str(_folder(QStandardPaths.StandardLocation.HomeLocation))
