"""Frames for the wire: what a queued message holds, and that its fragments are one message."""

from __future__ import annotations

import tracemalloc

from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from desktopchat.server.framing import FRAGMENT_BYTES, Outgoing

MIB = 1024 * 1024


def parse(frames: list[bytes]) -> list[Frame]:
    """The frames in ``frames`` read back with websockets' own parser."""
    reader = StreamReader()
    reader.feed_data(b"".join(frames))
    parsed = []
    for _ in frames:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            parsed.append(done.value)
    return parsed


def test_a_big_queued_message_holds_its_bytes_once_not_again_as_text_and_frames() -> None:
    text = "é" * (8 * MIB)  # 16 MiB of UTF-8
    tracemalloc.start()
    try:
        outgoing = Outgoing(text)
        del text
        first = outgoing.fragments[0]
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outgoing.size == 16 * MIB
    # Its frames alone (shared by every member it is queued for): not also the text or
    # the UTF-8 bytes.
    assert held < outgoing.size + MIB, f"{held / MIB:.1f} MiB held"
    assert len(first) < FRAGMENT_BYTES + 16


def test_fragments_make_one_message_in_order_and_a_batch_a_frame_each() -> None:
    data = bytes(range(256)) * (FRAGMENT_BYTES // 256 * 2 + 3)
    big = Outgoing(data)
    assert big.payload == data, "read back from its frames"
    frames = parse(list(big.fragments))
    assert [frame.opcode for frame in frames] == [Opcode.BINARY, Opcode.CONT, Opcode.CONT]
    assert [frame.fin for frame in frames] == [False, False, True]
    assert b"".join(frame.data for frame in frames) == data
    batch = Outgoing("a", b"\x00", "é")
    assert batch.size == 4
    assert batch.payloads == ("a", b"\x00", "é")
    frames = parse(list(batch.fragments))
    assert [(frame.opcode, frame.data) for frame in frames] == [
        (Opcode.TEXT, b"a"),
        (Opcode.BINARY, b"\x00"),
        (Opcode.TEXT, "é".encode()),
    ]
    assert batch.wire == b"".join(batch.fragments)
