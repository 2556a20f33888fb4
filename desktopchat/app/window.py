"""``desktopchat`` with no command: the window, on one asyncio loop driven by Qt (qasync)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QDir
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktopchat.app.hosting import ServerHoster, host_options
from desktopchat.app.notifier import SystemNotifier
from desktopchat.app.qt_loop import run
from desktopchat.assets import resource, resources_dir
from desktopchat.client.identity import install_key
from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.notifications import TrayNotifier
from desktopchat.gui.recent import SettingsStore
from desktopchat.gui.single import Instance, hand_over
from desktopchat.paths import log_file
from desktopchat.server import Settings

logger = logging.getLogger("desktopchat.app")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def application() -> QApplication:
    """The QApplication, styled, that never quits on its own: ``run`` decides when to end."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv)
    app.setApplicationName("desktopchat")
    app.setDesktopFileName("desktopchat")
    # Quitting Qt mid-run would stop the loop before the server's shutdown ran.
    app.setQuitOnLastWindowClosed(False)
    style(app)
    app.setWindowIcon(QIcon(str(resource("icons", "desktopchat.svg"))))
    return app


def style(app: QApplication) -> None:
    """Give ``app`` desktopchat's stylesheet."""
    # The stylesheet names its images as desktopchat:icons/…, wherever the resources are
    # (a checkout, the wheel's _resources, a frozen bundle).
    QDir.addSearchPath("desktopchat", str(resources_dir()))
    app.setStyleSheet(resource("style.qss").read_text(encoding="utf-8"))


def build_window(base: Settings | None = None) -> MainWindow:
    """The window with its controller, the real server hoster (``base``: the server's
    settings beyond what the Host form asks) and the desktop's notifications."""
    controller = ChatController(ServerHoster(base), client_key=install_key())
    notifier = SystemNotifier(resource("icons", "desktopchat.svg"))
    window = MainWindow(controller, SettingsStore(), QApplication.windowIcon(), notifier=notifier)
    if window.attention.tray is not None:
        notifier.fallback = TrayNotifier(window.attention.tray)
    return window


def log_to_file(path: Path) -> logging.Handler | None:
    """Also log to ``path`` (kept to a few MB), for the About box to point at; ``None`` if
    the folder cannot be written (the log then goes to standard error only)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2 * 1024 * 1024, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        logger.warning("cannot write the log file %s: %s", path, exc)
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    return handler


async def run_until_closed(
    window: MainWindow, host: HostOptions | None = None, link: str = ""
) -> None:
    """Show ``window`` (hosting at once with ``host``), wait until it is closed or SIGINT /
    SIGTERM arrives, then shut down cleanly: members get 1001, the port is freed."""
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, closed.set)
    window.show()
    if host is not None:
        window.host_now(host)
    else:
        window.restore_rooms()
        if link:
            window.open_link(link)
    await closed.wait()
    window.hide()
    await window.shutdown()
    backend = window.attention.notifications.backend
    if isinstance(backend, SystemNotifier):
        await backend.close()


def run_window(host: Settings | None = None, name: str = "", link: str = "") -> int:
    """Entry point of the window; returns the exit status. With ``host``, the window hosts
    a room with those server settings at once, with us in it as ``name``; with ``link``, it
    opens that room's Join form. A window already running for these settings takes the
    link (or comes to the front) instead, and this one ends."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    application()
    if host is None and hand_over(link):
        print("desktopchat: handed to the window already running", file=sys.stderr)
        return 0
    log_to_file(log_file())
    instance = Instance()
    instance.listen()
    options = host_options(host, name) if host is not None else None
    window = build_window(host)
    instance.linkReceived.connect(window.open_link)
    try:
        run(run_until_closed(window, options, link))
    finally:
        instance.close()
    return 0
