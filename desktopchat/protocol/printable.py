"""Text a peer controls, made safe to show on a terminal or write to a log.

A peer's name, message, file name or URL path may hold ESC sequences that retitle or clear
a terminal, newlines that forge a log line or a chat line from somebody else, bidi overrides
that reverse what follows, or lone surrogates that make ``print`` raise.
"""

from __future__ import annotations

import unicodedata

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` safe for a terminal line: control, format and lone surrogate characters
    (ESC, BEL, newlines, bidi overrides, zero-width joiners …) become visible escapes.

    A member could otherwise retitle or clear the reader's terminal (``ESC ] 0 ;``,
    ``ESC [ 2 J``), forge a line from somebody else with a newline, or crash ``print``
    with a lone surrogate.

    A backslash stays as it is: ``C:\\temp`` and a server's JSON must read as sent. What
    protects the terminal is that no control character gets through, not telling an escape
    from a typed backslash.
    """
    if text.isprintable():
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if unicodedata.category(char)[0] != "C" and unicodedata.category(char) not in ("Zl", "Zp"):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
