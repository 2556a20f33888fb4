"""Limits hold on real sockets: size, members, rooms, rate, bad UTF-8, slowloris, log noise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import hosted, member, next_of, url
from tests.integration.rawsocket import frame, handshake, read_close


async def close_code_of(ws: ClientConnection, within: float = 5.0) -> tuple[int | None, str]:
    """Read until the connection closes; the close code and reason received."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        rcvd = closed.rcvd
        return (rcvd.code, rcvd.reason) if rcvd is not None else (None, "")


async def test_an_oversized_message_closes_its_sender_with_1009_and_the_room_goes_on() -> None:
    async with (
        hosted(max_message_bytes=1000) as server,
        connect(url(server), max_size=None, proxy=None) as big,
        connect(url(server), proxy=None) as other,
    ):
        await big.send("x" * 2000)
        assert (await close_code_of(big))[0] == 1009
        await other.send("still here")
        assert await asyncio.wait_for(other.recv(), 5) == "still here"


async def test_a_compressed_bomb_is_measured_after_decompression() -> None:
    async with (
        hosted(max_message_bytes=10_000) as server,
        connect(url(server), compression="deflate", max_size=None, proxy=None) as ws,
    ):
        await ws.send("a" * 1_000_000)  # compresses to a few kilobytes
        assert (await close_code_of(ws))[0] == 1009


async def test_one_member_too_many_is_refused_with_1013_before_anything_changes() -> None:
    async with hosted(max_members=2) as server, member(server, "a") as a, member(server, "b"):
        await next_of(a, "presence")  # b joined
        async with connect(url(server), proxy=None) as third:
            assert await close_code_of(third) == (1013, "room is full")
        await a.send(json.dumps({"type": "text", "text": "ping"}))
        event = json.loads(await asyncio.wait_for(a.recv(), 5))
        assert event["type"] == "text", "no presence event for the refused member"
        assert server.hub.member_count() == 2


async def test_one_room_too_many_is_refused_with_1013() -> None:
    async with (
        hosted(max_rooms=1) as server,
        connect(url(server, "/chat/one"), proxy=None),
        connect(url(server, "/chat/two"), proxy=None) as second,
    ):
        assert await close_code_of(second) == (1013, "too many rooms")


async def test_past_the_rate_a_structured_sender_is_slowed_not_dropped() -> None:
    async with hosted(rate=10, burst=3) as server, member(server, "fast") as ws:
        started = asyncio.get_running_loop().time()
        for number in range(13):
            await ws.send(json.dumps({"type": "text", "text": f"m{number}", "cid": str(number)}))
        texts: list[str] = []
        while len(texts) < 13:
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert event["type"] != "error", event
            if event["type"] == "text":
                texts.append(event["text"])
        elapsed = asyncio.get_running_loop().time() - started
    assert texts == [f"m{number}" for number in range(13)], "all of them, in order"
    assert elapsed >= 0.8, "10 past the burst at 10/s take about a second"


async def test_a_raw_sender_at_three_times_the_rate_loses_nothing_and_others_see_no_delay() -> None:
    rate, count = 50, 300  # 150 msg/s offered for 2 s against a limit of 50/s
    async with (
        hosted(rate=rate, burst=10) as server,
        connect(url(server), proxy=None) as flooder,
        member(server, "calm") as calm,
        member(server, "watcher") as watcher,
    ):

        async def flood() -> None:
            for number in range(count):
                await flooder.send(json.dumps({"n": number}))
                await asyncio.sleep(1 / (3 * rate))

        async def drain_own() -> None:
            for _ in range(count):
                await asyncio.wait_for(flooder.recv(), 30)

        flooding = asyncio.gather(flood(), drain_own())
        delays = []
        for number in range(5):
            sent = asyncio.get_running_loop().time()
            text = {"type": "text", "text": f"calm {number}", "cid": f"c{number}"}
            await calm.send(json.dumps(text))
            await next_of(calm, "ack")
            delays.append(asyncio.get_running_loop().time() - sent)
            await asyncio.sleep(0.2)
        await asyncio.wait_for(flooding, 30)
        seen: list[int] = []
        while len(seen) < count:
            event = await next_of(watcher, "json", within=30)
            seen.append(event["data"]["n"])
    assert seen == list(range(count)), "every raw message arrived, in order"
    assert max(delays) < 0.5, f"the calm member was not slowed by the flood: {delays}"


async def test_a_member_over_its_rate_that_reads_nothing_is_closed_as_a_flooder(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        # A rate low enough that even a loaded server reads faster than it: every frame past
        # the burst waits, so the check runs before the queue can fill (else it is "too slow").
        hosted(rate=10, burst=2, send_queue_bytes=256 * 1024) as server,
        connect(url(server), proxy=None, max_size=None) as bystander,
    ):
        reading = asyncio.ensure_future(_drain(bystander))
        sock = await asyncio.to_thread(handshake, server.port, receive_buffer=4096)
        sock.settimeout(30)  # the server paces its reads: sending blocks for a while
        try:

            def flood() -> None:
                payload = b"x" * 65536
                # Enough frames to still be sending once the kernel's buffers towards the
                # flooder are full, however slowly a loaded machine relays (OSError: closed).
                with contextlib.suppress(OSError):
                    for _ in range(800):
                        sock.sendall(frame(0x2, payload))

            await asyncio.to_thread(flood)
            await bystander.send("still fine")
            for _ in range(800):  # up to 40 s
                if any("is flooding" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the flooder was never closed")
        finally:
            sock.close()
            reading.cancel()
    assert not any("bystander" in r.getMessage() for r in caplog.records if r.levelno >= 30)


async def _drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


async def test_invalid_utf8_in_a_text_frame_closes_with_1007() -> None:
    async with hosted() as server:
        sock = await asyncio.to_thread(handshake, server.port)
        with sock:
            sock.sendall(frame(0x1, b"\xff\xfe bad"))
            assert await asyncio.to_thread(read_close, sock) == 1007


async def test_a_slowloris_is_dropped_after_the_handshake_deadline() -> None:
    async with hosted(handshake_timeout=0.5) as server:

        def trickle() -> float:
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(b"GET /chat HTTP/1.1\r\n")
                for _ in range(40):
                    try:
                        sock.sendall(b"X")
                        if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                            break
                    except BlockingIOError:
                        pass
                    except OSError:
                        break
                    time.sleep(0.05)
            return time.monotonic() - started

        assert await asyncio.to_thread(trickle) < 1.8


async def test_bad_frames_log_a_line_or_two_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with hosted() as server:
        for _ in range(3):
            sock = await asyncio.to_thread(handshake, server.port)
            with sock:
                sock.sendall(frame(0x1, b"\xff") + frame(0x3, b"reserved opcode"))
                await asyncio.to_thread(read_close, sock)
        await asyncio.sleep(0.1)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
    assert "Traceback" not in caplog.text
