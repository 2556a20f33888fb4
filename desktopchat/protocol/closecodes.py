"""WebSocket close codes the project uses, and their meaning in words for users."""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    """Close codes sent or shown by desktopchat (RFC 6455 §7.4 and the IANA registry)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY = 1008
    TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    SERVER_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013


_WORDS = {
    CloseCode.NORMAL: "closed normally",
    CloseCode.GOING_AWAY: "the server is going away",
    CloseCode.PROTOCOL_ERROR: "protocol error",
    CloseCode.UNSUPPORTED_DATA: "unsupported data",
    CloseCode.NO_STATUS: "closed without a status",
    CloseCode.ABNORMAL: "connection lost",
    CloseCode.INVALID_DATA: "invalid data (e.g. text that is not UTF-8)",
    CloseCode.POLICY: "refused by the server's policy",
    CloseCode.TOO_BIG: "message too big",
    CloseCode.MANDATORY_EXTENSION: "a required extension was not offered",
    CloseCode.SERVER_ERROR: "server error",
    CloseCode.SERVICE_RESTART: "the server is restarting",
    CloseCode.TRY_AGAIN_LATER: "the server is busy, try again later",
}


class CloseReason(enum.StrEnum):
    """The reasons a desktopchat server gives in its close frames, word for word.

    Clients match them (a wrong token is a token error, not just a 1008), so they are
    written here once rather than as strings on both sides.
    """

    INVALID_TOKEN = "invalid token"  # noqa: S105 - a close reason, not a secret
    ORIGIN_NOT_ALLOWED = "origin not allowed"
    HOST_NOT_ALLOWED = "host not allowed"
    INVALID_ROOM_NAME = "invalid room name"
    NO_HELLO = "no hello in time"
    FLOODING = "flooding: too many messages"
    TOO_MANY_ROOMS = "too many rooms"
    ROOM_FULL = "room is full"
    QUEUE_FULL = "too slow: send queue full"
    NOT_READING = "too slow: not reading"
    SHUTTING_DOWN = "server shutting down"
    BROKER_DOWN = "message store unreachable"


def describe_close(code: int | None, reason: str = "") -> str:
    """A sentence for a close: ``"refused by the server's policy (1008): invalid token"``."""
    if code is None:
        return "connection lost" + (f": {reason}" if reason else "")
    try:
        words = _WORDS[CloseCode(code)]
    except ValueError:
        words = "closed"
    text = f"{words} ({code})"
    return f"{text}: {reason}" if reason else text


_PLAIN_REASONS = {
    CloseReason.INVALID_TOKEN: "This room needs a token, and yours was missing or not its own",
    CloseReason.ORIGIN_NOT_ALLOWED: "This room does not take members from that web page",
    CloseReason.HOST_NOT_ALLOWED: "This room does not answer to that address",
    CloseReason.INVALID_ROOM_NAME: "That is not a room name this server accepts",
    CloseReason.NO_HELLO: "The room gave up waiting for this app to introduce itself",
    CloseReason.FLOODING: "The room disconnected you for sending too much too fast",
    CloseReason.TOO_MANY_ROOMS: "The server has as many rooms open as it allows",
    CloseReason.ROOM_FULL: "The room is full",
    CloseReason.QUEUE_FULL: "Your connection could not keep up with the room",
    CloseReason.NOT_READING: "Your connection could not keep up with the room",
    CloseReason.SHUTTING_DOWN: "The host stopped the room",
    CloseReason.BROKER_DOWN: "The room's message store is unreachable: try again soon",
}

_PLAIN_CODES = {
    CloseCode.NORMAL: "You left the room",
    CloseCode.GOING_AWAY: "The host stopped the room",
    CloseCode.ABNORMAL: "The connection was lost",
    CloseCode.NO_STATUS: "The connection was lost",
    CloseCode.TOO_BIG: "A message was too big for the room",
    CloseCode.SERVICE_RESTART: "The room is restarting",
    CloseCode.TRY_AGAIN_LATER: "The room is busy",
    CloseCode.SERVER_ERROR: "The room ran into a problem",
}


def endpoint_close(code: int | None) -> str:
    """How a connection to any WebSocket endpoint ended, in words (no room's wording)."""
    if code == CloseCode.NORMAL:
        return "The connection was closed"
    if code == CloseCode.GOING_AWAY:
        return "The server went away"
    if code in (None, CloseCode.ABNORMAL, CloseCode.NO_STATUS):
        return "The connection was lost"
    return "The server closed the connection"


def plain_close(code: int | None, reason: str = "") -> str:
    """What a close means to a person, without numbers: ``"The room is full"``.

    :func:`describe_close` gives the code and reason, for a detail line next to this.
    """
    try:
        return _PLAIN_REASONS[CloseReason(reason)]
    except ValueError:
        pass
    if code is None:
        return "The connection was lost"
    try:
        return _PLAIN_CODES[CloseCode(code)]
    except (ValueError, KeyError):
        return "The room closed the connection"
