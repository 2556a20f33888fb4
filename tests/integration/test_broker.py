"""Rooms across several nodes through a real Redis: one order, one id sequence, acks only for
what Redis holds, de-duplication and resume across nodes, presence, Redis going away."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from desktopchat.server import HostedServer
from tests.integration.conftest import LOCAL, V1, next_of, serve_process
from tests.integration.redis_server import RedisServer, redis_server
from tests.integration.stall_proxy import StallProxy


@asynccontextmanager
async def nodes(broker: str, count: int, **changes: Any) -> AsyncIterator[list[HostedServer]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(HostedServer(replace(LOCAL, broker=broker, **changes)))
            for _ in range(count)
        ]


@asynccontextmanager
async def on(port: int, name: str, **hello: Any) -> AsyncIterator[ClientConnection]:
    async with connect(f"ws://127.0.0.1:{port}/chat", subprotocols=V1, proxy=None) as ws:
        await ws.send(json.dumps({"type": "hello", "name": name, **hello}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        ws.welcome = welcome  # type: ignore[attr-defined]
        yield ws


async def texts(ws: ClientConnection, count: int, within: float = 15) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    async with asyncio.timeout(within):
        while len(seen) < count:
            event = json.loads(await ws.recv())
            if event["type"] == "text":
                seen.append((event["id"], event["text"]))
    return seen


async def presence(ws: ClientConnection, event: str, name: str, within: float) -> None:
    """Wait for ``name``'s ``event`` (other events and presence pass by)."""
    async with asyncio.timeout(within):
        while True:
            seen = json.loads(await ws.recv())
            if seen["type"] == "presence" and (seen["event"], seen["name"]) == (event, name):
                return


async def send(ws: ClientConnection, text: str, cid: str) -> None:
    await ws.send(json.dumps({"type": "text", "text": text, "cid": cid}))


async def test_members_on_three_nodes_see_one_order_and_one_dense_id_sequence(
    tmp_path: Path,
) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 3) as servers,
        AsyncExitStack() as stack,
    ):
        members = [
            await stack.enter_async_context(on(server.port, f"m{n}-{k}", key=f"k{n}{k}"))
            for n, server in enumerate(servers)
            for k in range(2)
        ]

        async def talk(ws: ClientConnection, who: int) -> None:
            for n in range(15):
                await send(ws, f"{who}:{n}", f"c{n}")

        await asyncio.gather(*(talk(ws, who) for who, ws in enumerate(members)))
        seen = await asyncio.gather(*(texts(ws, 90) for ws in members))
    assert [ident for ident, _ in seen[0]] == list(range(1, 91)), "dense, from 1"
    assert all(each == seen[0] for each in seen), "every member on every node: one order"
    for who in range(6):  # and each sender's own messages in the order it sent them
        mine = [int(text.split(":")[1]) for _, text in seen[0] if text.startswith(f"{who}:")]
        assert mine == list(range(15))


async def test_a_resend_through_another_node_is_a_duplicate_not_a_second_message(
    tmp_path: Path,
) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 2) as (a, b),
        on(b.port, "watcher") as watcher,
    ):
        async with on(a.port, "ada", key="ada-key") as first:
            await send(first, "once", "c1")
            ack = await next_of(first, "ack")
            assert (ack["id"], ack.get("duplicate", False)) == (1, False)
        # Ada's connection to node A died before she saw the ack; she resends via B.
        async with on(b.port, "ada", key="ada-key", resume=0) as again:
            await send(again, "once", "c1")
            ack = await next_of(again, "ack")
            assert (ack["id"], ack["duplicate"]) == (1, True)
            await send(again, "twice?", "c2")
            assert (await next_of(again, "ack"))["id"] == 2
        assert await texts(watcher, 2) == [(1, "once"), (2, "twice?")]


async def test_presence_spans_nodes(tmp_path: Path) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 2) as (a, b),
        on(a.port, "ada") as ada,
    ):
        # Ada's join reaches Redis a moment after her welcome (it is announced, not awaited):
        # node B's welcome lists her once it has.
        async with asyncio.timeout(10):
            while True:
                async with on(b.port, "bob") as bob:
                    if "ada" in bob.welcome["members"]:  # type: ignore[attr-defined]
                        break
                await asyncio.sleep(0.2)
        seen: list[tuple[str, str]] = []
        while ("leave", "bob") not in seen:
            event = await next_of(ada, "presence", within=10)
            seen.append((event["event"], event["name"]))
        assert seen[:2] == [("join", "bob"), ("leave", "bob")], "ada saw bob come and go"


async def test_a_member_of_a_killed_node_resumes_on_another_with_nothing_lost_or_doubled(
    tmp_path: Path,
) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1) as (b,),
        on(b.port, "bob") as bob,
    ):
        with serve_process("--broker", redis.url, "--history", "off") as (process, port):
            async with on(port, "ada", key="ada") as ada:
                for n in range(1, 6):
                    await send(bob, f"m{n}", f"c{n}")
                assert [t for _, t in await texts(ada, 5)] == [f"m{n}" for n in range(1, 6)]
                await presence(bob, "join", "ada", within=10)
                os.kill(process.pid, signal.SIGKILL)
                for n in range(6, 11):
                    await send(bob, f"m{n}", f"c{n}")
        # Node A is gone without a word: its member is swept out within the member TTL.
        await presence(bob, "leave", "ada", within=40)
        async with on(b.port, "ada", key="ada", resume=5) as resumed:
            assert resumed.welcome["resumed"]  # type: ignore[attr-defined]
            missed = await texts(resumed, 5)
            assert missed == [(n, f"m{n}") for n in range(6, 11)]
            await send(bob, "live", "c11")
            assert await texts(resumed, 1) == [(11, "live")]


