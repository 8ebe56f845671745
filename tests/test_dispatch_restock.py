"""Restocks from Shopify webhooks, through real workers, to console sends."""
from __future__ import annotations

import pytest

from dispatcher.runtime import Tuning
from dispatcher.webhooks.process import process_webhook
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import running_workers, wait_for
from tests.factories import signup_body
from tests.shopify import inventory_update, product, send_webhook


async def make_signups(api, shop, n, *, variant_id=4001, item=7001, channel="email"):
    ids = []
    for i in range(n):
        body = signup_body(variant_id=variant_id, inventory_item_id=item, email=f"c{i}@example.com")
        body["product"]["url"] = f"https://{shop.domain}/products/linen-shirt?variant={variant_id}"
        status, out, _ = await api.post("/back_in_stock/signups", json=body)
        assert status == 201, out
        ids.append(out["id"])
    return ids


async def rows(pool, shop, **where):
    clause = " AND ".join(f"{k} = ${i + 2}" for i, k in enumerate(where))
    return await pool.fetch(
        f"SELECT * FROM notifications WHERE shop_id = $1 {'AND ' + clause if clause else ''} ORDER BY created_at",
        shop.shop_id, *where.values())


async def test_restock_alerts_every_waiting_signup_once(client, api, pool, shop, config):
    ids = await make_signups(api, shop, 3)
    async with running_workers(config):
        status, body = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5),
                                          webhook_id="w-1")
        assert status == 200 and body["duplicate"] is False
        sent = await wait_for(lambda: _sent(pool, shop, 3), what="3 sent rows")
        # The same delivery again, and a new one that crosses nothing: no new sends.
        assert (await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5),
                                   webhook_id="w-1"))[1]["duplicate"] is True
        await send_webhook(client, shop, "inventory_levels/update",
                           inventory_update(7001, 9, updated_at="2026-11-26T11:00:00Z"))
        await wait_for(lambda: _all_processed(pool, shop), what="webhooks processed")
    assert {str(r["signup_id"]) for r in sent} == set(ids)
    assert all(r["trigger"] == "restock" and r["batch"] == 1 and r["attempt"] == 1 and r["provider"] == "console"
               for r in sent)
    assert len(await rows(pool, shop)) == 3
    for sid in ids:
        status, signup, _ = await api.get(f"/back_in_stock/signups/{sid}")
        assert signup["status"] == "notified" and signup["notifications_sent"] == 1
    restocks = await pool.fetch("SELECT status FROM restocks WHERE shop_id = $1", shop.shop_id)
    assert [r["status"] for r in restocks] == ["started"]


async def _sent(pool, shop, n):
    found = await rows(pool, shop, status="sent")
    return found if len(found) >= n else None


async def _all_processed(pool, shop):
    return not await pool.fetchval(
        "SELECT count(*) FROM webhook_events WHERE shop_id = $1 AND processed_at IS NULL", shop.shop_id)


async def test_stale_and_unknown_inventory_updates_are_ignored(client, api, pool, shop, config):
    await make_signups(api, shop, 1)
    async with running_workers(config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 0))
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(999, 5))
        # Older than the stored level: ignored although it would cross.
        await send_webhook(client, shop, "inventory_levels/update",
                           inventory_update(7001, 5, updated_at="2026-11-25T10:00:00Z"))
        await wait_for(lambda: _all_processed(pool, shop), what="webhooks processed")
    outcomes = sorted(r["outcome"] for r in await pool.fetch(
        "SELECT outcome FROM webhook_events WHERE shop_id = $1", shop.shop_id))
    assert outcomes == ["ignored: item unknown to the catalog", "ignored: older than the stored level",
                        "level stored"]
    assert await rows(pool, shop) == []


