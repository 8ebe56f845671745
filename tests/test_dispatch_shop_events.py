"""Shop-level webhooks through real workers: app/uninstalled, the GDPR topics
and products/delete."""
from __future__ import annotations

import uuid

from dispatcher.runner import run_job
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, product, send_webhook


async def processed(pool, shop, webhook_id):
    return await pool.fetchval("SELECT outcome FROM webhook_events WHERE shop_id = $1 AND webhook_id = $2 "
                               "AND processed_at IS NOT NULL", shop.shop_id, webhook_id)


async def webhook(client, pool, shop, topic, payload, webhook_id=None) -> str:
    """Sends a signed webhook and waits for the dispatcher to process it; returns the outcome."""
    webhook_id = webhook_id or str(uuid.uuid4())
    status, body = await send_webhook(client, shop, topic, payload, webhook_id=webhook_id)
    assert status == 200 and body == {"ok": True, "duplicate": False}, body
    return await wait_for(lambda: processed(pool, shop, webhook_id), what=f"{topic} processed")


async def sent_count(pool, shop, n):
    return await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'", shop.shop_id) >= n


def redact_payload(shop, *, email=None, phone=None, customer_id=None):
    return {"shop_id": 1, "shop_domain": shop.domain, "orders_to_redact": [],
            "customer": {"id": customer_id, "email": email, "phone": phone}}


async def test_app_uninstalled_stops_sends(client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    await api.patch("/back_in_stock/settings/delivery", json={"batch_size": 1, "batch_interval_minutes": 60})
    for i in range(3):
        await create_signup(api, shop, email=f"c{i}@example.com")
    later = await create_signup(api, shop, email="later@example.com", variant_id=4002, item=7002)
    async with running_workers(providers.config):
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: sent_count(pool, shop, 1), what="batch 1 sent")
        restock_job = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
        assert await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1", restock_job) == "running"

        outcome = await webhook(client, pool, shop, "app/uninstalled", {"id": 1, "domain": shop.domain})
        assert outcome == "uninstalled: sends stopped"
        assert await pool.fetchval("SELECT status FROM jobs WHERE job_id = $1", restock_job) == "cancelled"
        assert await pool.fetchval("SELECT count(*) FROM job_targets WHERE job_id = $1 AND state = 'cancelled'",
                                   restock_job) == 2

        # A later restock is recorded but ignored.
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7002, 5))
        assert await pool.fetchval("SELECT status FROM restocks WHERE shop_id = $1 AND variant_id = 4002",
                                   shop.shop_id) == "ignored"
        assert await pool.fetchval("SELECT count(*) FROM jobs WHERE shop_id = $1", shop.shop_id) == 1

        # A manual notify after the uninstall is accepted, and sends nothing.
        job_id = await notify(api, later["id"])
        job = await wait_for(lambda: finished_job(api, job_id), what="notify finished")
        assert job["status"] == "cancelled" and await job_notifications(pool, job_id) == []

    # Batch 2 of the cancelled restock comes due: a worker finds nothing to do.
    await pool.execute("UPDATE jobs SET next_run_at = now() WHERE job_id = $1", restock_job)
    rt = await build_runtime(providers.config, Tuning())
    try:
        assert await run_job(rt, shop.shop_id, restock_job) == "idle"
    finally:
        await close_runtime(rt)
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1", shop.shop_id) == 1
    assert len(providers.smtp.received) == 1


async def test_customers_redact_erases_that_customer_only(client, api, pool, shop, providers):
    ann = [await create_signup(api, shop, email="ann@example.com"),
           await create_signup(api, shop, email="ann@example.com", variant_id=4002, item=7002)]
    bob = await create_signup(api, shop, email="bob@example.com")
    async with running_workers(providers.config):
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: sent_count(pool, shop, 2), what="alerts sent")
        outcome = await webhook(client, pool, shop, "customers/redact",
                                redact_payload(shop, email="ANN@example.com", customer_id=555))
    assert outcome == "redacted 1 customers, 2 signups, 0 orders"
    for signup in ann:
        status, body, _ = await api.get(f"/back_in_stock/signups/{signup['id']}")
        assert status == 404, body
    status, body, _ = await api.get(f"/back_in_stock/signups/{bob['id']}")
    assert status == 200 and body["contact"] == "bob@example.com"

    # The notifications stay (reports keep counting them), without the contact.
    status, listed, _ = await api.get("/back_in_stock/notifications")
    notes = {n["signup_id"]: n for n in listed["notifications"]}
    assert set(notes) == {ann[0]["id"], bob["id"]}
    assert (notes[ann[0]["id"]]["contact"], notes[ann[0]["id"]]["customer_id"]) == (None, None)
    assert notes[ann[0]["id"]]["status"] == "sent"
    assert (notes[bob["id"]]["contact"], notes[bob["id"]]["customer_id"]) == \
        ("bob@example.com", bob["customer"]["id"])
    assert await pool.fetchval("SELECT count(*) FROM customers WHERE shop_id = $1", shop.shop_id) == 1
    # Nothing of ann's is left in any of the shop's rows (the redact request's own payload included).
    for table in await tenant_tables(pool):
        assert await pool.fetchval(f'SELECT count(*) FROM "{table}" t WHERE t.shop_id = $1 '
                                   "AND t::text ILIKE '%ann@example.com%'", shop.shop_id) == 0, table
    assert await pool.fetchval("SELECT count(*) FROM customers t WHERE t::text LIKE '%bob@example.com%'") == 1


