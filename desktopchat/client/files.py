"""Sending and fetching files of any size beside a room, surviving dropped connections.

The bytes go to and from the host over HTTP on the room's own address, TLS and token
(``docs/protocol.md``, "Files"); the room only sees the offer. Both directions resume: an
upload asks the host how much it has (``HEAD``) and sends the rest; a download keeps
``NAME.part`` and asks for the bytes after it (``Range``). A file is checked against its
SHA-256 before it takes its name, and a file that changed on the sender's disk during an
upload is never spliced. Nothing is held in memory whole.

Blocking (``http.client``, the standard library's HTTP client): callers run these functions
on a worker thread, and may pause or cancel one by setting the :class:`threading.Event`
passed as ``stop`` (the transfer ends with :class:`Stopped`, what arrived kept for later).
A pinned TLS identity is checked before any request goes out.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import mmap
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from desktopchat.client.downloads import claim_name
from desktopchat.client.errors import CertificateChanged, UnknownCertificate
from desktopchat.client.pinning import pinning_context
from desktopchat.protocol import DEFAULT_ROOM
from desktopchat.protocol.files import FileOffer, offer_of, safe_file_name
from desktopchat.protocol.fingerprints import fingerprint_of
from desktopchat.protocol.rooms import room_of_path
from desktopchat.protocol.sizes import human_size

CHUNK = 1024 * 1024
BLOCK = 4096
"""Writes past the page cache are whole blocks of this size, at offsets that are too."""
O_DIRECT: int = getattr(os, "O_DIRECT", 0)
DIRECT_FROM = 64 * CHUNK
"""Downloads from this size write past the page cache (smaller ones are likely opened at
once: from the cache)."""
RING = 3
"""Buffers a download reads into while the ones before are written and hashed."""
ATTEMPTS = 8
"""Tries in a row that may fail (a dropped connection, a host restarting) before giving up."""
TIMEOUT = 30.0

Progress = Callable[[int, int], None]
"""Told (bytes done, bytes in all) as a transfer goes."""


class TransferError(Exception):
    """A transfer that cannot go on, in words for the user."""


class Stopped(TransferError):
    """The user paused or cancelled the transfer (its ``stop`` was set)."""


class NoFileTransfers(TransferError):
    """The host takes no files this way (an older desktopchat, or ``--files-max-bytes 0``)."""


@dataclass(frozen=True, slots=True)
class FilesAt:
    """Where a room's files are: its host, room, token and TLS identity."""

    tls: bool
    host: str
    port: int
    room: str
    token: str | None = None
    pin: str | None = None

    @classmethod
    def of(cls, room_url: str, pin: str | None = None) -> FilesAt:
        """The files of the room at ``room_url`` (its ``ws://`` or ``wss://`` address)."""
        parts = urlsplit(room_url)
        tls = parts.scheme == "wss"
        token = dict(parse_qsl(parts.query)).get("token")
        room = room_of_path(parts.path) or DEFAULT_ROOM
        port = parts.port or (443 if tls else 80)
        return cls(tls, parts.hostname or "127.0.0.1", port, room, token, pin)

    def path(self, ident: str | None = None) -> str:
        """The path of the room's files, or of one."""
        base = f"/files/{quote(self.room)}"
        return base if ident is None else f"{base}/{quote(ident)}"

    def headers(self, **more: str) -> dict[str, str]:
        """The headers every request carries (the token, never in a URL a log may keep)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **more}

    def connect(self) -> http.client.HTTPConnection:
        """A connection to the host; over TLS, refused before any request unless the
        certificate is the one pinned."""
        if not self.tls:
            return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        connection = http.client.HTTPSConnection(
            self.host, self.port, timeout=TIMEOUT, context=pinning_context()
        )
        connection.connect()
        certificate = connection.sock.getpeercert(binary_form=True) if connection.sock else None
        seen = fingerprint_of(certificate or b"")
        if self.pin is None:
            connection.close()
            raise UnknownCertificate(seen)
        if seen != self.pin:
            connection.close()
            raise CertificateChanged(self.pin, seen, given=True)
        return connection


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path``, read in pieces."""
    with open(path, "rb") as data:
        return hashlib.file_digest(data, "sha256").hexdigest()


def _words(response: http.client.HTTPResponse) -> str:
    text = response.read(4096).decode("utf-8", "replace").strip()
    return text or f"{response.status} {response.reason}"


def _retrying(attempts: int, wait: float) -> Iterator[int]:
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(wait * 2 ** (attempt - 1), 10.0))
        yield attempt


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped("stopped")


