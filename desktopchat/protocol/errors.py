"""The exceptions of the protocol core.

Every error says whose fault it is, after h11's split::

    ProtocolError                 base: ``code`` (a stable slug) and a readable message
    ├── RemoteProtocolError       the peer sent something we cannot accept
    │   ├── InvalidFrame          not decodable at all (bad JSON, bad binary header)
    │   ├── InvalidEnvelope       decodable, but not a valid message (``field`` names the culprit)
    │   │   └── UnknownEvent      an event type a newer peer knows and we do not: skip it
    │   └── MessageTooBig         larger than the limit in force
    └── LocalProtocolError        our own caller asked for something the protocol forbids

The I/O layers turn a ``RemoteProtocolError`` into an error event (structured members) or a
close code; a ``LocalProtocolError`` is a bug or bad user input on our side and is reported
locally, never sent.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every protocol error; ``str(error)`` is a sentence a user can read."""

    code = "protocol-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol."""


class InvalidFrame(RemoteProtocolError):
    """A frame that cannot be decoded at all."""

    code = "invalid-frame"


class InvalidEnvelope(RemoteProtocolError):
    """A decodable frame that is not a valid message; ``field`` names what is wrong."""

    code = "invalid-envelope"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownEvent(InvalidEnvelope):
    """A well-formed event of a type (or presence event) this version does not know.

    Clients skip it (logging at debug level): a newer server may send it to newer clients.
    """

    code = "unknown-event"


class MessageTooBig(RemoteProtocolError):
    """A frame or field larger than the limit in force."""

    code = "too-big"


class LocalProtocolError(ProtocolError):
    """Our own side asked for something the protocol forbids (e.g. encoding invalid JSON)."""

    code = "local-error"
