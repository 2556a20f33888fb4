"""The room's rules on their own: plain synchronous tests with recording peers, no event
loop and no web framework: who hears what, presence, acknowledgements, duplicates, and the
backlog a newcomer gets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from desktopchat.protocol import (
    ChatMessage,
    Hello,
    HistoryRequest,
    Kind,
    PresenceEvent,
    Sendable,
    SendBinary,
    SendDirect,
    SendJson,
    SendText,
    decode_server,
)
from desktopchat.server.framing import Frame, Outgoing
from desktopchat.server.rooms.room import PRESENCE_WINDOW, Mode, Room
from desktopchat.server.settings import Settings
from desktopchat.server.stores.history import History, MemoryHistory


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


class Woken(list[float]):
    """The room's requests to be woken (the delays it asked for)."""

    def __call__(self, delay: float) -> None:
        self.append(delay)


def room(history: History | None = None, wake: Woken | None = None, **settings: Any) -> Room:
    clock = iter(range(1_000, 1_000_000))
    return Room(
        "chat",
        history or MemoryHistory(),
        clock=lambda: next(clock),
        settings=Settings(history=None, **settings),
        wake=wake if wake is not None else Woken(),
    )


def publish(where: Room, sender: Recorder, event: Sendable, raw_frame: Frame | None = None) -> None:
    """What a room's owner does with a message: store the draft, then relay it."""
    draft = where.draft(sender, event, raw_frame)
    if draft.refused is not None:
        where.turn_down(sender, draft.refused)
    elif draft.duplicate is not None:
        where.relay(draft, draft.duplicate)
    else:
        stored = where.history.append(draft.store_as, draft.message, draft.key, draft.cid)
        where.relay(draft, stored)


def join(
    where: Room,
    name: str,
    mode: Mode = Mode.V1,
    *,
    resume: int | None = None,
    key: str | bool | None = True,
) -> Recorder:
    """``key``: the client's key (``True``: one of the name's own, ``None``: none)."""

    def make(assigned: str, prelude: Iterator[Frame] | None) -> Recorder:
        member = Recorder(assigned, mode, key=f"key-{name}" if key is True else key or None)
        member.frames.extend(prelude or ())
        return member

    return where.join(mode, Hello(name=name, resume=resume), make)


def test_a_structured_newcomer_is_welcomed_with_the_limits_and_the_recent_history() -> None:
    chat = room(history_size=2, max_message_bytes=4096)
    ada = join(chat, "ada")
    for text in ("one", "two", "three"):
        publish(chat, ada, SendText(text))
    bob = join(chat, "bob")
    welcome, *backlog = bob.events()
    assert welcome["type"] == "welcome"
    assert (welcome["name"], welcome["members"], welcome["last_id"]) == ("bob", ["ada", "bob"], 3)
    assert welcome["limits"]["max_message_bytes"] == 4096
    assert [event["text"] for event in backlog] == ["two", "three"]


def test_raw_members_hear_messages_verbatim_and_no_protocol() -> None:
    chat = room()
    raw = join(chat, "raw", Mode.RAW)
    ada = join(chat, "ada")
    assert raw.frames == [], "no welcome and no presence for a raw member"
    publish(chat, ada, SendJson({"a": [1, 2]}, cid="c1"))
    publish(chat, raw, SendText("  {not json"), "  {not json")
    publish(chat, ada, SendBinary(b"\x00\x01", name="f.bin", mime="x/y"))
    assert raw.frames == ['{"a":[1,2]}', "  {not json", b"\x00\x01"]
    assert [event["type"] for event in ada.events()[1:]] == ["ack", "json", "text", "binary"]


def test_joins_and_leaves_reach_the_other_structured_members() -> None:
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


def test_names_are_unique_whatever_their_case_or_look() -> None:
    chat = room()
    names = [join(chat, wish).name for wish in ("Ada", "ada", "\u0410da", "")]
    assert names == ["Ada", "ada 2", "\u0410da 3", "guest"]


