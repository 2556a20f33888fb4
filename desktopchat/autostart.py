"""*Start at login*: an XDG autostart entry (``~/.config/autostart/desktopchat.desktop``),
the freedesktop way every Linux desktop reads at login. Written whole (atomically), removed
to turn it off; the entry starts the window, minimised to nothing special."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from desktopchat.atomic import write_atomically

ENTRY = "desktopchat.desktop"


def autostart_dir() -> Path:
    """Where the desktop looks for programs to start at login (``$XDG_CONFIG_HOME``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def command() -> str:
    """How to start this desktopchat again: the frozen program itself, or its Python with
    ``-m desktopchat`` (a checkout, a venv): what runs now, not whatever is on the PATH."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    return f"{shlex.quote(sys.executable)} -m desktopchat"


def starts_at_login() -> bool:
    """Whether the entry is there."""
    return (autostart_dir() / ENTRY).is_file()


def start_at_login(wanted: bool) -> None:
    """Write or remove the entry (``OSError`` when the folder refuses)."""
    path = autostart_dir() / ENTRY
    if not wanted:
        path.unlink(missing_ok=True)
        return
    write_atomically(
        path,
        "\n".join(
            (
                "[Desktop Entry]",
                "Type=Application",
                "Name=desktopchat",
                "Comment=Chat rooms on your network, started at login",
                f"Exec={command()}",
                "Icon=desktopchat",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
                "",
            )
        ),
    )
