"""Why joining a room failed, one class per cause a user can act on::

    JoinError                 base: ``str(error)`` is a sentence for the user
    ├── AddressError          the typed address is not a room address
    ├── Unreachable           nothing answers there (wrong host/port, no network, timeout)
    ├── NotDesktopchat        something answers, but not a desktopchat room
    ├── UntrustedCertificate  the room's TLS certificate is not the one we trust
    │   ├── UnknownCertificate  nothing is trusted for it yet: ask the user (its fingerprint)
    │   └── CertificateChanged  it differs from the pinned or remembered one
    ├── Refused               the room refused us: ``code`` and ``reason`` from its close
    │   ├── TokenRefused      wrong or missing token (1008 "invalid token")
    │   └── OriginRefused     the browser origin is not allowed (1008 "origin not allowed")
    └── TooBigForUs           the server sent a message over our own size limit

``SendError`` is raised locally when a message cannot be sent (invalid JSON, outbox full).
"""

from __future__ import annotations

import errno
import socket

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from desktopchat.protocol import CloseCode, CloseReason, describe_close, plain_close
from desktopchat.protocol.fingerprints import readable
from desktopchat.protocol.sizes import human_size


class JoinError(Exception):
    """Joining failed. ``str(error)`` says why in words a person understands; ``detail`` is
    the technical cause (a close code, an errno) for a second line or a log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    def explain(self) -> str:
        """The sentence with its detail in brackets, for one line of a terminal."""
        return f"{self} ({self.detail})" if self.detail else str(self)


class AddressError(JoinError):
    """The typed address cannot be a room address."""


class Unreachable(JoinError):
    """No server answered at the address."""


class NotDesktopchat(JoinError):
    """A server answered, but it is not a desktopchat room."""


class UntrustedCertificate(JoinError):
    """The room's certificate (``fingerprint``) is not one we trust; nothing was sent."""

    def __init__(self, message: str, fingerprint: str) -> None:
        super().__init__(message, f"fingerprint {fingerprint}")
        self.fingerprint = fingerprint


class UnknownCertificate(UntrustedCertificate):
    """No fingerprint is known for this room yet: ask the user whether to trust it."""

    def __init__(self, fingerprint: str) -> None:
        super().__init__(
            "This room's identity is new to this computer: check it with the host before "
            "trusting it",
            fingerprint,
        )


class CertificateChanged(UntrustedCertificate):
    """The room's certificate is not the pinned (``given``) or remembered one."""

    def __init__(self, expected: str, seen: str, *, given: bool) -> None:
        source = "the one its link gave" if given else "the one you trusted before"
        super().__init__(
            f"This room's identity is not {source}: the host may have set it up again, or "
            "someone may be pretending to be it. Nothing was sent. Ask the host which "
            "identity their window shows now, or for a new join link",
            seen,
        )
        self.detail = f"expected {readable(expected)}; this server shows {readable(seen)}"
        self.expected = expected


class Refused(JoinError):
    """The room closed the connection on arrival; ``code`` and ``reason`` say why."""

    def __init__(self, code: int, reason: str, message: str = "") -> None:
        super().__init__(message or plain_close(code, reason), describe_close(code, reason))
        self.code = code
        self.reason = reason


class TokenRefused(Refused):
    """The token was wrong or missing."""


class OriginRefused(Refused):
    """The server does not allow this origin."""


class TooBigForUs(JoinError):
    """We closed the connection (1009) because the server sent a message bigger than this
    client takes. Reconnecting would be sent the same message again: the session stops."""

    def __init__(self, limit: int, detail: str) -> None:
        super().__init__(
            f"The server sent a message over this client's limit of {human_size(limit)}",
            detail,
        )
        self.limit = limit


SHOWN_BODY = 1024
"""Bytes of a refused handshake's response body shown: usually the server's reason."""


def handshake_answer(response: Response) -> str:
    """What a server answered instead of opening a WebSocket, for the detail line: the
    status line, the headers and the start of the body (where servers put their reason).
    Peer-controlled text: the caller escapes it for a terminal (``printable``)."""
    lines = [f"HTTP {response.status_code} {response.reason_phrase}".rstrip()]
    lines += [f"{name}: {value}" for name, value in response.headers.raw_items()]
    body = response.body or b""
    if body:
        shown = body[:SHOWN_BODY].decode("utf-8", errors="replace")
        more = f" … (+{len(body) - SHOWN_BODY} bytes)" if len(body) > SHOWN_BODY else ""
        lines += ["", shown + more]
    return "\n".join(lines)


def too_big_for_us(closed: ConnectionClosed, limit: int) -> TooBigForUs | None:
    """:class:`TooBigForUs` when *we* closed with 1009 (websockets does so on a frame over
    ``max_size``), before the server said anything; else ``None``."""
    sent = closed.sent
    if sent is None or sent.code != CloseCode.TOO_BIG or closed.rcvd_then_sent:
        return None
    return TooBigForUs(limit, sent.reason or "1009")


class SendError(Exception):
    """A message was refused locally and not sent (invalid JSON, outbox full …)."""


def refusal(code: int, reason: str, token_sent: bool = True) -> Refused:
    """The most specific :class:`Refused` for a close received right after connecting
    (``token_sent``: whether we offered a token, to tell "needs one" from "not that one")."""
    if reason == CloseReason.INVALID_TOKEN:
        words = "That token is not this room's" if token_sent else "This room needs a token"
        return TokenRefused(code, reason, words)
    if reason == CloseReason.ORIGIN_NOT_ALLOWED:
        return OriginRefused(code, reason)
    return Refused(code, reason)


def unreachable(host: str, port: int | None, error: BaseException) -> Unreachable:
    """Why nothing answered at ``host``:``port``, in words: nobody hosting there, no such
    computer, no route, or no answer in time; the OS error is the detail."""
    where = f"{host}:{port}" if port else host
    if isinstance(error, socket.gaierror):
        message = f"Can't find a computer called {host}"
    elif isinstance(error, ConnectionRefusedError):
        message = f"Nobody is hosting at {where}"
    elif isinstance(error, TimeoutError):
        message = f"{where} did not answer in time"
    elif isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        message = f"Can't reach {host} from this computer: is it on the same network?"
    else:
        message = f"Can't connect to {where}"
    return Unreachable(message, str(error) or type(error).__name__)
