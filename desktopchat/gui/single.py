"""One window per settings folder: a second ``desktopchat`` (or ``desktopchat LINK`` from a
terminal, a browser or a file manager) hands its link to the window already running and
ends, instead of a second window fighting over the settings and the port.

The running window listens on a local socket (``QLocalServer``: a Unix socket here, a named
pipe on Windows) named after its settings folder, so two users, or a test with a folder of
its own, never meet. A link is one line of at most :data:`MAX_LINK` bytes; an empty line
only asks the window to come to the front. A socket left by a window that crashed is
removed when nobody answers on it.
"""

from __future__ import annotations

import hashlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktopchat.paths import config_dir

logger = logging.getLogger("desktopchat.gui")

MAX_LINK = 8192
"""A link longer than this is not one (and is not read)."""
WAIT_MS = 1000


def instance_name() -> str:
    """The local socket's name: this user's settings folder, hashed."""
    folder = str(config_dir().resolve()).encode()
    return f"desktopchat-{hashlib.sha256(folder).hexdigest()[:16]}"


def hand_over(link: str, name: str | None = None) -> bool:
    """Give ``link`` ("": just come to the front) to the window running here; whether one
    took it."""
    socket = QLocalSocket()
    socket.connectToServer(name or instance_name())
    if not socket.waitForConnected(WAIT_MS):
        return False
    socket.write((link.replace("\n", " ") + "\n").encode()[:MAX_LINK])
    socket.flush()
    handed = socket.waitForBytesWritten(WAIT_MS) or socket.bytesToWrite() == 0
    socket.disconnectFromServer()
    return handed


def answering(name: str | None = None) -> bool:
    """Whether a window listens on ``name`` (connects, then hangs up saying nothing)."""
    socket = QLocalSocket()
    socket.connectToServer(name or instance_name())
    connected = socket.waitForConnected(WAIT_MS)
    socket.abort()
    return connected


class Instance(QObject):
    """The running window's end: ``linkReceived(link)`` for each link handed over."""

    linkReceived = Signal(str)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Start listening, unless another window does; whether it could. A socket nobody
        answers on is a crashed window's: it is removed first."""
        # Asked first: with access options, Qt moves its new socket over an old one,
        # whoever still listens on it.
        if answering(self.name):
            return False  # `desktopchat host` beside a window: that one keeps the links
        if self._server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            return True
        logger.warning(
            "cannot listen for links from other desktopchats: %s", self._server.errorString()
        )
        return False

    def close(self) -> None:
        """Stop listening (the window is closing)."""
        self._server.close()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.setReadBufferSize(MAX_LINK)
            socket.readyRead.connect(lambda socket=socket: self._read(socket))
            socket.disconnected.connect(socket.deleteLater)
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() >= MAX_LINK:
                socket.abort()  # no line in 8 KiB: not a link
            return
        line = bytes(socket.readLine(MAX_LINK).data()).decode("utf-8", "replace").strip()
        socket.disconnectFromServer()
        self.linkReceived.emit(line)
