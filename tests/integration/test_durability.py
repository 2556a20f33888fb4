"""Nothing acknowledged is lost: SQLite history, duplicate resends, resume, kill -9."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from desktopchat.protocol import ChatMessage
from tests.integration.conftest import V1, hosted, member, next_of, serve_process


async def send_acked(ws: Any, texts: list[str], prefix: str = "c") -> list[int]:
    """Send ``texts`` with client ids; the ids the server acknowledged them with."""
    ids = []
    for number, text in enumerate(texts):
        await ws.send(json.dumps({"type": "text", "text": text, "cid": f"{prefix}{number}"}))
        ids.append((await next_of(ws, "ack"))["id"])
    return ids


def structured(port: int) -> connect:
    """A ``desktopchat.v1`` connection to a server process on ``port``."""
    return connect(f"ws://127.0.0.1:{port}/chat", subprotocols=V1, proxy=None)


def stored(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return [(i, body.decode()) for i, body in db.execute("SELECT id, body FROM messages")]


async def test_acknowledged_messages_are_in_sqlite_before_the_ack(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    async with hosted(history=path) as server, member(server, "a", key="k") as ws:
        for number in range(3):
            await ws.send(json.dumps({"type": "text", "text": f"m{number}", "cid": str(number)}))
            ack = await next_of(ws, "ack")
            # Read by another connection, right at the ack: already committed.
            assert (ack["id"], f"m{number}") in stored(path)


async def test_resume_gets_exactly_what_was_missed_in_order_then_live_traffic(
    tmp_path: Path,
) -> None:
    async with hosted(history=tmp_path / "h.sqlite3") as server, member(server, "talker") as talker:
        async with member(server, "reader", key="rk") as reader:
            await send_acked(talker, ["one", "two"])
            seen = [(await next_of(reader, "text"))["id"] for _ in range(2)]
        missed = await send_acked(talker, ["three", "four", "five"], prefix="d")
        async with member(server, "reader", key="rk", resume=seen[-1]) as back:
            replay = [await next_of(back, "text") for _ in range(3)]
            assert [m["id"] for m in replay] == missed
            assert [m["text"] for m in replay] == ["three", "four", "five"]
            (live,) = await send_acked(talker, ["six"], prefix="e")
            assert (await next_of(back, "text"))["id"] == live


async def test_kill_9_then_restart_keeps_every_acknowledged_message(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with serve_process("--history", str(path)) as (process, port):
        async with structured(port) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "a", "key": "k"}))
            await next_of(ws, "welcome")
            acked = await send_acked(ws, [f"m{n}" for n in range(20)])
            process.send_signal(signal.SIGKILL)
            assert await asyncio.to_thread(process.wait, 5) == -signal.SIGKILL
    assert [i for i, _ in stored(path)] == acked
    with serve_process("--history", str(path)) as (process, port):
        async with structured(port) as ws:
            hello = {"type": "hello", "name": "a", "key": "k", "resume": acked[4]}
            await ws.send(json.dumps(hello))
            welcome = await next_of(ws, "welcome")
            assert welcome["last_id"] == acked[-1]
            replay = [await next_of(ws, "text") for _ in range(15)]
            assert [m["id"] for m in replay] == acked[5:]
            # A resend of the last message (the client never saw its ack) is not stored twice.
            await ws.send(json.dumps({"type": "text", "text": "m19", "cid": "c19"}))
            ack = await next_of(ws, "ack")
            assert (ack["id"], ack["duplicate"]) == (acked[-1], True)
            await ws.send(json.dumps({"type": "text", "text": "fresh", "cid": "new"}))
            assert (await next_of(ws, "ack"))["id"] == acked[-1] + 1
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 5) == 0


async def test_a_duplicate_resend_on_a_new_connection_is_acknowledged_not_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    async with hosted(history=path) as server:
        async with member(server, "a", key="same") as first:
            (original,) = await send_acked(first, ["hello"])
        async with member(server, "a", key="same", resume=original) as second:
            await second.send(json.dumps({"type": "text", "text": "hello", "cid": "c0"}))
            ack = await next_of(second, "ack")
            assert (ack["id"], ack["duplicate"]) == (original, True)
    assert stored(path) == [(original, "hello")]


async def test_a_big_message_is_stored_off_the_event_loop_and_keeps_its_order(
    tmp_path: Path,
) -> None:
    async with hosted(history=tmp_path / "h.sqlite3", rate=0) as server:
        history = server.hub.history
        threads: dict[int, str] = {}

        def recording(append: Any) -> Any:
            def record(room: str, message: ChatMessage, *args: Any) -> ChatMessage:
                stored: ChatMessage = append(room, message, *args)
                threads[stored.id] = threading.current_thread().name
                return stored

            return record

        history.append = recording(history.append)  # type: ignore[method-assign]
        history.append_alone = recording(history.append_alone)  # type: ignore[method-assign]
        async with connect(
            f"ws://127.0.0.1:{server.port}/chat", subprotocols=V1, proxy=None, max_size=None
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "ada"}))
            header = b'{"type":"binary","name":"big.bin","mime":"x/y","cid":"big"}'
            await ws.send(len(header).to_bytes(4, "big") + header + b"\0" * (2 * 1024 * 1024))
            await ws.send(json.dumps({"type": "text", "text": "after", "cid": "small"}))
            acks = [(await next_of(ws, "ack"))["cid"] for _ in range(2)]
    assert acks == ["big", "small"], "ids, acks and relay keep the order of sending"
    assert threads[1] != threading.main_thread().name
    assert threads[2] == threading.main_thread().name
