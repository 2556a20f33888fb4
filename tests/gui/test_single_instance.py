"""One window per settings folder: a second start hands its link to the running window and
ends; *Start at login* writes and removes an XDG autostart entry."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from desktopchat.autostart import autostart_dir, start_at_login, starts_at_login
from desktopchat.gui.single import Instance, answering, hand_over
from tests.gui.conftest import WindowFactory, until
from tests.packaging.conftest import hands_a_link_over, user_env


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


def test_a_second_start_with_a_link_hands_it_over_and_ends(tmp_path: Path) -> None:
    hands_a_link_over([sys.executable, "-m", "desktopchat"], user_env(tmp_path))
