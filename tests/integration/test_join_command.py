"""``desktopchat join`` end to end, as a Unix tool: pipes, files, signals, hostile peers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, hosted, member, next_of

JOIN = [sys.executable, "-m", "desktopchat", "join"]


def join(
    port: int, stdin: str | Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [*JOIN, f"127.0.0.1:{port}", *flags]
    options: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 60, "cwd": ROOT}
    if env is not None:
        options["env"] = {**os.environ, **env}
    if isinstance(stdin, Path):
        with stdin.open() as file:
            return subprocess.run(argv, stdin=file, check=False, **options)
    return subprocess.run(argv, input=stdin, check=False, **options)


async def run_join(port: int, stdin: str | Path, *flags: str, **kw: Any) -> Any:
    return await asyncio.to_thread(join, port, stdin, *flags, **kw)


async def spawn_join(port: int, *flags: str) -> asyncio.subprocess.Process:
    """``desktopchat join`` on ``port`` with every stream a pipe."""
    return await asyncio.create_subprocess_exec(
        *JOIN,
        f"127.0.0.1:{port}",
        *flags,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )


class Lines:
    """Lines of a child's stream, awaited by pattern."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.stream = stream
        self.seen: list[str] = []

    async def expect(self, pattern: str, within: float = 10) -> str:
        async with asyncio.timeout(within):
            while True:
                for line in self.seen:
                    if re.fullmatch(pattern, line):
                        return line
                raw = await self.stream.readline()
                if not raw:
                    raise AssertionError(f"{pattern!r} never came; saw {self.seen}")
                self.seen.append(raw.decode().rstrip("\n"))


async def test_messages_go_to_stdout_and_status_lines_to_stderr(tmp_path: Path) -> None:
    attachment = tmp_path / "notes.txt"
    attachment.write_text("hi there")
    stamp = r"\[\d\d:\d\d:\d\d\] term: "
    async with hosted() as server:
        process = await spawn_join(server.port, "--name", "term")
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        out, err = Lines(process.stdout), Lines(process.stderr)
        await err.expect("-- you are term in #chat; here: term")
        async with member(server, "obs") as observer:
            await err.expect("-- obs joined")
            await observer.send(json.dumps({"type": "text", "text": "from obs"}))
            await out.expect(r"\[\d\d:\d\d:\d\d\] obs: from obs")
            process.stdin.write(b'/json {"a": 1}\n')
            assert (await next_of(observer, "json"))["data"] == {"a": 1}
            process.stdin.write(f"/file {attachment}\n".encode())
            offer = (await next_of(observer, "json"))["data"]["file"]
            assert (offer["name"], offer["size"], offer["mime"]) == ("notes.txt", 8, "text/plain")
            process.stdin.write(b"/json {bad\n")
            await err.expect(r"!! not sent: not valid JSON.*")
        process.stdin.write(b"/quit\n")
        await err.expect(r"-- Closed: You left the room \(closed normally \(1000\): bye\)")
        assert await asyncio.wait_for(process.wait(), 10) == 0
        assert all(re.match(stamp.replace("term", "obs"), line) for line in out.seen)


async def test_stdin_from_a_file_sends_every_line_waits_for_acks_and_exits_0(
    tmp_path: Path,
) -> None:
    script = tmp_path / "lines.txt"
    script.write_text("".join(f"line {n}\n" for n in range(20)))
    async with hosted() as server, member(server, "obs") as observer:
        result = await run_join(server.port, script, "--name", "bot")
        got = [(await next_of(observer, "text"))["text"] for _ in range(20)]
    assert result.returncode == 0, result.stderr
    assert got == [f"line {n}" for n in range(20)]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


async def test_a_members_terminal_escapes_are_shown_escaped_not_obeyed() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2Jhi\nforged: line\u202e"
    async with hosted() as server:
        process = await spawn_join(server.port)
        assert process.stdout is not None
        assert process.stderr is not None
        err = Lines(process.stderr)
        await err.expect("-- you are guest.*")
        async with member(server, "evil\x1b[31m") as evil:
            await evil.send(json.dumps({"type": "text", "text": hostile}))
            line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 130
    assert "\x1b" not in line
    assert "\x07" not in line
    assert line.count("\n") == 1
    assert line.endswith(r"\x1b]0;pwned\x07\x1b[2Jhi\nforged: line\u202e" + "\n")


async def test_ctrl_c_leaves_the_room_and_exits_130_without_a_traceback() -> None:
    async with hosted() as server, member(server, "obs") as observer:
        process = await spawn_join(server.port, "--name", "term")
        assert process.stderr is not None
        err = Lines(process.stderr)
        await err.expect("-- you are term.*")
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 130
        left = await next_of(observer, "presence")
        while left["event"] != "leave":
            left = await next_of(observer, "presence")
        assert left["name"] == "term"
        rest = (await process.stderr.read()).decode()
    assert "Traceback" not in rest + "\n".join(err.seen)


async def test_the_token_can_come_from_the_environment() -> None:
    async with hosted(token="s3cret") as server:
        result = await run_join(server.port, "hi\n", env={"DESKTOPCHAT_TOKEN": "s3cret"})
    assert result.returncode == 0, result.stderr


