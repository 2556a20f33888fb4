"""Both history stores behave alike; SQLite keeps everything across a reopen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktopchat.protocol import ChatMessage, Kind
from desktopchat.server.history import History, MemoryHistory, SqliteHistory


def text(body: str) -> ChatMessage:
    return ChatMessage(0, 1000, "ada", Kind.TEXT, text=body)


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


def test_memory_history_forgets_old_messages_and_their_client_ids() -> None:
    history = MemoryHistory(keep=2)
    history.append("r", text("old"), key="k", cid="old")
    history.append("r", text("b"))
    history.append("r", text("c"))
    assert history.find("r", "k", "old") is None
    assert [m.text for m in history.since("r", 0, 10)] == ["b", "c"]
