"""What a hostile peer sends gets a readable refusal: never a traceback, a stuck socket, a
poisoned room, a forged log line or a leaked token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from desktopchat.client import Received, Session
from tests.integration.conftest import V1, hosted, member, next_of, serve_process
from tests.integration.rawsocket import frame, handshake, read_close

HOSTILE_FRAMES = [
    ('{"type":"json","data":[1e999],"cid":"p1"}', "1e999"),
    ('{"type":"json","data":[-2e308],"cid":"p2"}', "too large"),
    ('{"type":"text","text":"\\ud800","cid":"p3"}', "lone surrogate"),
    ('{"type":"json","data":{"\\udfff":1},"cid":"p4"}', "lone surrogate"),
    ('{"type":"text","text":"ok","cid":"\\ud800"}', "lone surrogate"),
]


async def test_numbers_and_strings_json_cannot_carry_are_refused_not_stored() -> None:
    async with hosted() as server, member(server, "mallory") as ws:
        for data, why in HOSTILE_FRAMES:
            await ws.send(data)
            error = await next_of(ws, "error")
            assert error["code"] == "invalid-frame"
            assert why in error["message"]
        header = b'{"type":"binary","name":"\\ud800.bin","mime":"x/y","cid":"p5"}'
        await ws.send(len(header).to_bytes(4, "big") + header + b"data")
        assert (await next_of(ws, "error"))["code"] == "invalid-frame"
        await ws.send(json.dumps({"type": "text", "text": "fine", "cid": "ok"}))
        ack = await next_of(ws, "ack")
        assert ack["id"] == 1, "nothing hostile was stored"
        async with member(server, "newcomer") as newcomer:
            backlog = await next_of(newcomer, "text")
            assert (backlog["id"], backlog["text"]) == (1, "fine")


async def test_a_hello_key_with_a_lone_surrogate_is_refused_with_an_error_event() -> None:
    async with (
        hosted() as server,
        connect(f"ws://127.0.0.1:{server.port}/chat", subprotocols=V1, proxy=None) as ws,
    ):
        await ws.send('{"type":"hello","name":"a","key":"\\ud800"}')
        assert (await next_of(ws, "error"))["code"] == "invalid-frame"
        await ws.send('{"type":"hello","name":"a"}')
        assert (await next_of(ws, "welcome"))["name"] == "a"


async def test_raw_text_that_is_not_json_safe_is_relayed_as_the_text_it_is() -> None:
    async with (
        hosted() as server,
        member(server, "watcher") as watcher,
        connect(f"ws://127.0.0.1:{server.port}/chat", proxy=None) as raw,
    ):
        for text in ("[1e999]", '["\\ud800"]'):
            await raw.send(text)
            assert await asyncio.wait_for(raw.recv(), 5) == text
            assert (await next_of(watcher, "text"))["text"] == text


async def test_a_resume_beyond_the_rooms_history_is_answered_with_a_reset() -> None:
    async with hosted() as server:
        async with member(server, "writer") as ws:
            for n in range(3):
                await ws.send(json.dumps({"type": "text", "text": f"m{n}"}))
        async with member(server, "back", resume=999) as ws:
            pass
        async with connect(f"ws://127.0.0.1:{server.port}/chat", subprotocols=V1, proxy=None) as ws:
            await ws.send(json.dumps({"type": "hello", "name": "back", "resume": 999}))
            welcome = json.loads(await ws.recv())
            assert (welcome["reset"], welcome["resumed"], welcome["last_id"]) == (True, False, 3)
            assert [(await next_of(ws, "text"))["id"] for _ in range(3)] == [1, 2, 3]
        # The session starts over and receives the room's messages.
        session = Session(f"127.0.0.1:{server.port}", name="app")
        session.last_id = 999
        got: list[int] = []
        all_three = asyncio.Event()

        def record(event: object) -> None:
            if isinstance(event, Received):
                got.append(event.message.id)
                if len(got) == 3:
                    all_three.set()

        session.subscribe(record)
        await session.start()
        try:
            await asyncio.wait_for(all_three.wait(), 5)
        finally:
            await session.close()
        assert got == [1, 2, 3]


def http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        return response


@pytest.mark.parametrize("path", ["/", "/static/index.html", "/static/chat.js", "/nowhere"])
async def test_every_response_carries_the_security_headers(path: str) -> None:
    async with hosted() as server:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close"
        response = await asyncio.to_thread(http, server.port, (request + "\r\n\r\n").encode())
    head = response.split(b"\r\n\r\n")[0].decode().lower()
    assert "content-security-policy: default-src 'self'" in head
    assert "frame-ancestors 'none'" in head
    assert "x-content-type-options: nosniff" in head
    assert "x-frame-options: deny" in head


async def test_dns_rebinding_is_refused_on_the_page_and_the_room() -> None:
    async with hosted(allowed_hosts=("chat.example",)) as server:
        port = server.port

        def get(host: str) -> bytes:
            request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            return http(port, request.encode())

        assert (await asyncio.to_thread(get, f"rebind.example:{port}")).startswith(b"HTTP/1.1 400")
        for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"chat.example:{port}"):
            assert (await asyncio.to_thread(get, good)).startswith(b"HTTP/1.1 200"), good
        evil = f"Host: rebind.example:{port}\r\nOrigin: http://rebind.example:{port}\r\n"
        sock = await asyncio.to_thread(handshake, port, "/chat", headers=evil)
        assert await asyncio.to_thread(read_close, sock) == 1008
        sock.close()


def raw_head(port: int, path: str, host: str, pieces: int) -> tuple[socket.socket, bytes]:
    """Send a WebSocket head with header names in odd case, in ``pieces`` writes; the socket
    and the server's answer up to the end of its head."""
    head = (
        f"GET {path} HTTP/1.1\r\nhOsT: {host}\r\nUPGRADE: WebSocket\r\nconnection: upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    cut = len(head) // 2 if pieces == 2 else len(head)
    sock.sendall(head[:cut])
    if cut < len(head):
        time.sleep(0.2)  # a slow client: the rest comes in a read of its own
        sock.sendall(head[cut:])
    answer = b""
    while not answer.endswith(b"\r\n\r\n") and (byte := sock.recv(1)):
        answer += byte
    return sock, answer


def echoed(sock: socket.socket, text: bytes) -> bytes:
    sock.sendall(frame(0x1, text))
    received = b""
    while not received.endswith(text) and (chunk := sock.recv(65536)):
        received += chunk
    return received


@pytest.mark.parametrize("pieces", [1, 2])
async def test_a_websocket_head_opens_however_it_arrives_and_its_host_still_counts(
    pieces: int,
) -> None:
    """A head that came whole in the first read skips uvicorn's HTTP parser; one that comes
    in pieces goes through it. Either way header names are matched in any case: a ``hOsT``
    naming another site is refused (DNS rebinding), and the seed's echo answers."""
    async with hosted(allowed_hosts=("chat.example",)) as server:
        port = server.port
        sock, answer = await asyncio.to_thread(raw_head, port, "/ws", f"127.0.0.1:{port}", pieces)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        assert (await asyncio.to_thread(echoed, sock, b"echo me")).endswith(b"echo me")
        sock.close()
        evil = f"rebind.example:{port}"
        sock, answer = await asyncio.to_thread(raw_head, port, "/chat", evil, pieces)
        assert answer.startswith(b"HTTP/1.1 101"), "accepted, then closed with the reason"
        assert await asyncio.to_thread(read_close, sock) == 1008
        sock.close()


@pytest.mark.parametrize(
    "extra",
    [
        "".join(f"X-Header-{n}: y\r\n" for n in range(200)),
        "X-Long: " + "a" * 9000 + "\r\n",
    ],
    ids=["200 headers", "a 9 KiB header line"],
)
async def test_an_upgrade_head_the_websocket_layer_refuses_gets_an_answer_and_a_close(
    extra: str,
) -> None:
    async with hosted() as server:

        def probe() -> bytes:
            head = (
                f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            )
            return http(server.port, head.encode())

        answers = await asyncio.gather(*(asyncio.to_thread(probe) for _ in range(20)))
    for answer in answers:
        assert re.match(rb"HTTP/1.1 4\d\d ", answer), answer[:80]


def log_of(process: Any) -> str:
    process.terminate()
    process.wait(10)
    text: str = process.stderr.read()
    return text


async def test_what_peers_control_reaches_the_log_escaped_and_without_tokens() -> None:
    with serve_process("--history", "off", "--token", "SECRET", "-v") as (process, port):
        for path in (
            "/chat/%1b]0;pwned%07%1b[2J?token=SECRET",
            "/chat/a%c2%85forged?%74oken=SECRET",
            "/chat/b%e2%80%a8x?x=1;token=SECRET",
            "/chat/c!?x='&token=SECRET",
        ):
            async with connect(f"ws://127.0.0.1:{port}{path}", proxy=None) as ws:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
        sock = await asyncio.to_thread(handshake, port, "/chat?token=SECRET")
        sock.sendall(frame(0x1, b"\xff\xfe not utf-8"))
        assert await asyncio.to_thread(read_close, sock) == 1007
        sock.close()
        log = await asyncio.to_thread(log_of, process)
    for raw in ("\x1b", "\x07", "\x85", "\u2028", "SECRET", "Traceback"):
        assert raw not in log, repr(raw)
    assert "\\x1b]0;pwned\\x07" in log
    assert log.count("Invalid UTF-8") == 1


async def test_look_alike_names_do_not_pass_for_a_member() -> None:
    async with hosted() as server, member(server, "Ada"):
        fullwidth, cyrillic, bold = "\uff21\uff44\uff41", "\u0410da", "\U0001d400da"
        for impostor in (fullwidth, cyrillic, "Ada\u3164", "Ada\u2800", "Ada\u034f", bold):
            async with connect(
                f"ws://127.0.0.1:{server.port}/chat", subprotocols=V1, proxy=None
            ) as ws:
                await ws.send(json.dumps({"type": "hello", "name": impostor}))
                welcome = json.loads(await ws.recv())
                assert welcome["name"].endswith(" 2"), (impostor, welcome["name"])


def send_raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        with contextlib.suppress(TimeoutError, OSError):
            while chunk := sock.recv(4096):
                answer += chunk
        return answer


async def test_a_malformed_chunked_body_is_a_400_and_one_line_in_the_log() -> None:
    with serve_process("--history", "off") as (process, port):
        broken = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"
        answer = await asyncio.to_thread(send_raw_request, port, broken)
        assert answer.startswith(b"HTTP/1.1 400 ")
        log = await asyncio.to_thread(log_of, process)
    assert "Traceback" not in log
    assert len([line for line in log.splitlines() if "HTTP request" in line]) == 1
