"""The load side of a benchmark: lean WebSocket clients in one process, printing one JSON line.

    python bench/load.py flow URL --receivers 50 --messages 2000 --size 128 [--binary]
                              [--rate 500] [--structured] [--stall] [--compression]
    python bench/load.py idle URL --connections 1000    # lean raw clients: the server's rate

Every wait is bounded (``--timeout``); what did not arrive in time counts as lost.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.typing import Subprotocol

STRUCTURED = [Subprotocol("desktopchat.v1")]


def payload(seq: int, size: int, binary: bool) -> str | bytes:
    head = struct.pack(">QQ", seq, time.perf_counter_ns())
    if binary:
        return head + b"\0" * max(0, size - len(head))
    text = base64.b16encode(head).decode()
    return text + "x" * max(0, size - len(text))


def parse(frame: str | bytes, structured: bool) -> tuple[int, int] | None:
    if structured:
        if isinstance(frame, bytes):
            (length,) = struct.unpack_from(">I", frame)
            body: str | bytes = frame[4 + length :]
        else:
            event = json.loads(frame)
            if event.get("type") != "text":
                return None
            body = event["text"]
    else:
        body = frame
    head = body[:16] if isinstance(body, bytes) else base64.b16decode(body[:32])
    seq, sent = struct.unpack(">QQ", head)
    return seq, sent


@dataclass
class Receiver:
    expected: int
    structured: bool
    latencies: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    last_seq: int = -1
    reordered: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, ws: ClientConnection) -> None:
        async for frame in ws:
            parsed = parse(frame, self.structured)
            if parsed is None:
                continue
            seq, sent = parsed
            now = time.perf_counter_ns()
            self.latencies.append((now - sent) / 1e6)
            self.arrivals.append(now / 1e6)
            if seq != self.last_seq + 1:
                self.reordered += 1
            self.last_seq = seq
            if len(self.latencies) >= self.expected:
                self.done.set()
                return


async def open_member(url: str, structured: bool, compression: bool) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=STRUCTURED if structured else None,
        compression="deflate" if compression else None,
        max_size=None,
        proxy=None,
        ping_interval=None,
        open_timeout=30,
        close_timeout=1,
    )
    if structured:
        await ws.send(json.dumps({"type": "hello", "name": "bench"}))
        await ws.recv()  # welcome
    return ws


def stalled_member(url: str) -> socket.socket:
    """A member that completes the handshake and never reads again."""
    host_port = url.split("/")[2]
    host, port = host_port.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.recv(4096)
    return sock


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def flow(args: argparse.Namespace) -> dict[str, Any]:
    receivers = [Receiver(args.messages, args.structured) for _ in range(args.receivers)]
    sockets = [await open_member(args.url, args.structured, args.compression) for _ in receivers]
    sender = await open_member(args.url, args.structured, args.compression)
    stalled = await asyncio.to_thread(stalled_member, args.url) if args.stall else None
    await asyncio.sleep(0.5)  # every join has settled
    tasks = [asyncio.create_task(r.run(ws)) for r, ws in zip(receivers, sockets, strict=True)]
    drain = asyncio.create_task(drain_own(sender))
    interval = 1 / args.rate if args.rate else 0.0
    started = time.perf_counter()
    for seq in range(args.messages):
        body = payload(seq, args.size, args.binary)
        if args.structured and not args.binary:
            await sender.send(json.dumps({"type": "text", "text": body}))
        elif args.structured:
            head = b'{"type":"binary","name":"b","mime":"x/y"}'
            await sender.send(struct.pack(">I", len(head)) + head + body)  # type: ignore[operator]
        else:
            await sender.send(body)
        if interval:
            await asyncio.sleep(max(0.0, started + (seq + 1) * interval - time.perf_counter()))
    try:
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*(r.done.wait() for r in receivers))
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - started
    for task in [*tasks, drain]:
        task.cancel()
    await asyncio.gather(*tasks, drain, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in [*sockets, sender]))
    if stalled is not None:
        stalled.close()
    latencies = [x for r in receivers for x in r.latencies]
    gaps = [b - a for r in receivers for a, b in zip(r.arrivals, r.arrivals[1:], strict=False)]
    delivered = len(latencies)
    return {
        "deliveries": delivered,
        "elapsed": elapsed,
        "rate": delivered / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "lost": args.messages * args.receivers - delivered,
        "reordered": sum(r.reordered for r in receivers),
        "on_time": sum(1 for x in latencies if x <= 50) / delivered if delivered else 0.0,
        "max_gap_ms": max(gaps) if gaps else float("nan"),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
    }


async def drain_own(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


class LeanMember:
    """A raw member on asyncio streams: one fixed handshake written, the 101 read, frames read
    by hand. It costs the load side a few tens of microseconds per connect, where a
    ``websockets`` client costs most of a millisecond: with it, the connect rate measures
    the server, not the client."""

    HEAD = (
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> LeanMember:
        host = url.split("/")[2]
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        name, port = host.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(name, int(port))
        writer.write(cls.HEAD.format(path=path, host=host).encode())
        answer = await reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(answer[:40].decode(errors="replace"))
        return cls(reader, writer)

    def send(self, data: str | bytes) -> None:
        text = isinstance(data, str)
        body = data.encode() if isinstance(data, str) else data
        frame = WireFrame(Opcode.TEXT if text else Opcode.BINARY, body)
        self.writer.write(frame.serialize(mask=True, extensions=[]))

    async def recv(self) -> bytes:
        head = await self.reader.readexactly(2)
        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", await self.reader.readexactly(8))
        return await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.write(WireFrame(Opcode.CLOSE, b"\x03\xe8").serialize(mask=True, extensions=[]))
        self.writer.close()


async def idle(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    members = [await LeanMember.open(args.url) for _ in range(args.connections)]
    connected = time.perf_counter() - started
    sent = time.perf_counter()
    members[0].send(payload(0, 128, False))
    delivered = 0

    async def one(member: LeanMember) -> None:
        nonlocal delivered
        await member.recv()
        delivered += 1

    try:
        async with asyncio.timeout(args.timeout):
            await asyncio.gather(*(one(member) for member in members))
    except TimeoutError:
        pass
    fanout = time.perf_counter() - sent
    for member in members:
        member.close()
    return {
        "connect_rate": args.connections / connected,
        "fanout_s": fanout,
        "delivered": delivered,
        "lost": args.connections - delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["flow", "idle"])
    parser.add_argument("url")
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--binary", action="store_true")
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--structured", action="store_true")
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--compression", action="store_true")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    # uvloop, when installed, makes the load lighter: the servers, not the load, should be
    # what a 2-core machine runs out of first.
    try:
        import uvloop
    except ImportError:
        run = asyncio.run
    else:
        run = uvloop.run
    result = run(flow(args) if args.mode == "flow" else idle(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
