"""Files beside the chat through a real host: uploads and downloads that survive connections
cut mid-way and a host restart, checked by SHA-256, with bounds stated in words."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from desktopchat.client.files import FilesAt, TransferError, announce, download, upload
from desktopchat.protocol.files import FileOffer
from desktopchat.server.web.runner import HostedServer
from tests.integration.conftest import LOCAL, hosted

MiB = 1024 * 1024


class CuttingProxy:
    """Forwards 127.0.0.1:``port`` to the host and cuts each of the first ``cuts``
    connections once ``after`` bytes went through it; counts the bytes each way."""

    def __init__(self, upstream: int, *, after: int, cuts: int) -> None:
        self.upstream = upstream
        self.after = after
        self.cuts_left = cuts
        self.up = 0
        self.down = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CuttingProxy:
        # Pieces of a MiB: a proxy of 64 KiB reads would be what limits a test of gigabytes.
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=MiB)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream, limit=MiB
            )
        except OSError:
            writer.close()
            return
        cut = self.cuts_left > 0
        self.cuts_left -= 1
        budget = [self.after if cut else 1 << 62]
        both = [
            asyncio.ensure_future(self._pipe(reader, up_writer, budget, "up")),
            asyncio.ensure_future(self._pipe(up_reader, writer, budget, "down")),
        ]
        for task in both:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        for task in both:
            task.cancel()
        for each in (writer, up_writer):
            each.transport.abort()

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        budget: list[int],
        way: str,
    ) -> None:
        while budget[0] > 0 and (chunk := await source.read(MiB)):
            chunk = chunk[: budget[0]]
            budget[0] -= len(chunk)
            if way == "up":
                self.up += len(chunk)
            else:
                self.down += len(chunk)
            sink.write(chunk)
            await sink.drain()


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


@contextlib.asynccontextmanager
async def host_on(port: int, files: Path, **changes: object) -> AsyncIterator[HostedServer]:
    settings = replace(LOCAL, port=port, files=files, **changes)  # type: ignore[arg-type]
    async with HostedServer(settings) as server:
        yield server


class Stop(OSError):
    """The sending app dying half-way (raised from its progress callback)."""


async def test_a_file_goes_up_and_down_whole_through_cut_connections_and_a_host_restart(
    tmp_path: Path,
) -> None:
    size = 24 * MiB
    source = tmp_path / "big.bin"
    sha = random_file(source, size)
    files = tmp_path / "host-files"
    async with host_on(0, files) as first:
        port = first.port
        at = FilesAt(False, "127.0.0.1", port, "chat")
        offer = await asyncio.to_thread(announce, at, source)
        assert (offer.size, offer.sha256, offer.name) == (size, sha, "big.bin")

        def half(done: int, total: int) -> None:
            if done > total // 2:
                raise Stop("the sending app stopped")

        with pytest.raises(TransferError):
            await asyncio.to_thread(upload, at, source, offer, half, attempts=1)
    # The host restarts (same folder, same port); the sender starts again and resumes.
    async with (
        host_on(port, files) as again,
        CuttingProxy(again.port, after=5 * MiB, cuts=2) as cut,
    ):
        through = FilesAt(False, "127.0.0.1", cut.port, "chat")
        await asyncio.to_thread(upload, through, source, offer, wait=0.05)
        assert cut.up < 0.55 * size, "the second run sent only what the host lacked"
        cut.cuts_left = 4  # two cuts for each receiver
        for receiver in ("ada", "bob"):
            folder = tmp_path / receiver
            folder.mkdir()
            downloaded = cut.down
            saved = await asyncio.to_thread(download, through, offer, folder, wait=0.05)
            assert saved == folder / "big.bin"
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha
            assert cut.down - downloaded <= 1.05 * size
            assert not (folder / "big.bin.part").exists()


async def test_a_file_is_refused_up_front_when_the_host_cannot_hold_it(tmp_path: Path) -> None:
    source = tmp_path / "four.bin"
    random_file(source, 4 * MiB)
    async with hosted(files=tmp_path / "files", files_max_bytes=3 * MiB) as server:
        at = FilesAt(False, "127.0.0.1", server.port, "chat")
        with pytest.raises(
            TransferError, match=r"at most 3\.0 MiB of files .* this file is 4\.0 MiB"
        ):
            await asyncio.to_thread(announce, at, source)


async def test_bytes_that_do_not_match_the_offered_sha256_are_not_kept(tmp_path: Path) -> None:
    source = tmp_path / "one.bin"
    random_file(source, MiB)
    async with hosted(files=tmp_path / "files") as server:
        at = FilesAt(False, "127.0.0.1", server.port, "chat")
        offer = await asyncio.to_thread(announce, at, source)
        source.write_bytes(os.urandom(MiB))  # replaced between the announcement and the bytes
        with pytest.raises(TransferError, match=r"changed on disk|SHA-256"):
            await asyncio.to_thread(upload, at, source, offer)
        lie = FileOffer(offer.id, offer.name, offer.size, "0" * 64)
        with pytest.raises(TransferError, match=r"not complete|cannot give"):
            await asyncio.to_thread(download, at, lie, tmp_path, attempts=1)


def request(
    port: int, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        named = {name.lower(): value for name, value in response.getheaders()}
        return response.status, named, response.read()
    finally:
        connection.close()


JSON = {"Content-Type": "application/json"}
BYTES = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}


async def test_files_need_the_token_take_no_forms_and_come_back_as_attachments(
    tmp_path: Path,
) -> None:
    async with hosted(files=tmp_path / "files", token="s3cret") as server:

        async def call(
            method: str, path: str, body: bytes = b"", **headers: str
        ) -> tuple[int, dict[str, str], bytes]:
            return await asyncio.to_thread(request, server.port, method, path, body, **headers)

        sha = hashlib.sha256(b"hi").hexdigest()
        body = json.dumps({"name": "../../.bashrc\u202e", "size": 2, "sha256": sha}).encode()
        assert (await call("POST", "/files/chat", body, **JSON))[::2] == (403, b"invalid token\n")
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, _ = await call("POST", "/files/chat?token=s3cret", body, **form)
        assert status == 415, "a form from another page is not an announcement"
        status, _, answer = await call(
            "POST", "/files/chat", body, **JSON, Authorization="Bearer s3cret"
        )
        assert status == 201
        created = json.loads(answer)
        assert created["name"] == "bashrc", "the last component, cleaned"
        path = f"/files/chat/{created['id']}"
        status, headers, _ = await call("PATCH", path + "?token=s3cret", b"hi", **BYTES)
        assert (status, headers.get("upload-complete")) == (204, "true")
        status, headers, content = await call("GET", path + "?token=s3cret")
        assert (status, content) == (200, b"hi")
        assert headers["content-type"] == "application/octet-stream"
        assert headers["content-disposition"].startswith("attachment")
        assert headers["x-content-type-options"] == "nosniff"
        assert (await call("GET", path))[0] == 403
        other = f"/files/other/{created['id']}?token=s3cret"
        assert (await call("GET", other))[0] == 404, "a file belongs to its room"


async def test_a_member_over_its_transfer_count_is_refused_in_words_and_its_rate_is_paced(
    tmp_path: Path,
) -> None:
    source = tmp_path / "three.bin"
    random_file(source, 3 * MiB)
    async with hosted(files=tmp_path / "files", files_rate=MiB, files_transfers=1) as server:
        at = FilesAt(False, "127.0.0.1", server.port, "chat")
        offer = await asyncio.to_thread(announce, at, source)
        await asyncio.to_thread(upload, at, source, offer)
        # A download nobody reads holds the member's one transfer.
        _reader, holder = await asyncio.open_connection("127.0.0.1", server.port)
        holder.write(f"GET {at.path(offer.id)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await holder.drain()
        await asyncio.sleep(0.3)
        status, headers, words = await asyncio.to_thread(
            request, server.port, "GET", at.path(offer.id)
        )
        assert status == 429
        assert b"1 file transfers under way, the most this host allows at once" in words
        assert headers["retry-after"] == "5"
        holder.transport.abort()
        await asyncio.sleep(0.3)
        folder = tmp_path / "got"
        folder.mkdir()
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(download, at, offer, folder)
        # A MiB of burst, then 2 MiB at 1 MiB/s: never faster (a slow machine is only slower).
        assert asyncio.get_running_loop().time() - started >= 1.5


async def test_a_page_uploads_without_hashing_first_resumes_by_its_key_and_can_cancel(
    tmp_path: Path,
) -> None:
    async with hosted(files=tmp_path / "files") as server:

        async def call(
            method: str, path: str, body: bytes = b"", **headers: str
        ) -> tuple[int, dict[str, str], bytes]:
            return await asyncio.to_thread(request, server.port, method, path, body, **headers)

        key = "page-" + "k" * 20
        announcement = json.dumps({"name": "a.txt", "size": 5, "sha256": None, "key": key})
        status, _, answer = await call("POST", "/files/chat", announcement.encode(), **JSON)
        created = json.loads(answer)
        assert (status, created["offset"], created["sha256"]) == (201, 0, "")
        path = f"/files/chat/{created['id']}"
        assert (await call("PATCH", path, b"hel", **BYTES))[0] == 204
        # The page reloads and announces the same file again: the upload is found, at 3.
        _, _, again = await call("POST", "/files/chat", announcement.encode(), **JSON)
        assert (json.loads(again)["id"], json.loads(again)["offset"]) == (created["id"], 3)
        status, headers, _ = await call("PATCH", path, b"lo", **{**BYTES, "Upload-Offset": "3"})
        assert (status, headers["x-content-sha256"]) == (204, hashlib.sha256(b"hello").hexdigest())
        assert (await call("DELETE", path, b"", **{"Upload-Key": key}))[0] == 409, "complete: stays"
        other = json.dumps({"name": "b.txt", "size": 5, "sha256": None, "key": "x" * 20})
        _, _, answer = await call("POST", "/files/chat", other.encode(), **JSON)
        unfinished = f"/files/chat/{json.loads(answer)['id']}"
        status, _, words = await call("DELETE", unfinished, b"", **{"Upload-Key": key})
        assert (status, words) == (403, b"only the file's sender can cancel its upload\n")
        assert (await call("DELETE", unfinished, b"", **{"Upload-Key": "x" * 20}))[0] == 204
        assert (await call("HEAD", unfinished))[0] == 404
