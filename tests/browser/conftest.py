"""Browser fixtures: the app served by uvicorn on a loopback port, Debian's Chromium.

The server runs as a task in the test's event loop (the same loop as the stack's worker
and Temporal client), wired like ``tests/conftest.py``'s ``stack``; Playwright's async API
drives ``/usr/bin/chromium`` (never a downloaded browser).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from portal.app import create_app
from portal.deps import PortalContext
from tests.support.browser import ARGS, AXE_TAGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"


@dataclass
class Portal:
    url: str
    stack: object


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def portal(stack) -> AsyncIterator[Portal]:
    """The whole installation of ``stack``, served over HTTP on 127.0.0.1: the same
    ``PortalContext`` (catalogue, drafts, attachments, development issuer) as ``stack.http``."""
    context: PortalContext = stack.http._transport.app.state.portal
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield Portal(url=f"http://127.0.0.1:{port}", stack=stack)
    finally:
        server.should_exit = True
        await task
        sock.close()




class Kit:
    """Opens browser pages on the portal, signs people in, audits and photographs pages."""

    def __init__(self, browser: Browser, portal: Portal) -> None:
        self.browser = browser
        self.portal = portal
        self.contexts: list[BrowserContext] = []
        self.audited: list[str] = []

    async def open(
        self, *, javascript: bool = True, width: int = 1280, locale: str = "ja-JP"
    ) -> Page:
        context = await self.browser.new_context(
            java_script_enabled=javascript,
            locale=locale,
            viewport={"width": width, "height": 900},
            accept_downloads=True,
            base_url=self.portal.url,
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return await context.new_page()

    async def sign_in(self, page: Page, name: str) -> None:
        await page.goto("/login")
        # The button's name is 「この利用者でログイン: <name>（<label>）」, and a label may name
        # someone else (山田 花子's says she is 山田 太郎's wife): match the name itself.
        await page.get_by_role("button", name=re.compile(re.escape(": " + name))).click()
        await page.wait_for_load_state()

    async def audit(self, page: Page, name: str, *, javascript: bool = True) -> None:
        """axe-core at WCAG 2.2 AA (JavaScript contexts only: with it off axe never
        returns), then full-page screenshots at 1280 px and 375 px."""
        if javascript:
            results = await _axe.run(
                page,
                options={
                    "runOnly": {"type": "tag", "values": AXE_TAGS},
                    "resultTypes": ["violations"],
                },
            )
            assert results.violations_count == 0, f"{name}: {results.generate_report()}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size or {"width": 1280, "height": 900}
        for width in (1280, 375):
            await page.set_viewport_size({"width": width, "height": 900})
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        await page.set_viewport_size(size)
        self.audited.append(name)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


_axe = Axe()


@pytest.fixture
async def kit(browser: Browser, portal: Portal) -> AsyncIterator[Kit]:
    made = Kit(browser, portal)
    try:
        yield made
    finally:
        await made.close()
