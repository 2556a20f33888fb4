"""What the window asks of whoever runs the embedded server (the app wires the real one).

The GUI may not import the server (layers: gui → client → protocol); it describes what it
wants as :class:`HostOptions` and gets a :class:`HostInfo` back from a :class:`Hoster`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from desktopchat.protocol import DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class HostOptions:
    """The Host form's answers."""

    room: str = "chat"
    name: str = ""
    port: int = DEFAULT_PORT
    lan: bool = True
    token: str | None = None
    history: bool = True


@dataclass(frozen=True, slots=True)
class HostInfo:
    """A running room: where we join it ourselves, and where others can.

    ``warning`` says why others may not be able to join (e.g. no network), or is empty.
    """

    port: int
    own_url: str
    app_urls: tuple[str, ...] = ()
    browser_urls: tuple[str, ...] = field(default=())
    warning: str = ""
    fingerprint: str | None = None
    """The server's certificate fingerprint when it serves TLS (we pin it to join ourselves)."""
    links: tuple[str, ...] = ()
    """The join links to share (page address, room, token and fingerprint in one)."""
    token: str | None = None
    """The room's token, for the host to see and copy (``None``: anyone may join)."""


class HostError(Exception):
    """Hosting could not start; ``suggested_port`` is a free port to offer instead, if any."""

    def __init__(self, message: str, suggested_port: int | None = None) -> None:
        super().__init__(message)
        self.suggested_port = suggested_port


class Hoster(Protocol):
    """Starts and stops the embedded server on the app's event loop."""

    @property
    def running(self) -> bool:
        """Whether a server is up."""

    def member_count(self) -> int:
        """How many members the hosted rooms have (for the "close anyway?" question)."""

    async def start(self, options: HostOptions) -> HostInfo:
        """Start serving; raise :class:`HostError` with a readable message on failure."""

    async def stop(self) -> None:
        """Close every member with 1001 and free the port."""

    def another(self) -> Hoster:
        """A hoster of its own for another room of the window, with the same settings."""
