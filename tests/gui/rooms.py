"""Steps of the GUI tests: host a room, join it, answer a question, read a pane."""

from __future__ import annotations

import socket

from PySide6.QtWidgets import QMessageBox, QPushButton

from desktopchat.client import SessionState
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.panes.message_model import MessageListModel
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def host_room(window: MainWindow, port: int, name: str = "hoster") -> None:
    page = window.host_page
    window.start_page.host_button.click()
    page.port.setValue(port)
    page.name.setText(name)
    page.who.setCurrentIndex(1)  # this computer only: tests never listen on the LAN
    page.start.click()
    await until(
        lambda: (
            window.pages.currentWidget() is window.room_view
            and window.controller.state is SessionState.OPEN
        ),
        "the host to enter its own room",
    )


async def join_room(window: MainWindow, address: str, name: str, token: str = "") -> None:
    window.start_page.join_button.click()
    window.join_page.address.setText(address)
    window.join_page.name.setText(name)
    window.join_page.token.setText(token)
    window.join_page.join.click()


async def host_and_guest(make_window: WindowFactory) -> tuple[MainWindow, MainWindow, int]:
    """Two windows: one hosting on a free port, one joined to it as "guest"."""
    port = free_port()
    host, guest = make_window(), make_window()
    await host_room(host, port)
    await join_room(guest, f"127.0.0.1:{port}", "guest")
    await until(lambda: guest.controller.state is SessionState.OPEN, "the guest to join")
    return host, guest, port


def answer(box: QMessageBox, button: str) -> None:
    """Click ``button`` of an open question."""
    next(b for b in box.findChildren(QPushButton) if b.text() == button).click()


def count(model: MessageListModel) -> int:
    model.flush()
    return len(model.rows())


def texts(window: MainWindow, kind: Kind = Kind.TEXT) -> list[str]:
    model = window.room_view.models[kind]
    model.flush()
    return [row.text for row in model.rows()]
