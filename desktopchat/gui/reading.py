"""How far the user has read a room, kept between visits, and where the "new messages"
line goes: above the first message that came while they were away (or since they last
left the room), never above history they had already read."""

from __future__ import annotations


class ReadPosition:
    """The read position of the room in front of the user (message ids, which only grow)."""

    def __init__(self) -> None:
        self.upto = 0
        """The newest message id the user has seen."""
        self.line: int | None = None
        """The id the "new messages" line is drawn above (None: no line)."""
        self._newest = 0
        self._armed = True
        self._catching_up = False

    def start(self, upto: int) -> None:
        """A visit to a room read up to ``upto`` (0: never read) begins."""
        self.upto = upto
        self.line = None
        self._newest = 0
        self._armed = True
        # Back in a room read before: what came since is new even if the window is in front.
        self._catching_up = upto > 0

    def read_before(self, message_id: int | None) -> bool:
        """Whether the message was read on an earlier visit (history coming again on a
        rejoin): it is shown, but not counted, notified or marked as new."""
        return message_id is not None and message_id <= self.upto

    def arrived(self, message_id: int | None, own: bool, watching: bool) -> bool:
        """A message not :meth:`read_before` arrived; whether the line moved to it."""
        if message_id is None:
            return False
        self._newest = max(self._newest, message_id)
        moved = False
        if not own and self._armed and (self._catching_up or not watching):
            self.line = message_id
            self._armed = False
            moved = True
        self._catching_up = False
        if watching or own:
            self.upto = max(self.upto, message_id)
        return moved

    def looked(self) -> None:
        """The user looked at the room: all of it is read; the line stays where it is
        until messages come unseen again."""
        self.upto = max(self.upto, self._newest)
        self._armed = True
