"""One shop's history, made through the API and webhooks, and what every report
must say about it (computed here in plain Python from the scenario's own
description, not from the rollups).

Shop timezone America/New_York. D0 is today there, Dn is n days before.

| signup | variant/product | channel | created | becomes |
|---|---|---|---|---|
| a1 | 4001/9001 | email | D0 noon | alerted, link clicked |
| a2 | 4001/9001 | email | D1 23:30 (D0 in UTC) | alerted, bought (medium, 20.00) |
| a3 | 4001/9001 | email | D10 noon | alerted (alert moved to D10) |
| a4 | 4001/9001 | sms | D1 noon | blocked: channel_disabled (still waiting) |
| b1 | 4002/9001 | email | D1 noon | alerted, bought through the link (high, 2 x 15.00) |
| b2 | 4002/9001 | email | D40 noon | alerted (alert moved to D40) |
| c1 | 5001/9002 | email | D10 noon | waiting |
| c2 | 5001/9002 | push | D0 noon | waiting |
| c3 | 5001/9002 | email | D0 noon | unsubscribed |
| d1 | 5001/9002 | email | D0 noon | awaiting opt-in |
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from shared_models import tokens
from tests.dispatch_support import running_workers
from tests.report_support import created_on, local_noon, local_today, notification_of, order, restock, send_order, \
    signup, utm_landing

TZ = "America/New_York"


@dataclass
class Spec:
    name: str
    variant: int
    product: int
    item: int
    channel: str
    days_ago: int
    state: str  # pending | notified | converted | unsubscribed | unconfirmed
    local_time: dt.time = dt.time(12)
    alert_days_ago: int | None = None  # the alert's created_at day, when alerted
    alert_status: str | None = None
    blocked_reason: str | None = None
    clicked: bool = False
    signup_id: str = ""
    created_at: dt.datetime | None = None

    def day(self, today: dt.date) -> dt.date:
        return today - dt.timedelta(days=self.days_ago)


SPECS = [
    Spec("a1", 4001, 9001, 7001, "email", 0, "notified", alert_days_ago=0, alert_status="sent", clicked=True),
    Spec("a2", 4001, 9001, 7001, "email", 1, "converted", dt.time(23, 30), alert_days_ago=0, alert_status="sent"),
    Spec("a3", 4001, 9001, 7001, "email", 10, "notified", alert_days_ago=10, alert_status="sent"),
    Spec("a4", 4001, 9001, 7001, "sms", 1, "pending", alert_days_ago=0, alert_status="blocked",
         blocked_reason="channel_disabled"),
    Spec("b1", 4002, 9001, 7002, "email", 1, "converted", alert_days_ago=0, alert_status="sent"),
    Spec("b2", 4002, 9001, 7002, "email", 40, "notified", alert_days_ago=40, alert_status="sent"),
    Spec("c1", 5001, 9002, 7003, "email", 10, "pending"),
    Spec("c2", 5001, 9002, 7003, "push", 0, "pending"),
    Spec("c3", 5001, 9002, 7003, "email", 0, "unsubscribed"),
    Spec("d1", 5001, 9002, 7003, "email", 0, "unconfirmed"),
]
# order id, confidence, product, units, revenue (all placed now, i.e. on D0)
ORDERS = [(2001, "medium", 9001, 1, "20.00", 4001), (2002, "high", 9001, 2, "30.00", 4002)]


@dataclass
class Scenario:
    today: dt.date
    specs: dict[str, Spec] = field(default_factory=dict)


def _contact(spec: Spec) -> dict[str, Any]:
    if spec.channel == "sms":
        return {"phone": "+14155550123", "email": None}
    if spec.channel == "push":
        return {"push_token": f"push-{spec.name}", "email": None}
    return {"email": f"{spec.name}@example.com"}


async def build(client: Any, api: Any, pool: Any, shop: Any, config: Any) -> Scenario:
    scenario = Scenario(local_today(TZ))
    for spec in SPECS:
        if spec.name == "d1":
            await api.patch("/back_in_stock/settings/compliance", json={"optin_required": True})
        spec.signup_id = await signup(api, shop, variant_id=spec.variant, product_id=spec.product, item=spec.item,
                                      channel=spec.channel, **_contact(spec))
        if spec.name == "d1":
            await api.patch("/back_in_stock/settings/compliance", json={"optin_required": False})
        scenario.specs[spec.name] = spec
    c3 = scenario.specs["c3"]
    token = tokens.sign("unsubscribe", shop.shop_id, uuid.UUID(c3.signup_id), config.secret_key)
    assert (await client.post(f"/u/{token}")).status == 200
    async with running_workers(config):
        await restock(client, pool, shop, 7001, 7002)
        a1_alert = (await notification_of(pool, scenario.specs["a1"].signup_id))["notification_id"]
        b1_alert = (await notification_of(pool, scenario.specs["b1"].signup_id))["notification_id"]
        click = tokens.sign("click", shop.shop_id, a1_alert, config.secret_key)
        assert (await client.get(f"/t/{click}", allow_redirects=False)).status == 302
        await send_order(client, pool, shop, order(2001, [{"variant_id": 4001, "product_id": 9001, "price": "20.00"}],
                                                   email="a2@example.com"))
        await send_order(client, pool, shop, order(2002, [{"variant_id": 4002, "product_id": 9001, "price": "15.00",
                                                           "quantity": 2}],
                                                   email="someone@example.com", landing_site=utm_landing(b1_alert)))
    # Into the past (see tests/report_support.py for why SQL).
    for spec in scenario.specs.values():
        when = dt.datetime.combine(spec.day(scenario.today), spec.local_time, ZoneInfo(TZ))
        spec.created_at = when
        await created_on(pool, spec.signup_id, when)
        if spec.alert_days_ago:
            await pool.execute("UPDATE notifications SET created_at = $2 WHERE signup_id = $1",
                               uuid.UUID(spec.signup_id), local_noon(scenario.today - dt.timedelta(
                                   days=spec.alert_days_ago), TZ))
    return scenario


def period(day: dt.date, granularity: str) -> str:
    if granularity == "week":
        day -= dt.timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    return day.isoformat()


def _selected(spec: Spec, day: dt.date, first: dt.date, last: dt.date, f: dict[str, Any]) -> bool:
    return (first <= day <= last and f.get("variant_id", spec.variant) == spec.variant
            and f.get("product_id", spec.product) == spec.product and f.get("channel", spec.channel) == spec.channel)


def expected_signups(s: Scenario, first: dt.date, last: dt.date, granularity: str = "day", **f: Any) -> list[dict]:
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for spec in s.specs.values():
        day = spec.day(s.today)
        if not _selected(spec, day, first, last, f):
            continue
        row = rows[(period(day, granularity), spec.channel)]
        row["signups"] += 1
        row[{"converted": "notified", "unconfirmed": "awaiting_optin"}.get(spec.state, spec.state)] += 1
        row["converted"] += spec.state == "converted"
    keys = ("signups", "pending", "notified", "converted", "unsubscribed", "awaiting_optin")
    return [{"period": p, "channel": c, **{k: rows[(p, c)][k] for k in keys}} for p, c in sorted(rows)]


def expected_notifications(s: Scenario, first: dt.date, last: dt.date, granularity: str = "day", **f: Any
                           ) -> list[dict]:
    reasons = ("plan_limit", "channel_disabled", "optin_unconfirmed", "unsubscribed", "country_not_allowed",
               "sold_out", "not_published")
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for spec in s.specs.values():
        if spec.alert_status is None:
            continue
        day = s.today - dt.timedelta(days=spec.alert_days_ago or 0)
        if not _selected(spec, day, first, last, f):
            continue
        row = rows[(period(day, granularity), spec.channel)]
        row["attempts"] += 1
        row[spec.alert_status] += 1
        if spec.blocked_reason:
            row[f"blocked_{spec.blocked_reason}"] += 1
        row["clicked"] += spec.clicked
    out = []
    for p, c in sorted(rows):
        r = rows[(p, c)]
        out.append({"period": p, "channel": c, "attempts": r["attempts"], "sent": r["sent"], "failed": r["failed"],
                    "sending": r["sending"], "blocked": r["blocked"],
                    **{f"blocked_{x}": r[f"blocked_{x}"] for x in reasons},
                    "clicked": r["clicked"], "click_rate": round(r["clicked"] / r["sent"], 4) if r["sent"] else 0})
    return out