async def tenant_tables(pool) -> list[str]:
    """Every table holding a shop's rows (any table with a shop_id column)."""
    return [r["table_name"] for r in await pool.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'shop_id' ORDER BY table_name")]


async def rows_per_table(pool, shop_id) -> dict[str, int]:
    return {t: await pool.fetchval(f'SELECT count(*) FROM "{t}" WHERE shop_id = $1', shop_id)
            for t in await tenant_tables(pool)}


async def fill_shop(client, api, pool, shop):
    """A shop with rows in as many tables as the service writes."""
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings", json={
        "delivery": {"batch_size": 1, "batch_interval_minutes": 60},
        "alerts": {"high_demand": {"enabled": True, "threshold": 2},
                   "report_emails": {"recipients": ["owner@example.com"]}}})
    assert status == 200
    await create_signup(api, shop, email="ann@example.com")
    body = {"variant_id": 4001, "product_id": 9001, "channel": "email",
            "customer": {"email": "bob@example.com"}}
    status, _, _ = await api.post("/back_in_stock/signups", json=body, headers={"Idempotency-Key": "k-1"})
    assert status == 201
    for name in ("carol", "dan"):  # high demand on 4002 (a restock of 4001 resets only 4001's)
        await create_signup(api, shop, email=f"{name}@example.com", variant_id=4002, item=7002)
    await wait_for(lambda: pool.fetchval("SELECT count(*) FROM merchant_alerts WHERE shop_id = $1 AND key = '4002'",
                                         shop.shop_id), what="high-demand alert")
    await webhook(client, pool, shop, "products/update",
                  product(9001, [{"id": 4001, "inventory_item_id": 7001}], updated_at="2026-11-26T09:00:00Z"))
    await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
    await wait_for(lambda: sent_count(pool, shop, 1), what="batch 1 sent")
    await webhook(client, pool, shop, "customers/data_request",
                  {"shop_id": 1, "shop_domain": shop.domain, "customer": {"email": "ann@example.com"}})
    # A deleted signup keeps its unsubscribe link; an opt-out suppresses its contact.
    erin = await create_signup(api, shop, email="erin@example.com", variant_id=4003, item=7003)
    assert (await api.delete(f"/back_in_stock/signups/{erin['id']}"))[0] in (200, 204)
    await pool.execute("INSERT INTO suppressions (shop_id, channel, contact, source) "
                       "VALUES ($1, 'email', 'erin@example.com', 'one_click')", shop.shop_id)


async def test_shop_redact_erases_every_row_of_the_shop(client, api, pool, make_shop, providers):
    gone, kept = await make_shop(plan="lite"), await make_shop(plan="lite")
    async with running_workers(providers.config):
        await fill_shop(client, api, pool, gone)
        await fill_shop(client, api, pool, kept)
        for shop in (gone, kept):  # report deltas into the rollups, as a report would
            await pool.execute("SELECT report_rollups_fold($1)", shop.shop_id)
        before = await rows_per_table(pool, gone.shop_id)
        kept_before = await rows_per_table(pool, kept.shop_id)
        # Every table the service writes has rows of the shop (so the check below means something);
        # report deltas are transient (just folded).
        empty = {t for t, n in before.items() if n == 0}
        assert not empty - {"orders", "order_attributions", "report_signup_deltas", "report_notification_deltas"}, \
            empty
        # Shopify sends shop/redact 48 hours after app/uninstalled.
        await webhook(client, pool, gone, "app/uninstalled", {"id": 1, "domain": gone.domain})
        webhook_id = str(uuid.uuid4())
        status, _ = await send_webhook(client, gone, "shop/redact", {"shop_id": 1, "shop_domain": gone.domain},
                                       webhook_id=webhook_id)
        assert status == 200
        await wait_for(lambda: _shop_gone(pool, gone), what="shop redacted")
    assert await rows_per_table(pool, gone.shop_id) == {t: 0 for t in before}
    assert await rows_per_table(pool, kept.shop_id) == kept_before
    status, _, _ = await api.with_key(gone.api_key).get("/back_in_stock/signups")
    assert status == 401


