"""File offers on the wire, and the host's file store on its own: what it refuses up front,
how an upload continues from where it stopped, and what it checks before keeping a file."""

from __future__ import annotations

import hashlib
import mmap
import shutil
from pathlib import Path

import pytest

from desktopchat.client.files import BLOCK, O_DIRECT, FilesAt, TransferError, _Part, download
from desktopchat.protocol.files import FileOffer, clean_mime, offer_of
from desktopchat.protocol.sizes import human_size
from desktopchat.server.stores.files import RESERVE_BYTES, FileRefused, FileStore

SHA = hashlib.sha256(b"hello").hexdigest()
GOOD = {"id": "abcdefgh12", "name": "a/b.txt", "size": 5, "sha256": SHA, "mime": "Text/Plain"}


def test_an_offer_is_read_strictly_and_its_name_cleaned() -> None:
    offer = offer_of({"file": GOOD})
    assert offer == FileOffer("abcdefgh12", "b.txt", 5, SHA, "text/plain")
    assert offer is not None
    assert offer_of(offer.data()) == offer
    assert offer_of({"file": {**GOOD, "mime": "x"}}) == FileOffer("abcdefgh12", "b.txt", 5, SHA)


@pytest.mark.parametrize(
    "data",
    [
        [1],
        {"file": GOOD, "more": 1},
        {"file": "report.pdf"},
        {"file": {**GOOD, "id": "../etc"}},
        {"file": {**GOOD, "size": -1}},
        {"file": {**GOOD, "size": 2.5}},
        {"file": {**GOOD, "size": True}},
        {"file": {**GOOD, "size": 2**53 + 1}},
        {"file": {**GOOD, "sha256": SHA.upper()}},
        {"file": {**GOOD, "name": 7}},
        {"file": {**GOOD, "folder": "photos"}},
        {"file": {**GOOD, "folder": [1]}},
        {"file": {**GOOD, "folder": ["a"] * 17}},
    ],
)
def test_what_is_not_an_offer_stays_plain_json(data: object) -> None:
    assert offer_of(data) is None


def test_a_file_sent_in_a_folder_keeps_its_place_in_the_tree_and_no_more() -> None:
    offer = offer_of({"file": {**GOOD, "folder": ["..", "photos/../../x", "2026\x1b[2J"]}})
    assert offer is not None
    assert offer.folder == ("folder", "x", "2026[2J"), "no part climbs out or escapes"
    assert offer.relative_path == "folder/x/2026[2J/b.txt"
    assert offer_of(offer.data()) == offer


def test_a_type_is_kept_only_when_it_is_a_plain_type() -> None:
    assert clean_mime("image/png") == "image/png"
    assert clean_mime("text/html; charset=utf-8") == "application/octet-stream"
    assert clean_mime(None) == "application/octet-stream"


def test_where_files_are_follows_the_room_address() -> None:
    at = FilesAt.of("wss://host.lan:6000/chat/team?token=t%20x", "sha256:ab")
    assert (at.tls, at.host, at.port, at.room, at.token) == (True, "host.lan", 6000, "team", "t x")
    assert at.path("id_1") == "/files/team/id_1"
    assert at.headers(Range="bytes=0-") == {"Authorization": "Bearer t x", "Range": "bytes=0-"}
    plain = FilesAt.of("ws://127.0.0.1/chat")
    assert (plain.port, plain.room, plain.headers()) == (80, "chat", {})


def store(tmp_path: Path, **bounds: object) -> FileStore:
    return FileStore(tmp_path / "files", free_bytes=lambda _: 10**12, **bounds)  # type: ignore[arg-type]


def test_an_upload_continues_from_what_the_host_has_and_is_checked_before_it_is_kept(
    tmp_path: Path,
) -> None:
    files = store(tmp_path)
    stored = files.create("chat", "../x/hello.txt", 5, SHA, "text/plain")
    assert (stored.name, files.offset(stored), files.complete(stored)) == ("hello.txt", 0, False)
    with files.writer(stored, 0) as write:
        write(b"hel")
    assert files.finish(stored) is None, "bytes missing"
    with pytest.raises(FileRefused) as wrong:
        files.writer(stored, 1).__enter__()
    assert (wrong.value.status, wrong.value.offset) == (409, 3)
    with pytest.raises(FileRefused, match="more bytes than"), files.writer(stored, 3) as write:
        write(b"lo!")
    with files.writer(stored, 3) as write:
        write(b"lo")
    assert files.finish(stored) == stored
    assert files.finish(stored) == stored, "once kept, it stays kept"
    assert (files.complete(stored), files.path(stored).read_bytes()) == (True, b"hello")
    assert files.offset(stored) == 5
    with pytest.raises(FileRefused, match="complete already"):
        files.writer(stored, 5).__enter__()
    assert files.find("chat", stored.id) == stored
    assert files.find("other", stored.id) is None, "a file belongs to its room"
    assert files.find("chat", "../../etc") is None
    assert files.find("chat", "A" * 16) is None


