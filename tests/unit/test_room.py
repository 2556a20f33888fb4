"""The room's rules on their own, with recording peers and no web framework: who hears
what, presence, acknowledgements, duplicates, and the backlog a newcomer gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from desktopchat.protocol import (
    ChatMessage,
    Hello,
    HistoryRequest,
    SendBinary,
    SendJson,
    SendText,
    decode_server,
)
from desktopchat.server.connection import Frame
from desktopchat.server.framing import Outgoing
from desktopchat.server.history import History, MemoryHistory, StoreError
from desktopchat.server.room import OFFLOAD_BYTES, PRESENCE_WINDOW, Mode, Room
from desktopchat.server.settings import Settings


@dataclass(eq=False)
class Recorder:
    """A member that keeps every frame it is given (its prelude first)."""

    name: str
    mode: Mode
    key: str | None = None
    frames: list[Frame] = field(default_factory=list)

    def deliver(self, outgoing: Outgoing | Frame) -> None:
        if isinstance(outgoing, Outgoing):
            self.frames.extend(outgoing.payloads)
        else:
            self.frames.append(outgoing)

    def check_stalled(self, now: float) -> bool:
        return False

    def held(self) -> int:
        return 0

    async def close(self, code: int, reason: str) -> None:
        self.frames.append(f"close {code} {reason}")

    def events(self) -> list[dict[str, Any]]:
        """The structured events received, as JSON objects (binary messages: their header)."""
        events: list[dict[str, Any]] = []
        for frame in self.frames:
            if isinstance(frame, str):
                events.append(json.loads(frame))
            else:
                message = decode_server(frame)
                assert isinstance(message, ChatMessage)
                events.append({"type": "binary", "name": message.name})
        return events

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]


def room(history: History | None = None, **settings: Any) -> Room:
    clock = iter(range(1_000, 1_000_000))
    return Room(
        "chat",
        history or MemoryHistory(),
        clock=lambda: next(clock),
        settings=Settings(history=None, **settings),
    )


def join(where: Room, name: str, mode: Mode = Mode.V1, *, resume: int | None = None) -> Recorder:
    def make(assigned: str, prelude: Iterator[Frame] | None) -> Recorder:
        member = Recorder(assigned, mode, key=f"key-{name}")
        member.frames.extend(prelude or ())
        return member

    return where.join(mode, Hello(name=name, resume=resume), make)


async def test_a_structured_newcomer_is_welcomed_with_the_limits_and_the_recent_history() -> None:
    chat = room(history_size=2, max_message_bytes=4096)
    ada = join(chat, "ada")
    for text in ("one", "two", "three"):
        await chat.publish(ada, SendText(text))
    bob = join(chat, "bob")
    welcome, *backlog = bob.events()
    assert welcome["type"] == "welcome"
    assert (welcome["name"], welcome["members"], welcome["last_id"]) == ("bob", ["ada", "bob"], 3)
    assert welcome["limits"]["max_message_bytes"] == 4096
    assert [event["text"] for event in backlog] == ["two", "three"]


async def test_raw_members_hear_messages_verbatim_and_no_protocol() -> None:
    chat = room()
    raw = join(chat, "raw", Mode.RAW)
    ada = join(chat, "ada")
    assert raw.frames == [], "no welcome and no presence for a raw member"
    await chat.publish(ada, SendJson({"a": [1, 2]}, cid="c1"))
    await chat.publish(raw, SendText("  {not json"), raw_frame="  {not json")
    await chat.publish(ada, SendBinary(b"\x00\x01", name="f.bin", mime="x/y"))
    assert raw.frames == ['{"a":[1,2]}', "  {not json", b"\x00\x01"]
    assert [event["type"] for event in ada.events()[1:]] == ["ack", "json", "text", "binary"]


async def test_joins_and_leaves_reach_the_other_structured_members() -> None:
    chat = room()
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    join(chat, "raw", Mode.RAW)
    chat.leave(bob)
    presence = [event for event in ada.events() if event["type"] == "presence"]
    assert [(p["event"], p["name"]) for p in presence] == [
        ("join", "bob"),
        ("join", "raw"),
        ("leave", "bob"),
    ]
    assert presence[-1]["members"] == ["ada", "raw"]
    assert "presence" not in bob.types()[:1]


async def test_names_are_unique_whatever_their_case_or_look() -> None:
    chat = room()
    names = [join(chat, wish).name for wish in ("Ada", "ada", "\u0410da", "")]
    assert names == ["Ada", "ada 2", "\u0410da 3", "guest"]


async def test_a_resend_with_a_known_client_id_is_acknowledged_not_relayed_again() -> None:
    chat = room()
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    await chat.publish(ada, SendText("once", cid="c1"))
    await chat.publish(ada, SendText("once", cid="c1"))
    acks = [event for event in ada.events() if event["type"] == "ack"]
    assert [(ack["id"], ack["duplicate"]) for ack in acks] == [(1, False), (1, True)]
    assert bob.types().count("text") == 1


async def test_a_resuming_member_gets_exactly_what_it_missed_in_order() -> None:
    chat = room(history_size=1)
    ada = join(chat, "ada")
    for n in range(1, 501):
        await chat.publish(ada, SendText(str(n)))
    back = join(chat, "back", resume=123)
    welcome, *missed = back.events()
    assert welcome["resumed"] is True
    assert [event["id"] for event in missed] == list(range(124, 501))


async def test_a_resume_beyond_the_history_starts_the_member_over() -> None:
    chat = room(history_size=5)
    ada = join(chat, "ada")
    await chat.publish(ada, SendText("only"))
    back = join(chat, "back", resume=77)
    welcome, *backlog = back.events()
    assert (welcome["reset"], welcome["resumed"]) == (True, False)
    assert [event["text"] for event in backlog] == ["only"]


class SlowHistory(MemoryHistory):
    """A store that says its writes block, like SQLite's."""

    slow_writes = True


