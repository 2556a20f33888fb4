"""The browser client in Chromium: all three formats, injection, restarts, the seed's page."""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import http.server
import itertools
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from desktopchat.client import Received, Session, SessionEvent
from desktopchat.client.address import join_link
from desktopchat.client.files import FilesAt, announce, upload
from desktopchat.protocol import Kind
from desktopchat.server import HostedServer
from tests.integration.conftest import LOCAL, hosted
from tests.integration.test_files import CuttingProxy, MiB, random_file

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SEED_PAGE = Path(__file__).with_name("seed_page.html").read_text()


async def open_page(browser: Browser, port: int, name: str, width: int = 1100) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 760})
    await page.goto(f"http://127.0.0.1:{port}/")
    await page.fill("#name", name)
    await page.click("#name-form button")
    await expect(page.locator("#state")).to_have_attribute("data-state", "open")
    return page


def tiny_png() -> bytes:
    """A valid 2x2 PNG (blue), built by hand so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x2f\x6f\xde" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_two_pages_and_an_app_session_exchange_text_json_and_files(
    browser: Browser, tmp_path: Path
) -> None:
    async with hosted() as server:
        ada = await open_page(browser, server.port, "Ada")
        bob = await open_page(browser, server.port, "Bob")
        app = Session(f"127.0.0.1:{server.port}", name="App")
        received: list[SessionEvent] = []
        app.subscribe(received.append)
        await app.start()
        try:
            await expect(ada.locator("#member-list li")).to_have_count(3)
            await ada.fill("#text", "hello from the browser")
            await ada.press("#text", "Enter")
            await expect(bob.locator(".message .body").last).to_have_text("hello from the browser")
            await ada.click(".tab[data-mode=json]")
            await ada.fill("#json", "{bad")
            await expect(ada.locator("#composer-status")).to_contain_text("Invalid JSON")
            await ada.fill("#json", '{"type": "update", "data": [1, 2, 3]}')
            await ada.press("#json", "Control+Enter")
            await expect(bob.locator(".message details pre").last).to_contain_text('"update"')
            picture = tmp_path / "dot.png"
            picture.write_bytes(tiny_png())
            await ada.set_input_files("#file", str(picture))
            await expect(bob.locator(".message .file.offer a")).to_contain_text("dot.png")
            await app.send_text("hi from the app")
            await app.send_json({"k": [True, None]})
            await app.send_binary(b"\x00\x01", name="blob.bin")  # an app's binary message
            await expect(ada.locator(".message .body").last).to_have_text("hi from the app")
            await expect(ada.locator(".message details pre").last).to_contain_text('"k"')
            await expect(ada.locator(".message .file a").last).to_contain_text("blob.bin")
            await expect(ada.locator(".message.pending")).to_have_count(0)
            kinds = [e.message.kind for e in received if isinstance(e, Received)]
            assert kinds[:3] == [Kind.TEXT, Kind.JSON, Kind.JSON], "the file came as an offer"
            await ada.screenshot(path=str(SCREENSHOTS / "browser-desktop.png"))
            phone = await open_page(browser, server.port, "Grace", width=360)
            await phone.fill("#text", "from my phone")
            await phone.press("#text", "Enter")
            await expect(phone.locator(".message.pending")).to_have_count(0)
            overflow = await phone.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 360, "no horizontal scrolling at phone width"
            await phone.screenshot(path=str(SCREENSHOTS / "browser-phone.png"))
        finally:
            await app.close()


async def test_markup_in_a_message_shows_as_text_and_runs_nothing(browser: Browser) -> None:
    async with hosted() as server:
        page = await open_page(browser, server.port, "Ada")
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        app = Session(f"127.0.0.1:{server.port}", name="<b>mallory</b>")
        await app.start()
        try:
            attack = "<img src=x onerror=alert(1)>"
            await app.send_text(attack)
            await app.send_json({"html": "<script>alert(2)</script>"})
            await app.send_binary(b"x", name="<img src=x onerror=alert(3)>.png", mime="image/png")
            await expect(page.locator(".message .body").last).to_have_text(attack)
            await expect(page.locator(".message .sender").last).to_have_text("<b>mallory</b>")
            await expect(page.locator(".message .file a")).to_have_count(1)
            assert await page.locator(".messages img:not(.file img)").count() == 0
            await asyncio.sleep(0.3)  # give any injected handler the chance to fire
            assert dialogs == []
        finally:
            await app.close()


async def test_bidi_controls_inside_a_link_are_shown_as_codes_not_obeyed(
    browser: Browser,
) -> None:
    async with hosted() as server:
        page = await open_page(browser, server.port, "Ada")
        app = Session(f"127.0.0.1:{server.port}", name="mallory")
        await app.start()
        try:
            # Shown as sent, it would read "https://example.org/exe.pdf" while leading elsewhere.
            await app.send_text("get it at https://evil.example/\u202efdp.exe")
            link = page.locator(".message .body a").last
            await expect(link).to_have_text("https://evil.example/<U+202E>fdp.exe")
        finally:
            await app.close()


async def test_a_page_that_cannot_reach_its_room_says_why_it_may_be_and_stops_trying(
    browser: Browser,
) -> None:
    """After a few failed reconnects the page names the likely cause (a new identity, which
    a browser refuses silently), then stops, with a button to try again."""
    first = HostedServer(LOCAL)
    await first.start()
    port = first.port
    page = await open_page(browser, port, "Ada")
    await first.stop()
    status = page.locator("#composer-status")
    await expect(status).to_contain_text("its identity changed", timeout=15000)
    await expect(page.locator("#state")).to_have_attribute("data-state", "closed", timeout=60000)
    retry = page.get_by_role("button", name="Try again")
    await expect(retry).to_be_visible()
    second = HostedServer(replace(LOCAL, port=port))
    await second.start()
    try:
        await retry.click()
        await expect(page.locator("#state")).to_have_attribute("data-state", "open", timeout=15000)
        await expect(status).not_to_contain_text("identity changed")
    finally:
        await second.stop()


async def test_a_page_survives_a_server_restart_and_shows_what_it_missed_once(
    browser: Browser, tmp_path: Path
) -> None:
    settings = replace(LOCAL, history=tmp_path / "h.sqlite3")
    first = HostedServer(settings)
    await first.start()
    port = first.port
    page = await open_page(browser, port, "Ada")
    app = Session(f"127.0.0.1:{port}", name="App")
    await app.start()
    await app.send_text("before")
    await expect(page.locator(".message .body")).to_have_text(["before"])
    await app.close()
    await first.stop()
    await expect(page.locator("#state")).to_have_attribute("data-state", "reconnecting")
    second = HostedServer(replace(settings, port=port))
    await second.start()
    try:
        # Messages sent while the page was away arrive with the resume, once each.
        writer = Session(f"127.0.0.1:{port}", name="App")
        await writer.start()
        await writer.send_text("missed 1")
        await writer.send_text("missed 2")
        await writer.close()
        await expect(page.locator("#state")).to_have_attribute("data-state", "open", timeout=15000)
        await expect(page.locator(".message .body")).to_have_text(
            ["before", "missed 1", "missed 2"]
        )
    finally:
        await second.stop()


@contextmanager
def static_site(page_html: str, directory: Path) -> Iterator[int]:
    """Serve ``page_html`` as /index.html from another port (another origin)."""
    (directory / "index.html").write_text(page_html)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


async def test_the_seeds_own_page_chats_with_the_app_from_an_allowed_origin(
    browser: Browser, tmp_path: Path
) -> None:
    with static_site("", tmp_path) as site_port:
        async with hosted(origins=(f"http://localhost:{site_port}",)) as server:
            # The only change to the tutorial's page: the port of the test server.
            html = SEED_PAGE.replace(
                "ws://localhost:5042/chat", f"ws://localhost:{server.port}/chat"
            )
            (tmp_path / "index.html").write_text(html)
            page = await browser.new_page()
            await page.goto(f"http://localhost:{site_port}/index.html")
            app = Session(f"127.0.0.1:{server.port}", name="App")
            received: list[SessionEvent] = []
            app.subscribe(received.append)
            await app.start()
            try:
                for _ in range(100):  # the seed page connects on load; wait for it, bounded
                    if server.hub.member_count() == 2:
                        break
                    await asyncio.sleep(0.05)
                assert server.hub.member_count() == 2
                await page.fill("#input", "hello from the seed page")
                await page.press("#input", "Enter")
                await expect(page.locator("#messages p")).to_have_text(["hello from the seed page"])
                await app.send_text("hello seed")
                await expect(page.locator("#messages p").last).to_have_text("hello seed")
                texts = [e.message.text for e in received if isinstance(e, Received)]
                assert "hello from the seed page" in texts
            finally:
                await app.close()


async def test_a_message_over_the_rooms_limit_is_refused_on_the_page_a_file_is_not(
    browser: Browser, tmp_path: Path
) -> None:
    async with hosted(max_message_bytes=4000, files=tmp_path / "host") as server:
        ada = await open_page(browser, server.port, "Ada")
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * 5000)
        await ada.set_input_files("#file", str(big))
        await expect(ada.locator(".message .file.offer a")).to_contain_text("big.bin")
        await ada.fill("#text", "y" * 4500)
        await ada.press("#text", "Enter")
        await expect(ada.locator("#composer-status")).to_contain_text("over this room's limit")
        await expect(ada.locator("#text")).to_have_value("y" * 4500)  # kept, to shorten
        await ada.fill("#text", "short")
        await ada.press("#text", "Enter")
        await expect(ada.locator(".message .mark").last).to_have_text("✓")
        assert await ada.locator(".message").count() == 2
        await expect(ada.locator("#state")).to_have_attribute("data-state", "open")


async def test_the_page_loads_older_messages(browser: Browser) -> None:
    async with hosted(history_size=5, max_message_bytes=2 * 1024 * 1024) as server:
        app = Session(f"127.0.0.1:{server.port}", name="App")
        await app.start()
        try:
            for number in range(1, 13):
                await app.send_text(f"m{number}")
            await asyncio.sleep(0.3)
            page = await open_page(browser, server.port, "Ada")
            bodies = page.locator(".message:not(.system) .body")
            await expect(bodies).to_have_count(5)
            await page.click("#older")
            await expect(bodies).to_have_count(12)
            await expect(bodies.first).to_have_text("m1")
            await expect(page.locator("#older")).to_have_text("No older messages")
        finally:
            await app.close()


async def test_a_token_room_joins_from_its_https_link_and_asks_for_a_missing_token(
    tls_browser: BrowserContext,
) -> None:
    async with hosted(tls="on", token="s3cret") as server:
        assert server.identity is not None
        app_url = f"wss://127.0.0.1:{server.port}/chat/lobby?token=s3cret"
        link = join_link(app_url, server.identity.fingerprint)
        assert link.startswith(f"https://127.0.0.1:{server.port}/?room=lobby&token=s3cret#fp=")
        page = await tls_browser.new_page()
        await page.goto(link)
        await expect(page.locator("#identity")).to_contain_text("SHA256 ")
        await page.fill("#name", "Ada")
        await page.click("#name-form button")
        await expect(page.locator("#state")).to_have_attribute("data-state", "open")
        await expect(page.locator("#room-title")).to_have_text("#lobby")

        bare = await tls_browser.new_page()
        await bare.goto(f"https://127.0.0.1:{server.port}/?room=lobby")
        await bare.fill("#name", "Bob")
        await bare.click("#name-form button")
        await expect(bare.locator("#token-row")).to_be_visible()
        await expect(bare.locator("#join-error")).to_contain_text("needs a token")
        await bare.fill("#token", "s3cret")
        await bare.click("#name-form button")
        await expect(bare.locator("#state")).to_have_attribute("data-state", "open")
        await expect(page.locator("#member-list li")).to_have_count(2)


async def test_the_page_writes_multi_line_links_mentions_days_and_marks_members(
    browser: Browser,
) -> None:
    async with hosted(host_member="Ada") as server:
        ada = await open_page(browser, server.port, "Ada")
        bob = await open_page(browser, server.port, "Bob")
        await expect(bob.locator("#member-list li")).to_have_text(["Ada (host)", "Bob (you)"])
        carol = await open_page(browser, server.port, "Carol")
        await expect(bob.locator("#member-list li")).to_have_count(3)
        # Evenly spaced, ourselves included: no gap after our own name.
        tops = await bob.locator("#member-list li").evaluate_all(
            "items => items.map(item => item.getBoundingClientRect().top)"
        )
        steps = {round(b - a) for a, b in itertools.pairwise(tops)}
        assert len(steps) == 1, f"uneven member list: {tops}"
        await carol.close()
        await ada.fill("#text", "")
        await ada.type("#text", "first line")
        await ada.press("#text", "Shift+Enter")
        await ada.type("#text", "see https://example.org/guide. @bob")
        assert await ada.input_value("#text") == "first line\nsee https://example.org/guide. @bob"
        await ada.press("#text", "Enter")
        last = bob.locator(".message").last
        await expect(last.locator(".body")).to_have_text(
            "first line\nsee https://example.org/guide. @bob"
        )
        link = last.locator(".body a")
        await expect(link).to_have_attribute("href", "https://example.org/guide")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(last).to_have_class("message mention")
        await expect(ada.locator(".message").last).not_to_have_class("message mention")
        await expect(bob.locator("li.day")).to_have_text(["Today"])
        title = await last.locator(".time").get_attribute("title")
        assert title is not None
        assert str(datetime.date.today().year) in title, "the full date on hover"
        await ada.fill("#text", "smb://nas/share and javascript:alert(1)")
        await ada.press("#text", "Enter")
        await expect(bob.locator(".message").last.locator(".body")).to_have_text(
            "smb://nas/share and javascript:alert(1)"
        )
        await expect(bob.locator(".message").last.locator(".body a")).to_have_count(0)


async def test_a_file_offered_beside_the_room_downloads_through_the_browser(
    browser: Browser, tmp_path: Path
) -> None:
    source = tmp_path / "report.bin"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    async with hosted(files=tmp_path / "host", token="s3cret") as server:
        link = f"http://127.0.0.1:{server.port}/?token=s3cret"
        context = await browser.new_context(accept_downloads=True)
        page = await context.new_page()
        await page.goto(link)
        await page.fill("#name", "Ada")
        await page.click("#name-form button")
        await expect(page.locator("#state")).to_have_attribute("data-state", "open")
        app = Session(f"127.0.0.1:{server.port}", name="App", token="s3cret")
        await app.start()
        try:
            at = FilesAt.of(app.url, app.identity())
            offer = await asyncio.to_thread(announce, at, source)
            await asyncio.to_thread(upload, at, source, offer)
            await app.send_json(offer.data())
            offered = page.locator(".message .file.offer a").last
            await expect(offered).to_have_text("report.bin · 1.0 MiB")
            await expect(page.locator(".message details")).to_have_count(0)
            async with page.expect_download() as waiting:
                await offered.click()
            downloaded = await waiting.value
            assert downloaded.suggested_filename == "report.bin"
            saved = tmp_path / "saved.bin"
            await downloaded.save_as(saved)
            assert saved.read_bytes() == source.read_bytes()
        finally:
            await app.close()
            await context.close()


async def test_a_page_sends_a_file_whole_to_a_host_that_takes_no_files_within_the_limit(
    browser: Browser, tmp_path: Path
) -> None:
    async with hosted(max_message_bytes=4000, files_max_bytes=0) as server:
        ada = await open_page(browser, server.port, "Ada")
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * 5000)
        await ada.set_input_files("#file", str(big))
        await expect(ada.locator("#composer-status")).to_contain_text(
            "big.bin is 4.9 KiB, over this room's limit of 3.9 KiB"
        )
        small = tmp_path / "small.bin"
        small.write_bytes(b"x" * 100)
        await ada.set_input_files("#file", str(small))
        await expect(ada.locator(".message .file a").last).to_contain_text("small.bin")
        await expect(ada.locator(".message.pending")).to_have_count(0)


async def test_a_page_upload_continues_after_a_reload_and_a_download_survives_one(
    browser: Browser, tmp_path: Path
) -> None:
    size = 48 * MiB
    source = tmp_path / "film.bin"
    sha = random_file(source, size)
    # 12 MiB/s: each way takes seconds, long enough to reload in the middle.
    async with (
        hosted(files=tmp_path / "host", files_rate=12 * MiB) as server,
        CuttingProxy(server.port, after=0, cuts=0) as counted,
    ):
        context = await browser.new_context(accept_downloads=True)
        try:
            ada = await context.new_page()
            await ada.goto(f"http://127.0.0.1:{counted.port}/")
            await ada.fill("#name", "Ada")
            await ada.click("#name-form button")
            await ada.set_input_files("#file", str(source))
            # At the first progress, before the host has taken the first slice whole.
            await expect(ada.locator(".transfer-status")).to_contain_text("of 48.0 MiB")
            await ada.reload()  # the upload stops with the page
            await ada.fill("#name", "Ada")
            await ada.click("#name-form button")
            await expect(ada.locator(".transfer.error")).to_contain_text(
                "pick or drop it again to continue"
            )
            up_before = counted.up
            await ada.set_input_files("#file", str(source))
            await expect(ada.locator("#composer-status")).to_contain_text("Continuing film.bin")
            offer = ada.locator(".message .file.offer a").last
            await expect(offer).to_have_text("film.bin · 48.0 MiB", timeout=30_000)
            assert up_before > 0
            assert counted.up <= 1.05 * size + MiB, "the second pick sent only what was missing"

            bob = await context.new_page()
            await bob.goto(f"http://127.0.0.1:{server.port}/")
            await bob.fill("#name", "Bob")
            await bob.click("#name-form button")
            link = bob.locator(".message .file.offer a").last
            async with bob.expect_download() as waiting:
                await link.click()
            downloading = await waiting.value
            await asyncio.sleep(1.0)
            await bob.reload()  # the download is the browser's: it goes on
            path = await downloading.path()
            assert downloading.suggested_filename == "film.bin"
            assert await downloading.failure() is None
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        finally:
            await context.close()


async def test_a_reload_before_the_host_took_a_first_slice_still_reminds_the_user(
    browser: Browser, tmp_path: Path
) -> None:
    source = tmp_path / "notes.bin"
    random_file(source, 3 * MiB)
    refused = asyncio.Event()

    async def refuse_slices(route: Route) -> None:
        if route.request.method == "PATCH":
            refused.set()
            await route.abort()  # as a dropped connection: the page waits, then tries again
        else:
            await route.continue_()

    async with hosted(files=tmp_path / "host") as server:
        ada = await open_page(browser, server.port, "Ada")
        await ada.route("**/files/**", refuse_slices)
        await ada.set_input_files("#file", str(source))
        await asyncio.wait_for(refused.wait(), 10)
        await ada.unroute("**/files/**")
        await ada.reload()
        await ada.fill("#name", "Ada")
        await ada.click("#name-form button")
        await expect(ada.locator(".transfer.error")).to_contain_text(
            "stopped at 0 bytes of 3.0 MiB: pick or drop it again to continue"
        )


async def test_a_member_clicked_on_the_page_gets_a_direct_message_nobody_else_sees(
    browser: Browser,
) -> None:
    async with hosted() as server:
        ada = await open_page(browser, server.port, "Ada")
        bob = await open_page(browser, server.port, "Bob")
        cy = await open_page(browser, server.port, "Cy")
        app = Session(f"127.0.0.1:{server.port}", name="App")
        heard: list[SessionEvent] = []
        app.subscribe(heard.append)
        await app.start()
        try:
            await expect(ada.locator("#member-list li")).to_have_count(4)
            await ada.locator("#member-list li", has_text="Bob").click()
            await expect(ada.locator("#text")).to_have_value("/msg Bob ")
            await ada.press("#text", "End")
            await ada.type("#text", "just for you")
            await ada.press("#text", "Enter")
            direct = bob.locator(".message.direct")
            await expect(direct.locator(".sender")).to_have_text("Ada → you (direct)")
            await expect(direct.locator(".body")).to_have_text("just for you")
            await expect(ada.locator(".message.direct .mark")).to_have_text("✓")
            await ada.fill("#text", "/msg App from the page")
            await ada.press("#text", "Enter")
            await app.send_direct("Ada", "from the app")
            await expect(ada.locator(".message.direct .body").last).to_have_text("from the app")
            await ada.fill("#text", "for everyone")
            await ada.press("#text", "Enter")
            await expect(cy.locator(".message .body").last).to_have_text("for everyone")
            assert await cy.locator(".message.direct").count() == 0
            assert "just for you" not in await cy.content()
            directs = [
                (e.message.sender, e.message.text)
                for e in heard
                if isinstance(e, Received) and e.message.direct
            ]
            assert directs == [("Ada", "from the page")]
            await ada.fill("#text", "/msg Nobody hello?")
            await ada.press("#text", "Enter")
            await expect(ada.locator("#composer-status")).to_contain_text(
                "nobody called 'Nobody' is in #chat now"
            )
        finally:
            await app.close()