async def test_batches_in_order_and_sold_out_blocks_a_later_batch(client, api, pool, make_shop, config):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    ids = await make_signups(api, shop, 3)
    status, _, _ = await api.patch("/back_in_stock/settings/delivery",
                                   json={"batch_size": 2, "batch_interval_minutes": 5, "order": "newest_first"})
    assert status == 200
    async with running_workers(config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        first = await wait_for(lambda: _sent(pool, shop, 2), what="first batch")
        job_id = first[0]["job_id"]
        assert {str(r["signup_id"]) for r in first} == set(ids[1:])  # newest first
        assert {r["batch"] for r in first} == {1}
        # Sold out before batch 2 is due; then let its time come.
        await send_webhook(client, shop, "inventory_levels/update",
                           inventory_update(7001, 0, updated_at="2026-11-26T12:00:00Z"))
        await wait_for(lambda: _all_processed(pool, shop), what="sold-out update processed")
        await pool.execute("UPDATE jobs SET next_run_at = now() WHERE job_id = $1", job_id)
        blocked = await wait_for(lambda: _blocked(pool, shop), what="batch 2 blocked")
        await wait_for(lambda: _job_status(pool, job_id, "done"), what="job done")
    assert [(str(r["signup_id"]), r["batch"], r["blocked_reason"]) for r in blocked] == [(ids[0], 2, "sold_out")]
    status, signup, _ = await api.get(f"/back_in_stock/signups/{ids[0]}")
    assert signup["status"] == "blocked"  # still waiting for the next restock
    status, job, _ = await api.get(f"/jobs/{job_id}")
    assert job["kind"] == "restock" and job["status"] == "done"
    assert job["counts"] == {"sent": 2, "failed": 0, "blocked": 1}


async def _blocked(pool, shop):
    return await rows(pool, shop, status="blocked") or None


async def _job_status(pool, job_id, status):
    return await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1", job_id) == status


async def test_auto_send_off_records_the_restock_but_sends_nothing(client, api, pool, shop, config):
    await make_signups(api, shop, 2)
    await api.patch("/back_in_stock/settings/delivery", json={"auto_send": False})
    async with running_workers(config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: _all_processed(pool, shop), what="processed")
    assert await rows(pool, shop) == []
    assert await pool.fetchval("SELECT status FROM restocks WHERE shop_id = $1", shop.shop_id) == "manual"


async def test_min_restock_quantity_and_locations(client, api, pool, shop, config):
    await make_signups(api, shop, 1)
    await api.patch("/back_in_stock/settings/delivery", json={"min_restock_quantity": 3, "location_ids": [2]})
    async with running_workers(config):
        # 5 at an ignored location, then 2 at ours: below 3, no restock.
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5, location=1))
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 2, location=2))
        await wait_for(lambda: _all_processed(pool, shop), what="processed")
        assert await rows(pool, shop) == []
        await send_webhook(client, shop, "inventory_levels/update",
                           inventory_update(7001, 3, location=2, updated_at="2026-11-26T11:00:00Z"))
        await wait_for(lambda: _sent(pool, shop, 1), what="sent at threshold")


async def test_only_when_published_waits_for_publication(client, api, pool, shop, config):
    await make_signups(api, shop, 1)
    await api.patch("/back_in_stock/settings/delivery", json={"only_when_published": True})
    async with running_workers(config):
        draft = product(9001, [{"id": 4001, "inventory_item_id": 7001, "inventory_quantity": 0}],
                        status="draft", published_at=None, updated_at="2026-11-26T09:00:00Z")
        await send_webhook(client, shop, "products/update", draft)
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 4))
        await wait_for(lambda: _all_processed(pool, shop), what="processed")
        assert await rows(pool, shop) == []
        assert await pool.fetchval("SELECT status FROM restocks WHERE shop_id = $1", shop.shop_id) == \
            "waiting_publish"
        live = product(9001, [{"id": 4001, "inventory_item_id": 7001, "inventory_quantity": 4}],
                       updated_at="2026-11-26T12:00:00Z")
        await send_webhook(client, shop, "products/update", live)
        await wait_for(lambda: _sent(pool, shop, 1), what="sent once published")
    assert await pool.fetchval("SELECT status FROM restocks WHERE shop_id = $1", shop.shop_id) == "started"