async def test_leaving_twice_closing_everyone_and_storing_big_messages_off_the_loop() -> None:
    clock = iter(range(1_000, 1_000_000))
    chat = Room("chat", SlowHistory(), clock=lambda: next(clock), settings=Settings(history=None))
    ada, bob = join(chat, "ada"), join(chat, "bob")
    await chat.publish(ada, SendBinary(b"x" * (2 * 1024 * 1024), name="big.bin"))
    assert bob.events()[-1] == {"type": "binary", "name": "big.bin"}
    chat.leave(bob)
    chat.leave(bob)
    assert chat.members == (ada,)
    await chat.close_all(1001, "bye")
    assert ada.frames[-1] == "close 1001 bye"


async def test_a_backlog_ends_at_the_welcome_even_while_messages_keep_coming() -> None:
    chat = room(history_size=10)
    ada = join(chat, "ada")
    for n in range(3):
        await chat.publish(ada, SendText(str(n)))

    prelude: list[Frame] = []

    def lazy(name: str, frames: Iterator[Frame] | None) -> Recorder:
        assert frames is not None
        prelude.append(next(frames))  # the welcome, now; the backlog is read later
        member = Recorder(name, Mode.V1)
        member.frames.extend(prelude)
        member.frames.extend(frames_after(frames))
        return member

    later: list[Iterator[Frame]] = []

    def frames_after(frames: Iterator[Frame]) -> list[Frame]:
        later.append(frames)
        return []

    newcomer = chat.join(Mode.V1, Hello(name="new"), lazy)
    await chat.publish(ada, SendText("after the welcome"))
    backlog = [json.loads(frame)["text"] for frame in later[0]]
    assert backlog == ["0", "1", "2"], "what arrives after the welcome is live, not backlog"
    assert newcomer.types() == ["welcome", "text"]


