"""The room server in process (TestClient): structured mode, interop, admission, history."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from desktopchat.protocol import SUBPROTOCOL
from desktopchat.server import Settings, create_app

V1 = [SUBPROTOCOL]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(history=None))) as test_client:
        yield test_client


def hello(ws: WebSocketTestSession, **fields: Any) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "hello", **fields}))
    welcome: dict[str, Any] = ws.receive_json()
    assert welcome["type"] == "welcome"
    return welcome


def binary_frame(header: dict[str, Any], payload: bytes) -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + payload


def split_binary(frame: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack_from(">I", frame)
    header: dict[str, Any] = json.loads(frame[4 : 4 + length])
    return header, frame[4 + length :]


def test_a_structured_member_is_welcomed_with_its_name_and_the_member_list(
    client: TestClient,
) -> None:
    with client.websocket_connect("/chat?name=ada", subprotocols=V1) as ws:
        welcome = hello(ws)
        assert welcome["name"] == "ada"
        assert welcome["members"] == ["ada"]
        assert welcome["room"] == "chat"
        assert welcome["last_id"] == 0


def test_names_are_unique_in_a_room_whatever_the_wish(client: TestClient) -> None:
    with (
        client.websocket_connect("/chat/r", subprotocols=V1) as a,
        client.websocket_connect("/chat/r", subprotocols=V1) as b,
    ):
        assert hello(a, name="alice")["name"] == "alice"
        welcome = hello(b, name="Alice")
        assert welcome["name"] == "Alice 2"
        assert welcome["members"] == ["alice", "Alice 2"]


def test_members_hear_of_joins_and_leaves(client: TestClient) -> None:
    with client.websocket_connect("/chat", subprotocols=V1) as a:
        hello(a, name="a")
        with client.websocket_connect("/chat", subprotocols=V1) as b:
            hello(b, name="b")
            joined = a.receive_json()
            assert joined["type"] == "presence"
            assert (joined["event"], joined["name"], joined["members"]) == ("join", "b", ["a", "b"])
        left = a.receive_json()
        assert (left["event"], left["name"], left["members"]) == ("leave", "b", ["a"])


def test_a_message_is_acknowledged_with_its_id_then_relayed_to_everyone(
    client: TestClient,
) -> None:
    with (
        client.websocket_connect("/chat", subprotocols=V1) as a,
        client.websocket_connect("/chat", subprotocols=V1) as b,
    ):
        hello(a, name="a", key="ka")
        hello(b, name="b")
        a.receive_json()  # b joined
        a.send_text(json.dumps({"type": "text", "text": "hi", "cid": "c1"}))
        ack = a.receive_json()
        assert (ack["type"], ack["cid"], ack["id"], ack["duplicate"]) == ("ack", "c1", 1, False)
        for ws in (a, b):
            message = ws.receive_json()
            assert (message["type"], message["id"], message["sender"], message["text"]) == (
                "text",
                1,
                "a",
                "hi",
            )
            assert isinstance(message["time"], int)


def test_raw_and_structured_members_share_a_room_in_all_three_formats(
    client: TestClient,
) -> None:
    with (
        client.websocket_connect("/chat?name=raw") as raw,
        client.websocket_connect("/chat", subprotocols=V1) as v1,
    ):
        hello(v1, name="v1")
        raw.send_text("plain")
        raw.send_text('{"type": "update", "data": [1, 2, 3]}')
        raw.send_bytes(b"\x00\x01")
        assert v1.receive_json()["text"] == "plain"
        as_json = v1.receive_json()
        assert (as_json["type"], as_json["data"]) == ("json", {"type": "update", "data": [1, 2, 3]})
        header, payload = split_binary(v1.receive_bytes())
        assert (header["type"], header["sender"], header["size"], payload) == (
            "binary",
            "raw",
            2,
            b"\x00\x01",
        )
        # ... and raw members hear structured ones as bare frames.
        assert raw.receive_text() == "plain"
        assert raw.receive_text() == '{"type": "update", "data": [1, 2, 3]}'
        assert raw.receive_bytes() == b"\x00\x01"
        v1.send_text(json.dumps({"type": "text", "text": "from v1"}))
        v1.send_text(json.dumps({"type": "json", "data": {"k": [True, None]}}))
        v1.send_bytes(binary_frame({"type": "binary", "name": "a.bin", "mime": "x/y"}, b"\xff"))
        assert raw.receive_text() == "from v1"
        assert json.loads(raw.receive_text()) == {"k": [True, None]}
        assert raw.receive_bytes() == b"\xff"


def test_an_invalid_envelope_gets_an_error_event_naming_the_field_and_the_member_stays(
    client: TestClient,
) -> None:
    with client.websocket_connect("/chat", subprotocols=V1) as ws:
        hello(ws, name="a")
        ws.send_text(json.dumps({"type": "text", "txt": "typo"}))
        error = ws.receive_json()
        assert error["type"] == "error"
        assert error["code"] == "invalid-envelope"
        assert error["field"] == "text"
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "invalid-frame"
        ws.send_text(json.dumps({"type": "text", "text": "still here"}))
        assert ws.receive_json()["text"] == "still here"


def test_a_structured_client_must_say_hello_first(client: TestClient) -> None:
    with client.websocket_connect("/chat", subprotocols=V1) as ws:
        ws.send_text(json.dumps({"type": "text", "text": "too early"}))
        assert ws.receive_json()["code"] == "hello-required"
        assert hello(ws, name="late")["name"] == "late"


@pytest.mark.parametrize("path", ["/ws", "/chat", "/chat/room"])
def test_a_wrong_or_missing_token_is_refused_with_1008_and_a_reason(path: str) -> None:
    client = TestClient(create_app(Settings(history=None, token="s3cret")))
    for query in ("", "?token=wrong", "?token=s%C3%A9cret"):
        with client.websocket_connect(path + query) as ws:
            with pytest.raises(WebSocketDisconnect) as refused:
                ws.receive_text()
            assert (refused.value.code, refused.value.reason) == (1008, "invalid token")
    with client.websocket_connect(path + "?token=s3cret") as ws:
        ws.send_text("hello")
        assert ws.receive_text() in ("Echo: hello", "hello")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://testserver", True),
        ("http://evil.example", False),
        ("null", False),
        ("http://friend.example:8080", True),
    ],
)
def test_origins_are_checked_against_the_host_and_the_allow_list(
    origin: str | None, allowed: bool
) -> None:
    app = create_app(Settings(history=None, origins=("http://friend.example:8080",)))
    headers = {"origin": origin} if origin else {}
    with TestClient(app).websocket_connect("/ws", headers=headers) as ws:
        if allowed:
            ws.send_text("hello")
            assert ws.receive_text() == "Echo: hello"
        else:
            with pytest.raises(WebSocketDisconnect) as refused:
                ws.receive_text()
            assert (refused.value.code, refused.value.reason) == (1008, "origin not allowed")


def test_an_invalid_room_name_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/chat/-bad") as ws:
        with pytest.raises(WebSocketDisconnect) as refused:
            ws.receive_text()
        assert (refused.value.code, refused.value.reason) == (1008, "invalid room name")


def test_the_page_is_served_with_a_policy_that_forbids_inline_script(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "<html" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_new_members_get_recent_history_and_resumers_exactly_what_they_missed() -> None:
    with TestClient(create_app(Settings(history=None, history_size=3))) as client:
        with client.websocket_connect("/chat", subprotocols=V1) as a:
            hello(a, name="a", key="k")
            for number in range(1, 6):
                a.send_text(json.dumps({"type": "text", "text": f"m{number}", "cid": str(number)}))
                a.receive_json()  # ack
                a.receive_json()  # relay
        with client.websocket_connect("/chat", subprotocols=V1) as newcomer:
            welcome = hello(newcomer, name="new")
            assert welcome["last_id"] == 5
            assert [newcomer.receive_json()["text"] for _ in range(3)] == ["m3", "m4", "m5"]
        with client.websocket_connect("/chat", subprotocols=V1) as resumer:
            assert hello(resumer, name="a", resume=1)["resumed"] is True
            missed = [resumer.receive_json() for _ in range(4)]
            assert [m["id"] for m in missed] == [2, 3, 4, 5]
            resumer.send_text(json.dumps({"type": "text", "text": "live"}))
            assert resumer.receive_json()["id"] == 6


def test_a_resent_message_is_acknowledged_again_but_stored_and_relayed_once() -> None:
    with TestClient(create_app(Settings(history=None))) as client:
        frame = json.dumps({"type": "text", "text": "once", "cid": "c-1"})
        with client.websocket_connect("/chat", subprotocols=V1) as a:
            hello(a, name="a", key="member-key")
            a.send_text(frame)
            assert a.receive_json()["duplicate"] is False
            assert a.receive_json()["id"] == 1
        with client.websocket_connect("/chat", subprotocols=V1) as again:
            hello(again, name="a", key="member-key", resume=1)
            again.send_text(frame)
            ack = again.receive_json()
            assert (ack["id"], ack["duplicate"]) == (1, True)
            again.send_text(json.dumps({"type": "text", "text": "next"}))
            assert again.receive_json()["id"] == 2, "the duplicate was not relayed or stored"
