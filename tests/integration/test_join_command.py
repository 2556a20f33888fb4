"""``desktopchat join`` end to end, driven through a pipe."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT, hosted


def join(port: int, stdin: str, *flags: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "desktopchat", "join", f"127.0.0.1:{port}", *flags]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, cwd=ROOT)


async def test_lines_json_and_files_go_out_and_come_back_with_time_and_sender(
    tmp_path: Path,
) -> None:
    attachment = tmp_path / "notes.txt"
    attachment.write_text("hi there")
    stamp = r"\[\d\d:\d\d:\d\d\] term: "
    async with hosted() as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "desktopchat",
            "join",
            f"127.0.0.1:{server.port}",
            "--name",
            "term",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        output = process.stdout
        lines: list[str] = []

        async def expect(pattern: str) -> None:
            async with asyncio.timeout(10):
                while not any(re.fullmatch(pattern, line) for line in lines):
                    lines.append((await output.readline()).decode().rstrip("\n"))

        await expect("-- you are term in #chat; here: term")
        for typed, echo in [
            ("hello room", stamp + "hello room"),
            ('/json {"a": 1}', stamp + r'\(json\) \{"a":1\}'),
            ("/json {bad", r"!! not sent: not valid JSON.*"),
            (f"/file {attachment}", stamp + r"\(file\) notes\.txt \[text/plain, 8 bytes\]"),
        ]:
            process.stdin.write(typed.encode() + b"\n")
            await expect(echo)
        process.stdin.write(b"/quit\n")
        await expect(r"-- closed: closed normally \(1000\): bye")
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_a_refused_token_exits_1_with_a_readable_message() -> None:
    async with hosted(token="right") as server:
        result = await asyncio.to_thread(join, server.port, "", "--token", "wrong")
    assert result.returncode == 1
    assert "cannot join" in result.stderr
    assert "invalid token" in result.stderr
    assert "Traceback" not in result.stderr
