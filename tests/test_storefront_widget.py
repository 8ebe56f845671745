"""The storefront widget in a real browser (Debian's Chromium under
Playwright) on a sample Shopify-like shop (tests/storefront_pages.py),
against the real API, PostgreSQL and Redis. Screenshots go to docs/widget/."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from tests.browser import browser  # noqa: F401  (the fixture)
from tests.storefront_pages import SERVICE, SampleShop, route_to

# The widget's DOM events, reported to the test through a binding (no eval:
# it works under the strict CSP page too).
EVENTS = """() => {
  window.__events = [];
  for (const name of ["loaded", "modal:opened", "signup:submitted"]) {
    document.addEventListener("backinstock:" + name, e => {
      window.__events.push([name, e.detail]);
      window.__bisEvent(name);
    });
  }
}"""




@pytest_asyncio.fixture
async def storefront(client, make_shop, api):
    """A shop with email and SMS on, its sample storefront, and the routes to both."""
    shop = await make_shop(plan="pro", name="Maison Café")
    sample = SampleShop(shop.domain)
    server = TestServer(sample.app, host="127.0.0.1")
    await server.start_server()
    status, out, _ = await api.with_key(shop.api_key).patch("/back_in_stock/settings/channels",
                                                             json={"sms": {"enabled": True}})
    assert status == 200, out
    try:
        yield shop, str(server.make_url("")).rstrip("/"), str(client.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
def shots(repo_root) -> Path:
    path = repo_root / "docs" / "widget"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def open_page(browser, storefront, path: str, width: int = 1280):
    shop, shop_base, api_base = storefront
    context = await browser.new_context(viewport={"width": width, "height": 900})
    await context.route(f"https://{shop.domain}/**", lambda route: route_to(route, shop_base))
    await context.route(f"{SERVICE}/**", lambda route: route_to(route, api_base))
    page = await context.new_page()
    loaded = asyncio.Event()
    await page.expose_function("__bisEvent", lambda name: loaded.set() if name == "loaded" else None)
    await page.add_init_script(script=EVENTS.join(["(", ")()"]))
    await page.goto(f"https://{shop.domain}{path}")
    await asyncio.wait_for(loaded.wait(), timeout=15)
    return context, page


def notify_button(page):
    return page.locator("backinstock-button").get_by_role("button", name="Notify me when available")


async def signups(api, shop) -> list[dict]:
    status, out, _ = await api.with_key(shop.api_key).get("/back_in_stock/signups")
    assert status == 200, out
    return out["signups"]


@pytest.mark.parametrize("width", [390, 1280])
async def test_the_button_shows_only_for_a_sold_out_variant(browser, storefront, shots, width):
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4002", width)
    try:
        await expect(notify_button(page)).to_be_hidden()  # 4002 is available
        await page.select_option("#variant", "4001")
        await expect(notify_button(page)).to_be_visible()
        box = await notify_button(page).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        await page.screenshot(path=str(shots / f"button-{width}.png"))
        await page.select_option("#variant", "4002")
        await expect(notify_button(page)).to_be_hidden()
    finally:
        await context.close()


async def test_email_signup_end_to_end_with_events(browser, storefront, api, shots):
    shop = storefront[0]
    for width in (390, 1280):
        context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001", width)
        try:
            await notify_button(page).click()
            dialog = page.get_by_role("dialog")
            await expect(dialog).to_be_visible()
            await page.screenshot(path=str(shots / f"dialog-{width}.png"))
            await dialog.get_by_label("Email address").fill(f"shopper{width}@example.com")
            await dialog.get_by_role("button", name="Notify me").click()
            await expect(dialog.get_by_text("We'll email you when it's back.")).to_be_visible()
            await page.screenshot(path=str(shots / f"success-{width}.png"))
            events = await page.evaluate("window.__events")
        finally:
            await context.close()
        assert [e[0] for e in events] == ["loaded", "modal:opened", "signup:submitted"]
        assert events[2][1] == {"variantId": "4001", "channel": "email", "status": "created"}
    created = {s["contact"]: s for s in await signups(api, shop)}
    assert set(created) == {"shopper390@example.com", "shopper1280@example.com"}
    one = created["shopper390@example.com"]
    assert (one["variant"]["shopify_variant_id"], one["channel"], one["source"]) == (4001, "email",
                                                                                      "storefront_widget")


async def test_sms_signup_needs_consent_and_sends_e164(browser, storefront, api):
    shop = storefront[0]
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001")
    try:
        await notify_button(page).click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_role("radio", name="Text message").check()
        await dialog.get_by_label("Phone number").fill("(415) 555-0123")
        await dialog.get_by_role("button", name="Notify me").click()
        # Express consent is required before anything is sent.
        await expect(dialog.get_by_text("Please accept to receive a text message.")).to_be_visible()
        assert await signups(api, shop) == []
        consent = dialog.get_by_label("I agree to receive a one-time text message from Maison Café")
        await consent.check()
        await dialog.get_by_role("button", name="Notify me").click()
        await expect(dialog.get_by_text("We'll text you when it's back.")).to_be_visible()
    finally:
        await context.close()
    [signup] = await signups(api, shop)
    assert (signup["channel"], signup["contact"]) == ("sms", "+14155550123")


async def test_a_422_is_shown_next_to_its_field(browser, storefront, api, shots):
    for width in (390, 1280):
        context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001", width)
        try:
            await notify_button(page).click()
            dialog = page.get_by_role("dialog")
            email = dialog.get_by_label("Email address")
            await email.fill("not-an-email")
            await dialog.get_by_role("button", name="Notify me").click()
            error = dialog.locator("#bis-err-email")
            await expect(error).to_have_text("Not a valid email address.")
            await expect(email).to_have_attribute("aria-invalid", "true")
            await page.screenshot(path=str(shots / f"error-{width}.png"))
            events = await page.evaluate("window.__events")
        finally:
            await context.close()
        assert events[-1][1]["status"] == "invalid"
    assert await signups(api, storefront[0]) == []


async def test_the_dialog_works_by_keyboard_alone(browser, storefront, api):
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001")
    try:
        await page.focus("#add")
        await page.keyboard.press("Tab")  # the add-to-cart button, then ours
        focused = await page.evaluate("document.activeElement.tagName")
        assert focused == "BACKINSTOCK-BUTTON"
        await page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_be_visible()
        # Focus starts in the email field; Tab never leaves the dialog.
        active = "document.activeElement.shadowRoot?.activeElement?.id"
        assert await page.evaluate(active) == "bis-email"
        seen = set()
        for _ in range(12):
            await page.keyboard.press("Tab")
            seen.add(await page.evaluate(active))
        assert None not in seen and {"bis-email", "bis-ch-email"} <= seen
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await page.keyboard.press("Enter")  # focus went back to our button
        await expect(dialog).to_be_visible()
        await page.keyboard.type("keys@example.com")
        await page.keyboard.press("Enter")
        await expect(dialog.get_by_text("We'll email you when it's back.")).to_be_visible()
    finally:
        await context.close()
    assert [s["contact"] for s in await signups(api, storefront[0])] == ["keys@example.com"]


async def test_headless_api_and_explicit_placement(browser, storefront, api):
    context, page = await open_page(browser, storefront, "/headless")
    try:
        assert await page.locator("backinstock-button").count() == 0  # no cart form, no placement
        intent = await page.evaluate("""() => BackInStock.signup({variantId: 4001, productId: 9001,
            channel: "email", email: "headless@example.com", name: "Hedda"})""")
        assert intent["shopify_variant_id"] == 4001 and intent["email"] == "headless@example.com"
        rejected = await page.evaluate("""() => BackInStock.signup({variantId: 4001, channel: "email",
            email: "nope"}).then(() => null, e => e)""")
        assert rejected["status"] == 422 and "email" in rejected["fields"]
    finally:
        await context.close()
    context, page = await open_page(browser, storefront, "/pages/custom")
    try:
        slot_button = page.locator("#slot backinstock-button").get_by_role("button")
        await expect(slot_button).to_be_visible()
    finally:
        await context.close()


async def test_languages_and_text_overrides(browser, storefront):
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001&lang=fr")
    try:
        await expect(page.locator("backinstock-button").get_by_role("button")).to_have_text(
            "M'avertir du retour en stock")
    finally:
        await context.close()
    context, page = await open_page(
        browser, storefront, "/products/linen-shirt?variant=4001&lang=de&text-button=Sag+mir+Bescheid")
    try:
        await expect(page.locator("backinstock-button").get_by_role("button")).to_have_text("Sag mir Bescheid")
    finally:
        await context.close()


async def test_hostile_theme_css_and_a_strict_csp(browser, storefront, api, shots):
    shop = storefront[0]
    context, page = await open_page(browser, storefront, "/strict/products/linen-shirt")
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        button = notify_button(page)
        await expect(button).to_be_visible()
        size = await button.evaluate("b => getComputedStyle(b).fontSize")
        assert size == "16px"  # the theme's 31px !important does not reach in
        await button.click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_label("Email address")).to_be_visible()
        await dialog.get_by_label("Email address").fill("strict@example.com")
        await dialog.get_by_role("button", name="Notify me").click()
        await expect(dialog.get_by_text("We'll email you when it's back.")).to_be_visible()
        await page.screenshot(path=str(shots / "strict-csp-1280.png"))
    finally:
        await context.close()
    assert violations == []
    assert [s["contact"] for s in await signups(api, shop)] == ["strict@example.com"]


@pytest.mark.parametrize("failure", ["rate_limited", "network"])
async def test_rate_limits_and_network_errors_ask_to_retry(browser, storefront, api, failure):
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001")
    try:
        async def refuse(route):
            if route.request.method != "POST":
                return await route_to(route, storefront[2])
            if failure == "network":
                return await route.abort("connectionrefused")
            await route.fulfill(status=429, headers={"Retry-After": "30", "Access-Control-Allow-Origin": "*"},
                                json={"errors": ["Rate limit exceeded, retry later"]})
        await context.route(f"{SERVICE}/api/v1/intents.json", refuse)
        await notify_button(page).click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Email address").fill("later@example.com")
        await dialog.get_by_role("button", name="Notify me").click()
        text = ("Too many requests right now. Please try again in a moment." if failure == "rate_limited"
                else "We couldn't reach the server. Please check your connection and try again.")
        await expect(dialog.get_by_role("status")).to_have_text(text)
        await expect(dialog.get_by_role("button", name="Notify me")).to_be_enabled()  # try again
    finally:
        await context.close()
    assert await signups(api, storefront[0]) == []


async def test_a_double_submit_signs_up_once(browser, storefront, api):
    context, page = await open_page(browser, storefront, "/products/linen-shirt?variant=4001")
    try:
        await notify_button(page).click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Email address").fill("twice@example.com")
        await dialog.locator("form").evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
        await expect(dialog.get_by_text("We'll email you when it's back.")).to_be_visible()
        events = await page.evaluate("window.__events")
    finally:
        await context.close()
    assert [e[0] for e in events].count("signup:submitted") == 1
    assert [s["contact"] for s in await signups(api, storefront[0])] == ["twice@example.com"]
