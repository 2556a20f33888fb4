"""Links and ``@mentions`` in a message's text, and the text as HTML with them marked up."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

# A scheme and what follows up to white space or a character that never ends a link in prose;
# or a bare ``www.`` host. Trailing punctuation is trimmed afterwards (a link ending a sentence).
_LINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]{1,20}:(?://)?|www\.)[^\s<>\"'`]+")
_TRAILING = ".,;:!?"
_PAIRS = {")": "(", "]": "[", "}": "{"}

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
"""Opened at a click; any other scheme is shown in full and asked about first."""

_PLAIN_MAIL_FIELDS = frozenset({"subject", "body", "cc", "bcc", "to"})
"""What a ``mailto:`` may fill in and still open at a click: ``attach=`` and the like make
some mail programs attach a local file to the draft."""


def opens_quietly(url: str) -> bool:
    """Whether a click may open ``url`` without asking: http and https, and a ``mailto:``
    that only fills in the address, subject, body and copies."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "mailto":
        return scheme in SAFE_SCHEMES
    return all(name.lower() in _PLAIN_MAIL_FIELDS for name, _ in parse_qsl(parts.query))


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in a text: where it is, and the address it opens."""

    start: int
    end: int
    url: str

    @property
    def unusual(self) -> bool:
        """Whether a click must ask before opening it (see :func:`opens_quietly`)."""
        return not opens_quietly(self.url)


def _trim(text: str) -> str:
    while text:
        last = text[-1]
        if last in _TRAILING or (last in _PAIRS and text.count(_PAIRS[last]) < text.count(last)):
            text = text[:-1]
        else:
            break
    return text


def find_links(text: str) -> list[Link]:
    """The links in ``text``, in order (``www.x.org`` opens as ``https://www.x.org``).

    Words like ``note:`` or ``re:`` are not links: a scheme must be followed by ``//`` or be
    ``mailto:``, ``tel:`` and the like with something after the colon.
    """
    found: list[Link] = []
    for match in _LINK.finditer(text):
        raw = _trim(match.group())
        scheme, _, rest = raw.partition(":")
        if raw.lower().startswith("www."):
            if "." not in raw[4:]:
                continue
            url = f"https://{raw}"
        elif not rest.strip("/") or (
            not rest.startswith("//") and scheme.lower() not in {"mailto", "tel", "sms"}
        ):
            continue
        else:
            url = raw
        found.append(Link(match.start(), match.start() + len(raw), url))
    return found


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as ``@name`` (any case; not a longer name's start)."""
    if not name:
        return False
    pattern = rf"(?<![\w@])@{re.escape(name)}(?![\w-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def as_html(text: str, links: list[Link]) -> str:
    """``text`` escaped for a rich-text label, its links as ``<a>`` (line breaks kept)."""
    parts: list[str] = []
    at = 0
    for link in links:
        parts.append(html.escape(text[at : link.start]))
        parts.append(
            f'<a href="{html.escape(link.url, quote=True)}">'
            f"{html.escape(text[link.start : link.end])}</a>"
        )
        at = link.end
    parts.append(html.escape(text[at:]))
    return "".join(parts).replace("\n", "<br>")
