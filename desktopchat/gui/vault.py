"""Tokens of the rooms we hosted or joined, kept in the system keyring so that a room from
*Recent rooms* comes back with the same token. Never in the settings file.

Where there is no keyring (no Secret Service on a bare desktop, say), nothing is kept: the
Host form asks for the token again rather than store it in the clear.
"""

from __future__ import annotations

import json
import logging

import keyring
from keyring.errors import KeyringError

logger = logging.getLogger("desktopchat.gui")

SERVICE = "desktopchat"


class TokenVault:
    """Tokens in the system keyring: of hosted rooms (by name and port) and of joined rooms
    (by their address, itself without secrets)."""

    def save(self, room: str, port: int, token: str | None) -> bool:
        """Keep a hosted room's ``token`` (``None``: forget it); whether it was kept."""
        return self._put(f"hosted {room} on port {port}", token)

    def load(self, room: str, port: int) -> str | None:
        """The token kept for a hosted room, if any (``None`` too without a keyring)."""
        return self._get(f"hosted {room} on port {port}")

    def save_joined(self, address: str, token: str | None) -> bool:
        """Keep the token we joined ``address`` with (``None``: forget it)."""
        return self._put(f"joined {address}", token)

    def load_joined(self, address: str) -> str | None:
        """The token kept for the room at ``address``, if any."""
        return self._get(f"joined {address}")

    def save_headers(self, address: str, headers: dict[str, str]) -> bool:
        """Keep the secret headers of the saved connection to ``address`` (none: forget)."""
        return self._put(f"headers {address}", json.dumps(headers) if headers else None)

    def load_headers(self, address: str) -> dict[str, str] | None:
        """The secret headers kept for ``address``, or ``None`` (none kept, or no keyring)."""
        kept = self._get(f"headers {address}")
        try:
            headers = json.loads(kept) if kept is not None else None
        except ValueError:
            return None
        if not isinstance(headers, dict):
            return None
        return {str(name): str(value) for name, value in headers.items()}

    def _put(self, key: str, token: str | None) -> bool:
        try:
            if token is None:
                if keyring.get_password(SERVICE, key) is not None:
                    keyring.delete_password(SERVICE, key)
                return True
            keyring.set_password(SERVICE, key, token)
        except KeyringError as exc:
            logger.info("no keyring to keep the room's token in: %s", exc)
            return False
        return True

    def _get(self, key: str) -> str | None:
        try:
            return keyring.get_password(SERVICE, key)
        except KeyringError as exc:
            logger.info("no keyring to read the room's token from: %s", exc)
            return None
