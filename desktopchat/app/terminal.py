"""``desktopchat join``: a room in the terminal, on the same session as the window.

Lines typed are sent as text; ``/json {…}`` sends JSON, ``/file PATH`` a file, ``/quit``
leaves with 1000. It behaves like a Unix tool: messages go to stdout as one line each, with
every control character a member could use against the terminal escaped; status lines go to
stderr; stdin may be a terminal, a pipe or a file, and at its end the command waits until
every line is acknowledged, then exits 0 (1 if any was refused). Ctrl-C leaves the room and
exits 130, SIGTERM 143.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import mimetypes
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from desktopchat.app.raw_lines import (
    RAW_HELP,
    close_frame,
    format_frame,
    pong_line,
    send_raw_line,
)
from desktopchat.client.address import display_address
from desktopchat.client.downloads import save_file
from desktopchat.client.errors import (
    CertificateChanged,
    JoinError,
    NotDesktopchat,
    SendError,
    TooBigForUs,
    UnknownCertificate,
)
from desktopchat.client.events import (
    HISTORY_GAP,
    HISTORY_RESET,
    Control,
    Delivered,
    Failed,
    Frame,
    Joined,
    PresenceChanged,
    Progress,
    Received,
    ServerError,
    SessionEvent,
    SessionState,
    StateChanged,
)
from desktopchat.client.files import (
    FilesAt,
    NoFileTransfers,
    TransferError,
    announce,
    download,
    upload,
)
from desktopchat.client.frames import ndjson_closed, ndjson_control
from desktopchat.client.raw import RawSession
from desktopchat.client.sending import direct_command
from desktopchat.client.session import Session
from desktopchat.protocol import ChatMessage, CloseCode, Kind, dumps, printable
from desktopchat.protocol.files import FileOffer, offer_of
from desktopchat.protocol.sizes import human_size

HELP = (
    "type to chat; /msg NAME TEXT says it to NAME alone, /json VALUE sends JSON, "
    "/file PATH sends a file, /quit leaves"
)

SETTLE_TIMEOUT = 30.0
"""Seconds at the end of input with no acknowledgement or progress before giving up."""

QUIET = 0.5
"""Seconds of silence from a raw endpoint, after the end of input, before closing."""

SIGNAL_CLOSE = 1.0
"""Seconds the close handshake may take after SIGINT or SIGTERM."""

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

EXIT_STATUSES = (
    "exit status: 0 you left (/quit, or the end of input with every line acknowledged) or\n"
    "the other side closed normally (1000); 1 joining failed, the other side ended the\n"
    "connection otherwise, or a line was refused; 2 a bad flag or address; 130 Ctrl-C;\n"
    "143 SIGTERM."
)


def format_message(message: ChatMessage) -> str:
    """``[12:03:04] alice: hello`` (JSON compact, binary as a one-line summary)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(message.time / 1000))
    if message.kind is Kind.TEXT:
        body = message.text
    elif message.kind is Kind.JSON:
        body = "(json) " + dumps(message.data)
    else:
        size = f"{len(message.payload)} bytes"
        body = f"(file) {message.name or 'bytes'} [{message.mime}, {size}]"
    who = f"{message.sender} → {message.to} (direct)" if message.direct else message.sender
    return printable(f"[{stamp}] {who}: {body}")


