"""History in an SQLite file: committed before the server acknowledges a message, and pruned.

The file carries a schema version (``PRAGMA user_version``); opening an older file migrates
it, opening a newer one is refused with a message rather than misread. Retention runs as
messages arrive: the newest N per room, nothing older than D days, at most B bytes of
bodies in all (the oldest go first), with freed pages handed back to the file system.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from desktopchat.protocol import ChatMessage, Kind, loads
from desktopchat.server.stores.history import (
    MiB,
    Retention,
    StoreError,
    message_body,
    take_page,
    with_id,
)

logger = logging.getLogger("desktopchat.server")

SCHEMA_VERSION = 3

_TABLES = """
CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL,
    id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    mime TEXT NOT NULL DEFAULT '',
    member_key TEXT,
    cid TEXT,
    PRIMARY KEY (room, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_cid
    ON messages (room, member_key, cid) WHERE cid IS NOT NULL;
"""


def _to_v2(db: sqlite3.Connection) -> None:
    # Version 2 prunes by age and by total size: it needs messages by time.
    db.execute("CREATE INDEX IF NOT EXISTS messages_by_time ON messages (time)")


def _to_v3(db: sqlite3.Connection) -> None:
    # Version 3 keeps direct messages: whom each was said to (empty: the room).
    db.execute("ALTER TABLE messages ADD COLUMN recipient TEXT NOT NULL DEFAULT ''")


# Version n's step turns a version n-1 file into version n. Version 1 is the layout of
# desktopchat 0.1 before versions were recorded (user_version 0 with the table present).
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _to_v2, 3: _to_v3}

_COLUMNS = "id, time, sender, kind, body, name, mime, recipient"
_Row = tuple[int, int, str, str, bytes, str, str, str]
_PRUNE_EVERY = 200  # messages
_PRUNE_AFTER_BYTES = 16 * MiB
_DAY_MS = 86_400_000


class HistoryFileError(OSError):
    """The history file cannot be used (e.g. it was written by a newer desktopchat)."""


def _from_row(row: _Row) -> ChatMessage:
    ident, when, sender, kind_name, body, name, mime, to = row
    kind = Kind(kind_name)
    if kind is Kind.BINARY:
        return ChatMessage(ident, when, sender, kind, payload=bytes(body), name=name, mime=mime)
    if kind is Kind.JSON:
        return ChatMessage(ident, when, sender, kind, data=loads(bytes(body)), to=to)
    return ChatMessage(ident, when, sender, kind, text=bytes(body).decode(), to=to)


class SqliteHistory:
    """History in an SQLite file (WAL): committed before the server acknowledges a message.

    ``synchronous=NORMAL`` with WAL survives a crash of the process (``kill -9``); only a
    power loss can take the last transactions, which a LAN chat accepts for the speed.
    The connection is used from the loop and, for big messages, from a worker thread:
    SQLite serializes the two (``sqlite3.threadsafety == 3``), and a lock keeps each
    append whole.

    An append outside a batch is committed by its own statement (SQLite's autocommit):
    durable on return. Appends in a batch (:meth:`begin`) share one transaction, committed
    by :meth:`commit`: a burst's pages are written to the log once, not once per message.
    :meth:`append_alone` (a worker thread's big message) commits whatever transaction is
    open along with its own message; appends after it in the same batch open another.
    """

    slow_writes = True

    def __init__(
        self,
        path: Path,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Every room's messages: readable by this user only, like the TLS key beside it.
        # Made before SQLite opens it (SQLite would make it 0644), and its -wal and -shm
        # files take the database's mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._retention = retention or Retention()
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._migrate()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._last: dict[str, int] = {}
        # Appends come from the loop and from a worker thread (big messages): one at a time.
        self._writing = threading.Lock()
        row = self._db.execute("SELECT COALESCE(SUM(length(body)), 0) FROM messages").fetchone()
        self.bytes = int(row[0])
        self._since_prune = (0, 0)  # messages, bytes
        self._batch = False  # a batch is open (its transaction may have gone early)
        self._lost: StoreError | None = None  # why the open batch is lost, if it is
        # Rooms not used since the last start are pruned by count once, here; the rooms in
        # use are pruned as their messages come.
        self._delete(
            "DELETE FROM messages WHERE (room, id) IN (SELECT room, id FROM (SELECT room, id,"
            " ROW_NUMBER() OVER (PARTITION BY room ORDER BY id DESC) AS newer FROM messages)"
            " WHERE newer > ?)",
            (self._retention.messages,),
        )
        self.prune()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self._db.close()
            raise HistoryFileError(
                f"the history file is from a newer desktopchat (schema {version}, this one "
                f"reads up to {SCHEMA_VERSION}); use another --history file or upgrade"
            )
        if version == 0:
            exists = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
            ).fetchone()
            if not exists:
                # Before any table: pages freed by pruning go back to the file system.
                self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.executescript(_TABLES)
            version = 1
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN")
            _MIGRATIONS[target](self._db)
            self._db.execute(f"PRAGMA user_version={target}")
            self._db.execute("COMMIT")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def last_id(self, room: str) -> int:
        if room not in self._last:
            row = self._db.execute(
                "SELECT MAX(id) FROM messages WHERE room = ?", (room,)
            ).fetchone()
            self._last[room] = int(row[0] or 0)
        return self._last[room]

    def begin(self) -> None:
        with self._writing:
            self._batch = True

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        with self._writing:
            try:
                if not self._batch:
                    return self._append_at_once(room, message, key, cid)
                if self._lost is not None:  # the batch is gone: this cannot join it
                    raise self._lost
                if not self._db.in_transaction:  # the first, or a worker committed the rest
                    self._db.execute("BEGIN")
                return self._append(room, message, key, cid)
            except sqlite3.Error as exc:
                raise self._abandon(exc) from exc

    def append_alone(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        with self._writing:
            try:
                if not self._db.in_transaction:
                    self._db.execute("BEGIN")
                stored = self._append(room, message, key, cid)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._abandon(exc) from exc
            return stored

    def _append_at_once(
        self, room: str, message: ChatMessage, key: str | None, cid: str | None
    ) -> ChatMessage:
        stored = self._insert(room, message, key, cid)  # no transaction open: committed
        if self._prune_due():
            try:
                self.prune()
            except sqlite3.Error as exc:
                # The message is stored; old ones stay until the next prune manages.
                logger.error("the history file could not apply its retention: %s", exc)
        return stored

    def commit(self) -> None:
        with self._writing:
            self._batch = False
            lost, self._lost = self._lost, None
            if lost is not None:
                raise lost
            if not self._db.in_transaction:
                return
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._abandon(exc) from exc

    def _abandon(self, exc: sqlite3.Error) -> StoreError:
        """Roll back the open transaction (the batch is lost with it); the error to raise."""
        error = StoreError(f"the history file could not store it: {exc}")
        if self._batch:
            self._lost = error  # told to the batch's owner at its commit
        self._last.clear()  # ids the rolled-back messages took are free again
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            row = self._db.execute("SELECT COALESCE(SUM(length(body)), 0) FROM messages")
            self.bytes = int(row.fetchone()[0])
        except sqlite3.Error as again:
            # The file is failing: the next append starts over from a clean slate anyway.
            logger.error("the history file could not roll back: %s", again)
        return error

    def _append(
        self, room: str, message: ChatMessage, key: str | None, cid: str | None
    ) -> ChatMessage:
        # In the open batch's transaction, or (append_alone) a transaction of its own.
        stored = self._insert(room, message, key, cid)
        if self._prune_due():
            self.prune()
        return stored

    def _insert(
        self, room: str, message: ChatMessage, key: str | None, cid: str | None
    ) -> ChatMessage:
        stored = with_id(message, self.last_id(room) + 1)
        body = message_body(stored)
        row = (room, stored.id, stored.time, stored.sender, stored.kind.value, body)
        self._db.execute(
            "INSERT INTO messages (room, id, time, sender, kind, body, name, mime, member_key,"
            " cid, recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, stored.name, stored.mime, key, cid, stored.to),
        )
        self._last[room] = stored.id
        self.bytes += len(body)
        count, size = self._since_prune
        self._since_prune = (count + 1, size + len(body))
        return stored

    def _prune_due(self) -> bool:
        count, size = self._since_prune
        due = count >= _PRUNE_EVERY or size >= _PRUNE_AFTER_BYTES
        return due or self.bytes > self._retention.total_bytes

    def prune(self) -> None:
        """Apply the retention now: count per room, age, total bytes."""
        self._since_prune = (0, 0)
        keep = self._retention
        for room, newest in list(self._last.items()):
            self._delete(
                "DELETE FROM messages WHERE room = ? AND id <= ?", (room, newest - keep.messages)
            )
        if keep.days > 0:
            cutoff = int(self._clock() * 1000 - keep.days * _DAY_MS)
            self._delete("DELETE FROM messages WHERE time < ?", (cutoff,))
        while self.bytes > keep.total_bytes:
            if not self._delete(
                "DELETE FROM messages WHERE (room, id) IN "
                "(SELECT room, id FROM messages ORDER BY time, id LIMIT 64)",
                (),
            ):
                break
        self._db.execute("PRAGMA incremental_vacuum")

    def _delete(self, statement: str, params: tuple[object, ...]) -> int:
        with closing(self._db.execute(statement + " RETURNING length(body)", params)) as cursor:
            sizes = [int(row[0]) for row in cursor]
        self.bytes -= sum(sizes)
        return len(sizes)

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND member_key = ? AND cid = ?",  # noqa: S608
            (room, key, cid),
        ).fetchone()
        return _from_row(row) if row else None

    def since(
        self, room: str, after: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        query = (
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND id > ? "  # noqa: S608
            "ORDER BY id LIMIT ?"
        )
        # Rows are fetched one at a time: a page never loads more than it returns.
        return take_page(self._sized(query, (room, after, limit)), limit, max_bytes)

    def before(
        self, room: str, before: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        query = (
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND id < ? "  # noqa: S608
            "ORDER BY id DESC LIMIT ?"
        )
        return take_page(self._sized(query, (room, before, limit)), limit, max_bytes)[::-1]

    def _sized(self, query: str, params: tuple[object, ...]) -> Iterator[tuple[ChatMessage, int]]:
        for message in self._rows(query, params):
            yield message, len(message_body(message))

    def start_of_recent(self, room: str, count: int) -> int:
        if count <= 0:
            return self.last_id(room)
        row = self._db.execute(
            "SELECT id FROM messages WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (room, count - 1),
        ).fetchone()
        if row is not None:
            return int(row[0]) - 1
        first = self._db.execute("SELECT MIN(id) FROM messages WHERE room = ?", (room,)).fetchone()
        return int(first[0]) - 1 if first[0] is not None else self.last_id(room)

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        return self.since(room, self.start_of_recent(room, count), max(count, 0))

    def forget(self, room: str) -> None:
        # Kept: the room's newest id is what its count retention prunes below.
        return

    def has_before(self, room: str, before: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM messages WHERE room = ? AND id < ? LIMIT 1", (room, before)
        ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._writing:
            if self._db.in_transaction:
                self._db.execute("COMMIT")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()

    def _rows(self, query: str, params: tuple[object, ...]) -> Iterator[ChatMessage]:
        with closing(self._db.execute(query, params)) as cursor:
            for row in cursor:
                yield _from_row(row)