async def _shop_gone(pool, shop):
    return not await pool.fetchval("SELECT count(*) FROM shops WHERE shop_id = $1", shop.shop_id)


async def table_snapshot(pool, shop) -> dict[str, list]:
    out = {}
    for table in await tenant_tables(pool):
        if table in ("webhook_events", "data_requests"):
            continue  # the request itself is recorded there, and its export
        out[table] = sorted(map(str, await pool.fetch(f'SELECT * FROM "{table}" WHERE shop_id = $1',
                                                      shop.shop_id)))
    return out


async def test_customers_data_request_exports_for_the_merchant_and_changes_nothing(client, api, pool, shop,
                                                                                 providers):
    await create_signup(api, shop, email="ann@example.com")
    await create_signup(api, shop, email="ann@example.com", variant_id=4002, item=7002)
    await create_signup(api, shop, email="bob@example.com")
    async with running_workers(providers.config):
        await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: sent_count(pool, shop, 2), what="alerts sent")
        await wait_for(lambda: _jobs_finished(pool, shop), what="restock finished")
        before = await table_snapshot(pool, shop)
        outcome = await webhook(client, pool, shop, "customers/data_request",
                                {"shop_id": 1, "shop_domain": shop.domain, "orders_requested": [],
                                 "customer": {"id": 555, "email": "ann@example.com", "phone": None},
                                 "data_request": {"id": 9}})
    request_id = outcome.split()[2].rstrip(":")
    assert outcome == f"data request {request_id}: 1 customers, 2 signups, 1 notifications, 0 orders exported"
    assert await table_snapshot(pool, shop) == before

    # The merchant reads the export with the shop's key.
    status, listed, _ = await api.get("/back_in_stock/data_requests")
    assert status == 200 and [(r["id"], r["shopify_request_id"]) for r in listed["data_requests"]] == \
        [(request_id, 9)]
    assert listed["data_requests"][0]["counts"] == {"customers": 1, "signups": 2, "notifications": 1, "orders": 0}
    status, body, _ = await api.get(f"/back_in_stock/data_requests/{request_id}")
    assert status == 200, body
    export = body["export"]
    assert [c["email"] for c in export["customers"]] == ["ann@example.com"]
    assert {s["contact"] for s in export["signups"]} == {"ann@example.com"} and len(export["signups"]) == 2
    assert [(n["contact"], n["status"]) for n in export["notifications"]] == [("ann@example.com", "sent")]
    assert "bob@example.com" not in str(body)


async def _jobs_finished(pool, shop):
    return not await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE shop_id = $1 AND status IN ('queued', 'running')", shop.shop_id)


async def test_products_delete_marks_variants_deleted(client, api, pool, shop, providers):
    await create_signup(api, shop, email="ann@example.com")
    async with running_workers(providers.config):
        await webhook(client, pool, shop, "products/create", product(
            9001, [{"id": 4001, "inventory_item_id": 7001}, {"id": 4002, "inventory_item_id": 7002}],
            updated_at="2026-11-26T09:00:00Z"))
        await webhook(client, pool, shop, "products/create", product(
            9002, [{"id": 4003, "inventory_item_id": 7003}], updated_at="2026-11-26T09:00:00Z"))
        assert await webhook(client, pool, shop, "products/delete", {"id": 9001}) == "product deleted"
        deleted = dict(await pool.fetch(
            "SELECT variant_id, deleted_at IS NOT NULL FROM variants WHERE shop_id = $1", shop.shop_id))
        assert deleted == {4001: True, 4002: True, 4003: False}
        # Stock for a deleted variant is no restock.
        outcome = await webhook(client, pool, shop, "inventory_levels/update", inventory_update(7001, 5))
    assert outcome == "ignored: item unknown to the catalog"
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1", shop.shop_id) == 0
    assert providers.smtp.received == []
