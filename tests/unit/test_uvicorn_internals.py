"""uvicorn's internals that server/protocols.py builds on are still there.

``RoomWebSocketProtocol`` and ``guarded_h11`` subclass uvicorn's protocol classes and read
their attributes, which are not public API. pyproject.toml caps uvicorn at the newest minor
tested; when that cap is raised, these tests name the first internal that moved.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from desktopchat.server.runner import EmbeddedServer

# Attributes a protocol object has once a connection is made, and the methods we override.
USED: dict[type[asyncio.Protocol], tuple[str, ...]] = {
    WebSocketsSansIOProtocol: (
        "handle_connect",
        "send",
        "keepalive_timeout",
        "data_received",
        "transport",
        "handshake_complete",
        "handshake_initiated",
        "close_sent",
        "writable",
        "queue",
        "conn",
        "loop",
        "client",
    ),
    H11Protocol: (
        "connection_made",
        "connection_lost",
        "data_received",
        "handle_websocket_upgrade",
        "ws_protocol_class",
        "connections",
        "config",
        "server_state",
        "app_state",
        "loop",
        "cycle",
        "transport",
        "client",
    ),
}


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that is never called."""


def _connected(protocol_class: type[Any]) -> Any:
    config = uvicorn.Config(_app, log_config=None)
    config.load()
    protocol = protocol_class(config, ServerState(), {})
    transport = mock.Mock()
    addresses = {"sockname": ("127.0.0.1", 5042), "peername": ("127.0.0.1", 40000)}
    transport.get_extra_info.side_effect = lambda key, default=None: addresses.get(key, default)
    protocol.connection_made(transport)
    return protocol


@pytest.mark.parametrize("protocol_class", list(USED), ids=lambda cls: cls.__name__)
async def test_uvicorns_protocol_internals_that_the_runner_uses_exist(
    protocol_class: type[Any],
) -> None:
    protocol = _connected(protocol_class)
    missing = [name for name in USED[protocol_class] if not hasattr(protocol, name)]
    assert not missing, (
        f"uvicorn {uvicorn.__version__} changed {protocol_class.__name__}: no {missing}; "
        "server/protocols.py relies on them"
    )


def test_uvicorns_websocket_protocol_has_write_flow_control() -> None:
    # Before 0.52.1 the writable event was never cleared: the room kept writing to members
    # that had stopped reading, into an unbounded transport buffer.
    own = vars(WebSocketsSansIOProtocol)
    for method in ("pause_writing", "resume_writing"):
        assert method in own, f"uvicorn {uvicorn.__version__}: no {method} (write flow control)"


def test_uvicorns_server_still_has_the_signal_capture_we_turn_off() -> None:
    assert hasattr(uvicorn.Server, "capture_signals"), (
        f"uvicorn {uvicorn.__version__}: Server.capture_signals is gone; "
        "EmbeddedServer overrides it to keep signals for the host program"
    )
    assert EmbeddedServer.capture_signals is not uvicorn.Server.capture_signals
