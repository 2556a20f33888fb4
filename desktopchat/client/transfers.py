"""A room's file transfers as a person sees them: each file offered, sent or fetched, how far
it is, how fast it goes, and the user's pause, resume and cancel.

:class:`Transfers` runs the blocking functions of :mod:`desktopchat.client.files` on worker
threads, at most :data:`AT_ONCE` at a time (the host allows a member four), and reports
every change to one callback, at most every :data:`REPORT_SECONDS` per transfer while bytes
flow. What is unfinished is written down (:class:`TransferBook`, no token in it), so an app
that restarts continues each transfer when it joins the room again; a transfer that failed
(the host went away for longer than the retries) starts again when the room is back.
Knows no GUI: the window shows :attr:`Transfers.items` through a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from desktopchat.atomic import write_atomically
from desktopchat.client.errors import JoinError
from desktopchat.client.files import (
    FilesAt,
    NoFileTransfers,
    Stopped,
    TransferError,
    announce,
    cancel_upload,
    download,
    part_path,
    upload,
)
from desktopchat.protocol.files import FileOffer, offer_of, safe_file_name
from desktopchat.protocol.sizes import human_size

logger = logging.getLogger("desktopchat.client")

AT_ONCE = 2
"""Transfers running together; the rest wait their turn (the host allows four a member)."""
REPORT_SECONDS = 0.1
"""How often a running transfer reports its progress (a 4 GiB file makes 4 096 pieces)."""
MAX_FILES = 10_000
"""Files one drop or *Send folder* may send; a bigger tree is refused in words."""
REMEMBER_SECONDS = 1.0
"""How long changes gather before the book of unfinished transfers is written again (a
folder of thousands of files would otherwise rewrite it after every one)."""


class Direction(Enum):
    """Which way a file goes."""

    UP = "up"
    DOWN = "down"


class State(Enum):
    """Where a transfer is."""

    OFFERED = "offered"  # someone offers it; not fetched
    WAITING = "waiting"  # its turn has not come
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    DONE = "done"
    CANCELLED = "cancelled"


UNFINISHED = (State.WAITING, State.RUNNING, State.PAUSED, State.FAILED)


class Speed:
    """Bytes a second over the last few seconds, from (time, bytes done) samples."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> None:
        """``done`` bytes at ``now`` (seconds)."""
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()

    def reset(self) -> None:
        """Forget the samples (a transfer paused or restarted)."""
        self._samples.clear()

    def rate(self) -> float:
        """Bytes a second lately (0.0 until two samples)."""
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def seconds_left(self, remaining: int) -> float | None:
        """How long ``remaining`` bytes take at the recent rate; ``None`` when unknown."""
        rate = self.rate()
        return remaining / rate if rate > 0 else None


def duration(seconds: float) -> str:
    """``42 s``, ``3 min``, ``1 h 20 min``: a time left as people say it."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min"


@dataclass(eq=False, slots=True)
class Transfer:
    """One file offered, going up or coming down."""

    direction: Direction
    name: str
    total: int
    sender: str = ""
    offer: FileOffer | None = None
    source: Path | None = None
    """An upload's file on this computer."""
    folder: tuple[str, ...] = ()
    """An upload's place in the folder sent."""
    target: Path | None = None
    """The folder a download goes into."""
    saved: Path | None = None
    """Where a finished download is."""
    state: State = State.OFFERED
    done: int = 0
    error: str = ""
    speed: Speed = field(default_factory=Speed)
    stop: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    @property
    def mime(self) -> str:
        """The file's type (from the offer, or guessed from a name being sent)."""
        if self.offer is not None:
            return self.offer.mime
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    @property
    def local_path(self) -> Path | None:
        """The file on this computer, whole: a finished download, or the file sent."""
        return self.saved if self.direction is Direction.DOWN else self.source

    def status(self) -> str:
        """How it stands, in words: ``12.0 MiB of 1.0 GiB · 45.0 MiB/s · 20 s left``."""
        size = human_size(self.total)
        if self.state is State.OFFERED:
            return f"{size} · offered by {self.sender}" if self.sender else size
        if self.state is State.DONE:
            verb = "sent" if self.direction is Direction.UP else "saved"
            return f"{size} · {verb}" + (f" to {self.saved.parent}" if self.saved else "")
        if self.state in (State.FAILED, State.CANCELLED):
            return f"{self.state.value}: {self.error}" if self.error else self.state.value
        words = f"{human_size(self.done)} of {size}"
        if self.state is not State.RUNNING:
            return f"{words} · {self.state.value}"
        rate = self.speed.rate()
        if rate <= 0:
            return f"{words} · starting"
        left = self.speed.seconds_left(self.total - self.done)
        return f"{words} · {human_size(int(rate))}/s" + (
            f" · {duration(left)} left" if left is not None else ""
        )

    def record(self) -> dict[str, Any]:
        """What :class:`TransferBook` keeps of it."""
        return {
            "direction": self.direction.value,
            "name": self.name,
            "total": self.total,
            "sender": self.sender,
            "offer": self.offer.data() if self.offer else None,
            "source": str(self.source) if self.source else None,
            "folder": list(self.folder),
            "target": str(self.target) if self.target else None,
            "paused": self.state is State.PAUSED,
        }

    @classmethod
    def of_record(cls, record: dict[str, Any]) -> Transfer | None:
        """A transfer :meth:`record` wrote; ``None`` when the record is not one."""
        try:
            offer = offer_of(record["offer"]) if record["offer"] else None
            transfer = cls(
                Direction(record["direction"]),
                safe_file_name(str(record["name"])),
                int(record["total"]),
                str(record["sender"]),
                offer,
                Path(record["source"]) if record["source"] else None,
                tuple(str(part) for part in record["folder"]),
                Path(record["target"]) if record["target"] else None,
                state=State.PAUSED if record["paused"] else State.WAITING,
            )
        except (KeyError, TypeError, ValueError):
            return None
        if transfer.direction is Direction.DOWN and (offer is None or transfer.target is None):
            return None
        if transfer.direction is Direction.UP and transfer.source is None:
            return None
        return transfer


