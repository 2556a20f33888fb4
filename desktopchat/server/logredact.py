"""Keeps tokens out of the log: uvicorn logs every handshake's query string, token included."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(?i)([?&](?:token|access_token)=)[^&\s\"']*")
_LOGGERS = ("uvicorn.error", "uvicorn.access", "desktopchat.server")


def redact(text: str) -> str:
    """``/chat?token=s3cret&name=a`` → ``/chat?token=[redacted]&name=a``."""
    return _TOKEN.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """A filter that rewrites a record's message and arguments with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def install_redaction() -> None:
    """Attach the filter to the loggers that see query strings (idempotent)."""
    for name in _LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokens) for existing in log.filters):
            log.addFilter(RedactTokens())
