"""A room's log in Redis: its keys, the script that appends to it, and its entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktopchat.protocol import ChatMessage, Kind, loads
from desktopchat.server.framing import Frame
from desktopchat.server.stores.history import message_body

# KEYS: seq, log, epoch, the append's de-duplication key, the byte count, the sizes hash,
# the first id kept. ARGV: the messages to keep, the de-duplication key's TTL, an epoch for a
# room that has none, the bytes to keep, this entry's size, then the entry's fields. Returns
# {stored (1) or duplicate (0), id, epoch}: the id comes from INCR and the stream entry is
# <id>-0, so ids are dense, every node reads them in one order, and the oldest are trimmed
# one by one (by count and by bytes: Redis's MAXLEN counts entries only) without reading
# them. A retried append (its reply lost to a timeout) finds its key and is stored once.
APPEND = """
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  redis.call('SET', KEYS[3], ARGV[3])
  epoch = ARGV[3]
end
local known = redis.call('GET', KEYS[4])
if known then return {0, tonumber(known), epoch} end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], id .. '-0', 'e', epoch, unpack(ARGV, 6))
redis.call('SET', KEYS[4], id, 'EX', ARGV[2])
redis.call('HSET', KEYS[6], id, ARGV[5])
local total = redis.call('INCRBY', KEYS[5], ARGV[5])
local first = tonumber(redis.call('GET', KEYS[7]))
if not first then
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  first = tonumber(string.match(oldest[1][1], '^(%d+)'))
end
local keep, keep_bytes = tonumber(ARGV[1]), tonumber(ARGV[4])
local trimmed = 0
while first < id and (id - first >= keep or total > keep_bytes) and trimmed < 1000 do
  total = total - tonumber(redis.call('HGET', KEYS[6], first) or '0')
  redis.call('XDEL', KEYS[2], first .. '-0')
  redis.call('HDEL', KEYS[6], first)
  first = first + 1
  trimmed = trimmed + 1
end
redis.call('SET', KEYS[7], first)
redis.call('SET', KEYS[5], total)
return {1, id, epoch}
"""

SAME_AS_BODY = b"="
"""The ``r`` field of an entry whose body is the raw frame as its sender sent it: one copy
of a raw member's message in Redis, not its body and its frame."""


class BrokerDown(Exception):
    """Redis cannot be reached: nothing was stored. (Here, not beside the Redis client, so
    the rooms can catch it on an install without the ``broker`` extra.)"""


@dataclass(frozen=True, slots=True)
class Entry:
    """A message read from a room's log, with what relaying it needs."""

    message: ChatMessage
    raw_frame: Frame | None
    key: str | None
    cid: str | None
    epoch: str = ""


def cid_key(prefix: str, key: str, cid: str) -> str:
    """The Redis key that remembers member ``key``'s client id ``cid``.

    The member key is length-prefixed: joined with a bare separator, key ``a:b`` with cid
    ``c`` and key ``a`` with cid ``b:c`` were one Redis key, and the second member's message
    was acknowledged as a duplicate of the first and lost.
    """
    return f"{prefix}{len(key)}:{key}:{cid}"


LOG_KEYS = ("seq", "log", "epoch", "members", "presence", "bytes", "sizes", "first")


def keys_of(room: str) -> dict[str, str]:
    """The Redis keys of ``room``: ``seq``, ``log``, ``epoch``, ``members``, ``presence``,
    ``bytes`` (what the log holds), ``sizes`` (each entry's, by id), ``first`` (the oldest
    id kept), and ``cid`` (the prefix of its de-duplication keys)."""
    # One hash tag per room: a Redis Cluster keeps all of a room's keys in one slot.
    prefix = f"dc:{{{room}}}:"
    return {name: prefix + name for name in LOG_KEYS} | {"cid": prefix + "cid:"}


def entry_fields(
    message: ChatMessage, raw: Frame | None, key: str | None, cid: str | None
) -> tuple[int, list[Any]]:
    """The size of a message's body and its stream fields (its id is the entry's id, not a
    field). A raw sender's frame is stored as the body (it reads back as the same message),
    never beside it."""
    if raw is not None:
        body = raw if isinstance(raw, bytes) else raw.encode()
    else:
        body = message_body(message)
    fields: list[Any] = [
        "s", message.sender, "t", message.time, "k", message.kind.value,
        "b", body, "n", message.name, "m", message.mime,
    ]  # fmt: skip
    if raw is not None:
        fields += ["r", SAME_AS_BODY, "rt", int(isinstance(raw, str))]
    if key is not None and cid is not None:
        fields += ["key", key, "cid", cid]
    return len(body), fields


def read_entry(stream_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    """A log entry read back: the message under the entry's id, and how to relay it."""
    kind = Kind(fields[b"k"].decode())
    body = fields[b"b"]
    message = ChatMessage(
        id=int(stream_id.split(b"-")[0]),
        time=int(fields[b"t"]),
        sender=fields[b"s"].decode(),
        kind=kind,
        text=body.decode() if kind is Kind.TEXT else "",
        data=loads(body.decode()) if kind is Kind.JSON else None,
        payload=body if kind is Kind.BINARY else b"",
        name=fields.get(b"n", b"").decode(),
        mime=fields.get(b"m", b"").decode(),
    )
    raw: Frame | None = None
    if b"r" in fields:
        # Entries written before the body was the frame itself carry the frame in ``r``.
        frame = body if fields[b"r"] == SAME_AS_BODY else fields[b"r"]
        raw = frame.decode() if fields.get(b"rt") == b"1" else frame
    key = fields[b"key"].decode() if b"key" in fields else None
    cid = fields[b"cid"].decode() if b"cid" in fields else None
    return Entry(message, raw, key, cid, fields.get(b"e", b"").decode())
