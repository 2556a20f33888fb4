"""Desktop notifications through the system's service (freedesktop D-Bus, macOS, Windows),
by ``desktop-notifier``; a fallback (the tray's balloons) where that service is missing."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from desktop_notifier import DEFAULT_SOUND, DesktopNotifier, Icon

from desktopchat.gui.notifications import NotifierBackend

logger = logging.getLogger("desktopchat.app")

_Wish = tuple[str, str, Callable[[], None], bool]
"""A notification's title, body and what a click on it does."""


MARKUP_BODIES = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
"""Whether the notification service may render the body as markup.

The freedesktop specification lets a service that advertises ``body-markup`` (GNOME Shell,
Plasma, dunst, mako …) render ``<a href>``, ``<img src>``, ``<b>`` in the body: a member's
``<a href="http://evil.example">`` would be a clickable link in a system notification, an
``<img src="file:///…">`` a file read by the daemon. macOS and Windows show the body as
plain text.
"""


def for_the_service(body: str) -> str:
    """``body`` as the desktop's service must get it: text, never markup. On freedesktop
    services ``& < >`` are escaped (a service without ``body-markup`` shows the entities
    as they are, which is ugly but harmless); elsewhere the text is unchanged."""
    if not MARKUP_BODIES:
        return body
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SystemNotifier:
    """A :class:`~desktopchat.gui.notifications.NotifierBackend` for the desktop's own
    notifications. Each room has one notification: showing it again withdraws the last.

    ``desktop-notifier`` logs a failed send instead of raising; a send that is never
    dispatched means no notification service, and from then on ``fallback`` shows them.
    """

    def __init__(
        self,
        icon: Path | None = None,
        fallback: NotifierBackend | None = None,
        notifier: DesktopNotifier | None = None,
    ) -> None:
        self._notifier = notifier or DesktopNotifier(
            app_name="desktopchat", app_icon=Icon(path=icon) if icon is not None else None
        )
        self.fallback = fallback
        self.broken = False
        self._shown: dict[str, str] = {}  # room → the identifier of its notification
        # room → what its notification should become (None: gone). A busy room asks for a
        # new one per message, far faster than the bus answers: only the newest wish is
        # carried out, by one task per room, so a burst costs two round trips, not a queue.
        self._wanted: dict[str, _Wish | None] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def show(
        self,
        key: str,
        title: str,
        body: str,
        on_click: Callable[[], None],
        sound: bool = False,
    ) -> None:
        """Replace room ``key``'s notification with this one (with the desktop's default
        sound when ``sound``)."""
        if self.broken:
            if self.fallback is not None:
                self.fallback.show(key, title, body, on_click, sound)
            return
        self._want(key, (title, body, on_click, sound))

    def withdraw(self, key: str) -> None:
        """Take room ``key``'s notification off the screen."""
        if self.broken:
            if self.fallback is not None:
                self.fallback.withdraw(key)
            return
        self._want(key, None)

    def _want(self, key: str, wish: _Wish | None) -> None:
        self._wanted[key] = wish
        if key not in self._tasks:
            self._tasks[key] = asyncio.get_running_loop().create_task(self._carry_out(key))

    async def _carry_out(self, key: str) -> None:
        try:
            while key in self._wanted:
                wish = self._wanted.pop(key)
                try:
                    await self._fulfil(key, wish)
                except Exception:  # one failed notification must not stop the next ones
                    logger.exception("a notification for %s failed", key)
        finally:
            del self._tasks[key]

    async def _fulfil(self, key: str, wish: _Wish | None) -> None:
        if self.broken:  # found out while an earlier wish was on the bus
            if self.fallback is None:
                return
            if wish is None:
                self.fallback.withdraw(key)
            else:
                self.fallback.show(key, *wish)
        elif wish is None:
            await self._clear(key)
        else:
            await self._replace(key, *wish)

    async def _replace(
        self, key: str, title: str, body: str, on_click: Callable[[], None], sound: bool
    ) -> None:
        await self._clear(key)
        body = for_the_service(body)
        dispatched = asyncio.Event()
        identifier = await self._notifier.send(
            title,
            body,
            on_clicked=on_click,
            on_dispatched=dispatched.set,
            thread=key,
            sound=DEFAULT_SOUND if sound else None,
        )
        if not dispatched.is_set():
            logger.warning("no desktop notification service: notifications go to the tray")
            self.broken = True
            if self.fallback is not None:
                self.fallback.show(key, title, body, on_click, sound)
            return
        self._shown[key] = identifier

    async def _clear(self, key: str) -> None:
        identifier = self._shown.pop(key, None)
        if identifier is None:
            return
        try:
            await self._notifier.clear(identifier)
        except (KeyError, OSError) as exc:  # closed by the user already, or the bus went away
            logger.info("notification %s was already gone: %r", identifier, exc)

    async def close(self) -> None:
        """Finish what is being shown or withdrawn (the window is closing)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
