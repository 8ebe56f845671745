"""Webhooks can't be turned into weapons (issue 13 §3): signed webhooks through
the real API and real dispatcher workers. Shopify signs only the body, so a
body re-posted under another topic, webhook id or Triggered-At must do
nothing; a shop can come back after an uninstall; unauthenticated traffic is
rate-limited before any database work."""
from __future__ import annotations

import asyncio
import logging
import re
import urllib.error
import urllib.request
import uuid

import asyncpg
import pytest_asyncio

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import CONNECTIONS
from shared_models.config import Config
from tests.api_process import ApiProcess, cli_json
from tests.conftest import ShopInfo
from tests.dispatch_support import running_workers, wait_for
from tests.report_support import settled
from tests.shopify import inventory_update, now_header, product, send_webhook
from tests.test_dispatch_shop_events import create_signup, processed, sent_count, webhook

PRODUCT = product(9001, [{"id": 4001, "inventory_item_id": 7001}], updated_at="2026-11-26T09:00:00Z")


async def suspicious(client, topic: str, reason: str) -> float:
    text = await (await client.get("/metrics")).text()
    found = re.search(rf'backinstock_webhooks_suspicious_total\{{reason="{re.escape(reason)}",'
                      rf'topic="{re.escape(topic)}"\}} (\S+)', text) or re.search(
        rf'backinstock_webhooks_suspicious_total\{{topic="{re.escape(topic)}",'
        rf'reason="{re.escape(reason)}"\}} (\S+)', text)
    return float(found.group(1)) if found else 0.0


async def stored(pool, shop, webhook_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM webhook_events WHERE shop_id = $1 AND webhook_id = $2",
                               shop.shop_id, webhook_id)


async def test_a_product_body_reposted_as_a_destructive_topic_erases_nothing(client, api, pool, shop, config,
                                                                            caplog):
    signup = await create_signup(api, shop, email="ann@example.com")
    async with running_workers(config):
        await webhook(client, pool, shop, "products/update", PRODUCT)
        # The attack: the same signed body, a new webhook id, no Triggered-At.
        status, body = await send_webhook(client, shop, "shop/redact", PRODUCT,
                                          headers={"X-Shopify-Triggered-At": None})
        assert status == 401 and body == {"errors": ["X-Shopify-Triggered-At is required on shop/redact"]}
        # With a Triggered-At it gets 200 (Shopify must not retry) and does nothing.
        caplog.set_level(logging.WARNING, logger="backinstock.webhooks")
        for topic in ("shop/redact", "app/uninstalled", "customers/redact", "customers/data_request",
                      "orders/create", "inventory_levels/update"):
            webhook_id = f"attack-{topic}"
            status, body = await send_webhook(client, shop, topic, PRODUCT, webhook_id=webhook_id)
            assert (status, body) == (200, {"ok": True, "duplicate": False}), topic
            assert await stored(pool, shop, webhook_id) == 0, topic
            assert f"shop {shop.shop_id} topic '{topic}' webhook id '{webhook_id}'" in caplog.text, topic
        await wait_for(lambda: settled(pool, shop), what="nothing pending")
    assert await suspicious(client, "shop/redact", "shop mismatch") == 1
    assert await suspicious(client, "app/uninstalled", "shop mismatch") == 1
    assert await suspicious(client, "customers/redact", "shop mismatch") == 1
    assert await suspicious(client, "orders/create", "not an order") == 1
    assert await suspicious(client, "inventory_levels/update", "not an inventory level") == 1
    # The shop, its key, its signup are all there, and it is still installed.
    status, got, _ = await api.get(f"/back_in_stock/signups/{signup['id']}")
    assert status == 200 and got["contact"] == "ann@example.com"
    assert await pool.fetchval("SELECT uninstalled_at FROM shops WHERE shop_id = $1", shop.shop_id) is None