def announce(
    at: FilesAt,
    path: Path,
    mime: str = "application/octet-stream",
    folder: tuple[str, ...] = (),
) -> FileOffer:
    """Tell the host a file is coming (or coming again: the host finds the upload begun);
    the offer it will be known by, in ``folder`` when it is part of a folder sent."""
    size = path.stat().st_size
    body = {"name": path.name, "size": size, "sha256": sha256_of(path), "mime": mime}
    connection = at.connect()
    try:
        connection.request(
            "POST",
            at.path(),
            json.dumps(body),
            at.headers(**{"Content-Type": "application/json"}),
        )
        response = connection.getresponse()
        if response.status in (404, 405):
            raise NoFileTransfers("the host takes no files this way")
        if response.status != 201:
            raise TransferError(f"the host refused the file: {_words(response)}")
        offer = offer_of({"file": json.loads(response.read())})
    finally:
        connection.close()
    if offer is None:
        raise TransferError("the host's answer was not a file offer")
    return replace(offer, folder=folder)


def cancel_upload(at: FilesAt, offer: FileOffer) -> None:
    """Tell the host to drop the unfinished upload of ``offer`` (a complete one stays)."""
    connection = at.connect()
    try:
        connection.request(
            "DELETE", at.path(offer.id), headers=at.headers(**{"Upload-Key": offer.sha256})
        )
        response = connection.getresponse()
        if response.status not in (204, 404, 409):
            raise TransferError(f"the host did not cancel the upload: {_words(response)}")
        response.read()
    finally:
        connection.close()


def upload(
    at: FilesAt,
    path: Path,
    offer: FileOffer,
    progress: Progress = lambda done, total: None,
    *,
    attempts: int = ATTEMPTS,
    wait: float = 0.5,
    stop: threading.Event | None = None,
) -> None:
    """Send the bytes of ``offer`` from ``path``, resuming from what the host has after any
    drop, until the host has them all and has checked them."""
    before = path.stat()
    failure: BaseException | None = None
    for _ in _retrying(attempts, wait):
        _check(stop)
        try:
            if _send_rest(at, path, offer, before, progress, stop):
                return
            failure = None
        except (OSError, http.client.HTTPException) as exc:
            failure = exc
    raise TransferError(f"the upload of {offer.name} stopped: {failure or 'no progress'}")


def _send_rest(
    at: FilesAt,
    path: Path,
    offer: FileOffer,
    before: os.stat_result,
    progress: Progress,
    stop: threading.Event | None,
) -> bool:
    connection = at.connect()
    try:
        connection.request("HEAD", at.path(offer.id), headers=at.headers())
        head = connection.getresponse()
        head.read()
        if head.status != 200:
            raise TransferError(f"the host lost the file: {head.status} {head.reason}")
        offset = int(head.getheader("Upload-Offset") or 0)
        progress(offset, offer.size)
        if offset >= offer.size:
            return True
        now = path.stat()
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise TransferError(f"{path} changed on disk during the upload: not spliced")

        def rest() -> Iterator[bytes]:
            done = offset
            with open(path, "rb") as data:
                data.seek(offset)
                while chunk := data.read(CHUNK):
                    _check(stop)
                    done += len(chunk)
                    yield chunk
                    progress(done, offer.size)

        connection.request(
            "PATCH",
            at.path(offer.id),
            rest(),
            at.headers(
                **{
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                    "Content-Length": str(offer.size - offset),
                }
            ),
        )
        response = connection.getresponse()
        if response.status == 204:
            response.read()
            return response.getheader("Upload-Complete") == "true"
        if response.status == 409:
            response.read()
            return False  # the host has another offset: ask again
        raise TransferError(f"the host refused the file: {_words(response)}")
    finally:
        connection.close()


def part_path(offer: FileOffer, folder: Path) -> Path:
    """Where a download of ``offer`` into ``folder`` keeps its bytes until they are checked:
    ``NAME.part`` under the offer's own folders."""
    return folder.joinpath(*offer.folder) / f"{safe_file_name(offer.name)}.part"


def download(
    at: FilesAt,
    offer: FileOffer,
    folder: Path,
    progress: Progress = lambda done, total: None,
    *,
    attempts: int = ATTEMPTS,
    wait: float = 0.5,
    stop: threading.Event | None = None,
) -> Path:
    """Fetch ``offer`` into ``folder`` (under its own folders, when sent in one) as
    ``NAME.part``, resuming after any drop; once its SHA-256 matches it takes its name
    (``NAME (2)`` … when taken). Returns the path. Refused up front when the disk has no
    room for it."""
    name = safe_file_name(offer.name)
    part = part_path(offer, folder)
    folder = part.parent
    folder.mkdir(parents=True, exist_ok=True)
    missing = offer.size - (part.stat().st_size if part.exists() else 0)
    free = shutil.disk_usage(folder).free
    if missing > free:
        raise TransferError(
            f"{offer.name} needs {human_size(missing)} more; {folder} has {human_size(free)} free"
        )
    failure: BaseException | None = None
    restarted = False
    for _ in _retrying(attempts, wait):
        _check(stop)
        try:
            digest = _fetch_rest(at, offer, part, progress, stop)
        except (OSError, http.client.HTTPException) as exc:
            failure = exc
            continue
        if digest == offer.sha256:
            return _take_name(part, folder, name)
        part.unlink(missing_ok=True)  # another file's leftover, or bytes that changed
        if restarted:
            raise TransferError(f"{offer.name} does not match its SHA-256: not kept")
        restarted = True
    raise TransferError(f"the download of {offer.name} stopped: {failure}")


