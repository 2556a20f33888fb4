"""Encoding and decoding of what a desktopchat server sends (``desktopchat.v1`` and ``v2``).

Servers are strict about what clients send (:mod:`desktopchat.protocol.codec`); clients are
lenient about what servers send, so that a server can grow: :func:`decode_server` ignores
fields it does not know and raises :class:`~desktopchat.protocol.errors.UnknownEvent` for
an event type it does not know, which a client skips (see docs/protocol.md, "Compatibility").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, overload

from desktopchat.protocol.codec import (
    DEFAULT_LIMITS,
    MAX_WISH_CHARS,
    Limits,
    check_size,
    dumps,
    join_binary,
    loads,
    split_binary,
)
from desktopchat.protocol.errors import InvalidEnvelope, UnknownEvent
from desktopchat.protocol.fields import Fields
from desktopchat.protocol.messages import (
    Ack,
    ChatMessage,
    ErrorEvent,
    Kind,
    PageEnd,
    Presence,
    PresenceEvent,
    RoomLimits,
    ServerEvent,
    Welcome,
)
from desktopchat.protocol.names import MAX_NAME_CHARS


def _message_header(message: ChatMessage) -> dict[str, Any]:
    header: dict[str, Any] = {
        # A direct message is a type of its own: a client from before direct messages skips
        # it (an unknown type) instead of showing it as said to the room.
        "type": "direct" if message.direct else message.kind.value,
        "id": message.id,
        "time": message.time,
        "sender": message.sender,
    }
    if message.direct:
        header["to"] = message.to
    if message.page:
        header["page"] = True
    return header


@overload
def encode_server(event: Welcome | Presence | Ack | ErrorEvent | PageEnd) -> str: ...
@overload
def encode_server(event: ServerEvent) -> str | bytes: ...
def encode_server(event: ServerEvent) -> str | bytes:
    """Encode one server event as the frame to send (binary messages as binary frames)."""
    if isinstance(event, ChatMessage):
        obj = _message_header(event)
        if event.kind is Kind.BINARY:
            obj.update(name=event.name, mime=event.mime, size=len(event.payload))
            return join_binary(obj, event.payload)
        if event.kind is Kind.TEXT:
            obj["text"] = event.text
        else:
            obj["data"] = event.data
        return dumps(obj)
    if isinstance(event, Welcome):
        welcome: dict[str, Any] = {
            "type": "welcome",
            "room": event.room,
            "name": event.name,
            "members": list(event.members),
            "last_id": event.last_id,
            "time": event.time,
            "resumed": event.resumed,
        }
        if event.reset:
            welcome["reset"] = True
        if event.host is not None:
            welcome["host"] = event.host
        if event.gap:
            welcome["gap"] = True
        if event.limits is not None:
            welcome["limits"] = {
                "max_message_bytes": event.limits.max_message_bytes,
                "rate": event.limits.rate,
                "burst": event.limits.burst,
                "history_size": event.limits.history_size,
            }
        return dumps(welcome)
    if isinstance(event, Presence):
        presence: dict[str, Any] = {
            "type": "presence",
            "event": event.event.value,
            "name": event.name,
            "time": event.time,
        }
        if event.members is not None:
            presence["members"] = list(event.members)
        return dumps(presence)
    if isinstance(event, PageEnd):
        end: dict[str, Any] = {
            "type": "page_end",
            "before": event.before,
            "count": event.count,
            "more": event.more,
        }
        if event.with_ is not None:
            end["with"] = event.with_
        return dumps(end)
    if isinstance(event, Ack):
        return dumps(
            {
                "type": "ack",
                "cid": event.cid,
                "id": event.id,
                "time": event.time,
                "duplicate": event.duplicate,
            }
        )
    obj = {"type": "error", "code": event.code, "message": event.message}
    if event.cid is not None:
        obj["cid"] = event.cid
    if event.field is not None:
        obj["field"] = event.field
    return dumps(obj)


def _decode_message(fields: Fields, kind: Kind, payload: bytes = b"") -> ChatMessage:
    common: dict[str, Any] = {
        "id": fields.integer("id"),
        "time": fields.integer("time"),
        "sender": fields.text("sender"),
        "kind": kind,
        "page": fields.boolean("page"),
    }
    if kind is Kind.TEXT:
        return ChatMessage(**common, text=fields.text("text"))
    if kind is Kind.JSON:
        return ChatMessage(**common, data=fields.raw("data"))
    size = fields.integer("size")
    if size != len(payload):
        raise InvalidEnvelope(f"binary header says {size} bytes but {len(payload)} came", "size")
    return ChatMessage(
        **common, payload=payload, name=fields.text("name"), mime=fields.text("mime")
    )


def _decode_limits(fields: Fields) -> RoomLimits:
    return RoomLimits(
        max_message_bytes=fields.integer("max_message_bytes", minimum=1),
        rate=fields.number("rate"),
        burst=fields.integer("burst"),
        history_size=fields.integer("history_size"),
    )


def decode_server(frame: str | bytes, limits: Limits = DEFAULT_LIMITS) -> ServerEvent:
    """Decode one frame a desktopchat server sent; fields it does not know are ignored.

    Raises :class:`UnknownEvent` for an event type (or presence event) it does not know,
    and another ``RemoteProtocolError`` for a frame that is malformed.
    """
    check_size(frame, limits)
    if isinstance(frame, bytes):
        header, payload = split_binary(frame)
        return _decode_message(header, Kind.BINARY, payload)
    fields = Fields(loads(frame), "a server event")
    kind = fields.text("type")
    event: ServerEvent
    if kind in (Kind.TEXT, Kind.JSON):
        event = _decode_message(fields, Kind(kind))
    elif kind == "direct":
        to = fields.text("to", max_len=MAX_WISH_CHARS)
        said = Kind.TEXT if fields.present("text") else Kind.JSON
        event = replace(_decode_message(fields, said), to=to)
    elif kind == "welcome":
        event = Welcome(
            room=fields.text("room"),
            name=fields.text("name"),
            members=fields.names("members"),
            last_id=fields.integer("last_id"),
            time=fields.integer("time"),
            resumed=fields.boolean("resumed"),
            limits=_decode_limits(fields.sub("limits")) if fields.has("limits") else None,
            reset=fields.boolean("reset"),
            host=fields.optional_text("host", max_len=MAX_NAME_CHARS),
            gap=fields.boolean("gap"),
        )
    elif kind == "presence":
        event_name = fields.text("event")
        try:
            what = PresenceEvent(event_name)
        except ValueError:
            raise UnknownEvent(f"unknown presence event '{event_name}'", "event") from None
        members = fields.names("members") if fields.has("members") else None
        event = Presence(what, fields.text("name"), members, fields.integer("time"))
    elif kind == "page_end":
        event = PageEnd(
            before=fields.integer("before"),
            count=fields.integer("count"),
            more=fields.boolean("more"),
            with_=fields.optional_text("with", max_len=MAX_WISH_CHARS),
        )
    elif kind == "ack":
        event = Ack(
            cid=fields.text("cid"),
            id=fields.integer("id"),
            time=fields.integer("time"),
            duplicate=fields.boolean("duplicate"),
        )
    elif kind == "error":
        event = ErrorEvent(
            code=fields.text("code"),
            message=fields.text("message"),
            cid=fields.optional_text("cid"),
            field=fields.optional_text("field"),
        )
    else:
        raise UnknownEvent(f"unknown event type '{kind}'", "type")
    return event
