"""The sans-I/O core: codec round trips, strict validation, limits, names, close codes."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktopchat.protocol import (
    Ack,
    ChatMessage,
    ErrorEvent,
    Hello,
    HistoryRequest,
    InvalidEnvelope,
    InvalidFrame,
    Kind,
    Limits,
    LocalProtocolError,
    MessageTooBig,
    PageEnd,
    Presence,
    PresenceEvent,
    ProtocolError,
    RoomLimits,
    SendBinary,
    SendDirect,
    SendJson,
    SendText,
    Welcome,
    clean_name,
    decode_client,
    decode_server,
    describe_close,
    dumps,
    encode_client,
    encode_raw,
    encode_server,
    endpoint_close,
    name_key,
    parse_raw,
    plain_close,
    unique_name,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
small_text = st.text(max_size=40)
cids = st.none() | st.text(min_size=1, max_size=64)
ids = st.integers(0, 2**53)

client_events = st.one_of(
    st.builds(Hello, st.none() | small_text, st.none() | ids, st.none() | small_text),
    st.builds(SendText, st.text(), cids),
    st.builds(SendJson, json_values, cids),
    # An empty MIME type is read as application/octet-stream, so valid ones are non-empty.
    st.builds(
        SendBinary, st.binary(max_size=64), small_text, st.text(min_size=1, max_size=127), cids
    ),
    st.builds(SendDirect, small_text, st.just(Kind.TEXT), text=st.text(), cid=cids),
    st.builds(SendDirect, small_text, st.just(Kind.JSON), data=json_values, cid=cids),
    st.builds(HistoryRequest, st.integers(1, 2**53), st.integers(1, 200), st.none() | small_text),
)
names = st.lists(small_text, max_size=4).map(tuple)
server_events = st.one_of(
    st.builds(
        Welcome,
        small_text,
        small_text,
        names,
        ids,
        ids,
        st.booleans(),
        st.none()
        | st.builds(
            RoomLimits,
            st.integers(1, 2**40),
            st.floats(0, 1e6, allow_nan=False),
            ids,
            ids,
        ),
        reset=st.booleans(),
        host=st.none() | st.text(max_size=32),
        gap=st.booleans(),
    ),
    st.builds(ChatMessage, ids, ids, small_text, st.just(Kind.TEXT), text=st.text()),
    st.builds(ChatMessage, ids, ids, small_text, st.just(Kind.JSON), data=json_values),
    st.builds(
        ChatMessage,
        ids,
        ids,
        small_text,
        st.just(Kind.BINARY),
        payload=st.binary(max_size=64),
        name=small_text,
        mime=small_text,
    ),
    st.builds(
        ChatMessage,
        ids,
        ids,
        small_text,
        st.just(Kind.TEXT),
        text=st.text(),
        page=st.booleans(),
        to=st.text(min_size=1, max_size=32),
    ),
    st.builds(
        ChatMessage, ids, ids, small_text, st.just(Kind.JSON), data=json_values, to=small_text
    ),
    st.builds(PageEnd, ids, ids, st.booleans(), st.none() | small_text),
    st.builds(Presence, st.sampled_from(PresenceEvent), small_text, names, ids),
    st.builds(Ack, st.text(max_size=64), ids, ids, st.booleans()),
    st.builds(ErrorEvent, small_text, small_text, st.none() | small_text, st.none() | small_text),
)


@settings(max_examples=300, deadline=None)
@given(client_events)
def test_every_valid_client_event_round_trips(event: Any) -> None:
    assert decode_client(encode_client(event)) == event


@settings(max_examples=300, deadline=None)
@given(server_events)
def test_every_valid_server_event_round_trips(event: Any) -> None:
    assert decode_server(encode_server(event)) == event


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_input_raises_nothing_but_protocol_errors(frame: bytes | str) -> None:
    for decode in (decode_client, decode_server):
        with contextlib.suppress(ProtocolError):
            decode(frame)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "text", "data", "cid", "name", "id"]), json_values))
def test_random_envelopes_raise_nothing_but_protocol_errors(obj: dict[str, Any]) -> None:
    for decode in (decode_client, decode_server):
        with contextlib.suppress(ProtocolError):
            decode(json.dumps(obj))


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("[" * 100_000, InvalidFrame),
        ('{"type": "text", "text": ' + "9" * 5000 + "}", InvalidFrame),
        ('{"type": "json", "data": NaN}', InvalidFrame),
        ('{"type": "json", "data": Infinity}', InvalidFrame),
        ("[1, 2]", InvalidEnvelope),
        ('{"type": "text"}', InvalidEnvelope),
        ('{"type": "text", "text": 5}', InvalidEnvelope),
        ('{"type": "text", "text": "a", "extra": 1}', InvalidEnvelope),
        ('{"type": "hello", "resume": true}', InvalidEnvelope),
        ('{"type": "hello", "resume": -1}', InvalidEnvelope),
        ('{"type": "binary"}', InvalidEnvelope),
        ('{"type": "shout"}', InvalidEnvelope),
        ('{"type": "direct", "to": "bob"}', InvalidEnvelope),
        ('{"type": "direct", "to": "bob", "text": "a", "data": 1}', InvalidEnvelope),
        ('{"type": "direct", "text": "a"}', InvalidEnvelope),
        ('{"type": "history", "before": 9, "with": 5}', InvalidEnvelope),
        (b"\x00\x00", InvalidFrame),
        (b"\x00\x00\x00\x09{}", InvalidFrame),
        (b"\x00\x01\x00\x01{}", MessageTooBig),
        (struct.pack(">I", 15) + b'{"type":"text"}', InvalidEnvelope),
    ],
)
def test_bad_client_frames_raise_readable_errors_of_the_right_kind(
    frame: str | bytes, error: type[ProtocolError]
) -> None:
    with pytest.raises(error) as raised:
        decode_client(frame)
    assert str(raised.value)


def test_an_unknown_field_is_named_in_the_error() -> None:
    with pytest.raises(InvalidEnvelope) as raised:
        decode_client('{"type": "text", "txt": "typo"}')
    assert raised.value.field == "text"
    with pytest.raises(InvalidEnvelope) as raised:
        decode_client('{"type": "text", "text": "a", "colour": "red"}')
    assert raised.value.field == "colour"
    assert "colour" in str(raised.value)


@pytest.mark.parametrize("frame", ["x" * 101, b"\x00" * 101, "é" * 60])
def test_frames_over_the_limit_are_too_big(frame: str | bytes) -> None:
    with pytest.raises(MessageTooBig):
        decode_client(frame, Limits(max_frame_bytes=100))


def test_a_binary_server_header_must_match_its_payload_size() -> None:
    message = ChatMessage(1, 2, "a", Kind.BINARY, payload=b"abc", name="n", mime="m")
    frame = encode_server(message)
    assert isinstance(frame, bytes)
    with pytest.raises(InvalidEnvelope):
        decode_server(frame + b"extra")


def test_values_json_cannot_hold_are_refused_locally() -> None:
    for value in (float("nan"), {1, 2}, object()):
        with pytest.raises(LocalProtocolError):
            dumps(value)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("hello", SendText("hello")),
        ('{"type": "update"}', SendJson({"type": "update"})),
        (" [1, 2]", SendJson([1, 2])),
        ("{broken", SendText("{broken")),
        ("42", SendText("42")),
        (b"\x00\x01", SendBinary(b"\x00\x01")),
    ],
)
def test_raw_frames_are_read_as_text_json_or_binary(
    frame: str | bytes, expected: SendText | SendJson | SendBinary
) -> None:
    assert parse_raw(frame) == expected


def test_raw_members_receive_bare_frames() -> None:
    assert encode_raw(ChatMessage(1, 0, "a", Kind.TEXT, text="hi")) == "hi"
    assert encode_raw(ChatMessage(1, 0, "a", Kind.JSON, data={"a": [1]})) == '{"a":[1]}'
    assert encode_raw(ChatMessage(1, 0, "a", Kind.BINARY, payload=b"\x01")) == b"\x01"


@pytest.mark.parametrize(
    ("wish", "name"),
    [
        (None, "guest"),
        ("", "guest"),
        ("  ada   lovelace ", "ada lovelace"),
        ("bob\u202e\x00\x1b[31m", "bob[31m"),
        ("x" * 100, "x" * 32),
        ("\n\t", "guest"),
    ],
)
def test_wished_names_are_cleaned(wish: str | None, name: str) -> None:
    assert clean_name(wish) == name


def test_names_are_unique_case_insensitively_with_a_number() -> None:
    assert unique_name("ada", set()) == "ada"
    assert unique_name("Ada", {name_key("ada")}) == "Ada 2"
    assert unique_name("ada", {name_key("ada"), name_key("ADA 2")}) == "ada 3"
    assert len(unique_name("y" * 40, {"y" * 32})) == 32


def test_names_that_look_alike_share_a_key_and_ascii_ones_only_fold_case() -> None:
    fullwidth, filler, cyrillic, bold = (
        "\uff21\uff44\uff41",
        "Ada\u3164",
        "\u0410da",
        "\U0001d400da",
    )
    for impostor in (fullwidth, filler, cyrillic, bold):
        assert name_key(impostor) == name_key("Ada") == "ada", ascii(impostor)
    assert name_key("Il1") == "il1", "ASCII is compared as typed, but for case"


def test_a_crowd_of_the_same_name_is_numbered_without_trying_every_taken_suffix() -> None:
    taken: set[str] = set()
    counters: dict[str, int] = {}
    tried: list[str] = []

    class Watching(set[str]):
        def __contains__(self, key: object) -> bool:
            tried.append(str(key))
            return key in taken

    for _ in range(500):
        name = unique_name("guest", Watching(), counters)
        taken.add(name_key(name))
    assert name == "guest 500"
    tried.clear()
    assert unique_name("guest", Watching(), counters) == "guest 501"
    assert len(tried) == 2, "the base, then the next free suffix: O(1), not O(members)"
    # A suffix taken by someone who chose it himself is still skipped.
    taken.add(name_key("guest 502"))
    assert unique_name("guest", Watching(), counters) == "guest 503"


@pytest.mark.parametrize(
    ("code", "reason", "words"),
    [
        (1000, "", "closed normally (1000)"),
        (1008, "invalid token", "refused by the server's policy (1008): invalid token"),
        (1013, "", "the server is busy, try again later (1013)"),
        (4000, "custom", "closed (4000): custom"),
        (None, "", "connection lost"),
    ],
)
def test_close_codes_are_described_in_words(code: int | None, reason: str, words: str) -> None:
    assert describe_close(code, reason) == words


@pytest.mark.parametrize(
    ("code", "reason", "words"),
    [
        (1008, "invalid token", "This room needs a token, and yours was missing or not its own"),
        (1013, "room is full", "The room is full"),
        (1001, "", "The host stopped the room"),
        (None, "", "The connection was lost"),
        (1006, "", "The connection was lost"),
        (1003, "", "The room closed the connection"),  # a code with no plainer words
        (4321, "custom", "The room closed the connection"),  # an application's own code
    ],
)
def test_closes_are_told_in_plain_words_without_numbers(
    code: int | None, reason: str, words: str
) -> None:
    assert plain_close(code, reason) == words


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (1000, "The connection was closed"),
        (1001, "The server went away"),
        (None, "The connection was lost"),
        (1006, "The connection was lost"),
        (4000, "The server closed the connection"),
    ],
)
def test_any_endpoints_close_is_told_without_a_rooms_words(code: int | None, words: str) -> None:
    assert endpoint_close(code) == words
    assert "room" not in words
