"""Real uvicorn on 127.0.0.1 (a free port) with real clients."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from desktopchat.protocol import SUBPROTOCOL
from desktopchat.server import HostedServer, Settings

ROOT = str(Path(__file__).resolve().parents[2])
V1 = [Subprotocol(SUBPROTOCOL)]
LOCAL = Settings(host="127.0.0.1", port=0, history=None, advertise=False)

Serve = Callable[..., AbstractAsyncContextManager[HostedServer]]


@asynccontextmanager
async def hosted(settings: Settings = LOCAL, **changes: Any) -> AsyncIterator[HostedServer]:
    """A server on the current loop for the duration of the block."""
    async with HostedServer(replace(settings, **changes)) as server:
        yield server


def url(server: HostedServer, path: str = "/chat") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


@asynccontextmanager
async def member(
    server: HostedServer, name: str, path: str = "/chat", **hello: Any
) -> AsyncIterator[ClientConnection]:
    """A structured member that has said hello and read its welcome."""
    async with connect(url(server, path), subprotocols=V1, proxy=None) as ws:
        await ws.send(json.dumps({"type": "hello", "name": name, **hello}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        yield ws


async def next_of(ws: ClientConnection, kind: str, within: float = 5.0) -> dict[str, Any]:
    """The next JSON event of type ``kind`` (skipping others), within ``within`` seconds."""
    import asyncio

    async with asyncio.timeout(within):
        while True:
            frame = await ws.recv()
            if isinstance(frame, str):
                event: dict[str, Any] = json.loads(frame)
                if event["type"] == kind:
                    return event


def read_line(stream: IO[str], pattern: str, within: float) -> str:
    """The first line of ``stream`` matching ``pattern`` within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} within {within} s")


@contextmanager
def serve_process(*flags: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``desktopchat serve`` as a process; yields it and its port."""
    argv = [sys.executable, "-m", "desktopchat", "serve", "--port", "0", "--no-advertise", *flags]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as process:
        try:
            assert process.stdout is not None
            found = re.search(r"port (\d+)", read_line(process.stdout, "serving on port", 15))
            assert found is not None
            yield process, int(found.group(1))
        finally:
            if process.poll() is None:
                process.kill()


def process_memory(pid: int, key: str = "VmRSS") -> int:
    """A process's memory figure from ``/proc`` in bytes: ``VmRSS`` (resident now) or
    ``VmHWM`` (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for process {pid}")
