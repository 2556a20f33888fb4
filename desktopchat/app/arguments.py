"""Argument types for the command line: each checks a value with the rule the server uses.

argparse turns the ``ArgumentTypeError`` they raise into exit status 2 and a one-line
``desktopchat serve: error: argument --port: …`` before anything starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from desktopchat.app import raw_lines
from desktopchat.client.raw import parse_header
from desktopchat.protocol import ROOM_NAME_RULE, valid_room_name
from desktopchat.protocol.fingerprints import parse_fingerprint

MAX_PORT = 65535

N = TypeVar("N", int, float)


def _number(kind: Callable[[str], N], low: N, high: N | None, words: str) -> Callable[[str], N]:
    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {words}") from None
        # NaN fails both comparisons, so it is refused too.
        if not (value >= low and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"'{text}' is not {words}")
        return value

    parse.__name__ = words  # argparse names the type in some messages
    return parse


port = _number(int, 0, MAX_PORT, f"a port (0 to {MAX_PORT}; 0 picks a free one)")
positive_int = _number(int, 1, None, "a whole number of 1 or more")
count = _number(int, 0, None, "a whole number of 0 or more")
rate = _number(float, 0.0, 1e9, "a rate of 0 or more (0: no limit)")
seconds = _number(float, 0.1, 3600.0, "a number of seconds from 0.1 to 3600")


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def size(text: str) -> int:
    """A size in bytes, with an optional K, M or G (binary units): ``512M``."""
    number, unit = text.strip().upper().rstrip("IB"), ""
    if number[-1:] in _UNITS:
        number, unit = number[:-1], number[-1]
    try:
        value = int(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a size like 4096, 64K, 512M or 2G"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size of 1 byte or more")
    return value


def limit(text: str) -> int:
    """A :func:`size`, or ``0`` for "none" (what 0 means is the option's to say)."""
    return 0 if text.strip() == "0" else size(text)


days = _number(float, 0.0, 36500.0, "a number of days (0: no age limit)")


def room(text: str) -> str:
    """A room name by the server's rule."""
    if not valid_room_name(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a room name: use {ROOM_NAME_RULE}")
    return text


def token(text: str) -> str:
    """A non-empty token with no surrounding whitespace (it travels in a URL)."""
    if not text or text != text.strip():
        raise argparse.ArgumentTypeError("a token must be non-empty, with no spaces around it")
    return text


def host(text: str) -> str:
    """An address to listen on: an IP address or a host name."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        labels = text.rstrip(".").split(".")
        if all(label.isdigit() for label in labels):
            raise argparse.ArgumentTypeError(f"'{text}' is not a valid IP address") from None
        if not text or not all(
            0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            for label in labels
        ):
            raise argparse.ArgumentTypeError(
                f"'{text}' is not an IP address or host name (e.g. 0.0.0.0 for the LAN)"
            ) from None
    return text


def origin(text: str) -> str:
    """A browser origin: ``http(s)://host[:port]``."""
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an origin like http://host:8000 (scheme, host and port only)"
        )
    return text


def history(text: str) -> Path | None:
    """``off`` (memory only) or the path of the SQLite history file."""
    if text.lower() == "off":
        return None
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is a folder; give a file name in it")
    return path


def folder(text: str) -> Path:
    """An existing folder to write into."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is not a folder")
    return path


def fingerprint(text: str) -> str:
    """A certificate fingerprint, ``sha256:`` and 64 hex digits (colons and case ignored)."""
    try:
        return parse_fingerprint(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def readable_file(text: str) -> Path:
    """An existing file."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"'{text}' is not a file")
    return path


def header(text: str) -> tuple[str, str]:
    """An HTTP header for the handshake, ``'Name: value'``."""
    try:
        return parse_header(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def subprotocol(text: str) -> str:
    """A WebSocket subprotocol name (an HTTP token: no spaces, commas or quotes)."""
    if not text or any(char in text for char in ' \t,;"()<>@[]{}/?=\\') or not text.isascii():
        raise argparse.ArgumentTypeError(f"'{text}' is not a subprotocol name")
    return text


def broker(text: str) -> str:
    """A Redis URL: ``redis://``, ``rediss://`` or ``unix://``."""
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a Redis URL like redis://host:6379/0 (or rediss://, unix://)"
        )
    if importlib.util.find_spec("redis") is None:
        raise argparse.ArgumentTypeError(
            "needs the Redis client, which is not installed: "
            "pip install 'desktopchat[broker]' (or: pip install redis)"
        )
    return text


def close_frame(text: str) -> tuple[int, str]:
    """``CODE[:REASON]``: how to close a raw connection."""
    try:
        return raw_lines.close_frame(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
