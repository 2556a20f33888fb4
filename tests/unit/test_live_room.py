"""A room on the event loop: its messages stored in order, relayed once committed, big ones
stored from a worker thread, a store's failure told in words, the presence window a timer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest

from desktopchat.protocol import ChatMessage, Hello, HistoryRequest, SendBinary, SendText
from desktopchat.server.framing import Frame
from desktopchat.server.rooms.live_room import OFFLOAD_BYTES, LiveRoom
from desktopchat.server.rooms.room import PRESENCE_WINDOW, Mode
from desktopchat.server.settings import Settings
from desktopchat.server.stores.commits import Commits
from desktopchat.server.stores.history import MemoryHistory, StoreError
from tests.unit.test_room import Recorder


class DiskLike(MemoryHistory):
    """A store that says its writes block, like SQLite's, and records its batches and the
    threads its appends came from."""

    slow_writes = True

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.open: list[str] | None = None
        self.threads: list[str] = []

    def begin(self) -> None:
        self.open = []

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        self.threads.append(threading.current_thread().name)
        if self.open is not None:
            self.open.append(message.text)
        return super().append(room, message, key, cid)

    def append_alone(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        self.threads.append(threading.current_thread().name)
        return super().append(room, message, key, cid)

    def commit(self) -> None:
        if self.open is not None:
            self.batches.append(self.open)
        self.open = None


class FullDisk(DiskLike):
    """A disk store whose appends fail, or (``late``) only its commits (and so any append
    outside a batch, which is its own commit)."""

    def __init__(self, *, late: bool) -> None:
        super().__init__()
        self.late = late

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        if not self.late or self.open is None:
            raise StoreError("the disk is full")
        return super().append(room, message, key, cid)

    def commit(self) -> None:
        if self.open is not None:
            self.open = None
            raise StoreError("the disk is full")


def live(store: MemoryHistory | None = None) -> LiveRoom:
    clock = iter(range(1_000, 1_000_000))
    return LiveRoom(
        "chat",
        Commits(store or MemoryHistory()),
        clock=lambda: next(clock),
        settings=Settings(history=None),
    )


def join(where: LiveRoom, name: str, mode: Mode = Mode.V1) -> Recorder:
    def make(assigned: str, prelude: Iterator[Frame] | None) -> Recorder:
        member = Recorder(assigned, mode, key=f"key-{name}")
        member.frames.extend(prelude or ())
        return member

    return where.join(mode, Hello(name=name), make)


async def next_turns() -> None:
    """Let the loop end this turn (the batch commits) and run what the commit woke."""
    for _ in range(2):
        await asyncio.sleep(0)


def texts(member: Recorder) -> list[str]:
    return [event["text"] for event in member.events() if event["type"] == "text"]


async def test_a_turns_messages_share_one_commit_and_go_out_after_it_in_order() -> None:
    disk = DiskLike()
    chat = live(disk)
    ada, bob = join(chat, "ada"), join(chat, "bob")
    await chat.publish(ada, SendText("one", cid="c1"))  # the turn's first: durable at once
    assert texts(bob) == ["one"]
    await chat.publish(ada, SendText("two", cid="c2"))  # the sender did not wait
    await chat.publish(ada, SendText("three"))
    await chat.publish(ada, SendText("two", cid="c2"))  # a resend while its copy waits
    assert texts(bob) == ["one"], "not durable yet, so nobody may hear of them"
    assert [e["cid"] for e in ada.events() if e["type"] == "ack"] == ["c1"]
    chat.send_page(ada, HistoryRequest(before=10**9, limit=50))
    assert [e["text"] for e in ada.events() if e.get("page")] == ["one"], "nothing unrelayed"
    await next_turns()
    assert disk.batches == [["two", "three"]]
    assert texts(bob) == ["one", "two", "three"]
    acks = [(e["cid"], e["duplicate"]) for e in ada.events() if e["type"] == "ack"]
    assert acks == [("c1", False), ("c2", False), ("c2", True)]
    await chat.publish(ada, SendText("four"))  # a new turn: durable at once again
    assert texts(bob)[-1] == "four"
    assert disk.batches == [["two", "three"]]


async def test_big_messages_are_stored_by_a_worker_thread_and_go_out_when_it_returns() -> None:
    disk = DiskLike()
    chat = live(disk)
    ada, bob = join(chat, "ada"), join(chat, "bob")
    await chat.publish(ada, SendText("small"))
    await chat.publish(ada, SendText("in the batch"))
    await chat.publish(ada, SendBinary(b"x" * OFFLOAD_BYTES, name="big.bin", cid="big"))
    main = threading.current_thread().name
    assert [thread == main for thread in disk.threads] == [True, True, False]
    assert [e["type"] for e in bob.events()[-3:]] == ["text", "text", "binary"], "in order"
    assert ada.events()[-2]["type"] == "ack"


async def test_a_big_message_is_stored_inline_where_writes_cost_nothing() -> None:
    memory = MemoryHistory()
    chat = live(memory)
    ada, bob = join(chat, "ada"), join(chat, "bob")
    await chat.publish(ada, SendBinary(b"x" * OFFLOAD_BYTES, name="big.bin"))
    assert bob.events()[-1] == {"type": "binary", "name": "big.bin"}


@pytest.mark.parametrize("late", [False, True], ids=["append fails", "commit fails"])
async def test_a_message_the_store_cannot_keep_is_refused_and_relayed_to_nobody(
    late: bool,
) -> None:
    chat = live(FullDisk(late=late))
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    raw = join(chat, "raw", Mode.RAW)
    await chat.publish(ada, SendText("lost", cid="c1"))  # its own commit: fails at once
    await chat.publish(ada, SendText("lost in the batch", cid="c2"))
    await chat.publish(raw, SendText("lost too"), raw_frame="lost too")
    await next_turns()  # a failed commit is told when it is known
    errors = [e for e in ada.events() if e["type"] == "error"]
    assert [(e["code"], e["cid"]) for e in errors] == [("not-stored", "c1"), ("not-stored", "c2")]
    assert all("not sent" in e["message"] for e in errors)
    assert "text" not in bob.types()
    assert raw.frames == []


async def test_presence_goes_out_when_the_window_ends_and_closing_tells_it_first() -> None:
    chat = live()
    first = join(chat, "first", Mode.V2)
    join(chat, "second", Mode.V2)
    assert first.types() == ["welcome"]
    await asyncio.sleep(PRESENCE_WINDOW * 2)
    assert first.types() == ["welcome", "presence"]
    join(chat, "third", Mode.V2)
    await chat.close_all(1001, "bye")
    assert first.frames[-1] == "close 1001 bye"
    assert json.loads(first.frames[-2])["name"] == "third", "what was due, before the close"
    chat.leave(first)
    chat.leave(first)
    assert [m.name for m in chat.members] == ["second", "third"]
