"""Both history stores behave alike; SQLite keeps everything across a reopen."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from desktopchat.protocol import ChatMessage, Kind
from desktopchat.server.stores.commits import Commits
from desktopchat.server.stores.history import History, MemoryHistory, Retention, StoreError
from desktopchat.server.stores.sqlite_history import SCHEMA_VERSION, HistoryFileError, SqliteHistory

NOW_MS = int(time.time() * 1000)
DAY_MS = 86_400_000


def text(body: str, when: int = NOW_MS) -> ChatMessage:
    return ChatMessage(0, when, "ada", Kind.TEXT, text=body)


def blob(size: int, when: int = NOW_MS) -> ChatMessage:
    return ChatMessage(0, when, "ada", Kind.BINARY, payload=b"x" * size, name="b", mime="x/y")


@pytest.fixture(params=["memory", "sqlite"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    store: History = (
        MemoryHistory() if request.param == "memory" else SqliteHistory(tmp_path / "h.sqlite3")
    )
    yield store
    store.close()


def test_ids_start_at_one_and_grow_per_room(history: History) -> None:
    assert [history.append("a", text(str(n))).id for n in range(3)] == [1, 2, 3]
    assert history.append("b", text("x")).id == 1
    assert history.last_id("a") == 3
    assert history.last_id("empty") == 0


def test_messages_of_every_kind_come_back_as_stored(history: History) -> None:
    sent = [
        text("hi"),
        ChatMessage(0, 5, "bob", Kind.JSON, data={"a": [1, None, True]}),
        ChatMessage(0, 6, "eve", Kind.BINARY, payload=b"\x00\xff", name="f.bin", mime="x/y"),
    ]
    stored = [history.append("r", message) for message in sent]
    assert history.since("r", 0, 10) == stored
    assert stored[1].data == {"a": [1, None, True]}


def test_since_and_recent_page_in_order(history: History) -> None:
    for n in range(10):
        history.append("r", text(str(n)))
    assert [m.id for m in history.since("r", 4, 3)] == [5, 6, 7]
    assert [m.id for m in history.recent("r", 3)] == [8, 9, 10]
    assert history.recent("r", 0) == []


def test_a_client_id_finds_the_message_it_was_stored_under(history: History) -> None:
    stored = history.append("r", text("once"), key="k", cid="c1")
    assert history.find("r", "k", "c1") == stored
    assert history.find("r", "other", "c1") is None


def test_sqlite_history_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    first = SqliteHistory(path)
    first.append("r", text("kept"), key="k", cid="1")
    first.close()
    again = SqliteHistory(path)
    assert again.last_id("r") == 1
    assert again.since("r", 0, 5)[0].text == "kept"
    assert again.append("r", text("next")).id == 2
    again.close()


def test_the_history_file_is_readable_by_its_user_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    history = SqliteHistory(path)
    history.append("r", text("every room's messages"))
    for made in (path, path.with_name(path.name + "-wal")):
        assert made.stat().st_mode & 0o777 == 0o600, made
    history.close()


def test_memory_history_forgets_old_messages_and_their_client_ids() -> None:
    history = MemoryHistory(Retention(messages=2))
    history.append("r", text("old"), key="k", cid="old")
    history.append("r", text("b"))
    history.append("r", text("c"))
    assert history.find("r", "k", "old") is None
    assert [m.text for m in history.since("r", 0, 10)] == ["b", "c"]


def test_pages_stop_at_their_byte_bound_but_always_hold_one_message(history: History) -> None:
    for _ in range(10):
        history.append("r", blob(1000))
    assert [m.id for m in history.since("r", 0, 100, max_bytes=2500)] == [1, 2, 3]
    assert [m.id for m in history.since("r", 0, 100, max_bytes=10)] == [1]
    assert history.start_of_recent("r", 4) == 6
    assert history.start_of_recent("r", 50) == 0


def test_memory_history_is_bounded_in_bytes_across_rooms_oldest_first() -> None:
    history = MemoryHistory(Retention(messages=1000, total_bytes=20_000))
    for room in ("a", "b", "c"):
        for _ in range(10):
            history.append(room, blob(1000))
    assert history.bytes <= 20_000
    assert history.since("a", 0, 100) == []  # the oldest room's messages went first
    assert [m.id for m in history.since("c", 0, 100)] == list(range(1, 11))
    assert history.last_id("a") == 10  # ids go on while the room may be in use


def test_memory_history_forgets_an_empty_room_with_nobody_in_it() -> None:
    history = MemoryHistory(Retention(messages=1000, total_bytes=5000))
    history.append("gone", blob(1000))
    history.forget("gone")  # its last member left
    for _ in range(5):
        history.append("busy", blob(1000))
    assert history.last_id("gone") == 0  # nothing kept for a room name used once


def test_sqlite_history_keeps_the_newest_per_room_and_drops_old_ones(tmp_path: Path) -> None:
    history = SqliteHistory(tmp_path / "h.sqlite3", Retention(messages=5, days=1))
    history.append("r", text("ancient", NOW_MS - 3 * DAY_MS))
    for n in range(12):
        history.append("r", text(str(n)))
    history.prune()
    assert [m.text for m in history.since("r", 0, 100)] == ["7", "8", "9", "10", "11"]
    assert history.append("r", text("next")).id == 14  # ids never go back
    history.close()


def test_sqlite_history_is_bounded_in_bytes_and_the_file_stops_growing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history = SqliteHistory(path, Retention(total_bytes=2 * 1024 * 1024))
    for _ in range(100):
        history.append("r", blob(64 * 1024))
    assert history.bytes <= 2 * 1024 * 1024
    size = path.stat().st_size
    for _ in range(100):
        history.append("r", blob(64 * 1024))
    assert history.bytes <= 2 * 1024 * 1024
    history.close()
    assert path.stat().st_size <= size * 1.5 + 1024 * 1024


def test_a_history_file_without_a_version_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the layout desktopchat 0.1 wrote, unversioned
        db.executescript(
            "CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, time INTEGER NOT"
            " NULL, sender TEXT NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL, name TEXT NOT"
            " NULL DEFAULT '', mime TEXT NOT NULL DEFAULT '', member_key TEXT, cid TEXT,"
            " PRIMARY KEY (room, id)) WITHOUT ROWID;"
        )
        db.execute(
            "INSERT INTO messages VALUES ('r', 1, ?, 'ada', 'text', ?, '', '', NULL, NULL)",
            (NOW_MS, b"kept"),
        )
    db.close()
    history = SqliteHistory(path)
    assert [m.text for m in history.since("r", 0, 5)] == ["kept"]
    history.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {row[1] for row in db.execute("PRAGMA index_list(messages)")}
    db.close()
    assert "messages_by_time" in indexes


def test_a_history_file_from_a_newer_version_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(HistoryFileError, match="newer desktopchat"):
        SqliteHistory(path)


def test_older_messages_come_newest_page_first_within_a_byte_bound(history: History) -> None:
    for _ in range(10):
        history.append("r", blob(1000))
    assert [m.id for m in history.before("r", 8, 3)] == [5, 6, 7]
    assert [m.id for m in history.before("r", 8, 100, max_bytes=1500)] == [6, 7]
    assert history.before("r", 1, 10) == []


def test_a_flood_of_tiny_messages_is_bounded_too() -> None:
    history = MemoryHistory(Retention(messages=100, total_bytes=10**9))
    for _ in range(20_000):
        history.append("r", text("x"))
    assert len(history.since("r", 0, 1000)) == 100
    assert len(history._order) < 2 * 100 + 1024 + 1  # no trail of dropped messages


def stored_rows(path: Path) -> int:
    """What another connection (another process, after a crash) would find in the file."""
    with closing(sqlite3.connect(path)) as other:
        return int(other.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def test_appends_outside_a_batch_are_durable_on_return_and_a_batch_at_its_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    store = SqliteHistory(path)
    assert store.append("a", text("0")).id == 1
    assert stored_rows(path) == 1
    store.begin()
    assert [store.append("a", text(str(n))).id for n in range(1, 5)] == [2, 3, 4, 5]
    assert stored_rows(path) == 1, "not durable yet, so nobody may hear of them"
    store.commit()
    assert stored_rows(path) == 5
    store.commit()  # nothing open: nothing to do
    store.append("a", text("alone again"))
    assert stored_rows(path) == 6
    store.close()


def test_a_turns_first_append_is_committed_at_once_and_the_rest_once_at_its_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    commits = Commits(SqliteHistory(path))

    async def burst() -> None:
        first, batch = commits.append("a", text("0"), None, None)
        assert (first.id, batch) == (1, None), "nothing to wait for: relayed at once"
        assert stored_rows(path) == 1
        stored = [commits.append("a", text(str(n)), None, None) for n in range(1, 5)]
        batches = {batch for _, batch in stored}
        assert len(batches) == 1
        (committed,) = batches
        assert committed is not None
        assert commits.pending() is committed
        assert stored_rows(path) == 1
        await committed
        assert stored_rows(path) == 5
        assert commits.pending() is None
        _, batch = commits.append("a", text("next turn"), None, None)
        assert batch is None
        assert stored_rows(path) == 6

    asyncio.run(burst())
    commits.close()


def test_a_worker_threads_append_is_durable_when_it_returns_with_the_open_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    store = SqliteHistory(path)
    store.begin()
    store.append("a", text("in the batch"))
    worker = threading.Thread(target=store.append_alone, args=("a", blob(10)))
    worker.start()
    worker.join()
    assert stored_rows(path) == 2, "the open batch went with the worker's commit"
    store.append("a", text("the same batch, after"))
    assert stored_rows(path) == 2
    store.commit()
    assert stored_rows(path) == 3
    assert store.append_alone("a", blob(10)).id == 4
    assert stored_rows(path) == 4
    store.close()


class FailingCommit:
    """An SQLite connection that cannot commit, as on a full disk: COMMIT fails, and so does
    a write outside a transaction (its own commit)."""

    def __init__(self, db: sqlite3.Connection, *, rollback_too: bool = False) -> None:
        self.db = db
        self.failing = {"COMMIT", "ROLLBACK"} if rollback_too else {"COMMIT"}

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def execute(self, statement: str, parameters: tuple[object, ...] = ()) -> sqlite3.Cursor:
        autocommitted = statement.startswith("INSERT") and not self.db.in_transaction
        if statement in self.failing or autocommitted:
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(statement, parameters)


def test_a_failed_commit_fails_its_whole_batch_and_frees_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = SqliteHistory(path)
    store.append("a", text("kept"))
    db = store._db  # the test reaches under the store for a failing disk
    store._db = FailingCommit(db)  # type: ignore[assignment]
    with pytest.raises(StoreError, match="disk is full"):
        store.append("a", text("lost 0"))  # outside a batch: its own commit fails
    store.begin()
    store.append("a", text("lost 1"))
    store.append("a", text("lost 2"))
    with pytest.raises(StoreError, match="disk is full"):
        store.commit()
    store._db = db
    assert store.append("a", text("kept 2")).id == 2
    store.begin()
    assert store.append("a", text("next")).id == 3
    store._db = FailingCommit(db)  # type: ignore[assignment]
    # A worker's commit takes the open batch ("next") along, and so does its failure:
    # neither is stored, and the batch's owner hears it at its commit.
    with pytest.raises(StoreError):
        store.append_alone("a", text("lost 3"))
    store._db = db
    with pytest.raises(StoreError, match="disk is full"):
        store.append("a", text("lost 4"))  # the batch is gone: nothing may join it
    with pytest.raises(StoreError, match="disk is full"):
        store.commit()
    store.commit()  # told once
    assert [m.text for m in store.recent("a", 10)] == ["kept", "kept 2"]
    assert store.bytes == len(b"kept") + len(b"kept 2")
    store.close()


def test_a_store_whose_rollback_fails_too_still_ends_the_batch(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "h.sqlite3")
    db = store._db
    store._db = FailingCommit(db, rollback_too=True)  # type: ignore[assignment]
    with pytest.raises(StoreError):
        store.append("a", text("lost at once"))
    store.begin()
    store.append("a", text("lost"))
    with pytest.raises(StoreError):
        store.commit()
    db.execute("ROLLBACK")  # the disk is back
    store._db = db
    store.append("a", text("kept"))
    assert [m.text for m in store.recent("a", 10)] == ["kept"]
    store.close()


class FailingDelete(FailingCommit):
    """A connection whose deletes fail (a file that went read-only under us, say)."""

    def execute(self, statement: str, parameters: tuple[object, ...] = ()) -> sqlite3.Cursor:
        if statement.startswith("DELETE"):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return self.db.execute(statement, parameters)


def test_a_message_committed_at_once_stays_stored_when_retention_cannot_be_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteHistory(tmp_path / "h.sqlite3", Retention(total_bytes=10))
    db = store._db
    store._db = FailingDelete(db)  # type: ignore[assignment]
    assert store.append("a", text("more than ten bytes")).id == 1
    assert "could not apply its retention" in caplog.text
    store._db = db
    assert [m.text for m in store.recent("a", 10)] == ["more than ten bytes"]
    store.prune()  # once the file can be written again, the limit holds
    assert store.recent("a", 10) == []
    store.close()