def test_bytes_that_do_not_match_are_not_kept(tmp_path: Path) -> None:
    files = store(tmp_path)
    stored = files.create("chat", "x", 5, SHA, None)
    with files.writer(stored, 0) as write:
        write(b"HELLO")
    with pytest.raises(FileRefused, match="do not match") as refused:
        files.finish(stored)
    assert refused.value.status == 422
    assert files.find("chat", stored.id) is None
    assert list((tmp_path / "files").iterdir()) == []


def test_files_are_refused_up_front_when_the_quota_or_the_disk_cannot_hold_them(
    tmp_path: Path,
) -> None:
    files = store(tmp_path, max_bytes=1000)
    files.create("chat", "a", 600, SHA, None)
    with pytest.raises(FileRefused, match="at most 1000 bytes of files and has 400 bytes left"):
        files.create("chat", "b", 500, SHA, None)
    assert files.used_bytes() == 600
    tight = FileStore(tmp_path / "tight", free_bytes=lambda _: RESERVE_BYTES + 10)
    with pytest.raises(FileRefused, match=r"disk has 256\.0 MiB free") as full:
        tight.create("chat", "c", 11, SHA, None)
    assert full.value.status == 507
    for bad, words in (
        (("n", -1, SHA), "whole number"),
        (("n", 1, "x"), "SHA-256"),
        ((1, 1, SHA), "text"),
    ):
        name, size, sha = bad
        with pytest.raises(FileRefused, match=words):
            files.create("chat", name, size, sha, None)


