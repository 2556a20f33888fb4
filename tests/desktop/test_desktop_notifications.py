"""The desktop's own notifications, end to end: the real window under Xvfb, with its own
session D-Bus where a fake notification server records every ``Notify`` call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.desktop.with_notifications import on_private_bus

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_for_an_unfocused_window_reaches_the_desktops_notification_server(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
        # No keyring: a Secret Service that dbus-run-session starts on demand (gnome-keyring
        # is installed for the frozen app's test) would ask for a new keyring's password.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    display = ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24"]
    bus = ["dbus-run-session", "--"]
    scenario = [sys.executable, "-m", "tests.desktop.notify_scenario"]
    done = subprocess.run(
        [*display, *bus, *scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = result["shown"]
    assert first["app_name"] == "desktopchat"
    assert first["summary"] == "tester in #chat"
    assert first["body"] == "hello from the LAN"
    assert "default" in first["actions"], "clickable"
    # One notification per room: the second message replaces the first, with the count.
    assert result["closed"] == [1]
    assert second["summary"] == "2 new messages in #chat"
    # The service advertises body-markup: a member's markup arrives escaped, as text.
    assert second["body"] == (
        'tester: &lt;a href="http://evil.example/phish"&gt;click here&lt;/a&gt; &amp; '
        '&lt;img src="file:///etc/hostname"&gt;'
    )
    assert result["opened"], "clicking the notification opens the room"
    assert result["title"] == "#chat — desktopchat"


def about_with_notifications(desktopchat: list[str], tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """``desktopchat about --notify`` on a private session bus with a notification server;
    what it printed, and what the server was asked to show."""
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        # No keyring: a Secret Service that dbus-run-session starts on demand (gnome-keyring
        # is installed for the frozen app's test) would ask for a new keyring's password.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return on_private_bus([*desktopchat, "about", "--notify"], env)


def test_about_finds_the_desktops_notification_service_and_shows_a_test_notification(
    tmp_path: Path,
) -> None:
    printed, result = about_with_notifications([sys.executable, "-m", "desktopchat"], tmp_path)
    assert "a test notification was shown" in printed
    (shown,) = result["shown"]
    assert shown["app_name"] == "desktopchat"
    # No keyring on this bus: about says so and exits 1.
    assert "keyring       none" in printed
    assert result["status"] == 1