async def test_a_shops_webhooks_are_handled_in_the_order_received(client, api, pool, shop, config):
    """The inventory update's job runs first, yet the draft received before it
    is handled before it: the restock waits for publication."""
    await make_signups(api, shop, 1)
    await api.patch("/back_in_stock/settings/delivery", json={"only_when_published": True})
    draft = product(9001, [{"id": 4001, "inventory_item_id": 7001, "inventory_quantity": 0}],
                    status="draft", published_at=None, updated_at="2026-11-26T09:00:00Z")
    await send_webhook(client, shop, "products/update", draft, webhook_id="w-draft")
    await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 4), webhook_id="w-level")
    rt = await build_runtime(config, Tuning())
    try:
        assert await process_webhook(rt, shop.shop_id, "w-level") == "level stored"
        assert await process_webhook(rt, shop.shop_id, "w-draft") is None  # already handled, in turn
    finally:
        await close_runtime(rt)
    handled = await pool.fetch("SELECT webhook_id FROM webhook_events WHERE shop_id = $1 ORDER BY processed_at",
                               shop.shop_id)
    assert [r["webhook_id"] for r in handled] == ["w-draft", "w-level"]
    assert await pool.fetchval("SELECT status FROM restocks WHERE shop_id = $1", shop.shop_id) == "waiting_publish"


async def test_products_update_quantity_is_a_restock_signal_and_shopify_wins(client, api, pool, shop, config):
    await make_signups(api, shop, 1)
    async with running_workers(config):
        p = product(9001, [{"id": 4001, "inventory_item_id": 7001, "inventory_quantity": 0}],
                    title="Shopify title", updated_at="2026-11-26T09:00:00Z")
        await send_webhook(client, shop, "products/update", p)
        p2 = product(9001, [{"id": 4001, "inventory_item_id": 7001, "inventory_quantity": 6}],
                     title="Shopify title", updated_at="2026-11-26T10:00:00Z")
        await send_webhook(client, shop, "products/update", p2)
        sent = await wait_for(lambda: _sent(pool, shop, 1), what="sent")
    assert sent[0]["variant_title"] == "Shopify title - M / Blue"
    variant = await pool.fetchrow("SELECT source, product_title FROM variants WHERE shop_id = $1", shop.shop_id)
    assert (variant["source"], variant["product_title"]) == ("shopify", "Shopify title")


@pytest.mark.parametrize("secret,status", [("wrong", 401), (None, 200)])
async def test_webhook_signature(client, shop, secret, status):
    got, body = await send_webhook(client, shop, "products/update", {"id": 1}, secret=secret)
    assert got == status
    if status == 401:
        assert body == {"errors": ["Invalid webhook signature"]}


async def test_available_beyond_32_bits_is_recorded_and_ignored(client, api, pool, shop, config):
    await make_signups(api, shop, 1, variant_id=4009, item=7009)
    async with running_workers(config):
        for webhook_id, available in (("big", 2**40), ("text", "99999999999999999999"), ("neg", -2**31 - 1)):
            status, _ = await send_webhook(client, shop, "inventory_levels/update",
                                           inventory_update(7009, available), webhook_id=webhook_id)
            assert status == 200
        await wait_for(lambda: _all_processed(pool, shop), what="webhooks processed")
    outcomes = await pool.fetch("SELECT outcome FROM webhook_events WHERE shop_id = $1", shop.shop_id)
    assert [r["outcome"] for r in outcomes] == ["ignored: available is not an integer of 32 bits"] * 3
    assert await pool.fetchval("SELECT count(*) FROM inventory_levels WHERE shop_id = $1", shop.shop_id) == 0
    assert await rows(pool, shop) == []