def format_event(event: SessionEvent) -> str | None:
    """The status line (for stderr) for a session event, or ``None`` to stay quiet."""
    if isinstance(event, StateChanged):
        # The close reason is the server's words: escaped like anything a peer sends.
        line = printable(f"-- {event.describe()}")
        if isinstance(event.error, TooBigForUs):
            line += "\n-- to take bigger messages: desktopchat join --max-size SIZE (e.g. 256M)"
        return line
    if isinstance(event, Joined):
        welcome = event.welcome
        line = printable(
            f"-- you are {welcome.name} in #{welcome.room}; here: {', '.join(welcome.members)}"
        )
        if welcome.reset:
            return line + f"\n-- {HISTORY_RESET}"
        return line + f"\n-- {HISTORY_GAP}" if welcome.gap else line
    if isinstance(event, PresenceChanged):
        what = "joined" if event.presence.event == "join" else "left"
        return printable(f"-- {event.presence.name} {what}")
    if isinstance(event, ServerError):
        return printable(f"!! {event.error.message} ({event.error.code})")
    if isinstance(event, Failed):
        return printable(f"!! not sent: {event.reason}")
    return None


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line of input longer than a message may be; its rest is skipped, not kept."""

    limit: int


READ_AHEAD = 4
"""Chunks of input (64 KiB each) read before the room has taken the earlier lines: a room
slower than the pipe slows the pipe, instead of the lines piling up in memory."""


class _StdinLines:
    """Lines of a file descriptor, read by a daemon thread into the loop, at most
    ``limit`` bytes a line and :data:`READ_AHEAD` chunks ahead of the reader.

    ``loop.connect_read_pipe`` takes pipes and terminals but not regular files
    (``join HOST < file.txt``); a thread reads all three. It is a daemon so that a read
    blocked on a terminal never holds up the exit, and it uses ``os.read`` rather than
    ``sys.stdin.buffer``: a daemon thread holding a buffered reader's lock at exit makes
    the interpreter abort.
    """

    def __init__(self, fd: int, limit: int) -> None:
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue(READ_AHEAD)
        self._buffer = bytearray()
        self._limit = limit
        self._skipping = False  # inside a line already reported too long
        self._ended = False
        loop = asyncio.get_running_loop()

        def pump() -> None:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                try:
                    # Blocks this thread while the queue is full: that is the back-pressure.
                    asyncio.run_coroutine_threadsafe(self._chunks.put(chunk), loop).result()
                except (RuntimeError, concurrent.futures.CancelledError):
                    return  # the loop is gone: the command is ending
                if not chunk:
                    return

        threading.Thread(target=pump, name="stdin", daemon=True).start()

    async def readline(self) -> bytes | LineTooLong:
        """The next line with its end, ``b""`` at the end of input, or :class:`LineTooLong`
        as soon as a line passes the limit (the rest of that line is then skipped)."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                if self._skipping:
                    self._skipping = False
                    continue
                if len(line) - 1 > self._limit:
                    return LineTooLong(self._limit)
                return line
            if len(self._buffer) > self._limit:
                self._buffer.clear()
                if not self._skipping:
                    self._skipping = True
                    return LineTooLong(self._limit)
            if self._ended:
                line, skipped = bytes(self._buffer), self._skipping
                self._buffer.clear()
                self._skipping = False
                return b"" if skipped else line
            chunk = await self._chunks.get()
            self._ended = not chunk
            self._buffer += chunk


