"""The Debian package ``scripts/build`` makes, unpacked (``dpkg-deb -x``) as dpkg would lay
it out: its control data, desktop entry, icons and metainfo, and the program started
through ``/usr/bin/desktopchat``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import Artifacts, hosts_a_room_in_the_window, serves, user_env

# The first test of a run waits for scripts/build (minutes on a busy machine).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def unpacked(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb")
    subprocess.run(["dpkg-deb", "-x", str(artifacts.deb), str(root)], check=True, timeout=300)
    return root


def field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_package_names_itself_and_the_libraries_qt_needs(artifacts: Artifacts) -> None:
    assert field(artifacts.deb, "Package") == "desktopchat"
    depends = field(artifacts.deb, "Depends")
    for library in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1"):
        assert library in depends


def test_its_desktop_entry_icon_and_metainfo_are_valid(unpacked: Path) -> None:
    entry = unpacked / "usr/share/applications/desktopchat.desktop"
    done = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
    assert not done.stdout.strip(), "no warning either"
    assert "Icon=desktopchat" in entry.read_text()
    assert (unpacked / "usr/share/icons/hicolor/256x256/apps/desktopchat.png").is_file()
    assert (unpacked / "usr/share/icons/hicolor/scalable/apps/desktopchat.svg").is_file()
    metainfo = unpacked / "usr/share/metainfo/desktopchat.metainfo.xml"
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--explain", str(metainfo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_usr_bin_desktopchat_serves_the_page_and_the_seeds_echo(
    unpacked: Path, tmp_path: Path
) -> None:
    link = unpacked / "usr/bin/desktopchat"
    assert link.is_symlink()
    assert link.resolve() == (unpacked / "opt/desktopchat/desktopchat").resolve()
    serves([str(link)], user_env(tmp_path))


def test_usr_bin_desktopchat_opens_the_window(unpacked: Path, tmp_path: Path) -> None:
    hosts_a_room_in_the_window([str(unpacked / "usr/bin/desktopchat")], user_env(tmp_path))
