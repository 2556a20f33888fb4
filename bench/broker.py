"""A room spread over two nodes sharing Redis, against one node, on the same load.

    python bench/broker.py                       # 10 senders, 40 receivers, 300 msg/s, 3 reps
    python bench/broker.py --rate 1000 --messages 3000 --reps 1

Three set-ups, run alternately: ``one node`` (no broker: the baseline), ``one node + Redis``
and ``two nodes + Redis`` (members and senders split evenly over the nodes). Raw members send
``seq timestamp`` text frames at a fixed total rate; every receiver records arrival. Prints
server CPU µs per delivery (every node's CPU summed; Redis's CPU on its own), send-to-receive
latency p50/p99, losses, and the ratios to the one-node baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import cpu_seconds, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]
SETUPS = ("one node", "one node + Redis", "two nodes + Redis")


@contextmanager
def redis() -> Iterator[tuple[str, int]]:
    port = free_port()
    binary = shutil.which("redis-server")
    assert binary, "install redis-server (Debian: apt-get install redis-server)"
    with tempfile.TemporaryDirectory() as folder:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]  # fmt: skip
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL) as process:
            wait_listening(port)
            try:
                yield f"redis://127.0.0.1:{port}/0", process.pid
            finally:
                process.terminate()


@contextmanager
def node(broker: str | None) -> Iterator[tuple[int, int]]:
    port = free_port()
    argv = [
        sys.executable, "-m", "desktopchat", "serve", "--port", str(port), "--history", "off",
        "--no-advertise", "--rate", "0", "--max-members", "1000",
        *(["--broker", broker] if broker else []),
    ]  # fmt: skip
    with subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as p:
        try:
            wait_listening(port)
            yield port, p.pid
        finally:
            p.terminate()
            p.wait(10)


async def load(
    ports: list[int], senders: int, receivers: int, rate: float, count: int
) -> dict[str, Any]:
    arrivals: list[list[float]] = []
    receiving: list[ClientConnection] = []
    sending: list[ClientConnection] = []
    for n in range(receivers):
        ws = await connect(
            f"ws://127.0.0.1:{ports[n % len(ports)]}/chat?name=r{n}", proxy=None, max_size=None
        )
        receiving.append(ws)
    for n in range(senders):
        ws = await connect(f"ws://127.0.0.1:{ports[n % len(ports)]}/chat?name=s{n}", proxy=None)
        sending.append(ws)
    await asyncio.sleep(1.0)  # presence settles across nodes

    async def receive(ws: ClientConnection) -> None:
        latencies: list[float] = []
        arrivals.append(latencies)
        try:
            async with asyncio.timeout(count / rate + 20):
                async for frame in ws:
                    if isinstance(frame, str) and frame.startswith("m "):
                        latencies.append(time.perf_counter() - float(frame.split()[2]))
                        if len(latencies) == count:
                            return
        except TimeoutError:
            return

    readers = [asyncio.create_task(receive(ws)) for ws in receiving]
    interval = 1 / rate
    started = time.perf_counter()
    for n in range(count):
        await sending[n % senders].send(f"m {n} {time.perf_counter()}")
        delay = started + (n + 1) * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*readers)
    for ws in receiving + sending:
        await ws.close()
    latencies = sorted(x for each in arrivals for x in each)
    delivered = len(latencies)
    return {
        "delivered": delivered,
        "lost": receivers * count - delivered,
        "p50": 1000 * latencies[delivered // 2] if latencies else float("nan"),
        "p99": 1000 * latencies[int(delivered * 0.99)] if latencies else float("nan"),
    }


def measure(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        broker, redis_pid = (None, None)
        if setup != "one node":
            broker, redis_pid = stack.enter_context(redis())
        servers = [
            stack.enter_context(node(broker)) for _ in range(2 if setup.startswith("two") else 1)
        ]
        pids = [pid for _, pid in servers]
        before = [cpu_seconds(pid) for pid in pids]
        redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        result = asyncio.run(
            load(
                [port for port, _ in servers],
                args.senders,
                args.receivers,
                args.rate,
                args.messages,
            )
        )
        cpu = sum(cpu_seconds(pid) - was for pid, was in zip(pids, before, strict=True))
        redis_cpu = (cpu_seconds(redis_pid) - redis_before) if redis_pid else 0.0
    deliveries = max(1, result["delivered"])
    return {**result, "cpu_us": 1e6 * cpu / deliveries, "redis_us": 1e6 * redis_cpu / deliveries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--receivers", type=int, default=40)
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second, in all")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {setup: [] for setup in SETUPS}
    for _ in range(args.reps):
        for setup in SETUPS:
            runs[setup].append(measure(setup, args))

    def med(setup: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[setup])

    base = med("one node", "cpu_us")
    print(f"{args.senders} senders, {args.receivers} receivers, {args.rate:.0f} msg/s, "
          f"{args.messages} messages, median of {args.reps}")  # fmt: skip
    columns = ("set-up", "node CPU µs/delivery", "Redis CPU µs/delivery", "p50 ms", "p99 ms")
    print("| " + " | ".join((*columns, "lost", "node CPU ratio")) + " |")
    print("|---|---|---|---|---|---|---|")
    for setup in SETUPS:
        print(
            f"| {setup} | {med(setup, 'cpu_us'):.2f} | {med(setup, 'redis_us'):.2f} | "
            f"{med(setup, 'p50'):.2f} | {med(setup, 'p99'):.2f} | {med(setup, 'lost'):.0f} | "
            f"{med(setup, 'cpu_us') / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
