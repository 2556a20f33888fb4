"""Colours for JSON text: keys, strings, numbers, literals."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

_TOKENS = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
)


def _format(colour: str, dark: bool, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour).lighter(170) if dark else QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    return fmt


class JsonHighlighter(QSyntaxHighlighter):
    """Highlights a JSON document line by line (JSON strings never span lines).

    ``background`` is the colour the text sits on: on a dark one the colours are lightened.
    """

    def __init__(self, document: QTextDocument, background: QColor) -> None:
        super().__init__(document)
        dark = background.lightness() < 128
        self._formats = {
            "key": _format("#1f4fb8", dark, bold=True),
            "string": _format("#1c7a45", dark),
            "number": _format("#b35c00", dark),
            "literal": _format("#8a3ab9", dark),
        }

    def highlightBlock(self, text: str) -> None:
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            if kind is not None:
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])
