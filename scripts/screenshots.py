"""Drive the real window through every screen and save a PNG of each (run by scripts/screenshots).

Two windows in one process: one hosts, one joins; they exchange text, JSON and a picture so
every pane has something to show.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import keyring
import qasync
from keyring.backends.null import Keyring as NullKeyring
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QWidget
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from desktopchat.app.hosting import ServerHoster
from desktopchat.app.notifier import SystemNotifier
from desktopchat.app.window import application
from desktopchat.assets import resource
from desktopchat.client import Session, SessionState
from desktopchat.client.discovery import FoundRoom
from desktopchat.client.pinning import KnownHosts
from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.recent import RecentRoom, Remembered, SettingsStore
from desktopchat.protocol import Kind
from desktopchat.server import Settings

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


async def shoot_screen(name: str, around: QWidget | None = None) -> None:
    """The whole screen (menus and notifications are windows of their own), or the part
    around ``around``."""
    await settle()
    screen = QGuiApplication.primaryScreen()
    shot = screen.grabWindow(0)
    if around is not None:
        frame = around.frameGeometry().adjusted(-10, -10, 10, 10)
        shot = shot.copy(frame.intersected(screen.geometry()))
    path = OUT / f"{name}{SUFFIX}.png"
    shot.save(str(path))
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
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 takes a str
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
    notifier = SystemNotifier(resource("icons", "desktopchat.svg"))
    host = MainWindow(ChatController(ServerHoster()), store, notifier=notifier)
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
    # Ada reads along in front (no notifications for the room she is looking at).
    host.raise_()
    host.activateWindow()
    await settle()

    host.controller.send_text("Hi Grace! The build is green again 🎉")
    await asyncio.sleep(0.2)
    guest.controller.send_text("Great — I'll send the latest metrics as JSON.")
    await asyncio.sleep(0.2)
    host.controller.send_text("Thanks. Could you drop the screenshot in the Binary pane too?")
    await asyncio.sleep(0.2)
    guest.controller.send_text(
        "Release notes for 1.4:\n- presence in batches\n- faster fan-out\n"
        "Details: https://example.org/desktopchat/1.4"
    )
    await asyncio.sleep(0.2)
    guest.controller.send_json_text(
        '{"type": "metrics", "build": 1287, "tests": {"passed": 412, "failed": 0},'
        ' "durations_ms": [812, 640, 955], "green": true}'
    )
    guest.controller.send_json_text('{"type": "update", "data": [1, 2, 3]}')
    guest.controller.send_file(str(image))
    binary = host.room_view.models[Kind.BINARY]

    def pictured() -> bool:
        binary.flush()
        return binary.rowCount() >= 1

    await until(pictured, "the picture")
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

    # Ada's context menu on Grace's release notes; replying quotes them.
    host.raise_()
    host.activateWindow()
    room.tabs.setCurrentWidget(room.text_pane)
    texts = room.models[Kind.TEXT]
    texts.flush()
    notes = next(
        texts.row_at(n) for n in range(texts.rowCount()) if "Release" in texts.row_at(n).text
    )
    view = room.text_pane.view
    menu = view.message_menu(notes)
    menu.popup(view.viewport().mapToGlobal(view.viewport().rect().center()))
    await shoot_screen("context-menu", host)
    menu.close()
    room.text_pane.quote(notes)
    await shoot(host, "room-reply")
    room.text_pane.entry.clear()

    # History scrolled back: yesterday's messages above today's, a day line between.
    yesterday = host.room_view.models[Kind.TEXT].row_at(0).time - 86_400_000
    older = [
        MessageRow(yesterday + n * 60_000, sender, Kind.TEXT, text=text, id=None)
        for n, (sender, text) in enumerate(
            [
                ("Grace", "Leaving for today: the nightly build is queued."),
                ("Ada", "Thanks! I'll look at the flaky test tomorrow morning."),
                ("Grace", "It was the tray test: fixed in #212."),
            ]
        )
    ]
    room.add_older(older, False)
    view.scrollToTop()
    await shoot(host, "history")
    view.follower.follow()

    others = await sidebar(guest, host, port)

    # Ada is in another window; Grace mentions her: the desktop shows a notification.
    guest.activateWindow()
    guest.raise_()
    await settle()
    guest.controller.send_text("@Ada the metrics are in — can you review before 5?")
    await until(lambda: host.attention.notifications.unread >= 1, "a notification")
    await asyncio.sleep(1.5)
    await shoot_screen("notification")

    # The app's own dark theme (independent of the desktop's).
    host.looks.set_theme("dark")
    host.activateWindow()
    await shoot(host, "room-dark-theme")
    host.looks.set_theme("system")

    # A status longer than the window: Ada stops hosting while Grace's picture is too big.
    big = workdir / "holiday-photos-from-the-whole-team-in-full-resolution.tar"
    with big.open("wb") as file:
        file.truncate(19 * 1024 * 1024)
    guest.resize(820, 600)
    guest.room_view.tabs.setCurrentWidget(guest.room_view.binary_pane)
    guest.controller.send_file(str(big))
    await host.controller.shutdown()
    await until(
        lambda: guest.controller.state is SessionState.RECONNECTING, "the guest reconnecting"
    )
    await shoot(guest, "long-status")

    await notifier.close()
    await guest.shutdown()
    await asyncio.gather(*(session.close() for session in others))
    await raw_endpoint(workdir)
    await trust_error(workdir)


async def opened(window: MainWindow, link: str) -> None:
    """Open ``link``'s room beside the others, and wait until it is joined."""
    window.open_link(link)
    room = window.conversations[-1]
    await until(lambda: room.controller.state is SessionState.OPEN, link)


