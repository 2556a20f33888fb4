"""Encoding and decoding of ``desktopchat.v1`` frames, both directions, and raw-mode interop.

Text frames carry one JSON object with a ``type``. Binary messages travel in binary frames::

    4 bytes   big-endian length N of the header
    N bytes   the header: a UTF-8 JSON object with "type": "binary" and the message's fields
    rest      the payload, untouched

Decoders raise only :class:`~desktopchat.protocol.errors.RemoteProtocolError` subclasses;
encoders raise :class:`~desktopchat.protocol.errors.LocalProtocolError` for values that cannot
be sent (e.g. a JSON value with NaN or a set inside).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from desktopchat.protocol.errors import (
    InvalidEnvelope,
    InvalidFrame,
    LocalProtocolError,
    MessageTooBig,
    RemoteProtocolError,
)
from desktopchat.protocol.fields import Fields
from desktopchat.protocol.messages import (
    MAX_HISTORY_PAGE,
    ChatMessage,
    ClientEvent,
    Hello,
    HistoryRequest,
    JsonValue,
    Kind,
    SendBinary,
    SendDirect,
    SendJson,
    SendText,
)

_HEADER_LENGTH = struct.Struct(">I")
MAX_HEADER_BYTES = 64 * 1024
MAX_WISH_CHARS = 256
MAX_FILE_NAME_CHARS = 255
MAX_MIME_CHARS = 127
MAX_CID_CHARS = 64
MAX_KEY_CHARS = 128
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits applied while decoding."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES


DEFAULT_LIMITS = Limits()


# -- JSON helpers -------------------------------------------------------------------------------


# One encoder and one decoder for the module: json.dumps and json.loads build a new one on
# every call that passes options, which cost more than the encoding of a chat message.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: JsonValue) -> str:
    """Compact JSON, UTF-8 friendly, strict about NaN and non-JSON types."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalProtocolError(f"not a JSON value: {exc}") from exc


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 parses as infinity, which no JSON encoder may write back out.
        raise ValueError(f"{text} is too large for a JSON number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)

# A \uD800-\uDFFF escape: only then can a parsed string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _check_unicode(value: JsonValue) -> None:
    """Refuse strings (keys included) that hold a lone surrogate: valid JSON, but not text,
    and nothing can encode them back to UTF-8 for the other members."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings: list[str] = [item]
        elif isinstance(item, dict):
            strings = list(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for string in strings:
            try:
                string.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidFrame(
                    "not valid JSON: a string holds a lone surrogate escape (\\ud800-\\udfff)"
                ) from None


MAX_DEPTH = 200
"""How deeply JSON may nest: deeper values parse, but the encoder (recursive) cannot write
them back out for the other members."""


def _check_depth(value: JsonValue) -> None:
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidFrame(f"not valid JSON here: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def loads(text: str | bytes) -> JsonValue:
    """Parse JSON; every failure (syntax, NaN, 1e999, nesting beyond ``MAX_DEPTH``, huge
    numbers, strings that are not Unicode) is an InvalidFrame. What it returns
    :func:`dumps` can encode."""
    try:
        value = _DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise InvalidFrame(f"not valid JSON: {exc}") from exc
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _SURROGATE_ESCAPE.search(raw):
        _check_unicode(value)
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _check_depth(value)
    return value


def check_size(frame: str | bytes, limits: Limits) -> None:
    """Raise :class:`MessageTooBig` for a frame over ``limits``."""
    # len(str) counts characters; a character is at most 4 bytes in UTF-8, so only encode
    # when the cheap bound does not already settle it.
    size = len(frame)
    if isinstance(frame, str) and size * 4 > limits.max_frame_bytes:
        size = len(frame.encode("utf-8", "surrogatepass"))
    if size > limits.max_frame_bytes:
        raise MessageTooBig(
            f"message of {size} bytes is over the limit of {limits.max_frame_bytes}"
        )


def split_binary(frame: bytes) -> tuple[Fields, bytes]:
    """A binary frame's header (to read) and payload."""
    if len(frame) < _HEADER_LENGTH.size:
        raise InvalidFrame("binary frame is shorter than its 4-byte header length")
    (length,) = _HEADER_LENGTH.unpack_from(frame)
    if length > MAX_HEADER_BYTES:
        raise MessageTooBig(f"binary header of {length} bytes is over {MAX_HEADER_BYTES}")
    end = _HEADER_LENGTH.size + length
    if end > len(frame):
        raise InvalidFrame("binary frame ends inside its header")
    header = Fields(loads(frame[_HEADER_LENGTH.size : end]), "the binary header")
    kind = header.text("type")
    if kind != "binary":
        raise InvalidEnvelope(f"a binary frame must have type 'binary', not '{kind}'", "type")
    return header, frame[end:]


def join_binary(header: dict[str, Any], payload: bytes) -> bytes:
    """A binary frame from its header and payload."""
    head = dumps(header).encode()
    return b"".join((_HEADER_LENGTH.pack(len(head)), head, payload))


# -- client → server ----------------------------------------------------------------------------


def decode_client(frame: str | bytes, limits: Limits = DEFAULT_LIMITS) -> ClientEvent:
    """Decode one frame a structured client sent."""
    check_size(frame, limits)
    if isinstance(frame, bytes):
        header, payload = split_binary(frame)
        event: ClientEvent = SendBinary(
            payload=payload,
            name=header.optional_text("name", max_len=MAX_FILE_NAME_CHARS) or "",
            mime=header.optional_text("mime", max_len=MAX_MIME_CHARS) or "application/octet-stream",
            cid=header.optional_text("cid", max_len=MAX_CID_CHARS),
        )
        header.finish()
        return event
    fields = Fields(loads(frame), "a message")
    kind = fields.text("type")
    if kind == "hello":
        event = Hello(
            name=fields.optional_text("name", max_len=MAX_WISH_CHARS),
            resume=fields.optional_integer("resume"),
            key=fields.optional_text("key", max_len=MAX_KEY_CHARS),
        )
    elif kind == "history":
        limit = fields.optional_integer("limit", minimum=1)
        if limit is not None and limit > MAX_HISTORY_PAGE:
            raise InvalidEnvelope(
                f"'limit' of a history request is at most {MAX_HISTORY_PAGE}", "limit"
            )
        peer = fields.optional_text("with", max_len=MAX_WISH_CHARS)
        event = HistoryRequest(fields.integer("before", minimum=1), limit or 50, peer)
    elif kind == "text":
        event = SendText(fields.text("text"), fields.optional_text("cid", max_len=MAX_CID_CHARS))
    elif kind == "json":
        event = SendJson(fields.raw("data"), fields.optional_text("cid", max_len=MAX_CID_CHARS))
    elif kind == "direct":
        event = _direct(fields)
    elif kind == "binary":
        raise InvalidEnvelope(
            "binary messages travel in binary frames (see docs/protocol.md)", "type"
        )
    else:
        raise InvalidEnvelope(f"unknown message type '{kind}'", "type")
    fields.finish()
    return event


def _direct(fields: Fields) -> SendDirect:
    # As typed: a name that is no member's is refused in words by the room, not here.
    to = fields.text("to", max_len=MAX_WISH_CHARS)
    cid = fields.optional_text("cid", max_len=MAX_CID_CHARS)
    if fields.present("text") == fields.present("data"):
        raise InvalidEnvelope("a direct message has either 'text' or 'data'", "text")
    if fields.present("text"):
        return SendDirect(to, Kind.TEXT, text=fields.text("text"), cid=cid)
    return SendDirect(to, Kind.JSON, data=fields.raw("data"), cid=cid)


def encode_client(event: ClientEvent) -> str | bytes:
    """Encode one client event as the frame to send."""
    if isinstance(event, SendBinary):
        header: dict[str, Any] = {"type": "binary", "name": event.name, "mime": event.mime}
        if event.cid is not None:
            header["cid"] = event.cid
        return join_binary(header, event.payload)
    if isinstance(event, HistoryRequest):
        request: dict[str, Any] = {"type": "history", "before": event.before, "limit": event.limit}
        if event.with_ is not None:
            request["with"] = event.with_
        return dumps(request)
    if isinstance(event, Hello):
        obj: dict[str, Any] = {"type": "hello"}
        for key, value in (("name", event.name), ("resume", event.resume), ("key", event.key)):
            if value is not None:
                obj[key] = value
    elif isinstance(event, SendText):
        obj = {"type": "text", "text": event.text}
    elif isinstance(event, SendDirect):
        obj = {"type": "direct", "to": event.to}
        if event.kind is Kind.TEXT:
            obj["text"] = event.text
        else:
            obj["data"] = event.data
    else:
        obj = {"type": "json", "data": event.data}
    if not isinstance(event, Hello) and event.cid is not None:
        obj["cid"] = event.cid
    return dumps(obj)


# -- raw-mode interop ---------------------------------------------------------------------------


def encode_raw(message: ChatMessage) -> str | bytes:
    """The frame a raw (no subprotocol) member receives: the bare text, JSON or bytes."""
    if message.kind is Kind.BINARY:
        return message.payload
    if message.kind is Kind.JSON:
        return dumps(message.data)
    return message.text


def parse_raw(frame: str | bytes) -> SendText | SendJson | SendBinary:
    """Read a raw member's frame as a message: text that is a JSON object or array is JSON.

    Raw members use no envelope (the seed's ``send_json`` sends a plain JSON text frame), so a
    frame that parses as an object or array goes to the JSON pane; anything else stays text.
    """
    if isinstance(frame, bytes):
        return SendBinary(frame)
    stripped = frame.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            data = loads(stripped)
        except RemoteProtocolError:
            return SendText(frame)
        return SendJson(data)
    return SendText(frame)
