"""Peer: a websockets asyncio server relaying with ``websockets.broadcast`` (the baseline)."""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve

MEMBERS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    MEMBERS.add(ws)
    try:
        async for message in ws:
            broadcast(MEMBERS, message)
    finally:
        MEMBERS.discard(ws)


async def main(port: int, compression: bool) -> None:
    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression="deflate" if compression else None,
        max_size=None,
    ):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "on"))
