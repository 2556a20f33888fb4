"""A connection to any WebSocket endpoint, not only desktopchat rooms: frames in and out as
they are, the handshake's subprotocols, headers and Origin chosen by the user, TLS pinned as
for rooms (or ``insecure``), and reconnection with back-off (there is nothing to resume)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Origin, Subprotocol

from desktopchat.client.address import display_address, with_tls
from desktopchat.client.backoff import Backoff
from desktopchat.client.errors import (
    AddressError,
    JoinError,
    NotDesktopchat,
    SendError,
    TooBigForUs,
    UntrustedCertificate,
    handshake_answer,
    too_big_for_us,
    unreachable,
)
from desktopchat.client.events import Control, Frame, SessionState
from desktopchat.client.handshake import Timing
from desktopchat.client.listening import Link, fairly, read_to_send
from desktopchat.client.pinning import KnownHosts, pinned, pinning_context
from desktopchat.protocol import CloseCode, ProtocolError, loads
from desktopchat.protocol.fingerprints import parse_fingerprint
from desktopchat.protocol.sizes import human_size

logger = logging.getLogger("desktopchat.client")

PASSING = frozenset(
    {
        None,
        CloseCode.GOING_AWAY,
        CloseCode.NO_STATUS,
        CloseCode.ABNORMAL,
        CloseCode.SERVER_ERROR,
        CloseCode.SERVICE_RESTART,
        CloseCode.TRY_AGAIN_LATER,
    }
)
"""Closes after which a raw connection reconnects: a lost connection, a server going away,
restarting or overloaded. Any other code (1000, 1008, an application's 4xxx) is the
server's word and ends the connection: reconnecting would only be refused again, as a
reconnect loop against an API that closed with "4001 unauthorized" was."""


@dataclass(frozen=True, slots=True)
class RawOptions:
    """How to open a raw connection: what the handshake offers, and how TLS is trusted."""

    subprotocols: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    origin: str | None = None
    insecure: bool = False
    """Accept any certificate without pinning it (the UI warns)."""
    fingerprint: str | None = None
    """The certificate to expect (``sha256:…``), as for rooms."""
    reconnect: bool = True


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` as a pair; ``ValueError`` for anything that is not one header."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if (
        not colon
        or not name
        or any(c in name for c in " \t\r\n")
        or any(c in value for c in "\r\n")
    ):
        raise ValueError(f"'{text}' is not a header: write it as 'Name: value'")
    return name, value


SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "password", "cookie", "session")
"""Words in a header's name that make its value a secret (``Authorization``, ``X-Api-Key``,
``Cookie`` …): a saved connection keeps such values in the keyring, never in its file."""


def is_secret_header(name: str) -> bool:
    """Whether the value of header ``name`` is taken for a secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_HEADER_WORDS)


MAX_PING_PAYLOAD = 125
"""RFC 6455: a control frame's payload is at most 125 bytes."""

MAX_CLOSE_REASON = 123
"""RFC 6455: a close frame's reason is what is left of 125 bytes after its 2-byte code."""


SENDABLE = "1000 to 1003, 1007 to 1014, or 3000 to 4999"


