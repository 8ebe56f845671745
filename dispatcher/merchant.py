"""Merchant emails: high demand (once per variant per wave of demand) and the
plan usage warning (once a month), to alerts.report_emails.recipients."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from dispatcher.channels.base import ProviderError
from dispatcher.messages import render_merchant_email
from dispatcher.runtime import Runtime
from shared_models.context import Shop, read_shop
from shared_models.plans import PLANS
from shared_models.naming import display_name
from shared_models.settings import Settings
from shared_models.signup_states import WAITING

log = logging.getLogger("backinstock.dispatcher")

MARK = """
INSERT INTO merchant_alerts (shop_id, kind, key) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING sent_at
"""
VARIANT = f"""
SELECT v.product_title, v.variant_title,
       (SELECT count(*) FROM signups s WHERE s.shop_id = v.shop_id AND s.variant_id = v.variant_id
          AND {WAITING}) AS waiting
FROM variants v WHERE v.shop_id = $1 AND v.variant_id = $2
"""
USED = "SELECT used FROM plan_usage WHERE shop_id = $1 AND month = $2"


async def compose(rt: Runtime, kind: str, key: str, shop: Shop, settings: Settings) -> tuple[str, str] | None:
    pool, shop_id = rt.conns.pool, shop.shop_id
    if kind == "high_demand":
        rule = settings["alerts"]["high_demand"]
        variant = await pool.fetchrow(VARIANT, shop_id, int(key))
        if not rule["enabled"] or variant is None or variant["waiting"] < rule["threshold"]:
            return None
        title = display_name(variant["product_title"], variant["variant_title"]) or f"Variant {key}"
        return (f"High demand: {title}",
                f"{variant['waiting']} customers are waiting for {title} at {shop.name}. "
                f"Restocking it soon would bring them back.")
    if kind == "usage_warning":
        rule = settings["alerts"]["usage_warning"]
        limit = PLANS[shop.plan].monthly_alerts
        used = await pool.fetchval(USED, shop_id, dt.date.fromisoformat(key)) or 0  # key: the month
        if not rule["enabled"] or not limit or used * 100 < limit * rule["percent"]:
            return None
        return (f"You have used {used * 100 // limit}% of this month's alerts",
                f"{shop.name} has sent {used} of the {limit} back-in-stock alerts its "
                f"{shop.plan} plan allows this month. Alerts over the limit are held until next month "
                f"or a plan upgrade.")
    return None


async def merchant_alert(rt: Runtime, shop_id: uuid.UUID, kind: str, key: str) -> bool:
    pool = rt.conns.pool
    shop = await read_shop(pool, shop_id)
    if shop is None or shop.uninstalled_at is not None:
        return False
    settings = shop.sending_settings
    content = await compose(rt, kind, key, shop, settings)
    if content is None or await pool.fetchval(MARK, shop_id, kind, key) is None:
        return False
    subject, text = content
    provider = rt.providers["email"]
    for recipient in settings["alerts"]["report_emails"]["recipients"]:
        try:
            await rt.throttle.acquire(provider.name)
            await provider.send(render_merchant_email(to=recipient, subject=subject, text=text))
        except ProviderError as exc:
            log.warning("merchant %s email to a recipient of shop %s failed: %s", kind, shop_id, exc.message)
    return True
