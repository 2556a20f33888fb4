"""The one bridge between asyncio and Qt: session events become signals, slots become tasks.

Widgets call plain methods here (``join``, ``host``, ``send_text`` …) and listen to signals;
they never see a coroutine. Every task started here is kept, reports its own failure as a
signal, and is cancelled and awaited by :meth:`ChatController.shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktopchat.client import (
    AddressError,
    Delivered,
    Failed,
    Joined,
    JoinError,
    NotDesktopchat,
    PresenceChanged,
    Progress,
    Queued,
    Received,
    SendError,
    ServerError,
    Session,
    SessionEvent,
    SessionState,
    StateChanged,
    TokenRefused,
    UnknownCertificate,
    Unreachable,
    UntrustedCertificate,
)
from desktopchat.client.discovery import RoomBrowser
from desktopchat.client.events import HISTORY_GAP, HISTORY_RESET, Frame
from desktopchat.client.files import FilesAt, TransferError
from desktopchat.client.frames import write_ndjson
from desktopchat.client.pinning import KnownHosts
from desktopchat.client.raw import RawOptions, RawSession
from desktopchat.client.sending import direct_command
from desktopchat.client.timeline import Moment, moment_of
from desktopchat.client.transfers import Transfer, TransferBook, Transfers
from desktopchat.gui.hosting import Hoster, HostError, HostInfo, HostOptions
from desktopchat.gui.rows import pending_row, row_of, row_of_frame
from desktopchat.paths import data_dir
from desktopchat.protocol import (
    ChatMessage,
    Kind,
    PresenceEvent,
)
from desktopchat.protocol.files import FileOffer, offer_of

logger = logging.getLogger("desktopchat.gui")

SessionFactory = Callable[..., Session]


OLDER_PAGE = 100
"""Messages fetched per "Load older messages"."""

NEWEST = 1 << 53
"""Past every message id: a page "before" it is the newest page."""

SEARCH_ALL_LIMIT = 20_000
"""At most this many older messages are fetched to search the whole history: beyond, the
room's history is bigger than a window should hold (the search says so)."""


RawFactory = Callable[..., RawSession]

LOG_FRAMES = 100_000
"""Frames of a raw connection kept for "Export log" (the oldest go first)."""


def _session(session: Session | RawSession) -> Session:
    if not isinstance(session, Session):
        raise SendError("direct messages are for rooms")
    return session


def field_of(error: JoinError) -> str:
    """Which Join form field a join error belongs next to (``not-a-room``: the address,
    with the offer to connect to it as a plain WebSocket; ``identity``: the whole form, a
    room whose certificate is not the one pinned)."""
    if isinstance(error, UntrustedCertificate):
        return "identity"
    if isinstance(error, NotDesktopchat):
        return "not-a-room"
    if isinstance(error, AddressError | Unreachable):
        return "address"
    if isinstance(error, TokenRefused):
        return "token"
    return ""


MEMBERS_MS = 100
"""How often the member list may change on screen."""


_RETIRING: set[asyncio.Task[None]] = set()
"""Controllers shutting down after their room was left (kept: a task nobody holds may be
collected before it ends)."""


async def shut_down_all(controllers: list[ChatController]) -> None:
    """Shut ``controllers`` down, and wait for those retiring (the window is closing)."""
    await asyncio.gather(*(controller.shutdown() for controller in controllers))
    await asyncio.gather(*_RETIRING, return_exceptions=True)


