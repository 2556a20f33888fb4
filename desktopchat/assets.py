"""Finds the files of ``resources/`` wherever the app runs from.

Three places are possible: a source checkout (``resources/`` beside the package), an installed
wheel (the same files shipped as ``desktopchat/_resources``), and a PyInstaller bundle
(``resources/`` inside the bundle's folder).
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding ``static/``, icons and the stylesheet."""
    bundle = getattr(sys, "_MEIPASS", None)
    package = Path(__file__).resolve().parent
    candidates = [
        *([Path(bundle) / "resources"] if bundle else []),
        package.parent / "resources",
        package / "_resources",
    ]
    for candidate in candidates:
        if (candidate / "static").is_dir():
            return candidate
    raise FileNotFoundError(
        "desktopchat's resources are missing; looked in " + ", ".join(map(str, candidates))
    )


def resource(*parts: str) -> Path:
    """The path of one resource, e.g. ``resource("static", "index.html")``."""
    return resources_dir().joinpath(*parts)
