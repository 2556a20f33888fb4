"""Tokens of the rooms we hosted, kept in the system keyring so that re-hosting a room from
*Recent rooms* brings back the same protection. Never in the settings file.

Where there is no keyring (no Secret Service on a bare desktop, say), nothing is kept: the
Host form asks for the token again rather than store it in the clear.
"""

from __future__ import annotations

import logging

import keyring
from keyring.errors import KeyringError

logger = logging.getLogger("desktopchat.gui")

SERVICE = "desktopchat"


class TokenVault:
    """Tokens by hosted room (its name and port) in the system keyring."""

    def _key(self, room: str, port: int) -> str:
        return f"hosted {room} on port {port}"

    def save(self, room: str, port: int, token: str | None) -> bool:
        """Keep ``token`` (or forget the room's token when ``None``); whether it was kept."""
        try:
            if token is None:
                keyring.delete_password(SERVICE, self._key(room, port))
                return True
            keyring.set_password(SERVICE, self._key(room, port), token)
        except KeyringError as exc:
            logger.info("no keyring to keep the room's token in: %s", exc)
            return False
        return True

    def load(self, room: str, port: int) -> str | None:
        """The token kept for the room, if any (``None`` too when there is no keyring)."""
        try:
            return keyring.get_password(SERVICE, self._key(room, port))
        except KeyringError as exc:
            logger.info("no keyring to read the room's token from: %s", exc)
            return None
