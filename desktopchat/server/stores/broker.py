"""Rooms shared by several nodes through Redis (``serve --broker redis://…``).

Per room, one atomic script assigns the next id (``INCR``), appends the message to a Redis
Stream under that id (``XADD … <id>-0``, trimmed with ``MAXLEN ~``) and records the sender's
client id for de-duplication across nodes; the sender is acknowledged once Redis has it.
Every node follows the stream with a blocking ``XREAD`` (never PUB/SUB, which drops messages
for a slow subscriber) and relays to its own members from there only, so every node relays
the same messages in the same order, and a node that fell behind catches up by reading on.
Each node keeps the room's recent log in memory (its *mirror*) for welcomes, resumes and
history pages. An *epoch*, set with the first message, tells a node that Redis lost the room
(restarted without its data): the ids start over and members are told, as for a server
restart. Presence is a sorted set of ``node|name`` with heartbeats from Redis's own clock and
a presence stream; a node that stops heartbeating has its members swept out by another.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from desktopchat.protocol import ChatMessage, PresenceEvent
from desktopchat.server.framing import Frame
from desktopchat.server.stores.broker_log import (
    APPEND,
    BrokerDown,
    Entry,
    cid_key,
    entry_fields,
    keys_of,
    read_entry,
)

logger = logging.getLogger("desktopchat.server")

BLOCK_MS = 1000
"""How long one blocking read waits for news (also how often an idle room checks its epoch)."""
HEARTBEAT = 5.0
"""Seconds between a node's presence heartbeats."""
MEMBER_TTL = 15.0
"""A member whose node has not heartbeated for this long is swept out of the room."""
CID_TTL = 24 * 3600
"""Seconds a client id is remembered for de-duplication."""
PRESENCE_KEEP = 1000
"""Presence events kept in the presence stream (nodes only read new ones)."""
OP_TTL = 300
"""Seconds an append without a client id (a raw frame) is remembered, so that a retry of
it (the reply lost to a timeout) is not stored twice."""
SLICE_BYTES = 16 * 1024 * 1024
"""At most this many bytes of messages are read from Redis at once, or one message when it
is bigger (warming up a mirror, following a room): never a page of entries whatever their
size, which held 200 messages of 16 MiB."""
SLICE_COUNT = 256
"""At most this many messages are read at once, however small."""
SIZES_PAGE = 1024
"""Entry sizes looked up at once (to plan reads in bytes before reading)."""
PACE_BYTES = 16 * 1024 * 1024
"""A node relays the next slice only once each of its members holds at most this much:
after a stall, the backlog goes out as fast as members drain it, not in one turn past
their bound."""
PACE_SECONDS = 0.01
"""How often a paced relay looks again at what its members hold."""


@dataclass(frozen=True, slots=True)
class Appended:
    """Where the broker put a message: its id, or the id it had (``duplicate``)."""

    id: int
    duplicate: bool
    epoch: str


WAKE_COUNT = 2
"""Messages a blocking read may return (their sizes unknown yet: at most two of the largest)."""


def slice_count(sizes: dict[int, int], first: int, last: int) -> int:
    """How many entries from ``first`` on make one read: up to :data:`SLICE_BYTES` (at least
    one) and :data:`SLICE_COUNT`, stopping at ``last`` or an entry of unknown size."""
    count, total = 0, 0
    for entry in range(first, min(last, first + SLICE_COUNT - 1) + 1):
        size = sizes.get(entry)
        if size is None or (count and total + size > SLICE_BYTES):
            break
        count += 1
        total += size
    return max(count, 1)


class Followed(Protocol):
    """What the broker needs of a room it follows (a :class:`SharedRoom`)."""

    @property
    def name(self) -> str: ...

    def relay(self, entry: Entry) -> None: ...

    def restart(self, last_id: int) -> None: ...

    def lost(self) -> None: ...

    def remote(self, event: PresenceEvent, name: str) -> None: ...

    def last_relayed(self) -> int: ...

    def local_names(self) -> tuple[str, ...]: ...

    def held(self) -> int: ...


