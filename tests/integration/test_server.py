"""The server under real uvicorn on 127.0.0.1, with the seed's clients and ``websockets``."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
import subprocess
import sys
from dataclasses import replace

import pytest
import websocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from desktopchat.server import HostedServer
from desktopchat.server.web.runner import bind_socket
from tests.integration.conftest import LOCAL, ROOT, hosted, member, next_of, serve_process, url


def seed_one_liner(port: int) -> str:
    """The tutorial's websocket-client snippet, with the port of the test server."""
    ws = websocket.create_connection(f"ws://localhost:{port}/ws")
    ws.send("hello")
    answer = str(ws.recv())
    ws.close()
    return answer


async def test_the_seeds_websocket_client_one_liner_gets_its_echo() -> None:
    async with hosted() as server:
        assert await asyncio.to_thread(seed_one_liner, server.port) == "Echo: hello"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_seeds_one_liner_works_against_desktopchat_serve_as_printed(loop: str) -> None:
    with serve_process("--history", "off", "--loop", loop) as (process, port):
        code = (
            "import websocket\n"
            f"ws = websocket.create_connection('ws://localhost:{port}/ws')\n"
            "ws.send('hello')\n"
            "print(ws.recv()) # Echo: hello\n"
            "ws.close()\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT
        )
        assert result.stdout == "Echo: hello\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


async def test_echo_returns_text_prefixed_and_bytes_unchanged_over_the_network() -> None:
    async with hosted() as server, connect(url(server, "/ws"), proxy=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "Echo: hello"
        await ws.send(b"\x00\x01\x02")
        assert await ws.recv() == b"\x00\x01\x02"


async def test_raw_and_structured_members_interoperate_in_all_three_formats() -> None:
    async with (
        hosted() as server,
        connect(url(server, "/chat/mix?name=raw"), proxy=None) as raw,
        member(server, "v1", "/chat/mix") as v1,
    ):
        await raw.send("plain")
        await raw.send('{"type": "update", "data": [1, 2, 3]}')
        await raw.send(b"\x00\x01\x02")
        assert (await next_of(v1, "text"))["text"] == "plain"
        assert (await next_of(v1, "json"))["data"] == {"type": "update", "data": [1, 2, 3]}
        frame = await asyncio.wait_for(v1.recv(), 5)
        assert isinstance(frame, bytes)
        (length,) = struct.unpack_from(">I", frame)
        header = json.loads(frame[4 : 4 + length])
        assert (header["sender"], frame[4 + length :]) == ("raw", b"\x00\x01\x02")
        # The raw member hears itself (the seed's room includes the sender) ...
        assert [await raw.recv() for _ in range(3)] == [
            "plain",
            '{"type": "update", "data": [1, 2, 3]}',
            b"\x00\x01\x02",
        ]
        # ... and structured messages as bare frames.
        await v1.send(json.dumps({"type": "text", "text": "hi raw"}))
        await v1.send(json.dumps({"type": "json", "data": [1]}))
        head = json.dumps({"type": "binary", "name": "b", "mime": "x/y"}).encode()
        await v1.send(struct.pack(">I", len(head)) + head + b"\xff")
        assert [await asyncio.wait_for(raw.recv(), 5) for _ in range(3)] == [
            "hi raw",
            "[1]",
            b"\xff",
        ]


@pytest.mark.parametrize("path", ["/ws", "/chat", "/chat/room"])
async def test_a_wrong_token_is_refused_with_1008_and_the_right_one_accepted(path: str) -> None:
    async with hosted(token="s3cret") as server:
        async with connect(url(server, path + "?token=nope"), proxy=None) as ws:
            with pytest.raises(ConnectionClosed) as refused:
                await asyncio.wait_for(ws.recv(), 5)
        assert refused.value.rcvd is not None
        assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (1008, "invalid token")
        async with connect(url(server, path + "?token=s3cret"), proxy=None) as ws:
            await ws.send("hello")
            assert await asyncio.wait_for(ws.recv(), 5) in ("Echo: hello", "hello")


async def test_a_foreign_origin_is_refused_with_1008_and_the_reason() -> None:
    async with (
        hosted() as server,
        connect(url(server), origin="http://evil.example", proxy=None) as ws,  # type: ignore[arg-type]
    ):
        with pytest.raises(ConnectionClosed) as refused:
            await asyncio.wait_for(ws.recv(), 5)
    assert refused.value.rcvd is not None
    assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (1008, "origin not allowed")


async def test_a_busy_port_is_an_os_error_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HostedServer(replace(LOCAL, port=taken.getsockname()[1]))
        with pytest.raises(OSError, match="in use"):
            await server.start()


async def test_stopping_the_server_closes_every_member_with_1001_and_frees_the_port() -> None:
    async with hosted() as server:
        port = server.port
        async with member(server, "a") as ws:
            await server.stop()
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
    # Free for the next server (which, like any server, sets SO_REUSEADDR for TIME_WAIT).
    bind_socket("127.0.0.1", port).close()


async def test_sigterm_closes_members_with_1001_and_exits_0_without_logging_the_token() -> None:
    with serve_process("--history", "off", "--token", "TOPSECRET", "-v") as (process, port):
        async with connect(f"ws://127.0.0.1:{port}/chat?token=TOPSECRET&name=a", proxy=None) as ws:
            await ws.send("hi")
            assert await asyncio.wait_for(ws.recv(), 5) == "hi"
            process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
        assert await asyncio.to_thread(process.wait, 5) == 0
        assert process.stderr is not None
        log = process.stderr.read()
        assert "/chat?token=[redacted]&name=a" in log
        assert "TOPSECRET" not in log


async def test_the_page_is_served_at_the_root() -> None:
    async with hosted() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await writer.wait_closed()
        assert response.startswith(b"HTTP/1.1 200")
        assert b"content-security-policy" in response.lower()
