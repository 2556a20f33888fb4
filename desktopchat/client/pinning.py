"""Trusting a room's certificate by its fingerprint, checked before a byte of HTTP is sent.

Rooms on a LAN have self-signed certificates: no authority vouches for them, so the client
pins the SHA-256 fingerprint it was given (the join link, ``--fingerprint``) or remembered
(:class:`KnownHosts`, like SSH's ``known_hosts``). The check runs right after the TLS
handshake and before the WebSocket request goes out, so a wrong server never sees the
request, its path or its token.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
from websockets.asyncio.client import ClientConnection

from desktopchat.atomic import write_atomically
from desktopchat.client.errors import CertificateChanged, UnknownCertificate
from desktopchat.protocol.fingerprints import fingerprint_of, parse_fingerprint


def pinning_context() -> ssl.SSLContext:
    """A client TLS context that checks the certificate by its pin, not by an authority."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def pinned(expected: str | None, known: str | None) -> type[ClientConnection]:
    """A connection class that refuses a certificate other than ``expected`` (given for
    this join) or, failing that, ``known`` (remembered); with neither, any certificate is
    refused as unknown so that the caller can ask the user."""

    class PinnedConnection(ClientConnection):
        async def handshake(self, *args: Any, **kwargs: Any) -> None:
            ssl_object = self.transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                certificate = ssl_object.getpeercert(binary_form=True)
                seen = fingerprint_of(certificate or b"")
                if expected is not None and seen != expected:
                    raise CertificateChanged(expected, seen, given=True)
                if expected is None and known is not None and seen != known:
                    raise CertificateChanged(known, seen, given=False)
                if expected is None and known is None:
                    raise UnknownCertificate(seen)
            await super().handshake(*args, **kwargs)

    return PinnedConnection


class KnownHosts:
    """Fingerprints trusted before, per host and port, in a JSON file of the config dir."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = (
            path
            or Path(platformdirs.user_config_dir("desktopchat", appauthor=False))
            / "known_hosts.json"
        )

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, Mapping):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def get(self, host: str, port: int) -> str | None:
        """The fingerprint trusted for ``host``:``port``, if any."""
        found = self._load().get(f"{host}:{port}")
        try:
            return parse_fingerprint(found) if found else None
        except ValueError:
            return None

    def remember(self, host: str, port: int, fingerprint: str) -> None:
        """Trust ``fingerprint`` for ``host``:``port`` from now on (raises ``OSError``)."""
        data = self._load()
        data[f"{host}:{port}"] = parse_fingerprint(fingerprint)
        write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True))
