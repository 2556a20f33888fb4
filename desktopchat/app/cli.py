"""The command line: the window by default, ``serve`` (headless host), ``join`` (terminal)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from desktopchat import __version__
from desktopchat.client import AddressError, Session
from desktopchat.client.discovery import find_rooms
from desktopchat.client.terminal import HELP, run_terminal
from desktopchat.server.headless import serve
from desktopchat.server.settings import DEFAULT_PORT, Settings, default_history_path


def _history(value: str) -> Path | None:
    return None if value.lower() == "off" else Path(value).expanduser()


def build_parser() -> argparse.ArgumentParser:
    """The ``desktopchat`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="desktopchat", description="Host or join a chat room on your LAN."
    )
    parser.add_argument("--version", action="version", version=f"desktopchat {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    server = commands.add_parser(
        "serve", help="host a chat room with no window", description="Host a chat room."
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: LAN)")
    server.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    server.add_argument("--token", help="members must pass ?token=TOKEN to join")
    server.add_argument(
        "--history",
        type=_history,
        default=default_history_path(),
        metavar="PATH|off",
        help=f"SQLite history file, or 'off' for memory only (default {default_history_path()})",
    )
    server.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help="also allow browser pages from this origin (repeatable)",
    )
    limits = Settings()
    server.add_argument(
        "--history-size", type=int, default=limits.history_size, help="messages new members get"
    )
    server.add_argument(
        "--max-message-bytes",
        type=int,
        default=limits.max_message_bytes,
        help="bigger messages close their sender with 1009 (after decompression)",
    )
    server.add_argument(
        "--max-members", type=int, default=limits.max_members, help="members per room (then 1013)"
    )
    server.add_argument(
        "--max-rooms", type=int, default=limits.max_rooms, help="rooms at once (then 1013)"
    )
    server.add_argument(
        "--rate", type=float, default=limits.rate, help="messages per second per member (0: off)"
    )
    server.add_argument(
        "--burst", type=int, default=limits.burst, help="messages a member may send at once"
    )
    server.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="refuse permessage-deflate (less CPU per message)",
    )
    server.add_argument("--room", default="chat", help="the room announced on the LAN")
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
    join = commands.add_parser(
        "join",
        help="join a room in the terminal",
        description="Join a room in the terminal. " + HELP,
    )
    join.add_argument("address", help="host, host:port, http://host:port/ or ws://host:port/chat")
    join.add_argument("--name", help="the name you wish to appear under")
    join.add_argument("--token", help="the room's token, if it has one")
    host = commands.add_parser(
        "host", help="open the window and host a room at once", description="Host in the window."
    )
    host.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    host.add_argument("--room", default="chat", help="the room to host")
    host.add_argument("--name", default=getpass.getuser(), help="your name in the room")
    host.add_argument("--token", help="members must pass ?token=TOKEN to join")
    host.add_argument(
        "--local", action="store_true", help="only this computer may join (not the LAN)"
    )
    host.add_argument("--no-history", action="store_true", help="keep no history on disk")
    rooms = commands.add_parser(
        "rooms", help="list the rooms announced on the LAN", description="List LAN rooms."
    )
    rooms.add_argument("--timeout", type=float, default=3.0, help="seconds to listen")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The server settings the parsed ``serve`` arguments describe."""
    return Settings(
        host=args.host,
        port=args.port,
        token=args.token,
        origins=tuple(args.origin),
        history=args.history,
        history_size=args.history_size,
        max_message_bytes=args.max_message_bytes,
        max_members=args.max_members,
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
    try:
        session = Session(args.address, name=args.name, token=args.token)
    except AddressError as exc:
        print(f"desktopchat: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_terminal(session, sys.stdout))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``desktopchat`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
