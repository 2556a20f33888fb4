"""``desktopchat serve``: the server with no window, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import TextIO

from desktopchat.client.address import join_link
from desktopchat.server.settings import Settings
from desktopchat.server.web.addresses import lan_warning
from desktopchat.server.web.runner import HostedServer

logger = logging.getLogger("desktopchat.server")


def print_addresses(server: HostedServer, out: TextIO) -> None:
    """Tell people where to join, one line per LAN address."""
    print(f"desktopchat is serving on port {server.port}", file=out)
    fingerprint = server.identity.fingerprint if server.identity is not None else None
    for address in server.addresses():
        print(f"  app:     {address.app}", file=out)
        print(f"  browser: {address.browser}", file=out)
        if fingerprint is not None:
            print(f"  link:    {join_link(address.app, fingerprint)}", file=out)
    if fingerprint is not None:
        print(f"  TLS, identity {fingerprint}", file=out)
    warning = lan_warning(server.settings.host)
    if warning:
        print(f"  warning: {warning}", file=out)
    if server.settings.token is not None:
        print("  (a token is required: add ?token=<your token> to these addresses)", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)


def _install_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows' loops have no add_signal_handler; Ctrl-C then arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)


async def serve(settings: Settings, out: TextIO) -> None:
    """Serve until SIGINT or SIGTERM, then close every member with 1001 and return."""
    stopping = asyncio.Event()
    _install_stop_signals(asyncio.get_running_loop(), stopping.set)
    async with HostedServer(settings) as server:
        print_addresses(server, out)
        await stopping.wait()
        logger.info("stopping: closing every member with 1001")
