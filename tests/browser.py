"""A real browser for the page tests: Debian's Chromium (tests/browser_setup.sh
installs it) driven by Playwright with executable_path, since Playwright's own
browser download can't be reached from these machines."""
from __future__ import annotations

import pytest_asyncio
from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"


@pytest_asyncio.fixture
async def browser():
    async with async_playwright() as pw:
        # --no-sandbox: these machines run tests as root, where Chromium's sandbox won't start.
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()
