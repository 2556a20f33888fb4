"""Opening a connection to a room and being welcomed, with every failure named by its cause."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from desktopchat import __version__
from desktopchat.client.errors import (
    NotDesktopchat,
    Unreachable,
    handshake_answer,
    refusal,
    unreachable,
)
from desktopchat.client.pinning import pinned, pinning_context
from desktopchat.protocol import (
    SUBPROTOCOLS,
    Hello,
    Limits,
    ProtocolError,
    Welcome,
    decode_server,
    encode_client,
)


@dataclass(frozen=True, slots=True)
class Timing:
    """The connection's clocks: handshake, close and keepalive (seconds; None = off)."""

    open_timeout: float = 10.0
    close_timeout: float = 5.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0

    def connect_options(self, max_size: int) -> dict[str, Any]:
        """What every connection of ours passes to ``websockets.connect``: these clocks,
        the size limit, no proxy (a LAN room is never behind one) and our User-Agent.

        A dead link swallows our close frame too: ``close_timeout`` bounds how long a lost
        connection takes to be noticed, on top of the keepalive timeout.
        """
        return {
            "open_timeout": self.open_timeout,
            "close_timeout": self.close_timeout,
            "ping_interval": self.ping_interval,
            "ping_timeout": self.ping_timeout,
            "max_size": max_size,
            "proxy": None,
            "user_agent_header": f"desktopchat/{__version__}",
        }


async def open_room(
    url: str,
    hello: Hello,
    timing: Timing,
    max_size: int,
    pin: str | None = None,
    known: str | None = None,
) -> tuple[ClientConnection, Welcome]:
    """Connect to ``url``, say ``hello`` and return the connection with the room's welcome.

    Raises :class:`~desktopchat.client.errors.Unreachable`, ``NotDesktopchat``, an
    ``UntrustedCertificate`` (a ``wss://`` room whose certificate is not ``pin``, or else
    ``known``) or a ``Refused`` subclass; never leaves a connection open behind an exception.
    """
    tls: dict[str, Any] = {}
    if url.startswith("wss://"):
        tls = {"ssl": pinning_context(), "create_connection": pinned(pin, known)}
    try:
        ws = await connect(
            url,
            subprotocols=[Subprotocol(dialect) for dialect in SUBPROTOCOLS],
            **timing.connect_options(max_size),
            **tls,
        )
    except InvalidURI as exc:
        raise NotDesktopchat(f"'{url}' is not a room address", str(exc)) from exc
    except InvalidStatus as exc:
        raise NotDesktopchat(
            "Something else answers at this address: it is not a desktopchat room",
            handshake_answer(exc.response),
        ) from exc
    except InvalidHandshake as exc:
        raise NotDesktopchat(
            "Something else answers at this address: it is not a desktopchat room", str(exc)
        ) from exc
    except (OSError, TimeoutError) as exc:
        parts = urlsplit(url)
        raise unreachable(parts.hostname or url, parts.port, exc) from exc
    token_sent = "token" in parse_qs(urlsplit(url).query)
    try:
        return ws, await _greet(ws, hello, timing.open_timeout, max_size, token_sent)
    except BaseException:
        await ws.close()
        raise


async def _greet(
    ws: ClientConnection, hello: Hello, within: float, max_size: int, token_sent: bool
) -> Welcome:
    if ws.subprotocol not in SUBPROTOCOLS:
        raise NotDesktopchat(
            "This is a WebSocket server, but not a desktopchat room",
            "no desktopchat.v1 or v2 subprotocol",
        )
    try:
        await ws.send(encode_client(hello))
        async with asyncio.timeout(within):
            first = await ws.recv()
    except ConnectionClosed as exc:
        if exc.rcvd is not None:
            raise refusal(exc.rcvd.code, exc.rcvd.reason, token_sent) from exc
        raise Unreachable("The connection was lost while joining", "no close frame") from exc
    except TimeoutError as exc:
        raise NotDesktopchat(
            "The server did not let us in in time: is it a desktopchat room?", "no welcome"
        ) from exc
    try:
        welcome = decode_server(first, Limits(max_size))
    except ProtocolError as exc:
        raise NotDesktopchat(
            "The server answered in a way desktopchat does not understand", str(exc)
        ) from exc
    if not isinstance(welcome, Welcome):
        raise NotDesktopchat(
            "The server answered in a way desktopchat does not understand", "no welcome first"
        )
    return welcome
