"""A WebSocket client on a bare socket, for peers that misbehave on purpose (never read,
send invalid frames, stop half-way through a handshake)."""

from __future__ import annotations

import base64
import os
import socket
import struct


def handshake(
    port: int,
    path: str = "/chat",
    *,
    receive_buffer: int | None = None,
    subprotocol: str | None = None,
    headers: str = "",
) -> socket.socket:
    """Open ``path`` on 127.0.0.1 and complete the upgrade; returns the connected socket."""
    sock = socket.socket()
    if receive_buffer is not None:
        # A small window makes the server's send buffer fill (and stay full) quickly.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\n"
            + (headers or f"Host: 127.0.0.1:{port}\r\n")
            + "Upgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            + (f"Sec-WebSocket-Protocol: {subprotocol}\r\n" if subprotocol else "")
            + "\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(response.decode(errors="replace"))
    return sock


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked client frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", length)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_close(sock: socket.socket) -> int | None:
    """Read frames until a close frame; its code, or None if the socket just ends."""
    buffer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionError):
            return None
        if not chunk:
            return None
        buffer += chunk
        while len(buffer) >= 2:
            opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                (length,) = struct.unpack_from(">H", buffer, 2)
                offset = 4
            elif length == 127:
                (length,) = struct.unpack_from(">Q", buffer, 2)
                offset = 10
            if len(buffer) < offset + length:
                break
            payload = buffer[offset : offset + length]
            buffer = buffer[offset + length :]
            if opcode == 0x8:
                return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
