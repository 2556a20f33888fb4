"""Display names: what a wish becomes, and how the room keeps names unique.

Pure rules, shared by the server (which assigns names) and clients (which show them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

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


def unique_name(wish: str | None, taken: Collection[str]) -> str:
    """The cleaned wish, or the first of ``wish 2``, ``wish 3`` … that nobody in ``taken`` has.

    Names compare case-insensitively, so ``Alice`` and ``alice`` never share a room.
    """
    base = clean_name(wish)
    folded = {name.casefold() for name in taken}
    if base.casefold() not in folded:
        return base
    number = 2
    while True:
        suffix = f" {number}"
        candidate = base[: MAX_NAME_CHARS - len(suffix)] + suffix
        if candidate.casefold() not in folded:
            return candidate
        number += 1