def sendable_close(code: int) -> bool:
    """Whether an endpoint may put ``code`` in a close frame (RFC 6455 §7.4: 1004 to 1006 and
    1015 only describe closes, never go over the wire)."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


def raw_url(address: str) -> str:
    """``address`` as a WebSocket URL (``ws://`` assumed without a scheme; ``http(s)://``
    becomes ``ws(s)://``)."""
    address = address.strip()
    if "://" not in address:
        address = f"ws://{address}"
    scheme, rest = address.split("://", 1)
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    if scheme not in ("ws", "wss") or not urlsplit(f"{scheme}://{rest}").hostname:
        shown = display_address(address)
        raise AddressError(f"'{shown}' is not a WebSocket address (ws://host:port/path)")
    return f"{scheme}://{rest}"


class RawSession:
    """One connection to ``address``; :meth:`start`, then ``send_*`` and :meth:`subscribe`
    for :class:`~desktopchat.client.events.Frame` and state events; :meth:`close` ends it."""

    def __init__(
        self,
        address: str,
        options: RawOptions | None = None,
        *,
        known_hosts: KnownHosts | None = None,
        backoff: Backoff | None = None,
        timing: Timing | None = None,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        self.url = raw_url(address)
        self.options = options or RawOptions()
        try:
            self.pin = (
                parse_fingerprint(self.options.fingerprint) if self.options.fingerprint else None
            )
        except ValueError as exc:
            raise AddressError(str(exc)) from exc
        self.link = Link(raw=True)
        self.subscribe = self.link.subscribe
        self.events = self.link.events
        self.retry_now = self.link.retry_now
        self.name: str | None = None
        self._known_hosts = known_hosts
        self._backoff = backoff or Backoff()
        self._timing = timing or Timing()
        self._max_size = max_size

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect; raise a ``JoinError`` saying why if that fails."""
        if self.link.task is not None:
            raise RuntimeError("the connection is already started")
        self.link.closing = False
        self.link.set_state(SessionState.CONNECTING)
        try:
            ws = await self._open()
        except JoinError as exc:
            self.link.set_state(SessionState.CLOSED, error=exc)
            raise
        self._opened(ws)
        self.link.task = asyncio.get_running_loop().create_task(self._run(ws))

    def trust(self, fingerprint: str) -> None:
        """Pin ``fingerprint`` (after the user checked an unknown one)."""
        self.pin = parse_fingerprint(fingerprint)

    @property
    def state(self) -> SessionState:
        """Where the connection is: connecting, open, reconnecting, closing or closed."""
        return self.link.state

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        return self.link.ws.subprotocol if self.link.ws is not None else None

    def _opened(self, ws: ClientConnection) -> None:
        self.link.ws = ws
        self.link.set_state(SessionState.OPEN)

    async def _open(self) -> ClientConnection:
        options = self.options
        tls: dict[str, Any] = {}
        parts = urlsplit(self.url)
        if parts.scheme == "ws" and not options.insecure:
            host, port = parts.hostname or "", parts.port or 443
            remembered = self._known_hosts.get(host, port) if self._known_hosts else None
            if self.pin is not None or remembered is not None:
                # A pinned identity (given, or trusted before) always means TLS: never send
                # the request, its path and its token in clear text to whoever answers.
                self.url = with_tls(self.url)
                parts = urlsplit(self.url)
        if parts.scheme == "wss":
            if options.insecure:
                tls = {"ssl": pinning_context()}
            else:
                host, port = parts.hostname or "", parts.port or 443
                known = self._known_hosts.get(host, port) if self._known_hosts else None
                tls = {"ssl": _verifying_or_pinning(self.pin, known), **_pin(self.pin, known)}
        try:
            ws = await connect(
                self.url,
                subprotocols=[Subprotocol(name) for name in options.subprotocols] or None,
                additional_headers=list(options.headers) or None,
                origin=Origin(options.origin) if options.origin else None,
                **self._timing.connect_options(self._max_size),
                **tls,
            )
        except InvalidURI as exc:
            raise AddressError(f"'{self.url}' is not a WebSocket address", str(exc)) from exc
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise NotDesktopchat(
                f"The server answered HTTP {status} instead of opening a WebSocket: is the "
                "path right, and does it want a subprotocol, a header or a token?",
                handshake_answer(exc.response),
            ) from exc
        except InvalidHandshake as exc:
            raise NotDesktopchat(
                "The server did not open a WebSocket (check the subprotocol)", str(exc)
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise await self._unknown_certificate(exc) from exc
        except (OSError, TimeoutError) as exc:
            raise unreachable(parts.hostname or self.url, parts.port, exc) from exc
        if parts.scheme == "wss" and self.pin and self._known_hosts and not options.insecure:
            with contextlib.suppress(OSError):
                self._known_hosts.remember(parts.hostname or "", parts.port or 443, self.pin)
        return ws

    async def _unknown_certificate(self, refusal: ssl.SSLCertVerificationError) -> JoinError:
        """The error for a certificate no authority vouches for (self-signed, as a LAN
        service's often is): :class:`UnknownCertificate` with its fingerprint, read by a
        second handshake that sends nothing, so that the user can compare and pin it."""
        try:
            async with connect(
                self.url,
                ssl=pinning_context(),
                create_connection=pinned(None, None),
                open_timeout=self._timing.open_timeout,
                proxy=None,
            ):
                pass
        except UntrustedCertificate as exc:
            return exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            return JoinError("The server's certificate is not trusted", f"{refusal}; {exc}")
        return JoinError("The server's certificate is not trusted", str(refusal))

    async def _run(self, ws: ClientConnection) -> None:
        while True:
            code, reason = await self._pump(ws)
            self.link.ws = None
            if isinstance(reason, TooBigForUs):
                self.link.set_state(SessionState.CLOSED, code=code, error=reason)
                return
            if self.link.closing or not self.options.reconnect or code not in PASSING:
                self.link.set_state(
                    SessionState.CLOSED, code=code, reason=reason, ours=self.link.closing
                )
                return
            reopened = await self._reconnect(code, reason)
            if reopened is None:
                return
            ws = reopened
            self._opened(ws)

    async def _pump(self, ws: ClientConnection) -> tuple[int | None, str | TooBigForUs]:
        try:
            async for data in fairly(ws):
                self.link.emit(Frame(_now(), True, data))
        except ConnectionClosed as exc:
            refused = too_big_for_us(exc, self._max_size)
            if refused is not None:
                return CloseCode.TOO_BIG, refused
        return ws.close_code, ws.close_reason or ""

    async def _reconnect(self, code: int | None, reason: str) -> ClientConnection | None:
        attempt = 0
        while True:
            attempt += 1
            delay = self._backoff.delay(attempt)
            self.link.set_state(
                SessionState.RECONNECTING,
                attempt=attempt,
                delay=delay,
                code=code,
                reason=reason,
            )
            await self.link.wait_to_retry(delay)
            try:
                return await self._open()
            except UntrustedCertificate as exc:
                self.link.set_state(SessionState.CLOSED, error=exc)
                return None
            except JoinError as exc:
                logger.info("raw reconnect attempt %d failed: %s", attempt, exc)

    # -- sending ------------------------------------------------------------------------------

    async def send_text(self, text: str) -> str:
        """Send ``text`` as one text frame."""
        return await self._send(text)

    async def send_json_text(self, text: str) -> str:
        """Send ``text`` as one text frame, once it parses as JSON."""
        try:
            loads(text)
        except ProtocolError as exc:
            raise SendError(f"not valid JSON: {exc}") from exc
        return await self._send(text)

    async def send_binary(self, payload: bytes, name: str = "", mime: str = "") -> str:
        """Send ``payload`` as one binary frame (``name`` and ``mime`` are not sent: a raw
        endpoint gets the bytes alone)."""
        return await self._send(payload)

    async def send_file(self, path: str | Path) -> str:
        """Send a file's bytes as one binary frame."""
        return await self._send(await read_to_send(path))

    async def ping(self, payload: bytes = b"") -> float:
        """Send a ping (with ``payload``, at most 125 bytes); the round trip in seconds once
        the pong comes. Raises ``SendError`` when not connected or the connection drops."""
        ws = self.link.ws
        if ws is None or self.state is not SessionState.OPEN:
            raise SendError("not connected")
        if len(payload) > MAX_PING_PAYLOAD:
            raise SendError(f"a ping carries at most {MAX_PING_PAYLOAD} bytes")
        try:
            pong = await ws.ping(payload or None)
            self.link.emit(Control(_now(), False, "ping", payload))
            latency: float = await pong
        except ConnectionClosed as exc:
            raise SendError(f"the connection closed before the pong came: {exc}") from exc
        self.link.emit(Control(_now(), True, "pong", payload, rtt=latency))
        return latency

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "bye") -> None:
        """Close with ``code`` and ``reason`` (a :class:`Control` tells it) and stop
        reconnecting; ``ValueError`` for a code an endpoint may not send."""
        if not sendable_close(code):
            raise ValueError(f"{code} is not a close code an endpoint may send ({SENDABLE})")
        if len(reason.encode()) > MAX_CLOSE_REASON:
            raise ValueError(f"a close reason is at most {MAX_CLOSE_REASON} bytes of UTF-8")
        if self.link.ws is not None and self.state is SessionState.OPEN:
            self.link.emit(Control(_now(), False, "close", code=code, reason=reason))
        await self.link.close(code, reason)

    @property
    def message_limit(self) -> int:
        """The largest frame, in bytes, this connection sends or takes (``--max-size``)."""
        return self._max_size

    async def _send(self, data: str | bytes) -> str:
        ws = self.link.ws
        if ws is None or self.state is not SessionState.OPEN:
            raise SendError("not connected: a raw connection does not keep frames for later")
        size = len(data.encode()) if isinstance(data, str) else len(data)
        if size > self._max_size:
            raise SendError(f"{human_size(size)} is over the limit of {human_size(self._max_size)}")
        try:
            await ws.send(data)
        except ConnectionClosed as exc:
            raise SendError(f"the connection closed before it went out: {exc}") from exc
        self.link.emit(Frame(_now(), False, data))
        return ""


def _now() -> int:
    return time.time_ns() // 1_000_000


def _pin(expected: str | None, known: str | None) -> dict[str, Any]:
    """Pinning for an endpoint with a pin (given or remembered); none for a public one."""
    if expected is None and known is None:
        return {}
    return {"create_connection": pinned(expected, known)}


def _verifying_or_pinning(expected: str | None, known: str | None) -> ssl.SSLContext:
    # A public endpoint (no pin) is checked by the system's authorities, as a browser does;
    # a pinned one by its fingerprint alone.
    if expected is None and known is None:
        return ssl.create_default_context()
    return pinning_context()