def test_old_files_and_abandoned_uploads_are_swept(tmp_path: Path) -> None:
    now = [1_000_000.0]
    files = FileStore(
        tmp_path / "files", keep_days=3, clock=lambda: now[0], free_bytes=lambda _: 10**12
    )
    kept = files.create("chat", "kept", 5, SHA, None)
    with files.writer(kept, 0) as write:
        write(b"hello")
    files.finish(kept)
    abandoned = files.create("chat", "abandoned", 5, hashlib.sha256(b"other").hexdigest(), None)
    (tmp_path / "files" / "junk.json").write_text("not json")
    now[0] += 86_400 + 1
    assert files.sweep() == 1
    assert files.find("chat", abandoned.id) is None
    assert files.find("chat", kept.id) is not None
    now[0] += 2 * 86_400
    assert files.sweep() == 1
    assert files.used_bytes() == 0


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1536, "1.5 KiB"),
        (16 * 1024**2, "16.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_sizes_read_as_people_read_them(size: int, words: str) -> None:
    assert human_size(size) == words


def test_announcing_a_file_again_finds_the_upload_begun_or_the_file_kept(tmp_path: Path) -> None:
    files = store(tmp_path)
    first = files.create("chat", "hello.txt", 5, SHA, None)
    with files.writer(first, 0) as write:
        write(b"he")
    again = files.create("chat", "hello.txt", 5, SHA, None)
    assert (again, files.offset(again)) == (first, 2), "a sender that restarted continues"
    assert files.create("other", "hello.txt", 5, SHA, None) != first, "rooms do not share"
    with files.writer(again, 2) as write:
        write(b"llo")
    files.finish(again)
    assert files.create("chat", "copy.txt", 5, SHA, None) == first, "kept once, offered twice"
    assert files.used_bytes() == 10


def test_a_file_announced_without_a_hash_is_hashed_by_the_host_and_found_by_its_key(
    tmp_path: Path,
) -> None:
    files = store(tmp_path)
    key = "k" * 20
    with pytest.raises(FileRefused, match="SHA-256"):
        files.create("chat", "a.bin", 5, None, None)
    with pytest.raises(FileRefused, match="resume key"):
        files.create("chat", "a.bin", 5, None, None, "short")
    stored = files.create("chat", "a.bin", 5, None, None, key)
    assert stored.sha256 == ""
    with files.writer(stored, 0) as write:
        write(b"hel")
    assert files.create("chat", "a.bin", 5, None, None, key) == stored, "after a reload"
    with files.writer(stored, 3) as write:
        write(b"lo")
    kept = files.finish(stored)
    assert kept is not None
    assert kept.sha256 == SHA, "the offer carries the host's hash"
    assert files.find("chat", stored.id) == kept


def test_only_the_sender_cancels_an_upload_and_only_an_unfinished_one(tmp_path: Path) -> None:
    files = store(tmp_path)
    stored = files.create("chat", "a.bin", 5, SHA, None)
    with pytest.raises(FileRefused, match="only the file's sender") as refused:
        files.cancel(stored, "guess")
    assert refused.value.status == 403
    files.cancel(stored, SHA)
    assert files.find("chat", stored.id) is None
    done = files.create("chat", "a.bin", 5, SHA, None)
    with files.writer(done, 0) as write:
        write(b"hello")
    files.finish(done)
    with pytest.raises(FileRefused, match="complete"):
        files.cancel(done, SHA)


def test_a_file_goes_once_its_room_history_no_longer_holds_its_offer(tmp_path: Path) -> None:
    oldest: dict[str, float | None] = {"chat": None}
    files = FileStore(
        tmp_path / "files",
        free_bytes=lambda _: 10**12,
        oldest_kept=oldest.get,
    )
    stored = files.create("chat", "a.bin", 5, SHA, None)
    with files.writer(stored, 0) as write:
        write(b"hello")
    files.finish(stored)
    completed = files.path(stored).stat().st_mtime
    assert files.sweep() == 0, "a history that says nothing keeps everything"
    oldest["chat"] = completed + 60
    assert files.sweep() == 0, "the offer came after the last byte: it may still be there"
    oldest["chat"] = completed + 3600
    assert files.sweep() == 1
    assert files.find("chat", stored.id) is None


def test_a_sender_that_resumes_takes_over_from_its_cut_connection_never_splicing(
    tmp_path: Path,
) -> None:
    files = store(tmp_path)
    stored = files.create("chat", "a.bin", 5, SHA, None)
    with files.writer(stored, 0) as old:
        old(b"he")
        # The sender resumed while the host still drains the old connection.
        with files.writer(stored, 2) as new:
            with pytest.raises(FileRefused, match="newer upload of this file took over"):
                old(b"XX")
            new(b"llo")
    assert files.finish(stored) == stored
    assert files.path(stored).read_bytes() == b"hello"


def test_a_download_is_refused_up_front_in_words_when_the_disk_has_no_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        "desktopchat.client.files.shutil.disk_usage",
        lambda path: usage._replace(free=3 * 1024**2),
    )
    offer = FileOffer("abcdefgh12", "film.mkv", 5 * 1024**3, SHA)
    nowhere = FilesAt(False, "127.0.0.1", 9, "chat")  # never asked: refused before
    with pytest.raises(TransferError, match=r"film\.mkv needs 5\.0 GiB more; .* has 3\.0 MiB free"):
        download(nowhere, offer, tmp_path)
    assert list(tmp_path.iterdir()) == [], "nothing started"


def test_a_big_download_is_written_past_the_page_cache_and_its_last_block_through_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.part"
    buffer = memoryview(mmap.mmap(-1, 3 * BLOCK))  # page-aligned, as the download's ring
    buffer[:] = bytes(range(256)) * (3 * BLOCK // 256)
    with _Part(path, 0, direct=True) as part:
        assert part.direct == bool(O_DIRECT)
        part.write(buffer[: 2 * BLOCK])
        assert part.direct == bool(O_DIRECT)
        part.write(buffer[:100])  # the last, partial block
        assert not part.direct
    assert path.read_bytes() == bytes(buffer[: 2 * BLOCK]) + bytes(buffer[:100])
    with _Part(path, 2 * BLOCK + 10, direct=True) as part:
        assert not part.direct, "from an offset inside a block: through the cache"
    assert path.stat().st_size == 2 * BLOCK + 10


def test_a_write_refused_past_the_page_cache_goes_through_it(tmp_path: Path) -> None:
    path = tmp_path / "small.part"
    path.write_bytes(b"k" * BLOCK)
    raw = mmap.mmap(-1, 2 * BLOCK)
    raw[:] = b"z" * (2 * BLOCK)
    unaligned = memoryview(raw)[1 : 1 + BLOCK]  # ext4 refuses it past the cache (EINVAL)
    with _Part(path, BLOCK, direct=True) as part:
        part.write(unaligned)
    assert path.read_bytes() == b"k" * BLOCK + b"z" * BLOCK
