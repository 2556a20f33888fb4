"""QR codes for phones: the browser address as a pixmap (segno draws it, Qt renders the SVG)."""

from __future__ import annotations

import io

import segno
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer


def qr_pixmap(text: str, size: int = 180) -> QPixmap:
    """A ``size`` by ``size`` QR code of ``text``, dark on white with a quiet zone."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=2)
    renderer = QSvgRenderer(QByteArray(buffer.getvalue()))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.white)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap
