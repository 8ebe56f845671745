"""Reminders through real workers: `after_days` after the first alert, to
alerted signups that have not bought, while the variant is in stock."""
from __future__ import annotations

import uuid

from dispatcher.reminders import schedule_reminders
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import (
    FAST,
    create_signup,
    finished_job,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, send_webhook


async def sent_count(pool, shop, n):
    return await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'", shop.shop_id) >= n


async def processed(pool, shop):
    return not await pool.fetchval(
        "SELECT count(*) FROM webhook_events WHERE shop_id = $1 AND processed_at IS NULL", shop.shop_id)


async def test_reminder_once_to_alerted_signups_that_did_not_buy(client, api, pool, shop, providers):
    status, delivery, _ = await api.patch("/back_in_stock/settings/delivery",
                                          json={"reminders": {"enabled": True, "after_days": [1]}})
    assert status == 200 and delivery["reminders"] == {"enabled": True, "after_days": [1]}
    due = await create_signup(api, shop, email="ann@example.com")
    bought = await create_signup(api, shop, email="bob@example.com")
    sold_out = await create_signup(api, shop, email="carol@example.com", variant_id=4002, item=7002)
    recent = await create_signup(api, shop, email="dan@example.com")
    config = providers.config
    async with running_workers(config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7002, 5))
        await wait_for(lambda: sent_count(pool, shop, 4), what="first alerts")
        # 4002 sells out again; bob buys (what an attributed orders/create records).
        await send_webhook(client, shop, "inventory_levels/update",
                           inventory_update(7002, 0, updated_at="2026-11-26T12:00:00Z"))
        await wait_for(lambda: processed(pool, shop), what="sold out processed")
        await pool.execute("UPDATE signups SET purchased_at = now() WHERE signup_id = $1", uuid.UUID(bought["id"]))
        # A test can't wait a day: move the first alert of all but dan two days back,
        # as if it had been sent then (reminders are due after_days after it).
        await pool.execute("UPDATE signups SET first_notified_at = first_notified_at - interval '2 days' "
                           "WHERE signup_id = ANY($1::uuid[])",
                           [uuid.UUID(s["id"]) for s in (due, bought, sold_out)])

        rt = await build_runtime(config, Tuning(**FAST))
        try:
            assert await schedule_reminders(rt) == 1
            job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1 AND kind = 'reminder'",
                                         shop.shop_id)
            job = await wait_for(lambda: finished_job(api, str(job_id)), what="reminder job done")
            # The same day again: nothing more.
            assert await schedule_reminders(rt) == 0
        finally:
            await close_runtime(rt)

    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    status, listed, _ = await api.get("/back_in_stock/notifications", params={"trigger": "reminder"})
    [reminder] = listed["notifications"]
    assert (reminder["signup_id"], reminder["status"], reminder["provider"], reminder["job_id"]) == \
        (due["id"], "sent", "smtp", str(job_id))
    assert (reminder["batch"], reminder["attempt"]) == (1, 1)
    assert [m.rcpt_tos[0] for m in providers.smtp.received].count("ann@example.com") == 2
    assert len(providers.smtp.received) == 5
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE shop_id = $1 AND kind = 'reminder'",
                               shop.shop_id) == 1
    status, signup, _ = await api.get(f"/back_in_stock/signups/{due['id']}")
    assert signup["notifications_sent"] == 2 and signup["status"] == "notified"
    for other in (bought, sold_out, recent):
        status, signup, _ = await api.get(f"/back_in_stock/signups/{other['id']}")
        assert signup["notifications_sent"] == 1
    # Reminders count against the plan like any alert.
    assert await pool.fetchval("SELECT sum(used) FROM plan_usage WHERE shop_id = $1", shop.shop_id) == 5


async def test_reminders_disabled_schedule_nothing(client, api, pool, shop, providers):
    await create_signup(api, shop, email="ann@example.com")
    async with running_workers(providers.config):
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: sent_count(pool, shop, 1), what="alert")
    await pool.execute("UPDATE signups SET first_notified_at = now() - interval '10 days'")
    rt = await build_runtime(providers.config, Tuning())
    try:
        assert await schedule_reminders(rt) == 0
    finally:
        await close_runtime(rt)
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE kind = 'reminder'") == 0