def test_a_resend_with_a_known_client_id_is_acknowledged_not_relayed_again() -> None:
    chat = room()
    ada = join(chat, "ada")
    bob = join(chat, "bob")
    publish(chat, ada, SendText("once", cid="c1"))
    publish(chat, ada, SendText("once", cid="c1"))
    acks = [event for event in ada.events() if event["type"] == "ack"]
    assert [(ack["id"], ack["duplicate"]) for ack in acks] == [(1, False), (1, True)]
    assert bob.types().count("text") == 1


def test_a_resuming_member_gets_exactly_what_it_missed_in_order() -> None:
    chat = room(history_size=1)
    ada = join(chat, "ada")
    for n in range(1, 501):
        publish(chat, ada, SendText(str(n)))
    back = join(chat, "back", resume=123)
    welcome, *missed = back.events()
    assert welcome["resumed"] is True
    assert [event["id"] for event in missed] == list(range(124, 501))


def test_a_resume_beyond_the_history_starts_the_member_over() -> None:
    chat = room(history_size=5)
    ada = join(chat, "ada")
    publish(chat, ada, SendText("only"))
    back = join(chat, "back", resume=77)
    welcome, *backlog = back.events()
    assert (welcome["reset"], welcome["resumed"]) == (True, False)
    assert [event["text"] for event in backlog] == ["only"]


def test_a_backlog_ends_at_the_welcome_even_while_messages_keep_coming() -> None:
    chat = room(history_size=10)
    ada = join(chat, "ada")
    for n in range(3):
        publish(chat, ada, SendText(str(n)))

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
    publish(chat, ada, SendText("after the welcome"))
    backlog = [json.loads(frame)["text"] for frame in later[0]]
    assert backlog == ["0", "1", "2"], "what arrives after the welcome is live, not backlog"
    assert newcomer.types() == ["welcome", "text"]


class Forgetful(MemoryHistory):
    """A store whose messages vanish between the welcome and the backlog (pruned meanwhile)."""

    def since(
        self, room: str, after: int, limit: int, max_bytes: int | None = None
    ) -> list[ChatMessage]:
        return []


def test_a_backlog_pruned_away_meanwhile_ends_the_prelude_cleanly() -> None:
    chat = room(Forgetful())
    ada = join(chat, "ada")
    publish(chat, ada, SendText("gone soon"))
    assert join(chat, "late", resume=0).types() == ["welcome"]


def test_v2_members_hear_presence_as_changes_and_v1_members_as_lists() -> None:
    woken = Woken()
    chat = room(wake=woken)
    old = join(chat, "old", Mode.V1)
    new = join(chat, "new", Mode.V2)
    join(chat, "third", Mode.V2)
    assert "presence" not in new.types(), "v2 changes wait for the window"
    assert woken == [PRESENCE_WINDOW], "the room asked to be woken once, at the window's end"
    chat.flush_presence()
    assert new.events()[0]["members"] == ["old", "new"], "the list comes with the welcome"
    v2 = [e for e in new.events() if e["type"] == "presence"]
    v1 = [e for e in old.events() if e["type"] == "presence"]
    assert v2 == [{"type": "presence", "event": "join", "name": "third", "time": v2[0]["time"]}]
    assert [e["members"] for e in v1] == [["old", "new"], ["old", "new", "third"]]


def test_a_join_storm_reaches_v2_members_as_batches_in_order_without_their_own_join() -> None:
    chat = room()
    first = join(chat, "first", Mode.V2)
    storm = [join(chat, f"m{n}", Mode.V2) for n in range(5)]
    chat.leave(storm[2])
    publish(chat, first, SendText("after the storm"))
    names = [(e["event"], e["name"]) for e in first.events() if e["type"] == "presence"]
    assert names == [*(("join", f"m{n}") for n in range(5)), ("leave", "m2")]
    assert first.types()[-1] == "text", "presence before the message that followed it"
    late = storm[3]
    heard = [(e["event"], e["name"]) for e in late.events() if e["type"] == "presence"]
    assert heard == [("join", "m4"), ("leave", "m2")]
    assert late.events()[0]["members"] == ["first", "m0", "m1", "m2", "m3"]


def test_a_history_page_holds_the_messages_before_an_id_marked_as_a_page() -> None:
    chat = room()
    ada = join(chat, "ada")
    for n in range(1, 8):
        publish(chat, ada, SendText(f"m{n}"))
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


def test_members_elsewhere_take_their_names_and_are_heard_of_like_members_here() -> None:
    chat = room()
    ada = join(chat, "ada")
    chat.remote(PresenceEvent.JOIN, "bob")
    chat.remote(PresenceEvent.JOIN, "bob")  # on two other nodes at once
    assert chat.names == ("ada", "bob")
    assert join(chat, "Bob").name == "Bob 2"
    chat.remote(PresenceEvent.LEAVE, "bob")
    assert list(chat.names) == ["ada", "Bob 2", "bob"], "still on one node"
    chat.remote(PresenceEvent.LEAVE, "bob")
    chat.remote(PresenceEvent.LEAVE, "nobody")  # never heard of: nothing to tell
    assert list(chat.names) == ["ada", "Bob 2"]
    assert join(chat, "bob").name == "bob"
    presence = [(e["event"], e["name"]) for e in ada.events() if e["type"] == "presence"]
    assert presence == [
        ("join", "bob"),
        ("join", "bob"),
        ("join", "Bob 2"),
        ("leave", "bob"),
        ("leave", "bob"),
        ("join", "bob"),
    ]


def test_a_name_here_and_elsewhere_stays_taken_until_both_have_left() -> None:
    chat = room()
    carol = join(chat, "carol")
    chat.remote(PresenceEvent.JOIN, "carol")  # another node took the name at the same time
    chat.leave(carol)
    assert carol not in chat
    assert join(chat, "carol").name == "carol 2"
    chat.remote(PresenceEvent.LEAVE, "carol")
    assert join(chat, "carol").name == "carol"
    chat.remote(PresenceEvent.JOIN, "carol")
    chat.remote(PresenceEvent.LEAVE, "carol")  # the one here keeps the name
    assert join(chat, "carol").name == "carol 3"


def test_a_room_whose_store_started_over_relays_and_welcomes_from_there() -> None:
    chat = room()
    ada = join(chat, "ada")
    publish(chat, ada, SendText("one"))
    assert (chat.last_relayed, ada in chat) == (1, True)
    chat.restart(40)
    assert chat.last_relayed == 40
    assert join(chat, "late").events()[0]["last_id"] == 40


def direct(to: str, text: str = "", cid: str | None = None, **data: Any) -> SendDirect:
    if data:
        return SendDirect(to, Kind.JSON, data=data, cid=cid)
    return SendDirect(to, Kind.TEXT, text=text, cid=cid)


def said(member: Recorder) -> list[tuple[str, str, Any]]:
    """The direct messages a member heard: (sender, to, text or data)."""
    return [
        (e["sender"], e["to"], e.get("text", e.get("data")))
        for e in member.events()
        if e["type"] == "direct"
    ]


def test_a_direct_message_reaches_its_recipient_and_the_senders_other_sessions_alone() -> None:
    chat = room()
    ada = join(chat, "ada", Mode.V2, key="key-ada")
    phone = join(chat, "ada phone", Mode.V2, key="key-ada")  # the same client, twice
    bob = join(chat, "bob", Mode.V2)
    bobs_laptop = join(chat, "bob laptop", Mode.V2, key="key-bob")
    cy = join(chat, "cy", Mode.V2)
    old = join(chat, "old", Mode.V1)
    raw = join(chat, "raw", Mode.RAW)
    publish(chat, ada, direct("BOB", "hi bob", cid="c1"))
    publish(chat, ada, direct("bob", cid="c2", file={"id": "x"}))
    assert said(bob) == [("ada", "bob", "hi bob"), ("ada", "bob", {"file": {"id": "x"}})]
    assert said(bobs_laptop) == said(bob) == said(phone)
    assert said(ada) == [], "the sender has its ack, not an echo"
    assert [e["id"] for e in ada.events() if e["type"] == "ack"] == [1, 2], "the pair's own ids"
    assert said(cy) == [] and "direct" not in old.types()  # noqa: PT018
    assert all("hi bob" not in str(frame) for frame in raw.frames)
    publish(chat, ada, SendText("to the room"))
    assert [e["id"] for e in cy.events() if e["type"] == "text"] == [1], "the room's own ids"
    publish(chat, ada, direct("bob", "hi bob", cid="c1"))
    assert len(said(bob)) == 2, "a resend is acknowledged again, not relayed again"
    chat.leave(bob)
    chat.leave(bobs_laptop)
    publish(chat, phone, direct("ada", "note to self"))
    assert said(ada)[-1] == ("ada phone", "ada", "note to self")


def test_a_direct_message_nobody_can_receive_is_refused_in_words_and_stored_nowhere() -> None:
    history = MemoryHistory()
    chat = room(history)
    ada = join(chat, "ada", Mode.V2)
    join(chat, "old", Mode.V1)
    join(chat, "raw", Mode.RAW)
    join(chat, "keyless", Mode.V2, key=None)
    nobody = join(chat, "nobody here", Mode.V2, key=None)
    for to in ("ghost", "old", "raw", "keyless"):
        publish(chat, ada, direct(to, "psst", cid=f"c-{to}"))
    publish(chat, nobody, direct("ada", "psst", cid="c-mine"))
    errors = [e for e in ada.events() if e["type"] == "error"]
    assert [(e["code"], e["cid"], e["field"]) for e in errors] == [
        ("no-such-member", "c-ghost", "to"),
        ("cannot-receive", "c-old", "to"),
        ("cannot-receive", "c-raw", "to"),
        ("cannot-receive", "c-keyless", "to"),
    ]
    assert errors[0]["message"] == "nobody called 'ghost' is in #chat now"
    assert errors[1]["message"].startswith("old's app is too old for direct messages")
    mine = [e for e in nobody.events() if e["type"] == "error"]
    assert mine[0]["message"] == "direct messages need a client key in the hello"
    assert history.last_id("chat") == 0


def test_a_direct_conversation_is_paged_for_its_two_members_and_never_in_the_room() -> None:
    chat = room()
    ada = join(chat, "ada", Mode.V2)
    bob = join(chat, "bob", Mode.V2)
    cy = join(chat, "cy", Mode.V2)
    keyless = join(chat, "keyless", Mode.V2, key=None)
    publish(chat, ada, SendText("room one"))
    publish(chat, ada, direct("bob", "d1"))
    publish(chat, bob, direct("ada", "d2"))
    publish(chat, ada, SendText("room two"))
    chat.leave(bob)  # gone: the conversation can still be paged by its name
    for reader in (ada, cy, keyless):
        reader.frames.clear()
    chat.send_page(ada, HistoryRequest(before=100))
    assert [e["text"] for e in ada.events() if e["type"] == "text"] == ["room one", "room two"]
    ada.frames.clear()
    chat.send_page(ada, HistoryRequest(before=100, with_="Bob"))
    *page, end = ada.events()
    assert [(e["type"], e["text"], e["page"]) for e in page] == [
        ("direct", "d1", True),
        ("direct", "d2", True),
    ]
    assert end == {"type": "page_end", "before": 100, "count": 2, "more": False, "with": "Bob"}
    chat.send_page(cy, HistoryRequest(before=100, with_="bob"))
    chat.send_page(cy, HistoryRequest(before=100, with_="never here"))
    chat.send_page(keyless, HistoryRequest(before=100, with_="ada"))
    for outsider in (cy, keyless):
        assert [e["count"] for e in outsider.events()] == [0] * len(outsider.events())


def test_the_room_remembers_a_bounded_number_of_names_keys(monkeypatch: Any) -> None:
    monkeypatch.setattr("desktopchat.server.rooms.room.KNOWN_KEYS", 2)
    chat = room()
    ada = join(chat, "ada", Mode.V2)
    bob = join(chat, "bob", Mode.V2)
    publish(chat, ada, direct("bob", "d1"))
    chat.leave(ada)
    ada = join(chat, "ada", Mode.V2)  # known again: the newest
    join(chat, "cy", Mode.V2)  # bob, the oldest known, is forgotten
    chat.leave(bob)
    ada.frames.clear()
    chat.send_page(ada, HistoryRequest(before=100, with_="bob"))
    assert ada.events() == [
        {"type": "page_end", "before": 100, "count": 0, "more": False, "with": "bob"}
    ]
