"""Peer: the tutorial's chat room exactly as written, on Starlette + uvicorn (websockets-sansio)."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

connected: set[WebSocket] = set()


async def chat(ws: WebSocket) -> None:
    await ws.accept()
    connected.add(ws)
    try:
        while True:
            message = await ws.receive_text()
            # Broadcast to all connected clients
            for client in connected:
                await client.send_text(message)
    except WebSocketDisconnect:
        pass
    finally:
        connected.discard(ws)


app = Starlette(routes=[WebSocketRoute("/chat", chat)])

if __name__ == "__main__":
    print("ready", flush=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        ws="websockets-sansio",
        ws_per_message_deflate=sys.argv[2] == "on",
        log_level="warning",
    )
