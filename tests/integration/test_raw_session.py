"""RawSession on its own: frames both ways, TLS trust for self-signed endpoints (pinned, as
for rooms, or insecure), and reconnecting without resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from desktopchat.client import Backoff, SendError, SessionState, StateChanged, UnknownCertificate
from desktopchat.client.events import Frame, SessionEvent
from desktopchat.client.frames import frame_kind, ndjson_line, parse_bytes
from desktopchat.client.pinning import KnownHosts
from desktopchat.client.raw import RawOptions, RawSession, parse_header, raw_url
from desktopchat.client.saved import Endpoint, SavedMessage, SavedMessages, endpoint_key
from desktopchat.protocol import Kind
from tests.integration.conftest import hosted
from tests.integration.foreign import foreign


class Events:
    def __init__(self, session: RawSession) -> None:
        self.seen: list[SessionEvent] = []
        self._changed = asyncio.Event()
        session.subscribe(self._add)

    def _add(self, event: SessionEvent) -> None:
        self.seen.append(event)
        self._changed.set()

    async def wait(self, predicate: Callable[[], bool], within: float = 10) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def frames(self, incoming: bool) -> list[str | bytes]:
        return [e.data for e in self.seen if isinstance(e, Frame) and e.incoming is incoming]


async def test_frames_go_out_as_they_are_and_come_back() -> None:
    async with foreign("echo") as port:
        session = RawSession(f"ws://127.0.0.1:{port}/")
        events = Events(session)
        await session.start()
        try:
            await session.send_text("plain")
            await session.send_json_text('{"x": [1]}')
            await session.send_binary(b"\x00\xff")
            with pytest.raises(SendError, match="not valid JSON"):
                await session.send_json_text("{nope")
            await events.wait(lambda: len(events.frames(True)) == 3)
            assert events.frames(True) == ["plain", '{"x": [1]}', b"\x00\xff"]
            assert events.frames(False) == events.frames(True)
            assert [frame_kind(f) for f in events.frames(True)] == [
                Kind.TEXT,
                Kind.JSON,
                Kind.BINARY,
            ]
        finally:
            await session.close()
    assert session.state is SessionState.CLOSED
    with pytest.raises(SendError, match="not connected"):
        await session.send_text("late")


async def test_a_self_signed_endpoint_is_asked_about_pinned_or_taken_insecurely(
    tmp_path: Path,
) -> None:
    known = KnownHosts(tmp_path / "known.json")
    async with hosted(tls="on") as server:
        url = f"wss://127.0.0.1:{server.port}/ws"
        asked = RawSession(url, known_hosts=known)
        with pytest.raises(UnknownCertificate) as unknown:
            await asked.start()
        fingerprint = unknown.value.fingerprint
        assert fingerprint.startswith("sha256:")
        pinned = RawSession(url, RawOptions(fingerprint=fingerprint), known_hosts=known)
        events = Events(pinned)
        await pinned.start()
        await pinned.send_text("over tls")
        await events.wait(lambda: events.frames(True) == ["Echo: over tls"])
        await pinned.close()
        # Remembered: the next connection needs no pin and no question.
        again = RawSession(url, known_hosts=known)
        await again.start()
        await again.close()
        insecure = RawSession(url, RawOptions(insecure=True))
        await insecure.start()
        await insecure.close()


async def test_a_raw_connection_reconnects_without_resume_and_says_so() -> None:
    async def echo(ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            await ws.send(message)  # type: ignore[attr-defined]

    first = await serve(echo, "127.0.0.1", 0)
    port = next(iter(first.sockets)).getsockname()[1]
    session = RawSession(f"ws://127.0.0.1:{port}/", backoff=Backoff(base=120, cap=120))
    events = Events(session)
    await session.start()
    first.close()
    await first.wait_closed()
    await events.wait(lambda: session.state is SessionState.RECONNECTING)
    state = [e for e in events.seen if isinstance(e, StateChanged)][-1]
    assert state.raw
    assert "do not resume" in state.describe()
    with pytest.raises(SendError, match="does not keep frames"):
        await session.send_text("while away")
    second = await serve(echo, "127.0.0.1", port)
    try:
        session.retry_now()
        await events.wait(lambda: session.state is SessionState.OPEN)
        await session.send_text("back")
        await events.wait(lambda: "back" in events.frames(True))
    finally:
        await session.close()
        second.close()
        await second.wait_closed()


def test_addresses_headers_bytes_and_the_log_read_as_people_write_them() -> None:
    assert raw_url("example.org:8080/feed") == "ws://example.org:8080/feed"
    assert raw_url("https://example.org/x") == "wss://example.org/x"
    assert parse_header("Authorization:  Bearer abc ") == ("Authorization", "Bearer abc")
    for bad in ("no colon", ": empty", "Bad Name: x", "X: a\r\nInjected: 1"):
        with pytest.raises(ValueError, match="not a header"):
            parse_header(bad)
    assert parse_bytes("0x00 01:ff-7f", "hex") == b"\x00\x01\xff\x7f"
    assert parse_bytes("aGk", "base64") == b"hi"
    assert parse_bytes("-_8", "base64") == b"\xfb\xff"
    with pytest.raises(ValueError, match="odd"):
        parse_bytes("abc", "hex")
    line = ndjson_line(Frame(0, False, b"\x01"))
    assert json.loads(line) == {
        "time": "1970-01-01T00:00:00.000Z",
        "direction": "out",
        "kind": "binary",
        "data": "AQ==",
    }


def test_saved_messages_fill_in_variables_and_are_kept_per_endpoint(tmp_path: Path) -> None:
    store = SavedMessages(tmp_path / "saved.json")
    endpoint = store.of("wss://api.example.org/ws?token=secret")
    assert endpoint_key("wss://user:pw@api.example.org/ws?token=secret") == (
        "wss://api.example.org/ws"
    )
    endpoint.variables["user"] = "ada"
    endpoint.messages.append(SavedMessage("subscribe", '{"op": "sub", "who": "{{user}}"}', "json"))
    store.save()
    again = SavedMessages(tmp_path / "saved.json").of("wss://api.example.org/ws")
    assert again.messages == endpoint.messages
    assert again.expand(again.messages[0].body) == '{"op": "sub", "who": "ada"}'
    assert again.expand("n={{counter}}") == "n=2"
    assert len(again.expand("{{uuid}}")) == 36
    with pytest.raises(ValueError, match="no variable 'nope'"):
        Endpoint().expand("{{nope}}")
    assert "secret" not in (tmp_path / "saved.json").read_text()
