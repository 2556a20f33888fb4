"""How long to wait before reconnecting: exponential, capped, with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay of attempt ``n`` (1-based): half of ``min(cap, base * 2**(n-1))`` plus a random half.

    The jitter spreads out the reconnects of many clients after the host comes back, while
    the fixed half keeps the delays growing.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt ``attempt``."""
        ceiling = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
