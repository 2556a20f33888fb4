"""The one-folder desktop build that ``scripts/build`` makes, started as a user starts it:
the seed's echo and the page, the window, TLS, a join link, and the desktop's services
(notifications through the freedesktop service, tokens in the Secret Service keyring)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.desktop.with_notifications import on_private_bus
from tests.packaging.conftest import (
    Artifacts,
    hands_a_link_over,
    hosts_a_room_in_the_window,
    serves,
    started,
    user_env,
)

# The first test of a run waits for scripts/build (minutes on a busy machine).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def test_the_frozen_serve_answers_the_seeds_echo_and_serves_the_page(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    serves([str(artifacts.frozen)], user_env(tmp_path))


def test_the_frozen_window_hosts_a_room_that_a_client_joins(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    hosts_a_room_in_the_window([str(artifacts.frozen)], user_env(tmp_path))


def test_a_second_frozen_start_hands_its_link_to_the_running_window(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    hands_a_link_over([str(artifacts.frozen)], user_env(tmp_path))


def test_the_frozen_app_serves_tls_and_joins_from_its_own_link(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    env = user_env(tmp_path)
    argv = [str(artifacts.frozen), "serve", "--port", "0", "--no-advertise", "--tls", "on"]
    argv += ["--history", "off", "--host", "127.0.0.1"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as server:
        try:
            assert server.stdout is not None
            link = ""
            for _ in range(40):
                line = server.stdout.readline()
                if "#fp=sha256:" in line:
                    link = line.split()[-1]
                    break
            assert link.startswith("https://127.0.0.1:"), link
            joined = subprocess.run(
                [str(artifacts.frozen), "join", link, "--name", "frozen"],
                input="hello over tls\n",
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            assert joined.returncode == 0, joined.stderr
            assert "-- you are frozen" in joined.stderr
        finally:
            server.kill()


def test_the_frozen_app_uses_the_desktops_notification_service_and_keyring(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    # A session bus with the Secret Service (gnome-keyring, unlocked) and a notification
    # server that records what it is asked to show.
    command = [str(artifacts.frozen), "about", "--notify"]
    report, result = on_private_bus(command, user_env(tmp_path), keyring=True, timeout=90)
    assert result["status"] == 0, report
    assert "frozen build" in report
    assert "a test notification was shown" in report
    assert "keyring       keyring.backends.SecretService.Keyring" in report
    (shown,) = result["shown"]
    assert shown["app_name"] == "desktopchat"


def test_a_frozen_host_started_twice_on_one_port_says_so(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    env = user_env(tmp_path)
    first = [str(artifacts.frozen), "serve", "--port", "0", "--no-advertise", "--history", "off"]
    with started(first, env, "serving on port") as port:
        second = subprocess.run(
            [str(artifacts.frozen), "serve", "--port", str(port), "--no-advertise"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert second.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in second.stderr
    assert "Traceback" not in second.stderr
