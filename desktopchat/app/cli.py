"""The command line: the window by default, ``serve`` (headless host), ``join`` (terminal)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from desktopchat import __version__
from desktopchat.app import arguments
from desktopchat.app.headless import serve
from desktopchat.app.terminal import EXIT_INTERRUPTED, HELP, run_terminal
from desktopchat.client import AddressError, Session
from desktopchat.client.discovery import find_rooms
from desktopchat.protocol import DEFAULT_PORT, DEFAULT_ROOM
from desktopchat.server.settings import Settings, default_history_path

TOKEN_VARIABLE = "DESKTOPCHAT_TOKEN"  # noqa: S105 - the variable's name, not a token


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each flag that has one, and descriptions and examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with errors as one line and a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def _command(
    commands: argparse._SubParsersAction[_Parser],
    name: str,
    summary: str,
    description: str,
    examples: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=_Help,
    )


def _token_flag(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--token",
        type=arguments.token,
        help=f"{help}; better in ${TOKEN_VARIABLE} (other users see argv in ps)",
    )


def _token_from_environment(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill ``args.token`` from ``$DESKTOPCHAT_TOKEN`` when ``--token`` was not given."""
    if getattr(args, "token", "absent") is not None:
        return
    value = os.environ.get(TOKEN_VARIABLE)
    if value:
        try:
            args.token = arguments.token(value)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"${TOKEN_VARIABLE}: {exc}")


def build_parser() -> argparse.ArgumentParser:
    """The ``desktopchat`` argument parser; every value is checked when it is parsed."""
    parser = _Parser(
        prog="desktopchat",
        description="Host or join a chat room on your LAN. "
        "With no command, desktopchat opens its window.",
        epilog="examples:\n"
        "  desktopchat                          open the window\n"
        "  desktopchat serve --host 0.0.0.0     host a room on the LAN, no window\n"
        "  desktopchat join 192.168.1.20        chat in a room from this terminal\n"
        "  desktopchat COMMAND --help           the flags of a command",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"desktopchat {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_parser(commands)
    _join_parser(commands)
    _host_parser(commands)
    rooms = _command(
        commands,
        "rooms",
        "list the rooms announced on the LAN",
        "List the rooms hosts announce on the LAN (mDNS), then exit.",
        "  desktopchat rooms --timeout 5",
    )
    rooms.add_argument("--timeout", type=arguments.seconds, default=3.0, help="seconds to listen")
    return parser


def _serve_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    server = _command(
        commands,
        "serve",
        "host a chat room with no window",
        "Host chat rooms with no window, until Ctrl-C or SIGTERM (members then get 1001).",
        "  desktopchat serve                                  this computer only\n"
        "  desktopchat serve --host 0.0.0.0 --room team       the LAN, room 'team'\n"
        "  DESKTOPCHAT_TOKEN=s3cret desktopchat serve --host 0.0.0.0 --history off",
    )
    server.add_argument(
        "--host",
        type=arguments.host,
        default="127.0.0.1",
        help="address to listen on (0.0.0.0: the LAN)",
    )
    server.add_argument("--port", type=arguments.port, default=DEFAULT_PORT, help="0: a free port")
    _token_flag(server, "members must pass ?token=TOKEN to join")
    server.add_argument(
        "--history",
        type=arguments.history,
        default=default_history_path(),
        metavar="PATH|off",
        help="SQLite history file, or 'off' for memory only (the newest messages, within "
        "--history-keep and 256 MiB in all rooms)",
    )
    server.add_argument(
        "--origin",
        type=arguments.origin,
        action="append",
        default=[],
        metavar="URL",
        help="also allow browser pages from this origin (repeatable)",
    )
    server.add_argument(
        "--allow-host",
        type=arguments.host,
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to this host name, e.g. behind a reverse proxy "
        "(repeatable; the machine's own names, localhost and IP addresses always work)",
    )
    limits = Settings()
    server.add_argument(
        "--history-size",
        type=arguments.count,
        default=limits.history_size,
        help="recent messages a new member gets",
    )
    server.add_argument(
        "--history-keep",
        type=arguments.positive_int,
        default=limits.history_keep,
        metavar="N",
        help="messages kept per room (older ones are deleted)",
    )
    server.add_argument(
        "--history-keep-days",
        type=arguments.days,
        default=limits.history_keep_days,
        metavar="DAYS",
        help="delete messages older than this (0: keep them)",
    )
    server.add_argument(
        "--history-keep-bytes",
        type=arguments.size,
        default=limits.history_keep_bytes,
        metavar="SIZE",
        help="message bodies kept in all rooms (e.g. 512M, 2G; in memory at most 256M)",
    )
    server.add_argument(
        "--max-message-bytes",
        type=arguments.positive_int,
        default=limits.max_message_bytes,
        help="bigger messages close their sender with 1009 (after decompression)",
    )
    server.add_argument(
        "--member-bytes",
        type=arguments.size,
        default=limits.send_queue_bytes,
        metavar="SIZE",
        help="bytes that may wait for one member (its queue and socket buffer); "
        "a member over it is closed with 1013",
    )
    server.add_argument(
        "--stall-timeout",
        type=arguments.seconds,
        default=limits.stall_timeout,
        metavar="SECONDS",
        help="close (1013) a member that reads nothing this long while messages wait for it",
    )
    server.add_argument(
        "--max-members",
        type=arguments.positive_int,
        default=limits.max_members,
        help="members per room (then 1013)",
    )
    server.add_argument(
        "--max-rooms",
        type=arguments.positive_int,
        default=limits.max_rooms,
        help="rooms at once (then 1013)",
    )
    server.add_argument(
        "--rate",
        type=arguments.rate,
        default=limits.rate,
        help="messages per second per member (0: off)",
    )
    server.add_argument(
        "--burst",
        type=arguments.positive_int,
        default=limits.burst,
        help="messages a member may send at once",
    )
    server.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="refuse permessage-deflate (less CPU per message)",
    )
    server.add_argument(
        "--room", type=arguments.room, default=DEFAULT_ROOM, help="the room announced on the LAN"
    )
    server.add_argument(
        "--name", dest="host_name", help="how the host appears in LAN room lists (hostname)"
    )
    server.add_argument(
        "--no-advertise",
        dest="advertise",
        action="store_false",
        help="do not announce the room on the LAN (mDNS)",
    )
    server.add_argument("-v", "--verbose", action="store_true", help="log every connection")


