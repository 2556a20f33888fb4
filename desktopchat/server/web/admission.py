"""The before-accept hook of every WebSocket route: token and Origin checks.

A browser that is refused during the handshake (HTTP 403) sees only close code 1006, so a
refused client is accepted and closed at once with 1008 and the reason in words.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from desktopchat.protocol import SUBPROTOCOLS, CloseCode, CloseReason
from desktopchat.server.rooms.hub import Refused
from desktopchat.server.settings import Settings

logger = logging.getLogger("desktopchat.server")

Endpoint = Callable[[WebSocket], Awaitable[None]]


def _origin_key(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        return ""
    return f"{parts.hostname}:{port}" if parts.hostname else ""


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a browser ``Origin`` may connect: same host and port, or one of ``allowed``.

    Non-browser clients send no Origin and pass. The opaque ``null`` origin (``file://`` pages,
    sandboxed frames) never matches.
    """
    if origin is None:
        return True
    key = _origin_key(origin)
    if not key:
        return False
    if host and key == _origin_key(f"http://{host}"):
        return True
    return any(key == _origin_key(entry) for entry in allowed)


def allowed_host_names(settings: Settings) -> frozenset[str]:
    """The host names (not addresses) this server answers to, casefolded: ``localhost``, the
    machine's name and its mDNS ``.local`` name, the name it is told to advertise, its
    ``--host`` if that is a name, the hosts of ``--origin`` entries, and ``--allow-host``."""
    machine = socket.gethostname()
    # "testserver" is the host Starlette's TestClient sends: the seed's tests use it as is.
    names = {"localhost", "testserver", machine, f"{machine}.local", settings.host}
    names |= set(settings.allowed_hosts)
    if settings.host_name:
        names |= {settings.host_name, f"{settings.host_name}.local"}
    names |= {urlsplit(origin).hostname or "" for origin in settings.origins}
    return frozenset(name.casefold().rstrip(".") for name in names if name)


def host_allowed(host: str | None, names: frozenset[str]) -> bool:
    """Whether a request's ``Host`` header names this server.

    An IP address is always fine: a page cannot make a browser send another site's address
    as its own. A name must be one of ``names``: DNS rebinding points an attacker's name at
    a LAN address, and its page, being same-origin with that name, would pass the Origin
    check. No Host at all (HTTP/1.0 tools) is no browser, and passes.
    """
    if host is None:
        return True
    hostname, is_address = _host_name(host)
    if not hostname:
        return False
    return is_address or hostname.rstrip(".") in names


@functools.lru_cache(maxsize=256)
def _host_name(host: str) -> tuple[str | None, bool]:
    """The name in a Host header (empty or None when it has none), and whether it is an IP
    address. Connections send one of a few Host values: each is parsed once (the cache is
    bounded, so values a client invents only cost their parse)."""
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        return None, False
    try:
        ipaddress.ip_address(hostname or "")
    except ValueError:
        return hostname, False
    return hostname, True


def token_valid(given: str | None, expected: str | None) -> bool:
    """Constant-time token check; no token configured means everybody is welcome."""
    if expected is None:
        return True
    # compare_digest refuses non-ASCII str, so compare the UTF-8 bytes.
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def check_admission(
    websocket: WebSocket, settings: Settings, allowed_hosts: frozenset[str]
) -> None:
    """Raise :class:`Refused` when the connection may not proceed."""
    if not token_valid(websocket.query_params.get("token"), settings.token):
        raise Refused(CloseCode.POLICY, CloseReason.INVALID_TOKEN)
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), settings.origins
    ):
        raise Refused(CloseCode.POLICY, CloseReason.ORIGIN_NOT_ALLOWED)
    if not host_allowed(websocket.headers.get("host"), allowed_hosts):
        raise Refused(CloseCode.POLICY, CloseReason.HOST_NOT_ALLOWED)


def offered_subprotocol(websocket: WebSocket) -> str | None:
    """The newest dialect of ours the client offers (``desktopchat.v2``, then ``v1``), else
    ``None`` (raw mode)."""
    offered = websocket.scope.get("subprotocols", ())
    return next((dialect for dialect in SUBPROTOCOLS if dialect in offered), None)


async def refuse(websocket: WebSocket, refusal: Refused) -> None:
    """Accept, then close at once with the refusal's code and reason, so the client learns why."""
    client = websocket.client
    logger.info(
        "refused %s on %s: %s (%d)",
        f"{client.host}:{client.port}" if client else "a client",
        websocket.url.path,
        refusal.reason,
        refusal.code,
    )
    await websocket.accept(subprotocol=offered_subprotocol(websocket))
    await websocket.close(refusal.code, refusal.reason)


def guarded(endpoint: Endpoint, settings: Settings) -> Endpoint:
    """Run the admission checks before ``endpoint`` (the seed's ``before_request`` hook)."""
    allowed_hosts = allowed_host_names(settings)

    @functools.wraps(endpoint)
    async def guard(websocket: WebSocket) -> None:
        if await admitted(websocket, settings, allowed_hosts):
            await endpoint(websocket)

    return guard


async def admitted(websocket: WebSocket, settings: Settings, allowed_hosts: frozenset[str]) -> bool:
    """Whether the connection may proceed; when not, it has been refused in words."""
    try:
        check_admission(websocket, settings, allowed_hosts)
    except Refused as refusal:
        await refuse(websocket, refusal)
        return False
    return True
