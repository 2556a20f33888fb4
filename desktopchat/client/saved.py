"""Saved messages of raw connections: named texts or JSON with ``{{variables}}``, kept per
endpoint in the config dir, sent with a click."""

from __future__ import annotations

import datetime
import json
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from desktopchat.atomic import write_atomically
from desktopchat.client.raw import RawOptions
from desktopchat.paths import config_dir

logger = logging.getLogger("desktopchat.client")

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BUILT_IN = ("now", "timestamp", "uuid", "counter")
"""Variables every endpoint has: the time (ISO 8601 and epoch ms), a fresh UUID, a count."""


@dataclass(frozen=True, slots=True)
class SavedMessage:
    """A message kept to send again: ``kind`` is ``text`` or ``json``."""

    name: str
    body: str
    kind: str = "text"


@dataclass
class Endpoint:
    """What is kept for one endpoint."""

    messages: list[SavedMessage] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    counter: int = 0

    def expand(self, body: str, *, counting: bool = True) -> str:
        """``body`` with its ``{{variables}}`` filled in; ``ValueError`` names an unknown one.

        Each expansion counts: ``{{counter}}`` is 1, 2, 3 … across sends; a preview (not
        ``counting``) shows the next count without taking it.
        """
        if "{{" not in body:
            return body
        count = self.counter + 1
        now = time.time_ns() // 1_000_000
        builtin = {
            "now": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "timestamp": str(now),
            "uuid": str(uuid.uuid4()),
            "counter": str(count),
        }

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.variables:
                return self.variables[name]
            if name in builtin:
                return builtin[name]
            known = ", ".join(sorted({*self.variables, *BUILT_IN}))
            raise ValueError(f"no variable '{name}' (there are: {known})")

        filled = _VARIABLE.sub(value, body)
        if counting:
            self.counter = count  # only what is sent counts: not a refused expansion
        return filled


def expand_handshake(
    address: str, options: RawOptions, endpoint: Endpoint
) -> tuple[str, RawOptions]:
    """The address and the handshake's headers and Origin with ``endpoint``'s
    ``{{variables}}`` filled in (``ValueError`` names an unknown one): a saved connection's
    ``Authorization: Bearer {{token}}`` or ``wss://{{host}}/feed``."""
    headers = tuple((name, endpoint.expand(value)) for name, value in options.headers)
    origin = endpoint.expand(options.origin) if options.origin else options.origin
    return endpoint.expand(address), replace(options, headers=headers, origin=origin)


def endpoint_key(url: str) -> str:
    """Which endpoint a URL is, for saved messages: scheme, host, port and path (a query
    string may hold a token and is left out)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path or '/'}"


class SavedMessages:
    """Every endpoint's saved messages, in ``saved-messages.json`` (written atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "saved-messages.json"
        self._endpoints: dict[str, Endpoint] = self._load()

    def of(self, url: str) -> Endpoint:
        """The saved messages and variables of ``url``'s endpoint (made when new)."""
        return self._endpoints.setdefault(endpoint_key(url), Endpoint())

    def _load(self) -> dict[str, Endpoint]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                str(key): Endpoint(
                    [SavedMessage(**message) for message in entry.get("messages", [])],
                    {str(k): str(v) for k, v in entry.get("variables", {}).items()},
                )
                for key, entry in dict(raw).items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.warning("ignoring unreadable saved messages %s: %s", self.path, exc)
            return {}

    def save(self) -> None:
        """Write every endpoint's messages (raises ``OSError``)."""
        data = {
            key: {
                "messages": [asdict(message) for message in endpoint.messages],
                "variables": endpoint.variables,
            }
            for key, endpoint in self._endpoints.items()
            if endpoint.messages or endpoint.variables
        }
        write_atomically(self.path, json.dumps(data, indent=2, ensure_ascii=False))
