"""GET /storefront/widget.js and GET /storefront/config over HTTP."""
from __future__ import annotations

import gzip

from api_service.storefront.handlers import SOURCE

WIDGET = "/storefront/widget.js"


async def test_the_script_is_small_cached_and_versioned(client):
    plain = await client.get(WIDGET)
    body = await plain.read()
    assert plain.status == 200 and plain.content_type == "application/javascript"
    assert body == SOURCE.read_bytes()
    assert len(gzip.compress(body, 9)) < 15 * 1024
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    etag = plain.headers["ETag"]
    assert etag.startswith('"') and len(etag) == 18
    again = await client.get(WIDGET, headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    pinned = await client.get(WIDGET, params={"v": etag.strip('"')})
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = await client.get(WIDGET, params={"v": "0000000000000000"})
    assert stale.headers["Cache-Control"] == "public, max-age=300"  # an old pin is not cached for a year


async def test_the_script_builds_no_markup_from_strings():
    source = SOURCE.read_text()
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink


async def test_config_says_what_the_widget_needs_and_nothing_else(client, make_shop, api):
    shop = await make_shop(plan="pro", name="Maison Café")
    key = api.with_key(shop.api_key)
    await key.patch("/back_in_stock/settings", json={
        "channels": {"sms": {"enabled": True}, "email": {"sender_name": "Secret sender"}},
        "compliance": {"optin_required": True, "sms_allowed_countries": ["US", "CA"]},
        "alerts": {"report_emails": {"frequency": "weekly", "recipients": ["boss@example.com"]}}})
    resp = await client.get("/storefront/config", params={"shop": shop.domain.upper(), "locale": "fr"},
                            headers={"Origin": f"https://{shop.domain}"})
    body = await resp.json()
    assert resp.status == 200, body
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert resp.headers["Access-Control-Allow-Origin"] == f"https://{shop.domain}"
    version = (await client.get(WIDGET)).headers["ETag"].strip('"')
    assert body == {
        "shop": {"name": "Maison Café", "domain": shop.domain},
        "channels": ["email", "sms"], "optin_required": True, "sms_allowed_countries": ["US", "CA"],
        "texts": {"sms_consent": body["texts"]["sms_consent"]}, "locale": "fr",
        "widget_url": f"/storefront/widget.js?v={version}",
    }
    assert body["texts"]["sms_consent"].startswith("J'accepte de recevoir un SMS unique de Maison Café")


async def test_config_is_only_for_the_shops_own_origins_and_known_shops(client, make_shop, pool):
    shop = await make_shop()
    foreign = await client.get("/storefront/config", params={"shop": shop.domain},
                               headers={"Origin": "https://evil.example.com"})
    assert foreign.status == 403 and "Access-Control-Allow-Origin" not in foreign.headers
    assert (await foreign.json())["errors"]
    for params in ({"shop": "nope.myshopify.com"}, {}, {"shop": "x" * 300}):
        missing = await client.get("/storefront/config", params=params)
        assert missing.status == 404 and (await missing.json()) == {"errors": ["Shop not found"]}
    await pool.execute("UPDATE shops SET uninstalled_at = now() WHERE shop_id = $1", shop.shop_id)
    gone = await client.get("/storefront/config", params={"shop": shop.domain})
    assert gone.status == 404