async def test_each_topic_needs_its_shape_and_this_shop(client, pool, shop, make_shop):
    other = await make_shop()
    customer = {"id": 1, "email": "ann@example.com"}
    cases = [
        ("customers/redact", {"shop_domain": other.domain, "customer": customer}, "shop mismatch"),
        ("customers/redact", {"shop_domain": shop.domain}, "no customer"),
        ("customers/data_request", {"shop_domain": shop.domain, "customer": "ann"}, "no customer"),
        ("app/uninstalled", {"id": 1, "domain": other.domain}, "shop mismatch"),
        ("shop/redact", {"shop_domain": shop.domain}, "shop mismatch"),  # no shop_id
        ("products/update", {"id": 9001}, "not a product"),
        ("products/create", {"variants": []}, "not a product"),
        ("products/delete", {"title": "x"}, "not a product deletion"),
        ("orders/create", {"id": 5001}, "not an order"),
        ("orders/cancelled", {"line_items": []}, "not an order"),
        # A sibling topic's signed body re-posted: same keys, other meaning.
        ("customers/redact", {"shop_id": 1, "shop_domain": shop.domain, "customer": customer,
                              "orders_requested": [], "data_request": {"id": 9}}, "not a customer redaction"),
        ("customers/data_request", {"shop_id": 1, "shop_domain": shop.domain, "customer": customer,
                                    "orders_to_redact": [1]}, "not a data request"),
        ("products/delete", PRODUCT, "not a product deletion"),
        ("orders/cancelled", {"id": 5001, "line_items": [], "cancelled_at": None}, "not a cancellation"),
        ("inventory_levels/update", {"available": 3}, "not an inventory level"),
    ]
    for topic, payload, reason in cases:
        before = await suspicious(client, topic, reason)
        webhook_id = str(uuid.uuid4())
        status, body = await send_webhook(client, shop, topic, payload, webhook_id=webhook_id)
        assert status == 200 and body["ok"], (topic, body)
        assert await stored(pool, shop, webhook_id) == 0, (topic, payload)
        assert await suspicious(client, topic, reason) == before + 1, (topic, reason)
    # The right shapes are stored.
    for topic, payload in [("customers/redact", {"shop_domain": shop.domain, "customer": customer}),
                           ("orders/create", {"id": 5001, "line_items": []}),
                           ("inventory_levels/update", inventory_update(7001, 3)), ("products/update", PRODUCT)]:
        webhook_id = str(uuid.uuid4())
        assert (await send_webhook(client, shop, topic, payload, webhook_id=webhook_id))[0] == 200
        assert await stored(pool, shop, webhook_id) == 1, topic


async def test_shop_redact_needs_an_uninstalled_shop_named_by_domain_and_id(client, api, pool, shop, config):
    payload = {"shop_id": 4242, "shop_domain": shop.domain}
    async with running_workers(config):
        status, _ = await send_webhook(client, shop, "shop/redact", payload)
        assert status == 200 and await suspicious(client, "shop/redact", "shop installed") == 1
        # The uninstall names the shop's Shopify id; shop/redact must name the same.
        await webhook(client, pool, shop, "app/uninstalled", {"id": 4242, "domain": shop.domain})
        assert await pool.fetchval("SELECT shopify_shop_id FROM shops WHERE shop_id = $1", shop.shop_id) == 4242
        status, _ = await send_webhook(client, shop, "shop/redact", {"shop_id": 4343, "shop_domain": shop.domain})
        assert status == 200 and await suspicious(client, "shop/redact", "shop mismatch") == 1
        assert (await api.get("/back_in_stock/signups"))[0] == 200
        status, _ = await send_webhook(client, shop, "shop/redact", payload)
        assert status == 200
        await wait_for(lambda: _gone(pool, shop), what="shop redacted")
    assert (await api.get("/back_in_stock/signups"))[0] == 401


async def _gone(pool, shop) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM shops WHERE shop_id = $1", shop.shop_id)


async def test_destructive_topics_require_triggered_at(client, pool, shop):
    for topic, payload in [("shop/redact", {"shop_id": 1, "shop_domain": shop.domain}),
                           ("customers/redact", {"shop_domain": shop.domain, "customer": {"id": 1}}),
                           ("app/uninstalled", {"id": 1, "domain": shop.domain})]:
        webhook_id = str(uuid.uuid4())
        status, body = await send_webhook(client, shop, topic, payload, webhook_id=webhook_id,
                                          headers={"X-Shopify-Triggered-At": None})
        assert status == 401 and body == {"errors": [f"X-Shopify-Triggered-At is required on {topic}"]}
        assert await stored(pool, shop, webhook_id) == 0


