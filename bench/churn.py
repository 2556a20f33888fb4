"""Memory under churn: members join and leave all the time while others talk; does the
server's memory stay flat once warm, and come back down when everyone has left?

    .venv/bin/python bench/churn.py --minutes 30                   # desktopchat alone
    .venv/bin/python bench/churn.py --minutes 10 --peers desktopchat,broadcast

Each server (``bench/run.py``'s peers) gets the same load for ``--minutes``: ``--steady``
members who stay and send ``--rate`` messages a second between them (with client ids, as
the app sends), and ``--churners`` connections that each join (structured, with a new name),
stay a random 0.2 to 2 s reading, and leave, over and over. The server's RSS is sampled every
``--every`` seconds; the report gives RSS at warm-up (after ``--warmup`` minutes), at the
end, the slope after warm-up in MB per 10 minutes (least squares), and RSS a while after
every client has left. A leak shows as a slope that does not fall to noise in a longer run.
Every loop is bounded by the run's deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import STRUCTURED
from run import PEERS, memory_kib, running

MB = 1024 * 1024


async def steady_member(url: str, name: str, rate: float, deadline: float, sent: list[int]) -> None:
    """Stays the whole run and sends ``rate`` messages a second (its client ids count up)."""
    async with connect(url, subprotocols=STRUCTURED, proxy=None, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello", "name": name}))
        reading = asyncio.ensure_future(_drain(ws))
        try:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                await ws.send(json.dumps({"type": "text", "text": f"{name} {n}", "cid": f"c{n}"}))
                sent[0] += 1
                await asyncio.sleep(1 / rate)
        finally:
            reading.cancel()


async def _drain(ws: object) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:  # type: ignore[attr-defined]
            pass


async def churner(url: str, number: int, deadline: float, joins: list[int]) -> None:
    """Joins, reads for a while, leaves; again, until the deadline."""
    round_ = 0
    while time.monotonic() < deadline:
        round_ += 1
        with contextlib.suppress(OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
            async with asyncio.timeout(10):
                async with connect(url, subprotocols=STRUCTURED, proxy=None) as ws:
                    await ws.send(json.dumps({"type": "hello", "name": f"churn{number}-{round_}"}))
                    joins[0] += 1
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(random.uniform(0.2, 2.0)):
                            await _drain(ws)
        await asyncio.sleep(random.uniform(0.0, 0.2))


async def soak(url: str, pid: int, args: argparse.Namespace) -> dict[str, object]:
    start = time.monotonic()
    deadline = start + args.minutes * 60
    sent, joins = [0], [0]
    samples: list[tuple[float, float]] = []  # (minutes, RSS MB)
    tasks = [
        asyncio.ensure_future(
            steady_member(url, f"steady{n}", args.rate / args.steady, deadline, sent)
        )
        for n in range(args.steady)
    ] + [asyncio.ensure_future(churner(url, n, deadline, joins)) for n in range(args.churners)]
    while time.monotonic() < deadline:
        await asyncio.sleep(min(args.every, max(0.0, deadline - time.monotonic())))
        minutes = (time.monotonic() - start) / 60
        rss = memory_kib(pid, "VmRSS") / 1024
        samples.append((minutes, rss))
        print(
            f"  {minutes:6.1f} min  RSS {rss:7.1f} MB  joins {joins[0]}  sent {sent[0]}", flush=True
        )
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(args.settle)
    after = memory_kib(pid, "VmRSS") / 1024
    warm = [(m, r) for m, r in samples if m >= args.warmup]
    slope = 0.0
    if len(warm) >= 2:
        slope = statistics.linear_regression([m for m, _ in warm], [r for _, r in warm]).slope
    return {
        "joins": joins[0],
        "sent": sent[0],
        "rss_at_warmup_mb": round(warm[0][1], 1) if warm else None,
        "rss_at_end_mb": round(samples[-1][1], 1) if samples else None,
        "slope_mb_per_10min": round(slope * 10, 2),
        "rss_after_all_left_mb": round(after, 1),
    }


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3, help="minutes before the slope")
    parser.add_argument("--steady", type=int, default=20)
    parser.add_argument("--rate", type=float, default=300, help="messages/s among the steady")
    parser.add_argument("--churners", type=int, default=100)
    parser.add_argument("--every", type=float, default=30, help="seconds between RSS samples")
    parser.add_argument("--settle", type=float, default=20, help="seconds after all left")
    parser.add_argument("--peers", default="desktopchat")
    args = parser.parse_args()
    wanted = args.peers.split(",")
    results = {}
    for peer in (p for p in PEERS if p.name in wanted):
        print(f"== {peer.name}", flush=True)
        with running(peer, compression=False) as (pid, port):
            results[peer.name] = asyncio.run(soak(f"ws://127.0.0.1:{port}{peer.path}", pid, args))
        print(json.dumps(results[peer.name]), flush=True)
    print("\n| server | joins | sent | RSS warm | RSS end | slope MB/10 min | RSS after all left |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['joins']} | {r['sent']} | {r['rss_at_warmup_mb']} | "
            f"{r['rss_at_end_mb']} | {r['slope_mb_per_10min']} | {r['rss_after_all_left_mb']} |"
        )


if __name__ == "__main__":
    main()
