"""The tutorial's own TestClient tests, unchanged in spirit, against ``create_app()``."""

from __future__ import annotations

import threading
import time

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from desktopchat.server import create_app


def test_echo() -> None:
    client = TestClient(create_app())
    with client.websocket_connect("/ws") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "Echo: hello"


def test_echo_sends_bytes_back_unchanged() -> None:
    client = TestClient(create_app())
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(b"\x00\x01\x02")
        assert ws.receive_bytes() == b"\x00\x01\x02"


def test_websocket_404() -> None:
    client = TestClient(create_app())
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/nonexistent"):
        pass


def test_the_chat_room_broadcasts_to_every_member_sender_included() -> None:
    client = TestClient(create_app())
    with client.websocket_connect("/chat") as first, client.websocket_connect("/chat") as second:
        first.send_text("hi")
        assert first.receive_text() == "hi"
        assert second.receive_text() == "hi"


def test_the_three_data_formats_travel_through_the_room() -> None:
    client = TestClient(create_app())
    with client.websocket_connect("/chat") as a, client.websocket_connect("/chat") as b:
        a.send_text("hello")
        a.send_json({"type": "update", "data": [1, 2, 3]})
        a.send_bytes(b"\x00\x01\x02")
        assert b.receive_text() == "hello"
        assert b.receive_json() == {"type": "update", "data": [1, 2, 3]}
        assert b.receive_bytes() == b"\x00\x01\x02"


def test_a_member_waiting_on_its_own_loop_is_woken_by_another_connections_message() -> None:
    """Outside ``with``, TestClient runs each connection on a loop of its own thread; the
    room must still wake a member that is already waiting when another member sends."""
    client = TestClient(create_app())
    with client.websocket_connect("/chat") as a, client.websocket_connect("/chat") as b:
        received: list[bytes] = []
        waiting = threading.Thread(target=lambda: received.append(b.receive_bytes()))
        waiting.start()
        time.sleep(0.2)  # b's loop is now asleep, waiting for a frame
        a.send_bytes(b"\x00\x01\x02")
        waiting.join(timeout=10)
        assert received == [b"\x00\x01\x02"]
        assert a.receive_bytes() == b"\x00\x01\x02"