async def sidebar(guest: MainWindow, host: MainWindow, port: int) -> list[Session]:
    """Grace keeps three rooms open: news waits in the two in the back, one with a
    mention, and Ada writes to her alone. The sessions that talk in those rooms are
    returned (to close at the end)."""
    guest.remembered.name = "Grace"
    lobby = guest.current
    talkers = []
    for room, who, lines in (
        ("design", "Lin", ["New icons are up for review", "@Grace which blue do you prefer?"]),
        ("random", "Sam", ["Lunch at 12:30?", "The coffee machine is fixed", "🎉"]),
    ):
        await opened(guest, f"ws://127.0.0.1:{port}/chat/{room}")
        talker = Session(f"ws://127.0.0.1:{port}/chat/{room}", name=who)
        await talker.start()
        talkers.append((talker, lines))
    assert lobby is not None
    guest.show_conversation(lobby)
    guest.activateWindow()
    for talker, lines in talkers:
        for line in lines:
            await talker.send_text(line)
    host.controller.send_text("/msg Grace are you free for a call after the review?")
    await until(lambda: len(guest.conversations) == 4, "the direct conversation")
    await until(lambda: guest.conversations[-1].unread == 1, "its unread message")
    await asyncio.sleep(0.5)  # the sidebar repaints its counts in batches
    await shoot(guest, "sidebar")
    guest.open_direct(lobby, "Ada")
    await shoot(guest, "direct")
    guest.show_conversation(lobby)
    return [talker for talker, _ in talkers]


