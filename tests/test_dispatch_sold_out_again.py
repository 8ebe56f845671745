"""Sold out again before the send: a restock's first batch and a reminder
are checked against the freshest level we hold, not the one that started them."""
from __future__ import annotations

import uuid

from dispatcher.reminders import schedule_reminders
from dispatcher.runtime import Tuning
from dispatcher.webhooks.process import process_webhook
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import FAST, create_signup, finished_job, running_workers, wait_for
from tests.shopify import inventory_update, send_webhook


async def statuses(pool, shop, trigger):
    rows = await pool.fetch("SELECT status, blocked_reason FROM notifications WHERE shop_id = $1 AND trigger = $2",
                            shop.shop_id, trigger)
    return sorted((r["status"], r["blocked_reason"]) for r in rows)


async def handle_webhooks(pool, config, shop):
    """The stored events handled now, without workers: the jobs they start wait in the queue."""
    rt = await build_runtime(config, Tuning(**FAST))
    try:
        for row in await pool.fetch("SELECT webhook_id FROM webhook_events WHERE shop_id = $1 "
                                    "AND processed_at IS NULL ORDER BY received_at", shop.shop_id):
            await process_webhook(rt, shop.shop_id, row["webhook_id"])
    finally:
        await close_runtime(rt)


async def test_a_restock_sold_out_before_its_first_batch_sends_nothing(client, api, pool, shop, config):
    signups = [await create_signup(api, shop, email=f"c{i}@example.com") for i in range(3)]
    await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 2))
    await handle_webhooks(pool, config, shop)
    job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
    # Gone again before any worker took the job.
    await send_webhook(client, shop, "inventory_levels/update",
                       inventory_update(7001, 0, updated_at="2026-11-26T10:05:00Z"))
    await handle_webhooks(pool, config, shop)
    async with running_workers(config):
        job = await wait_for(lambda: finished_job(api, str(job_id)), what="the restock job done")
    assert job["counts"] == {"sent": 0, "failed": 0, "blocked": 3}
    assert await statuses(pool, shop, "restock") == [("blocked", "sold_out")] * 3
    # Still waiting for the next restock (shown as blocked until then).
    waiting = await pool.fetchval("SELECT count(*) FROM signups WHERE shop_id = $1 AND last_notified_at IS NULL "
                                  "AND signup_id = ANY($2::uuid[])", shop.shop_id,
                                  [uuid.UUID(s["id"]) for s in signups])
    assert waiting == 3


async def test_a_reminder_for_a_variant_sold_out_since_it_was_scheduled_is_blocked(
        client, api, pool, shop, config):
    status, _, _ = await api.patch("/back_in_stock/settings/delivery",
                                   json={"reminders": {"enabled": True, "after_days": [1]}})
    assert status == 200
    first = await create_signup(api, shop, email="ann@example.com")
    other = await create_signup(api, shop, email="bob@example.com", variant_id=4002, item=7002)
    async with running_workers(config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7002, 5))
        await wait_for(lambda: _sent(pool, shop, 2), what="first alerts")
    await pool.execute("UPDATE signups SET first_notified_at = first_notified_at - interval '2 days' "
                       "WHERE signup_id = ANY($1::uuid[])", [uuid.UUID(first["id"]), uuid.UUID(other["id"])])
    rt = await build_runtime(config, Tuning(**FAST))
    try:
        assert await schedule_reminders(rt) == 2  # both in stock when scheduled
    finally:
        await close_runtime(rt)
    # 4001 sells out before the reminder job runs.
    await send_webhook(client, shop, "inventory_levels/update",
                       inventory_update(7001, 0, updated_at="2026-11-26T12:00:00Z"))
    await handle_webhooks(pool, config, shop)
    job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1 AND kind = 'reminder'", shop.shop_id)
    async with running_workers(config):
        job = await wait_for(lambda: finished_job(api, str(job_id)), what="the reminder job done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 1}
    rows = await pool.fetch("SELECT signup_id, status, blocked_reason FROM notifications "
                            "WHERE shop_id = $1 AND trigger = 'reminder'", shop.shop_id)
    assert {(str(r["signup_id"]), r["status"], r["blocked_reason"]) for r in rows} == {
        (first["id"], "blocked", "sold_out"), (other["id"], "sent", None)}


async def _sent(pool, shop, n):
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                               shop.shop_id) >= n
