"""Presence cost as a room grows: server CPU and the bytes the first member receives while
N structured members join one after the other, for desktopchat.v1 (every presence event
carries the whole member list) and desktopchat.v2 (only the change), measured in one run.

    python bench/presence.py                 # 400 and 1200 members, both dialects, 3 reps
    python bench/presence.py --sizes 200 600 --reps 1

Prints CPU seconds for the joins, joins per second, presence bytes at the first member, and
the growth ratios (1200 vs 400: linear would be 3x, the goal is at most 4x).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import cpu_seconds, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]


async def join_all(port: int, dialect: str, count: int, pid: int) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/chat"
    members: list[ClientConnection] = []
    received = 0
    first_done = asyncio.Event()

    async def first_member_reader(ws: ClientConnection) -> None:
        nonlocal received
        async for frame in ws:
            received += len(frame)
            if isinstance(frame, str) and f'"name":"m{count - 1}"' in frame:
                first_done.set()

    before = cpu_seconds(pid)
    started = time.perf_counter()
    reader: asyncio.Task[None] | None = None
    try:
        for n in range(count):
            ws = await connect(url, subprotocols=[Subprotocol(dialect)], proxy=None)
            await ws.send(json.dumps({"type": "hello", "name": f"m{n}"}))
            await ws.recv()  # the welcome
            members.append(ws)
            if n == 0:
                reader = asyncio.create_task(first_member_reader(ws))
        await asyncio.wait_for(first_done.wait(), 60)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - before
    finally:
        if reader is not None:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in members), return_exceptions=True)
    return {"cpu": cpu, "joins_per_s": count / elapsed, "first_member_bytes": received}


def measure(dialect: str, count: int) -> dict[str, Any]:
    port = free_port()
    argv = [
        sys.executable, "-m", "desktopchat", "serve", "--port", str(port), "--history", "off",
        "--no-advertise", "--rate", "0", "--max-members", str(count + 10),
    ]  # fmt: skip
    with subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as server:
        try:
            wait_listening(port)
            return asyncio.run(join_all(port, dialect, count, server.pid))
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[400, 1200])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    small, large = args.sizes
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(args.reps):  # alternate, so drift on a shared machine hits all alike
        for dialect in ("desktopchat.v1", "desktopchat.v2"):
            for count in (small, large):
                results.setdefault((dialect, count), []).append(measure(dialect, count))

    def med(dialect: str, count: int, key: str) -> float:
        return statistics.median(run[key] for run in results[(dialect, count)])

    print(f"{'dialect':16} {'members':>7} {'cpu s':>7} {'joins/s':>8} {'1st member bytes':>17}")
    for dialect, count in results:
        print(
            f"{dialect:16} {count:7d} {med(dialect, count, 'cpu'):7.2f} "
            f"{med(dialect, count, 'joins_per_s'):8.0f} "
            f"{med(dialect, count, 'first_member_bytes'):17,.0f}"
        )
    for dialect in ("desktopchat.v1", "desktopchat.v2"):
        growth = med(dialect, large, "cpu") / med(dialect, small, "cpu")
        print(f"{dialect}: CPU for {large} joins / CPU for {small} = {growth:.1f}x (goal <= 4x)")


if __name__ == "__main__":
    main()
