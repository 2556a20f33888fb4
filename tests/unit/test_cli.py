"""The command line: parsing into settings, and a readable answer where no window can open."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktopchat.app.cli import main, settings_from
from desktopchat.app.parser import build_parser, token_from_environment


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


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["serve", "--port", "70000"], "argument --port: '70000' is not a port"),
        (["serve", "--port", "-5"], "argument --port: '-5' is not a port"),
        (["host", "--port", "65536"], "argument --port: '65536' is not a port"),
        (["rooms", "--timeout", "-1"], "argument --timeout: '-1' is not a number of seconds"),
        (["rooms", "--timeout", "nan"], "argument --timeout: 'nan' is not a number of seconds"),
        (["serve", "--room", "dev team"], "argument --room: 'dev team' is not a room name"),
        (["host", "--room", "../etc"], "argument --room: '../etc' is not a room name"),
        (["serve", "--max-members", "0"], "argument --max-members: '0' is not a whole number"),
        (["serve", "--rate", "-1"], "argument --rate: '-1' is not a rate"),
        (["serve", "--burst", "0"], "argument --burst: '0' is not a whole number"),
        (["serve", "--history-size", "-3"], "argument --history-size: '-3' is not a whole"),
        (["serve", "--max-message-bytes", "1e6"], "'1e6' is not a size like 4096"),
        (["serve", "--host", "999.1.1.1"], "'999.1.1.1' is not a valid IP address"),
        (["serve", "--origin", "example.com"], "argument --origin: 'example.com' is not an origin"),
        (["serve", "--host", "my host"], "argument --host: 'my host' is not an IP address"),
        (["serve", "--token", ""], "argument --token: a token must be non-empty"),
        (["serve", "--history", "/"], "argument --history: '/' is a folder"),
        (["join", "h", "--save-dir", "/nonexistent-dir"], "'/nonexistent-dir' is not a folder"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_the_rule_before_anything_starts(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    first, hint = err.splitlines()
    assert reason in first
    assert first.startswith(f"desktopchat {argv[0]}: error: ")
    assert hint == f"Try 'desktopchat {argv[0]} --help'."


def test_the_help_says_no_command_opens_the_window_and_gives_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "With no command, desktopchat opens its window." in out
    assert "examples:" in out


@pytest.mark.parametrize("command", ["serve", "join", "host", "rooms"])
def test_every_command_help_shows_defaults_and_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "examples:\n  desktopchat " + command in out
    if command != "join":
        assert "(default: " in out
    assert "(default: True)" not in out, "a flag that takes no value has no default to show"


def test_the_token_comes_from_the_environment_and_never_shows_in_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESKTOPCHAT_TOKEN", "s3cret-from-env")
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--help"])
    assert "s3cret-from-env" not in capsys.readouterr().out
    args = parser.parse_args(["serve"])

    token_from_environment(parser, args)
    assert settings_from(args).token == "s3cret-from-env"
    args = parser.parse_args(["serve", "--token", "given"])
    token_from_environment(parser, args)
    assert args.token == "given"


def test_host_takes_the_server_flags_of_serve() -> None:
    args = build_parser().parse_args(
        [
            "host",
            "--local",
            "--history",
            "off",
            "--rate",
            "5",
            "--max-members",
            "9",
            "--room",
            "lab",
        ]
    )
    settings = settings_from(args)
    assert (settings.host, settings.history, settings.rate) == ("127.0.0.1", None, 5.0)
    assert (settings.max_members, settings.room) == (9, "lab")
    lan = settings_from(build_parser().parse_args(["host", "--no-history"]))
    assert (lan.host, lan.history) == ("0.0.0.0", None)
