"""Knowing that something arrived: unread counts, and one desktop notification per room.

:class:`Notifications` decides (who wrote, whether we are looking, the room's level, a
mention, "mute for an hour"); a :class:`NotifierBackend` shows. The real backend speaks the
desktop's notification service (``desktopchat.app.notifier``); :class:`TrayNotifier` shows a
tray balloon where that service is missing; tests give a fake that records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desktopchat.gui.panes.message_model import MessageRow
from desktopchat.gui.recent import Remembered

PREVIEW_CHARS = 120

UPDATE_SECONDS = 4.0
"""A room's notification changes at most this often: a burst of 2 000 messages is a handful
of updates, not 2 000 notifications replacing one another faster than anyone reads."""
"""A notification quotes at most this much of a message."""


class NotifierBackend(Protocol):
    """Shows notifications; ``key`` names the one notification of a room (shown again, it
    replaces the last)."""

    def show(
        self,
        key: str,
        title: str,
        body: str,
        on_click: Callable[[], None],
        sound: bool = False,
    ) -> None:
        """Show (or replace) the notification ``key``; ``on_click`` when it is clicked;
        with the desktop's sound when ``sound``."""

    def withdraw(self, key: str) -> None:
        """Take the notification ``key`` away (the user has seen the room)."""


class TrayNotifier:
    """Notifications as the tray icon's balloon messages (where no notification service is)."""

    def __init__(self, tray: QSystemTrayIcon) -> None:
        self._tray = tray
        self._on_click: Callable[[], None] | None = None
        tray.messageClicked.connect(self._clicked)

    def show(
        self,
        key: str,
        title: str,
        body: str,
        on_click: Callable[[], None],
        sound: bool = False,
    ) -> None:
        """A balloon from the tray icon (a beep for ``sound``: balloons have none)."""
        self._on_click = on_click
        if sound:
            QApplication.beep()
        self._tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)

    def withdraw(self, key: str) -> None:
        """Balloons time out on their own; only forget what a click would open."""
        self._on_click = None

    def _clicked(self) -> None:
        if self._on_click is not None:
            self._on_click()


class Notifications(QObject):
    """The unread count of the room and whether to notify; ``unreadChanged(count)`` for the
    title, tray and badge, ``opened`` when the user clicks a notification."""

    unreadChanged = Signal(int)
    opened = Signal()

    def __init__(
        self,
        remembered: Remembered,
        backend: NotifierBackend | None = None,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self._remembered = remembered
        self._clock = clock
        self.room = ""
        """The room being notified for, as the key of its settings and notification."""
        self.title = ""
        """The room's name, as notifications show it."""
        self.unread = 0
        self._mentions = 0
        self._muted_until = 0.0
        self._shown_at: float | None = None  # when the room's notification last changed
        self._latest: MessageRow | None = None  # what the next update will be about
        self._mention: MessageRow | None = None  # the first mention not yet seen
        self.sound = False
        """A mention (or a direct message to us) comes with the desktop's sound."""
        self.direct = ""
        """For a direct conversation: the room it goes through (its messages are not
        "in #room" but to us alone)."""
        self._update = QTimer(self)
        self._update.setSingleShot(True)
        self._update.timeout.connect(self.update_now)

    @property
    def mentions(self) -> int:
        """How many of the unread messages mention us (or are direct messages to us)."""
        return self._mentions

    # -- settings ----------------------------------------------------------------------------

    @property
    def level(self) -> str:
        """This room's level: ``all``, ``mentions`` or ``none``."""
        return self._remembered.notify.get(self.room, "all")

    @property
    def off(self) -> bool:
        """Whether this room notifies nothing at all (muted from the sidebar)."""
        return self.level == "none"

    def set_level(self, level: str) -> None:
        """Notify every message, only mentions, or nothing, for this room from now on."""
        if level == "all":
            self._remembered.notify.pop(self.room, None)
        else:
            self._remembered.notify[self.room] = level

    def mute_for(self, seconds: float) -> None:
        """Notify nothing at all for ``seconds`` (0: notify again now)."""
        self._muted_until = self._clock() + seconds if seconds else 0.0

    @property
    def muted(self) -> bool:
        """Whether "mute for an hour" is on."""
        return self._clock() < self._muted_until

    # -- events ------------------------------------------------------------------------------

    def enter(self, room: str, title: str = "") -> None:
        """We are in ``room`` (its address: two hosts' ``#chat`` are two rooms) now, shown
        as ``#title`` (nothing unread yet)."""
        if room != self.room:
            self.read()
        self.room = room
        self.title = title or room

    def arrived(self, row: MessageRow, watching: bool) -> None:
        """A message arrived; ``watching`` says the user has this room in front of them."""
        if row.own or watching:
            return
        self.unread += 1
        self._mentions += row.mentioned
        self.unreadChanged.emit(self.unread)
        if self.backend is None or self.muted:
            return
        if not row.mentioned and self.level != "all":
            return  # "only mentions" and "nothing" still let a mention through
        if row.mentioned and self._mention is None:
            self._mention = row  # shown at once, and kept as what the notification says
            self.update_now(sound=self.sound)
            return
        self._latest = row
        since = None if self._shown_at is None else self._clock() - self._shown_at
        if since is None or since >= UPDATE_SECONDS:
            self.update_now()
        elif not self._update.isActive():
            self._update.start(int((UPDATE_SECONDS - since) * 1000))

    def update_now(self, sound: bool = False) -> None:
        """Show the room's notification as it stands (the timer does this for a burst:
        at most one update every :data:`UPDATE_SECONDS`); ``sound``: with a sound."""
        self._update.stop()
        shown = self._mention or self._latest
        self._latest = None
        if shown is None or self.backend is None or not self.unread:
            return
        self._shown_at = self._clock()
        title, body = self._title(shown), self._body(shown)
        self.backend.show(self.room, title, body, self.opened.emit, sound)

    def read(self) -> None:
        """The user looked at the room: nothing is unread, its notification goes away."""
        if self.unread and self.backend is not None and self._shown_at is not None:
            self.backend.withdraw(self.room)
        changed = self.unread != 0
        self.unread = self._mentions = 0
        self._update.stop()
        self._shown_at = self._latest = self._mention = None
        if changed:
            self.unreadChanged.emit(0)

    def _title(self, row: MessageRow) -> str:
        if self.direct:
            more = f" · {self.unread} new messages" if self.unread > 1 else ""
            return f"{row.sender} to you alone, via #{self.direct}{more}"
        if row.mentioned:
            more = f" · {self.unread} new messages" if self.unread > 1 else ""
            return f"{row.sender} mentioned you in #{self.title}{more}"
        if self.unread == 1:
            return f"{row.sender} in #{self.title}"
        return f"{self.unread} new messages in #{self.title}"

    def _body(self, row: MessageRow) -> str:
        if self._remembered.hide_previews:
            return f"New message from {row.sender}"
        text = " ".join(row.summary().split())
        if len(text) > PREVIEW_CHARS:
            text = text[: PREVIEW_CHARS - 1] + "…"
        return f"{row.sender}: {text}" if self.unread > 1 and not row.mentioned else text
