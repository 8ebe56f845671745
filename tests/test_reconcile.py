"""Reconciliation with Shopify's Admin API (a local stand-in): restocks whose
webhook never came, late webhooks after it, throttling, catalog fill."""
from __future__ import annotations

import dataclasses

import aiohttp

from api_service.admin.shops import set_token
from dispatcher.reconcile import reconcile_all
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from shared_models.shopify import AdminClient
from tests.dispatch_support import FAST, running_workers, wait_for
from tests.factories import signup_body
from tests.shopify import inventory_update, send_webhook
from tests.shopify_admin import ShopifyAdminStandIn, Variant


async def connected(pool, shop, token: str = "shpat_test") -> None:
    await set_token(pool, shop.domain, token)
    await pool.execute("UPDATE shops SET shopify_connected_at = now() WHERE shop_id = $1", shop.shop_id)


async def waiting(api, shop, n: int, *, variant_id: int = 4001, item: int | None = 7001, product=...) -> None:
    for i in range(n):
        body = signup_body(variant_id=variant_id, email=f"w{variant_id}-{i}@example.com", product=product)
        if item is not None:
            body["inventory_item_id"] = item
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 201, out


async def sent(pool, shop) -> list:
    return await pool.fetch("SELECT signup_id, status FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                            shop.shop_id)


class Reconciler:
    """A runtime pointed at the stand-in, as a dispatcher's would be."""

    def __init__(self, config, shopify: ShopifyAdminStandIn):
        # Passes run when the test says (interval 0: the workers' sweeps start none).
        self.config = dataclasses.replace(config, shopify_admin_api_base=shopify.base_url,
                                          shopify_reconcile_minutes=0)

    async def __aenter__(self):
        self.rt = await build_runtime(self.config, Tuning(**FAST))
        return self.rt

    async def __aexit__(self, *exc):
        await close_runtime(self.rt)


async def test_a_restock_whose_webhook_never_came_is_alerted_once(client, api, pool, shop, config):
    await waiting(api, shop, 2)
    await connected(pool, shop)
    async with (ShopifyAdminStandIn() as shopify, Reconciler(config, shopify) as rt,
                running_workers(rt.conns.config)):
        shopify.add_variant(Variant(4001, 9001, 7001, {1: 0}))
        assert await reconcile_all(rt) == 1
        assert await sent(pool, shop) == []  # still sold out: nothing differs from the catalog's 0

        shopify.variants[4001].levels = {1: 0, 2: 6}
        await reconcile_all(rt)
        rows = await wait_for(lambda: _n_sent(pool, shop, 2), what="2 alerts")
        assert len({r["signup_id"] for r in rows}) == 2
        assert rt.metrics.reconcile.labels("restocks")._value.get() == 1
        # Location 1's 0 was not stored yet (the catalog's quantity stood for it): stored, no restock.
        assert rt.metrics.reconcile.labels("differences")._value.get() == 2

        # The late webhooks for that level (sent before the pass read it, and the very same
        # change), and a pass that finds nothing new: nobody is alerted again.
        for updated_at in ("2026-11-30T10:00:00Z", "2026-12-01T10:00:00Z"):
            status, body = await send_webhook(client, shop, "inventory_levels/update",
                                              inventory_update(7001, 6, location=2, updated_at=updated_at))
            assert status == 200, body
        await reconcile_all(rt)
        await wait_for(lambda: _processed(pool, shop), what="the webhooks handled")
        await wait_for(lambda: _settled(pool, shop), what="no send job left")
    assert len(await sent(pool, shop)) == 2
    outcomes = await pool.fetch("SELECT outcome FROM webhook_events WHERE shop_id = $1 ORDER BY received_at",
                                shop.shop_id)
    assert [r["outcome"] for r in outcomes] == ["ignored: older than the stored level", "level stored"]
    assert await pool.fetchval("SELECT count(*) FROM restocks WHERE shop_id = $1", shop.shop_id) == 1
    assert shopify.calls[0]["version"] == config.shopify_api_version
    assert await pool.fetchval("SELECT reconciled_at FROM shops WHERE shop_id = $1", shop.shop_id) is not None


async def _n_sent(pool, shop, n):
    rows = await sent(pool, shop)
    return rows if len(rows) >= n else None


async def _settled(pool, shop):
    return not await pool.fetchval("SELECT count(*) FROM jobs WHERE shop_id = $1 AND status IN ('queued', 'running')",
                                   shop.shop_id)


async def _processed(pool, shop):
    return await pool.fetchval("SELECT bool_and(processed_at IS NOT NULL) FROM webhook_events WHERE shop_id = $1",
                               shop.shop_id)


async def test_locations_are_asked_for_one_by_one(client, api, pool, shop, config):
    await waiting(api, shop, 1)
    await connected(pool, shop)
    status, out, _ = await api.patch("/back_in_stock/settings/delivery", json={"location_ids": [2]})
    assert status == 200, out
    async with (ShopifyAdminStandIn() as shopify, Reconciler(config, shopify) as rt,
                running_workers(rt.conns.config)):
        shopify.add_variant(Variant(4001, 9001, 7001, {1: 9, 2: 0}))
        await reconcile_all(rt)
        # Location 1 is not the shop's: its 9 units are not a restock.
        assert await pool.fetch("SELECT * FROM restocks WHERE shop_id = $1", shop.shop_id) == []
        shopify.variants[4001].levels = {1: 9, 2: 3}
        shopify.variants[4001].level_updated_at = "2026-12-02T10:00:00Z"
        await reconcile_all(rt)
        await wait_for(lambda: _n_sent(pool, shop, 1), what="1 alert")
    query = shopify.operations("BisVariants")[0]["query"]
    assert 'inventoryLevel(locationId: "gid://shopify/Location/2")' in query
    assert "Location/1" not in query
    levels = await pool.fetch("SELECT location_id, available FROM inventory_levels WHERE shop_id = $1 "
                              "ORDER BY location_id", shop.shop_id)
    assert [tuple(r) for r in levels] == [(2, 3)]


async def test_catalog_rows_shopify_never_described_are_filled(client, api, pool, shop, config):
    await waiting(api, shop, 1, variant_id=4002, item=None, product=None)
    await connected(pool, shop)
    before = await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1 AND variant_id = 4002", shop.shop_id)
    assert before["source"] == "api" and before["inventory_item_id"] is None
    async with ShopifyAdminStandIn() as shopify, Reconciler(config, shopify) as rt:
        shopify.add_variant(Variant(4002, 9001, 7002, {1: 0}, title="L / Red", product_title="Wool coat",
                                    status="DRAFT", published_at=None))
        await reconcile_all(rt)
    row = await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1 AND variant_id = 4002", shop.shop_id)
    assert (row["source"], row["inventory_item_id"], row["product_title"], row["variant_title"],
            row["product_status"], row["published_at"]) == ("shopify", 7002, "Wool coat", "L / Red", "draft", None)


async def test_unconnected_and_uninstalled_shops_are_left_alone(client, api, pool, make_shop, config):
    plain, gone = await make_shop(), await make_shop()
    await set_token(pool, plain.domain, "shpat_test")  # a token for order tags is not a connection
    await connected(pool, gone)
    await pool.execute("UPDATE shops SET uninstalled_at = now() WHERE shop_id = $1", gone.shop_id)
    async with ShopifyAdminStandIn() as shopify, Reconciler(config, shopify) as rt:
        assert await reconcile_all(rt) == 0
    assert shopify.calls == []


async def test_the_query_budget_is_paced_and_throttling_waited_out(config):
    async with ShopifyAdminStandIn() as shopify, aiohttp.ClientSession() as session:
        for i in range(12):
            shopify.add_variant(Variant(5000 + i, 9001, 8000 + i, {1: i}))
        shopify.bucket.maximum = shopify.bucket.available = 50.0
        shopify.bucket.restore_rate = 100.0
        client = AdminClient(session, shopify.base_url, "shpat_test", config.shopify_api_version)
        ids = [f"gid://shopify/ProductVariant/{5000 + i}" for i in range(12)]
        query = "query BisVariants($ids: [ID!]!) { nodes(ids: $ids) { ... on ProductVariant { id } } }"
        for _ in range(3):  # 38 points each from a bucket of 50: the client waits for the refill
            data = await client.execute("BisVariants", query, {"ids": ids})
            assert len(data["nodes"]) == 12
        assert shopify.throttled == 0 and client.waited > 0

        # Another client of the same app spent the bucket: Shopify throttles, the client waits and retries.
        shopify.force_throttle = 1
        data = await client.execute("BisVariants", query, {"ids": ids})
        assert len(data["nodes"]) == 12
        assert shopify.throttled == 1
        assert [c["throttled"] for c in shopify.calls[-2:]] == [True, False]


async def test_a_dispatcher_reconciles_on_its_own(client, api, pool, shop, config):
    await waiting(api, shop, 1)
    await connected(pool, shop)
    async with ShopifyAdminStandIn() as shopify:
        shopify.add_variant(Variant(4001, 9001, 7001, {1: 4}))
        cfg = dataclasses.replace(config, shopify_admin_api_base=shopify.base_url, shopify_reconcile_minutes=10)
        async with running_workers(cfg):
            await wait_for(lambda: _n_sent(pool, shop, 1), what="an alert from a reconciliation pass")
    # One pass per interval across workers (the lock), however often they sweep.
    assert len(shopify.operations("BisVariants")) == 1


async def test_a_reply_that_never_ends_cannot_hold_a_pass(client, api, pool, shop, config):
    await waiting(api, shop, 1)
    await connected(pool, shop)
    await pool.execute("UPDATE variants SET source = 'shopify' WHERE shop_id = $1", shop.shop_id)  # described
    async with ShopifyAdminStandIn() as shopify, Reconciler(config, shopify) as rt:
        shopify.add_variant(Variant(4001, 9001, 7001, {1: 2}))
        shopify.endless_levels = True
        assert await reconcile_all(rt) == 1
    # The second page repeats the first's cursor: that ends it; the level was still fed.
    assert len(shopify.operations("BisItemLevels")) == 2
    assert await pool.fetchval("SELECT available FROM inventory_levels WHERE shop_id = $1", shop.shop_id) == 2
