"""The doors of one WebSocket connection that a member writes through.

``Member`` knows no web framework: the endpoint builds a :class:`Connection` from the
ASGI scope (where the runner's protocol puts its doors as scope extensions), and tests
build one from plain functions. The names of those scope extensions are here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from desktopchat.server.framing import Frame

ABORT_EXTENSION = "desktopchat.abort"
"""ASGI scope extension holding a callable that aborts the connection's transport."""

WRITE_EXTENSION = "desktopchat.write"
"""ASGI scope extension holding ``write(frame) -> bool``: put an already framed message on
the transport now if it can take it without waiting (``False`` otherwise)."""

BUFFERED_EXTENSION = "desktopchat.buffered"
"""ASGI scope extension holding ``buffered() -> int``: bytes in the transport's write buffer."""

WRITABLE_EXTENSION = "desktopchat.writable"
"""ASGI scope extension holding a :class:`Writability`: set while the transport takes writes."""


class Writability(Protocol):
    """Whether a transport takes writes now, and a way to wait until it does."""

    def is_set(self) -> bool:
        """Whether the transport's buffer is below its high mark."""

    async def wait(self) -> object:
        """Return once the transport takes writes."""


def nothing_buffered() -> int:
    """The buffer of a transport we cannot see: empty."""
    return 0


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach one peer.

    ``send`` and ``close`` are the ASGI way (they raise ``ConnectionError`` once the peer is
    gone); ``write_now``, ``buffered``, ``writable`` and ``abort`` are the transport's own
    doors, when the server has them (uvicorn through our protocol class does; Starlette's
    TestClient does not).
    """

    send: Callable[[Frame], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    write_now: Callable[[bytes], bool] | None = None
    buffered: Callable[[], int] = nothing_buffered
    writable: Writability | None = None
    abort: Callable[[], None] | None = None