class ChatController(QObject):
    """Owns the session (and, when hosting, the server through a :class:`Hoster`)."""

    stateChanged = Signal(SessionState, str)  # the state, a sentence for the status line
    joined = Signal(str, str, list, str)  # room, our name, members, the host's name ("": none)
    membersChanged = Signal(list)
    presenceChanged = Signal(PresenceEvent, str)  # what happened, to whom
    messageArrived = Signal(object)  # MessageRow
    messageDelivered = Signal(str, int, object)  # cid, id, server time (int, or None: not yet)
    messageFailed = Signal(str, str)  # cid, why it was given up on
    largestMessage = Signal(int)  # the room's limit in bytes, from its welcome
    olderArrived = Signal(list, bool)  # list[MessageRow] oldest first, whether more exist
    directOlderArrived = Signal(str, list, bool)  # the peer, its rows oldest first, more?
    historyLoaded = Signal(int, bool)  # messages fetched to search all, whether it was cut short
    progress = Signal(int, int)  # sent, total
    sendFailed = Signal(Kind, str)  # what was not sent, why
    trustRequested = Signal(str, str, str, str)  # address, name, token, the new fingerprint
    rawTrustRequested = Signal(str, str)  # address, the endpoint's new fingerprint
    connectedRaw = Signal(str, str)  # the URL, the subprotocol the server chose ("": none)
    moment = Signal(object)  # a raw connection's frame or event, for the timeline (Moment)
    joinFailed = Signal(str, str, str)  # form field ("address" | "token" | ""), words, detail
    hostStarted = Signal(object)  # HostInfo
    hostFailed = Signal(str, int)  # message, suggested port (0: none)
    hostStopped = Signal()
    left = Signal()  # leaving is done (whether or not the session was still open)
    outboxFull = Signal(bool)  # whether the room has yet to take all the messages it can hold
    roomsFound = Signal(list)  # list[FoundRoom]: the LAN's rooms, whole, on every change
    transferChanged = Signal(object)  # Transfer: new, or moved on
    fileOffered = Signal(object)  # Transfer: someone else offers a file
    busy = Signal(bool)  # a long operation (joining, starting) is under way
    problem = Signal(str)  # anything else worth a line in the status bar

    def __init__(
        self,
        hoster: Hoster,
        session_factory: SessionFactory = Session,
        parent: QObject | None = None,
        known_hosts: KnownHosts | None = None,
        raw_factory: RawFactory = RawSession,
        transfer_book: TransferBook | None = None,
        client_key: str | None = None,
    ) -> None:
        """``client_key``: this install's key (:func:`~desktopchat.client.identity.
        install_key`), so that direct conversations are found again after a restart
        (``None``: a new key for every session)."""
        super().__init__(parent)
        self.client_key = client_key
        self._book = transfer_book or TransferBook(data_dir() / "transfers.json")
        self.transfers = Transfers(self.transferChanged.emit, self._book)
        self._raw_factory = raw_factory
        self._raw_options = RawOptions()
        self.frames: deque[Frame] = deque(maxlen=LOG_FRAMES)
        """The raw connection's frames, both ways, for the NDJSON log."""
        self._known_hosts = known_hosts or KnownHosts()
        self.hoster = hoster
        self._session_factory = session_factory
        self.session: Session | RawSession | None = None
        self.host_info: HostInfo | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._browser: RoomBrowser | None = None
        self._browser_stops: set[asyncio.Task[None]] = set()
        self._oldest_id: int | None = None  # of the messages shown: where older pages start
        self._full = False
        self._pinging: asyncio.Task[None] | None = None
        self._opening: list[Moment] | None = None
        """A raw connection's moments before the window shows it (then they are sent)."""
        self._members_timer = QTimer(self)
        self._members_timer.setSingleShot(True)
        self._members_timer.setInterval(MEMBERS_MS)
        self._members_timer.timeout.connect(self._members_now)

    def sibling(self) -> ChatController:
        """A controller for one more room of the same window: a session and hoster of its
        own; the same pinned identities, book of unfinished transfers and factories."""
        return ChatController(
            self.hoster.another(),
            self._session_factory,
            self.parent(),
            known_hosts=self._known_hosts,
            raw_factory=self._raw_factory,
            transfer_book=self._book,
            client_key=self.client_key,
        )

    # -- commands from the widgets ---------------------------------------------------------

    def join(self, address: str, name: str, token: str, fingerprint: str | None = None) -> None:
        """Join a room somebody hosts (pinning ``fingerprint``, once the user trusts it)."""
        self._spawn(self._join(address, name, token or None, fingerprint), "joining")

    def join_raw(self, address: str, options: RawOptions) -> None:
        """Connect to any WebSocket endpoint: frames in and out as they are."""
        self._spawn(self._join_raw(address, options), "connecting")

    def trust_raw(self, address: str, fingerprint: str) -> None:
        """Connect again, pinning the fingerprint the user checked."""
        self.join_raw(address, replace(self._raw_options, fingerprint=fingerprint))

    def export_log(self, path: str) -> int:
        """Write the raw connection's frames as NDJSON to ``path``; how many (``OSError``)."""
        return write_ndjson(Path(path), self.frames)

    def ping(self, payload: bytes) -> None:
        """Ping the raw endpoint; the ping and its pong (with the round trip) come back as
        moments, a failure as a problem."""
        session = self.session
        if not isinstance(session, RawSession):
            self.problem.emit("Not sent: pings go to a plain WebSocket connection")
            return

        async def once() -> None:
            try:
                await session.ping(payload)
            except SendError as exc:
                self.problem.emit(f"Ping not answered: {exc}")

        self._spawn(once(), "pinging")

    def ping_every(self, seconds: int) -> None:
        """Ping the raw endpoint every ``seconds`` (0: stop), until it closes."""
        if self._pinging is not None:
            self._pinging.cancel()
            self._pinging = None
        session = self.session
        if seconds > 0 and isinstance(session, RawSession):
            self._pinging = self._spawn(self._ping_forever(session, seconds), "pinging")

    async def _ping_forever(self, session: RawSession, seconds: int) -> None:
        while self.session is session:
            await asyncio.sleep(seconds)
            if session.state is not SessionState.OPEN:
                continue  # reconnecting: the next ping goes to the new connection
            try:
                await session.ping()
            except SendError as exc:
                self.problem.emit(f"Ping not answered: {exc}")

    def close_raw(self, code: int, reason: str) -> None:
        """Close the raw connection with ``code`` and ``reason``; the window stays on it,
        with the timeline's record of how it ended, until the user disconnects."""
        session = self.session
        if not isinstance(session, RawSession):
            return
        self.ping_every(0)

        async def closing() -> None:
            try:
                await session.close(code, reason)
            except ValueError as exc:
                self.problem.emit(f"Not closed: {exc}")

        self._spawn(closing(), "closing")

    def host(self, options: HostOptions) -> None:
        """Start hosting, then join our own room like any other member."""
        self._spawn(self._host(options), "hosting")

    def leave(self) -> None:
        """Leave the room (and stop hosting, if we host)."""
        self._spawn(self._leave(), "leaving")

    def send_text(self, text: str) -> None:
        """Send a text message; ``/msg NAME TEXT`` in a room says TEXT to NAME alone."""
        direct = direct_command(text) if isinstance(self.session, Session) else None
        if direct is not None:
            self.send_direct(*direct)
            return
        if (text == "/msg" or text.startswith("/msg ")) and isinstance(self.session, Session):
            # Not said to the whole room by a slip: "/msg bob" alone has nobody's words.
            self.sendFailed.emit(Kind.TEXT, "write /msg NAME and then the message")
            return
        self._send(Kind.TEXT, lambda session: session.send_text(text))

    def send_direct(self, to: str, text: str) -> None:
        """Say ``text`` to the member ``to`` alone (a room's direct message)."""
        self._send(Kind.TEXT, lambda session: _session(session).send_direct(to, text))

    def send_json_text(self, text: str) -> None:
        """Send JSON typed by the user (validated again by the session)."""
        self._send(Kind.JSON, lambda session: session.send_json_text(text))

    def send_file(self, path: str) -> None:
        """Send a file's bytes."""
        self._send(Kind.BINARY, lambda session: session.send_file(path))

    def send_paths(self, paths: list[Path]) -> None:
        """Send files and folders: beside the room, resuming after drops (each offered in
        the room once up); to a raw endpoint, each file as one binary message."""
        if isinstance(self.session, RawSession):
            for path in paths:
                self.send_file(str(path))
            return

        async def sending() -> None:
            try:
                await self.transfers.send(paths)
            except TransferError as exc:
                self.sendFailed.emit(Kind.BINARY, str(exc))

        self._spawn(sending(), "sending files")

    def fetch(self, transfer: Transfer, folder: Path) -> None:
        """Download an offered file into ``folder``."""
        self.transfers.fetch(transfer, folder)

    def send_bytes(self, payload: bytes) -> None:
        """Send bytes typed as hex or base64."""
        self._send(Kind.BINARY, lambda session: session.send_binary(payload, name="bytes.bin"))

    def load_older(self) -> None:
        """Fetch the page of history before the oldest message shown."""

        async def one_page() -> None:
            await self._load_older()

        self._spawn(one_page(), "loading older messages")

    def load_direct(self, peer: str, before: int | None) -> None:
        """Fetch the page of the direct conversation with ``peer`` before message id
        ``before`` (``None``: its newest page)."""

        async def one_page() -> None:
            session = self.session
            if not isinstance(session, Session):
                self.directOlderArrived.emit(peer, [], False)
                return
            try:
                page = await session.history(before or NEWEST, OLDER_PAGE, with_=peer)
            except SendError as exc:
                self.problem.emit(f"Could not load older messages with {peer}: {exc}")
                self.directOlderArrived.emit(peer, [], True)
                return
            me = session.name or ""
            rows = [row_of(message, me) for message in page.messages]
            self.directOlderArrived.emit(peer, rows, page.more and bool(rows))

        self._spawn(one_page(), "loading a direct conversation")

    def load_all(self) -> None:
        """Fetch every older page (up to :data:`SEARCH_ALL_LIMIT` messages), to search the
        room's whole history; ``historyLoaded`` when done."""
        self._spawn(self._load_all(), "loading the whole history")

    def retry_now(self) -> None:
        """Reconnect now rather than at the end of the back-off wait."""
        if self.session is not None:
            self.session.retry_now()

    async def _load_older(self) -> bool:
        """One page; whether older ones remain."""
        session = self.session
        if not isinstance(session, Session) or self._oldest_id is None or self._oldest_id <= 1:
            self.olderArrived.emit([], False)
            return False
        try:
            page = await session.history(self._oldest_id, OLDER_PAGE)
        except SendError as exc:
            self.problem.emit(f"Could not load older messages: {exc}")
            self.olderArrived.emit([], True)
            return False
        if page.messages:
            self._oldest_id = page.messages[0].id
        me = session.name or ""
        self.olderArrived.emit([row_of(message, me) for message in page.messages], page.more)
        return page.more and bool(page.messages)

    async def _load_all(self) -> None:
        fetched = 0
        more = True
        while more and fetched < SEARCH_ALL_LIMIT:
            more = await self._load_older()
            fetched += OLDER_PAGE
        self.historyLoaded.emit(fetched, more)

    def look_for_rooms(self, looking: bool) -> None:
        """Start or stop watching the LAN for rooms (the Join screen is shown or hidden)."""
        if looking and self._browser is None:
            self._browser = RoomBrowser(self.roomsFound.emit)
            self._spawn(self._browser.start(), "looking for rooms")
        elif not looking and self._browser is not None:
            browser, self._browser = self._browser, None
            # Awaited, not cancelled, by shutdown: a window closed right after leaving the
            # Join screen must still release the browser's sockets.
            stopping = self._spawn(browser.stop(), "stopping the room search")
            self._browser_stops.add(stopping)
            stopping.add_done_callback(self._browser_stops.discard)

    @property
    def hosting(self) -> bool:
        """Whether this window runs the room's server."""
        return self.hoster.running

    async def shutdown(self) -> None:
        """Leave, stop hosting, and finish every task (the window is closing)."""
        browser, self._browser = self._browser, None
        if browser is not None:
            await browser.stop()
        await asyncio.gather(*self._browser_stops, return_exceptions=True)
        await self._leave()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def retire(self, then: Callable[[], None]) -> None:
        """Shut down in the background (its room was left, from one of its own signals:
        inside the task that left), then call ``then``."""

        async def retire() -> None:
            await self.shutdown()
            then()

        task = asyncio.get_event_loop().create_task(retire(), name="closing a room")
        _RETIRING.add(task)
        task.add_done_callback(_RETIRING.discard)

    # -- the tasks ----------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.get_event_loop().create_task(coroutine, name=what)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))
        return task

    def _finished(self, task: asyncio.Task[None], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("%s failed", what, exc_info=error)
            self.problem.emit(f"{what} failed: {error}")

    def _send(
        self, kind: Kind, send: Callable[[Session | RawSession], Coroutine[Any, Any, str]]
    ) -> None:
        session = self.session
        if session is None:
            self.sendFailed.emit(kind, "not in a room")
            return

        async def attempt() -> None:
            try:
                await send(session)
            except SendError as exc:
                self.sendFailed.emit(kind, str(exc))
            self._check_outbox()

        self._spawn(attempt(), f"sending {kind}")

    async def _join(
        self, address: str, name: str, token: str | None, fingerprint: str | None = None
    ) -> None:
        await self._close_session()
        self._oldest_id = None
        self.busy.emit(True)
        try:
            session = self._session_factory(
                address,
                name=name or None,
                token=token,
                fingerprint=fingerprint,
                known_hosts=self._known_hosts,
                key=self.client_key,
            )
            session.subscribe(self._on_event)
            self.session = session
            await session.start()
        except UnknownCertificate as exc:
            self.session = None
            self.trustRequested.emit(address, name, token or "", exc.fingerprint)
        except JoinError as exc:
            self.session = None
            self.joinFailed.emit(field_of(exc), str(exc), exc.detail)
        finally:
            self.busy.emit(False)

    async def _join_raw(self, address: str, options: RawOptions) -> None:
        await self._close_session()
        self._oldest_id = None
        self._raw_options = options
        self.frames.clear()
        self.busy.emit(True)
        try:
            session = self._raw_factory(address, options, known_hosts=self._known_hosts)
            session.subscribe(self._on_event)
            self.session = session
            self._opening = []
            await session.start()
            self.connectedRaw.emit(session.url, session.subprotocol or "")
            opening, self._opening = self._opening, None
            for moment in opening:
                self.moment.emit(moment)
        except UnknownCertificate as exc:
            self.session = None
            self.rawTrustRequested.emit(address, exc.fingerprint)
        except JoinError as exc:
            self.session = None
            self.joinFailed.emit(field_of(exc), str(exc), exc.detail)
        finally:
            self._opening = None
            self.busy.emit(False)

    async def _host(self, options: HostOptions) -> None:
        self.busy.emit(True)
        try:
            info = await self.hoster.start(options)
        except HostError as exc:
            self.hostFailed.emit(str(exc), exc.suggested_port or 0)
            return
        finally:
            self.busy.emit(False)
        self.host_info = info
        self.hostStarted.emit(info)
        await self._join(info.own_url, options.name, options.token or "", info.fingerprint)

    async def _leave(self) -> None:
        await self._close_session()
        if self.hoster.running:
            await self.hoster.stop()
            self.host_info = None
            self.hostStopped.emit()
        self.left.emit()

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        self.ping_every(0)
        self._check_outbox()
        # Unfinished transfers are written down: joining the room again continues them.
        await self.transfers.close()
        if session is not None:
            await session.close()

    def _attach_transfers(self, session: Session) -> None:
        async def post(offer: FileOffer) -> None:
            try:
                await session.send_json(offer.data())
            except SendError as exc:
                raise TransferError(f"the offer was not posted: {exc}") from exc

        at = FilesAt.of(session.url, session.identity())
        self.transfers.attach(at, post, session.send_file)

    def _offered(self, message: ChatMessage, me: str) -> None:
        offer = offer_of(message.data) if message.kind is Kind.JSON else None
        if offer is not None:
            transfer = self.transfers.offered(offer, message.sender, mine=message.sender == me)
            if transfer is not None:
                self.fileOffered.emit(transfer)

    # -- session events → signals -------------------------------------------------------------

    def _on_event(self, event: SessionEvent) -> None:
        session = self.session
        if isinstance(session, RawSession):
            moment = moment_of(event, session.url)
            if moment is not None and self._opening is not None:
                self._opening.append(moment)
            elif moment is not None:
                self.moment.emit(moment)
        if isinstance(event, Frame):
            self.frames.append(event)
            self.messageArrived.emit(row_of_frame(event))
        elif isinstance(event, StateChanged):
            self.stateChanged.emit(event.state, event.describe())
            refusal = event.error
            if (
                event.state is SessionState.CLOSED
                and isinstance(refusal, TokenRefused | UntrustedCertificate)
                and not self.hoster.running
            ):
                # A reconnect refused for a new token or a new identity: only the user can
                # answer that, on the Join form, as for a first join.
                self._spawn(self._close_session(), "closing")
                self.joinFailed.emit(field_of(refusal), str(refusal), refusal.detail)
        elif isinstance(event, Joined):
            welcome = event.welcome
            self.joined.emit(welcome.room, welcome.name, list(welcome.members), welcome.host or "")
            if welcome.limits is not None:
                self.largestMessage.emit(welcome.limits.max_message_bytes)
            if isinstance(session, Session):
                self._attach_transfers(session)
            if welcome.reset:
                self.problem.emit(HISTORY_RESET)
            elif welcome.gap:
                self.problem.emit(HISTORY_GAP)
        elif isinstance(event, Received):
            if self._oldest_id is None or event.message.id < self._oldest_id:
                self._oldest_id = event.message.id
            if event.cid is None:
                me = session.name if session is not None and session.name else ""
                self.messageArrived.emit(row_of(event.message, me))
                self._offered(event.message, me)
            else:
                # Our own message: its row went up as pending when queued; now it takes the
                # server's time and place.
                self.messageDelivered.emit(event.cid, event.message.id, event.message.time)
        elif isinstance(event, Queued) and event.message is not None:
            sender = session.name if session is not None and session.name else "you"
            self.messageArrived.emit(pending_row(event.cid, event.message, sender))
        elif isinstance(event, Delivered):
            self.messageDelivered.emit(event.cid, event.id, None)
            self._check_outbox()
        elif isinstance(event, Failed):
            self.messageFailed.emit(event.cid, event.reason)
            self.problem.emit(f"A message was not sent: {event.reason}")
            self._check_outbox()
        elif isinstance(event, PresenceChanged):
            self.presenceChanged.emit(event.presence.event, event.presence.name)
            # The list, once per MEMBERS_MS however many join: a copy per join made a room
            # of thousands quadratic.
            if not self._members_timer.isActive():
                self._members_timer.start()
        elif isinstance(event, Progress):
            self.progress.emit(event.sent, event.total)
        elif isinstance(event, ServerError):
            self.problem.emit(f"The room refused a message: {event.error.message}")

    def _members_now(self) -> None:
        session = self.session
        if isinstance(session, Session):
            self.membersChanged.emit(list(session.members))

    def _check_outbox(self) -> None:
        """Tell the window when the outbox fills or has room again: while it is full, what
        is typed waits in the box (a full outbox slows the writer, it never drops a line)."""
        session = self.session
        full = isinstance(session, Session) and session.outbox.full
        if full != self._full:
            self._full = full
            self.outboxFull.emit(full)

    @property
    def state(self) -> SessionState:
        """The session's state (closed when there is none)."""
        return self.session.state if self.session is not None else SessionState.CLOSED
