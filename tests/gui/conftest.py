"""GUI fixtures: a qasync loop per test, and windows wired to a real embedded server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktopchat.app.hosting import ServerHoster
from desktopchat.app.qt_loop import QtLoop
from desktopchat.gui.controller import ChatController
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import SettingsStore


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test hosts with a history file of its own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def shown(qtbot: QtBot, widget: QWidget, width: int, height: int) -> None:
    """Show ``widget`` at ``width`` by ``height`` (closed with the test) and wait for it."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[QtLoop]:
    """An asyncio loop driven by Qt, as in the app; tests run coroutines on it."""
    # As in the app: closing the last window must not stop the loop (pytest-qt closes them).
    qapp.setQuitOnLastWindowClosed(False)
    loop = QtLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


class Windows:
    """Makes windows with their own settings file, and shuts their controllers down."""

    def __init__(self, tmp_path: Path, loop: QtLoop) -> None:
        self._tmp_path = tmp_path
        self._loop = loop
        self.windows: list[MainWindow] = []

    def __call__(self, settings: Path | None = None, **options: Any) -> MainWindow:
        """A window (``options`` go to MainWindow: ``notifier``, ``tray``; ``client_key``
        to its controller)."""
        number = len(self.windows)
        store = SettingsStore(settings or self._tmp_path / f"settings-{number}.json")
        options.setdefault("tray", False)
        controller = ChatController(ServerHoster(), client_key=options.pop("client_key", None))
        window = MainWindow(controller, store, **options)
        # Not qtbot.addWidget: pytest-qt would delete the window before the controller's
        # shutdown below, whose signals still reach its widgets.
        window.show()
        self.windows.append(window)
        return window

    def shut_down(self) -> None:
        """Stop every window's session and server, on the loop (once)."""
        windows, self.windows = self.windows, []
        for window in windows:
            self._loop.run_until_complete(window.shutdown())
            window.close()
            window.deleteLater()


WindowFactory = Windows


@pytest.fixture
def make_window(tmp_path: Path, qloop: QtLoop) -> Iterator[Windows]:
    """Windows with their own settings file; controllers are shut down after the test."""
    windows = Windows(tmp_path, qloop)
    yield windows
    windows.shut_down()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Shut the windows' servers down as the test ends, before pytest-qt processes Qt's
    pending events: a server task must not wait
    for a loop that will not run again."""
    try:
        return (yield)
    finally:
        fixtures = getattr(item, "funcargs", {})
        windows = fixtures.get("make_window")
        if isinstance(windows, Windows):
            windows.shut_down()
        loop = fixtures.get("qloop")
        if isinstance(loop, QtLoop) and not loop.is_closed():
            finish_tasks(loop)


def finish_tasks(loop: QtLoop) -> None:
    """Cancel what still runs on ``loop`` and let it end, while the loop runs."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def until(predicate: Callable[[], object], what: str, within: float = 10.0) -> None:
    """Wait (bounded) until ``predicate()`` is true, letting Qt and asyncio run meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


class MemoryKeyring(KeyringBackend):
    """A keyring in memory: tests never touch the user's real one."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every GUI test gets an empty in-memory keyring."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
