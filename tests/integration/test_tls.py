"""TLS over loopback: the server's own certificate, pinned by fingerprint before any HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktopchat.client import (
    CertificateChanged,
    Received,
    Session,
    UnknownCertificate,
)
from desktopchat.client.address import join_link, link_fingerprint
from desktopchat.client.pinning import KnownHosts
from desktopchat.protocol.fingerprints import parse_fingerprint, readable
from desktopchat.server import Settings
from desktopchat.server.settings import default_tls_dir
from desktopchat.server.web.tls import load_or_create
from tests.integration.conftest import ROOT, hosted

WRONG = "sha256:" + "ab" * 32


def https_get(port: int, path: str = "/") -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as sock,
    ):
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_auto_means_tls_beyond_loopback_only() -> None:
    assert Settings(host="0.0.0.0").uses_tls()
    assert Settings(host="192.168.1.20").uses_tls()
    assert not Settings(host="127.0.0.1").uses_tls()
    assert not Settings(host="::1").uses_tls()
    assert Settings(host="127.0.0.1", tls="on").uses_tls()
    assert not Settings(host="0.0.0.0", tls="off").uses_tls()


async def test_the_page_is_https_and_the_room_wss_with_a_kept_certificate() -> None:
    async with hosted(tls="on") as server:
        assert server.identity is not None
        first = server.identity.fingerprint
        page = await asyncio.to_thread(https_get, server.port)
        assert page.startswith(b"HTTP/1.1 200")
        assert server.addresses()[0].app.startswith("wss://")
        assert server.addresses()[0].browser.startswith("https://")
    key = default_tls_dir() / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    async with hosted(tls="on") as again:
        assert again.identity is not None
        assert again.identity.fingerprint == first, "pins hold across restarts"


async def test_a_pinned_session_chats_and_remembers_the_identity(tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known.json")
    async with hosted(tls="on") as server:
        assert server.identity is not None
        link = join_link(f"wss://127.0.0.1:{server.port}/chat", server.identity.fingerprint)
        assert link_fingerprint(link) == server.identity.fingerprint
        session = Session(link, name="ada", known_hosts=known)
        got: list[str] = []
        arrived = asyncio.Event()

        def record(event: object) -> None:
            if isinstance(event, Received):
                got.append(event.message.text)
                arrived.set()

        session.subscribe(record)
        await session.start()
        await session.send_text("over tls")
        await asyncio.wait_for(arrived.wait(), 5)
        await session.close()
        assert got == ["over tls"]
        assert known.get("127.0.0.1", server.port) == server.identity.fingerprint
        # Known now: a plain address joins without a pin.
        again = Session(f"wss://127.0.0.1:{server.port}/chat", known_hosts=known)
        await again.start()
        await again.close()


async def test_a_wrong_fingerprint_is_refused_before_any_request_reaches_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    async with hosted(tls="on", token="SECRET") as server:
        session = Session(f"wss://127.0.0.1:{server.port}/chat?token=SECRET", fingerprint=WRONG)
        with pytest.raises(CertificateChanged, match="Nothing was sent"):
            await session.start()
        unknown = Session(f"wss://127.0.0.1:{server.port}/chat")
        with pytest.raises(UnknownCertificate) as new:
            await unknown.start()
        assert server.identity is not None
        assert new.value.fingerprint == server.identity.fingerprint
        assert not any("WebSocket /chat" in record.getMessage() for record in caplog.records)
        # The same log does show a request that got through (the check above can fail).
        right = Session(
            f"wss://127.0.0.1:{server.port}/chat?token=SECRET",
            fingerprint=server.identity.fingerprint,
        )
        await right.start()
        await right.close()
    assert any("WebSocket /chat" in record.getMessage() for record in caplog.records)


def test_fingerprints_read_in_every_form_people_paste() -> None:
    canonical = "sha256:" + "0123456789abcdef" * 4
    for form in (
        canonical,
        canonical.upper(),
        "0123456789ABCDEF" * 4,
        ":".join("01" * 32)[:0] + canonical,
    ):
        assert parse_fingerprint(form) == canonical
    assert readable(canonical).startswith("SHA256 0123 4567 89AB CDEF")
    with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
        parse_fingerprint("sha256:xyz")


def join_cli(port: int, *flags: str, stdin: str = "hi\n") -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "desktopchat", "join", *flags]
    env = {**os.environ}
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


async def test_join_pins_from_the_link_refuses_unknown_and_trusts_new_on_request() -> None:
    async with hosted(tls="on") as server:
        assert server.identity is not None
        fingerprint = server.identity.fingerprint
        address = f"wss://127.0.0.1:{server.port}/chat"
        link = join_link(address, fingerprint)
        linked = await asyncio.to_thread(join_cli, server.port, link)
        assert linked.returncode == 0, linked.stderr
        wrong = await asyncio.to_thread(join_cli, server.port, address, "--fingerprint", WRONG)
        assert wrong.returncode == 1
        assert "Nothing was sent" in wrong.stderr
        assert f"--fingerprint {fingerprint}" in wrong.stderr, "the terminal names its flag"
        assert readable(fingerprint) in wrong.stderr, "in groups, to compare with the host"
        other = f"wss://localhost:{server.port}/chat"  # not known under this name
        unknown = await asyncio.to_thread(join_cli, server.port, other)
        assert unknown.returncode == 1
        assert "identity is new to this computer" in unknown.stderr
        assert "--trust-new" in unknown.stderr
        trusted = await asyncio.to_thread(join_cli, server.port, other, "--trust-new")
        assert trusted.returncode == 0, trusted.stderr
        assert fingerprint in trusted.stderr


async def test_a_pin_or_a_remembered_identity_never_goes_out_in_clear_text(
    tmp_path: Path,
) -> None:
    known = KnownHosts(tmp_path / "known.json")
    async with hosted(tls="on") as server:
        assert server.identity is not None
        fingerprint = server.identity.fingerprint
        # An http:// page address with the link's pin: upgraded to wss, never sent plain.
        page = f"http://127.0.0.1:{server.port}/#fp={fingerprint}"
        pinned_session = Session(page, known_hosts=known)
        assert pinned_session.url.startswith("wss://")
        await pinned_session.start()
        await pinned_session.close()
        # Remembered now: even a ws:// address goes over TLS and is checked.
        plain = Session(f"ws://127.0.0.1:{server.port}/chat", known_hosts=known)
        await plain.start()
        assert plain.url.startswith("wss://")
        await plain.close()


async def test_a_brought_certificate_turns_tls_on_and_is_what_clients_pin(
    tmp_path: Path,
) -> None:
    async with hosted(tls="on") as made:
        assert made.identity is not None
        cert, key = made.identity.cert, made.identity.key
    copy_cert, copy_key = tmp_path / "c.pem", tmp_path / "k.pem"
    copy_cert.write_bytes(cert.read_bytes())
    copy_key.write_bytes(key.read_bytes())
    async with hosted(cert=copy_cert, key=copy_key) as brought:  # tls auto, on loopback
        assert brought.identity is not None
        assert brought.identity.fingerprint == made.identity.fingerprint
        assert brought.addresses()[0].app.startswith("wss://")


def test_a_loosened_key_file_is_tightened_again(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    (tmp_path / "key.pem").chmod(0o644)
    load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
