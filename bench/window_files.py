"""The window's UI lag while a big file goes through it, offscreen.

    QT_QPA_PLATFORM=offscreen python bench/window_files.py [--size-mib 2048]

One window hosts a room (its server on the window's own server thread, as people run it)
and sends a file from its Files tab; a second window in the same process, joined as a
guest, downloads it. A 10 ms Qt timer measures how late the event loop runs during each
transfer (the goal: p99 under 16 ms, one frame at 60 Hz), against the same timer with
nothing going on, measured in the same run. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_bench import LagProbe, print_lags, until
from files import MiB, make_file

from desktopchat.app import qt_loop
from desktopchat.app.hosting import ServerHoster
from desktopchat.app.window import application
from desktopchat.client import SessionState
from desktopchat.client.transfers import State
from desktopchat.gui.controller import ChatController
from desktopchat.gui.hosting import HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import SettingsStore


def window(settings: Path) -> MainWindow:
    shown = MainWindow(ChatController(ServerHoster()), SettingsStore(settings))
    shown.resize(1100, 720)
    shown.show()
    return shown


async def main(size_mib: int) -> None:
    with tempfile.TemporaryDirectory(prefix="desktopchat-window-files-") as folder:
        work = Path(folder)
        source = work / "big.bin"
        make_file(source, size_mib * MiB)
        host, guest = window(work / "host.json"), window(work / "guest.json")
        probe = LagProbe()
        results: dict[str, dict[str, float]] = {}
        try:
            probe.start()
            await asyncio.sleep(5)
            results["idle"] = probe.stop()

            host.host_now(HostOptions(port=0, lan=False, history=False, name="host"))
            await until(lambda: host.controller.state is SessionState.OPEN)
            info = host.controller.host_info
            assert info is not None
            guest.controller.join(f"127.0.0.1:{info.port}", "guest", "")
            await until(lambda: guest.controller.state is SessionState.OPEN)

            probe.start()
            started = time.perf_counter()
            host.controller.send_paths([source])
            sent = host.controller.transfers.items
            await until(lambda: bool(sent) and sent[-1].state is State.DONE, 600)
            up = time.perf_counter() - started
            results["sending"] = probe.stop()

            offered = guest.controller.transfers.items
            await until(lambda: bool(offered), 30)
            probe.start()
            started = time.perf_counter()
            guest.controller.fetch(offered[-1], work / "received")
            await until(lambda: offered[-1].state in (State.DONE, State.FAILED), 600)
            down = time.perf_counter() - started
            results["fetching"] = probe.stop()
            assert offered[-1].state is State.DONE, offered[-1].error
        finally:
            await host.shutdown()
            await guest.shutdown()
    print(f"{size_mib} MiB through a window that hosts (no TLS on loopback):")
    print(f"sent at {size_mib / up:.0f} MiB/s, fetched at {size_mib / down:.0f} MiB/s")
    print_lags(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    args = parser.parse_args()
    application()
    qt_loop.run(main(args.size_mib))
