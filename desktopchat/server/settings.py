"""The server's settings: one frozen value that ``create_app`` and the runner read."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from desktopchat.protocol import DEFAULT_PORT, DEFAULT_ROOM
from desktopchat.server.stores.history import Retention


def default_tls_dir() -> Path:
    """Where the server's own certificate and key are kept."""
    return Path(platformdirs.user_data_dir("desktopchat", appauthor=False)) / "tls"


def default_history_path() -> Path:
    """Where history lives unless told otherwise: the platform's user data dir."""
    return Path(platformdirs.user_data_dir("desktopchat", appauthor=False)) / "history.sqlite3"


def default_files_path() -> Path:
    """Where ``serve`` and ``host`` keep members' files unless told otherwise."""
    return Path(platformdirs.user_data_dir("desktopchat", appauthor=False)) / "files"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be told. Defaults are what ``desktopchat serve`` uses.

    ``allowed_hosts`` are extra host names (beyond the machine's own and ``localhost``)
    that requests may address the server by, e.g. behind a reverse proxy.
    History is kept within ``history_keep`` messages per room, ``history_keep_days`` (on
    disk; 0 = forever) and ``history_keep_bytes`` of bodies in all (``history_memory_bytes``
    with ``--history off``).
    ``tls`` is ``auto`` (TLS beyond loopback), ``on`` or ``off``; ``cert`` and ``key`` bring
    a certificate, else one is made once in the user data dir (:func:`default_tls_dir`).
    ``history`` is the SQLite file, or ``None`` to keep history in memory only (``--history
    off``). ``origins`` are extra browser origins allowed besides the server's own host.
    ``room`` is the room announced on the LAN (``advertise``; never from a loopback host)
    under ``host_name`` (the machine's name by default). ``rate`` (messages per second,
    0 = unlimited) and ``burst`` limit each member;
    ``send_queue`` and ``send_queue_bytes`` bound what may wait for a slow member (its
    transport's buffer included); a member that reads nothing for ``stall_timeout``
    seconds while bytes wait for it is closed.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    room: str = DEFAULT_ROOM
    advertise: bool = True
    host_name: str | None = None
    token: str | None = None
    origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    history: Path | None = field(default_factory=default_history_path)
    history_size: int = 200
    history_keep: int = 10_000
    history_keep_days: float = 90.0
    history_keep_bytes: int = 1024 * 1024 * 1024
    history_memory_bytes: int = 256 * 1024 * 1024
    files: Path | None = None
    """Where members' files are kept; ``None``: a folder of this run's, gone when it stops."""
    files_max_bytes: int = 10 * 1024 * 1024 * 1024
    """Bytes of files kept in all rooms together (0: no file transfers)."""
    files_keep_days: float = 30.0
    files_rate: int = 0
    """Bytes per second each member (address) may move up and down together (0: no limit)."""
    files_transfers: int = 4
    """Transfers one member (address) may have under way at once."""
    max_message_bytes: int = 16 * 1024 * 1024
    max_members: int = 500
    broker: str | None = None
    """``redis://…``: share rooms with the other nodes on this Redis (history is there)."""
    host_member: str = ""
    """The hosting person's member name (the window hosts and joins its own room), shown
    as the host to everyone; empty for ``serve``."""
    max_rooms: int = 100
    rate: float = 100.0
    burst: int = 200
    send_queue: int = 1000
    send_queue_bytes: int = 64 * 1024 * 1024
    stall_timeout: float = 15.0
    compression: bool = True
    tls: str = "auto"
    cert: Path | None = None
    key: Path | None = None
    handshake_timeout: float = 10.0
    hello_timeout: float = 10.0
    close_timeout: float = 2.0
    ping_interval: float = 20.0
    ping_timeout: float = 20.0

    def uses_tls(self) -> bool:
        """Whether to serve TLS: ``on``, ``off``, or (``auto``) whenever the server listens
        beyond loopback, so that the tutorial's plain ws:// keeps working on 127.0.0.1."""
        if self.tls != "auto":
            return self.tls == "on"
        if self.cert is not None:
            return True  # a certificate brought is a certificate to use
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host != "localhost"

    def retention(self) -> Retention:
        """What the history store keeps (in memory, the smaller byte bound applies)."""
        total = self.history_keep_bytes
        if self.history is None:
            total = min(total, self.history_memory_bytes)
        return Retention(self.history_keep, self.history_keep_days, total)
