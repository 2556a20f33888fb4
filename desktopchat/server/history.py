"""The room history: every message stored, with its id, before anybody hears of it.

Two stores share one interface: :class:`SqliteHistory` (the default; a WAL database that
survives ``kill -9``) and :class:`MemoryHistory` (``--history off``; the recent messages of
each room, gone with the process). Calls are synchronous on purpose: one INSERT + COMMIT
costs tens of microseconds, and doing it inline keeps ids, storage and relay in one order.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Protocol

from desktopchat.protocol import ChatMessage, Kind, dumps, loads


class History(Protocol):
    """What a room needs of its history store."""

    def last_id(self, room: str) -> int:
        """The newest id in ``room`` (0 when empty)."""

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        """Store ``message`` (its ``id`` is ignored) and return it with the id assigned."""

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        """The message a member stored earlier under the same client id, if any."""

    def since(self, room: str, after: int, limit: int) -> list[ChatMessage]:
        """Up to ``limit`` messages with ids above ``after``, oldest first."""

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        """The newest ``count`` messages, oldest first."""

    def close(self) -> None:
        """Flush and release the store."""


def _with_id(message: ChatMessage, new_id: int) -> ChatMessage:
    return ChatMessage(
        id=new_id,
        time=message.time,
        sender=message.sender,
        kind=message.kind,
        text=message.text,
        data=message.data,
        payload=message.payload,
        name=message.name,
        mime=message.mime,
    )


class MemoryHistory:
    """History kept in memory, the newest ``keep`` messages per room."""

    def __init__(self, keep: int = 1000) -> None:
        self._keep = keep
        self._rooms: dict[str, deque[tuple[ChatMessage, tuple[str, str, str] | None]]] = {}
        self._last: dict[str, int] = {}
        self._cids: dict[tuple[str, str, str], ChatMessage] = {}

    def last_id(self, room: str) -> int:
        return self._last.get(room, 0)

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        stored = _with_id(message, self.last_id(room) + 1)
        self._last[room] = stored.id
        log = self._rooms.setdefault(room, deque(maxlen=self._keep))
        if len(log) == log.maxlen:
            _, evicted = log[0]
            if evicted is not None:
                self._cids.pop(evicted, None)
        cid_key = (room, key, cid) if key is not None and cid is not None else None
        log.append((stored, cid_key))
        if cid_key is not None:
            self._cids[cid_key] = stored
        return stored

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        return self._cids.get((room, key, cid))

    def since(self, room: str, after: int, limit: int) -> list[ChatMessage]:
        found = [m for m, _ in self._rooms.get(room, ()) if m.id > after]
        return found[:limit]

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        log = self._rooms.get(room, deque())
        return [m for m, _ in log][-count:] if count > 0 else []

    def close(self) -> None:
        self._rooms.clear()
        self._cids.clear()


_SCHEMA = """
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

_COLUMNS = "id, time, sender, kind, body, name, mime"
_Row = tuple[int, int, str, str, bytes, str, str]


def _body(message: ChatMessage) -> bytes:
    if message.kind is Kind.BINARY:
        return message.payload
    if message.kind is Kind.JSON:
        return dumps(message.data).encode()
    return message.text.encode()


def _from_row(row: _Row) -> ChatMessage:
    ident, time, sender, kind_name, body, name, mime = row
    kind = Kind(kind_name)
    if kind is Kind.BINARY:
        return ChatMessage(ident, time, sender, kind, payload=bytes(body), name=name, mime=mime)
    if kind is Kind.JSON:
        return ChatMessage(ident, time, sender, kind, data=loads(bytes(body)))
    return ChatMessage(ident, time, sender, kind, text=bytes(body).decode())


class SqliteHistory:
    """History in an SQLite file (WAL): committed before the server acknowledges a message.

    ``synchronous=NORMAL`` with WAL survives a crash of the process (``kill -9``); only a
    power loss can take the last transactions, which a LAN chat accepts for the speed.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._last: dict[str, int] = {}

    def last_id(self, room: str) -> int:
        if room not in self._last:
            row = self._db.execute(
                "SELECT MAX(id) FROM messages WHERE room = ?", (room,)
            ).fetchone()
            self._last[room] = int(row[0] or 0)
        return self._last[room]

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        stored = _with_id(message, self.last_id(room) + 1)
        # Autocommit mode: the INSERT is its own transaction, durable when execute() returns.
        self._db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                room,
                stored.id,
                stored.time,
                stored.sender,
                stored.kind.value,
                _body(stored),
                stored.name,
                stored.mime,
                key,
                cid,
            ),
        )
        self._last[room] = stored.id
        return stored

    def find(self, room: str, key: str, cid: str) -> ChatMessage | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND member_key = ? AND cid = ?",  # noqa: S608
            (room, key, cid),
        ).fetchone()
        return _from_row(row) if row else None

    def since(self, room: str, after: int, limit: int) -> list[ChatMessage]:
        return list(
            self._rows(
                f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND id > ? "  # noqa: S608
                "ORDER BY id LIMIT ?",
                (room, after, limit),
            )
        )

    def recent(self, room: str, count: int) -> list[ChatMessage]:
        newest = list(
            self._rows(
                f"SELECT {_COLUMNS} FROM messages WHERE room = ? "  # noqa: S608
                "ORDER BY id DESC LIMIT ?",
                (room, count),
            )
        )
        return newest[::-1]

    def close(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def _rows(self, query: str, params: tuple[object, ...]) -> Iterator[ChatMessage]:
        with closing(self._db.execute(query, params)) as cursor:
            for row in cursor:
                yield _from_row(row)


def open_history(path: Path | None, keep: int) -> History:
    """The store for ``--history PATH`` (SQLite) or ``--history off`` (``None``: memory)."""
    return MemoryHistory(keep=max(keep, 1000)) if path is None else SqliteHistory(path)
