"""Per-member rate limiting: a token bucket, and the rule for who is flooding.

Pure: the caller passes the time (``loop.time()``), so tests need no clock.
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """What to do with one incoming message."""

    ALLOW = "allow"
    DROP = "drop"
    """Over the rate: drop the message and tell the member."""
    KICK = "kick"
    """Still sending a whole burst past the limit: the member is flooding; close it (1008)."""


class RateLimiter:
    """``rate`` messages per second on average, bursts of up to ``burst``.

    A member whose messages keep being dropped, ``burst`` of them with no allowed message in
    between, is flooding rather than bursting. ``rate <= 0`` turns the limit off.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = max(1, burst)
        self._tokens = float(self._burst)
        self._stamp = now
        self._dropped = 0

    def check(self, now: float) -> Verdict:
        """Account for one message arriving at ``now``."""
        if self._rate <= 0:
            return Verdict.ALLOW
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._dropped = 0
            return Verdict.ALLOW
        self._dropped += 1
        return Verdict.KICK if self._dropped >= self._burst else Verdict.DROP
