"""The client's pure parts: addresses people type, backoff, the outbox, join errors."""

from __future__ import annotations

import errno
import random
import socket
from pathlib import Path

import pytest

from desktopchat.client import AddressError, Backoff, SendError, display_address, room_url
from desktopchat.client.address import without_secrets
from desktopchat.client.downloads import save_file
from desktopchat.client.errors import OriginRefused, Refused, TokenRefused, refusal, unreachable
from desktopchat.client.outbox import Outbox
from desktopchat.protocol import SendJson, SendText, printable
from desktopchat.protocol.files import safe_file_name


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        # Bare addresses beyond this computer mean TLS: servers serve it there by default.
        ("192.168.1.20", "wss://192.168.1.20:5042/chat"),
        ("host:6000", "wss://host:6000/chat"),
        ("  host  ", "wss://host:5042/chat"),
        ("127.0.0.1:6000", "ws://127.0.0.1:6000/chat"),
        ("localhost", "ws://localhost:5042/chat"),
        ("http://host:6000/", "ws://host:6000/chat"),
        ("https://host/", "wss://host:443/chat"),
        ("http://host/", "ws://host:80/chat"),
        ("ws://host:6000/chat/design", "ws://host:6000/chat/design"),
        ("wss://host:443/chat", "wss://host:443/chat"),
        ("[::1]:5042", "ws://[::1]:5042/chat"),
        ("http://host:6000/?token=abc", "ws://host:6000/chat?token=abc"),
        # The browser page's address, as the host's Copy button gives it.
        ("http://host:6000/?room=team", "ws://host:6000/chat/team"),
        ("http://host:6000/?room=team&token=abc", "ws://host:6000/chat/team?token=abc"),
    ],
)
def test_every_address_form_people_type_becomes_a_room_url(typed: str, url: str) -> None:
    assert room_url(typed) == url


def test_a_token_is_added_or_replaces_the_one_in_the_address() -> None:
    assert room_url("host", token="s e") == "wss://host:5042/chat?token=s+e"
    assert room_url("host/?token=old", token="new") == "wss://host:5042/chat?token=new"


@pytest.mark.parametrize(
    "typed", ["", "ftp://host/", "ws://host:99999/", "ws:///chat", "host/other", "host/chat/a/b"]
)
def test_addresses_that_cannot_be_rooms_are_refused_with_a_reason(typed: str) -> None:
    with pytest.raises(AddressError) as refused:
        room_url(typed)
    assert str(refused.value)


def test_the_displayed_address_hides_the_token() -> None:
    shown = display_address("ws://host:5042/chat?token=secret&name=a")
    assert "secret" not in shown
    assert "name=a" in shown


def test_backoff_grows_is_capped_and_jitters_within_bounds() -> None:
    backoff = Backoff(base=1.0, cap=8.0, rng=random.Random(7))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_the_outbox_keeps_order_gives_unique_ids_and_is_bounded() -> None:
    outbox = Outbox(limit=3)
    sent = [outbox.add(SendText(str(n))) for n in range(3)]
    assert len({p.cid for p in sent}) == 3
    assert [p.event.cid for p in sent] == [p.cid for p in sent]
    with pytest.raises(SendError):
        outbox.add(SendJson([1]))
    assert outbox.acknowledge(sent[1].cid) == sent[1]
    assert outbox.acknowledge(sent[1].cid) is None
    assert outbox.pending() == [sent[0], sent[2]]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [("invalid token", TokenRefused), ("origin not allowed", OriginRefused), ("other", Refused)],
)
def test_a_close_on_arrival_becomes_the_most_specific_refusal(
    reason: str, kind: type[Refused]
) -> None:
    error = refusal(1008, reason)
    assert type(error) is kind
    assert reason in error.detail
    assert reason not in str(error)  # words for people first, the code and reason as detail
    assert error.explain() == f"{error} ({error.detail})"