async def trust_error(workdir: Path) -> None:
    """A room whose identity is not the one this computer trusted before: the Join form
    says so in words, the two fingerprints below as details."""
    port = free_port()
    host = MainWindow(
        ChatController(ServerHoster(Settings(tls="on"))), SettingsStore(workdir / "tls.json")
    )
    known = KnownHosts(workdir / "known-hosts.json")
    known.remember("127.0.0.1", port, "sha256:" + "5e" * 32)  # the identity of before
    guest = MainWindow(
        ChatController(ServerHoster(), known_hosts=known), SettingsStore(workdir / "g2.json")
    )
    for window in (host, guest):
        window.resize(1000, 680)
        window.show()
    host.host_now(HostOptions("lobby", "Ada", port, lan=False))
    await until(lambda: host.pages.currentWidget() is host.room_view, "the TLS room")
    guest.start_page.join_button.click()
    guest.join_page.address.setText(f"127.0.0.1:{port}/chat/lobby")
    guest.join_page.name.setText("Grace")
    guest.join_page.join.click()
    errors = guest.join_page.errors
    await until(lambda: any(label.isVisible() for label in errors.values()), "the refusal")
    await shoot(guest, "trust-error")
    await guest.shutdown()
    await host.shutdown()


async def ticker(ws: ServerConnection) -> None:
    """A market-data-like endpoint that is not a desktopchat room: JSON ticks and bytes."""
    await ws.send(json.dumps({"type": "hello", "feed": "prices", "symbols": ["ACME", "INIT"]}))
    for tick in range(3):
        await ws.send(json.dumps({"type": "tick", "symbol": "ACME", "price": 101.25 + tick}))
    await ws.send(bytes.fromhex("00 01 02 03 de ad be ef"))
    async for message in ws:
        await ws.send(message)


async def raw_endpoint(workdir: Path) -> None:
    """The window as a WebSocket workbench, on an endpoint that is not a room."""
    async with serve(ticker, "127.0.0.1", 0, subprotocols=[Subprotocol("prices.v1")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        window = MainWindow(ChatController(ServerHoster()), SettingsStore(workdir / "raw.json"))
        window.resize(1100, 720)
        window.show()
        window.start_page.join_button.click()
        page = window.join_page
        page.address.setText(f"ws://127.0.0.1:{port}/stream")
        page.raw_fields.raw.setChecked(True)
        page.raw_fields.toggle.setChecked(True)
        page.raw_fields.subprotocols.setText("prices.v1")
        page.raw_fields.headers.setPlainText("Authorization: Bearer demo-token")
        await shoot(window, "join-raw")
        page.join.click()
        await until(lambda: window.pages.currentWidget() is window.room_view, "raw panes")
        room = window.room_view
        room.saved.variables.setPlainText("symbol = ACME")
        room.tabs.setCurrentWidget(room.json_pane)
        room.json_pane.editor.setPlainText('{"type": "subscribe", "symbol": "{{symbol}}"}')
        room.saved.name.setText("subscribe")
        room.saved.saveWanted.emit("subscribe")
        window.controller.send_json_text('{"type": "subscribe", "symbol": "ACME"}')
        window.controller.send_text("ping")
        await asyncio.sleep(0.5)
        room.json_pane.view.setCurrentIndex(room.json_pane.proxy.index(1, 0))
        await shoot(window, "raw-websocket")
        room.tabs.setCurrentWidget(room.binary_pane)
        room.binary_pane.view.setCurrentIndex(room.binary_pane.proxy.index(0, 0))
        await shoot(window, "raw-binary")
        # The timeline: every frame both ways, pings with their round trip, and the close.
        timeline = room.timeline
        room.tabs.setCurrentWidget(timeline)
        timeline.payload.setText("are you there?")
        timeline.ping.click()
        await asyncio.sleep(0.3)
        timeline.code.setValue(4000)
        timeline.reason.setText("done for today")
        timeline.close_button.click()
        await until(lambda: window.controller.state is SessionState.CLOSED, "the close")
        await shoot(window, "raw-timeline")
        await window.shutdown()


def run() -> None:
    # Secrets the screens would keep (a saved connection's Authorization header) go nowhere:
    # a keyring here would stop the run at its "choose a password" prompt.
    keyring.set_keyring(NullKeyring())  # type: ignore[no-untyped-call]
    application()
    with tempfile.TemporaryDirectory() as workdir:
        image = prepare(Path(workdir))
        qasync.run(main(Path(workdir), image))


if __name__ == "__main__":
    run()
