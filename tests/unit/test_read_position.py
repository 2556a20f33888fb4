"""Where the user has read a room up to, and where the "new messages" line goes."""

from __future__ import annotations

import json
from pathlib import Path

from desktopchat.gui.reading import ReadPosition
from desktopchat.gui.recent import MAX_READ, Remembered, SettingsStore


def test_messages_seen_as_they_come_need_no_line_and_move_the_position() -> None:
    reading = ReadPosition()
    reading.start(0)
    assert not reading.arrived(1, own=False, watching=True)
    assert (reading.upto, reading.line) == (1, None)


def test_the_line_goes_above_the_first_message_unseen_and_stays_until_the_next_absence() -> None:
    reading = ReadPosition()
    reading.start(0)
    reading.arrived(1, own=False, watching=True)
    assert reading.arrived(2, own=False, watching=False)
    assert not reading.arrived(3, own=False, watching=False)
    assert (reading.line, reading.upto) == (2, 1)
    reading.looked()
    assert (reading.line, reading.upto) == (2, 3), "the line stays where the new ones began"
    assert not reading.arrived(4, own=False, watching=True)
    assert reading.arrived(5, own=False, watching=False)
    assert reading.line == 5
    assert not reading.arrived(None, own=True, watching=False), "a pending message of ours"


def test_a_rejoin_shows_read_history_as_read_and_marks_the_first_new_message() -> None:
    reading = ReadPosition()
    reading.start(7)
    assert reading.read_before(3)
    assert reading.read_before(7)
    assert not reading.read_before(8)
    assert not reading.read_before(None)
    assert reading.arrived(8, own=False, watching=True), "new since the last visit"
    assert reading.line == 8
    assert not reading.arrived(9, own=False, watching=True)
    assert reading.upto == 9


def test_our_own_message_reads_the_room_and_is_never_where_the_line_goes() -> None:
    reading = ReadPosition()
    reading.start(0)
    assert not reading.arrived(4, own=True, watching=False)
    assert (reading.line, reading.upto) == (None, 4)


def test_read_positions_are_kept_bounded_and_a_broken_entry_is_dropped(tmp_path: Path) -> None:
    remembered = Remembered()
    for n in range(MAX_READ + 5):
        remembered.mark_read(f"room {n}", n + 1)
    remembered.mark_read("room 104", 3)  # never backwards
    assert len(remembered.read) == MAX_READ
    assert "room 0" not in remembered.read
    assert remembered.read["room 104"] == 105
    store = SettingsStore(tmp_path / "settings.json")
    store.save(remembered)
    assert store.load().read == remembered.read
    data = json.loads(store.path.read_text())
    data["read"] = {"a": 5, "b": "x", "c": -1, "d": True, "e": 2.5}
    store.path.write_text(json.dumps(data))
    assert store.load().read == {"a": 5}
