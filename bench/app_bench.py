"""Benchmark of the app itself (scenario 6), offscreen:

1. UI event-loop lag (p50/p99) while the window hosts a room carrying 500 msg/s to 50 members;
2. how many messages per second a pane ingests while the loop stays responsive;
3. memory with 100 000 messages in the panes;
4. time from launch to hosting and joined (``desktopchat host``).

    QT_QPA_PLATFORM=offscreen python bench/app_bench.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer

from desktopchat.app import qt_loop
from desktopchat.app.hosting import ServerHoster
from desktopchat.app.window import application
from desktopchat.client import SessionState
from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.recent import SettingsStore
from desktopchat.server import Settings

HERE = Path(__file__).resolve().parent
TICK_MS = 10


class LagProbe:
    """A 10 ms Qt timer; how late each tick fires is the event loop's lag."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lags.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        ordered = sorted(self.lags) or [float("nan")]
        return {
            "lag_p50_ms": ordered[len(ordered) // 2],
            "lag_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "lag_max_ms": ordered[-1],
        }

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lags.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


def print_lags(phases: dict[str, dict[str, float]]) -> None:
    """A Markdown table of the event loop's lag in each phase (:meth:`LagProbe.stop`'s)."""
    print("| the window's event loop | lag p50 ms | lag p99 ms | lag max ms |")
    print("|---|---|---|---|")
    for phase, lag in phases.items():
        print(
            f"| {phase} | {lag['lag_p50_ms']:.2f} | {lag['lag_p99_ms']:.2f} "
            f"| {lag['lag_max_ms']:.1f} |"
        )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def until(predicate: object, within: float = 20.0) -> None:
    for _ in range(int(within / 0.02)):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


async def hosting_lag(window: MainWindow, probe: LagProbe) -> dict[str, float]:
    window.host_now(HostOptions(port=0, lan=False, history=False, name="host"))
    await until(lambda: window.controller.state is SessionState.OPEN)
    info = window.controller.host_info
    assert info is not None
    url = f"ws://127.0.0.1:{info.port}/chat"
    probe.start()
    load = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "load.py"),
        "flow",
        url,
        "--receivers",
        "50",
        "--messages",
        "3000",
        "--rate",
        "500",
        "--timeout",
        "30",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(load.communicate(), 90)
    result = probe.stop()
    result.update(json.loads(out.decode().strip().splitlines()[-1]))
    return result


async def ingest(window: MainWindow, probe: LagProbe, count: int = 100_000) -> dict[str, float]:
    model = window.room_view.models["text"]
    before = rss_mib()
    probe.start()
    started = time.perf_counter()
    batch = 1000
    for start in range(0, count, batch):
        for n in range(start, start + batch):
            model.append(
                MessageRow(
                    time=1_795_000_000_000 + n,
                    sender=f"user{n % 7}",
                    kind="text",
                    text=f"message {n} with some words to wrap around",
                )
            )
        await asyncio.sleep(0)  # let the frame timer flush and the view lay out
    # A followed list shows only its newest rows and holds the others (tail_rows()).
    await until(lambda: model.flush() is None and model.hidden + model.rowCount() >= count, 60)
    elapsed = time.perf_counter() - started
    lag = probe.stop()
    view = window.room_view.text_pane.view
    scroll_started = time.perf_counter()
    bar = view.verticalScrollBar()
    for step in range(50):
        bar.setValue(bar.maximum() * step // 50)
        await asyncio.sleep(0)
    scroll_ms = (time.perf_counter() - scroll_started) * 1000 / 50
    return {
        "ingest_msgs_per_s": count / elapsed,
        **{f"ingest_{k}": v for k, v in lag.items()},
        "rss_mib_100k_rows": rss_mib(),
        "rss_growth_mib_100k_rows": rss_mib() - before,
        "scroll_step_ms": scroll_ms,
    }


def launch_time() -> float:
    started = time.perf_counter()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktopchat",
            "host",
            "--port",
            "0",
            "--local",
            "--no-history",
            "--name",
            "bench",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if re.search(r"bench joined #chat", line):
                break
        elapsed = time.perf_counter() - started
        process.terminate()
        process.wait(timeout=15)
    return elapsed


async def main() -> None:
    # The load's single sender goes at 500 msg/s, past the default per-member rate limit.
    hoster = ServerHoster(Settings(rate=0))
    window = MainWindow(ChatController(hoster), SettingsStore(Path("/tmp/dc-bench.json")))
    window.resize(1100, 720)
    window.show()
    probe = LagProbe()
    results: dict[str, float] = {}
    try:
        results.update(await hosting_lag(window, probe))
        results.update(await ingest(window, probe))
    finally:
        await window.shutdown()
    results["launch_to_joined_s"] = statistics.median(launch_time() for _ in range(3))
    for key, value in results.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    application()
    qt_loop.run(main())
