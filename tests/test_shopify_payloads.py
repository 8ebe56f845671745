"""Shopify's payloads as Shopify documents them (tests/fixtures/shopify/,
written from the documentation's field lists): ids beyond 2^53, prices as
strings, custom line items, partial variant lists, untracked inventory."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

from tests.dispatch_support import running_workers, wait_for
from tests.factories import signup_body
from tests.report_support import notification_of, send_order, settled
from tests.shopify import send_webhook

FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
PRODUCT, SMALL, MEDIUM, ONLY_GID = 788032119674292922, 642667041472713922, 757650484644203962, 901211484644203999
SMALL_ITEM, LOCATION, ORDER = 271878346596884015, 24826418, 820982911946154508


def sample(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


async def handled(client, pool, shop, topic: str, payload: dict) -> str:
    webhook_id = str(uuid.uuid4())
    status, body = await send_webhook(client, shop, topic, payload, webhook_id=webhook_id)
    assert status == 200 and body["duplicate"] is False, body
    return await wait_for(lambda: pool.fetchval(
        "SELECT outcome FROM webhook_events WHERE shop_id = $1 AND webhook_id = $2 AND processed_at IS NOT NULL",
        shop.shop_id, webhook_id), what=f"{topic} handled")


async def variant(pool, shop, variant_id: int):
    return await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1 AND variant_id = $2",
                               shop.shop_id, variant_id)


async def test_catalog_samples_keep_big_ids_and_partial_variant_lists(client, api, pool, shop, config):
    # A signup on a variant the payload names only in variant_gids (beyond its first 100 variants).
    body = signup_body(variant_id=ONLY_GID, product_id=PRODUCT, product={"title": "Example T-Shirt"})
    status, created, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, created
    assert created["variant"]["shopify_variant_id"] == ONLY_GID  # exact, beyond 2^53
    async with running_workers(config):
        assert (await handled(client, pool, shop, "products/create", sample("products_update"))).startswith(
            "catalog updated")
        assert (await handled(client, pool, shop, "products/update", sample("products_update"))).startswith(
            "catalog updated")
        small = await variant(pool, shop, SMALL)
        assert (small["product_id"], small["inventory_item_id"], small["variant_title"], small["sku"],
                small["source"]) == (PRODUCT, SMALL_ITEM, "Small", "TS-S", "shopify")
        assert (await variant(pool, shop, MEDIUM))["inventory_item_id"] == 339889231254203970
        untouched = await variant(pool, shop, ONLY_GID)
        assert untouched["deleted_at"] is None and untouched["source"] == "api"

        assert await handled(client, pool, shop, "products/delete", sample("products_delete")) == "product deleted"
    assert await pool.fetchval("SELECT count(*) FROM variants WHERE shop_id = $1 AND deleted_at IS NULL",
                               shop.shop_id) == 0


async def test_inventory_sample_restocks_and_untracked_levels_are_ignored(client, api, pool, shop, config):
    body = signup_body(variant_id=SMALL, product_id=PRODUCT, email="jon@example.com")
    body["inventory_item_id"] = SMALL_ITEM
    status, created, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, created
    async with running_workers(config):
        untracked = {**sample("inventory_levels_update"), "available": None}
        assert await handled(client, pool, shop, "inventory_levels/update", untracked) == \
            "ignored: available is null (inventory not tracked)"
        assert await pool.fetchval("SELECT count(*) FROM inventory_levels WHERE shop_id = $1", shop.shop_id) == 0

        assert await handled(client, pool, shop, "inventory_levels/update", sample("inventory_levels_update")) \
            == "restock"
        await wait_for(lambda: settled(pool, shop), what="the restock sent")
    level = await pool.fetchrow("SELECT * FROM inventory_levels WHERE shop_id = $1", shop.shop_id)
    assert (level["inventory_item_id"], level["location_id"], level["available"]) == (SMALL_ITEM, LOCATION, 6)
    assert (await notification_of(pool, created["id"]))["status"] == "sent"


async def test_order_samples_attribute_string_prices_and_skip_custom_items(client, api, pool, shop, config):
    body = signup_body(variant_id=SMALL, product_id=PRODUCT, email="jon@example.com")
    body["inventory_item_id"] = SMALL_ITEM
    status, created, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, created
    async with running_workers(config):
        await handled(client, pool, shop, "inventory_levels/update", sample("inventory_levels_update"))
        await wait_for(lambda: settled(pool, shop), what="the restock sent")
        order = sample("orders_create")
        order["created_at"] = dt.datetime.now(dt.timezone.utc).isoformat()  # after the alert, within 7 days
        assert await send_order(client, pool, shop, order) == "order attributed: 1 lines (high)"
        rows = await pool.fetch("SELECT * FROM order_attributions WHERE shop_id = $1", shop.shop_id)
        assert [(r["order_id"], r["variant_id"], r["quantity"], r["revenue"], r["confidence"]) for r in rows] == [
            (ORDER, SMALL, 2, Decimal("39.98"), "high")]
        stored = await pool.fetchrow("SELECT * FROM orders WHERE shop_id = $1", shop.shop_id)
        assert stored["shopify_customer_id"] == 115310627314723954

        cancelled = sample("orders_cancelled")
        assert (await send_order(client, pool, shop, cancelled, topic="orders/cancelled")).startswith("order cancelled")
    assert await pool.fetchval("SELECT count(*) FROM order_attributions WHERE shop_id = $1", shop.shop_id) == 0


def shop_sample(name: str, shop) -> dict:
    """A sample naming the test's shop where Shopify names the shop."""
    return json.loads((FIXTURES / f"{name}.json").read_text().replace("{shop_domain}", shop.domain))


async def test_privacy_and_uninstall_samples_do_what_they_say(client, api, pool, shop, config):
    body = signup_body(variant_id=SMALL, product_id=PRODUCT, email="john@example.com")
    status, created, _ = await api.post("/back_in_stock/signups", json=body)
    assert status == 201, created
    async with running_workers(config):
        outcome = await handled(client, pool, shop, "customers/data_request",
                                shop_sample("customers_data_request", shop))
        status, listed, _ = await api.get("/back_in_stock/data_requests")
        assert status == 200 and len(listed["data_requests"]) == 1, (outcome, listed)
        status, export, _ = await api.get(f"/back_in_stock/data_requests/{listed['data_requests'][0]['id']}")
        assert [c["email"] for c in export["export"]["customers"]] == ["john@example.com"]

        await handled(client, pool, shop, "customers/redact", shop_sample("customers_redact", shop))
        assert await pool.fetchval("SELECT count(*) FROM customers WHERE shop_id = $1", shop.shop_id) == 0
        assert (await api.get(f"/back_in_stock/signups/{created['id']}"))[0] == 404

        await handled(client, pool, shop, "app/uninstalled", shop_sample("app_uninstalled", shop))
        row = await pool.fetchrow("SELECT uninstalled_at, shopify_shop_id FROM shops WHERE shop_id = $1",
                                  shop.shop_id)
        assert row["uninstalled_at"] is not None and row["shopify_shop_id"] == 548380009

        status, _ = await send_webhook(client, shop, "shop/redact", shop_sample("shop_redact", shop))
        assert status == 200
        await wait_for(lambda: _shop_gone(pool, shop), what="the shop erased")


async def _shop_gone(pool, shop) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM shops WHERE shop_id = $1", shop.shop_id)
