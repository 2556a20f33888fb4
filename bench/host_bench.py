"""Hosting from the window against hosting headless (issue 20, goal 3), offscreen:

the same paced load (``load.py flow``: 1 sender, N receivers) into a room hosted by the
window in this process (``desktopchat host``: the room on its server thread, the window a
member that shows every message) and into ``desktopchat serve`` in a process of its own,
alternating, medians of the repetitions. Reported: CPU per delivery (the window's whole
process: server thread, window member, painting), send-to-receive latency, and the
window's event-loop lag (a 10 ms Qt timer) while it hosts.

    QT_QPA_PLATFORM=offscreen python bench/host_bench.py [--rate 2000] [--receivers 50]
                                                         [--messages 20000] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_bench import LagProbe, until
from run import PEERS, cpu_seconds, free_port

from desktopchat.app import qt_loop
from desktopchat.app.hosting import ServerHoster
from desktopchat.app.window import application
from desktopchat.client import SessionState
from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import SettingsStore
from desktopchat.server import Settings

HERE = Path(__file__).resolve().parent


async def load(url: str, args: argparse.Namespace) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "load.py"),
        "flow",
        url,
        "--receivers",
        str(args.receivers),
        "--messages",
        str(args.messages),
        "--rate",
        str(args.rate),
        "--timeout",
        "60",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 180)
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def hosted_by_window(window: MainWindow, args: argparse.Namespace) -> dict[str, float]:
    window.host_now(HostOptions(port=0, lan=False, history=False, name="host"))
    await until(lambda: window.controller.state is SessionState.OPEN)
    info = window.controller.host_info
    assert info is not None
    server = next(t for t in threading.enumerate() if t.name == "desktopchat-server")
    here = os.getpid()
    probe = LagProbe()
    probe.start()
    cpu, server_cpu = time.process_time(), cpu_seconds(here, server.native_id)
    result = await load(f"ws://127.0.0.1:{info.port}/chat", args)
    deliveries = result["deliveries"]
    result["cpu_us_per_delivery"] = (time.process_time() - cpu) * 1e6 / deliveries
    server_cpu = cpu_seconds(here, server.native_id) - server_cpu
    result["server_thread_us_per_delivery"] = server_cpu * 1e6 / deliveries
    result.update(probe.stop())
    return result


async def served_headless(args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    # The same `serve` as bench/run.py's desktopchat (history off, no rate limit).
    argv = next(peer for peer in PEERS if peer.name == "desktopchat").argv(port, False)
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert process.stdout is not None
    await process.stdout.readline()  # "desktopchat is serving on port …": it accepts now
    cpu = cpu_seconds(process.pid)
    result = await load(f"ws://127.0.0.1:{port}/chat", args)
    result["cpu_us_per_delivery"] = (cpu_seconds(process.pid) - cpu) * 1e6 / result["deliveries"]
    process.terminate()
    await asyncio.wait_for(process.wait(), 15)
    return result


KEYS = (
    "cpu_us_per_delivery",
    "server_thread_us_per_delivery",
    "p50_ms",
    "p99_ms",
    "lost",
    "lag_p50_ms",
    "lag_p99_ms",
)


async def main(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, float]]] = {"host": [], "serve": []}
    for rep in range(args.reps):
        hoster = ServerHoster(Settings(rate=0))
        window = MainWindow(ChatController(hoster), SettingsStore(Path("/tmp/dc-host-bench.json")))
        window.resize(1100, 720)
        window.show()
        try:
            runs["host"].append(await hosted_by_window(window, args))
        finally:
            await window.shutdown()
            window.close()
        runs["serve"].append(await served_headless(args))
        print(f"rep {rep + 1}: " + json.dumps({k: v[-1] for k, v in runs.items()}), flush=True)
    medians = {
        name: {k: statistics.median(r.get(k, float("nan")) for r in rs) for k in KEYS}
        for name, rs in runs.items()
    }
    print(f"\n{args.rate:g} msg/s into {args.receivers} receivers, medians of {args.reps}:")
    print(
        "| server | cpu_us/delivery | server thread | p50_ms | p99_ms | lost "
        "| UI lag p50 | UI lag p99 |"
    )
    for name, m in medians.items():
        print(
            f"| {name} | {m['cpu_us_per_delivery']:.2f} | {m['server_thread_us_per_delivery']:.2f}"
            f" | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} "
            f"| {m['lost']:g} | {m['lag_p50_ms']:.2f} | {m['lag_p99_ms']:.2f} |"
        )
    host, serve = medians["host"], medians["serve"]
    cpu = host["cpu_us_per_delivery"] / serve["cpu_us_per_delivery"]
    server_cpu = host["server_thread_us_per_delivery"] / serve["cpu_us_per_delivery"]
    print(
        f"host / serve: CPU per delivery {cpu:.2f}x, the server thread alone {server_cpu:.2f}x"
        f" (goal <= 1.25), p99 {host['p99_ms'] / serve['p99_ms']:.2f}x (goal <= 2),"
        f" UI lag p99 {host['lag_p99_ms']:.1f} ms (goal <= 16)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=3)
    application()
    qt_loop.run(main(parser.parse_args()))
