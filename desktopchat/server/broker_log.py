"""A room's log in Redis: its keys, the script that appends to it, and its entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktopchat.protocol import ChatMessage, Kind, loads
from desktopchat.server.connection import Frame
from desktopchat.server.history import message_body

# KEYS: seq, log, epoch, the client-id key ('' without one). ARGV: MAXLEN, the client id's
# TTL, an epoch for a room that has none, then the entry's fields. Returns {stored (1) or
# duplicate (0), id, epoch}: the id comes from INCR and the stream entry is <id>-0, so ids are
# dense and every node reads them in one order.
APPEND = """
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  redis.call('SET', KEYS[3], ARGV[3])
  epoch = ARGV[3]
end
if KEYS[4] ~= '' then
  local known = redis.call('GET', KEYS[4])
  if known then return {0, tonumber(known), epoch} end
end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], id .. '-0', 'e', epoch, unpack(ARGV, 4))
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], id, 'EX', ARGV[2]) end
return {1, id, epoch}
"""


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


def keys_of(room: str) -> dict[str, str]:
    """The Redis keys of ``room``: ``seq``, ``log``, ``epoch``, ``members``, ``presence``,
    and ``cid`` (the prefix of its client-id keys)."""
    # One hash tag per room: a Redis Cluster keeps all of a room's keys in one slot.
    prefix = f"dc:{{{room}}}:"
    return {name: prefix + name for name in ("seq", "log", "epoch", "members", "presence")} | {
        "cid": prefix + "cid:"
    }


def entry_fields(
    message: ChatMessage, raw: Frame | None, key: str | None, cid: str | None
) -> list[Any]:
    """The stream fields of a message (its id is the entry's id, not a field)."""
    fields: list[Any] = [
        "s", message.sender, "t", message.time, "k", message.kind.value,
        "b", message_body(message), "n", message.name, "m", message.mime,
    ]  # fmt: skip
    if raw is not None:
        fields += [
            "r",
            raw if isinstance(raw, bytes) else raw.encode(),
            "rt",
            int(isinstance(raw, str)),
        ]
    if key is not None and cid is not None:
        fields += ["key", key, "cid", cid]
    return fields


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
        raw = fields[b"r"].decode() if fields.get(b"rt") == b"1" else fields[b"r"]
    key = fields[b"key"].decode() if b"key" in fields else None
    cid = fields[b"cid"].decode() if b"cid" in fields else None
    return Entry(message, raw, key, cid, fields.get(b"e", b"").decode())
