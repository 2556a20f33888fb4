"""A big message must not stall the server's loop (issue 20, goal 5).

The server runs in this process with SQLite history on (the default); a 10 ms asyncio timer
measures how late the loop runs while a structured member sends one 16 MiB file that is
stored and relayed to the other members. The members are a separate process, so their own
work does not count as the server's lag.

    python bench/big_message.py [--size-mib 16] [--receivers 3] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from desktopchat.server import HostedServer, Settings

TICK = 0.010


def client(port: int, size: int, receivers: int) -> None:
    """The members' side (run as ``--client PORT``): join, send the file, wait for it."""
    url = f"ws://127.0.0.1:{port}/chat"

    def member(name: str) -> ClientConnection:
        ws = stack.enter_context(
            connect(url, subprotocols=[Subprotocol("desktopchat.v1")], max_size=None, proxy=None)
        )
        ws.send(json.dumps({"type": "hello", "name": name}))
        ws.recv()  # welcome
        return ws

    stack = contextlib.ExitStack()
    others = [member(f"r{n}") for n in range(receivers)]
    sender = member("sender")
    head = json.dumps({"type": "binary", "name": "big.bin", "mime": "x/y", "cid": "c1"}).encode()
    started = time.perf_counter()
    # The file and its header within the server's limit for one message (16 MiB).
    body = b"\0" * (size - len(head) - 4)
    sender.send(struct.pack(">I", len(head)) + head + body)
    for ws in others:
        while not isinstance(frame := ws.recv(timeout=60), bytes):
            pass
        assert len(frame) > len(body)
    print(json.dumps({"relayed_s": time.perf_counter() - started}), flush=True)
    stack.close()


async def one_run(size: int, receivers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            port=0, history=Path(folder) / "history.sqlite3", rate=0, advertise=False
        )
        async with HostedServer(settings) as server:
            lags: list[float] = []
            stop = asyncio.Event()

            async def probe() -> None:
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    before = loop.time()
                    await asyncio.sleep(TICK)
                    lags.append((loop.time() - before - TICK) * 1000)

            probing = asyncio.create_task(probe())
            members = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client",
                str(server.port),
                "--size-mib",
                str(size // 2**20),
                "--receivers",
                str(receivers),
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(members.communicate(), 120)
            stop.set()
            await probing
    ordered = sorted(lags)
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    result.update(
        lag_p50_ms=ordered[len(ordered) // 2],
        lag_p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        lag_max_ms=ordered[-1],
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=16)
    parser.add_argument("--receivers", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--client", type=int, metavar="PORT")
    args = parser.parse_args()
    size = args.size_mib * 2**20
    if args.client:
        client(args.client, size, args.receivers)
        return
    runs = [asyncio.run(one_run(size, args.receivers)) for _ in range(args.reps)]
    for run in runs:
        print(json.dumps(run))
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"{args.size_mib} MiB to {args.receivers} members, SQLite history on, medians of "
        f"{args.reps}: relayed in {median['relayed_s']:.2f} s; loop lag p50 "
        f"{median['lag_p50_ms']:.2f} ms, p99 {median['lag_p99_ms']:.2f} ms (goal <= 5), "
        f"max {median['lag_max_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
