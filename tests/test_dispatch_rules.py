"""Channel and plan rules through real workers: each refusal is a `blocked`
row with its reason, never reaches a provider, and leaves the signup waiting."""
from __future__ import annotations

from tests.dispatch_support import (
    create_signup,
    finished_job,
    job_notifications,
    notify,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, product, send_webhook
from tests.stand_ins import Reply


async def plan_used(pool, shop) -> int:
    return await pool.fetchval("SELECT coalesce(sum(used), 0) FROM plan_usage WHERE shop_id = $1", shop.shop_id)


async def set_used(pool, shop, used: int) -> None:
    """This month's usage (the shop's timezone is UTC)."""
    await pool.execute("INSERT INTO plan_usage (shop_id, month, used) "
                       "VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2)", shop.shop_id, used)


async def signup_status(api, signup_id) -> str:
    status, body, _ = await api.get(f"/back_in_stock/signups/{signup_id}")
    assert status == 200, body
    return body["status"]


async def notify_and_wait(api, signup_id) -> tuple[dict, str]:
    job_id = await notify(api, signup_id)
    return await wait_for(lambda: finished_job(api, job_id), what="notify done"), job_id


def blocked(rows) -> list[tuple]:
    return [(r["status"], r["blocked_reason"], r["provider"], r["error"]) for r in rows]


async def test_email_disabled_blocks_then_sends_once_enabled(api, pool, shop, providers):
    signup = await create_signup(api, shop, email="ann@example.com")
    status, _, _ = await api.patch("/back_in_stock/settings/channels", json={"email": {"enabled": False}})
    assert status == 200
    async with running_workers(providers.config):
        job, job_id = await notify_and_wait(api, signup["id"])
        assert job["counts"] == {"sent": 0, "failed": 0, "blocked": 1}
        assert blocked(await job_notifications(pool, job_id)) == [("blocked", "channel_disabled", None, None)]
        assert providers.smtp.received == [] and await plan_used(pool, shop) == 0
        assert await signup_status(api, signup["id"]) == "blocked"  # still waiting
        status, _, _ = await api.patch("/back_in_stock/settings/channels", json={"email": {"enabled": True}})
        job, _ = await notify_and_wait(api, signup["id"])
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    assert [m.rcpt_tos for m in providers.smtp.received] == [["ann@example.com"]]
    assert await signup_status(api, signup["id"]) == "notified"


async def test_sms_signup_with_sms_disabled_is_blocked(api, pool, make_shop, providers):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    signup = await create_signup(api, shop, channel="sms", phone="+14155550123")
    async with running_workers(providers.config):
        job, job_id = await notify_and_wait(api, signup["id"])
    assert job["counts"] == {"sent": 0, "failed": 0, "blocked": 1}
    assert blocked(await job_notifications(pool, job_id)) == [("blocked", "channel_disabled", None, None)]
    assert providers.twilio.posts == []
    assert await signup_status(api, signup["id"]) == "blocked"


async def test_downgrade_turns_off_what_the_plan_no_longer_allows(client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings", json={
        "channels": {"sms": {"enabled": True}}, "delivery": {"batch_size": 1, "batch_interval_minutes": 60}})
    assert status == 200
    sms = await create_signup(api, shop, channel="sms", phone="+14155550123", variant_id=4002, item=7002)
    emails = [await create_signup(api, shop, email=f"c{i}@example.com") for i in range(3)]
    await pool.execute("UPDATE shops SET plan = 'free' WHERE shop_id = $1", shop.shop_id)
    # Stored values stay; sending ignores them.
    status, settings, _ = await api.get("/back_in_stock/settings")
    assert settings["channels"]["sms"]["enabled"] is True and settings["delivery"]["batch_size"] == 1
    async with running_workers(providers.config):
        _, job_id = await notify_and_wait(api, sms["id"])
        assert blocked(await job_notifications(pool, job_id)) == [("blocked", "channel_disabled", None, None)]
        # No batching on free: a restock goes to everyone at once.
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: _sent(pool, shop, 3), what="restock sent")
        restock = await pool.fetchrow("SELECT * FROM jobs WHERE shop_id = $1 AND kind = 'restock'", shop.shop_id)
        await wait_for(lambda: finished_job(api, str(restock["job_id"])), what="restock done")
    assert providers.twilio.posts == []
    assert restock["total_batches"] == 1
    rows = await job_notifications(pool, str(restock["job_id"]))
    assert sorted(str(r["signup_id"]) for r in rows) == sorted(s["id"] for s in emails)
    assert {(r["status"], r["batch"]) for r in rows} == {("sent", 1)}