@dataclass
class _Watch:
    """What the terminal tracks from the session's events."""

    out: TextIO
    err: TextIO
    save_dir: Path | None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    final: StateChanged | None = None
    failures: int = 0
    progress_shown: bool = False
    ndjson: bool = False
    files: FilesAt | None = None  # where the room's files are, once joined
    downloads: set[asyncio.Task[None]] = field(default_factory=set)

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, Frame):
            line = format_frame(event, self.ndjson)
            if line is not None:
                print(line, file=self.out, flush=True)
        elif isinstance(event, Control):
            # The log is the connection's whole timeline: control frames too (stderr says
            # the pongs in words either way).
            if self.ndjson:
                print(ndjson_control(event), file=self.out, flush=True)
        elif isinstance(event, Received):
            if event.cid is None:
                print(format_message(event.message), file=self.out, flush=True)
                self._save(event.message)
                self._offered(event.message)
        elif isinstance(event, Progress):
            self._progress(event)
        else:
            line = format_event(event)
            if line is not None:
                self.status(line)
        if isinstance(event, Failed):
            self.failures += 1
        if isinstance(event, StateChanged) and event.state is SessionState.CLOSED:
            self.final = event
            self.closed.set()
            if self.ndjson and event.raw and event.error is None and not event.ours:
                now = time.time_ns() // 1_000_000
                print(ndjson_closed(now, event.code, event.reason), file=self.out, flush=True)
        if isinstance(event, Delivered | Failed | Progress | StateChanged | Frame):
            self.changed.set()

    def status(self, line: str) -> None:
        """Print a status line on stderr (after an unfinished progress line)."""
        if self.progress_shown:
            self.err.write("\n")
            self.progress_shown = False
        print(line, file=self.err, flush=True)

    def _progress(self, event: Progress) -> None:
        done = event.sent == event.total
        if self.err.isatty():
            percent = 100 * event.sent // max(1, event.total)
            self.err.write(
                f"\r-- sending: {percent}% ({human_size(event.sent)} of {human_size(event.total)})"
            )
            self.err.flush()
            self.progress_shown = not done
            if done:
                self.err.write("\n")
        if done:
            self.status(f"-- sent {human_size(event.total)}")

    def transfer(self, verb: str, name: str, done: int, total: int) -> None:
        """Show how far a file transfer is (a line redrawn on a terminal)."""
        if self.err.isatty():
            percent = 100 * done // max(1, total)
            self.err.write(
                printable(
                    f"\r-- {verb} {name}: {percent}% ({human_size(done)} of {human_size(total)})"
                )
            )
            self.err.flush()
            self.progress_shown = done < total

    def _offered(self, message: ChatMessage) -> None:
        offer = offer_of(message.data) if message.kind is Kind.JSON else None
        if offer is None:
            return
        said = f"-- {message.sender} offers {offer.name} ({human_size(offer.size)})"
        if self.save_dir is None or self.files is None:
            self.status(printable(f"{said}; join with --save-dir DIR to fetch it"))
            return
        self.status(printable(f"{said}: fetching it into {self.save_dir}"))
        task = asyncio.get_running_loop().create_task(self._fetch(self.files, offer, self.save_dir))
        self.downloads.add(task)
        task.add_done_callback(self.downloads.discard)

    async def _fetch(self, at: FilesAt, offer: FileOffer, folder: Path) -> None:
        loop = asyncio.get_running_loop()

        def report(done: int, total: int) -> None:
            loop.call_soon_threadsafe(self.transfer, "fetching", offer.name, done, total)

        try:
            path = await asyncio.to_thread(download, at, offer, folder, report)
        except (OSError, TransferError, JoinError) as exc:
            self.failures += 1
            self.status(printable(f"!! cannot fetch {offer.name}: {exc}"))
            return
        self.status(printable(f"-- saved {path} (SHA-256 {offer.sha256[:16]}… checked)"))

    def _save(self, message: ChatMessage) -> None:
        if self.save_dir is None or message.kind is not Kind.BINARY:
            return
        try:
            path = save_file(self.save_dir, message.name or "file", message.payload)
        except OSError as exc:
            self.status(printable(f"!! cannot save {message.name}: {exc.strerror or exc}"))
            return
        self.status(printable(f"-- saved {path}"))


async def _send_line(session: Session | RawSession, line: str, watch: _Watch) -> None:
    try:
        if isinstance(session, RawSession):
            said = await send_raw_line(session, line)
            if said is not None:
                watch.status(said)
        elif line.startswith("/json "):
            await session.send_json_text(line[len("/json ") :])
        elif line.startswith("/file "):
            await _send_file(session, line[len("/file ") :].strip(), watch)
        elif line.startswith("/msg "):
            direct = direct_command(line)
            if direct is None:
                watch.status("!! /msg NAME TEXT: a member's name, then what to say")
            else:
                await session.send_direct(*direct)
        elif line.startswith("/"):
            watch.status(f"!! unknown command; {HELP}")
        else:
            await session.send_text(line)
    except SendError as exc:
        watch.failures += 1
        watch.status(printable(f"!! not sent: {exc}"))


async def _send_file(session: Session, typed: str, watch: _Watch) -> None:
    """Upload the file at ``typed`` to the host beside the room (resuming after drops), then
    offer it in the room; a host that takes no files this way gets it as one message."""
    path = await asyncio.to_thread(lambda: Path(typed).expanduser())
    at = FilesAt.of(session.url, session.identity())
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    loop = asyncio.get_running_loop()

    def report(done: int, total: int) -> None:
        loop.call_soon_threadsafe(watch.transfer, "sending", path.name, done, total)

    try:
        offer = await asyncio.to_thread(announce, at, path, mime)
    except NoFileTransfers:
        await session.send_file(path)
        return
    except (OSError, TransferError, JoinError) as exc:
        watch.failures += 1
        watch.status(printable(f"!! not sent: {path}: {getattr(exc, 'strerror', None) or exc}"))
        return
    try:
        await asyncio.to_thread(upload, at, path, offer, report)
    except (OSError, TransferError, JoinError) as exc:
        watch.failures += 1
        watch.status(printable(f"!! not sent: {exc} (send it again to continue where it stopped)"))
        return
    watch.status(printable(f"-- sent {offer.name} ({human_size(offer.size)}), offering it"))
    await session.send_json(offer.data())


