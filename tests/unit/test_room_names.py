"""Names in a room of many: numbered in O(1), and a number freed by a leaver is given again."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktopchat.protocol import Hello
from desktopchat.server.framing import Frame, Outgoing
from desktopchat.server.rooms.room import Mode, Room
from desktopchat.server.settings import Settings
from desktopchat.server.stores.history import MemoryHistory


@dataclass(eq=False)
class Quiet:
    """A raw member that keeps nothing."""

    name: str
    mode: Mode = Mode.RAW
    key: str | None = None
    got: list[Outgoing | Frame] = field(default_factory=list)

    def deliver(self, outgoing: Outgoing | Frame) -> None:
        self.got.append(outgoing)

    def check_stalled(self, now: float) -> bool:
        return False

    def held(self) -> int:
        return 0

    async def close(self, code: int, reason: str) -> None:
        return None


def join(room: Room, wish: str | None) -> Quiet:
    return room.join(Mode.RAW, Hello(name=wish), lambda name, _prelude: Quiet(name))


def test_a_freed_number_is_given_to_the_next_with_that_name() -> None:
    room = Room("chat", MemoryHistory(), clock=lambda: 0, settings=Settings(), wake=lambda _: None)
    ada, ada2, ada3 = (join(room, "ada") for _ in range(3))
    assert (ada.name, ada2.name, ada3.name) == ("ada", "ada 2", "ada 3")
    room.leave(ada2)
    assert join(room, "ada").name == "ada 2"
    assert join(room, "ada").name == "ada 4"
    room.leave(ada)  # no number to free
    bob7 = join(room, "bob 7")  # chose a number himself: no counter for "bob" to lower
    room.leave(bob7)
    assert join(room, "ada").name == "ada"
    assert join(room, "bob 7").name == "bob 7"
