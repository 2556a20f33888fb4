"""Keeps what peers control from harming the log: tokens, escapes, tracebacks.

uvicorn logs every handshake's path and query string, so a token in a URL would reach the
log; a path or header a peer chose may hold terminal escapes, newlines that forge log lines,
or U+2028; and uvicorn logs a full traceback for some peer faults (a text frame that is not
UTF-8, a malformed chunked body). :class:`SafeLog` formats each record once and rewrites it:
tokens redacted by parsing every query string (so ``?%74oken=`` and ``?x=1;token=`` are
caught too), control characters escaped, and a peer's fault reduced to one line.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from desktopchat.protocol import printable

_TOKEN_KEYS = frozenset({"token", "access_token"})
# A query string runs to the next whitespace or fragment: quotes inside it are the peer's,
# and stopping at one would let ``?x='&token=…`` slip through.
_QUERY = re.compile(r"\?[^\s#]*")
_PARAMETER = re.compile(r"([^&;=]*)(=?)([^&;]*)")
_LOGGERS = ("uvicorn.error", "uvicorn.access", "desktopchat.server")
# uvicorn messages that come with a traceback although the fault is the peer's.
_PEER_FAULTS = ("Invalid UTF-8 sequence received from client", "Invalid HTTP request received")


def _redact_query(match: re.Match[str]) -> str:
    def parameter(part: re.Match[str]) -> str:
        key, equals, value = part.groups()
        if unquote_plus(key).strip().casefold() in _TOKEN_KEYS and value:
            return f"{key}{equals}[redacted]"
        return part.group(0)

    return "?" + _PARAMETER.sub(parameter, match.group(0)[1:])


def redact(text: str) -> str:
    """``/chat?token=s3cret&name=a`` → ``/chat?token=[redacted]&name=a``, whatever the
    key's percent-encoding or case, with ``&`` or ``;`` between parameters."""
    return _QUERY.sub(_redact_query, text)


class SafeLog(logging.Filter):
    """Rewrites each record as one safe line (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and message.startswith(_PEER_FAULTS):
            error = record.exc_info[1]
            message = f"{message.rstrip('.')}: {error}" if error is not None else message
            record.exc_info = None
            record.exc_text = None
        record.msg = printable(redact(message))
        record.args = None
        return True


def install_redaction() -> None:
    """Attach the filter to the loggers that see what peers send (idempotent)."""
    for name in _LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(existing, SafeLog) for existing in log.filters):
            log.addFilter(SafeLog())
