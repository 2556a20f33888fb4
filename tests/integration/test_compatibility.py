"""Clients of this version keep working with servers of tomorrow: golden frames of a newer
dialect, played by a stand-in server, are read for what is known and skipped for the rest."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets.asyncio.server
from websockets.typing import Subprotocol

from desktopchat.client import PresenceChanged, Received, Session, SessionEvent
from desktopchat.protocol import (
    SUBPROTOCOL,
    SUBPROTOCOL_V2,
    ChatMessage,
    UnknownEvent,
    Welcome,
    decode_server,
)

GOLDEN: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "golden" / "newer_server.json").read_text()
)


def test_known_events_of_a_newer_server_decode_and_their_new_fields_are_ignored() -> None:
    welcome = decode_server(json.dumps(GOLDEN["welcome"]))
    assert isinstance(welcome, Welcome)
    assert welcome.limits is not None
    assert welcome.limits.max_message_bytes == 1048576
    decoded: list[object] = []
    skipped = 0
    for event in GOLDEN["events"]:
        try:
            decoded.append(decode_server(json.dumps(event)))
        except UnknownEvent:
            skipped += 1
    assert skipped == 3  # "typing", presence "away", "receipt"
    texts = [e.text for e in decoded if isinstance(e, ChatMessage) and e.text]
    assert texts == GOLDEN["expected"]["texts"]


@pytest.mark.parametrize("dialect", [SUBPROTOCOL_V2, SUBPROTOCOL])
async def test_the_session_joins_a_newer_server_and_takes_what_it_understands(
    dialect: str,
) -> None:
    async def newer_server(ws: websockets.asyncio.server.ServerConnection) -> None:
        await ws.recv()  # hello
        await ws.send(json.dumps(GOLDEN["welcome"]))
        for event in GOLDEN["events"]:
            await ws.send(json.dumps(event))
        await ws.wait_closed()

    async with websockets.asyncio.server.serve(
        newer_server, "127.0.0.1", 0, subprotocols=[Subprotocol(dialect)]
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        session = Session(f"127.0.0.1:{port}", name="ada")
        events: list[SessionEvent] = []
        last_arrived = asyncio.Event()

        def record(event: SessionEvent) -> None:
            events.append(event)
            if isinstance(event, Received) and event.message.data == {"x": 1}:
                last_arrived.set()

        session.subscribe(record)
        await session.start()
        try:
            await asyncio.wait_for(last_arrived.wait(), 5)
        finally:
            await session.close()
    received = [e.message for e in events if isinstance(e, Received)]
    assert [m.text for m in received if m.text] == GOLDEN["expected"]["texts"]
    assert [m.data for m in received if m.data is not None] == GOLDEN["expected"]["json"]
    presence = [e for e in events if isinstance(e, PresenceChanged)]
    assert presence[-1].presence.name == GOLDEN["expected"]["members"][-1]
    assert session.members == tuple(GOLDEN["expected"]["members"])
