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


def _round_trip(
    argv: list[str], env: dict[str, str], ready: str, path: str, sent: str, expected: str
) -> None:
    """Start ``argv``; once its stdout or stderr says ``ready`` (with the port), send ``sent``
    on ``path`` and expect ``expected`` back; then SIGTERM must end it with status 0."""
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            found = re.search(r"port (\d+)", read_line(process.stdout, ready, 60))
            assert found is not None
            ws = websocket.create_connection(f"ws://127.0.0.1:{found.group(1)}{path}", timeout=10)
            ws.send(sent)
            assert ws.recv() == expected
            ws.close()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_the_frozen_serve_answers_the_seeds_echo(frozen: Path, frozen_env: dict[str, str]) -> None:
    argv = [str(frozen), "serve", "--port", "0", "--no-advertise", "--history", "off"]
    _round_trip(argv, frozen_env, "serving on port", "/ws", "hello", "Echo: hello")


def test_the_frozen_window_hosts_a_room_that_a_client_joins(
    frozen: Path, frozen_env: dict[str, str]
) -> None:
    argv = [str(frozen), "host", "--port", "0", "--local", "--no-history", "--name", "ada"]
    _round_trip(
        argv, frozen_env, "hosting #chat on port", "/chat", "hi from outside", "hi from outside"
    )
