"""Peer: the floor. A bare asyncio relay that frames each message once and writes the same
bytes to every member (websockets' sans-I/O protocol only for the handshake and parsing).
Not a product: no bounds, no compression."""

from __future__ import annotations

import asyncio
import sys

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

MEMBERS: set[asyncio.Transport] = set()


class Relay(asyncio.Protocol):
    def __init__(self) -> None:
        self.ws = ServerProtocol(max_size=None)
        self.transport: asyncio.Transport | None = None
        self.parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            MEMBERS.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Request):
                self.ws.send_response(self.ws.accept(event))
                MEMBERS.add(self.transport)
            elif isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                framed = Frame(event.opcode, bytes(event.data)).serialize(mask=False, extensions=[])
                for member in MEMBERS:
                    member.write(framed)
        for chunk in self.ws.data_to_send():
            self.transport.write(chunk)
        if self.ws.close_expected():
            self.transport.close()


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Relay, "127.0.0.1", port)
    async with server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
