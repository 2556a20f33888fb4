"""Every refusal of the protocol core names its cause: malformed envelopes field by field,
the discovery record, and the room address rules."""

from __future__ import annotations

import pytest

from desktopchat.protocol import (
    ChatMessage,
    HistoryRequest,
    InvalidEnvelope,
    InvalidFrame,
    Kind,
    MessageTooBig,
    PageEnd,
    ProtocolError,
    decode_client,
    decode_server,
    encode_client,
    encode_server,
    loads,
    page_path,
    room_of_path,
    room_path,
)
from desktopchat.protocol.discovery import RoomRecord, decode_record, encode_record
from desktopchat.protocol.fields import type_name
from desktopchat.protocol.fingerprints import (
    BadFingerprint,
    fingerprint_of,
    parse_fingerprint,
    readable,
)

WELCOME = '"type":"welcome","room":"r","name":"n","last_id":1,"time":1'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1e999]", "too large for a JSON number"),
        ('["\\ud800"]', "lone surrogate"),
        ('{"\\udfff": 1}', "lone surrogate"),
        ('[[["\\ud800"]]]', "lone surrogate"),
    ],
)
def test_json_that_cannot_be_written_back_is_an_invalid_frame(text: str, words: str) -> None:
    with pytest.raises(InvalidFrame, match=words):
        loads(text)


@pytest.mark.parametrize(
    "raw",
    [b'["\xed\xa0\x80"]', b'{"k": "\xff"}', b"\xef\xbb\xbf[1]", b'\x00[\x00"\x00a\x00"\x00]'],
)
def test_json_bytes_that_are_not_utf8_are_an_invalid_frame(raw: bytes) -> None:
    # A surrogate encoded as UTF-8 bytes, a stray byte, a byte-order mark, UTF-16: JSON
    # between machines is UTF-8 (RFC 8259), and a binary header is read as nothing else.
    with pytest.raises(InvalidFrame, match="not valid JSON"):
        loads(raw)


def test_a_valid_surrogate_pair_is_just_a_character() -> None:
    assert loads('["\\ud83d\\ude00", {"k": "\\u00e9"}]') == ["\U0001f600", {"k": "é"}]


@pytest.mark.parametrize(
    ("frame", "error", "field"),
    [
        ('{"type":"hello","name":"' + "x" * 300 + '"}', MessageTooBig, None),
        ('{"type":"hello","resume":"x"}', InvalidEnvelope, "resume"),
        ('{"type":"hello","resume":-1}', InvalidEnvelope, "resume"),
        ('{"type":"hello","resume":true}', InvalidEnvelope, "resume"),
        ('{"type":"text","text":5}', InvalidEnvelope, "text"),
        ('{"type":"text"}', InvalidEnvelope, "text"),
        ('{"type":"text","text":"a","txt":1}', InvalidEnvelope, "txt"),
        ('{"type":"binary"}', InvalidEnvelope, "type"),
        ('{"type":"dance"}', InvalidEnvelope, "type"),
        ("[1]", InvalidEnvelope, None),
    ],
)
def test_a_bad_client_envelope_names_the_field_at_fault(
    frame: str, error: type[ProtocolError], field: str | None
) -> None:
    with pytest.raises(error) as refused:
        decode_client(frame)
    assert getattr(refused.value, "field", None) == field


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ("{" + WELCOME + ',"members":"x"}', "members"),
        ("{" + WELCOME + ',"members":[1]}', "members"),
        ("{" + WELCOME + ',"members":[],"resumed":"yes"}', "resumed"),
        ("{" + WELCOME + ',"members":[],"limits":[]}', None),
        ("{" + WELCOME + ',"members":[],"limits":{"max_message_bytes":1}}', "rate"),
        (
            "{" + WELCOME + ',"members":[],"limits":{"max_message_bytes":1,"rate":true,'
            '"burst":1,"history_size":1}}',
            "rate",
        ),
        (
            "{" + WELCOME + ',"members":[],"limits":{"max_message_bytes":1,"rate":-1,'
            '"burst":1,"history_size":1}}',
            "rate",
        ),
        ('{"type":"presence","event":"dance","name":"a","members":[],"time":1}', "event"),
        ('{"type":"party"}', "type"),
    ],
)
def test_a_bad_server_event_names_the_field_at_fault(frame: str, field: str | None) -> None:
    with pytest.raises(InvalidEnvelope) as refused:
        decode_server(frame)
    assert refused.value.field == field


