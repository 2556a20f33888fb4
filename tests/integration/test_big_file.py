"""A 4 GiB file from one member to two others through a host that runs as its own process:
every connection cut twice mid-way, the host restarted once during the upload. Each receiver
ends with the sender's SHA-256 having fetched at most 5 % more than the file, and the host's
memory grows by at most 64 MiB (its peak, from /proc, against its size once serving)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktopchat.client.files import FilesAt, announce, download, sha256_of, upload
from tests.integration.conftest import process_memory, serve_process
from tests.integration.test_files import CuttingProxy

MiB = 1024 * 1024
GiB = 1024 * MiB
SIZE = 4 * GiB
HOST_GROWTH = 64 * MiB


def patterned_file(path: Path, size: int) -> str:
    """``size`` bytes where every MiB differs (its number leads a random MiB), written once:
    a piece spliced at a wrong offset changes the SHA-256. Returns the SHA-256."""
    base = bytearray(hashlib.sha256(b"seed").digest() * (MiB // 32))
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for number in range(size // MiB):
            base[:8] = number.to_bytes(8, "big")
            digest.update(base)
            out.write(base)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def host(files: Path, port: int) -> Iterator[int]:
    """The host as a process on ``port``, keeping files in ``files``; yields its pid. It is
    killed at the end of the block: a crash, not a goodbye."""
    flags = ["--files", str(files), "--history", "off", "--port", str(port)]
    with serve_process(*flags) as (process, bound):
        assert bound == port
        yield process.pid


NEEDS_FREE = 4 * SIZE + GiB
"""The file, the host's copy and the two receivers' (fetched together)."""


@pytest.fixture
def room_for_it(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, checked for room (a full disk would fail the test in less clear words)
    and emptied afterwards: pytest keeps the last runs' folders, 8 GiB each here."""
    free = shutil.disk_usage(tmp_path).free
    assert free >= NEEDS_FREE, f"this test needs {NEEDS_FREE // GiB} GiB free, has {free // GiB}"
    try:
        yield tmp_path
    finally:
        for child in tmp_path.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


async def test_four_gib_reach_two_members_through_cuts_and_a_host_restart(
    room_for_it: Path,
) -> None:
    tmp_path = room_for_it
    source = tmp_path / "big.bin"
    sha = await asyncio.to_thread(patterned_file, source, SIZE)
    files = tmp_path / "host-files"
    port = free_port()
    growth: list[int] = []
    # The proxy outlives the host: the uploader's retries reach the restarted one through it.
    async with CuttingProxy(port, after=SIZE // 5, cuts=2) as cutting:
        at = FilesAt(False, "127.0.0.1", cutting.port, "chat")
        with host(files, port) as pid:
            baseline = process_memory(pid)
            offer = await asyncio.to_thread(announce, at, source)
            half_way = threading.Event()

            def progress(done: int, total: int) -> None:
                if done > SIZE // 2:
                    half_way.set()

            uploading = asyncio.ensure_future(
                asyncio.to_thread(upload, at, source, offer, progress, attempts=30, wait=0.2)
            )
            # Cut twice by then (at a fifth and two fifths); then the host dies.
            assert await asyncio.to_thread(half_way.wait, 600)
            assert cutting.cuts_left <= 0
            growth.append(process_memory(pid, "VmHWM") - baseline)
        with host(files, port) as pid:
            baseline = process_memory(pid)
            await uploading
            assert cutting.up <= 1.05 * SIZE, f"sent {cutting.up / SIZE:.3f}x the file"
            fetched: list[tuple[str, int]] = []

            async def receive(name: str) -> None:
                async with CuttingProxy(port, after=SIZE // 3, cuts=2) as cut:
                    through = FilesAt(False, "127.0.0.1", cut.port, "chat")
                    folder = tmp_path / name
                    folder.mkdir()
                    saved = await asyncio.to_thread(download, through, offer, folder, wait=0.2)
                    assert cut.cuts_left <= 0, "each receiver's connection was cut twice"
                    fetched.append((await asyncio.to_thread(sha256_of, saved), cut.down))
                    saved.unlink()

            await asyncio.gather(receive("ada"), receive("bob"))
            growth.append(process_memory(pid, "VmHWM") - baseline)
    print(  # the figures, for whoever runs it with -s
        f"host growth {[g / MiB for g in growth]} MiB; sent {cutting.up / SIZE:.4f}x; "
        f"fetched {[round(down / SIZE, 4) for _, down in fetched]}x"
    )
    assert [digest for digest, _ in fetched] == [sha, sha]
    for _, down in fetched:
        assert down <= 1.05 * SIZE, f"fetched {down / SIZE:.3f}x the file"
    assert max(growth) <= HOST_GROWTH, f"the host grew {[g // MiB for g in growth]} MiB"