async def test_redis_down_refuses_sends_keeps_members_and_recovers(tmp_path: Path) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1) as (node,),
        on(node.port, "ada", key="ada") as ada,
    ):
        await send(ada, "before", "c1")
        assert (await next_of(ada, "ack"))["id"] == 1
        await redis.stop()
        await send(ada, "while down", "c2")
        error = await next_of(ada, "error", within=15)
        assert error["code"] == "broker-down"
        assert error["cid"] == "c2"
        await redis.start()  # the append-only file brings the room back
        async with asyncio.timeout(20):
            while True:
                await send(ada, "after", "c3")
                event = json.loads(await ada.recv())
                while event["type"] not in ("ack", "error"):
                    event = json.loads(await ada.recv())
                if event["type"] == "ack":
                    break
                await asyncio.sleep(0.5)
        assert event["id"] == 2, "the ids go on where they were"


async def test_redis_restarted_without_its_data_starts_the_ids_over_and_says_so(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path / "redis", appendonly=False)
    await redis.start()
    try:
        async with nodes(redis.url, 1) as (node,):
            async with on(node.port, "ada", key="ada") as ada:
                for n in range(3):
                    await send(ada, f"m{n}", f"c{n}")
                await texts(ada, 3)
                await redis.stop()
                redis.wipe()
                await redis.start()
                # The node notices the lost epoch and sends its members away to come back.
                async with asyncio.timeout(20):
                    await ada.wait_closed()
                assert ada.close_code == 1012
            async with on(node.port, "ada", key="ada", resume=3) as back:
                assert back.welcome["reset"]  # type: ignore[attr-defined]
                await send(back, "new era", "c9")
                assert (await next_of(back, "ack", within=15))["id"] == 1
    finally:
        await redis.stop()


async def test_a_node_frozen_away_from_redis_catches_up_in_order(tmp_path: Path) -> None:
    async with redis_server(tmp_path / "redis") as redis, StallProxy(redis.port) as proxy:
        far = f"redis://127.0.0.1:{proxy.port}/0"
        async with (
            nodes(redis.url, 1) as (a,),
            nodes(far, 1) as (b,),
            on(a.port, "ada") as ada,
            on(b.port, "bob") as bob,
        ):
            proxy.stall()
            for n in range(30):
                await send(ada, f"m{n}", f"c{n}")
            await texts(ada, 30)
            await asyncio.sleep(1)
            proxy.flow()
            caught_up = await texts(bob, 30, within=30)
            assert caught_up == [(n + 1, f"m{n}") for n in range(30)]


async def test_a_resume_older_than_the_log_holds_is_a_history_gap(tmp_path: Path) -> None:
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1, history_keep=20) as (node,),
    ):
        async with on(node.port, "ada") as ada:
            for n in range(60):
                await send(ada, f"m{n}", f"c{n}")
            await texts(ada, 60)
        async with on(node.port, "ada", resume=5) as back:
            assert back.welcome["gap"]  # type: ignore[attr-defined]
        async with on(node.port, "ada", resume=55) as recent:
            assert "gap" not in recent.welcome  # type: ignore[attr-defined]


async def test_member_keys_and_client_ids_that_join_alike_are_two_messages(
    tmp_path: Path,
) -> None:
    """Key ``a:b`` with client id ``c`` and key ``a`` with client id ``b:c`` are two members'
    two messages, as SQLite keeps them, not one message and a duplicate."""
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1) as (node,),
        on(node.port, "watcher") as watcher,
    ):
        async with on(node.port, "one", key="a:b") as first:
            await send(first, "from a:b", "c")
            assert (await next_of(first, "ack")).get("duplicate", False) is False
        async with on(node.port, "two", key="a") as second:
            await send(second, "from a", "b:c")
            ack = await next_of(second, "ack")
            assert ack.get("duplicate", False) is False, ack
        assert [text for _id, text in await texts(watcher, 2)] == ["from a:b", "from a"]


async def test_redis_down_refuses_newcomers_to_a_followed_room_and_closes_a_raw_sender(
    tmp_path: Path,
) -> None:
    """As docs/operations.md says: with Redis away, a newcomer is refused with 1013 even in a
    room the node follows already, and a raw member's frame that could not be stored closes
    it with 1013 (a raw member has no error events to be told by)."""
    async with (
        redis_server(tmp_path / "redis") as redis,
        nodes(redis.url, 1) as (node,),
        on(node.port, "ada", key="ada") as ada,
    ):
        url = f"ws://127.0.0.1:{node.port}/chat"
        async with connect(url, proxy=None) as raw:
            await send(ada, "before", "c1")
            assert (await next_of(ada, "ack"))["id"] == 1
            await redis.stop()
            await send(ada, "while down", "c2")
            assert (await next_of(ada, "error", within=15))["code"] == "broker-down"
            async with connect(url, subprotocols=V1, proxy=None) as newcomer:
                await newcomer.send(json.dumps({"type": "hello", "name": "late"}))
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(newcomer.recv(), 15)
            assert newcomer.close_code == 1013
            assert newcomer.close_reason == "message store unreachable"
            await raw.send("a raw frame while Redis is down")
            await asyncio.wait_for(raw.wait_closed(), 15)
            assert raw.close_code == 1013
            assert raw.close_reason == "message store unreachable"
