"""Display names: what a wish becomes, and how the room keeps names unique.

Pure rules, shared by the server (which assigns names) and clients (which show them).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Container, MutableMapping

MAX_NAME_CHARS = 32
DEFAULT_NAME = "guest"


def clean_name(wish: str | None) -> str:
    """Turn a wished-for name into a displayable one.

    Control, format and invisible filler characters go (they could spoof other names or
    break layouts),
    runs of whitespace become one space, and the result is cut to ``MAX_NAME_CHARS``.
    An empty result becomes ``"guest"``.
    """
    if not wish:
        return DEFAULT_NAME
    kept = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFKC", wish)
        if char.isspace() or not (unicodedata.category(char)[0] == "C" or _invisible(char))
    )
    name = " ".join(kept.split())[:MAX_NAME_CHARS].strip()
    return name or DEFAULT_NAME


def unique_name(
    wish: str | None, taken: Container[str], counters: MutableMapping[str, int] | None = None
) -> str:
    """The cleaned wish, or the first of ``wish 2``, ``wish 3`` … not in ``taken``.

    ``taken`` holds the names in use, casefolded (see :func:`name_key`), so ``Alice`` and
    ``alice`` never share a room; a set makes each check O(1) in rooms of thousands.
    ``counters`` (kept by the caller, per room) remembers where each name's suffixes go on:
    without it, the 5 000th ``guest`` would try 4 999 taken suffixes first, and joining a
    room would cost O(members).
    """
    base = clean_name(wish)
    key = name_key(base)
    if key not in taken:
        return base
    number = counters.get(key, 2) if counters is not None else 2
    while True:
        suffix = f" {number}"
        candidate = base[: MAX_NAME_CHARS - len(suffix)] + suffix
        if name_key(candidate) not in taken:
            if counters is not None:
                counters[key] = number + 1
            return candidate
        number += 1


# Characters that draw nothing yet are not spaces: Unicode's default-ignorable fillers and
# the blank braille pattern, which let "Ada\u3164" pass for "Ada".
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0"
    + "".join(map(chr, range(0x180B, 0x1810)))
    + "".join(map(chr, range(0x200B, 0x2010)))
    + "".join(map(chr, range(0x2060, 0x2070)))
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)


def _invisible(char: str) -> bool:
    return char in _INVISIBLE or 0xE0000 <= ord(char) <= 0xE0FFF


@functools.cache
def _ascii_lookalikes() -> dict[str, str]:
    """Each non-ASCII character that Unicode's confusables data (UTS #39) lists as looking
    like an ASCII character, mapped to it: Cyrillic ``\u0410`` → ``A``, Greek ``\u03bf`` →
    ``o``."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        ascii_glyphs = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()]
        if ascii_glyphs and not char.isascii():
            table[char] = min(ascii_glyphs)
    return table


def name_key(name: str) -> str:
    """The form in which names are compared: ``Ada``, ``ada``, ``Ada`` in full-width
    letters, with a Cyrillic ``\u0410``, in mathematical bold, or followed by an invisible
    filler are one name.

    NFKC folds compatibility forms, invisible characters go, case is folded, and non-ASCII
    look-alikes of ASCII letters become those letters. ASCII itself is left alone: ``l``
    and ``I`` stay different names, as people type them.
    """
    if name.isascii():  # NFKC leaves ASCII as it is, and no ASCII character is invisible
        return name.casefold()
    key = "".join(
        char for char in unicodedata.normalize("NFKC", name) if not _invisible(char)
    ).casefold()
    if key.isascii():
        return key
    lookalikes = _ascii_lookalikes()
    return "".join(lookalikes.get(char, char) for char in key).casefold()
