"""What each member may transfer: how many files at once, and how many bytes a second.

A member is known here by its address (an HTTP request carries no member name). Over its
count, a new transfer is refused in words (``429``); over its rate, its transfers are paced
(the host stops reading its upload, or waits before sending the next piece of a download),
so one member's gigabytes do not starve everybody else's link to the host. Up and down
share one budget per member.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from desktopchat.protocol.sizes import human_size
from desktopchat.server.rooms.ratelimit import RateLimiter


class TooManyTransfers(Exception):
    """A member already has as many transfers under way as it may: the words to answer."""


@dataclass(slots=True)
class _Member:
    limiter: RateLimiter
    active: int = 0


@dataclass(slots=True)
class Transfer:
    """One transfer under way: await :meth:`moved` after each piece, call :meth:`done` at
    its end (whatever the end)."""

    _transfers: Transfers
    _address: str
    _member: _Member
    _done: bool = False

    async def moved(self, count: int) -> None:
        """``count`` bytes went: return when the member's rate allows more."""
        wait = self._member.limiter.delay(self._transfers.clock(), count)
        if wait > 0:
            await self._transfers.sleep(wait)

    def done(self) -> None:
        """The transfer ended (twice is once)."""
        if not self._done:
            self._done = True
            self._transfers.ended(self._address, self._member)


@dataclass(slots=True)
class Transfers:
    """At most ``at_once`` transfers per address, ``rate`` bytes a second each (0: none)."""

    rate: int
    at_once: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _members: dict[str, _Member] = field(default_factory=dict)

    def start(self, address: str) -> Transfer:
        """A transfer of ``address``'s; :class:`TooManyTransfers` when it has as many under
        way as it may."""
        member = self._members.get(address)
        if member is None:
            # A second's worth of burst (at least a MiB: one piece passes at any rate).
            burst = max(self.rate, 1024 * 1024)
            member = self._members[address] = _Member(RateLimiter(self.rate, burst, self.clock()))
        if member.active >= self.at_once:
            raise TooManyTransfers(
                f"you have {member.active} file transfers under way, the most this host "
                "allows at once; try again when one has finished"
            )
        member.active += 1
        return Transfer(self, address, member)

    def ended(self, address: str, member: _Member) -> None:
        """A transfer of ``address``'s ended; an idle member is forgotten (memory stays
        bounded by the transfers under way, whoever connects)."""
        member.active -= 1
        if member.active == 0:
            del self._members[address]

    def describe(self) -> str:
        """The limits in words, for the operator's log."""
        rate = f"{human_size(self.rate)}/s" if self.rate > 0 else "no rate limit"
        return f"{self.at_once} file transfers at once per member, {rate}"
