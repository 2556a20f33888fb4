"""Remembered settings: recent rooms and the last name used, in the platform's config dir.

Tokens are never written down: a token in a settings file is a token anybody with the
laptop can read. Every address is kept through :func:`without_secrets`, here and only here
(remembering and loading), whatever form it was typed or pasted in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import platformdirs

from desktopchat.atomic import write_atomically
from desktopchat.client.address import without_secrets
from desktopchat.protocol import DEFAULT_PORT

logger = logging.getLogger("desktopchat.gui")

MAX_RECENT = 8
MAX_READ = 100
MAX_OPEN = 50
"""At most this many rooms are opened again at a start."""


def default_settings_path() -> Path:
    """``…/desktopchat/settings.json`` in the user's config dir."""
    return Path(platformdirs.user_config_dir("desktopchat", appauthor=False)) / "settings.json"


@dataclass(frozen=True, slots=True)
class RecentRoom:
    """A room joined or hosted before."""

    address: str
    name: str = ""
    hosted: bool = False
    room: str = ""
    """For a hosted room: what to host again (room, port, LAN or not, whether a token)."""
    port: int = 0
    lan: bool = True
    protected: bool = False
    """The room took a token (kept in the keyring, if there is one, never here)."""
    raw: bool = False
    """A plain WebSocket endpoint, not a room: a saved connection, with its handshake."""
    subprotocols: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    """The handshake's headers whose values are no secret."""
    secret_headers: tuple[str, ...] = ()
    """Names of the headers whose values are secrets: in the keyring, if there is one."""
    origin: str = ""
    insecure: bool = False

    @classmethod
    def of(cls, entry: dict[str, object]) -> RecentRoom:
        """A room from its JSON form (lists back to tuples)."""
        fields = dict(entry)
        fields["subprotocols"] = tuple(str(name) for name in _list(fields.get("subprotocols")))
        fields["headers"] = tuple(
            (str(pair[0]), str(pair[1]))
            for pair in _list(fields.get("headers"))
            if isinstance(pair, list | tuple) and len(pair) == 2
        )
        fields["secret_headers"] = tuple(str(n) for n in _list(fields.get("secret_headers")))
        return cls(**fields)  # type: ignore[arg-type]


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


THEMES = ("system", "light", "dark")
NOTIFY_LEVELS = ("all", "mentions", "none")
"""Per room: notify every message, only ``@name`` mentions, or nothing."""


@dataclass
class Remembered:
    """What the window remembers between runs."""

    name: str = ""
    port: int = DEFAULT_PORT
    recent: list[RecentRoom] = field(default_factory=list)
    theme: str = "system"
    text_size: int = 0
    """Points for the messages and the box to write in; 0 is the desktop's size."""
    notify: dict[str, str] = field(default_factory=dict)
    """Room → one of :data:`NOTIFY_LEVELS`; rooms not in it notify every message."""
    hide_previews: bool = False
    sound: bool = False
    """Notifications say who wrote, not what."""
    hint_seen: bool = False
    """The first-run hint was dismissed."""
    read: dict[str, int] = field(default_factory=dict)
    """Room → the newest message id read there: history coming again on a rejoin is
    not new (the newest :data:`MAX_READ` rooms)."""
    open_rooms: list[RecentRoom] = field(default_factory=list)
    """The rooms open in the window when it closed, in the sidebar's order: opened again
    at the next start (their tokens from the keyring, never from here)."""

    def mark_read(self, room: str, upto: int) -> None:
        """The user has read ``room`` up to message ``upto``."""
        if upto <= self.read.get(room, 0):
            return
        self.read.pop(room, None)
        self.read[room] = upto
        for oldest in list(self.read)[: max(0, len(self.read) - MAX_READ)]:
            del self.read[oldest]

    def remember(self, room: RecentRoom) -> None:
        """Put ``room`` first in the recent list (once), its address without secrets."""
        room = replace(room, address=without_secrets(room.address))
        self.recent = [room] + [r for r in self.recent if r.address != room.address]
        del self.recent[MAX_RECENT:]


def _rooms(entries: list[dict[str, object]]) -> list[RecentRoom]:
    # Files written before secrets were stripped may still hold a token.
    return [
        replace(room, address=without_secrets(room.address))
        for room in (RecentRoom.of(entry) for entry in entries)
    ]


def _one_of(value: object, choices: tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in choices else choices[0]


class SettingsStore:
    """Loads and saves :class:`Remembered` as JSON; a broken file is reported, not fatal."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()

    def load(self) -> Remembered:
        """The saved settings, or defaults when there are none (or they are unreadable)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            # Files written before secrets were stripped may still hold a token.
            recent = _rooms(raw.get("recent", []))
            open_rooms = _rooms(raw.get("open", []))[:MAX_OPEN]
            notify = raw.get("notify", {})
            return Remembered(
                str(raw.get("name", "")),
                int(raw.get("port", DEFAULT_PORT)),
                recent,
                theme=_one_of(raw.get("theme"), THEMES),
                text_size=max(0, min(48, int(raw.get("text_size", 0)))),
                notify={
                    str(room): level
                    for room, level in dict(notify).items()
                    if level in NOTIFY_LEVELS
                },
                hide_previews=raw.get("hide_previews") is True,
                sound=raw.get("sound") is True,
                hint_seen=raw.get("hint_seen") is True,
                read={
                    str(room): upto
                    for room, upto in dict(raw.get("read", {})).items()
                    if isinstance(upto, int) and not isinstance(upto, bool) and upto > 0
                },
                open_rooms=open_rooms,
            )
        except FileNotFoundError:
            return Remembered()
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.warning("ignoring unreadable settings %s: %s", self.path, exc)
            return Remembered()

    def save(self, remembered: Remembered) -> None:
        """Write the settings (atomically: a crash never leaves half a file)."""
        data = {
            "name": remembered.name,
            "port": remembered.port,
            "recent": [asdict(room) for room in remembered.recent],
            "theme": remembered.theme,
            "text_size": remembered.text_size,
            "notify": remembered.notify,
            "hide_previews": remembered.hide_previews,
            "sound": remembered.sound,
            "hint_seen": remembered.hint_seen,
            "read": remembered.read,
            "open": [
                asdict(replace(room, address=without_secrets(room.address)))
                for room in remembered.open_rooms
            ],
        }
        write_atomically(self.path, json.dumps(data, indent=2))