def test_type_names_in_messages_cover_every_json_type() -> None:
    values: tuple[object, ...] = (None, True, 1, 1.5, "s", [], {})
    assert [type_name(value) for value in values] == [
        "null",
        "a boolean",
        "a number",
        "a number",
        "a string",
        "an array",
        "an object",
    ]
    assert type_name(object()) == "object"


def test_the_discovery_record_round_trips_and_fills_what_is_missing() -> None:
    record = RoomRecord("team", "ada-laptop", "/chat/team", True, members=3)
    wire = {k.encode(): v.encode() for k, v in encode_record(record).items()}
    assert decode_record(wire) == record
    assert "members" not in encode_record(RoomRecord("chat", "h", "/chat", False))
    empty = decode_record({b"members": b"many"}, fallback_host="box")
    assert (empty.room, empty.host, empty.path, empty.members) == ("chat", "box", "/chat", None)
    assert decode_record({b"room": b"lab"}).path == "/chat/lab"


def test_rooms_have_one_path_and_one_page_address() -> None:
    assert (room_path("chat"), room_path("lab")) == ("/chat", "/chat/lab")
    assert (page_path("chat"), page_path("lab")) == ("/", "/?room=lab")
    assert [room_of_path(p) for p in ("/chat", "/chat/", "/chat/lab", "/chat/a/b", "/x")] == [
        "chat",
        "chat",
        "lab",
        None,
        None,
    ]


def test_history_requests_and_pages_round_trip_and_are_bounded() -> None:
    request = HistoryRequest(before=40, limit=20)
    assert decode_client(encode_client(request)) == request
    assert decode_client('{"type":"history","before":7}') == HistoryRequest(7, 50)
    with pytest.raises(InvalidEnvelope) as refused:
        decode_client('{"type":"history","before":7,"limit":201}')
    assert refused.value.field == "limit"
    end = PageEnd(before=40, count=20, more=True)
    assert decode_server(encode_server(end)) == end
    paged = ChatMessage(3, 1, "ada", Kind.TEXT, text="old", page=True)
    assert decode_server(encode_server(paged)) == paged


def test_json_nested_deeper_than_the_encoder_can_write_is_refused() -> None:
    deep = "[" * 900 + "]" * 900
    with pytest.raises(InvalidFrame, match="nested deeper than 200"):
        loads(deep)
    assert loads("[" * 150 + "]" * 150) is not None
    with pytest.raises(InvalidFrame):
        decode_client('{"type":"json","data":' + deep + "}")


def test_depth_is_counted_through_objects_and_arrays_alike() -> None:
    nested = '{"a":' * 250 + "1" + "}" * 250
    with pytest.raises(InvalidFrame, match="nested deeper"):
        loads(nested)
    wide = "[" + ",".join(['{"k": [1, "s", null]}'] * 300) + "]"
    assert len(loads(wide)) == 300


def test_fingerprints_are_read_in_any_form_and_shown_in_groups() -> None:
    canonical = fingerprint_of(b"certificate")
    digits = canonical.removeprefix("sha256:")
    colons = ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()
    for form in (canonical, canonical.upper(), digits, colons, f"  {canonical}  "):
        assert parse_fingerprint(form) == canonical
    assert readable(canonical) == "SHA256 " + " ".join(
        digits.upper()[i : i + 4] for i in range(0, 64, 4)
    )
    for bad in ("sha256:xyz", "md5:" + digits, digits[:-1]):
        with pytest.raises(BadFingerprint):
            parse_fingerprint(bad)


def test_the_discovery_record_carries_the_fingerprint_when_there_is_one() -> None:
    record = RoomRecord("chat", "h", "/chat", False, fingerprint="sha256:" + "0" * 64)
    wire = {k.encode(): v.encode() for k, v in encode_record(record).items()}
    assert decode_record(wire).fingerprint == record.fingerprint
