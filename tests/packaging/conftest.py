"""What people install, built once per run by ``bash scripts/build`` (the same command a
release uses) and started as a person starts it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import websocket

from desktopchat.gui.single import answering, instance_name
from tests.integration.conftest import ROOT, read_line


@dataclass(frozen=True)
class Artifacts:
    """The files ``scripts/build`` leaves in ``dist/``."""

    frozen: Path
    wheel: Path
    sdist: Path
    deb: Path


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    subprocess.run(["bash", "scripts/build"], cwd=ROOT, check=True, timeout=1800)
    dist = Path(ROOT) / "dist"
    (wheel,) = dist.glob("desktopchat-*.whl")
    (sdist,) = dist.glob("desktopchat-*.tar.gz")
    (deb,) = dist.glob("desktopchat_*.deb")
    frozen = dist / "desktopchat" / "desktopchat"
    assert frozen.is_file()
    return Artifacts(frozen, wheel, sdist, deb)


def user_env(tmp_path: Path, **changes: str) -> dict[str, str]:
    """The environment of a user with no display, empty folders and no session bus."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        **changes,
    }
    for name in ("DBUS_SESSION_BUS_ADDRESS", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


@contextmanager
def started(argv: list[str], env: dict[str, str], ready: str) -> Iterator[int]:
    """Run ``argv`` until the block ends; yields the port its ``ready`` line names. At the
    end SIGTERM must stop it with status 0."""
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            found = re.search(r"port (\d+)", read_line(process.stdout, ready, 60))
            assert found is not None
            yield int(found.group(1))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()


def echo_and_page(port: int) -> None:
    """The seed's echo at /ws answers, and / serves the browser page."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=10)
    ws.send("hello")
    assert ws.recv() == "Echo: hello"
    ws.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
        assert "<html" in page.read().decode().lower()


def serves(desktopchat: list[str], env: dict[str, str]) -> None:
    """``desktopchat serve`` answers the echo and serves the page."""
    argv = [*desktopchat, "serve", "--port", "0", "--no-advertise", "--history", "off"]
    with started(argv, env, "serving on port") as port:
        echo_and_page(port)


def hosts_a_room_in_the_window(desktopchat: list[str], env: dict[str, str]) -> None:
    """``desktopchat host`` opens the window (offscreen), hosts a room a client joins."""
    argv = [*desktopchat, "host", "--port", "0", "--local", "--no-history", "--name", "ada"]
    with started(argv, env, "hosting #chat on port") as port:
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/chat", timeout=10)
        ws.send("hi from outside")
        assert ws.recv() == "hi from outside"
        ws.close()


def hands_a_link_over(desktopchat: list[str], env: dict[str, str]) -> None:
    """A window started with ``desktopchat`` listens; a second start with a link hands it
    over and ends at once (status 0); the first says it got it and ends on SIGTERM."""
    saved = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # the window's socket name
    try:
        name = instance_name()
    finally:
        if saved is None:
            del os.environ["XDG_CONFIG_HOME"]
        else:
            os.environ["XDG_CONFIG_HOME"] = saved
    first = subprocess.Popen(desktopchat, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not answering(name):
            assert first.poll() is None, "the first window ended"
            assert time.monotonic() < deadline, "the first window never listened"
            time.sleep(0.1)
        second = subprocess.run(
            [*desktopchat, "http://127.0.0.1:5042/?room=lobby"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "handed to the window already running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=30)
    assert "a link came from another start of desktopchat" in err
    assert first.returncode == 0
