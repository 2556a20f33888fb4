"""Peer: a room on picows (a maintained Cython WebSocket library): every message relayed to
every member, frames as they come. What a Python room can reach with a compiled protocol."""

from __future__ import annotations

import asyncio
import sys

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

MEMBERS: set[WSTransport] = set()


class Member(WSListener):  # type: ignore[misc]  # picows ships no type hints for mypy
    def on_ws_connected(self, transport: WSTransport) -> None:
        MEMBERS.add(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            payload = frame.get_payload_as_bytes()
            for member in MEMBERS:
                member.send(frame.msg_type, payload, frame.fin)
        elif frame.msg_type == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        MEMBERS.discard(transport)


async def main(port: int) -> None:
    server = await ws_create_server(lambda _request: Member(), "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))  # a second argument (compression) is not offered
