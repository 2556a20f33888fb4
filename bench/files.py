"""A big file through the room's host, against a plain HTTP download of the same file.

    .venv/bin/python bench/files.py [--size-mib 2048] [--reps 2]

In the same run, alternating: ``desktopchat serve --tls on`` (its files beside the room) gets
the file uploaded by ``client.files.upload`` and gives it back by ``client.files.download``
(both over TLS with the pinned identity, in this process, on a worker thread as ``join``
does), and ``curl`` downloads it from ``python -m http.server`` (no TLS) into a file on the
same disk, as a download does (and, for reference, into ``/dev/null``: what the network path
alone gives, with no disk). Reported: MiB/s each way, the ratios to curl's download, and the
host's memory: its RSS before, and its peak (VmHWM) during the transfers. Every wait is
bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, free_port, memory_kib, serving

from desktopchat.client.files import FilesAt, announce, download, upload
from desktopchat.server.web.tls import load_or_create

MiB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as out:
        for n in range(size // MiB):
            # Each MiB differs (no run of identical blocks for a compressor to find).
            out.write(hashlib.sha256(n.to_bytes(8, "big")).digest() + block[32:])


def through_desktopchat(source: Path, work: Path) -> dict[str, float]:
    identity = load_or_create(work / "tls")
    host_files = work / "host"
    # A host of its own each time: one that has the file already takes it in no time.
    shutil.rmtree(host_files, ignore_errors=True)
    port = free_port()
    argv = [
        PY, "-m", "desktopchat", "serve", "--port", str(port), "--history", "off",
        "--no-advertise", "--tls", "on", "--cert", str(identity.cert), "--key",
        str(identity.key), "--files", str(host_files), "--files-max-bytes",
        str(4 * source.stat().st_size),
    ]  # fmt: skip
    received = work / "received"
    received.mkdir(exist_ok=True)
    with serving(argv, port) as pid:
        before = memory_kib(pid, "VmRSS") / 1024
        at = FilesAt(True, "127.0.0.1", port, "chat", None, identity.fingerprint)
        offer = announce(at, source)
        os.sync()  # each transfer starts with no other's dirty pages still to write
        started = time.perf_counter()
        upload(at, source, offer)
        up = time.perf_counter() - started
        os.sync()
        started = time.perf_counter()
        saved = download(at, offer, received)
        down = time.perf_counter() - started
        peak = memory_kib(pid, "VmHWM") / 1024
    size = source.stat().st_size / MiB
    saved.unlink()
    return {"up_mib_s": size / up, "down_mib_s": size / down, "rss_mb": before, "peak_mb": peak}


def through_curl(source: Path, into: Path) -> float:
    port = free_port()
    argv = [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with serving(argv, port, cwd=source.parent):
        os.sync()
        started = time.perf_counter()
        subprocess.run(
            ["curl", "-sS", "-o", str(into), f"http://127.0.0.1:{port}/{source.name}"],
            check=True,
            timeout=600,
        )
        rate = source.stat().st_size / MiB / (time.perf_counter() - started)
    if into.is_file():
        into.unlink()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="desktopchat-files-bench-") as folder:
        work = Path(folder)
        source = work / "big.bin"
        make_file(source, args.size_mib * MiB)
        ours: list[dict[str, float]] = []
        curl: list[float] = []
        network: list[float] = []
        for rep in range(args.reps):
            # Whoever writes first after a run may get pages the VM has not written yet,
            # the dearest: the order alternates, so that neither side always has them.
            if rep % 2:
                curl.append(through_curl(source, work / "curl.bin"))
            ours.append(through_desktopchat(source, work))
            if not rep % 2:
                curl.append(through_curl(source, work / "curl.bin"))
            network.append(through_curl(source, Path("/dev/null")))
            print(
                f"rep {rep + 1}: desktopchat {ours[-1]}, curl {curl[-1]:.0f} MiB/s "
                f"(to /dev/null {network[-1]:.0f})",
                flush=True,
            )
    median = {key: statistics.median(run[key] for run in ours) for key in ours[0]}
    floor = statistics.median(curl)
    print(f"\n{args.size_mib} MiB, medians of {args.reps}, {socket.gethostname()}:")
    print("| transfer | MiB/s | ratio to curl's download from http.server |")
    print("|---|---|---|")
    rows = [
        ("curl from `python -m http.server` (no TLS) into a file", floor),
        ("curl from `python -m http.server` (no TLS) into /dev/null", statistics.median(network)),
        ("desktopchat upload (TLS)", median["up_mib_s"]),
        ("desktopchat download (TLS)", median["down_mib_s"]),
    ]
    for name, rate in rows:
        print(f"| {name} | {rate:.0f} | {rate / floor:.2f}x |")
    print(f"host RSS {median['rss_mb']:.1f} MB before, peak {median['peak_mb']:.1f} MB during")


if __name__ == "__main__":
    main()
