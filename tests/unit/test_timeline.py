"""The workbench timeline's moments: one safe line per frame, control frame and event."""

from __future__ import annotations

from desktopchat.client.errors import UntrustedCertificate
from desktopchat.client.events import Control, Frame, Joined, SessionState, StateChanged
from desktopchat.client.timeline import EVENT, IN, OUT, PREVIEW_CHARS, moment_of
from desktopchat.protocol import Welcome


def test_frames_are_one_line_with_control_characters_shown_and_long_text_cut() -> None:
    moment = moment_of(Frame(5, True, "a\nb\u202ec\x1b[2J"))
    assert moment is not None
    assert (moment.time, moment.direction, moment.kind) == (5, IN, "text")
    assert "\n" not in moment.detail
    assert "\u202e" not in moment.detail
    assert "\x1b" not in moment.detail
    long = moment_of(Frame(5, False, "x" * (PREVIEW_CHARS + 7)))
    assert long is not None
    assert long.direction == OUT
    assert long.detail.endswith("… (+7 characters)")
    assert long.size == PREVIEW_CHARS + 7
    json = moment_of(Frame(5, True, '{"a": 1}'))
    assert json is not None
    assert json.kind == "json"


def test_bytes_show_as_hex_with_the_rest_counted() -> None:
    moment = moment_of(Frame(1, True, bytes(range(40))))
    assert moment is not None
    assert moment.kind == "binary"
    assert moment.size == 40
    assert moment.detail.startswith("00 01 02")
    assert moment.detail.endswith("… (+8 bytes)")


def test_pings_pongs_and_closes_say_their_payload_round_trip_and_code() -> None:
    ping = moment_of(Control(1, False, "ping", b"hi"))
    pong = moment_of(Control(2, True, "pong", b"hi", rtt=0.0123))
    close = moment_of(Control(3, False, "close", code=4001, reason="bye now"))
    assert ping is not None
    assert ping.detail == "payload 68 69"
    assert pong is not None
    assert pong.detail == "round trip 12.3 ms  payload 68 69"
    assert close is not None
    assert close.kind == "close"
    assert close.size == 2 + 7
    assert "4001" in close.detail
    assert "bye now" in close.detail
    bare = moment_of(Control(1, False, "ping"))
    assert bare is not None
    assert bare.detail == "no payload"


def test_the_connections_own_events_and_what_the_timeline_leaves_out() -> None:
    url = "ws://127.0.0.1:9/"
    opened = moment_of(StateChanged(SessionState.OPEN, raw=True), url)
    assert opened is not None
    assert (opened.direction, opened.kind, opened.detail) == (
        EVENT,
        "open",
        url,
    )
    lost = moment_of(StateChanged(SessionState.RECONNECTING, 2, 1.5, 1006, raw=True), url)
    assert lost is not None
    assert "attempt 2 in 1.5 s" in lost.detail
    assert "1006" in lost.detail
    closed = moment_of(StateChanged(SessionState.CLOSED, code=4003, reason="no", raw=True))
    assert closed is not None
    assert closed.direction == IN
    assert "4003" in closed.detail
    refused = moment_of(
        StateChanged(SessionState.CLOSED, error=UntrustedCertificate("a new identity", "sha256:aa"))
    )
    assert refused is not None
    assert refused.kind == "error"
    assert moment_of(StateChanged(SessionState.CLOSING)) is None
    assert moment_of(Joined(Welcome("r", "n", (), 0, 0))) is None  # rooms are not timelined
