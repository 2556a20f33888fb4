"""A room's transfers as the window runs them: several files and a folder, pause, resume,
cancel, and an app restarted in the middle, through a real host that paces them."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from desktopchat.client.files import FilesAt
from desktopchat.client.transfers import (
    Direction,
    Speed,
    State,
    Transfer,
    TransferBook,
    Transfers,
    duration,
    files_in,
)
from desktopchat.protocol.files import FileOffer
from tests.integration.conftest import hosted
from tests.integration.test_files import MiB, random_file


class Room:
    """What a room gives the transfers: offers posted, files sent whole."""

    def __init__(self) -> None:
        self.offers: list[FileOffer] = []
        self.whole: list[Path] = []

    async def post(self, offer: FileOffer) -> None:
        self.offers.append(offer)

    async def send_whole(self, path: Path) -> None:
        self.whole.append(path)


async def until(predicate: object, what: str, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_folder_goes_up_with_its_tree_and_comes_down_into_the_same_tree(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "photos"
    (tree / "2026" / "june").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "2026" / "june" / "b.txt").write_text("bb")
    (tree / "2026" / "link").symlink_to(tmp_path)  # never followed
    alone = tmp_path / "alone.txt"
    alone.write_text("alone")
    assert [(p.name, f) for p, f in files_in([tree, alone])] == [
        ("a.txt", ("photos",)),
        ("b.txt", ("photos", "2026", "june")),
        ("alone.txt", ()),
    ]
    async with hosted(files=tmp_path / "host") as server:
        at = FilesAt(False, "127.0.0.1", server.port, "chat")
        room = Room()
        changes: list[State] = []
        sender = Transfers(lambda transfer: changes.append(transfer.state))
        sender.attach(at, room.post, room.send_whole)
        await sender.send([tree, alone])
        await until(lambda: len(room.offers) == 3, "three offers")
        assert {o.relative_path for o in room.offers} == {
            "photos/a.txt",
            "photos/2026/june/b.txt",
            "alone.txt",
        }
        assert State.RUNNING in changes
        assert State.DONE in changes
        receiver = Transfers(lambda transfer: None)
        receiver.attach(at, room.post, room.send_whole)
        got = tmp_path / "got"
        for offer in room.offers:
            transfer = receiver.offered(offer, "ada")
            assert transfer is not None
            assert receiver.offered(offer, "ada") is None, "an offer is listed once"
            receiver.fetch(transfer, got)
        await until(lambda: all(t.state is State.DONE for t in receiver.items), "downloads")
        assert (got / "photos" / "2026" / "june" / "b.txt").read_text() == "bb"
        assert (got / "alone.txt").read_text() == "alone"
        await sender.close()
        await receiver.close()


async def test_pause_resume_cancel_and_a_restarted_app_continue_where_they_stopped(
    tmp_path: Path,
) -> None:
    first = tmp_path / "first.bin"
    second = tmp_path / "second.bin"
    random_file(first, 12 * MiB)
    random_file(second, 12 * MiB)
    book = TransferBook(tmp_path / "config" / "transfers.json")
    # 4 MiB/s: each file takes about 3 s, more than the sockets' buffers hold, so a pause
    # stops bytes that have not left yet.
    async with hosted(files=tmp_path / "host", files_rate=4 * MiB) as server:
        at = FilesAt(False, "127.0.0.1", server.port, "chat")
        room = Room()
        app = Transfers(lambda transfer: None, book)
        app.attach(at, room.post, room.send_whole)
        up, gone = await app.send([first, second])
        await until(lambda: up.done > 0, "the first bytes")
        app.pause(up)
        await until(lambda: up not in app._tasks, "the pause to take")
        assert up.state is State.PAUSED
        assert 0 < up.done < up.total
        await until(lambda: gone.state is State.RUNNING, "the second upload to start")
        app.cancel(gone)
        await until(lambda: gone.state is State.CANCELLED, "the cancel")
        assert room.offers == []
        # The app quits with the first upload paused half-way, and starts again.
        await app.close()
        again = Transfers(lambda transfer: None, book)
        added = again.attach(at, room.post, room.send_whole)
        assert [(t.name, t.state) for t in added] == [("first.bin", State.PAUSED)]
        again.resume(added[0])
        await until(lambda: added[0].state in (State.DONE, State.FAILED), "the upload to finish")
        assert added[0].state is State.DONE, added[0].error
        assert [o.sha256 for o in room.offers] == [sha(first)]
        await again.close()  # its book written: nothing of it left unfinished

        # Downloads: paused, resumed from their .part, and an app restarted mid-way.
        offer = room.offers[0]
        fetcher = Transfers(lambda transfer: None, book)
        fetcher.attach(at, room.post, room.send_whole)
        down = fetcher.offered(offer, "ada")
        assert down is not None
        fetcher.fetch(down, tmp_path / "got")
        await until(lambda: down.done > 0, "the first bytes down")
        await fetcher.close()
        part = tmp_path / "got" / "first.bin.part"
        assert 0 < part.stat().st_size < offer.size
        restarted = Transfers(lambda transfer: None, book)
        [continued] = restarted.attach(at, room.post, room.send_whole)
        assert continued.direction is Direction.DOWN
        await until(lambda: continued.state is State.DONE, "the download to finish")
        assert continued.saved == tmp_path / "got" / "first.bin"
        assert sha(continued.saved) == offer.sha256
        await restarted.close()
        assert book.load(f"127.0.0.1:{server.port}/chat") == [], "nothing left unfinished"


def test_speed_and_time_left_read_as_people_read_them() -> None:
    speed = Speed(window=3.0)
    transfer = Transfer(Direction.DOWN, "a.iso", 10 * MiB, state=State.RUNNING, speed=speed)
    assert transfer.status() == "0 bytes of 10.0 MiB · starting"
    speed.add(0.0, 0)
    speed.add(1.0, MiB)
    transfer.done = MiB
    assert transfer.status() == "1.0 MiB of 10.0 MiB · 1.0 MiB/s · 9 s left"
    for second in range(2, 10):
        speed.add(float(second), second * MiB)
    assert speed.rate() == MiB, "over the last seconds only"
    assert [duration(s) for s in (0.2, 59, 61, 3600 * 2 + 60 * 5)] == [
        "1 s",
        "59 s",
        "1 min",
        "2 h 5 min",
    ]
    transfer.state = State.FAILED
    transfer.error = "the host went away"
    assert transfer.status() == "failed: the host went away"
    assert Transfer.of_record({"direction": "sideways"}) is None
    assert Transfer.of_record(transfer.record()) is None, "a download with no offer is no record"
