"""Scheduled report emails (alerts.report_emails) through an SMTP stand-in:
the summary of the last complete period, once per period and recipient
whatever the number of runs and runtimes."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from dispatcher.report_emails import last_period, send_due_reports
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import running_workers
from tests.report_support import order, restock, send_order, signup
from tests.stand_ins import SmtpStandIn

RECIPIENTS = ["owner@example.com", "ops@example.com"]
UTC = dt.timezone.utc


@pytest.fixture
async def smtp():
    async with SmtpStandIn() as server:
        yield server


async def runtimes(config, n: int):
    return [await build_runtime(config, Tuning()) for _ in range(n)]


async def enable(api, frequency: str, recipients=RECIPIENTS) -> None:
    status, body, _ = await api.patch("/back_in_stock/settings/alerts", json={
        "report_emails": {"frequency": frequency, "recipients": recipients}})
    assert status == 200, body


def reports_in(smtp) -> list:
    return [m for m in smtp.received if m.rcpt_tos[0] in RECIPIENTS]


async def test_daily_summary_once_per_recipient(client, api, pool, make_shop, config, smtp):
    cfg = dataclasses.replace(config, smtp_url=smtp.url)
    shop = await make_shop(plan="pro", timezone="Europe/Paris", name="Acme")
    api = api.with_key(shop.api_key)
    await enable(api, "daily")
    await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email="a@example.com", title="Shirt")
    await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email="b@example.com", title="Shirt")
    await signup(api, shop, variant_id=4002, product_id=9002, item=7002, email="c@example.com", title="Hat")
    async with running_workers(config):
        await restock(client, pool, shop, 7001)
        await send_order(client, pool, shop, order(3001, [{"variant_id": 4001, "price": "20.00"}],
                                                   email="a@example.com"))
    smtp.received.clear()  # the alerts themselves went to the console provider; keep only reports
    # Tomorrow, today is the last complete day.
    tomorrow = dt.datetime.now(UTC) + dt.timedelta(days=1)
    first, _ = last_period("daily", tomorrow, "Europe/Paris")
    rts = await runtimes(cfg, 2)
    try:
        runs = await asyncio.gather(*(send_due_reports(rt, tomorrow) for rt in rts))
        again = await send_due_reports(rts[0], tomorrow)
    finally:
        for rt in rts:
            await close_runtime(rt)
    assert sorted(runs) == [0, 1] and again == 0
    mails = reports_in(smtp)
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(RECIPIENTS)
    msg = mails[0].message
    assert msg["Subject"] == f"Back-in-stock daily report: Acme, {first}"
    body = msg.get_content()
    for line in ("New signups: 3 (1 still waiting, 2 alerted)", "Alerts sent: 2",
                 "Conversions: 1 orders, 20.00 USD recovered (conversion rate 50.0%)",
                 "Plan: pro, 2 alerts used this month (of 10000)",
                 "- Shirt - M / Blue: 2 signups, 0 waiting", "- Hat - M / Blue: 1 signups, 1 waiting"):
        assert line in body, body
    assert body.index("Shirt") < body.index("Hat")  # top products by signups
    assert await pool.fetchval("SELECT count(*) FROM merchant_alerts WHERE shop_id = $1 AND kind = 'report_daily' "
                               "AND key = $2", shop.shop_id, first.isoformat()) == 1


async def test_weekly_sends_each_week_once(api, pool, shop, config, smtp):
    cfg = dataclasses.replace(config, smtp_url=smtp.url)
    await enable(api, "weekly")
    monday = dt.datetime(2026, 11, 23, 9, tzinfo=UTC)
    [rt] = await runtimes(cfg, 1)
    try:
        sent = [await send_due_reports(rt, monday + dt.timedelta(days=d)) for d in (0, 2, 6, 7)]
    finally:
        await close_runtime(rt)
    assert sent == [1, 0, 0, 1]  # the week of Nov 16, then (a week later) the week of Nov 23
    # .strip(): the stdlib folds a long Subject right after "Subject:", leaving a leading space.
    subjects = sorted({m.message["Subject"].strip() for m in reports_in(smtp)})
    assert subjects == ["Back-in-stock weekly report: " + shop_name(shop) + ", 2026-11-16 to 2026-11-22",
                        "Back-in-stock weekly report: " + shop_name(shop) + ", 2026-11-23 to 2026-11-29"]
    assert len(reports_in(smtp)) == 4
    assert "No new signups in this period." in reports_in(smtp)[0].message.get_content()


def shop_name(shop) -> str:
    return shop.domain.split(".")[0]  # admin.create_shop's default name


async def test_nothing_when_off_without_recipients_or_uninstalled(api, pool, shop, make_shop, config, smtp):
    cfg = dataclasses.replace(config, smtp_url=smtp.url)
    await enable(api, "monthly", recipients=[])
    other = await make_shop()
    other_api = api.with_key(other.api_key)
    await enable(other_api, "daily")
    await pool.execute("UPDATE shops SET uninstalled_at = now() WHERE shop_id = $1", other.shop_id)
    [rt] = await runtimes(cfg, 1)
    try:
        assert await send_due_reports(rt) == 0
        await enable(api, "off")
        assert await send_due_reports(rt) == 0
    finally:
        await close_runtime(rt)
    assert smtp.received == []


@pytest.mark.parametrize("frequency,expected", [
    ("daily", ("2026-02-28", "2026-02-28")),
    ("weekly", ("2026-02-16", "2026-02-22")),
    ("monthly", ("2026-02-01", "2026-02-28")),
])
def test_last_period_is_in_the_shops_timezone(frequency, expected):
    # 03:00 UTC on Monday March 2 is still Sunday March 1 in Los Angeles.
    now = dt.datetime(2026, 3, 2, 3, tzinfo=UTC)
    first, last = last_period(frequency, now, "America/Los_Angeles")
    assert (first.isoformat(), last.isoformat()) == expected
    assert last_period("daily", now, "UTC")[0].isoformat() == "2026-03-01"
