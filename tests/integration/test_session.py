"""The client session against real uvicorn: joining, refusals, reconnect and resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import websockets.asyncio.server
import websockets.typing

from desktopchat.client import (
    Backoff,
    Delivered,
    Failed,
    NotDesktopchat,
    Progress,
    Queued,
    Received,
    SendError,
    Session,
    SessionEvent,
    SessionState,
    StateChanged,
    TokenRefused,
    Unreachable,
)
from desktopchat.protocol import Kind
from desktopchat.server import HostedServer
from tests.integration.conftest import LOCAL, hosted, member, next_of
from tests.integration.stall_proxy import StallProxy

FAST = Backoff(base=0.05, cap=0.2)


class Recorder:
    """Collects a session's events and waits for the ones a test needs."""

    def __init__(self, session: Session) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()
        session.subscribe(self._record)

    def _record(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def states(self) -> list[SessionState]:
        return [e.state for e in self.events if isinstance(e, StateChanged)]

    def received(self) -> list[Received]:
        return [e for e in self.events if isinstance(e, Received)]


@asynccontextmanager
async def joined(
    address: str, name: str, **options: object
) -> AsyncIterator[tuple[Session, Recorder]]:
    options.setdefault("backoff", FAST)
    session = Session(address, name=name, **options)  # type: ignore[arg-type]
    recorder = Recorder(session)
    await session.start()
    try:
        yield session, recorder
    finally:
        await session.close()


@pytest.mark.parametrize(
    "form", ["127.0.0.1:{port}", "http://127.0.0.1:{port}/", "ws://127.0.0.1:{port}/chat/side"]
)
async def test_every_address_form_joins(form: str) -> None:
    async with hosted() as server, joined(form.format(port=server.port), "ada") as (session, _):
        assert session.state is SessionState.OPEN
        assert session.name == "ada"


async def test_the_state_machine_runs_connecting_open_closing_closed() -> None:
    async with hosted() as server:
        async with joined(f"127.0.0.1:{server.port}", "ada") as (_, recorder):
            pass
        assert recorder.states() == [
            SessionState.CONNECTING,
            SessionState.OPEN,
            SessionState.CLOSING,
            SessionState.CLOSED,
        ]
        last = recorder.events[-1]
        assert isinstance(last, StateChanged)
        assert last.code == 1000


async def test_a_wrong_token_is_a_token_error() -> None:
    async with hosted(token="right") as server:
        session = Session(f"127.0.0.1:{server.port}", token="wrong")
        with pytest.raises(TokenRefused, match="That token is not this room's") as refused:
            await session.start()
        assert "invalid token" in refused.value.detail
        assert session.state is SessionState.CLOSED


async def test_a_closed_port_is_unreachable() -> None:
    async with hosted() as server:
        port = server.port
    with pytest.raises(Unreachable, match=f"Nobody is hosting at 127.0.0.1:{port}") as error:
        await Session(f"127.0.0.1:{port}").start()
    assert "Connect call failed" in error.value.detail


async def test_a_plain_web_server_is_not_desktopchat() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(NotDesktopchat, match="not a desktopchat room") as error:
            await Session(f"127.0.0.1:{port}").start()
        assert error.value.detail.startswith("HTTP 404 Not Found\n")


async def test_a_websocket_server_without_our_protocol_is_not_desktopchat() -> None:
    async def echo(ws: websockets.asyncio.server.ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with websockets.asyncio.server.serve(echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with pytest.raises(NotDesktopchat, match="not a desktopchat room") as error:
            await Session(f"127.0.0.1:{port}").start()
        assert "desktopchat.v1" in error.value.detail


async def test_text_json_and_binary_are_delivered_with_ids_and_received_by_others() -> None:
    async with (
        hosted() as server,
        joined(f"127.0.0.1:{server.port}", "ada") as (ada, ada_events),
        joined(f"127.0.0.1:{server.port}", "bob") as (_, bob_events),
    ):
        cids = [
            await ada.send_text("hello"),
            await ada.send_json({"type": "update", "data": [1, 2, 3]}),
            await ada.send_binary(b"\x00\x01", name="a.bin", mime="x/y"),
        ]
        await bob_events.wait(lambda: len(bob_events.received()) == 3)
        got = [r.message for r in bob_events.received()]
        assert [m.kind for m in got] == [Kind.TEXT, Kind.JSON, Kind.BINARY]
        assert (got[0].text, got[1].data, got[2].payload) == (
            "hello",
            {"type": "update", "data": [1, 2, 3]},
            b"\x00\x01",
        )
        await ada_events.wait(
            lambda: len([e for e in ada_events.events if isinstance(e, Delivered)]) == 3
        )
        delivered = [e for e in ada_events.events if isinstance(e, Delivered)]
        assert [d.cid for d in delivered] == cids
        assert [d.id for d in delivered] == [m.id for m in got]
        assert not ada.outbox.pending()


async def test_invalid_json_is_refused_locally_with_the_parse_error() -> None:
    async with hosted() as server, joined(f"127.0.0.1:{server.port}", "ada") as (ada, events):
        with pytest.raises(SendError, match="line 1 column 2"):
            await ada.send_json_text("{oops")
        with pytest.raises(SendError):
            await ada.send_json(float("nan"))
        assert not [e for e in events.events if isinstance(e, Queued)]


async def test_a_large_payload_reports_progress_until_all_is_sent() -> None:
    async with (
        hosted() as server,
        joined(f"127.0.0.1:{server.port}", "ada", chunk_size=64 * 1024) as (ada, events),
    ):
        await ada.send_binary(b"z" * 300_000, name="big.bin")
        await events.wait(lambda: any(isinstance(e, Delivered) for e in events.events))
        progress = [e for e in events.events if isinstance(e, Progress)]
        assert len(progress) == 5
        assert progress[-1].sent == progress[-1].total
        assert [p.sent for p in progress] == sorted(p.sent for p in progress)


async def test_a_server_restart_is_survived_with_nothing_lost_and_nothing_twice(
    tmp_path: Path,
) -> None:
    settings = replace(LOCAL, history=tmp_path / "h.sqlite3")
    first = HostedServer(settings)
    await first.start()
    port = first.port
    address = f"127.0.0.1:{port}"
    async with (
        joined(address, "ada") as (ada, ada_events),
        joined(address, "bob") as (bob, bob_events),
    ):
        for n in range(3):
            await ada.send_text(f"before {n}")
        await bob_events.wait(lambda: len(bob_events.received()) == 3)
        await first.stop()
        await ada_events.wait(lambda: ada.state is SessionState.RECONNECTING)
        reconnecting = [e for e in ada_events.events if isinstance(e, StateChanged)][-1]
        assert reconnecting.attempt >= 1
        assert reconnecting.delay > 0
        assert reconnecting.code == 1001
        for n in range(3):
            await ada.send_text(f"during {n}")
        assert len(ada.outbox.pending()) == 3
        second = HostedServer(replace(settings, port=port))
        await second.start()
        try:
            await ada_events.wait(
                lambda: ada.state is SessionState.OPEN and not ada.outbox.pending()
            )
            await bob.send_text("after")
            await bob_events.wait(lambda: len(bob_events.received()) == 7)
            await ada_events.wait(lambda: len(ada_events.received()) == 7)
        finally:
            await ada.close()
            await bob.close()
            await second.stop()
    for events in (ada_events, bob_events):
        ids = [r.message.id for r in events.received()]
        assert ids == list(range(1, 8)), "every id once, in order"
    texts = [r.message.text for r in bob_events.received()]
    assert texts == [
        *(f"before {n}" for n in range(3)),
        *(f"during {n}" for n in range(3)),
        "after",
    ]


async def test_no_reconnect_after_a_policy_close() -> None:
    async with (
        hosted() as server,
        joined(f"127.0.0.1:{server.port}", "kicked") as (s, events),
    ):
        for peer in server.hub.rooms["chat"].members:
            await peer.close(1008, "kicked out")
        await events.wait(lambda: s.state is SessionState.CLOSED)
        assert SessionState.RECONNECTING not in events.states()
        last = [e for e in events.events if isinstance(e, StateChanged)][-1]
        assert last.code == 1008


async def test_a_stalled_network_is_detected_and_recovered() -> None:
    async with (
        hosted() as server,
        StallProxy(server.port) as proxy,
        joined(
            f"127.0.0.1:{proxy.port}", "ada", ping_interval=0.2, ping_timeout=0.2, close_timeout=0.3
        ) as (
            ada,
            events,
        ),
    ):
        proxy.stall()
        await events.wait(lambda: ada.state is not SessionState.OPEN, within=5)
        proxy.flow()
        proxy.cut()  # the half-open connection is gone for good; new ones get through
        await events.wait(lambda: ada.state is SessionState.OPEN, within=10)
        await ada.send_text("back")
        await events.wait(lambda: any(r.message.text == "back" for r in events.received()))
        assert SessionState.RECONNECTING in events.states()


async def test_a_message_over_the_rooms_limit_is_refused_before_it_is_sent() -> None:
    async with (
        hosted(max_message_bytes=100_000) as server,
        joined(f"127.0.0.1:{server.port}", "ada") as (ada, events),
    ):
        assert ada.limits is not None
        assert ada.limits.max_message_bytes == 100_000
        with pytest.raises(SendError, match=r"over this room's limit of 97\.7 KiB"):
            await ada.send_binary(b"x" * 300_000, name="big.bin")
        assert not ada.outbox.pending()
        assert not any(isinstance(e, Queued) for e in events.events)
        await ada.send_text("still here")
        await events.wait(lambda: any(isinstance(e, Delivered) for e in events.events))
        assert SessionState.RECONNECTING not in events.states()


async def test_a_message_the_server_closes_1009_for_is_dropped_once_not_resent() -> None:
    # A server that does not state its limit (older than the welcome's limits field).
    async with hosted(max_message_bytes=100_000) as server:
        for room in [server.hub.room("chat")]:
            room.rules._limits = None  # type: ignore[assignment]
        async with joined(f"127.0.0.1:{server.port}", "ada") as (ada, events):
            assert ada.limits is None
            await ada.send_binary(b"x" * 300_000, name="big.bin")
            await events.wait(lambda: any(isinstance(e, Failed) for e in events.events))
            failed = next(e for e in events.events if isinstance(e, Failed))
            assert "too big for the room" in failed.reason
            await events.wait(lambda: ada.state is SessionState.OPEN)
            assert not ada.outbox.pending()
            await ada.send_text("after")
            await events.wait(lambda: any(isinstance(e, Delivered) for e in events.events))
            assert sum(isinstance(e, Failed) for e in events.events) == 1


async def test_a_message_the_link_dies_under_every_time_is_given_up_after_3_tries() -> None:
    sends = 0

    async def welcome_then_die_on_every_message(
        ws: websockets.asyncio.server.ServerConnection,
    ) -> None:
        nonlocal sends
        await ws.recv()  # hello
        await ws.send(
            '{"type":"welcome","room":"chat","name":"ada","members":["ada"],'
            '"last_id":0,"time":0,"resumed":false}'
        )
        await ws.recv()
        sends += 1
        ws.transport.abort()  # as a crashing proxy or server would: no close frame

    async with websockets.asyncio.server.serve(
        welcome_then_die_on_every_message,
        "127.0.0.1",
        0,
        subprotocols=[websockets.typing.Subprotocol("desktopchat.v1")],
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with joined(f"127.0.0.1:{port}", "ada") as (ada, events):
            await ada.send_text("doomed")
            await events.wait(lambda: any(isinstance(e, Failed) for e in events.events))
            failed = next(e for e in events.events if isinstance(e, Failed))
            assert "lost each of the 3 times" in failed.reason
            await events.wait(lambda: ada.state is SessionState.OPEN)
            await asyncio.sleep(0.3)  # room for a fourth attempt, which must not come
            assert sends == 3
            assert not ada.outbox.pending()


async def test_older_messages_come_page_by_page_on_request() -> None:
    async with hosted(history_size=5) as server, member(server, "writer") as ws:
        for number in range(1, 31):
            await ws.send(json.dumps({"type": "text", "text": f"m{number}", "cid": str(number)}))
            await next_of(ws, "ack")
        async with joined(f"127.0.0.1:{server.port}", "reader") as (session, events):
            await events.wait(lambda: len(events.received()) == 5)
            assert [r.message.id for r in events.received()] == [26, 27, 28, 29, 30]
            page = await session.history(before=26, limit=10)
            assert [m.id for m in page.messages] == list(range(16, 26))
            assert page.more
            last = await session.history(before=16, limit=200)
            assert [m.text for m in last.messages] == [f"m{n}" for n in range(1, 16)]
            assert not last.more
            assert len(events.received()) == 5, "pages are not live traffic"
            await ws.send(json.dumps({"type": "text", "text": "live"}))
            await events.wait(lambda: events.received()[-1].message.text == "live")


async def test_retry_now_cuts_the_back_off_wait_short() -> None:
    first = HostedServer(LOCAL)
    await first.start()
    port = first.port
    # A back-off of two minutes: without "Retry now" the session would still be waiting.
    async with joined(f"127.0.0.1:{port}", "ada", backoff=Backoff(base=120, cap=120)) as (
        ada,
        events,
    ):
        await first.stop()
        await events.wait(lambda: ada.state is SessionState.RECONNECTING)
        second = HostedServer(replace(LOCAL, port=port))
        await second.start()
        try:
            assert ada.state is SessionState.RECONNECTING  # still waiting out its back-off
            ada.retry_now()
            await events.wait(lambda: ada.state is SessionState.OPEN, within=5)
        finally:
            await ada.close()
            await second.stop()


async def test_retry_now_does_nothing_while_open() -> None:
    async with hosted() as server, joined(f"127.0.0.1:{server.port}", "ada") as (ada, events):
        ada.retry_now()
        await ada.send_text("still here")
        await events.wait(lambda: len(events.received()) == 1)
        assert SessionState.RECONNECTING not in events.states()


async def test_a_name_that_resolves_to_nothing_is_a_computer_not_found() -> None:
    with pytest.raises(Unreachable, match=r"Can.t find a computer called no-such-host\.invalid"):
        await Session("no-such-host.invalid:5042").start()
