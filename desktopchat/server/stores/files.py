"""The host's files: what members upload beside the chat, kept on disk within bounds.

A file is announced (:meth:`FileStore.create`: name, size, SHA-256, type), refused up front
when the quota or the disk cannot hold it, then written in order from any offset the host
already has (:meth:`FileStore.writer`), so that an upload cut anywhere continues from its
last byte. Until the last byte it is ``ID.part``; then its SHA-256 is checked and it becomes
``ID`` (a file whose bytes do not match is not kept). Nothing is ever held in memory whole.
Announcing the same file again (same room and SHA-256, or the same resume key) finds the
upload already begun, so a sender that restarted continues it. A sender that cannot hash a
file before sending it (a browser page: WebCrypto hashes only whole buffers) announces it
without a SHA-256 and with a resume key; the host hashes it at its last byte, and the offer
carries that. Files older than ``keep_days`` go (:meth:`FileStore.sweep`); so do an upload
nobody finished in a day and a file the room's history no longer refers to.

Synchronous like the history stores: the web layer runs the slow parts (hashing a whole file)
on a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from desktopchat.atomic import write_atomically
from desktopchat.protocol.files import (
    FileOffer,
    clean_mime,
    safe_file_name,
    valid_file_id,
    valid_sha256,
    valid_size,
)
from desktopchat.protocol.sizes import human_size

GiB = 1024**3
RESERVE_BYTES = 256 * 1024 * 1024
"""Free space a file must leave on the host's disk: an upload never fills the disk."""
UNFINISHED_SECONDS = 86_400.0
"""An upload nobody continued for this long is dropped."""
_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")
FORGOTTEN_MARGIN_SECONDS = 600.0
"""A file stays this long after the oldest message its room keeps: its offer is posted right
after its last byte, never this much later."""

OldestKept = Callable[[str], "float | None"]
"""The time (seconds since the epoch) of the oldest message a room's history keeps; ``None``
when it keeps none or cannot say."""


