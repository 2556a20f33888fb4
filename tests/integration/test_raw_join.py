"""``desktopchat join --raw`` against WebSocket servers that are not ours."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.integration.conftest import ROOT, hosted
from tests.integration.foreign import HEADER, SUBPROTOCOL, foreign, websocat_broadcast

JOIN = [sys.executable, "-m", "desktopchat", "join"]
LINES = 'hello\n/json {"a": [1, 2]}\n/hex 00 01 ff\n/base64 aGk=\n//slash\n'


def raw_join(url: str, stdin: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOIN, url, "--raw", *flags],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


async def run_raw(url: str, stdin: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(raw_join, url, stdin, *flags)


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def frames(stdout: str) -> list[dict[str, Any]]:
    """The data frames of the log (its control frames and closes left out)."""
    return [r for r in records(stdout) if r["kind"] in ("text", "json", "binary")]


async def test_raw_join_exchanges_text_json_and_bytes_with_an_echo_server_as_ndjson() -> None:
    async with foreign("echo") as port:
        done = await run_raw(f"ws://127.0.0.1:{port}/", LINES, "--ndjson")
    assert done.returncode == 0, done.stderr
    lines = frames(done.stdout)
    assert records(done.stdout)[-1]["kind"] == "close", "the close at the end of input too"
    sent = [(r["kind"], r["data"]) for r in lines if r["direction"] == "out"]
    echoed = [(r["kind"], r["data"]) for r in lines if r["direction"] == "in"]
    expected = [
        ("text", "hello"),
        ("json", {"a": [1, 2]}),
        ("binary", base64.b64encode(b"\x00\x01\xff").decode()),
        ("binary", base64.b64encode(b"hi").decode()),
        ("text", "/slash"),
    ]
    assert sent == expected
    assert echoed == expected, "every frame came back, in order, before the close"
    assert all(r["time"].endswith("Z") for r in lines)
    assert "connected to ws://127.0.0.1" in done.stderr


async def test_raw_join_prints_what_a_server_says_first_text_and_bytes() -> None:
    async with foreign("talker") as port:
        done = await run_raw(f"127.0.0.1:{port}", "bye\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].endswith('{"event": "hello", "server": "talker", "n": [1, 2, 3]}')
    assert out[1].endswith("(binary, 4 bytes) 00 01 02 ff")
    assert out[2].endswith("] bye")


async def test_raw_join_offers_the_subprotocol_and_header_a_server_requires() -> None:
    async with foreign("strict") as port:
        url = f"ws://127.0.0.1:{port}/api"
        refused = await run_raw(url, "x\n")
        assert refused.returncode == 1
        assert "answered HTTP 401" in refused.stderr
        # The handshake's answer, as wscat and Postman show it: status, headers, the body.
        assert "HTTP 401 Unauthorized" in refused.stderr
        assert "Content-Type: text/plain" in refused.stderr
        assert "missing or wrong X-Api-Key" in refused.stderr
        assert "Traceback" not in refused.stderr
        done = await run_raw(
            url, "x\n", "--subprotocol", SUBPROTOCOL, "--header", f"{HEADER[0]}: {HEADER[1]}"
        )
    assert done.returncode == 0, done.stderr
    assert f"(subprotocol {SUBPROTOCOL})" in done.stderr
    assert done.stdout.splitlines()[-1].endswith("] x")


async def test_raw_join_talks_through_websocat_broadcasting_to_another_client() -> None:
    async with websocat_broadcast() as port:
        url = f"ws://127.0.0.1:{port}/"
        async with connect(url, proxy=None) as other:
            done = await run_raw(url, 'to everyone\n/json {"k": 1}\n')
            assert done.returncode == 0, done.stderr
            async with asyncio.timeout(5):
                assert await other.recv() == "to everyone"
                assert await other.recv() == '{"k": 1}'
            # (-t: websocat's text mode, as the issue runs it, turns binary into text.)
        # websocat mirrors every frame to every client, the sender too.
        assert "] to everyone" in done.stdout


async def test_a_room_joined_without_raw_points_to_it_for_a_plain_websocket_server() -> None:
    async with foreign("echo") as port:
        done = await asyncio.to_thread(
            subprocess.run,
            [*JOIN, f"127.0.0.1:{port}"],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
    assert done.returncode == 1
    assert "not a desktopchat room" in done.stderr
    assert "add --raw" in done.stderr


async def test_raw_join_refuses_bad_flags_and_bad_bytes_readably() -> None:
    bad_header = await run_raw("ws://127.0.0.1:9/", "", "--header", "no colon here")
    assert bad_header.returncode == 2
    assert "is not a header" in bad_header.stderr
    without_raw = await asyncio.to_thread(
        subprocess.run,
        [*JOIN, "127.0.0.1:9", "--ndjson"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert without_raw.returncode == 2
    assert "--ndjson go(es) with --raw" in without_raw.stderr
    async with foreign("echo") as port:
        done = await run_raw(f"ws://127.0.0.1:{port}/", "/hex 0g\n/base64 %%%\n/nope\nok\n")
    assert done.returncode == 1, "lines were refused"
    assert "'g' is not a hex digit" in done.stderr
    assert "not base64" in done.stderr
    assert "unknown command" in done.stderr
    assert done.stdout.splitlines()[-1].endswith("] ok")


async def test_raw_join_to_a_desktopchat_server_is_just_frames() -> None:
    # The seed's echo endpoint, raw: what the tutorial's websocket-client does.
    async with hosted() as server:
        done = await run_raw(f"ws://127.0.0.1:{server.port}/ws", "hello\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith("] Echo: hello")


async def test_a_frame_over_the_clients_limit_is_named_and_not_fetched_again_and_again() -> None:
    """A server that sends a 2 MiB frame to ``--max-size 1M``: the client says the server's
    message is over its limit, points to ``--max-size``, exits 1 and does not reconnect to
    be sent it again; with a big enough limit the frame comes through."""
    from websockets.asyncio.server import ServerConnection, serve

    connections = 0

    async def big_first(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.send(b"\x01" * (2 * 1024 * 1024))
        await ws.wait_closed()

    async with serve(big_first, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        url = f"ws://127.0.0.1:{port}/"
        refused = await run_raw(url, "", "--max-size", "1M")
        await asyncio.sleep(0.5)  # time for a reconnect, if one were made
        assert connections == 1
        taken = await run_raw(url, "", "--max-size", "4M")
    assert refused.returncode == 1, refused.stderr
    assert "The server sent a message over this client's limit of 1.0 MiB" in refused.stderr
    assert "--max-size" in refused.stderr
    assert "reconnecting" not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert taken.returncode == 0, taken.stderr
    assert "(binary, 2097152 bytes)" in taken.stdout


async def test_raw_join_keeps_listening_after_its_input_ends_and_exits_by_the_close() -> None:
    """``join --raw -n < /dev/null > log``: every frame a feed sends, however late, is
    printed; the exit status says how the feed ended (1000: 0, a refusal: 1)."""
    from websockets.asyncio.server import ServerConnection, serve

    async def feed(ws: ServerConnection) -> None:
        await ws.send("first")
        await ws.send(r"C:\temp and {\"a\": 1}")
        await asyncio.sleep(1.5)  # longer than a plain join waits after its input ends
        await ws.send("late")
        # 1008 is final: a raw connection reconnects after most other codes.
        code = 1000 if ws.request is not None and ws.request.path == "/ok" else 1008
        await ws.close(code, "done")

    async with serve(feed, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        ended_well = await run_raw(f"ws://127.0.0.1:{port}/ok", "", "-n", "--ndjson")
        failed = await run_raw(f"ws://127.0.0.1:{port}/bad", "", "--keep-open")
    assert ended_well.returncode == 0, ended_well.stderr
    got = [r["data"] for r in frames(ended_well.stdout) if r["direction"] == "in"]
    assert got == ["first", r"C:\temp and {\"a\": 1}", "late"]
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.splitlines()[1].endswith(r"C:\temp and {\"a\": 1}"), "as sent"
    assert "late" in failed.stdout


async def test_a_pinned_raw_connection_is_tls_even_for_a_ws_address_and_never_shows_its_token(
    tmp_path: Path,
) -> None:
    """``join --raw ws://…?token=T --fingerprint …``: a pin always means TLS, so the request
    (path and token) never goes out in clear text; stderr never shows the token."""
    env_home = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    async with hosted(tls="on") as server:
        assert server.identity is not None
        port = server.port
        url = f"ws://127.0.0.1:{port}/ws?token=T0KEN"
        pin = server.identity.fingerprint
        done = await asyncio.to_thread(
            lambda: subprocess.run(
                [*JOIN, url, "--raw", "--fingerprint", pin],
                input="hello\n",
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
                env={**os.environ, **env_home},
                check=False,
            )
        )
    assert done.returncode == 0, done.stderr
    assert "Echo: hello" in done.stdout, "talked over TLS to the TLS-only server"
    assert f"connected to wss://127.0.0.1:{port}/ws?token=…" in done.stderr
    assert "T0KEN" not in done.stderr


def test_an_address_error_never_shows_the_token() -> None:
    bad = subprocess.run(
        [*JOIN, "ftp://h/x?token=SECRET", "--raw"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "SECRET" not in bad.stderr


async def test_raw_join_pings_and_closes_with_the_code_and_reason_asked_for() -> None:
    """Control frames, as wscat and websocat send them: ``/ping`` prints the pong's round
    trip, ``--ping-interval`` pings on its own, ``--close`` and ``/close`` choose the close
    code and reason the server gets."""
    from websockets.asyncio.server import ServerConnection, serve

    closes: list[tuple[int | None, str | None]] = []

    async def server_side(ws: ServerConnection) -> None:
        await ws.wait_closed()
        closes.append((ws.close_code, ws.close_reason))

    async with serve(server_side, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        url = f"ws://127.0.0.1:{port}/"
        at_end = await run_raw(url, "/ping hi\nx\n", "--close", "4001:done")
        asked = await run_raw(url, "/close 4002 leaving now\nnever sent\n")
        refused = await run_raw(url, "", "--close", "1006")
    assert at_end.returncode == 0, at_end.stderr
    assert re.search(r"-- pong after \d+\.\d ms", at_end.stderr)
    assert asked.returncode == 0, asked.stderr
    assert refused.returncode == 2
    assert "1006 is not a code to close with" in refused.stderr
    assert closes[:2] == [(4001, "done"), (4002, "leaving now")]


async def test_raw_join_ndjson_is_the_whole_timeline_with_pings_pongs_and_both_closes() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def close_after_two(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.recv()
        await ws.close(4003, "seen enough")

    async with serve(close_after_two, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        url = f"ws://127.0.0.1:{port}/"
        by_server = await run_raw(url, "/ping are you there\none\ntwo\n", "-n", "--ndjson")
    async with foreign("echo") as port:
        by_us = await run_raw(f"ws://127.0.0.1:{port}/", "/close 4000 bye\n", "--ndjson")
    lines = records(by_server.stdout)
    kinds = [(r["direction"], r["kind"]) for r in lines]
    assert kinds == [
        ("out", "ping"),
        ("in", "pong"),
        ("out", "text"),
        ("out", "text"),
        ("in", "close"),
    ], by_server.stdout
    assert base64.b64decode(lines[0]["data"]["payload"]) == b"are you there"
    assert lines[1]["data"]["rtt_ms"] >= 0
    assert lines[-1]["data"] == {"code": 4003, "reason": "seen enough"}
    assert records(by_us.stdout) == [
        {**records(by_us.stdout)[0], "direction": "out", "kind": "close",
         "data": {"code": 4000, "reason": "bye"}},
    ]  # fmt: skip


async def test_raw_join_pings_every_interval_while_it_listens() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def close_soon(ws: ServerConnection) -> None:
        await asyncio.sleep(1.2)
        await ws.close(1000, "enough")

    async with serve(close_soon, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        done = await run_raw(f"ws://127.0.0.1:{port}/", "", "-n", "--ping-interval", "0.2")
    assert done.returncode == 0, done.stderr
    assert len(re.findall(r"-- pong after", done.stderr)) >= 3
