"""Drive the real window through every screen and save a PNG of each (run by scripts/screenshots).

Two windows in one process: one hosts, one joins; they exchange text, JSON and a picture so
every pane has something to show.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

from desktopchat.app.hosting import ServerHoster
from desktopchat.app.window import application
from desktopchat.client.discovery import FoundRoom
from desktopchat.gui.controller import ChatController
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import RecentRoom, Remembered, SettingsStore

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
# "-dark" when run under a dark desktop theme (scripts/screenshots runs both).
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else ""


async def until(predicate: Callable[[], object], what: str, within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def settle() -> None:
    # Sleeping lets Qt paint; calling processEvents() here would re-enter the running task.
    await asyncio.sleep(0.4)


async def shoot(widget: QWidget, name: str) -> None:
    await settle()
    path = OUT / f"{name}{SUFFIX}.png"
    widget.grab().save(str(path))
    print(f"wrote {path}")


def picture() -> bytes:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#dbe8ff"))
    painter = QPainter(image)
    painter.setBrush(QColor("#2f6fde"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(40, 30, 140, 140)
    painter.setBrush(QColor("#f2a33a"))
    painter.drawRoundedRect(170, 60, 120, 100, 18, 18)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(workdir: Path) -> Path:
    """Settings with recent rooms for the start screen, and a picture to send."""
    OUT.mkdir(parents=True, exist_ok=True)
    SettingsStore(workdir / "host.json").save(
        Remembered(
            name="Ada",
            recent=[
                RecentRoom("ws://192.168.1.23:5042/chat", "Ada"),
                RecentRoom("ws://127.0.0.1:5042/chat/design", hosted=True),
            ],
        )
    )
    image = workdir / "dashboard.png"
    image.write_bytes(picture())
    return image


async def main(workdir: Path, image: Path) -> None:
    store = SettingsStore(workdir / "host.json")
    host = MainWindow(ChatController(ServerHoster()), store)
    guest = MainWindow(ChatController(ServerHoster()), SettingsStore(workdir / "guest.json"))
    for window in (host, guest):
        window.resize(1100, 720)
        window.show()
    await shoot(host, "start")

    host.start_page.host_button.click()
    page = host.host_page
    page.room.setText("lobby")
    page.port.setValue(free_port())
    page.who.setCurrentIndex(1)
    page.token.setText("")
    await shoot(host, "host")

    guest.start_page.join_button.click()
    guest.join_page.found.set_rooms(
        [
            FoundRoom(
                "a", "lobby", "ada-laptop", "192.168.1.23", 5042, "/chat/lobby", False, 3, "v1"
            ),
            FoundRoom(
                "b", "design", "studio-mac", "192.168.1.40", 5042, "/chat/design", True, 7, "v1"
            ),
        ]
    )
    guest.join_page.name.setText("Grace")
    await shoot(guest, "join")

    page.start.click()
    await until(lambda: host.pages.currentWidget() is host.room_view, "host room")
    port = page.port.value()
    guest.join_page.address.setText(f"127.0.0.1:{port}/chat/lobby")
    guest.join_page.join.click()
    await until(lambda: guest.pages.currentWidget() is guest.room_view, "guest room")

    host.controller.send_text("Hi Grace! The build is green again 🎉")
    await asyncio.sleep(0.2)
    guest.controller.send_text("Great — I'll send the latest metrics as JSON.")
    await asyncio.sleep(0.2)
    host.controller.send_text("Thanks. Could you drop the screenshot in the Binary pane too?")
    await asyncio.sleep(0.2)
    guest.controller.send_json_text(
        '{"type": "metrics", "build": 1287, "tests": {"passed": 412, "failed": 0},'
        ' "durations_ms": [812, 640, 955], "green": true}'
    )
    guest.controller.send_json_text('{"type": "update", "data": [1, 2, 3]}')
    guest.controller.send_file(str(image))
    binary = host.room_view.models["binary"]
    await until(lambda: binary.flush() is None and binary.rowCount() >= 1, "the picture")
    await settle()
    await shoot(host, "room-text")

    room = host.room_view
    room.tabs.setCurrentWidget(room.json_pane)
    room.json_pane.view.setCurrentIndex(room.json_pane.proxy.index(0, 0))
    room.json_pane.editor.setPlainText('{"reply": "looks good",\n "approve": tru')
    await shoot(host, "room-json")

    room.tabs.setCurrentWidget(room.binary_pane)
    room.binary_pane.view.setCurrentIndex(room.binary_pane.proxy.index(0, 0))
    await shoot(host, "room-binary")

    await shoot(guest, "room-guest")
    await guest.controller.shutdown()
    await host.controller.shutdown()


def run() -> None:
    application()
    with tempfile.TemporaryDirectory() as workdir:
        image = prepare(Path(workdir))
        qasync.run(main(Path(workdir), image))


if __name__ == "__main__":
    run()
