"""Real Chromium (Debian's) driven by Playwright, against a real server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def tls_browser(browser: Browser) -> AsyncIterator[BrowserContext]:
    """The browser, for pages of a room with a self-signed certificate (as a user who
    accepted it after comparing its fingerprint with the link's)."""
    context = await browser.new_context(ignore_https_errors=True)
    try:
        yield context
    finally:
        await context.close()
