"""Merchant emails through real workers to alerts.report_emails.recipients:
high demand (once per variant per wave of demand) and the usage warning (once
a month). Neither is an alert: no notification rows, no plan usage."""
from __future__ import annotations

import uuid

from dispatcher.merchant import merchant_alert
from shared_models.allowance import current_month
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from shared_models import tokens
from tests.dispatch_support import (
    create_signup,
    finished_job,
    queue_drained,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, send_webhook

RECIPIENTS = ["owner@example.com", "buyer@example.com"]


def merchant_mail(providers) -> list:
    return [m for m in providers.smtp.received if m.rcpt_tos[0] in RECIPIENTS]


def customer_mail(providers) -> list:
    return [m for m in providers.smtp.received if m.rcpt_tos[0] not in RECIPIENTS]


async def merchant_count(providers, n):
    found = merchant_mail(providers)
    return found if len(found) >= n else None


async def direct_alert(config, shop, kind, key) -> bool:
    rt = await build_runtime(config, Tuning())
    try:
        return await merchant_alert(rt, shop.shop_id, kind, key)
    finally:
        await close_runtime(rt)


async def test_high_demand_once_per_wave(client, api, pool, redis, shop, providers):
    status, _, _ = await api.patch("/back_in_stock/settings/alerts", json={
        "high_demand": {"enabled": True, "threshold": 3}, "report_emails": {"recipients": RECIPIENTS}})
    assert status == 200
    config = providers.config
    async with running_workers(config):
        for i in range(2):
            await create_signup(api, shop, email=f"c{i}@example.com")
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
        assert merchant_mail(providers) == []  # 2 waiting: below the threshold
        await create_signup(api, shop, email="c2@example.com")
        mails = await wait_for(lambda: merchant_count(providers, 2), what="high-demand emails")
        assert sorted(m.rcpt_tos[0] for m in mails) == sorted(RECIPIENTS)
        msg = mails[0].message
        assert msg["Subject"] == "High demand: Linen shirt - M / Blue"
        assert "3 customers are waiting for Linen shirt - M / Blue" in msg.get_content()

        # A 4th waiting signup is the same wave: no second email.
        await create_signup(api, shop, email="c3@example.com")
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
        assert len(merchant_mail(providers)) == 2
        assert await direct_alert(config, shop, "high_demand", "4001") is False

        # A restock alerts the four; demand that builds up again is a new wave.
        await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5))
        await wait_for(lambda: _customer_count(providers, 4), what="restock alerts")
        for i in range(3):
            await create_signup(api, shop, email=f"again{i}@example.com")
        await wait_for(lambda: merchant_count(providers, 4), what="second wave emails")
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
    assert len(merchant_mail(providers)) == 4
    assert "3 customers are waiting" in merchant_mail(providers)[-1].message.get_content()
    # Not alerts: only the four customer alerts are notification rows and plan usage.
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1", shop.shop_id) == 4
    assert await pool.fetchval("SELECT sum(used) FROM plan_usage WHERE shop_id = $1", shop.shop_id) == 4


async def _customer_count(providers, n):
    return len(customer_mail(providers)) >= n


async def test_high_demand_disabled_sends_nothing(api, redis, shop, providers):
    status, _, _ = await api.patch("/back_in_stock/settings/alerts", json={
        "high_demand": {"enabled": False, "threshold": 1}, "report_emails": {"recipients": RECIPIENTS}})
    assert status == 200
    async with running_workers(providers.config):
        await create_signup(api, shop, email="c0@example.com")
        await wait_for(lambda: queue_drained(redis, providers.config), what="queue drained")
    assert providers.smtp.received == []
    assert await direct_alert(providers.config, shop, "high_demand", "4001") is False


async def bulk_notify(api, ids) -> dict:
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": ids})
    assert status == 202 and body["accepted_count"] == len(ids), body
    return await wait_for(lambda: finished_job(api, body["job_id"]), what="bulk notify done")


async def test_usage_warning_once_a_month(api, pool, redis, shop, providers):
    """Free plan (50 a month), warning at the default 80%: the 40th sent alert."""
    status, alerts, _ = await api.patch("/back_in_stock/settings/alerts",
                                        json={"report_emails": {"recipients": ["owner@example.com"]}})
    assert status == 200 and alerts["usage_warning"] == {"enabled": True, "percent": 80}
    ids = [(await create_signup(api, shop, email=f"c{i}@example.com"))["id"] for i in range(45)]
    config = providers.config
    async with running_workers(config, chunk_size=5):
        job = await bulk_notify(api, ids[:39])
        assert job["counts"]["sent"] == 39
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
        assert [m for m in providers.smtp.received if m.rcpt_tos == ["owner@example.com"]] == []

        await bulk_notify(api, ids[39:40])
        [warning] = await wait_for(lambda: _warnings(providers, 1), what="usage warning")
        msg = warning.message
        assert msg["Subject"] == "You have used 80% of this month's alerts"
        assert "has sent 40 of the 50 back-in-stock alerts" in msg.get_content()

        job = await bulk_notify(api, ids[40:])
        assert job["counts"]["sent"] == 5
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
    assert len(await _warnings(providers, 1)) == 1
    assert await direct_alert(config, shop, "usage_warning", current_month("UTC").isoformat()) is False
    assert await pool.fetchval("SELECT sum(used) FROM plan_usage WHERE shop_id = $1", shop.shop_id) == 45
    assert len(providers.smtp.received) == 46


async def _warnings(providers, n):
    found = [m for m in providers.smtp.received if m.rcpt_tos == ["owner@example.com"]]
    return found if len(found) >= n else None


async def test_high_demand_counts_only_confirmed_optins(client, api, redis, shop, providers):
    """With opt-in required, an unconfirmed signup is not waiting yet: the
    threshold is reached when enough of them have confirmed."""
    status, _, _ = await api.patch("/back_in_stock/settings", json={
        "compliance": {"optin_required": True},
        "alerts": {"high_demand": {"enabled": True, "threshold": 2}, "report_emails": {"recipients": RECIPIENTS}}})
    assert status == 200
    config = providers.config
    async with running_workers(config):
        signups = [await create_signup(api, shop, email=f"c{i}@example.com") for i in range(2)]
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
        assert merchant_mail(providers) == []  # two confirmations went out, no high-demand email
        assert len(customer_mail(providers)) == 2
        assert await direct_alert(config, shop, "high_demand", "4001") is False
        await client.post(f"/optin/{optin_token(config, shop, signups[0])}")
        await wait_for(lambda: queue_drained(redis, config), what="queue drained")
        assert merchant_mail(providers) == []
        await client.post(f"/optin/{optin_token(config, shop, signups[1])}")
        mails = await wait_for(lambda: merchant_count(providers, 2), what="high-demand emails")
    assert "2 customers are waiting" in mails[0].message.get_content()


def optin_token(config, shop, signup) -> str:
    return tokens.sign("optin", shop.shop_id, uuid.UUID(signup["id"]), config.secret_key)
