"""The public pages as a person meets them: every answer of /t, /u and /optin to a
browser is an HTML page in the shop's name (errors included), laid out for a
390 px phone and a 1280 px desktop. Driven in a real browser (Debian's Chromium
under Playwright, see tests/browser_setup.sh); the screenshots land in
docs/screenshots/ and README links them."""
from __future__ import annotations

import dataclasses
import html
import uuid
from pathlib import Path

import pytest

from api_service.app import create_app
from tests.browser import browser  # noqa: F401  (the fixture)
from tests.test_public_pages import SIGNUP_STATE, seed, sign

WIDTHS = (390, 1280)
SHOP_NAME = "Maison Café"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}




@pytest.fixture
def shots(repo_root) -> Path:
    path = repo_root / "docs" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _page(browser, width: int):
    context = await browser.new_context(viewport={"width": width, "height": 800})
    return context, await context.new_page()


async def assert_fits(page, width: int) -> None:
    """Nothing wider than the window (no sideways scrolling) and every button
    wholly on screen."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
    for button in await page.locator("button").all():
        box = await button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


async def visit(browser, url: str, shots: Path, name: str, *, status: int, heading: str,
                shop: str | None) -> None:
    for width in WIDTHS:
        context, page = await _page(browser, width)
        try:
            resp = await page.goto(url)
            assert resp.status == status
            assert resp.headers["content-type"].startswith("text/html")
            assert heading in await page.locator("h1").inner_text()
            if shop is not None:
                assert await page.locator(".shop").inner_text() == shop
            else:
                assert await page.locator(".shop").count() == 0
            await assert_fits(page, width)
            await page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        finally:
            await context.close()


async def test_unsubscribe_in_a_browser(client, pool, make_shop, config, browser, shots):
    shop = await make_shop(name=SHOP_NAME)
    seeded = await seed(pool, shop, product_title="Linen shirt with a rather long name that wraps on phones")
    url = str(client.make_url(f"/u/{sign(config, 'unsubscribe', shop.shop_id, seeded.signup_id)}"))
    await visit(browser, url, shots, "unsubscribe", status=200, heading="Unsubscribe from this alert?",
                shop=SHOP_NAME)
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["unsubscribed_at"] is None

    context, page = await _page(browser, 390)  # a person on a phone presses the button
    try:
        await page.goto(url)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Unsubscribe", exact=True).click()
        assert await page.locator("h1").inner_text() == "You're unsubscribed"
        await assert_fits(page, 390)
        await page.screenshot(path=str(shots / "unsubscribed-390.png"), full_page=True)
    finally:
        await context.close()
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["unsubscribed_at"] is not None

    await visit(browser, url, shots, "already-unsubscribed", status=200, heading="You're already unsubscribed",
                shop=SHOP_NAME)


async def test_optin_in_a_browser(client, pool, make_shop, config, browser, shots):
    shop = await make_shop(name=SHOP_NAME)
    seeded = await seed(pool, shop, optin_required=True)
    url = str(client.make_url(f"/optin/{sign(config, 'optin', shop.shop_id, seeded.signup_id)}"))
    await visit(browser, url, shots, "optin", status=200, heading="Confirm your alert", shop=SHOP_NAME)
    context, page = await _page(browser, 1280)
    try:
        await page.goto(url)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Confirm my alert").click()
        assert await page.locator("h1").inner_text() == "Your alert is confirmed"
    finally:
        await context.close()
    assert (await pool.fetchrow(SIGNUP_STATE, shop.shop_id, seeded.signup_id))["optin_confirmed_at"] is not None


async def test_broken_links_are_pages_in_the_shops_name(client, pool, make_shop, config, browser, shots):
    shop = await make_shop(name=SHOP_NAME)
    seeded = await seed(pool, shop)
    token = sign(config, "unsubscribe", shop.shop_id, seeded.signup_id)
    # Garbled (a character changed) or cut short: no shop can be trusted from it.
    garbled = token[:-1] + ("A" if token[-1] != "A" else "B")
    await visit(browser, str(client.make_url(f"/u/{garbled}")), shots, "garbled-link", status=404,
                heading="This link doesn't work", shop=None)
    for path in (f"/u/{token[:20]}", f"/t/{token[:30]}", "/u/", f"/optin/{token}/x"):
        resp = await client.get(path, headers=HTML)
        assert resp.status == 404 and resp.content_type == "text/html", path
        assert "This link doesn't work" in html.unescape(await resp.text())
    # Signed by us for a signup that is gone: the shop is known.
    gone = sign(config, "optin", shop.shop_id, uuid.uuid4())
    await visit(browser, str(client.make_url(f"/optin/{gone}")), shots, "unknown-link", status=404,
                heading="This link doesn't work", shop=SHOP_NAME)
    click = sign(config, "click", shop.shop_id, uuid.uuid4())
    resp = await client.get(f"/t/{click}", headers=HTML)
    assert resp.status == 404 and SHOP_NAME in html.unescape(await resp.text())


async def test_api_clients_still_get_json(client, pool, shop, config):
    resp = await client.get(f"/u/{'x' * 64}", headers={"Accept": "application/json"})
    assert resp.status == 404 and (await resp.json())["errors"]
    resp = await client.post(f"/u/{'x' * 64}", data="List-Unsubscribe=One-Click")  # a mail provider's one-click
    assert resp.status == 404 and (await resp.json())["errors"]


async def test_rate_limited_is_a_page_in_the_shops_name(config, aiohttp_client, pool, make_shop, browser, shots):
    strict = await aiohttp_client(create_app(dataclasses.replace(config, rate_limit_burst=2,
                                                                 rate_limit_per_second=0.01)))
    shop = await make_shop(name=SHOP_NAME)
    seeded = await seed(pool, shop)
    path = f"/u/{sign(config, 'unsubscribe', shop.shop_id, seeded.signup_id)}"
    url = str(strict.make_url(path))
    for _ in range(2):
        assert (await strict.get(path, headers=HTML)).status == 200
    await visit(browser, url, shots, "rate-limited", status=429, heading="Too many requests", shop=SHOP_NAME)
    resp = await strict.get(path, headers=HTML)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "Please try again in" in await resp.text()


async def test_a_person_never_sees_json_even_with_the_database_down(client, pool, shop, config):
    token = sign(config, "unsubscribe", shop.shop_id, uuid.uuid4())
    await pool.close()  # what every query of the page then meets: asyncpg's InterfaceError
    resp = await client.get(f"/u/{token}", headers=HTML)
    assert resp.status == 503 and resp.content_type == "text/html"
    assert "Temporarily unavailable" in await resp.text()
    resp = await client.get(f"/u/{token}")  # a script still gets the envelope
    assert resp.status == 503 and (await resp.json())["errors"]