async def _settle(session: Session | RawSession, watch: _Watch) -> bool:
    """Wait until every sent line is acknowledged or given up on; ``False`` if it stalls.
    A raw connection has no acknowledgements: it waits until the server has said nothing
    for ``QUIET`` seconds (the replies to the last lines have come), then closes."""
    if isinstance(session, RawSession):
        return await _quiet(watch)
    while session.outbox.pending() and not watch.closed.is_set():
        watch.changed.clear()
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT):
                await watch.changed.wait()
        except TimeoutError:
            count = len(session.outbox.pending())
            watch.status(f"!! {count} message(s) not acknowledged after {SETTLE_TIMEOUT:.0f} s")
            return False
    return not session.outbox.pending()


async def _quiet(watch: _Watch) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    while loop.time() < deadline and not watch.closed.is_set():
        watch.changed.clear()
        try:
            async with asyncio.timeout(QUIET):
                await watch.changed.wait()
        except TimeoutError:
            break
    return True


def _stop_signals(stop: asyncio.Future[int]) -> list[signal.Signals]:
    """Ctrl-C and SIGTERM leave the room cleanly instead of dying mid-frame."""
    loop = asyncio.get_running_loop()

    def stop_with(status: int) -> None:
        if not stop.done():
            stop.set_result(status)

    installed = []
    for sig, status in ((signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop_with, status)
            installed.append(sig)
    return installed


def _flag_hints(error: JoinError) -> list[str]:
    """What the terminal's flags can do about ``error`` (the window asks instead)."""
    if isinstance(error, UnknownCertificate):
        return [
            f"its identity: {error.fingerprint}",
            "once the host confirms it: --fingerprint FINGERPRINT, --trust-new, or a join "
            "link with #fp=",
        ]
    if isinstance(error, CertificateChanged):
        return [
            f"if the host confirms the new identity: --fingerprint {error.fingerprint} "
            "(or a new join link)"
        ]
    return []


async def _start(session: Session | RawSession, trust_new: bool, err: TextIO) -> None:
    """Join; with ``trust_new``, trust a room whose identity is new and say which it is."""
    try:
        await session.start()
    except UnknownCertificate as exc:
        if not trust_new:
            raise
        print(f"-- trusting this room's new identity {exc.fingerprint}", file=err, flush=True)
        session.trust(exc.fingerprint)
        await session.start()


async def run_terminal(
    session: Session | RawSession,
    out: TextIO,
    err: TextIO | None = None,
    stdin: int | None = None,
    save_dir: Path | None = None,
    trust_new: bool = False,
    ndjson: bool = False,
    keep_open: bool = False,
    ping_interval: float | None = None,
    close_with: tuple[int, str] | None = None,
) -> int:
    """Join, then relay ``stdin`` (a file descriptor) to the room and the room to ``out``
    (a :class:`RawSession`: any endpoint, frames as they are; ``ndjson``: both directions
    as NDJSON lines). ``keep_open``: the end of input does not end the connection; what
    comes is printed until the other side closes or a signal comes. A raw connection is
    pinged every ``ping_interval`` seconds (each pong's round trip on stderr) and closed
    with ``close_with`` (code, reason) at the end.

    Returns the exit status (:data:`EXIT_STATUSES`): 0 when the user leaves (``/quit``, or
    end of input with every line acknowledged) or the other side closes normally (1000);
    1 when joining fails, the other side ends the connection otherwise, or a line was
    refused; 130 / 143 after SIGINT / SIGTERM.
    """
    err = err if err is not None else sys.stderr
    watch = _Watch(out, err, save_dir, ndjson=ndjson)
    session.subscribe(watch)
    stop: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    installed = _stop_signals(stop)
    try:
        starting: asyncio.Future[Any] = asyncio.ensure_future(_start(session, trust_new, err))
        await asyncio.wait({starting, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # Ctrl-C while still connecting: stop at once
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, JoinError):
                await starting
            return stop.result()
        try:
            starting.result()
        except JoinError as exc:
            print(printable(f"desktopchat: cannot join: {exc.explain()}"), file=err)
            if isinstance(exc, NotDesktopchat) and isinstance(session, Session):
                print("-- to talk to it as a plain WebSocket, add --raw", file=err)
            for line in _flag_hints(exc):
                print(f"-- {line}", file=err)
            return 1
        # A first attempt refused for an unknown identity ended in "closed": we are open now.
        watch.closed.clear()
        watch.final = None
        if isinstance(session, Session):
            watch.files = FilesAt.of(session.url, session.identity())
        if isinstance(session, RawSession):
            chosen = f" (subprotocol {session.subprotocol})" if session.subprotocol else ""
            watch.status(
                printable(f"-- connected to {display_address(session.url)}{chosen}; {RAW_HELP}")
            )
        else:
            watch.status(f"-- {HELP}")
        fd = sys.stdin.fileno() if stdin is None else stdin
        lines = _StdinLines(fd, session.message_limit)
        pinging = None
        if ping_interval is not None and isinstance(session, RawSession):
            pinging = asyncio.ensure_future(_ping_every(session, ping_interval, watch))
        try:
            return await _relay(session, watch, lines, stop, keep_open)
        finally:
            if pinging is not None:
                pinging.cancel()
    finally:
        for sig in installed:
            asyncio.get_running_loop().remove_signal_handler(sig)
        # Told to stop, we say goodbye but do not wait long for the other side's answer:
        # a server that keeps sending would keep the close handshake (and us) waiting.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SIGNAL_CLOSE if stop.done() else None):
                await session.close(*(close_with or ()))


async def _ping_every(session: RawSession, seconds: float, watch: _Watch) -> None:
    """Ping every ``seconds`` while connected; say each pong's round trip."""
    while True:
        await asyncio.sleep(seconds)
        if session.state is not SessionState.OPEN:
            continue
        try:
            watch.status(pong_line(await session.ping()))
        except SendError as exc:
            watch.status(f"!! ping: {exc}")


async def _next_change(watch: _Watch, stop: asyncio.Future[int]) -> None:
    """Wait for the session's next event (an acknowledgement, say), a close or a stop."""
    watch.changed.clear()
    changed: asyncio.Future[Any] = asyncio.ensure_future(watch.changed.wait())
    closed: asyncio.Future[Any] = asyncio.ensure_future(watch.closed.wait())
    await asyncio.wait({changed, closed, stop}, return_when=asyncio.FIRST_COMPLETED)
    changed.cancel()
    closed.cancel()


def _close_status(watch: _Watch) -> int:
    final = watch.final
    return 0 if final is not None and final.code == CloseCode.NORMAL else 1


async def _relay(
    session: Session | RawSession,
    watch: _Watch,
    lines: _StdinLines,
    stop: asyncio.Future[int],
    keep_open: bool,
) -> int:
    closing: asyncio.Future[Any] = asyncio.ensure_future(watch.closed.wait())
    try:
        while True:
            # Input is read only as fast as the room acknowledges it: a full outbox stops
            # the reading (and so the pipe), it never drops a line.
            if isinstance(session, Session) and session.outbox.full:
                await _next_change(watch, stop)
                if stop.done():
                    return stop.result()
                if watch.closed.is_set():
                    return _close_status(watch)
                continue
            reading: asyncio.Future[Any] = asyncio.ensure_future(lines.readline())
            waiting: set[asyncio.Future[Any]] = {reading, closing, stop}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
            if stop.done():
                return stop.result()
            if closing.done():
                return _close_status(watch)
            raw = await reading
            if isinstance(raw, LineTooLong):
                watch.failures += 1
                watch.status(
                    f"!! not sent: a line longer than {human_size(raw.limit)}, the largest "
                    "message this room takes; send big content as a file (/file PATH)"
                )
                continue
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line == "/quit":
                return 0
            if isinstance(session, RawSession) and line.split(" ")[0] == "/close":
                try:
                    code, reason = close_frame(line[len("/close") :])
                except ValueError as exc:
                    watch.status(f"!! {exc}")
                    continue
                await session.close(code, reason)
                return 0
            if not raw and keep_open:
                await asyncio.wait({closing, stop}, return_when=asyncio.FIRST_COMPLETED)
                return stop.result() if stop.done() else _close_status(watch)
            if not raw:
                settling: asyncio.Future[Any] = asyncio.ensure_future(_settle(session, watch))
                await asyncio.wait({settling, stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop.done():
                    settling.cancel()
                    return stop.result()
                if watch.closed.is_set() and _close_status(watch):
                    return 1  # the other side ended it, not the end of our input
                return 0 if await settling and not watch.failures else 1
            if line:
                await _send_line(session, line, watch)
    finally:
        closing.cancel()
