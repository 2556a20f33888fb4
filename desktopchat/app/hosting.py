"""The window's :class:`~desktopchat.gui.hosting.Hoster`: the embedded server, on its own thread."""

from __future__ import annotations

import errno
import ipaddress
import logging
from dataclasses import replace
from urllib.parse import quote

from desktopchat.app.server_thread import ServerLoop
from desktopchat.client.address import join_link
from desktopchat.gui.hosting import HostError, HostInfo, HostOptions
from desktopchat.protocol import DEFAULT_ROOM, room_path
from desktopchat.server import HostedServer, Settings
from desktopchat.server.settings import default_history_path
from desktopchat.server.web.addresses import lan_warning
from desktopchat.server.web.runner import bind_socket

logger = logging.getLogger("desktopchat.app")


def host_options(settings: Settings, name: str) -> HostOptions:
    """What the Host form would say to host with ``settings`` (``desktopchat host``)."""
    return HostOptions(
        room=settings.room,
        name=name,
        port=settings.port,
        lan=not ipaddress.ip_address(settings.host).is_loopback,
        token=settings.token,
        history=settings.history is not None,
    )


def free_port(host: str) -> int | None:
    """A port that is free on ``host`` right now (for "try this one instead")."""
    try:
        sock = bind_socket(host, 0)
    except OSError:
        return None
    with sock:
        port: int = sock.getsockname()[1]
        return port


class ServerHoster:
    """Runs one :class:`~desktopchat.server.HostedServer` at a time for the window, each on a
    :class:`~desktopchat.app.server_thread.ServerLoop` of its own.

    ``base`` holds the settings the Host form does not ask about (limits, timeouts); the
    form's answers replace its host, port, room, token and history.
    """

    def __init__(self, base: Settings | None = None) -> None:
        self._base = base or Settings()
        self._server: HostedServer | None = None
        self._thread: ServerLoop | None = None

    @property
    def running(self) -> bool:
        """Whether a server is up."""
        return self._server is not None

    def another(self) -> ServerHoster:
        """A hoster for another room of the window: its own server, the same base settings."""
        return ServerHoster(self._base)

    def member_count(self) -> int:
        """Members in every hosted room (read from the window's thread: a snapshot)."""
        if self._server is None:
            return 0
        return sum(len(room) for room in tuple(self._server.hub.rooms.values()))

    async def start(self, options: HostOptions) -> HostInfo:
        """Start serving ``options.room``; a busy port is a :class:`HostError` with a free one."""
        if self._server is not None:
            await self.stop()
        host = "0.0.0.0" if options.lan else "127.0.0.1"  # noqa: S104 - the user chose "LAN"
        settings = replace(
            self._base,
            host=host,
            port=options.port,
            room=options.room or DEFAULT_ROOM,
            token=options.token,
            host_member=options.name,
            history=(self._base.history or default_history_path()) if options.history else None,
        )
        thread = ServerLoop()
        try:
            server = await thread.run(_started(settings))
        except BaseException as exc:
            thread.close()
            if not isinstance(exc, OSError):
                raise
            if exc.errno == errno.EADDRINUSE:
                raise HostError(f"Port {options.port} is already in use", free_port(host)) from exc
            raise HostError(f"Cannot host on port {options.port}: {exc.strerror or exc}") from exc
        self._server, self._thread = server, thread
        logger.info("hosting #%s on port %d", settings.room, server.port)
        return _described(server, options)

    async def stop(self) -> None:
        """Close every member with 1001, free the port and end the server's thread."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is None or thread is None:
            return
        await thread.finish(server.stop())


async def _started(settings: Settings) -> HostedServer:
    # Made on the server's loop: what the app opens (its history database) belongs there.
    server = HostedServer(settings)
    await server.start()
    return server


def _described(server: HostedServer, options: HostOptions) -> HostInfo:
    """Where the window joins ``server`` itself and the addresses it gives others."""
    everyone = server.addresses()
    fingerprint = server.identity.fingerprint if server.identity is not None else None
    scheme = "wss" if fingerprint else "ws"
    token = f"?token={quote(options.token)}" if options.token else ""
    room = options.room or DEFAULT_ROOM
    return HostInfo(
        port=server.port,
        own_url=f"{scheme}://127.0.0.1:{server.port}{room_path(room)}",
        # Whoever gets an address from us gets what it takes to join: token, identity.
        app_urls=tuple(
            address.app + token + (f"#fp={fingerprint}" if fingerprint else "")
            for address in everyone
        ),
        browser_urls=tuple(address.browser for address in everyone),
        warning=lan_warning(server.settings.host),
        fingerprint=fingerprint,
        links=tuple(join_link(address.app + token, fingerprint) for address in everyone),
        token=options.token,
    )
