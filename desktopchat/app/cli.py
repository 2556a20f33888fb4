"""The command line: the window by default, ``serve`` (headless host), ``join`` (terminal)."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
from collections.abc import Sequence

from desktopchat.app.headless import serve
from desktopchat.app.parser import build_parser, token_from_environment
from desktopchat.app.terminal import EXIT_INTERRUPTED, run_terminal
from desktopchat.client import AddressError, Session
from desktopchat.client.discovery import NoNetwork, find_rooms
from desktopchat.client.pinning import KnownHosts
from desktopchat.client.raw import RawOptions, RawSession
from desktopchat.server.settings import Settings
from desktopchat.server.web.collector import hold_long_lived
from desktopchat.server.web.loops import new_loop


def _host_address(local: bool) -> str:
    """Where ``desktopchat host`` listens: this computer only, or every address (the LAN)."""
    return "127.0.0.1" if local else "0.0.0.0"  # noqa: S104 - the LAN, as the user asked


def settings_from(args: argparse.Namespace) -> Settings:
    """The server settings the parsed ``serve`` or ``host`` arguments describe."""
    listen = args.host if args.command == "serve" else _host_address(args.local)
    return Settings(
        host=listen,
        port=args.port,
        token=args.token,
        origins=tuple(args.origin),
        allowed_hosts=tuple(args.allow_host),
        history=args.history,
        history_size=args.history_size,
        history_keep=args.history_keep,
        history_keep_days=args.history_keep_days,
        history_keep_bytes=args.history_keep_bytes,
        files=args.files,
        files_max_bytes=args.files_max_bytes,
        files_keep_days=args.files_keep_days,
        files_rate=args.files_rate,
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
        host_name=getattr(args, "host_name", None),
        tls=args.tls,
        cert=args.cert,
        key=args.key,
        broker=getattr(args, "broker", None),
    )


def _has_display() -> bool:
    """Whether Qt can open a window (it aborts the process when it cannot)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _rooms(listen: float) -> int:
    try:
        found = asyncio.run(find_rooms(listen))
    except NoNetwork as exc:
        print(
            f"desktopchat: cannot look for rooms: no network to listen on ({exc}); "
            "connect to a network, or join a room by its address",
            file=sys.stderr,
        )
        return 1
    if not found:
        print("No rooms found on the LAN.")
    for room in found:
        lock = " [token]" if room.token_required else ""
        members = f", {room.members} members" if room.members is not None else ""
        print(f"{room.room} on {room.host}{lock}{members}\t{room.url}")
    return 0


def raw_options(args: argparse.Namespace) -> RawOptions:
    """The handshake and TLS choices of ``join --raw``."""
    return RawOptions(
        subprotocols=tuple(args.subprotocol),
        headers=tuple(args.header),
        origin=args.origin,
        insecure=args.insecure,
        fingerprint=args.fingerprint,
    )


def _join(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A terminal or pipe that cannot show a character gets an escape, not a traceback.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    session: Session | RawSession
    try:
        if args.raw:
            session = RawSession(
                args.address, raw_options(args), known_hosts=KnownHosts(), max_size=args.max_size
            )
            if args.insecure:
                print(
                    "-- warning: --insecure: the server's identity is not checked", file=sys.stderr
                )
        else:
            session = Session(
                args.address,
                name=args.name,
                token=args.token,
                fingerprint=args.fingerprint,
                known_hosts=KnownHosts(),
                max_size=args.max_size,
            )
    except AddressError as exc:
        print(f"desktopchat: {exc}", file=sys.stderr)
        return 2
    try:
        terminal = run_terminal(
            session,
            sys.stdout,
            sys.stderr,
            save_dir=args.save_dir,
            trust_new=args.trust_new,
            ndjson=args.ndjson,
            keep_open=args.keep_open,
            ping_interval=args.ping_interval,
            close_with=args.close,
        )
        return asyncio.run(terminal)
    except KeyboardInterrupt:
        # Only where the loop cannot take the signal itself (Windows).
        return EXIT_INTERRUPTED


def link_given(argv: Sequence[str]) -> str | None:
    """The link of ``desktopchat LINK`` (a room's address from a browser, a file manager or
    the desktop entry's ``%u``), or ``None`` for a command."""
    if len(argv) == 1 and "://" in argv[0]:
        return argv[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``desktopchat`` command; returns the exit status."""
    given = list(sys.argv[1:] if argv is None else argv)
    link = link_given(given)
    if link is not None:
        if not _has_display():
            print(
                f"desktopchat: no display; to chat here: desktopchat join '{link}'", file=sys.stderr
            )
            return 2
        from desktopchat.app.window import run_window

        return run_window(link=link)
    parser = build_parser()
    args = parser.parse_args(given)
    token_from_environment(parser, args)
    if (getattr(args, "cert", None) is None) != (getattr(args, "key", None) is None):
        parser.error("--cert and --key go together")
    if args.command == "join":
        raw_only = [
            flag
            for flag, given in (
                ("--subprotocol", args.subprotocol),
                ("--header", args.header),
                ("--origin", args.origin),
                ("--insecure", args.insecure),
                ("--ndjson", args.ndjson),
                ("--ping-interval", args.ping_interval),
                ("--close", args.close),
            )
            if given
        ]
        if raw_only and not args.raw:
            parser.error(f"{', '.join(raw_only)} go(es) with --raw (any WebSocket endpoint)")
        return _join(args)
    if args.command == "rooms":
        return _rooms(args.timeout)
    if args.command == "about":
        from desktopchat.app.about import report  # loads the desktop's services

        return report(sys.stdout, args.notify)
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

        if args.command is None:
            return run_window()
        return run_window(settings_from(args), args.name)
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
        loop = new_loop(args.loop)
    except RuntimeError as exc:
        print(f"desktopchat: {exc}", file=sys.stderr)
        return 2
    hold_long_lived()
    try:
        with asyncio.Runner(loop_factory=lambda: loop) as runner:
            runner.run(serve(settings_from(args), sys.stdout))
    except OSError as exc:
        print(
            f"desktopchat: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0
