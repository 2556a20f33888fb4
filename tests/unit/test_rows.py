"""How frames of any WebSocket endpoint become rows: bytes are labelled by what they are."""

from __future__ import annotations

from desktopchat.client.events import Frame
from desktopchat.gui.rows import row_of_frame

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(32)


def test_a_raw_binary_frame_is_labelled_by_what_its_bytes_are() -> None:
    assert row_of_frame(Frame(0, True, PNG)).mime == "image/png"
    assert "image/png" in row_of_frame(Frame(0, True, PNG)).summary()
    assert row_of_frame(Frame(0, True, b"%PDF-1.7\n" + bytes(32))).mime == "application/pdf"
    assert row_of_frame(Frame(0, True, bytes(range(7)))).mime == "", "unknown stays unknown"
