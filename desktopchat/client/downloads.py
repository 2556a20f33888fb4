"""Saving files that other members sent: a name a peer chose never picks the path.

A sender controls the file name: ``../../.bashrc``, ``/etc/passwd``, ``CON``, a name with
terminal escapes or 5 000 characters. Only its last component survives, cleaned, and a file
that exists is never overwritten.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from desktopchat.protocol.files import safe_file_name


def claim_name(folder: Path, name: str, make: Callable[[Path], object]) -> Path:
    """Call ``make`` on ``folder``/``name`` cleaned, then ``name (2).ext`` … until it makes
    one (it must fail with ``FileExistsError``, never replace a file); the path made."""
    clean = safe_file_name(name)
    stem, dot, suffix = clean.rpartition(".")
    if not stem:
        stem, dot, suffix = clean, "", ""
    for number in range(1, 10_000):
        path = folder / (clean if number == 1 else f"{stem} ({number}){dot}{suffix}")
        try:
            make(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, f"{folder / clean} and 9 998 numbered copies exist")


def save_file(folder: Path, name: str, payload: bytes) -> Path:
    """Write ``payload`` into ``folder`` under the cleaned ``name`` (``name (2).ext`` … when
    taken); returns the path written. Raises ``OSError`` when the folder refuses."""

    def write(path: Path) -> None:
        # "x": never follow or replace an existing file, even one created meanwhile.
        with open(path, "xb") as file:
            file.write(payload)

    return claim_name(folder, name, write)
