"""The ``desktopchat`` argument parser: commands, flags, help with defaults and examples.

Every value is checked while parsing, with the rules the server itself uses
(:mod:`desktopchat.app.arguments`), so a bad flag is exit status 2 and one line.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path
from typing import Any, NoReturn, Protocol

from desktopchat import __version__
from desktopchat.app import arguments
from desktopchat.app.terminal import EXIT_STATUSES, HELP
from desktopchat.protocol import DEFAULT_PORT, DEFAULT_ROOM
from desktopchat.server.settings import Settings, default_files_path, default_history_path
from desktopchat.server.web.loops import LOOP_KINDS

TOKEN_VARIABLE = "DESKTOPCHAT_TOKEN"  # noqa: S105 - the variable's name, not a token


class _Commands(Protocol):
    """What ``add_subparsers`` returns, as far as we use it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with errors as one line and a pointer to ``--help``, and each flag's
    default after its help (argparse's own formatter for that is public in name only)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        # A flag that takes no value (--no-advertise) has no default worth printing: its
        # "default: True" reads as if the flag were on.
        default = action.default
        shown = default not in (None, False, [], argparse.SUPPRESS) and action.nargs != 0
        if action.help and action.option_strings and shown and "%(default)" not in action.help:
            action.help += " (default: %(default)s)"
        return action


def _command(
    commands: _Commands,
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _token_flag(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--token",
        type=arguments.token,
        help=f"{help}; better in ${TOKEN_VARIABLE} (other users see argv in ps)",
    )


def token_from_environment(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
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
    about = _command(
        commands,
        "about",
        "say where desktopchat keeps its files and which desktop services it found",
        "Print the version, the folders of settings, history and the log, and what this\n"
        "desktop offers: the notification service and the keyring that keeps hosted rooms'\n"
        "tokens. Exit status 0 when both are there, 1 when one is missing.",
        "  desktopchat about\n  desktopchat about --notify     also show a test notification",
    )
    about.add_argument(
        "--notify", action="store_true", help="show a test notification through the service"
    )
    return parser


def _serve_parser(commands: _Commands) -> None:
    server = _command(
        commands,
        "serve",
        "host a chat room with no window",
        "Host chat rooms with no window, until Ctrl-C or SIGTERM (members then get 1001).",
        "  desktopchat serve                                  this computer only\n"
        "  desktopchat serve --host 0.0.0.0 --room team       the LAN, room 'team'\n"
        "  DESKTOPCHAT_TOKEN=s3cret desktopchat serve --host 0.0.0.0 --history off\n"
        "  desktopchat serve --host 0.0.0.0 --broker redis://redis.lan:6379/0  (one of N nodes)",
    )
    server.add_argument(
        "--host",
        type=arguments.host,
        default="127.0.0.1",
        help="address to listen on (0.0.0.0: the LAN)",
    )
    add_server_flags(server)
    server.add_argument(
        "--name", dest="host_name", help="how the host appears in LAN room lists (hostname)"
    )
    server.add_argument(
        "--broker",
        type=arguments.broker,
        metavar="URL",
        help="share rooms with the other nodes on this Redis (redis://, rediss:// or "
        "unix://; the history then lives there, see docs/operations.md)",
    )
    server.add_argument(
        "--loop",
        choices=LOOP_KINDS,
        default="auto",
        help="the event loop: uvloop's when installed (auto), or asyncio's own",
    )
    server.add_argument("-v", "--verbose", action="store_true", help="log every connection")


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of the server itself, the same for ``serve`` and ``host``."""
    server = parser
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
        "--files",
        type=Path,
        default=default_files_path(),
        metavar="DIR",
        help="where members' files are kept (uploads resume across restarts)",
    )
    server.add_argument(
        "--files-max-bytes",
        type=arguments.limit,
        default=Settings().files_max_bytes,
        metavar="SIZE",
        help="files kept in all rooms together; an upload that would pass it is refused "
        "up front (0: no file transfers)",
    )
    server.add_argument(
        "--files-keep-days",
        type=arguments.days,
        default=Settings().files_keep_days,
        metavar="DAYS",
        help="delete files older than this (0: keep them)",
    )
    server.add_argument(
        "--files-rate",
        type=arguments.limit,
        default=Settings().files_rate,
        metavar="SIZE",
        help="bytes per second each member may transfer, up and down together "
        "(e.g. 20M; 0: no limit)",
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
        type=arguments.size,
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
        "--tls",
        choices=("auto", "on", "off"),
        default="auto",
        help="serve https/wss: auto = whenever listening beyond loopback",
    )
    server.add_argument("--cert", type=arguments.readable_file, help="TLS certificate (PEM)")
    server.add_argument("--key", type=arguments.readable_file, help="its private key (PEM)")
    server.add_argument(
        "--room", type=arguments.room, default=DEFAULT_ROOM, help="the room announced on the LAN"
    )
    server.add_argument(
        "--no-advertise",
        dest="advertise",
        action="store_false",
        help="do not announce the room on the LAN (mDNS)",
    )


def _join_parser(commands: _Commands) -> None:
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
        "  echo 'build finished' | desktopchat join ws://host:5042/chat/ci --name bot\n"
        "  desktopchat join wss://echo.example.org/ws --raw --subprotocol chat.v2 \\\n"
        "      --header 'Authorization: Bearer XYZ' --ndjson\n"
        "  desktopchat join wss://feed.example.org/ws --raw -n --ndjson < /dev/null > feed.log\n"
        "\n" + EXIT_STATUSES,
    )
    join.add_argument("address", help="host, host:port, http://host:port/ or ws://host:port/chat")
    join.add_argument("--name", help="the name you wish to appear under")
    _token_flag(join, "the room's token, if it has one")
    join.add_argument(
        "--fingerprint",
        type=arguments.fingerprint,
        metavar="sha256:HEX",
        help="the room's TLS identity, as its host shows it (a join link's #fp= is the same)",
    )
    join.add_argument(
        "-n",
        "--keep-open",
        action="store_true",
        help="at the end of input keep the connection and print what comes, until the other "
        "side closes it or Ctrl-C (as websocat -n): `join … < /dev/null > log` listens",
    )
    join.add_argument(
        "--max-size",
        type=arguments.size,
        default=16 * 1024 * 1024,
        metavar="SIZE",
        help="the largest message to take from the server (e.g. 64M); a bigger one ends the "
        "connection with 1009",
    )
    join.add_argument(
        "--trust-new",
        action="store_true",
        help="trust a room whose identity is not known yet, and remember it",
    )
    raw = join.add_argument_group(
        "any WebSocket endpoint (--raw)",
        "Connect to any ws:// or wss:// URL, not only desktopchat rooms: lines go out as text\n"
        "frames, frames come in as they are; it reconnects with back-off, but nothing is\n"
        "resumed (what the server sends meanwhile is lost).",
    )
    raw.add_argument("--raw", action="store_true", help="a plain WebSocket, not a room")
    raw.add_argument(
        "--subprotocol",
        action="append",
        type=arguments.subprotocol,
        default=[],
        metavar="NAME",
        help="offer this subprotocol in the handshake (repeatable, in order of preference)",
    )
    raw.add_argument(
        "--header",
        action="append",
        type=arguments.header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header in the handshake (repeatable)",
    )
    raw.add_argument("--origin", type=arguments.origin, help="the Origin header to send")
    raw.add_argument(
        "--insecure",
        action="store_true",
        help="accept any TLS certificate without checking or pinning it (says so on stderr)",
    )
    raw.add_argument(
        "--ping-interval",
        type=arguments.seconds,
        metavar="SECONDS",
        help="ping every SECONDS and print each pong's round trip on stderr",
    )
    raw.add_argument(
        "--close",
        type=arguments.close_frame,
        metavar="CODE[:REASON]",
        help="close with this code and reason at the end (1000, 1001 …, or 3000-4999)",
    )
    raw.add_argument(
        "--ndjson",
        action="store_true",
        help="print every frame, both directions, as one JSON object per line "
        "(time, direction, kind, data; bytes in base64), pings, pongs (rtt_ms) and the "
        "close (code, reason) included",
    )
    join.add_argument(
        "--save-dir",
        type=arguments.folder,
        metavar="DIR",
        help="save the files members send into DIR",
    )


def _host_parser(commands: _Commands) -> None:
    host = _command(
        commands,
        "host",
        "open the window and host a room at once",
        "Open the window and host a room in it at once. Takes every flag of `serve`\n"
        "but --host (use --local for this computer only) and --name, which is yours here.",
        "  desktopchat host --room team --name ada\n"
        "  desktopchat host --local --history off --rate 10",
    )
    host.add_argument("--name", default=getpass.getuser(), help="your name in the room")
    host.add_argument(
        "--local", action="store_true", help="only this computer may join (not the LAN)"
    )
    host.add_argument(
        "--no-history",
        dest="history",
        action="store_const",
        const=None,
        help="keep no history on disk (the same as --history off)",
    )
    add_server_flags(host)
