"""The client session: join a room and stay in it through network trouble.

A :class:`Session` owns one ``websockets`` connection at a time. It negotiates
``desktopchat.v1``, reports every state change and message as events, keeps unacknowledged
messages in an :class:`~desktopchat.client.outbox.Outbox`, and after an unexpected close
reconnects with backoff and resumes from the last message id it saw: nothing missed, nothing
twice. It knows no Qt; the GUI and ``desktopchat join`` both sit on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import (
    ConnectionClosed,
)

from desktopchat.client.address import link_fingerprint, room_url, with_tls
from desktopchat.client.backoff import Backoff
from desktopchat.client.errors import (
    AddressError,
    JoinError,
    Refused,
    SendError,
    TooBigForUs,
    UntrustedCertificate,
    too_big_for_us,
)
from desktopchat.client.events import (
    Delivered,
    Failed,
    HistoryPage,
    Joined,
    PresenceChanged,
    Received,
    ServerError,
    SessionState,
)
from desktopchat.client.handshake import Timing, open_room
from desktopchat.client.listening import Link, fairly
from desktopchat.client.outbox import Outbox
from desktopchat.client.pinning import KnownHosts
from desktopchat.client.sending import Sender
from desktopchat.protocol import (
    MAX_HISTORY_PAGE,
    Ack,
    ChatMessage,
    CloseCode,
    ErrorEvent,
    Hello,
    HistoryRequest,
    Limits,
    PageEnd,
    Presence,
    PresenceEvent,
    ProtocolError,
    RoomLimits,
    SendDirect,
    UnknownEvent,
    Welcome,
    decode_server,
    encode_client,
    name_key,
)
from desktopchat.protocol.fingerprints import parse_fingerprint

logger = logging.getLogger("desktopchat.client")


HISTORY_TIMEOUT = 15.0
"""Seconds to wait for a page of history."""

# Closes after which coming back cannot help: we or the server meant it, or what we sent
# would be refused again.
FINAL_CODES = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_DATA,
        CloseCode.POLICY,
        CloseCode.TOO_BIG,
        CloseCode.MANDATORY_EXTENSION,
    }
)


def apply_presence(members: dict[str, None], presence: Presence) -> None:
    """Change ``members`` (names in order of arrival) by ``presence``: its whole list (v1),
    or the one change (v2). A change costs the same however big the room is: a server
    announcing 100 000 joins must not make each one copy the list."""
    if presence.members is not None:
        members.clear()
        members.update(dict.fromkeys(presence.members))
    elif presence.event is PresenceEvent.JOIN:
        members[presence.name] = None
    else:
        members.pop(presence.name, None)


class Session:
    """Membership of one room, across reconnects.

    ``address`` is anything :func:`~desktopchat.client.address.room_url` accepts. Call
    :meth:`start` (raises a :class:`~desktopchat.client.errors.JoinError` subclass when the
    first join fails), then send with the ``send_*`` methods and listen with
    :meth:`subscribe` or :meth:`events`; :meth:`close` leaves with 1000. ``key`` is the
    client's key (random when not given): the same key finds the same direct conversations.
    """

    def __init__(
        self,
        address: str,
        *,
        name: str | None = None,
        token: str | None = None,
        fingerprint: str | None = None,
        known_hosts: KnownHosts | None = None,
        backoff: Backoff | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_size: int = 16 * 1024 * 1024,
        outbox_size: int = 1000,
        chunk_size: int = 256 * 1024,
        key: str | None = None,
    ) -> None:
        self.url = room_url(address, token=token)
        try:
            self.pin = parse_fingerprint(fingerprint) if fingerprint else link_fingerprint(address)
        except ValueError as exc:
            raise AddressError(str(exc)) from exc
        if self.pin is not None:
            # A fingerprint to check means TLS: never send the request in clear text.
            self.url = with_tls(self.url)
        self._known_hosts = known_hosts
        self.wish = name
        self.link = Link()
        self.name: str | None = None
        self._members: dict[str, None] = {}
        self.last_id: int | None = None
        self.outbox = Outbox(outbox_size)
        self.sending = Sender(
            self.link,
            self.outbox,
            give_up=self._give_up,
            max_size=max_size,
            chunk_size=chunk_size,
        )
        # A session sends with its sender, and is listened to and closed through its link.
        self.send_text = self.sending.send_text
        self.send_json = self.sending.send_json
        self.send_json_text = self.sending.send_json_text
        self.send_binary = self.sending.send_binary
        self.send_file = self.sending.send_file
        self.send_direct = self.sending.send_direct
        self.send_direct_json = self.sending.send_direct_json
        self.subscribe = self.link.subscribe
        self.events = self.link.events
        self.close = self.link.close
        self.retry_now = self.link.retry_now
        self._backoff = backoff or Backoff()
        self._timing = Timing(open_timeout, close_timeout, ping_interval, ping_timeout)
        self._max_size = max_size
        self._chunk_size = chunk_size
        # Who this client is to the room across reconnects: it scopes our message ids, and a
        # direct conversation is kept for the two keys (an app passes one it keeps).
        self._key = key or uuid.uuid4().hex
        self._acked: dict[int, str] = {}
        # The newest id seen of each direct conversation (by the other side's name): after
        # a reconnect, what came while we were away is fetched (direct messages are not in
        # the room's backlog).
        self._direct_seen: dict[str, tuple[str, int]] = {}  # name_key -> (name, id)
        self._catching_up: asyncio.Task[None] | None = None
        self._page: list[ChatMessage] = []
        self._page_answer: asyncio.Future[HistoryPage] | None = None
        self._page_lock = asyncio.Lock()

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> Welcome:
        """Join the room; raise a ``JoinError`` saying why if that fails."""
        if self.link.task is not None:
            raise RuntimeError("the session is already started")
        self.link.closing = False
        self.link.set_state(SessionState.CONNECTING)
        try:
            ws, welcome = await self._open()
        except JoinError as exc:
            self.link.set_state(SessionState.CLOSED, error=exc)
            raise
        await self._joined(ws, welcome)
        self.link.task = asyncio.get_running_loop().create_task(self._run(ws))
        return welcome

    def trust(self, fingerprint: str) -> None:
        """Pin ``fingerprint`` for this room (after the user checked an unknown one)."""
        self.pin = parse_fingerprint(fingerprint)

    def identity(self) -> str | None:
        """The TLS identity this room is trusted by: the one pinned, or the one remembered
        for its host (what its files are fetched with, too)."""
        if self.pin is not None:
            return self.pin
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or 0
        return self._known_hosts.get(host, port) if self._known_hosts else None

    async def _open(self) -> tuple[ClientConnection, Welcome]:
        hello = Hello(name=self.wish, resume=self.last_id, key=self._key)
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or 0
        known = self._known_hosts.get(host, port) if self._known_hosts else None
        if known is not None and parts.scheme == "ws":
            # A room we trusted over TLS before: never join it in clear text now.
            self.url = with_tls(self.url)
            parts = urlsplit(self.url)
        opened = await open_room(self.url, hello, self._timing, self._max_size, self.pin, known)
        if parts.scheme == "wss" and self.pin and self._known_hosts and known != self.pin:
            # A fingerprint given (link, flag, the user's yes) and proved: remember it.
            with contextlib.suppress(OSError):
                self._known_hosts.remember(host, port, self.pin)
        return opened

    async def _run(self, ws: ClientConnection) -> None:
        while True:
            code, reason = await self._pump(ws)
            self.link.ws = None
            if isinstance(reason, TooBigForUs):
                self.link.set_state(SessionState.CLOSED, code=code, error=reason)
                return
            if (
                not self.link.closing
                and code == CloseCode.TOO_BIG
                and self.sending.in_flight is not None
                and self._give_up(
                    self.sending.in_flight, f"too big for the room ({reason or 1009})"
                )
            ):
                # The culprit is out of the outbox: the rest may go once we are back.
                code = CloseCode.ABNORMAL
            elif self.link.closing or code in FINAL_CODES:
                self.link.set_state(SessionState.CLOSED, code=code, reason=reason)
                return
            reopened = await self._reconnect(code, reason)
            if reopened is None:
                return
            ws, welcome = reopened
            await self._joined(ws, welcome)

    async def _reconnect(
        self, code: int | None, reason: str
    ) -> tuple[ClientConnection, Welcome] | None:
        attempt = 0
        while True:
            attempt += 1
            delay = self._backoff.delay(attempt)
            self.link.set_state(
                SessionState.RECONNECTING, attempt=attempt, delay=delay, code=code, reason=reason
            )
            await self.link.wait_to_retry(delay)
            try:
                return await self._open()
            except UntrustedCertificate as exc:
                # The room's identity changed while we were away: never accept it silently.
                self.link.set_state(SessionState.CLOSED, error=exc)
                return None
            except Refused as exc:
                if exc.code in FINAL_CODES:
                    self.link.set_state(
                        SessionState.CLOSED, code=exc.code, reason=exc.reason, error=exc
                    )
                    return None
                logger.info("reconnect attempt %d refused for now: %s", attempt, exc)
            except JoinError as exc:
                logger.info("reconnect attempt %d failed: %s", attempt, exc)

    async def _joined(self, ws: ClientConnection, welcome: Welcome) -> None:
        self.link.ws = ws
        self.name = welcome.name
        self._members = dict.fromkeys(welcome.members)
        self.sending.limits = welcome.limits
        if self.last_id is None or welcome.reset:
            # A new member, or one whose position the room no longer knows: every message
            # of the backlog that follows is new to us.
            self.last_id = 0
        elif welcome.last_id < self.last_id:
            # A server older than ``reset`` that came back without its history: its ids
            # start over, and keeping ours would hide every new message as "already seen".
            self.last_id = welcome.last_id
        self.link.set_state(SessionState.OPEN)
        self.link.emit(Joined(welcome))
        if welcome.resumed and self._direct_seen and self._catching_up is None:
            # On its own task: the pages it asks for are read by the pump, not here.
            self._catching_up = asyncio.get_running_loop().create_task(self._catch_up())
        for pending in self.outbox.pending():
            with contextlib.suppress(ConnectionClosed):
                await self.sending.transmit(ws, pending)

    async def _pump(self, ws: ClientConnection) -> tuple[int | None, str | TooBigForUs]:
        limits = Limits(self._max_size)
        try:
            async for frame in fairly(ws):
                try:
                    event = decode_server(frame, limits)
                except UnknownEvent as exc:
                    # A newer server's event: skipping it is the compatibility rule.
                    logger.debug("skipped an event of a newer protocol: %s", exc)
                    continue
                except ProtocolError as exc:
                    logger.warning("ignored a malformed frame from the server: %s", exc)
                    continue
                self._dispatch(event)
        except ConnectionClosed as exc:
            refused = too_big_for_us(exc, self._max_size)
            if refused is not None:
                return CloseCode.TOO_BIG, refused
        return ws.close_code, ws.close_reason or ""

    @property
    def state(self) -> SessionState:
        """Where the session is: connecting, open, reconnecting, closing or closed."""
        return self.link.state

    @property
    def limits(self) -> RoomLimits | None:
        """The room's limits, from its last welcome (``None`` from a server without)."""
        return self.sending.limits

    @property
    def message_limit(self) -> int:
        """The largest message, in bytes, this room takes (as its welcome said)."""
        return self.sending.message_limit

    @property
    def members(self) -> tuple[str, ...]:
        """The room's members, in order of arrival (a copy)."""
        return tuple(self._members)

    def _dispatch(self, event: object) -> None:
        if isinstance(event, ChatMessage) and event.page:
            # Only what was asked for, and no more than a page: a server that sends page
            # messages unasked, or never ends a page, cannot make us hold them.
            if self._page_answer is None or len(self._page) >= MAX_HISTORY_PAGE:
                logger.warning("ignored a history message nobody asked for (or past a page)")
                return
            self._page.append(event)
        elif isinstance(event, PageEnd):
            page, self._page = tuple(self._page), []
            if self._page_answer is not None and not self._page_answer.done():
                self._page_answer.set_result(HistoryPage(page, event.more))
        elif isinstance(event, ChatMessage) and event.direct:
            # Its id counts in its conversation, not in the room's resume position.
            if self._new_direct(event):
                self.link.emit(Received(event))
        elif isinstance(event, ChatMessage):
            if self.last_id is not None and event.id <= self.last_id:
                return  # already seen before a reconnect
            self.last_id = event.id
            self.link.emit(Received(event, self._acked.pop(event.id, None)))
        elif isinstance(event, Ack):
            pending = self.outbox.acknowledge(event.cid)
            if pending is not None or event.duplicate:
                # A direct message of ours never comes back: nothing to match it to.
                if pending is None or not isinstance(pending.event, SendDirect):
                    self._acked[event.id] = event.cid
                else:
                    self._saw(pending.event.to, event.id)
                self.link.emit(Delivered(event.cid, event.id, event.duplicate))
        elif isinstance(event, Presence):
            apply_presence(self._members, event)
            self.link.emit(PresenceChanged(event, event.members))
        elif isinstance(event, ErrorEvent):
            refused = event.cid is not None and self._give_up(
                event.cid, f"refused by the room: {event.message}"
            )
            if not refused:
                self.link.emit(ServerError(event))

    def _new_direct(self, message: ChatMessage) -> bool:
        """Note a direct message's id in its conversation; whether it is new to us."""
        return self._saw(message.sender if message.to == self.name else message.to, message.id)

    def _saw(self, partner: str, ident: int) -> bool:
        _name, seen = self._direct_seen.get(name_key(partner), (partner, 0))
        if ident <= seen:
            return False
        self._direct_seen[name_key(partner)] = (partner, ident)
        return True

    async def _catch_up(self) -> None:
        """Fetch the direct messages of our conversations that came while we were away."""
        try:
            for partner, _seen in list(self._direct_seen.values()):
                try:
                    page = await self.history(1 << 53, MAX_HISTORY_PAGE, with_=partner)
                except SendError as exc:
                    logger.info("direct messages with %s not caught up: %s", partner, exc)
                    return
                for message in page.messages:
                    live = replace(message, page=False)
                    if self._new_direct(live):
                        self.link.emit(Received(live))
        finally:
            self._catching_up = None

    def _give_up(self, cid: str, reason: str) -> bool:
        """Drop ``cid`` from the outbox for good and say why; ``False`` if it was not there."""
        if self.outbox.acknowledge(cid) is None:
            return False
        logger.info("gave up on message %s: %s", cid, reason)
        self.link.emit(Failed(cid, reason))
        return True

    # -- history -----------------------------------------------------------------------------

    async def history(self, before: int, limit: int = 50, with_: str | None = None) -> HistoryPage:
        """Ask the room for up to ``limit`` messages older than id ``before`` (oldest first),
        or of the direct conversation with the member called ``with_``.

        Raises :class:`SendError` when not in a room or when no answer comes within
        ``HISTORY_TIMEOUT`` seconds. One page at a time: a second call waits for the first.
        """
        async with self._page_lock:
            ws = self.link.ws
            if ws is None or self.state is not SessionState.OPEN:
                raise SendError("not in a room")
            self._page_answer = asyncio.get_running_loop().create_future()
            self._page = []
            try:
                request = HistoryRequest(before, min(limit, MAX_HISTORY_PAGE), with_)
                await ws.send(encode_client(request))
                return await asyncio.wait_for(self._page_answer, HISTORY_TIMEOUT)
            except ConnectionClosed as exc:
                raise SendError("the connection was lost while asking for history") from exc
            except TimeoutError as exc:
                raise SendError("the room did not answer the history request") from exc
            finally:
                self._page_answer = None