def _fetch_rest(
    at: FilesAt, offer: FileOffer, part: Path, progress: Progress, stop: threading.Event | None
) -> str:
    """Fetch what ``part`` lacks; the SHA-256 of the whole part (hashed as it comes, the
    bytes from before a drop read once)."""
    offset = part.stat().st_size if part.exists() else 0
    if offset > offer.size:
        part.unlink()
        offset = 0
    progress(offset, offer.size)
    if offset == offer.size:
        return sha256_of(part)
    offset -= offset % BLOCK  # from a whole block: the rest is written past the page cache too
    connection = at.connect()
    try:
        connection.request("GET", at.path(offer.id), headers=at.headers(Range=f"bytes={offset}-"))
        response = connection.getresponse()
        if response.status == 200:
            offset = 0  # the whole file: start the part over
        elif response.status != 206:
            raise TransferError(f"the host cannot give {offer.name}: {_words(response)}")
        digest = hashlib.sha256()
        _read_start(part, offset, digest.update)
        with _Part(part, offset, direct=offer.size >= DIRECT_FROM) as data:
            done = offset
            # A ring of buffers: while the next MiB is read, the ones before are written and
            # hashed, each on a thread of its own, in order (all three steps release the
            # GIL): the slowest step, not their sum, sets the pace. Anonymous maps: aligned
            # to a page, as writes past the page cache need.
            ring = [memoryview(mmap.mmap(-1, CHUNK)) for _ in range(RING)]
            busy: list[tuple[Future[object], ...]] = [() for _ in range(RING)]
            with (
                ThreadPoolExecutor(1, thread_name_prefix="download-write") as writer,
                ThreadPoolExecutor(1, thread_name_prefix="download-hash") as hasher,
            ):
                turn = 0
                while not _settled(busy[turn]) and (count := response.readinto(ring[turn])):
                    _check(stop)
                    piece = ring[turn][:count]
                    busy[turn] = (
                        writer.submit(data.write, piece),
                        hasher.submit(digest.update, piece),
                    )
                    done += count
                    progress(done, offer.size)
                    turn = (turn + 1) % RING
                for pieces in busy:
                    _settled(pieces)
        if done < offer.size:
            raise http.client.IncompleteRead(b"", offer.size - done)
        return digest.hexdigest()
    finally:
        connection.close()


def _read_start(part: Path, offset: int, update: Callable[[bytes], object]) -> None:
    """Give ``update`` the first ``offset`` bytes of ``part`` (kept from before a drop)."""
    if offset:
        with open(part, "rb") as data:
            while data.tell() < offset and (before := data.read(min(CHUNK, offset - data.tell()))):
                update(before)


class _Part:
    """A download's ``.part`` file, cut at ``offset`` and written on from there.

    With ``direct``, the writes skip the page cache (``O_DIRECT``, Linux) while they are
    whole blocks at whole-block offsets: a download of gigabytes neither fills the cache nor
    pays to put each page of it there (on a VM, memory written for the first time costs
    more than the disk: 0.65 GB/s against 1.6 here). The last, partial block, and a file
    system that refuses ``O_DIRECT``, are written through the cache as usual.
    """

    def __init__(self, path: Path, offset: int, *, direct: bool) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        self.direct = False
        try:
            os.ftruncate(self.fd, offset)
            os.lseek(self.fd, offset, os.SEEK_SET)
            if direct and O_DIRECT and offset % BLOCK == 0:
                self._set_direct(True)
        except BaseException:
            os.close(self.fd)
            raise

    def __enter__(self) -> _Part:
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)

    def write(self, piece: memoryview) -> None:
        """Write ``piece`` whole at the end."""
        if self.direct and len(piece) % BLOCK:
            self._set_direct(False)  # the last piece: only whole blocks go past the cache
        while piece:
            try:
                written = os.write(self.fd, piece)
            except OSError as exc:
                if not self.direct or exc.errno != errno.EINVAL:
                    raise
                self._set_direct(False)  # a file system that takes the flag, not the writes
                continue
            piece = piece[written:]

    def _set_direct(self, on: bool) -> None:
        import fcntl  # POSIX only, as O_DIRECT is

        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        wanted = flags | O_DIRECT if on else flags & ~O_DIRECT
        try:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, wanted)
        except OSError:
            if on:
                return  # not on this file system: through the cache
            raise
        self.direct = on


def _settled(pieces: tuple[Future[object], ...]) -> bool:
    """Wait for a buffer's write and hash (raising what they raised); always ``False``."""
    for piece in pieces:
        piece.result()
    return False


def _take_name(part: Path, folder: Path, name: str) -> Path:
    try:
        # A hard link never replaces a file, even one made meanwhile.
        taken = claim_name(folder, name, lambda path: os.link(part, path))
    except FileExistsError as exc:
        raise TransferError(str(exc)) from exc
    part.unlink()
    return taken
