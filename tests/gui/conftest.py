"""GUI fixtures: a qasync loop per test, and windows wired to a real embedded server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
import qasync
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtWidgets import QApplication

from desktopchat.app.hosting import ServerHoster
from desktopchat.gui.controller import ChatController
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import SettingsStore

WindowFactory = Callable[[], MainWindow]


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test hosts with a history file of its own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """An asyncio loop driven by Qt, as in the app; tests run coroutines on it."""
    # As in the app: closing the last window must not stop the loop (pytest-qt closes them).
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def make_window(
    qapp: QApplication, tmp_path: Path, qloop: qasync.QEventLoop
) -> Iterator[WindowFactory]:
    """Windows with their own settings file; controllers are shut down after the test."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        number = len(windows)
        window = MainWindow(
            ChatController(ServerHoster()), SettingsStore(tmp_path / f"settings-{number}.json")
        )
        # Not qtbot.addWidget: pytest-qt would delete the window before the controller's
        # shutdown below, whose signals still reach its widgets.
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        qloop.run_until_complete(window.controller.shutdown())
        window.close()
        window.deleteLater()


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
