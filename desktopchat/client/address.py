"""What people type as a room address, turned into the WebSocket URL to connect to."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from desktopchat.client.errors import AddressError
from desktopchat.protocol import DEFAULT_PORT, DEFAULT_ROOM, room_of_path, room_path
from desktopchat.protocol.fingerprints import parse_fingerprint

_SCHEMES = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}
_WEB_PORTS = {"http": 80, "https": 443}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def room_url(typed: str, *, token: str | None = None) -> str:
    """Normalise ``host``, ``host:port``, ``http://host:port/``, ``ws://host:port/chat/room`` …

    A bare ``host`` or ``host:port`` means TLS (``wss``) unless the host is this computer:
    servers serve TLS whenever they listen beyond loopback, and a client must not fall back
    to clear text on its own. A missing port is 5042 (desktopchat's default) for ``ws``,
    ``wss`` and bare addresses, and the web's 80/443 for a pasted ``http``/``https`` page
    address. A missing path or the page's ``/`` is the default room ``/chat`` (``?room=``
    names another); ``http`` becomes ``ws`` and ``https`` ``wss``. ``token``, when given, is
    added as ``?token=`` (a token already in the address is kept otherwise).
    """
    text = typed.strip()
    if not text:
        raise AddressError("type the address of a room, e.g. 192.168.1.20 or host:5042")
    if "://" not in text:
        bare = urlsplit("//" + text).hostname or ""
        text = ("ws://" if _is_loopback(bare) else "wss://") + text
    parts = urlsplit(text)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise AddressError(
            f"'{parts.scheme}' addresses are not rooms; use ws://, wss://, http:// or https://"
        )
    host = parts.hostname
    if not host:
        raise AddressError(f"'{typed.strip()}' has no host name")
    try:
        port = parts.port or _WEB_PORTS.get(parts.scheme.lower(), DEFAULT_PORT)
    except ValueError as exc:
        raise AddressError(f"'{typed.strip()}' has an invalid port") from exc
    query = parse_qsl(parts.query)
    path = parts.path.rstrip("/")
    if path in ("", "/index.html"):
        # The browser page's address: its room, if any, is in ``?room=``.
        path = room_path(dict(query).get("room") or DEFAULT_ROOM)
        query = [(k, v) for k, v in query if k != "room"]
    room = room_of_path(path)
    if room is None:
        raise AddressError(f"'{parts.path}' is not a room path; rooms live at /chat or /chat/NAME")
    query = [(k, v) for k, v in query if k != "token" or token is None]
    if token:
        query.append(("token", token))
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


SECRET_FIELDS = frozenset(
    {"token", "access_token", "password", "key", "secret", "api_key", "apikey", "auth", "jwt"}
)
"""Query fields taken for secrets wherever they appear (a room's, or any endpoint's)."""


def without_secrets(address: str) -> str:
    """``address`` as it may be written down or listed: every secret taken out, whatever
    the form of the address (bare ``host:port/?token=…``, a join link, a ws:// URL).

    Query fields in :data:`SECRET_FIELDS` and the password of ``user:password@`` are
    dropped; the fragment keeps only the ``fp=`` identity pin (not a secret). The room, the
    path and the port stay, so the address still leads back to the room.
    """
    base, _, fragment = address.strip().partition("#")
    head, _, query = base.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
            if k.lower() not in SECRET_FIELDS]  # fmt: skip
    scheme, slashes, rest = head.rpartition("//")
    authority, slash, path = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if at:
        authority = user.partition(":")[0] + "@" + host
    cleaned = scheme + slashes + authority + slash + path
    if kept:
        cleaned += "?" + urlencode(kept, safe="{}")  # a saved connection's {{variables}}
    pins = [(k, v) for k, v in parse_qsl(fragment) if k == "fp"]
    return cleaned + ("#" + urlencode(pins, safe=":") if pins else "")


def address_token(address: str) -> str | None:
    """The ``token=`` an address carries (a join link's), or ``None``."""
    query = address.partition("#")[0].partition("?")[2]
    return dict(parse_qsl(query)).get("token") or None


def with_tls(url: str) -> str:
    """``url`` over TLS: ``ws://`` becomes ``wss://`` (a pinned identity always means TLS)."""
    return "wss" + url[len("ws") :] if url.startswith("ws://") else url


def display_address(url: str) -> str:
    """The URL with every secret shown as ``…`` (tokens, a password), for titles, status
    lines and logs: people see that there is one, never what it is."""
    parts = urlsplit(url)
    query = "&".join(
        f"{urlencode([(k, '')])}…" if k.lower() in SECRET_FIELDS else urlencode([(k, v)])
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.partition(':')[0]}:…@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def link_fingerprint(typed: str) -> str | None:
    """The fingerprint a join link carries (``…#fp=sha256:…``), or ``None``.

    Raises :class:`AddressError` when the link has one that is not a fingerprint.
    """
    fragment = urlsplit(typed.strip()).fragment
    value = dict(parse_qsl(fragment)).get("fp")
    if not value:
        return None
    try:
        return parse_fingerprint(value)
    except ValueError as exc:
        raise AddressError(str(exc)) from exc


def join_link(url: str, fingerprint: str | None) -> str:
    """The one link to share: the page's address (with room and token) and, for a TLS
    room, the fingerprint to pin: ``https://host:5042/?room=lobby&token=…#fp=sha256:…``."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    room = room_of_path(parts.path) or DEFAULT_ROOM
    query = [(k, v) for k, v in parse_qsl(parts.query) if k == "token"]
    if room != DEFAULT_ROOM:
        query.insert(0, ("room", room))
    fragment = f"fp={fingerprint}" if fingerprint else ""
    return urlunsplit((scheme, parts.netloc, "/", urlencode(query), fragment))
