"""The one-folder desktop build: PyInstaller builds it from build.spec, and the binary works.

Built once per run into a temporary folder (about 20 s), then run as a user would: ``serve``
answers the seed's echo, and ``host`` opens the window offscreen, hosts a room a real client
joins, and exits 0 on SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import websocket

from tests.integration.conftest import ROOT, read_line

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built ``desktopchat`` executable."""
    work = tmp_path_factory.mktemp("pyinstaller")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            "build.spec",
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    binary = work / "dist" / "desktopchat" / "desktopchat"
    assert binary.is_file()
    return binary


@pytest.fixture
def frozen_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with no display and an empty data dir."""
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path)}


def _port_of(line: str) -> int:
    found = re.search(r"port (\d+)", line)
    assert found is not None, line
    return int(found.group(1))


def test_the_frozen_serve_answers_the_seeds_echo(frozen: Path, frozen_env: dict[str, str]) -> None:
    argv = [str(frozen), "serve", "--port", "0", "--no-advertise", "--history", "off"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=frozen_env
    ) as process:
        try:
            assert process.stdout is not None
            port = _port_of(read_line(process.stdout, "serving on port", 30))
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=10)
            ws.send("hello")
            assert ws.recv() == "Echo: hello"
            ws.close()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_the_frozen_window_hosts_a_room_that_a_client_joins(
    frozen: Path, frozen_env: dict[str, str]
) -> None:
    argv = [str(frozen), "host", "--port", "0", "--local", "--no-history", "--name", "ada"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=frozen_env
    ) as process:
        try:
            assert process.stderr is not None
            port = _port_of(read_line(process.stderr, r"hosting #chat on port", 60))
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}/chat", timeout=10)
            ws.send("hello from outside")
            assert ws.recv() == "hello from outside"
            ws.close()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
