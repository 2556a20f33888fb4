"""This install's client key: the one thing by which a room's host finds the same direct
conversations for us after a restart (it keeps each conversation for a pair of keys).

The key is a secret of this user (whoever holds it, with our name, reads our direct
messages): kept in a file only this user reads, never in the settings or a log.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from desktopchat.atomic import write_atomically
from desktopchat.paths import data_dir

logger = logging.getLogger("desktopchat.client")

_KEY = re.compile(r"[0-9a-f]{32}")


def install_key(path: Path | None = None) -> str:
    """The key kept in ``path`` (default: ``client-key`` in the data folder), made the
    first time; a key for this run only when the file can be neither read nor written."""
    path = path or data_dir() / "client-key"
    try:
        kept = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        kept = ""
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("the client key in %s is unreadable (%s): one for this run only", path, exc)
        return secrets.token_hex(16)
    if _KEY.fullmatch(kept):
        return kept
    key = secrets.token_hex(16)
    try:
        write_atomically(path, key + "\n")
    except OSError as exc:
        logger.warning("the client key was not kept in %s (%s): one for this run only", path, exc)
    return key