async def test_one_event_under_two_webhook_ids_is_handled_once(client, pool, shop):
    event = {"X-Shopify-Event-Id": "evt-1"}
    first = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 3),
                               webhook_id="w-1", headers=event)
    again = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 3),
                               webhook_id="w-2", headers=event)
    assert (first, again) == ((200, {"ok": True, "duplicate": False}), (200, {"ok": True, "duplicate": True}))
    assert await pool.fetchval("SELECT count(*) FROM webhook_events WHERE shop_id = $1", shop.shop_id) == 1
    # Another event, or no event id: not a duplicate.
    assert (await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 2),
                               webhook_id="w-3", headers={"X-Shopify-Event-Id": "evt-2"}))[1]["duplicate"] is False
    assert (await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 1),
                               webhook_id="w-4"))[1]["duplicate"] is False


async def _uninstalled_at(pool, shop):
    return await pool.fetchval("SELECT uninstalled_at FROM shops WHERE shop_id = $1", shop.shop_id)


async def test_a_newer_webhook_reinstalls_the_shop_and_sends_resume(client, api, pool, shop, config):
    await create_signup(api, shop, email="ann@example.com")
    async with running_workers(config):
        uninstall_id = str(uuid.uuid4())
        await send_webhook(client, shop, "app/uninstalled", {"id": 1, "domain": shop.domain},
                           webhook_id=uninstall_id, headers={"X-Shopify-Triggered-At": now_header(-60)})
        await wait_for(lambda: processed(pool, shop, uninstall_id), what="uninstall processed")
        assert await _uninstalled_at(pool, shop) is not None
        # Not proof of a reinstall: a GDPR topic, an event older than the uninstall, an
        # old product body replayed with a fresh Triggered-At.
        await webhook(client, pool, shop, "customers/data_request",
                      {"shop_domain": shop.domain, "customer": {"email": "x@example.com"}})
        old = str(uuid.uuid4())
        await send_webhook(client, shop, "products/update", PRODUCT, webhook_id=old,
                           headers={"X-Shopify-Triggered-At": now_header(-120)})
        await wait_for(lambda: processed(pool, shop, old), what="old event processed")
        await webhook(client, pool, shop, "products/update", PRODUCT)  # updated_at 2026-11-26: before
        assert await _uninstalled_at(pool, shop) is not None
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
        assert await pool.fetchval("SELECT array_agg(status) FROM restocks WHERE shop_id = $1",
                                   shop.shop_id) == ["ignored"]

        fresh = product(9001, [{"id": 4001, "inventory_item_id": 7001}], updated_at=now_header())
        await webhook(client, pool, shop, "products/update", fresh)
        assert await _uninstalled_at(pool, shop) is None
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 0))
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: sent_count(pool, shop, 1), what="alert sent after the reinstall")


def test_the_reinstall_command_clears_the_uninstall(env):
    shop = cli_json(env, "shops", "create", "--domain", f"back-{uuid.uuid4().hex[:8]}.myshopify.com")
    assert cli_json(env, "shops", "reinstall", "--domain", shop["domain"]) == \
        {"domain": shop["domain"], "installed": True, "was_uninstalled": False}

    async def uninstall() -> None:
        conn = await asyncpg.connect(env["DATABASE_URL"])
        try:
            await conn.execute("UPDATE shops SET uninstalled_at = now() WHERE domain = $1", shop["domain"])
        finally:
            await conn.close()
    asyncio.run(uninstall())
    assert cli_json(env, "shops", "reinstall", "--domain", shop["domain"])["was_uninstalled"] is True
    assert cli_json(env, "shops", "set-shopify-id", "--domain", shop["domain"], "--shopify-id", "77") == \
        {"domain": shop["domain"], "shopify_shop_id": 77}


@pytest_asyncio.fixture
async def limited_client(env, redis, aiohttp_client):
    limits = {"WEBHOOK_SHOP_RATE_PER_SECOND": "0.01", "WEBHOOK_SHOP_RATE_BURST": "3",
              "WEBHOOK_ADDRESS_RATE_PER_SECOND": "0.01", "WEBHOOK_ADDRESS_RATE_BURST": "7",
              "KEY_FAILURE_RATE_PER_SECOND": "0.01", "KEY_FAILURE_RATE_BURST": "5"}
    return await aiohttp_client(create_app(Config.from_env({**env, **limits})))


