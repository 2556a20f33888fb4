"""Rows for the panes, from what the client reports: room messages, our pending messages,
and frames of raw connections."""

from __future__ import annotations

import time

from desktopchat.client.events import Frame
from desktopchat.client.frames import frame_kind, json_value
from desktopchat.gui.panes.links import mentions
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.protocol import ChatMessage, Kind, Sendable, SendDirect, SendJson, SendText, dumps

SERVER = "server"
"""The sender shown for what a raw endpoint sends."""


def row_of(message: ChatMessage, me: str = "") -> MessageRow:
    """The window's view of a room message (``me``: our name, to spot ``@me``); a direct
    message names the other person of its conversation as ``peer``."""
    text = dumps(message.data) if message.kind is Kind.JSON else message.text
    to_me = message.direct and message.to == me and message.sender != me
    peer = (message.sender if to_me else message.to) if message.direct else ""
    return MessageRow(
        # Said to us alone: it calls for us as a mention does.
        mentioned=to_me
        or (message.kind is Kind.TEXT and message.sender != me and mentions(text, me)),
        time=message.time,
        sender=message.sender,
        kind=message.kind,
        text=text,
        data=message.data,
        payload=message.payload,
        name=message.name,
        mime=message.mime,
        id=message.id,
        peer=peer,
    )


def pending_row(cid: str, sent: Sendable, sender: str) -> MessageRow:
    """Our own message as shown while it waits for the server's acknowledgement."""
    now = time.time_ns() // 1_000_000
    if isinstance(sent, SendDirect):
        said = sent.text if sent.kind is Kind.TEXT else dumps(sent.data)
        return MessageRow(
            now,
            sender,
            Kind.TEXT,
            text=said,
            cid=cid,
            own=True,
            delivered=False,
            peer=sent.to,
        )
    if isinstance(sent, SendText):
        return MessageRow(
            now, sender, Kind.TEXT, text=sent.text, cid=cid, own=True, delivered=False
        )
    if isinstance(sent, SendJson):
        return MessageRow(
            now, sender, Kind.JSON, dumps(sent.data), sent.data, cid=cid, own=True, delivered=False
        )
    return MessageRow(
        now,
        sender,
        Kind.BINARY,
        payload=sent.payload,
        name=sent.name,
        mime=sent.mime,
        cid=cid,
        own=True,
        delivered=False,
    )


def row_of_frame(frame: Frame, me: str = "you") -> MessageRow:
    """A frame of a raw connection as a row: the server's or ours, in the pane of its kind."""
    sender = SERVER if frame.incoming else me
    kind = frame_kind(frame.data)
    if isinstance(frame.data, bytes):
        mime = sniffed_type(frame.data)
        return MessageRow(
            frame.time, sender, kind, payload=frame.data, mime=mime, own=not frame.incoming
        )
    data = json_value(frame.data)[1] if kind is Kind.JSON else None
    return MessageRow(frame.time, sender, kind, frame.data, data, own=not frame.incoming)


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)
"""Leading bytes of the types a raw endpoint sends most (the images the preview shows)."""


def sniffed_type(payload: bytes) -> str:
    """The MIME type of bytes that came without one (a raw endpoint's binary frame), from
    their first bytes: ``image/png``, ``application/pdf`` …; empty when unknown."""
    if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _MAGIC if payload.startswith(magic)), "")
