"""Saving files that other members sent: a name a peer chose never picks the path.

A sender controls the file name: ``../../.bashrc``, ``/etc/passwd``, ``CON``, a name with
terminal escapes or 5 000 characters. Only its last component survives, cleaned, and a file
that exists is never overwritten.
"""

from __future__ import annotations

import errno
from pathlib import Path

MAX_NAME_BYTES = 200  # below every common file system's 255, leaving room for " (12)"
_FORBIDDEN = set('<>:"|?*')  # Windows refuses them; harmless to drop everywhere
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10))}
_RESERVED |= {f"LPT{n}" for n in range(1, 10)}


def safe_file_name(name: str, fallback: str = "file") -> str:
    """The last path component of ``name``, with what a file system or terminal would
    misread removed; ``fallback`` when nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable() and char not in _FORBIDDEN)
    base = base.strip().lstrip(".").strip()
    if not base:
        return fallback
    if base.split(".", 1)[0].upper() in _RESERVED:
        base = "_" + base
    encoded = base.encode("utf-8", "replace")
    if len(encoded) > MAX_NAME_BYTES:
        _stem, dot, suffix = base.rpartition(".")
        keep = "." + suffix if dot and 0 < len(suffix.encode()) <= 16 else ""
        room = MAX_NAME_BYTES - len(keep.encode())
        base = encoded[:room].decode("utf-8", "ignore") + keep
    return base


def save_file(folder: Path, name: str, payload: bytes) -> Path:
    """Write ``payload`` into ``folder`` under the cleaned ``name`` (``name (2).ext`` … when
    taken); returns the path written. Raises ``OSError`` when the folder refuses."""
    clean = safe_file_name(name)
    stem, dot, suffix = clean.rpartition(".")
    if not stem:
        stem, dot, suffix = clean, "", ""
    for number in range(1, 10_000):
        candidate = clean if number == 1 else f"{stem} ({number}){dot}{suffix}"
        path = folder / candidate
        try:
            # "x": never follow or replace an existing file, even one created meanwhile.
            with open(path, "xb") as file:
                file.write(payload)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, f"{folder / clean} and 9 998 numbered copies exist")
