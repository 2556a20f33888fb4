"""``desktopchat about``: where the app keeps its files and which of the desktop's services it
found (notifications, the keyring, TLS), for a user wondering why tokens are not kept or no
notification comes, and for a packager checking that a build carries what it needs."""

from __future__ import annotations

import asyncio
import ssl
import sys
from dataclasses import dataclass
from typing import TextIO

import cryptography
import keyring
from desktop_notifier import DesktopNotifier
from keyring.backends import fail

from desktopchat import __version__
from desktopchat.app.notifier import SystemNotifier
from desktopchat.assets import resource, resources_dir
from desktopchat.paths import config_dir, data_dir, log_file

SERVICES = {"linux": "freedesktop (D-Bus)", "darwin": "macOS", "win32": "Windows"}
"""What desktop-notifier talks to, by platform."""

PROBE_SECONDS = 5.0
"""How long the notification service may take to answer."""


@dataclass(frozen=True, slots=True)
class Service:
    """One desktop service: what was found, or why there is none."""

    found: bool
    text: str


def how_installed() -> str:
    """A frozen build, an installed package, or a source checkout."""
    if getattr(sys, "frozen", False):
        return "frozen build"
    return "source checkout" if (resources_dir().parent / "pyproject.toml").is_file() else "package"


async def notifications(send_test: bool) -> Service:
    """The desktop's notification service, as the window would use it."""
    backend = SERVICES.get(sys.platform, "the desktop's notification centre")
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            capabilities = await DesktopNotifier(app_name="desktopchat").get_capabilities()
    except Exception as exc:  # any failure of the bus means the same to the user
        return Service(False, f"none answered ({backend}: {exc or type(exc).__name__})")
    names = ", ".join(sorted(c.name.lower() for c in capabilities)) or "none"
    if not send_test:
        return Service(True, f"{backend} (capabilities: {names})")
    notifier = SystemNotifier(icon=resource("icons", "desktopchat.png"))
    notifier.show("about", "desktopchat", "Notifications from desktopchat appear here.", _nothing)
    await notifier.close()
    if notifier.broken:
        return Service(False, f"{backend} answered but did not show the test notification")
    return Service(True, f"{backend} (capabilities: {names}); a test notification was shown")


def _nothing() -> None:
    """What clicking the test notification does."""


def keyring_service() -> Service:
    """The keyring that keeps the tokens of hosted and joined rooms."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration is as good as none
        return Service(False, f"none ({exc})")
    if isinstance(backend, fail.Keyring):
        return Service(False, "none: tokens of rooms are not kept between launches")
    return Service(True, f"{type(backend).__module__}.{type(backend).__name__}")


def report(out: TextIO, send_test: bool) -> int:
    """Print the report; 0 when notifications and the keyring are both there, else 1."""
    notify = asyncio.run(notifications(send_test))
    keys = keyring_service()
    rows = [
        (
            "version",
            f"desktopchat {__version__} ({how_installed()}, Python {sys.version.split()[0]})",
        ),
        ("settings", str(config_dir())),
        ("history", str(data_dir())),
        ("log", str(log_file())),
        ("resources", str(resources_dir())),
        ("notifications", notify.text),
        ("keyring", keys.text),
        ("TLS", f"cryptography {cryptography.__version__}, {ssl.OPENSSL_VERSION}"),
    ]
    for what, value in rows:
        print(f"{what:<14}{value}", file=out)
    return 0 if notify.found and keys.found else 1
