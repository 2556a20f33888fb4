"""Where desktopchat keeps its files on this computer (the platform's user folders)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "desktopchat"


def data_dir() -> Path:
    """History, the server's certificate and known room identities."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    """Settings: the name last used, recent rooms, theme and notification choices."""
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def log_file() -> Path:
    """The window's log (the terminal commands log to standard error only)."""
    return Path(platformdirs.user_log_dir(APP, appauthor=False)) / "desktopchat.log"
