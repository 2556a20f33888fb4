"""A room's log entries in Redis: one copy of a raw frame, read back as sent."""

from __future__ import annotations

from desktopchat.protocol import ChatMessage, Kind
from desktopchat.server.stores.broker_log import entry_fields, read_entry


def as_stored(fields: list[object]) -> dict[bytes, bytes]:
    """The fields as Redis gives them back."""
    pairs = zip(fields[::2], fields[1::2], strict=True)
    return {
        str(name).encode(): value if isinstance(value, bytes) else str(value).encode()
        for name, value in pairs
    }


def test_a_raw_json_frame_is_stored_once_and_read_back_as_sent_and_as_json() -> None:
    frame = ' {"b": 1,   "a": [1, 2]}'
    message = ChatMessage(0, 5, "raw 1", Kind.JSON, data={"b": 1, "a": [1, 2]})
    size, fields = entry_fields(message, frame, None, None)
    stored = as_stored(fields)
    assert size == len(frame.encode())
    assert stored[b"b"] == frame.encode()
    assert stored[b"r"] == b"="
    entry = read_entry(b"7-0", stored)
    assert entry.raw_frame == frame
    assert entry.message.id == 7
    assert entry.message.data == {"b": 1, "a": [1, 2]}


def test_bytes_and_text_read_back_and_an_entry_of_the_older_form_too() -> None:
    binary = ChatMessage(0, 5, "raw 1", Kind.BINARY, payload=b"\x00\xff")
    entry = read_entry(b"1-0", as_stored(entry_fields(binary, b"\x00\xff", None, None)[1]))
    assert entry.raw_frame == b"\x00\xff"
    assert entry.message.payload == b"\x00\xff"
    text = ChatMessage(0, 5, "ada", Kind.TEXT, text="hi")
    size, fields = entry_fields(text, None, "k", "c1")
    entry = read_entry(b"2-0", as_stored(fields))
    assert (size, entry.raw_frame, entry.key, entry.cid) == (2, None, "k", "c1")
    older = as_stored(["s", "raw", "t", 5, "k", "text", "b", "hi", "r", "hi", "rt", 1])
    assert read_entry(b"3-0", older).raw_frame == "hi"
