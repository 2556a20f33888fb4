"""The command line: parsing into settings, and a readable answer where no window can open."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktopchat.app.cli import build_parser, main, settings_from


def test_serve_flags_become_settings() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--token",
            "t",
            "--history",
            "off",
            "--origin",
            "http://a:1",
            "--origin",
            "http://b:2",
            "--rate",
            "0",
            "--max-members",
            "3",
            "--no-compression",
            "--no-advertise",
            "--room",
            "lobby",
        ]
    )
    settings = settings_from(args)
    assert (settings.host, settings.port, settings.token, settings.history) == (
        "0.0.0.0",
        0,
        "t",
        None,
    )
    assert settings.origins == ("http://a:1", "http://b:2")
    assert (settings.rate, settings.max_members, settings.compression) == (0, 3, False)
    assert (settings.advertise, settings.room) == (False, "lobby")


def test_the_history_flag_takes_a_path() -> None:
    args = build_parser().parse_args(["serve", "--history", "~/chat.sqlite3"])
    assert settings_from(args).history == Path("~/chat.sqlite3").expanduser()


def test_without_a_display_the_window_command_says_what_to_use_instead(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert main([]) == 2
    assert "desktopchat serve" in capsys.readouterr().err


def test_a_bad_address_for_join_is_a_message_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["join", "ftp://nowhere/"]) == 2
    assert "not rooms" in capsys.readouterr().err
