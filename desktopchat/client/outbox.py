"""Messages sent but not yet acknowledged: kept, in order, until the server confirms them."""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace

from desktopchat.client.errors import SendError
from desktopchat.protocol import Sendable


@dataclass(frozen=True, slots=True)
class Pending:
    """One unacknowledged message and its client id."""

    cid: str
    event: Sendable


MAX_ATTEMPTS = 3
"""Times a message is handed to the network before it is given up on.

A message that the connection dies under again and again (too big for a server that cuts
the link before saying so, a proxy that drops it) would otherwise be re-sent forever.
"""


class Outbox:
    """A bounded, ordered set of pending messages keyed by client id.

    Client ids are unique per outbox (a random prefix and a counter), so a resend after a
    reconnect carries the same id and the server can drop the duplicate. Each message may
    be sent ``max_attempts`` times; :meth:`attempt` says when it has had its last chance.
    """

    def __init__(self, limit: int = 1000, max_attempts: int = MAX_ATTEMPTS) -> None:
        self._limit = limit
        self._max_attempts = max_attempts
        self._attempts: dict[str, int] = {}
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._prefix = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def full(self) -> bool:
        """Whether :meth:`add` would refuse a message now."""
        return len(self._pending) >= self._limit

    def add(self, event: Sendable) -> Pending:
        """Give ``event`` a client id and keep it until acknowledged."""
        if self.full:
            raise SendError(f"{self._limit} messages are still waiting to be sent; try later")
        cid = f"{self._prefix}-{next(self._counter)}"
        pending = Pending(cid, _with_cid(event, cid))
        self._pending[cid] = pending
        return pending

    def acknowledge(self, cid: str) -> Pending | None:
        """Forget ``cid``: the server has it (or refused it). Returns what was pending."""
        self._attempts.pop(cid, None)
        return self._pending.pop(cid, None)

    def attempt(self, cid: str) -> bool:
        """Count one more send of ``cid``; ``False`` when it has used up its attempts."""
        count = self._attempts.get(cid, 0)
        if count >= self._max_attempts:
            return False
        self._attempts[cid] = count + 1
        return True

    def attempts(self, cid: str) -> int:
        """How many times ``cid`` has been sent so far."""
        return self._attempts.get(cid, 0)

    def pending(self) -> list[Pending]:
        """Everything unacknowledged, oldest first."""
        return list(self._pending.values())


def _with_cid(event: Sendable, cid: str) -> Sendable:
    return replace(event, cid=cid)
