"""The summary: cohort totals from the signups rollup (signups created in the
period and what became of them), alerts sent from the notifications rollup,
orders from order_attributions, and the plan's usage this month. Also what
the scheduled report emails send."""
from __future__ import annotations

from typing import Any

import asyncpg

from shared_models.reports import conversions
from shared_models.reports.window import Window, rollup_where
from shared_models import allowance
from shared_models.jsonutil import isoformat
from shared_models.plans import PLANS

SIGNUPS = """
SELECT COALESCE(sum(signups), 0)::bigint AS signups,
       COALESCE(sum(signups) FILTER (WHERE state = 'pending'), 0)::bigint AS pending,
       COALESCE(sum(signups) FILTER (WHERE state IN ('notified', 'converted')), 0)::bigint AS notified,
       COALESCE(sum(signups) FILTER (WHERE state = 'converted'), 0)::bigint AS converted
FROM report_signups_daily
WHERE {where}
"""
ALERTS_SENT = """
SELECT COALESCE(sum(attempts), 0)::bigint FROM report_notifications_daily WHERE {where} AND status = 'sent'
"""


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def plan_usage(pool: asyncpg.Pool | asyncpg.Connection, shop: Any) -> dict[str, Any]:
    month = allowance.current_month(shop.timezone)
    return {"name": shop.plan, "limit": PLANS[shop.plan].monthly_alerts,
            "used": await allowance.used(pool, shop.shop_id, month),
            "resets_at": isoformat(allowance.next_month_start(shop.timezone))}


async def totals(pool: asyncpg.Pool | asyncpg.Connection, shop: Any, query: dict[str, Any],
                 window: Window) -> dict[str, Any]:
    """The summary as JSON; `shop` is an api_service.context.Shop."""
    w = rollup_where(shop.shop_id, query, window)
    cohort = await pool.fetchrow(SIGNUPS.format(where=w.sql), *w.args)
    sent = await pool.fetchval(ALERTS_SENT.format(where=w.sql), *w.args)
    sql, args = conversions.totals(shop.shop_id, query, window)
    orders = await pool.fetchrow(sql, *args)
    return {
        **window.as_json(),
        "signups": cohort["signups"], "pending": cohort["pending"], "notified": cohort["notified"],
        "converted": cohort["converted"], "alerts_sent": sent,
        "conversions": orders["conversions"],
        "conversion_rate": rate(cohort["converted"], cohort["notified"]),
        "recovered_revenue": orders["recovered_revenue"], "currency": shop.currency,
        "plan": await plan_usage(pool, shop),
    }


def flat(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as its one CSV row (plan flattened to plan_*)."""
    out = {k: v for k, v in summary.items() if k != "plan"}
    out.update({f"plan_{k}": v for k, v in summary["plan"].items()})
    return out
