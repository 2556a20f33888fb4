"""Per-member rate limiting as pacing (of messages, or of a file's bytes): a token bucket
that says how long to wait.

A member over its rate is not dropped: its next message waits until a token is free, and
while it waits its connection is not read, so TCP pushes back on the sender. Nothing a
sender sends is lost; a flooder only slows itself. Pure: the caller passes the time
(``loop.time()``), so tests need no clock.
"""

from __future__ import annotations


class RateLimiter:
    """``rate`` messages per second on average, bursts of up to ``burst``; ``rate <= 0``
    turns the limit off."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = max(1, burst)
        self._tokens = float(self._burst)
        self._stamp = now

    def delay(self, now: float, amount: float = 1.0) -> float:
        """Take ``amount`` tokens (one message, or so many bytes) at ``now``; the seconds
        it must wait before it may pass (0.0: at once)."""
        if self._rate <= 0:
            return 0.0
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate) - amount
        return 0.0 if self._tokens >= 0.0 else -self._tokens / self._rate
