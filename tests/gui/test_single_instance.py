"""One window per settings folder: a second start hands its link to the running window and
ends; *Start at login* writes and removes an XDG autostart entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from desktopchat.autostart import autostart_dir, start_at_login, starts_at_login
from desktopchat.gui.single import Instance, answering, hand_over, instance_name
from tests.gui.conftest import WindowFactory, until

ROOT = Path(__file__).resolve().parents[2]


def test_a_link_handed_over_opens_the_join_form_of_the_running_window(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    window = make_window()
    instance = Instance("desktopchat-test-" + os.urandom(4).hex())
    assert instance.listen()
    instance.linkReceived.connect(window.open_link)
    try:
        assert answering(instance.name)
        assert not Instance(instance.name).listen(), "a second window does not steal them"
        link = "https://192.168.1.20:5042/?room=lobby&token=t0k"
        assert hand_over(link, instance.name)

        async def arrived() -> None:
            await until(lambda: window.pages.currentWidget() is window.join_page, "the form")

        qloop.run_until_complete(arrived())
        assert window.join_page.address.text() == link
        assert not hand_over("", "desktopchat-nobody-" + os.urandom(4).hex())
    finally:
        instance.close()
    QApplication.processEvents()


def test_start_at_login_writes_and_removes_an_xdg_autostart_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert autostart_dir() == tmp_path / "autostart"
    assert not starts_at_login()
    start_at_login(True)
    entry = (tmp_path / "autostart" / "desktopchat.desktop").read_text()
    assert f"Exec={sys.executable} -m desktopchat\n" in entry
    assert starts_at_login()
    start_at_login(False)
    start_at_login(False)
    assert not starts_at_login()


def test_a_second_start_with_a_link_hands_it_over_and_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    name = instance_name()
    first = subprocess.Popen(
        [sys.executable, "-m", "desktopchat"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not answering(name):
            assert first.poll() is None, "the first window ended"
            assert time.monotonic() < deadline, "the first window never listened"
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "desktopchat", "http://127.0.0.1:5042/?room=lobby"],
            cwd=ROOT,
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
