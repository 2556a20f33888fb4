"""The window with many rooms open (issue 31), offscreen:

    QT_QPA_PLATFORM=offscreen python bench/rooms_window.py [--rooms 20] [--rate 50]

A server runs in a process of its own with ``--rooms`` rooms; the window opens every one
of them (as links handed over, each beside the others) and keeps the first in front. A
second process sends ``--rate`` messages a second into each of the other rooms, which are
in the background. A 10 ms Qt timer measures how late the window's event loop runs: with
nothing going on (the peer, measured in the same run) and with the traffic (the goal: p99
under 16 ms, one frame at 60 Hz). Memory: the resident size with one room open, with all
of them, and after the traffic, per background room. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_bench import LagProbe, print_lags, rss_mib, until

from desktopchat.app import qt_loop
from desktopchat.app.hosting import ServerHoster
from desktopchat.app.window import application
from desktopchat.client import Session, SessionState
from desktopchat.gui.controller import ChatController
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import SettingsStore

SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def send(port: int, rooms: int, rate: int, seconds: int) -> None:
    """Sender process: ``rate`` messages a second into rooms r1 … r(rooms-1)."""
    sessions = [
        Session(f"ws://127.0.0.1:{port}/chat/r{n}", name=f"bot{n}") for n in range(1, rooms)
    ]
    await asyncio.gather(*(session.start() for session in sessions))
    started = time.perf_counter()
    sent = 0
    try:
        for tick in range(rate * seconds):
            for session in sessions:
                await session.send_text(f"message {tick} with a few words of chat in it")
                sent += 1
            # Paced to the wall clock: late ticks catch up instead of drifting.
            delay = started + (tick + 1) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(2)  # the last messages reach the room before the close
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    print(f"sent {sent} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


async def main(rooms: int, rate: int) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "desktopchat", "serve", "--port", str(port)),
        *("--history", "off", "--rate", "0", "--no-advertise", "--tls", "off"),
        *("--files-max-bytes", "0", "--max-rooms", str(rooms + 5)),
        stderr=asyncio.subprocess.DEVNULL,
    )
    settings = Path(f"/tmp/dc-rooms-bench-{os.getpid()}.json")
    window = MainWindow(ChatController(ServerHoster()), SettingsStore(settings))
    window.remembered.name = "me"
    window.resize(1100, 720)
    window.show()
    probe = LagProbe()
    results: dict[str, float] = {}
    try:
        await until(lambda: _answers(port), 20)
        window.open_link(f"ws://127.0.0.1:{port}/chat/r0")
        first = window.conversations[0]
        await until(lambda: first.controller.state is SessionState.OPEN)
        results["rss_one_room_mib"] = rss_mib()
        for n in range(1, rooms):
            window.open_link(f"ws://127.0.0.1:{port}/chat/r{n}")
        await until(
            lambda: all(c.controller.state is SessionState.OPEN for c in window.conversations),
            60,
        )
        window.show_conversation(first)
        await asyncio.sleep(1)
        results["rss_all_rooms_mib"] = rss_mib()
        probe.start()
        await asyncio.sleep(5)
        idle = probe.stop()
        sender = await asyncio.create_subprocess_exec(
            *(sys.executable, __file__, "--send", str(port)),
            *("--rooms", str(rooms), "--rate", str(rate)),
        )
        probe.start()
        await asyncio.wait_for(sender.wait(), SECONDS + 60)
        busy = probe.stop()
        background = window.conversations[1:]
        expected = rate * SECONDS
        await until(lambda: all(c.unread >= expected for c in background), 30)
        results["rss_after_mib"] = rss_mib()
        results["messages_per_background_room"] = min(c.unread for c in background)
    finally:
        await window.shutdown()
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
        await asyncio.to_thread(settings.unlink, missing_ok=True)
    others = rooms - 1
    print(
        f"{rooms} rooms, {others} in the background at {rate} msg/s each "
        f"({others * rate} msg/s into the window) for {SECONDS} s"
    )
    print_lags({"idle (the peer)": idle, "background traffic": busy})
    print(
        f"p99 with traffic / idle p99: {busy['lag_p99_ms'] / max(idle['lag_p99_ms'], 0.01):.2f}x; "
        f"goal 16 ms: {'met' if busy['lag_p99_ms'] <= 16 else 'MISSED'}"
    )
    per_room = (results["rss_all_rooms_mib"] - results["rss_one_room_mib"]) / others
    grown = (results["rss_after_mib"] - results["rss_all_rooms_mib"]) / others
    print(
        f"memory: one room {results['rss_one_room_mib']:.0f} MiB, all {rooms} "
        f"{results['rss_all_rooms_mib']:.0f} MiB: {per_room:.2f} MiB per background room "
        f"open; +{grown:.2f} MiB per room after "
        f"{results['messages_per_background_room']:.0f} messages each"
    )


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--send", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        asyncio.run(send(args.send, args.rooms, args.rate, SECONDS))
    else:
        application()
        qt_loop.run(main(args.rooms, args.rate))
