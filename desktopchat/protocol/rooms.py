"""Where rooms live on the wire: the default port, the room paths and the room-name rule.

One definition for the server (which routes and refuses), the clients (which build and
parse addresses), the window and the command line (which validate what people type).
"""

from __future__ import annotations

import re

DEFAULT_PORT = 5042
"""The port a desktopchat server listens on unless told otherwise."""

DEFAULT_ROOM = "chat"
"""The room at ``/chat`` (the seed's room)."""

ROOM_NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, up to 64"
"""The room-name rule in words, for error messages."""

_ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def valid_room_name(name: str) -> bool:
    """Whether ``name`` may name a room (and so appear in a URL path unescaped)."""
    return _ROOM_NAME.fullmatch(name) is not None


def room_path(room: str) -> str:
    """The WebSocket path of ``room``: ``/chat`` for the default room, else ``/chat/ROOM``."""
    return "/chat" if room == DEFAULT_ROOM else f"/chat/{room}"


def room_of_path(path: str) -> str | None:
    """The room a WebSocket path names (``/chat`` → ``chat``), or ``None`` if it names none.

    A trailing slash is ignored; the name is not checked against the rule (the server
    refuses bad names with a reason).
    """
    path = path.rstrip("/")
    if path == "/chat":
        return DEFAULT_ROOM
    if path.startswith("/chat/") and "/" not in path[len("/chat/") :]:
        return path[len("/chat/") :] or None
    return None


def page_path(room: str) -> str:
    """The browser page's path and query for ``room``: ``/`` or ``/?room=ROOM``."""
    return "/" if room == DEFAULT_ROOM else f"/?room={room}"