class TransferBook:
    """The unfinished transfers of every room, in one JSON file (atomic writes; no token:
    a room is named by its host, port and name)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The rooms of one window share the book, each saving from a worker thread: one
        # read-change-write at a time, or one room's records would undo another's.
        self._lock = threading.Lock()

    def _read(self) -> dict[str, list[dict[str, Any]]]:
        try:
            rooms = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("unfinished transfers not read from %s: %s", self.path, exc)
            return {}
        return rooms if isinstance(rooms, dict) else {}

    def load(self, room: str) -> list[Transfer]:
        """The unfinished transfers of ``room``."""
        records = self._read().get(room, [])
        found = (Transfer.of_record(r) for r in records if isinstance(r, dict))
        return [transfer for transfer in found if transfer is not None]

    def save(self, room: str, records: list[dict[str, Any]]) -> None:
        """Keep ``records`` (:meth:`Transfer.record` of the unfinished transfers) as
        ``room``'s. Reads and writes a file: call it from a worker thread."""
        with self._lock:
            self._save(room, records)

    def _save(self, room: str, records: list[dict[str, Any]]) -> None:
        rooms = self._read()
        if records:
            rooms[room] = records
        else:
            rooms.pop(room, None)
        try:
            write_atomically(self.path, json.dumps(rooms, indent=1))
        except OSError as exc:
            logger.warning("unfinished transfers not written to %s: %s", self.path, exc)


def room_key(at: FilesAt) -> str:
    """A room's name in the :class:`TransferBook`."""
    return f"{at.host}:{at.port}/{at.room}"


def files_in(paths: Iterable[Path], limit: int = MAX_FILES) -> list[tuple[Path, tuple[str, ...]]]:
    """Each file of ``paths`` with the folders it sits in: a file alone has none; a folder
    gives every regular file under it with its tree (``("photos", "2026")``). Links are not
    followed (a loop, or a way out of the folder); :class:`TransferError` past ``limit``."""
    found: list[tuple[Path, tuple[str, ...]]] = []
    for path in paths:
        if path.is_dir():
            for top, folders, names in os.walk(path):
                folders.sort()
                here = Path(top)
                parts = (path.name, *here.relative_to(path).parts)
                for name in sorted(names):
                    file = here / name
                    if file.is_file() and not file.is_symlink():
                        found.append((file, parts))
                if len(found) > limit:
                    break
        elif path.is_file():
            found.append((path, ()))
        if len(found) > limit:
            raise TransferError(f"more than {limit} files at once: send a smaller folder")
    return found


def _sized(paths: Iterable[Path]) -> list[tuple[Path, tuple[str, ...], int]]:
    """:func:`files_in`, each with its size (reads the disk: on a worker thread)."""
    sized = []
    for path, folder in files_in(paths):
        try:
            sized.append((path, folder, path.stat().st_size))
        except OSError as exc:
            raise TransferError(f"{path}: {exc.strerror or exc}") from exc
    return sized


def _identity(transfer: Transfer) -> tuple[object, ...]:
    return (transfer.direction, transfer.offer and transfer.offer.id, transfer.source)