@pytest.mark.parametrize(
    ("sent", "words"),
    [(False, "This room needs a token"), (True, "That token is not this room's")],
)
def test_a_refused_token_is_told_apart_from_a_missing_one(sent: bool, words: str) -> None:
    assert str(refusal(1008, "invalid token", token_sent=sent)) == words


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), "Nobody is hosting at 10.0.0.9:5042"),
        (socket.gaierror(-2, "Name or service not known"), "Can't find a computer called pc9"),
        (TimeoutError(), "10.0.0.9:5042 did not answer in time"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "Can't reach"),
        (OSError(errno.EACCES, "Permission denied"), "Can't connect to 10.0.0.9:5042"),
    ],
)
def test_unreachable_says_what_is_wrong_in_words(error: OSError, words: str) -> None:
    host = "pc9" if isinstance(error, socket.gaierror) else "10.0.0.9"
    found = unreachable(host, 5042, error)
    assert str(found).startswith(words)
    assert found.detail  # the OS error stays available as detail


def test_the_outbox_gives_each_message_three_attempts() -> None:
    outbox = Outbox()
    pending = outbox.add(SendText("x"))
    assert [outbox.attempt(pending.cid) for _ in range(4)] == [True, True, True, False]
    assert outbox.attempts(pending.cid) == 3
    outbox.acknowledge(pending.cid)
    assert outbox.attempts(pending.cid) == 0


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcode, 表情 😀", "plain text, ünïcode, 表情 😀"),
        ("\x1b]0;title\x07", r"\x1b]0;title\x07"),
        ("\x1b[2J", r"\x1b[2J"),
        ("two\nlines\r", r"two\nlines\r"),
        ("tab\there", r"tab\there"),
        ('C:\\temp and {"a": "\\\\n"}', 'C:\\temp and {"a": "\\\\n"}'),  # backslashes as sent
        ("rtl \u202eevil", r"rtl \u202eevil"),
        ("zero\u200bwidth", r"zero\u200bwidth"),
        ("c1 \x9b", r"c1 \x9b"),
        ("lone \ud800 surrogate", r"lone \ud800 surrogate"),
        ("line\u2028sep", r"line\u2028sep"),
    ],
)
def test_printable_escapes_whatever_a_terminal_would_obey(text: str, shown: str) -> None:
    assert printable(text) == shown
    printable(text).encode("utf-8")  # never a lone surrogate left to crash print()


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("photo.png", "photo.png"),
        ("../../.bashrc", "bashrc"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.exe", "evil.exe"),
        ("a\x1b[2Jb.txt", "a[2Jb.txt"),
        ("CON.txt", "_CON.txt"),
        ('what?<>|".txt', "what.txt"),
        ("..", "file"),
        ("", "file"),
        ("x" * 300 + ".tar", "x" * 196 + ".tar"),
    ],
)
def test_a_file_name_a_peer_chose_never_leaves_the_folder(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


def test_saving_never_overwrites(tmp_path: Path) -> None:
    first = save_file(tmp_path, "../a.txt", b"1")
    second = save_file(tmp_path, "a.txt", b"2")
    assert (first.name, second.name) == ("a.txt", "a (2).txt")
    assert first.read_bytes() == b"1"


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        (
            "http://h:5042/?room=lobby&token=S#fp=sha256:ab",
            "http://h:5042/?room=lobby#fp=sha256:ab",
        ),
        ("h:5042/?token=x", "h:5042/"),
        ("192.168.1.20", "192.168.1.20"),
        ("ws://ada:pw@h:5042/chat?token=a&x=1", "ws://ada@h:5042/chat?x=1"),
        ("wss://h/ws?access_token=Z&Token=Y#other=1", "wss://h/ws"),
        ("https://h/?room=a&password=p&secret=s&key=k", "https://h/?room=a"),
    ],
)
def test_an_address_is_kept_without_any_secret_whatever_its_form(address: str, kept: str) -> None:
    assert without_secrets(address) == kept
    assert without_secrets(kept) == kept