class RedisBroker:
    """One node's connection to Redis: appends, and a follower task per room in use."""

    def __init__(
        self,
        url: str,
        *,
        keep: int = 10_000,
        keep_bytes: int = 1024 * 1024 * 1024,
        mirror_bytes: int | None = None,
        node: str | None = None,
        heartbeat: float = HEARTBEAT,
        member_ttl: float = MEMBER_TTL,
    ) -> None:
        self.url = url
        self.keep = keep
        self.keep_bytes = keep_bytes
        """Bytes of message bodies the room's log in Redis keeps (the oldest go first)."""
        self.mirror_bytes = keep_bytes if mirror_bytes is None else mirror_bytes
        """Bytes of the newest messages a node reads into its mirror when it starts to
        follow a room (its history in memory keeps no more)."""
        self.node = node or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._heartbeat = heartbeat
        self._member_ttl = member_ttl
        # Any: redis-py's replies are typed by decode_responses overloads; ours are bytes.
        # Connections a restarted Redis dropped are found stale at their next use: each
        # command gets three more tries on a fresh connection. (An append retried after its
        # reply was lost is stored once for a message with a client id — the script knows
        # it, and so does a raw frame's, under a key of its own.)
        retry = {"retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3)}
        # Any: redis-py's replies are typed by decode_responses overloads; ours are bytes.
        self._redis: Any = aioredis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, **retry
        )
        # A blocking read must outlast its own BLOCK: its own connections, a longer timeout.
        self._reader: Any = aioredis.from_url(
            url, socket_timeout=BLOCK_MS / 1000 + 5, socket_connect_timeout=5, **retry
        )
        self._append = self._redis.register_script(APPEND)
        self._rooms: dict[str, tuple[Followed, list[asyncio.Task[None]]]] = {}
        self._epochs: dict[str, str] = {}
        self._down = False
        self._spawned: set[asyncio.Task[None]] = set()
        self._announcing: dict[str, asyncio.Task[None]] = {}  # room → its last announcement

    # -- the node's life ----------------------------------------------------------------------

    async def start(self) -> None:
        """Check that Redis answers (a node starts anyway and says so when it does not)."""
        try:
            await self._redis.ping()
            logger.info("broker %s: node %s", self._safe_url(), self.node)
        except (RedisError, OSError) as exc:
            self._say_down(exc)

    async def close(self) -> None:
        """Stop following every room and close the connections."""
        for name in list(self._rooms):
            await self.detach(name)
        for task in list(self._spawned):
            task.cancel()
        await asyncio.gather(*self._spawned, return_exceptions=True)
        await self._reader.aclose()
        await self._redis.aclose()

    def _safe_url(self) -> str:
        # Never log a password: redis://user:secret@host → redis://host.
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"

    @property
    def down(self) -> bool:
        """Whether the last command to Redis failed (and none has worked since)."""
        return self._down

    def _say_down(self, exc: BaseException) -> None:
        if not self._down:
            logger.error("broker %s unreachable: %s", self._safe_url(), exc)
        self._down = True

    def _say_up(self) -> None:
        if self._down:
            logger.warning("broker %s is back", self._safe_url())
        self._down = False

    # -- rooms --------------------------------------------------------------------------------

    async def attach(self, room: Followed) -> None:
        """Fill ``room``'s mirror from Redis and follow its log and presence from there
        (raises :class:`BrokerDown` when Redis cannot be read)."""
        keys = keys_of(room.name)
        try:
            epoch = await self._redis.get(keys["epoch"])
            last = int(await self._redis.get(keys["seq"]) or 0)
            first = await self._first_id(keys)
            oldest = max(first, last - self.keep + 1) if first else last + 1
            sizes = await self._sizes(keys["sizes"], oldest, last)
            # The newest messages the mirror keeps (no more), read in slices of bytes.
            start, budget = last + 1, self.mirror_bytes
            while start > oldest and sizes[start - 1] <= budget:
                start -= 1
                budget -= sizes[start]
            room.restart(start - 1)
            await self._warm(room, keys["log"], start, last, sizes)
            presence = await self._redis.xrevrange(keys["presence"], count=1)
            since = presence[0][0] if presence else b"0-0"
            for member in await self._redis.zrange(keys["members"], 0, -1):
                node, _, name = member.decode().partition("|")
                if node != self.node:
                    room.remote(PresenceEvent.JOIN, name)
        except (RedisError, OSError) as exc:
            self._say_down(exc)
            raise BrokerDown(str(exc)) from exc
        self._say_up()
        if epoch is not None:
            self._epochs[room.name] = epoch.decode()
        tasks = [
            asyncio.get_running_loop().create_task(self._follow(room, since), name="follow"),
            asyncio.get_running_loop().create_task(self._beat(room), name="heartbeat"),
        ]
        self._rooms[room.name] = (room, tasks)

    async def detach(self, name: str, room: Followed | None = None) -> None:
        """Stop following room ``name`` (its last member here left); with ``room``, only if
        that is the room followed (a new one of the same name may have started since)."""
        followed = self._rooms.get(name)
        if followed is None or (room is not None and followed[0] is not room):
            return
        _room, tasks = self._rooms.pop(name)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _first_id(self, keys: dict[str, str]) -> int:
        kept = await self._redis.get(keys["first"])
        if kept is not None:
            return int(kept)
        # A log written before the first id was kept: ask the stream (once per attach).
        oldest = await self._redis.xrange(keys["log"], count=1)
        return int(oldest[0][0].split(b"-")[0]) if oldest else 0

    async def _sizes(self, key: str, start: int, last: int) -> dict[int, int]:
        """The sizes of entries ``start`` to ``last`` (an entry written before sizes were
        kept counts as a whole slice: read alone)."""
        sizes: dict[int, int] = {}
        for low in range(start, last + 1, SIZES_PAGE):
            ids = list(range(low, min(low + SIZES_PAGE, last + 1)))
            for entry, size in zip(ids, await self._redis.hmget(key, ids), strict=True):
                sizes[entry] = int(size) if size is not None else SLICE_BYTES
        return sizes

    async def _warm(
        self, room: Followed, log: str, start: int, last: int, sizes: dict[int, int]
    ) -> None:
        after = start
        while after <= last:
            count = slice_count(sizes, after, last)
            page = await self._redis.xrange(
                log, min=f"{after}-0", max=f"{after + count - 1}-0", count=count
            )
            for stream_id, fields in page:
                room.relay(read_entry(stream_id, fields))
            await self._paced(room)
            after += count

    # -- appending ----------------------------------------------------------------------------

    async def append(
        self,
        room: str,
        message: ChatMessage,
        key: str | None,
        cid: str | None,
        raw: Frame | None,
    ) -> Appended:
        """Store ``message`` in ``room``'s log; returns its id (``BrokerDown`` if Redis is
        unreachable: then nothing was stored)."""
        keys = keys_of(room)
        if key is not None and cid is not None:
            known, ttl = cid_key(keys["cid"], key, cid), CID_TTL
        else:
            known, ttl = f"{keys['cid']}op:{uuid.uuid4().hex}", OP_TTL
        size, fields = entry_fields(message, raw, key, cid)
        log_keys = [keys[name] for name in ("seq", "log", "epoch")]
        trim_keys = [keys[name] for name in ("bytes", "sizes", "first")]
        try:
            reply = await self._append(
                keys=[*log_keys, known, *trim_keys],
                args=[self.keep, ttl, uuid.uuid4().hex, self.keep_bytes, size, *fields],
            )
        except (RedisError, OSError) as exc:
            self._say_down(exc)
            raise BrokerDown(str(exc)) from exc
        self._say_up()
        return Appended(int(reply[1]), reply[0] == 0, reply[2].decode())

    # -- following ----------------------------------------------------------------------------

    async def _follow(self, room: Followed, presence_since: bytes) -> None:
        keys = keys_of(room.name)
        since = presence_since
        loop = asyncio.get_running_loop()
        checked = loop.time() - BLOCK_MS / 1000  # due at once, however long the machine is up
        while True:
            try:
                if loop.time() - checked >= BLOCK_MS / 1000:
                    # Once a second, not per read: a busy room reads hundreds of times a second.
                    await self._check_epoch(room, keys["epoch"])
                    checked = loop.time()
                after = room.last_relayed() + 1
                sizes = await self._redis.hmget(keys["sizes"], list(range(after, after + 64)))
                count = slice_count(
                    {after + n: int(size) for n, size in enumerate(sizes) if size is not None},
                    after,
                    after + len(sizes) - 1,
                )
                # Nothing new yet: wait for it, but read few at once (what arrives meanwhile
                # may be big); known sizes: as many as make a slice.
                reply = await self._reader.xread(
                    {keys["log"]: f"{after - 1}-0", keys["presence"]: since},
                    count=count if sizes[0] is not None else WAKE_COUNT,
                    block=None if sizes[0] is not None else BLOCK_MS,
                )
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._say_down(exc)
                checked = 0.0  # back from an outage: is it still the same room?
                await asyncio.sleep(1.0)
                continue
            self._say_up()
            for stream, entries in reply or []:
                if stream.decode() == keys["log"]:
                    self._relay(room, entries)
                    await self._paced(room)
                else:
                    since = entries[-1][0]
                    for _id, fields in entries:
                        if fields[b"node"].decode() != self.node:
                            event = PresenceEvent(fields[b"event"].decode())
                            room.remote(event, fields[b"name"].decode())

    def _relay(self, room: Followed, entries: list[Any]) -> None:
        for stream_id, fields in entries:
            entry = read_entry(stream_id, fields)
            # The room's first message tells this node the epoch to watch for.
            self._epochs.setdefault(room.name, entry.epoch)
            expected = room.last_relayed() + 1
            if entry.message.id != expected:
                # Trimmed past what this node had relayed (it fell more than the log's
                # length behind): what is gone cannot be relayed; members resuming are told.
                logger.warning(
                    "#%s: messages %d to %d left the broker's log before this node read them",
                    room.name, expected, entry.message.id - 1,
                )  # fmt: skip
                room.restart(entry.message.id - 1)
            room.relay(entry)

    async def _paced(self, room: Followed) -> None:
        """Wait until the room's members here hold at most :data:`PACE_BYTES` (a member
        that stopped reading is closed by its stall timeout, and then holds nothing)."""
        # Polled, only while paced: a drain event would cost every write of every member.
        while room.held() > PACE_BYTES:  # noqa: ASYNC110
            await asyncio.sleep(PACE_SECONDS)

    async def _check_epoch(self, room: Followed, key: str) -> None:
        raw = await self._redis.get(key)
        current = raw.decode() if raw is not None else None
        known = self._epochs.get(room.name)
        if current == known:
            return
        if known is not None:
            # Redis restarted without this room's data (or with other data): its ids start
            # over, and what this node relayed is not there any more.
            logger.warning("#%s: the broker lost this room's log: ids start over", room.name)
            room.lost()
        if current is None:
            self._epochs.pop(room.name, None)
        else:
            self._epochs[room.name] = current

    # -- presence -----------------------------------------------------------------------------

    def announce(self, room: str, event: PresenceEvent, name: str) -> None:
        """Tell the other nodes that ``name`` joined or left here (in the background, in the
        order they happened: a member who leaves right after joining was otherwise removed
        before being added, and stayed listed on every other node)."""
        previous = self._announcing.get(room)
        task = asyncio.get_running_loop().create_task(
            self._announce_after(previous, room, event, name)
        )
        self._announcing[room] = task
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        task.add_done_callback(lambda done: self._forget_announcing(room, done))

    async def _announce_after(
        self, previous: asyncio.Task[None] | None, room: str, event: PresenceEvent, name: str
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        await self._announce(room, event, name, self.node)

    def _forget_announcing(self, room: str, task: asyncio.Task[None]) -> None:
        if self._announcing.get(room) is task:
            del self._announcing[room]

    async def _announce(self, room: str, event: PresenceEvent, name: str, node: str) -> None:
        keys = keys_of(room)
        member = f"{node}|{name}"
        try:
            if event is PresenceEvent.JOIN:
                await self._redis.zadd(keys["members"], {member: await self._now()})
            elif not await self._redis.zrem(keys["members"], member) and node != self.node:
                return  # another node swept it first and said so
            await self._redis.xadd(
                keys["presence"],
                {"event": event.value, "name": name, "node": node},
                maxlen=PRESENCE_KEEP,
                approximate=True,
            )
        except (RedisError, OSError) as exc:
            self._say_down(exc)

    async def _now(self) -> float:
        seconds, micros = await self._redis.time()
        return float(seconds) + float(micros) / 1e6

    async def _beat(self, room: Followed) -> None:
        """Heartbeat this node's members; sweep out members of nodes that stopped."""
        keys = keys_of(room.name)
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                now = await self._now()
                names = room.local_names()
                if names:
                    await self._redis.zadd(
                        keys["members"], {f"{self.node}|{name}": now for name in names}
                    )
                stale = await self._redis.zrangebyscore(
                    keys["members"], "-inf", now - self._member_ttl
                )
            except (RedisError, OSError) as exc:
                self._say_down(exc)
                continue
            for member in stale:
                node, _, name = member.decode().partition("|")
                await self._announce(room.name, PresenceEvent.LEAVE, name, node)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