Changed = Callable[[Transfer], None]
Post = Callable[[FileOffer], Awaitable[object]]
"""Posts an offer in the room (the session's ``send_json`` of its data)."""
SendWhole = Callable[[Path], Awaitable[object]]
"""Sends a file as one message, to a host that takes no files beside the room."""


@dataclass(frozen=True, slots=True)
class _Room:
    at: FilesAt
    post: Post
    send_whole: SendWhole


class Transfers:
    """The transfers of the room joined, run on worker threads; ``changed`` hears of each
    change (on the loop's thread)."""

    def __init__(self, changed: Changed, book: TransferBook | None = None) -> None:
        self.items: list[Transfer] = []
        self._changed = changed
        self._book = book
        self._room: _Room | None = None
        self._tasks: dict[Transfer, asyncio.Task[None]] = {}
        self._reported: dict[Transfer, float] = {}
        self._closing = False
        self._remember_soon: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None

    # -- the room -----------------------------------------------------------------------------

    def attach(self, at: FilesAt, post: Post, send_whole: SendWhole) -> list[Transfer]:
        """The room is joined (again): continue what was unfinished, in this run or the last;
        the transfers added from the book."""
        same = self._room is not None and room_key(self._room.at) == room_key(at)
        self._room = _Room(at, post, send_whole)
        added: list[Transfer] = []
        if not same and self._book is not None:
            known = {_identity(t) for t in self.items}
            for transfer in self._book.load(room_key(at)):
                if _identity(transfer) in known:
                    continue
                self.items.append(transfer)
                added.append(transfer)
                self._changed(transfer)
        for transfer in self.items:
            if transfer.state in (State.WAITING, State.FAILED):
                transfer.state = State.WAITING
                transfer.error = ""
                self._changed(transfer)
        self._next()
        return added

    async def close(self) -> None:
        """Stop every transfer (what arrived is kept, and written down to continue later)
        and empty the list: the room is left."""
        self._closing = True
        for transfer in self._tasks:
            transfer.stop.set()
        tasks = list(self._tasks.values())
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._remember_soon is not None:
            self._remember_soon.cancel()
            self._remember_soon = None
        if self._writing is not None:
            await self._writing
        await self._write()
        self.items.clear()
        self._room = None
        self._closing = False

    # -- what the user does -------------------------------------------------------------------

    def offered(self, offer: FileOffer, sender: str, mine: bool = False) -> Transfer | None:
        """An offer seen in the room; ``None`` when it is ours or already listed."""
        for transfer in self.items:
            if transfer.offer is not None and transfer.offer.id == offer.id:
                return None
        if mine:
            return None
        transfer = Transfer(Direction.DOWN, offer.name, offer.size, sender, offer)
        self.items.append(transfer)
        self._changed(transfer)
        return transfer

    async def send(self, paths: Iterable[Path]) -> list[Transfer]:
        """Send files and folders (their trees kept, walked on a worker thread); the
        transfers, queued."""
        added = []
        for path, folder, size in await asyncio.to_thread(_sized, list(paths)):
            transfer = Transfer(
                Direction.UP, path.name, size, source=path, folder=folder, state=State.WAITING
            )
            self.items.append(transfer)
            added.append(transfer)
            self._changed(transfer)
        self._next()
        return added

    def fetch(self, transfer: Transfer, folder: Path) -> None:
        """Download an offered file into ``folder``."""
        if transfer.direction is not Direction.DOWN or transfer.state not in (
            State.OFFERED,
            State.CANCELLED,
            State.FAILED,
        ):
            return
        transfer.target = folder
        self._queue(transfer)

    def pause(self, transfer: Transfer) -> None:
        """Stop for now; what arrived is kept."""
        if transfer.state in (State.WAITING, State.RUNNING):
            transfer.stop.set()
            transfer.state = State.PAUSED
            transfer.speed.reset()
            self._report(transfer)

    def resume(self, transfer: Transfer) -> None:
        """Continue a paused or failed transfer from where it stopped."""
        if transfer.state in (State.PAUSED, State.FAILED):
            self._queue(transfer)

    def cancel(self, transfer: Transfer) -> None:
        """Give up: a download's ``.part`` goes, an upload is dropped by the host."""
        if transfer.state not in UNFINISHED:
            return
        transfer.cancelled = True
        transfer.stop.set()
        if transfer not in self._tasks:
            self._end_cancelled(transfer)

    def forget(self, transfer: Transfer) -> None:
        """Take a finished, failed or cancelled transfer off the list."""
        if transfer.state not in (State.WAITING, State.RUNNING) and transfer in self.items:
            self.items.remove(transfer)
            self._remember()

    # -- running ------------------------------------------------------------------------------

    def _queue(self, transfer: Transfer) -> None:
        transfer.state = State.WAITING
        transfer.error = ""
        transfer.cancelled = False
        self._report(transfer)
        self._next()

    def _next(self) -> None:
        if self._room is None or self._closing:
            return
        for transfer in self.items:
            if len(self._tasks) >= AT_ONCE:
                break
            if transfer.state is State.WAITING and transfer not in self._tasks:
                transfer.stop = threading.Event()
                transfer.state = State.RUNNING
                transfer.speed.reset()
                self._report(transfer)
                task = asyncio.get_running_loop().create_task(self._run(transfer))
                self._tasks[transfer] = task
        self._remember()

    async def _run(self, transfer: Transfer) -> None:
        loop = asyncio.get_running_loop()
        room = self._room
        assert room is not None, "a transfer starts only in a room"

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(self._progress, transfer, done)

        try:
            if transfer.direction is Direction.UP:
                await self._upload(room, transfer, progress)
            else:
                await self._download(room.at, transfer, progress)
        except Stopped:
            if transfer.cancelled:
                await self._cancel_on_host(room.at, transfer)
                self._end_cancelled(transfer)
        except (OSError, TransferError, JoinError) as exc:
            transfer.state = State.FAILED
            transfer.error = getattr(exc, "strerror", None) or str(exc)
            logger.info("transfer of %s failed: %s", transfer.name, transfer.error)
        else:
            transfer.state = State.DONE
            transfer.done = transfer.total
        finally:
            del self._tasks[transfer]
            transfer.speed.reset()
            self._report(transfer)
            self._next()

    async def _upload(
        self, room: _Room, transfer: Transfer, progress: Callable[[int, int], None]
    ) -> None:
        source = transfer.source
        if source is None:
            raise TransferError("nothing to send")
        if transfer.offer is None:
            try:
                offer = await asyncio.to_thread(
                    announce, room.at, source, transfer.mime, transfer.folder
                )
            except NoFileTransfers:
                await room.send_whole(source)
                return
            transfer.offer = offer
            self._remember()
        await asyncio.to_thread(
            upload, room.at, source, transfer.offer, progress, stop=transfer.stop
        )
        await room.post(transfer.offer)

    async def _download(
        self, at: FilesAt, transfer: Transfer, progress: Callable[[int, int], None]
    ) -> None:
        if transfer.offer is None or transfer.target is None:
            raise TransferError("nothing to fetch")
        transfer.saved = await asyncio.to_thread(
            download, at, transfer.offer, transfer.target, progress, stop=transfer.stop
        )

    async def _cancel_on_host(self, at: FilesAt, transfer: Transfer) -> None:
        if transfer.direction is Direction.UP and transfer.offer:
            try:
                await asyncio.to_thread(cancel_upload, at, transfer.offer)
            except (OSError, TransferError, JoinError) as exc:
                logger.info("the host did not drop the upload of %s: %s", transfer.name, exc)

    def _end_cancelled(self, transfer: Transfer) -> None:
        if transfer.direction is Direction.DOWN and transfer.offer and transfer.target:
            with contextlib.suppress(OSError):
                part_path(transfer.offer, transfer.target).unlink(missing_ok=True)
        transfer.state = State.CANCELLED
        transfer.done = 0
        self._report(transfer)
        self._remember()

    def _progress(self, transfer: Transfer, done: int) -> None:
        if transfer.state is not State.RUNNING:
            return
        transfer.done = done
        now = time.monotonic()
        transfer.speed.add(now, done)
        if now - self._reported.get(transfer, 0.0) >= REPORT_SECONDS or done >= transfer.total:
            self._reported[transfer] = now
            self._changed(transfer)

    def _report(self, transfer: Transfer) -> None:
        self._reported.pop(transfer, None)
        self._changed(transfer)

    def _remember(self) -> None:
        """Write the book of unfinished transfers soon (changes gather for a second; the
        file is written on a worker thread, one write at a time)."""
        if self._book is None or self._room is None or self._remember_soon is not None:
            return
        self._remember_soon = asyncio.get_running_loop().call_later(
            REMEMBER_SECONDS, self._start_writing
        )

    def _start_writing(self) -> None:
        self._remember_soon = None
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write())
            self._writing.add_done_callback(self._written)
        else:
            self._remember()  # after the write under way

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing = None
        if not task.cancelled() and task.exception() is not None:
            logger.warning("unfinished transfers not written: %s", task.exception())

    async def _write(self) -> None:
        if self._book is None or self._room is None:
            return
        # The records are taken here, on the loop's thread: the transfers change on it.
        records = [t.record() for t in self.items if t.state in UNFINISHED]
        await asyncio.to_thread(self._book.save, room_key(self._room.at), records)