async def test_webhooks_are_limited_per_shop_domain_and_address_before_the_database(limited_client):
    pool = limited_client.app[CONNECTIONS].pool
    shops = []
    for _ in range(2):
        out = await admin.create_shop(pool, f"rl-{uuid.uuid4().hex[:8]}.myshopify.com")
        shops.append(ShopInfo(uuid.UUID(out["shop_id"]), out["domain"], out["plan"], out["api_key"],
                              out["webhook_secret"]))
    a, b = shops
    # Bad signatures naming a's domain use up a's bucket (burst 3)...
    forged = [(await send_webhook(limited_client, a, "inventory_levels/update", inventory_update(7001, n),
                                  secret="not-the-secret"))[0] for n in range(4)]
    assert forged == [401, 401, 401, 429]
    # ...yet Shopify's own signed deliveries for a are never starved by them.
    assert (await send_webhook(limited_client, a, "inventory_levels/update", inventory_update(7001, 1)))[0] == 200
    for n in range(2):
        assert (await send_webhook(limited_client, b, "inventory_levels/update", inventory_update(7001, n)))[0] == 200
    # The address's 7 are used up (5 for a, 2 for b): b is refused too, before any signature check.
    resp = await limited_client.post("/webhooks/shopify", data=b"{}", headers={
        "X-Shopify-Shop-Domain": b.domain, "X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "x"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert list(await resp.json()) == ["errors"]
    # No database work: with the database gone the answer is still 429, not 503.
    await pool.close()
    resp = await limited_client.post("/webhooks/shopify", data=b"{}", headers={
        "X-Shopify-Shop-Domain": "unknown.myshopify.com", "X-Shopify-Topic": "products/update"})
    assert resp.status == 429


async def test_failed_key_lookups_are_limited_per_address_before_the_database(limited_client):
    pool = limited_client.app[CONNECTIONS].pool
    good = (await admin.create_shop(pool, f"rl-{uuid.uuid4().hex[:8]}.myshopify.com"))["api_key"]
    path = "/api/v2/external/back_in_stock/signups"
    assert (await limited_client.get(path, headers={"X-Auth-Token": good})).status == 200  # successes are free
    statuses = [(await limited_client.get(path, headers={"X-Auth-Token": f"bis_unknown{n}xxxxxxxxxxxx"})).status
                for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    resp = await limited_client.get(path, headers={"X-Auth-Token": "bis_unknownzzzzzzzzzzzzzzzz"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert list(await resp.json()) == ["errors"]
    await pool.close()
    assert (await limited_client.get(path, headers={"X-Auth-Token": "bis_unknownqqqqqqqqqq"})).status == 429


def test_300_unknown_keys_against_the_api_process(env, tmp_path):
    """The reproduction: 300 requests with an unknown key against a real API process."""
    api = ApiProcess({**env, "KEY_FAILURE_RATE_BURST": "20", "KEY_FAILURE_RATE_PER_SECOND": "0.01"},
                     tmp_path / "api.log").start()
    try:
        statuses = []
        for n in range(300):
            req = urllib.request.Request(api.url + "/api/v2/external/back_in_stock/signups",
                                         headers={"X-Auth-Token": f"bis_{n:08d}unknownkeyxxxxxxxx"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                if exc.code == 429:
                    assert int(exc.headers["Retry-After"]) >= 1
        assert statuses == [401] * 20 + [429] * 280
    finally:
        assert api.stop() == 0


async def test_a_shop_redact_waiting_when_the_shop_is_reinstalled_erases_nothing(client, api, pool, shop, config):
    async with running_workers(config):
        await webhook(client, pool, shop, "app/uninstalled", {"id": 4242, "domain": shop.domain})
    # Accepted while uninstalled; the shop is installed again before a worker gets to it.
    redact_id = str(uuid.uuid4())
    status, _ = await send_webhook(client, shop, "shop/redact", {"shop_id": 4242, "shop_domain": shop.domain},
                                   webhook_id=redact_id)
    assert status == 200 and await stored(pool, shop, redact_id) == 1
    assert await admin.reinstall(pool, shop.domain) is True
    async with running_workers(config):
        assert await wait_for(lambda: processed(pool, shop, redact_id), what="redact handled") == \
            "ignored: shop installed again"
    assert (await api.get("/back_in_stock/signups"))[0] == 200