async def test_files_members_send_are_saved_under_a_safe_name_in_the_save_dir(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    async with hosted() as server:
        process = await spawn_join(server.port, "--save-dir", str(inbox))
        assert process.stderr is not None
        err = Lines(process.stderr)
        await err.expect("-- you are guest.*")
        async with member(server, "sender") as sender:
            for name in ("../../evil.sh", "../../evil.sh"):
                header = json.dumps({"type": "binary", "name": name, "mime": "text/plain"})
                frame = len(header).to_bytes(4, "big") + header.encode() + b"echo owned"
                await sender.send(frame)
            await err.expect(r"-- saved .*evil \(2\)\.sh")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 143
    assert sorted(path.name for path in inbox.iterdir()) == ["evil (2).sh", "evil.sh"]
    assert not (tmp_path / "evil.sh").exists()
    assert (inbox / "evil.sh").read_bytes() == b"echo owned"


async def test_a_file_goes_beside_the_room_and_a_save_dir_fetches_it_checked(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))  # more than one message may carry
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    async with hosted(max_message_bytes=1024 * 1024) as server:
        receiver = await spawn_join(server.port, "--save-dir", str(inbox), "--name", "bob")
        assert receiver.stderr is not None
        err = Lines(receiver.stderr)
        await err.expect("-- you are bob.*")
        result = await run_join(server.port, f"/file {big}\n", "--name", "ada")
        assert result.returncode == 0, result.stderr
        assert "-- sent big.bin (20.0 MiB), offering it" in result.stderr
        await err.expect(r"-- ada offers big\.bin \(20\.0 MiB\): fetching it into .*")
        await err.expect(r"-- saved .*big\.bin \(SHA-256 [0-9a-f]{16}… checked\)", within=30)
        receiver.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(receiver.wait(), 10) == 143
    assert (inbox / "big.bin").read_bytes() == big.read_bytes()
    assert [path.name for path in inbox.iterdir()] == ["big.bin"], "no .part left"


async def test_a_host_that_takes_no_files_gets_a_small_one_as_a_message(tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(1024 * 1024))
    async with hosted(files_max_bytes=0) as server:
        result = await run_join(server.port, f"/file {small}\n")
    assert result.returncode == 0, result.stderr
    assert "-- sent 1.0 MiB" in result.stderr


@pytest.mark.parametrize(
    ("files_max_bytes", "words"),
    [
        (0, "big.bin (3000000 bytes) is 2.9 MiB, over this room's limit"),  # as a message
        (1_000_000, "the host keeps at most 976.6 KiB of files"),  # beside the room
    ],
    ids=["a host with no file transfers", "a host whose quota is smaller"],
)
async def test_a_file_the_host_cannot_take_is_refused_once_and_the_exit_status_says_so(
    tmp_path: Path, files_max_bytes: int, words: str
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 3_000_000)
    async with hosted(max_message_bytes=1_000_000, files_max_bytes=files_max_bytes) as server:
        result = await run_join(server.port, f"/file {big}\nafter\n")
    assert result.returncode == 1
    assert "!! not sent: " in result.stderr
    assert words in result.stderr
    assert "reconnecting" not in result.stderr


async def test_a_refused_token_exits_1_with_a_readable_message() -> None:
    async with hosted(token="right") as server:
        result = await run_join(server.port, "", "--token", "wrong")
    assert result.returncode == 1
    assert "cannot join" in result.stderr
    assert (
        "That token is not this room's (refused by the server's policy (1008): invalid token)"
        in (result.stderr)
    )
    assert "Traceback" not in result.stderr


async def test_ctrl_c_while_still_connecting_exits_at_once() -> None:
    # A listener that accepts and never answers: the join hangs in its handshake.
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        process = await spawn_join(port)
        assert process.stderr is not None
        err = Lines(process.stderr)
        await err.expect("-- connecting")
        started = asyncio.get_running_loop().time()
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 130
        assert asyncio.get_running_loop().time() - started < 3
        for writer in held:
            writer.close()


async def test_piped_lines_faster_than_the_room_acknowledges_are_all_sent_in_order() -> None:
    """More lines than the outbox holds (1 000), into a room that takes 1 000 a second: the
    reading slows to the room's pace, and no line is dropped."""
    count = 2500
    lines = "".join(f"{n}\n" for n in range(count))
    async with hosted(rate=1000.0, burst=50) as server, member(server, "obs") as observer:
        result = await run_join(server.port, lines, "--name", "pipe")
        got = [(await next_of(observer, "text"))["text"] for _ in range(count)]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not sent" not in result.stderr
    assert got == [str(n) for n in range(count)]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_a_line_with_no_end_is_refused_in_words_with_bounded_memory_and_sigterm_works() -> (
    None
):
    """``cat /dev/zero | desktopchat join …``: a line past the room's limit is refused at
    once (its rest skipped, not kept), the next line still goes, and SIGTERM ends it."""
    async with (
        hosted(max_message_bytes=64 * 1024) as server,
        member(server, "obs") as observer,
    ):
        process = await spawn_join(server.port, "--name", "zero")
        assert process.stdin is not None
        assert process.stderr is not None
        err = Lines(process.stderr)
        await err.expect("-- you are zero.*")
        zeros = b"\0" * (1024 * 1024)
        for _ in range(100):  # 100 MiB with no newline
            process.stdin.write(zeros)
            await process.stdin.drain()
        await err.expect(r"!! not sent: a line longer than 64\.0 KiB.*")
        process.stdin.write(b"\nafter\n")
        await process.stdin.drain()
        assert (await next_of(observer, "text"))["text"] == "after"
        assert peak_rss_mb(process.pid) < 100
        for _ in range(20):  # and while it reads an endless line, SIGTERM still ends it
            process.stdin.write(zeros)
            await process.stdin.drain()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 143