class Forgetful(MemoryHistory):
    """A store whose messages vanish between the welcome and the backlog (pruned meanwhile)."""

    def since(
        self, room: str, after: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        return []


async def test_a_backlog_pruned_away_meanwhile_ends_the_prelude_cleanly() -> None:
    clock = iter(range(1_000, 1_000_000))
    chat = Room("chat", Forgetful(), clock=lambda: next(clock), settings=Settings(history=None))
    ada = join(chat, "ada")
    await chat.publish(ada, SendText("gone soon"))
    assert join(chat, "late", resume=0).types() == ["welcome"]


async def test_v2_members_hear_presence_as_changes_and_v1_members_as_lists() -> None:
    chat = room()
    old = join(chat, "old", Mode.V1)
    new = join(chat, "new", Mode.V2)
    join(chat, "third", Mode.V2)
    await asyncio.sleep(PRESENCE_WINDOW * 2)
    assert new.events()[0]["members"] == ["old", "new"], "the list comes with the welcome"
    v2 = [e for e in new.events() if e["type"] == "presence"]
    v1 = [e for e in old.events() if e["type"] == "presence"]
    assert v2 == [{"type": "presence", "event": "join", "name": "third", "time": v2[0]["time"]}]
    assert [e["members"] for e in v1] == [["old", "new"], ["old", "new", "third"]]


async def test_a_join_storm_reaches_v2_members_as_batches_in_order_without_their_own_join() -> None:
    chat = room()
    first = join(chat, "first", Mode.V2)
    storm = [join(chat, f"m{n}", Mode.V2) for n in range(5)]
    chat.leave(storm[2])
    await chat.publish(first, SendText("after the storm"))
    names = [(e["event"], e["name"]) for e in first.events() if e["type"] == "presence"]
    assert names == [*(("join", f"m{n}") for n in range(5)), ("leave", "m2")]
    assert first.types()[-1] == "text", "presence before the message that followed it"
    late = storm[3]
    heard = [(e["event"], e["name"]) for e in late.events() if e["type"] == "presence"]
    assert heard == [("join", "m4"), ("leave", "m2")]
    assert late.events()[0]["members"] == ["first", "m0", "m1", "m2", "m3"]


async def test_a_history_page_holds_the_messages_before_an_id_marked_as_a_page() -> None:
    chat = room()
    ada = join(chat, "ada")
    for n in range(1, 8):
        await chat.publish(ada, SendText(f"m{n}"))
    reader = join(chat, "reader")
    reader.frames.clear()
    chat.send_page(reader, HistoryRequest(before=6, limit=3))
    *page, end = reader.events()
    assert [(e["id"], e["page"]) for e in page] == [(3, True), (4, True), (5, True)]
    assert end == {"type": "page_end", "before": 6, "count": 3, "more": True}
    reader.frames.clear()
    chat.send_page(reader, HistoryRequest(before=3, limit=200))
    assert reader.events()[-1] == {"type": "page_end", "before": 3, "count": 2, "more": False}
    reader.frames.clear()
    chat.send_page(reader, HistoryRequest(before=1))
    assert reader.events() == [{"type": "page_end", "before": 1, "count": 0, "more": False}]


class FullDisk(MemoryHistory):
    """A store whose appends fail, or (``late``) whose commit does."""

    def __init__(self, *, late: bool) -> None:
        super().__init__()
        self.late = late
        self.batch: asyncio.Future[None] | None = None

    def append(
        self, room: str, message: ChatMessage, key: str | None = None, cid: str | None = None
    ) -> ChatMessage:
        if not self.late:
            raise StoreError("the disk is full")
        stored = super().append(room, message, key, cid)
        self.batch = asyncio.get_running_loop().create_future()
        self.batch.set_exception(StoreError("the disk is full"))
        return stored

    def committed(self) -> asyncio.Future[None] | None:  # type: ignore[override]
        return self.batch


@pytest.mark.parametrize("late", [False, True], ids=["append fails", "commit fails"])
async def test_a_message_the_store_cannot_keep_is_refused_and_relayed_to_nobody(
    late: bool,
) -> None:
    chat = room(FullDisk(late=late))
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    raw = join(chat, "raw", Mode.RAW)
    await chat.publish(ada, SendText("lost", cid="c1"))
    await chat.publish(raw, SendText("lost too"), raw_frame="lost too")
    await asyncio.sleep(0)  # a failed commit is told when it is known
    error = ada.events()[-1]
    assert (error["type"], error["code"], error["cid"]) == ("error", "not-stored", "c1")
    assert "not sent" in error["message"]
    assert "text" not in bob.types()
    assert raw.frames == []


class Batches(MemoryHistory):
    """A store whose appends wait for ``batch`` (a commit the test makes) when one is set."""

    def __init__(self) -> None:
        super().__init__()
        self.batch: asyncio.Future[None] | None = None

    def committed(self) -> asyncio.Future[None] | None:  # type: ignore[override]
        return self.batch


async def test_messages_go_out_once_committed_in_the_order_they_were_stored() -> None:
    disk = Batches()
    chat = room(disk)
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    loop = asyncio.get_running_loop()
    first = disk.batch = loop.create_future()
    await chat.publish(ada, SendText("one", cid="c1"))
    await chat.publish(ada, SendText("two", cid="c2"))  # the sender did not wait
    second = disk.batch = loop.create_future()
    await chat.publish(ada, SendText("three"))
    disk.batch = None
    await chat.publish(ada, SendText("four"))  # stored at once, but behind the others
    assert "text" not in bob.types()
    assert "ack" not in ada.types()
    first.set_result(None)
    await asyncio.sleep(0)
    assert [e["text"] for e in bob.events() if e["type"] == "text"] == ["one", "two"]
    assert [e["cid"] for e in ada.events() if e["type"] == "ack"] == ["c1", "c2"]
    second.set_result(None)
    await asyncio.sleep(0)
    texts = [e["text"] for e in bob.events() if e["type"] == "text"]
    assert texts == ["one", "two", "three", "four"]
    await chat.publish(ada, SendText("five"))  # nothing waits: out at once
    assert bob.events()[-1]["text"] == "five"


async def test_a_history_page_holds_nothing_that_waits_for_its_commit() -> None:
    disk = Batches()
    chat = room(disk)
    ada = join(chat, "ada")
    await chat.publish(ada, SendText("kept"))
    pending = disk.batch = asyncio.get_running_loop().create_future()
    await chat.publish(ada, SendText("not yet"))
    chat.send_page(ada, HistoryRequest(before=10**9, limit=50))
    page = [e for e in ada.events() if e.get("page")]
    assert [e["text"] for e in page] == ["kept"]
    assert ada.events()[-1]["type"] == "page_end"
    pending.set_result(None)


class OtherBatchFails(MemoryHistory):
    """A disk store whose open batch (another room's messages) fails to commit."""

    slow_writes = True

    def committed(self) -> asyncio.Future[None] | None:  # type: ignore[override]
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(StoreError("the disk is full"))
        failed.exception()
        return failed


async def test_a_big_message_stored_by_a_worker_is_out_whatever_batch_is_open() -> None:
    # A worker thread's append is committed when it returns; the batch open on the loop
    # by then holds other messages, and its fate is not this one's.
    chat = room(OtherBatchFails())
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    await chat.publish(ada, SendText("x" * OFFLOAD_BYTES, cid="big"))
    await asyncio.sleep(0)
    assert [e["type"] for e in ada.events()[-2:]] == ["ack", "text"]
    assert bob.types()[-1] == "text"
