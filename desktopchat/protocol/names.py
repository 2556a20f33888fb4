"""Display names: what a wish becomes, and how the room keeps names unique.

Pure rules, shared by the server (which assigns names) and clients (which show them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container

MAX_NAME_CHARS = 32
DEFAULT_NAME = "guest"


def clean_name(wish: str | None) -> str:
    """Turn a wished-for name into a displayable one.

    Control and format characters go (they could spoof other names or break layouts),
    runs of whitespace become one space, and the result is cut to ``MAX_NAME_CHARS``.
    An empty result becomes ``"guest"``.
    """
    if not wish:
        return DEFAULT_NAME
    kept = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", wish)
        if char.isspace() or unicodedata.category(char)[0] != "C"
    )
    name = " ".join(kept.split())[:MAX_NAME_CHARS].strip()
    return name or DEFAULT_NAME


def unique_name(wish: str | None, taken: Container[str]) -> str:
    """The cleaned wish, or the first of ``wish 2``, ``wish 3`` … not in ``taken``.

    ``taken`` holds the names in use, casefolded (see :func:`name_key`), so ``Alice`` and
    ``alice`` never share a room; a set makes each check O(1) in rooms of thousands.
    """
    base = clean_name(wish)
    if name_key(base) not in taken:
        return base
    number = 2
    while True:
        suffix = f" {number}"
        candidate = base[: MAX_NAME_CHARS - len(suffix)] + suffix
        if name_key(candidate) not in taken:
            return candidate
        number += 1


def name_key(name: str) -> str:
    """The form in which names are compared (case-insensitive)."""
    return name.casefold()
