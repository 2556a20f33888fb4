"""Files beside the chat: the offer a room sees, and the one rule for a file's name.

A file's bytes do not travel in the room: the sender uploads them to the host over HTTP (in
pieces, resumable), and then posts an offer in the room, an ordinary JSON message::

    {"file": {"id": "…", "name": "report.pdf", "size": 123, "sha256": "…", "mime": "…"}}

A file sent as part of a folder also says where in it: ``"folder": ["photos", "2026"]``
(each part cleaned like a name; the receiver rebuilds the tree under the folder it chose).

Every member sees it in order, like any message; a client that knows offers downloads the
bytes from the host (``GET /files/{room}/{id}``, with ``Range`` to resume) and checks the
SHA-256; an older client shows the JSON and ignores what it does not know. The offer is
only words: the receiver decides where a file goes, and nothing is opened by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

MAX_FILE_NAME_BYTES = 200
"""Below every common file system's 255 bytes, leaving room for `` (12)``."""
MAX_FOLDER_DEPTH = 16
"""Folders an offer's file may sit in (a folder sent with its tree)."""
MAX_FILE_BYTES = 2**53
"""The largest size an offer may state (JSON numbers are exact up to here)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_MIME = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}")
_FORBIDDEN = set('<>:"|?*')  # Windows refuses them; harmless to drop everywhere
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10))}
_RESERVED |= {f"LPT{n}" for n in range(1, 10)}


def safe_file_name(name: str, fallback: str = "file") -> str:
    """The last path component of ``name``, with what a file system or terminal would
    misread removed; ``fallback`` when nothing is left.

    A sender controls the name: ``../../.bashrc``, ``/etc/passwd``, ``CON``, terminal
    escapes, bidi overrides, 5 000 characters. One rule for every client and the host.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable() and char not in _FORBIDDEN)
    base = base.strip().lstrip(".").strip()
    if not base:
        return fallback
    if base.split(".", 1)[0].upper() in _RESERVED:
        base = "_" + base
    encoded = base.encode("utf-8", "replace")
    if len(encoded) > MAX_FILE_NAME_BYTES:
        _stem, dot, suffix = base.rpartition(".")
        keep = "." + suffix if dot and 0 < len(suffix.encode()) <= 16 else ""
        room = MAX_FILE_NAME_BYTES - len(keep.encode())
        base = encoded[:room].decode("utf-8", "ignore") + keep
    return base


@dataclass(frozen=True, slots=True)
class FileOffer:
    """A file the host holds for a room: what an offer message says of it."""

    id: str
    name: str
    size: int
    sha256: str
    mime: str = "application/octet-stream"
    folder: tuple[str, ...] = ()
    """The folders it sits in, outermost first, when it was sent as part of a folder."""

    def data(self) -> dict[str, Any]:
        """The offer as the JSON message's data."""
        fields: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "mime": self.mime,
        }
        if self.folder:
            fields["folder"] = list(self.folder)
        return {"file": fields}

    @property
    def relative_path(self) -> str:
        """Where it goes under the receiver's folder: ``photos/2026/a.jpg``."""
        return "/".join((*self.folder, self.name))


def valid_sha256(text: object) -> TypeGuard[str]:
    """Whether ``text`` is a SHA-256 in lower-case hex."""
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def valid_file_id(text: object) -> TypeGuard[str]:
    """Whether ``text`` can be a file's id (what the host hands out)."""
    return isinstance(text, str) and _FILE_ID.fullmatch(text) is not None


def valid_size(size: object) -> TypeGuard[int]:
    """Whether ``size`` is a file size an offer may state."""
    return type(size) is int and 0 <= size <= MAX_FILE_BYTES


def clean_mime(mime: object) -> str:
    """``mime`` when it is a plain ``type/subtype``, else ``application/octet-stream``."""
    if isinstance(mime, str) and _MIME.fullmatch(mime):
        return mime.lower()
    return "application/octet-stream"


def offer_of(data: object) -> FileOffer | None:
    """The offer a JSON message's data carries, or ``None`` (not an offer, or malformed:
    then it is just JSON). The name is cleaned; nothing else is trusted either."""
    if not isinstance(data, dict) or set(data) != {"file"}:
        return None
    fields = data["file"]
    if not isinstance(fields, dict):
        return None
    ident, name, size, sha256 = (fields.get(key) for key in ("id", "name", "size", "sha256"))
    if not valid_file_id(ident) or not valid_size(size) or not valid_sha256(sha256):
        return None
    if not isinstance(name, str):
        return None
    folder = fields.get("folder", [])
    if not isinstance(folder, list) or len(folder) > MAX_FOLDER_DEPTH:
        return None
    if not all(isinstance(part, str) for part in folder):
        return None
    parts = tuple(safe_file_name(part, "folder") for part in folder)
    mime = clean_mime(fields.get("mime"))
    return FileOffer(ident, safe_file_name(name), size, sha256, mime, parts)