def _join_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    join = _command(
        commands,
        "join",
        "join a room in the terminal",
        "Join a room in the terminal: "
        + HELP
        + ".\nMessages go to stdout, status lines to stderr; with stdin from a file or a pipe,"
        "\nevery line is sent and acknowledged, then the command exits 0.",
        "  desktopchat join 192.168.1.20 --name ada\n"
        "  desktopchat join http://192.168.1.20:5042/?room=team\n"
        "  echo 'build finished' | desktopchat join ws://host:5042/chat/ci --name bot",
    )
    join.add_argument("address", help="host, host:port, http://host:port/ or ws://host:port/chat")
    join.add_argument("--name", help="the name you wish to appear under")
    _token_flag(join, "the room's token, if it has one")
    join.add_argument(
        "--save-dir",
        type=arguments.folder,
        metavar="DIR",
        help="save the files members send into DIR",
    )


def _host_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    host = _command(
        commands,
        "host",
        "open the window and host a room at once",
        "Open the window and host a room in it at once.",
        "  desktopchat host --room team --name ada\n  desktopchat host --local --no-history",
    )
    host.add_argument("--port", type=arguments.port, default=DEFAULT_PORT, help="0: a free port")
    host.add_argument("--room", type=arguments.room, default=DEFAULT_ROOM, help="the room to host")
    host.add_argument("--name", default=getpass.getuser(), help="your name in the room")
    _token_flag(host, "members must pass ?token=TOKEN to join")
    host.add_argument(
        "--local", action="store_true", help="only this computer may join (not the LAN)"
    )
    host.add_argument("--no-history", action="store_true", help="keep no history on disk")


def settings_from(args: argparse.Namespace) -> Settings:
    """The server settings the parsed ``serve`` arguments describe."""
    return Settings(
        host=args.host,
        port=args.port,
        token=args.token,
        origins=tuple(args.origin),
        allowed_hosts=tuple(args.allow_host),
        history=args.history,
        history_size=args.history_size,
        history_keep=args.history_keep,
        history_keep_days=args.history_keep_days,
        history_keep_bytes=args.history_keep_bytes,
        max_message_bytes=args.max_message_bytes,
        max_members=args.max_members,
        send_queue_bytes=args.member_bytes,
        stall_timeout=args.stall_timeout,
        max_rooms=args.max_rooms,
        rate=args.rate,
        burst=args.burst,
        compression=args.compression,
        room=args.room,
        advertise=args.advertise,
        host_name=args.host_name,
    )


def _has_display() -> bool:
    """Whether Qt can open a window (it aborts the process when it cannot)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _rooms(listen: float) -> int:
    found = asyncio.run(find_rooms(listen))
    if not found:
        print("No rooms found on the LAN.")
    for room in found:
        lock = " [token]" if room.token_required else ""
        members = f", {room.members} members" if room.members is not None else ""
        print(f"{room.room} on {room.host}{lock}{members}\t{room.url}")
    return 0


def _join(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A terminal or pipe that cannot show a character gets an escape, not a traceback.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        session = Session(args.address, name=args.name, token=args.token)
    except AddressError as exc:
        print(f"desktopchat: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_terminal(session, sys.stdout, sys.stderr, save_dir=args.save_dir))
    except KeyboardInterrupt:
        # Only where the loop cannot take the signal itself (Windows).
        return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``desktopchat`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _token_from_environment(parser, args)
    if args.command == "join":
        return _join(args)
    if args.command == "rooms":
        return _rooms(args.timeout)
    if args.command in (None, "host"):
        if not _has_display():
            print(
                "desktopchat: no display to open the window on; "
                "use `desktopchat serve` to host or `desktopchat join ADDRESS` to chat here.",
                file=sys.stderr,
            )
            return 2
        # Imported here so that serve and join never load Qt.
        from desktopchat.app.window import run_window
        from desktopchat.gui.hosting import HostOptions

        if args.command is None:
            return run_window()
        options = HostOptions(
            room=args.room,
            name=args.name,
            port=args.port,
            lan=not args.local,
            token=args.token,
            history=not args.no_history,
        )
        return run_window(options)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # uvicorn logs two lines for every connection ("[accepted]", "connection open") that
    # our own join/leave lines already say; keep them for -v.
    chatty = logging.INFO if args.verbose else logging.WARNING
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).setLevel(chatty)
    try:
        asyncio.run(serve(settings_from(args), sys.stdout))
    except OSError as exc:
        print(
            f"desktopchat: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0