class FileRefused(Exception):
    """What a peer asked of the store cannot be done; ``status`` is the HTTP status to
    answer with, the message the words."""

    def __init__(self, status: int, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.offset = offset


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the host holds (or is receiving) for a room."""

    id: str
    room: str
    name: str
    size: int
    sha256: str
    """Empty until the host has hashed a file announced without one."""
    mime: str
    created: float
    key: str = ""
    """What a sender announcing it again gives to find it (its resume key or SHA-256)."""

    @property
    def offer(self) -> FileOffer:
        """What an offer message says of it."""
        return FileOffer(self.id, self.name, self.size, self.sha256, self.mime)


def _announced(known: list[StoredFile], room: str, key: str, size: int) -> StoredFile | None:
    """The file of ``known`` announced before as this one (same room, key and size)."""
    return next((f for f in known if (f.room, f.key, f.size) == (room, key, size)), None)


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as data:
        return hashlib.file_digest(data, "sha256").hexdigest()


def _existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (where its disk's free space is)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class FileStore:
    """Files under ``root``: at most ``max_bytes`` in all, none older than ``keep_days``."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = 10 * GiB,
        keep_days: float = 30.0,
        clock: Callable[[], float] = time.time,
        free_bytes: Callable[[Path], int] | None = None,
        oldest_kept: OldestKept = lambda room: None,
    ) -> None:
        self.root = root  # made on the first file: a store nobody uses leaves nothing
        self.max_bytes = max_bytes
        self.keep_days = keep_days
        self._oldest_kept = oldest_kept
        self._writers: dict[str, object] = {}  # file id -> the writer whose turn it is
        self._hashed: dict[str, str] = {}  # file id -> SHA-256 of an upload sent whole
        self._clock = clock
        self._free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)

    # -- announcing and finding ---------------------------------------------------------------

    def create(
        self,
        room: str,
        name: object,
        size: object,
        sha256: object,
        mime: object,
        key: object = None,
    ) -> StoredFile:
        """Announce a file of ``size`` bytes (``sha256`` may be ``None`` when ``key`` is
        given: the host hashes it); the upload already begun when the same file was announced
        before; :class:`FileRefused` when it cannot be held."""
        if not valid_size(size):
            raise FileRefused(400, "the size must be a whole number of bytes")
        if not (valid_sha256(sha256) or (sha256 is None and key is not None)):
            raise FileRefused(400, "the SHA-256 must be 64 lower-case hex digits")
        if key is not None and not (isinstance(key, str) and _KEY.fullmatch(key)):
            raise FileRefused(400, "the resume key must be 16 to 128 letters, digits, - or _")
        if not isinstance(name, str):
            raise FileRefused(400, "the name must be text")
        resume_key = key if isinstance(key, str) else str(sha256)
        known = list(self._all())  # one read of the records for both questions
        begun = _announced(known, room, resume_key, size)
        if begun is not None:
            if self.complete(begun):
                # Offered again: it counts as new for the history's retention.
                os.utime(self.path(begun))
            return begun
        used = sum(stored.size for stored in known)
        if size > self.max_bytes - used:
            raise FileRefused(
                507,
                f"the host keeps at most {human_size(self.max_bytes)} of files and has "
                f"{human_size(max(0, self.max_bytes - used))} left; this file is "
                f"{human_size(size)}",
            )
        free = self._free_bytes(_existing(self.root))
        if size > free - RESERVE_BYTES:
            raise FileRefused(
                507,
                f"the host's disk has {human_size(max(0, free))} free; this file is "
                f"{human_size(size)} (the host keeps {human_size(RESERVE_BYTES)} spare)",
            )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        stored = StoredFile(
            id=secrets.token_urlsafe(12),
            room=room,
            name=safe_file_name(name),
            size=size,
            sha256=sha256 if isinstance(sha256, str) else "",
            mime=clean_mime(mime),
            created=self._clock(),
            key=resume_key,
        )
        write_atomically(self._meta(stored.id), json.dumps(asdict(stored)))
        self._part(stored.id).touch(mode=0o600)
        return stored

    def _all(self) -> Iterator[StoredFile]:
        """Every file's record; a record that cannot be read is dropped."""
        for meta in list(self.root.glob("*.json")):
            try:
                yield StoredFile(**json.loads(meta.read_bytes()))
            except (OSError, ValueError, TypeError):
                meta.unlink(missing_ok=True)

    def find(self, room: str, ident: str) -> StoredFile | None:
        """The file ``ident`` of ``room`` (complete or not), if the store has it."""
        if not valid_file_id(ident):
            return None
        try:
            fields = json.loads(self._meta(ident).read_bytes())
        except (OSError, ValueError):
            return None
        stored = StoredFile(**fields)
        return stored if stored.room == room else None

    def offset(self, stored: StoredFile) -> int:
        """How many bytes of ``stored`` the host has (its size, once complete)."""
        if self.complete(stored):
            return stored.size
        try:
            return self._part(stored.id).stat().st_size
        except FileNotFoundError:
            return 0

    def complete(self, stored: StoredFile) -> bool:
        """Whether all of ``stored`` is here and checked."""
        return self.path(stored).exists()

    def path(self, stored: StoredFile) -> Path:
        """Where the complete file is."""
        return self.root / stored.id

    # -- receiving ----------------------------------------------------------------------------

    @contextmanager
    def writer(self, stored: StoredFile, offset: int) -> Iterator[Callable[[bytes], None]]:
        """A function that appends bytes to ``stored`` from ``offset``, which must be what the
        host has (:class:`FileRefused` 409 with the right offset otherwise); bytes beyond the
        file's size are refused (413).

        The newest writer of a file wins: a sender that resumes while the host still drains
        its cut connection takes over, and the old writer's next bytes are refused, so two
        connections never splice into one file. Writes are unbuffered, so what ``offset``
        reports is on disk, never in a buffer still to come."""
        if self.complete(stored):
            raise FileRefused(409, "the file is complete already", stored.size)
        have = self.offset(stored)
        if offset != have:
            raise FileRefused(409, f"the host has {have} bytes of this file", have)
        turn = object()
        self._writers[stored.id] = turn
        # An upload sent whole in one go is hashed as it comes: no second read at the end.
        digest = hashlib.sha256() if have == 0 else None
        try:
            with open(self._part(stored.id), "ab", buffering=0) as part:
                written = have

                def write(chunk: bytes) -> None:
                    nonlocal written
                    if self._writers.get(stored.id) is not turn:
                        raise FileRefused(409, "a newer upload of this file took over")
                    if written + len(chunk) > stored.size:
                        raise FileRefused(413, f"more bytes than the {stored.size} announced")
                    rest = memoryview(chunk)
                    while rest:  # a raw write may take less than it is given
                        rest = rest[part.write(rest) :]
                    written += len(chunk)
                    if digest is not None:
                        digest.update(chunk)

                yield write
            if digest is not None and written == stored.size:
                self._hashed[stored.id] = digest.hexdigest()
        finally:
            if self._writers.get(stored.id) is turn:
                del self._writers[stored.id]

    def finish(self, stored: StoredFile) -> StoredFile | None:
        """If every byte is here: check the SHA-256 (or take it, for a file announced without
        one) and keep the file, returning its record; or drop it (:class:`FileRefused` 422).
        ``None`` while bytes are missing. Reads the whole file: run it on a worker thread."""
        if self.complete(stored):
            return self.find(stored.room, stored.id)
        part = self._part(stored.id)
        if self.offset(stored) < stored.size:
            return None
        found = self._hashed.pop(stored.id, None) or _sha256_of(part)
        if not stored.sha256:
            stored = replace(stored, sha256=found)
            write_atomically(self._meta(stored.id), json.dumps(asdict(stored)))
        elif found != stored.sha256:
            self.remove(stored)
            raise FileRefused(
                422, "the bytes received do not match the SHA-256 offered: the file was not kept"
            )
        os.replace(part, self.path(stored))
        return stored

    def cancel(self, stored: StoredFile, key: str) -> None:
        """Drop an upload its sender gave up on; only its sender knows ``key``, and a file
        already complete (others may be fetching it) is not dropped this way."""
        if not secrets.compare_digest(key.encode(), stored.key.encode()):
            raise FileRefused(403, "only the file's sender can cancel its upload")
        if self.complete(stored):
            raise FileRefused(409, "the file is complete: it goes when the room forgets it")
        self.remove(stored)

    # -- bounds -------------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """Bytes the announced files take or will take (each counted at its full size)."""
        return sum(stored.size for stored in self._all())

    def remove(self, stored: StoredFile) -> None:
        """Forget ``stored`` and its bytes."""
        self._hashed.pop(stored.id, None)
        for path in (self._part(stored.id), self.path(stored), self._meta(stored.id)):
            path.unlink(missing_ok=True)

    def sweep(self) -> int:
        """Drop files older than ``keep_days``, uploads left unfinished for a day and files
        whose room's history no longer holds their offer; how many went."""
        now = self._clock()
        gone = 0
        oldest: dict[str, float | None] = {}
        for stored in self._all():
            age = now - stored.created
            old = self.keep_days > 0 and age > self.keep_days * 86_400
            if (
                old
                or self._forgotten(stored, oldest)
                or (not self.complete(stored) and age > UNFINISHED_SECONDS)
            ):
                self.remove(stored)
                gone += 1
        return gone

    def _forgotten(self, stored: StoredFile, oldest: dict[str, float | None]) -> bool:
        """Whether ``stored`` was complete before the oldest message its room keeps: its
        offer came after its last byte, so the history has let the offer go."""
        if stored.room not in oldest:
            oldest[stored.room] = self._oldest_kept(stored.room)
        kept_since = oldest[stored.room]
        if kept_since is None:
            return False
        try:
            completed = self.path(stored).stat().st_mtime
        except FileNotFoundError:
            return False
        return completed < kept_since - FORGOTTEN_MARGIN_SECONDS

    def _meta(self, ident: str) -> Path:
        return self.root / f"{ident}.json"

    def _part(self, ident: str) -> Path:
        return self.root / f"{ident}.part"
