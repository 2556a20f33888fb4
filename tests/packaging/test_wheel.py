"""``pip install desktopchat`` (and pipx): the wheel ``scripts/build`` makes, installed into a
new venv from the locked app requirements, starts the page, the seed's echo and the window.
The sdist carries the resources too."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT
from tests.packaging.conftest import Artifacts, hosts_a_room_in_the_window, serves, user_env

# The first test of a run waits for scripts/build (minutes on a busy machine).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

SHIPPED = ["static/index.html", "static/chat.js", "icons/desktopchat.png", "style.qss"]


@pytest.fixture(scope="module")
def installed(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``desktopchat`` command of a new venv holding the locked app and the wheel."""
    venv = tmp_path_factory.mktemp("wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = f'. scripts/venv.sh && install_lock "{python}" requirements/app.txt'
    subprocess.run(["bash", "-c", install], cwd=ROOT, check=True, timeout=900)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(artifacts.wheel)],
        check=True,
        timeout=300,
    )
    return venv / "bin" / "desktopchat"


def test_the_wheel_and_the_sdist_carry_the_resources(artifacts: Artifacts) -> None:
    with zipfile.ZipFile(artifacts.wheel) as wheel, tarfile.open(artifacts.sdist) as sdist:
        wheel_names, sdist_names = wheel.namelist(), sdist.getnames()
    for name in SHIPPED:
        assert f"desktopchat/_resources/{name}" in wheel_names
        assert any(n.endswith(f"/resources/{name}") for n in sdist_names), name


def test_the_installed_wheel_serves_the_page_and_the_seeds_echo(
    installed: Path, tmp_path: Path
) -> None:
    serves([str(installed)], user_env(tmp_path))


def test_the_installed_wheel_opens_the_window_and_hosts(installed: Path, tmp_path: Path) -> None:
    hosts_a_room_in_the_window([str(installed)], user_env(tmp_path))


def test_without_the_broker_extra_broker_says_how_to_install_it(
    installed: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(installed), "serve", "--broker", "redis://127.0.0.1:6379/0"],
        capture_output=True,
        text=True,
        env=user_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "pip install 'desktopchat[broker]'" in done.stderr
    assert "Traceback" not in done.stderr