async def _sent(pool, shop, n):
    return await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'", shop.shop_id) >= n


async def test_failed_send_gives_its_plan_unit_back(api, pool, shop, providers):
    """Free plan (50 a month) with 49 used: a failed send must not use the last
    unit, so the next send still goes out, and the one after is plan_limit."""
    signups = [await create_signup(api, shop, email=f"c{i}@example.com") for i in range(3)]
    await set_used(pool, shop, 49)
    async with running_workers(providers.config):
        providers.smtp.data_reply = "554 5.6.0 content rejected"
        job, job_id = await notify_and_wait(api, signups[0]["id"])
        [row] = await job_notifications(pool, job_id)
        assert (row["status"], row["error"]) == ("failed", "SMTP 554 on DATA: 5.6.0 content rejected")
        assert await plan_used(pool, shop) == 49
        providers.smtp.data_reply = None
        job, job_id = await notify_and_wait(api, signups[1]["id"])
        assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
        assert await plan_used(pool, shop) == 50
        job, job_id = await notify_and_wait(api, signups[2]["id"])
    assert blocked(await job_notifications(pool, job_id)) == [("blocked", "plan_limit", None, None)]
    assert await plan_used(pool, shop) == 50
    assert len(providers.smtp.received) == 1
    assert [await signup_status(api, s["id"]) for s in signups] == ["pending", "notified", "blocked"]


async def test_transient_failures_hold_no_units(api, pool, shop, providers):
    """Free plan with 49 used: attempt 1 fails (a unit taken, then given back),
    attempt 2 takes the last unit and is sent."""
    signup = await create_signup(api, shop, channel="push", push_token="device-token-1")
    await api.patch("/back_in_stock/settings/channels", json={"push": {"enabled": True}})
    await set_used(pool, shop, 49)
    providers.push.replies.append(Reply(502, {"error": "bad gateway"}))
    async with running_workers(providers.config):
        _, job_id = await notify_and_wait(api, signup["id"])
    rows = await job_notifications(pool, job_id)
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed"), (2, "sent")]
    assert await plan_used(pool, shop) == 50


async def test_unpublished_before_a_later_batch_blocks_it(client, api, pool, make_shop, providers):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    status, _, _ = await api.patch("/back_in_stock/settings/delivery", json={
        "only_when_published": True, "batch_size": 1, "batch_interval_minutes": 30})
    assert status == 200
    first = await create_signup(api, shop, email="c0@example.com")
    second = await create_signup(api, shop, email="c1@example.com")
    live = product(9001, [{"id": 4001, "inventory_item_id": 7001}], updated_at="2026-11-26T09:00:00Z")
    async with running_workers(providers.config):
        await send_webhook(client, shop, "products/update", live)
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: _sent(pool, shop, 1), what="batch 1 sent")
        job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
        # Unpublished (still in stock) before batch 2 is due; then its time comes.
        draft = product(9001, [{"id": 4001, "inventory_item_id": 7001}], status="draft", published_at=None,
                        updated_at="2026-11-26T10:00:00Z")
        await send_webhook(client, shop, "products/update", draft)
        await wait_for(lambda: _processed(pool, shop, 3), what="unpublished")
        await pool.execute("UPDATE jobs SET next_run_at = now() WHERE job_id = $1", job_id)
        job = await wait_for(lambda: finished_job(api, str(job_id)), what="restock done")
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 1}
    rows = {str(r["signup_id"]): r for r in await job_notifications(pool, str(job_id))}
    assert (rows[first["id"]]["status"], rows[first["id"]]["batch"]) == ("sent", 1)
    assert blocked([rows[second["id"]]]) == [("blocked", "not_published", None, None)]
    assert rows[second["id"]]["batch"] == 2
    assert [m.rcpt_tos for m in providers.smtp.received] == [["c0@example.com"]]
    assert await signup_status(api, second["id"]) == "blocked"  # waits for the next restock


async def _processed(pool, shop, n):
    return await pool.fetchval("SELECT count(*) FROM webhook_events WHERE shop_id = $1 AND processed_at IS NOT NULL",
                               shop.shop_id) >= n
