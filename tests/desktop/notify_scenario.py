"""Run by ``test_desktop_notifications.py`` under Xvfb and a private session D-Bus: the real
window (desktop-notifier as its backend) hosts a room, another window is in front, a member
writes; prints as JSON what the notification server was asked to show, and whether clicking
the notification brought the room forward."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QLabel
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from desktopchat.app import qt_loop
from desktopchat.app.window import application, build_window
from desktopchat.client import SessionState
from desktopchat.gui.hosting import HostOptions
from desktopchat.protocol import SUBPROTOCOL
from desktopchat.server import Settings
from tests.desktop.fake_notifications import serve


async def until(predicate: Callable[[], object], what: str, within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - Qt state has no awaitable to wait on
            await asyncio.sleep(0.05)
    print(f"-- {what}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


HOSTILE = '<a href="http://evil.example/phish">click here</a> & <img src="file:///etc/hostname">'
"""A member's markup: a service that renders body markup must show it as text."""


async def scenario() -> dict[str, object]:
    service = await serve()
    window = build_window(Settings(history=None, advertise=False))
    window.show()
    port = free_port()
    window.host_now(HostOptions(room="chat", name="host", port=port, lan=False, history=False))
    await until(lambda: window.controller.state is SessionState.OPEN, "hosting")
    other = QLabel("another application's window")
    other.show()
    other.activateWindow()
    await until(lambda: not window.attention.watching(), "the room window in the back")
    opened: list[bool] = []
    (room,) = window.conversations
    # The click reaches the room's own notifications, which bring that room in front.
    room.notifications.opened.connect(lambda: opened.append(window.current is room))
    async with connect(
        f"ws://127.0.0.1:{port}/chat", subprotocols=[Subprotocol(SUBPROTOCOL)], proxy=None
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "name": "tester"}))
        await ws.recv()
        await ws.send(json.dumps({"type": "text", "text": "hello from the LAN", "cid": "1"}))
        await until(lambda: service.shown, "a Notify call")
        await ws.send(json.dumps({"type": "text", "text": HOSTILE, "cid": "2"}))
        await until(lambda: len(service.shown) == 2 and service.closed, "the replacement")
        await service.click(2)
        await until(lambda: opened, "the click to open the room")
    result = {
        "shown": service.shown,
        "closed": service.closed,
        "opened": opened == [True],
        "title": window.windowTitle(),
        "fallback": window.attention.notifications.backend is None,
    }
    await window.shutdown()
    return result


def main() -> int:
    application()
    result = qt_loop.run(scenario())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
