"""Scheduled report emails (alerts.report_emails): an hourly arq cron sends
each shop the summary of its last complete day, ISO week (Monday to Sunday)
or month, in the shop's timezone, to the recipients.

Each (shop, frequency, period) is sent once whatever the number of workers
or runs: a merchant_alerts row (kind report_<frequency>, key the period's
first day) is inserted before sending, and only the run that inserted it
sends. That makes it at most once: a crash between the mark and the send
loses that period's email rather than risking two."""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from shared_models.context import SHOP_COLUMNS, Shop
from shared_models.payload import JsonObject
from shared_models.rows import select_list
from shared_models.reports import demand, summary
from shared_models.reports.reading import json_rows, reading
from shared_models.reports.window import Window
from dispatcher.channels.base import ProviderError
from dispatcher.messages import render_merchant_email
from dispatcher.runtime import ArqContext, Runtime

log = logging.getLogger("backinstock.reports")

FREQUENCIES = ("daily", "weekly", "monthly")
TOP_PRODUCTS = 5

# Shops (shared_models.context.Shop) with their settings.
SHOPS = f"""
SELECT {select_list(SHOP_COLUMNS, "sh")}, st.overrides AS settings_overrides
FROM settings st JOIN shops sh USING (shop_id)
WHERE st.overrides -> 'alerts' -> 'report_emails' ->> 'frequency' IN ('daily', 'weekly', 'monthly')
  AND sh.uninstalled_at IS NULL
"""
SENT = "SELECT 1 FROM merchant_alerts WHERE shop_id = $1 AND kind = $2 AND key = $3"
MARK = """
INSERT INTO merchant_alerts (shop_id, kind, key) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING key
"""


def last_period(frequency: str, now: dt.datetime, tz: str) -> tuple[dt.date, dt.date]:
    """The latest complete period before `now` in the shop's timezone (first and last day)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if frequency == "daily":
        day = today - dt.timedelta(days=1)
        return day, day
    if frequency == "weekly":
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    first_of_month = today.replace(day=1)
    last = first_of_month - dt.timedelta(days=1)
    return last.replace(day=1), last


def compose(shop: Shop, frequency: str, window: Window, totals: JsonObject,
            top: list[JsonObject]) -> tuple[str, str]:
    """`totals` and `top`: the reports' JSON (shared_models.reports), as the API would answer."""
    first, last = window.as_json()["from"], window.as_json()["to"]
    span = first if first == last else f"{first} to {last}"
    lines = [
        f"Back-in-stock {frequency} report for {shop.name}, {span} ({shop.timezone}).",
        "",
        f"New signups: {totals['signups']} ({totals['pending']} still waiting, {totals['notified']} alerted)",
        f"Alerts sent: {totals['alerts_sent']}",
        f"Conversions: {totals['conversions']} orders, {totals['recovered_revenue']} {shop.currency} recovered "
        f"(conversion rate {totals['conversion_rate'] * 100:.1f}%)",
    ]
    plan = totals["plan"]
    limit = "no limit" if plan["limit"] is None else f"of {plan['limit']}"
    lines.append(f"Plan: {plan['name']}, {plan['used']} alerts used this month ({limit})")
    lines += ["", "Top products by new signups:" if top else "No new signups in this period."]
    for row in top:
        title = row["title"] or f"Variant {row['shopify_variant_id']}"
        lines.append(f"- {title}: {row['total']} signups, {row['pending']} waiting")
    return f"Back-in-stock {frequency} report: {shop.name}, {span}", "\n".join(lines) + "\n"


async def send_shop_report(rt: Runtime, shop: Shop, now: dt.datetime) -> bool:
    """Sends this shop's report for its last complete period, unless already sent."""
    pool = rt.conns.pool
    settings = shop.sending_settings["alerts"]["report_emails"]
    frequency, recipients = settings["frequency"], settings["recipients"]
    if frequency not in FREQUENCIES or not recipients:
        return False
    first, last = last_period(frequency, now, shop.timezone)
    kind, key = f"report_{frequency}", first.isoformat()
    if await pool.fetchval(SENT, shop.shop_id, kind, key):
        return False
    window = Window(first, last, shop.timezone)
    query = {"granularity": "day", "sort": "total", "page": 1, "per_page": TOP_PRODUCTS}  # the reports' arguments
    sql, args = demand.rows(shop.shop_id, query, window, paged=True)
    async with reading(pool, shop.shop_id) as conn:
        totals = await summary.totals(conn, shop, query, window)
        top = await json_rows(conn, sql, args)
    subject, text = compose(shop, frequency, window, totals, top)
    # Composed first, so that only a failed send (not a failed query) loses the period.
    if await pool.fetchval(MARK, shop.shop_id, kind, key) is None:
        return False
    provider = rt.providers["email"]
    for recipient in recipients:
        try:
            await rt.throttle.acquire(provider.name)
            await provider.send(render_merchant_email(to=recipient, subject=subject, text=text))
        except ProviderError as exc:
            log.warning("report email to a recipient of shop %s failed: %s", shop.shop_id, exc.message)
    log.info("%s report for shop %s (%s) sent to %d recipients", frequency, shop.shop_id, first, len(recipients))
    return True


async def send_due_reports(rt: Runtime, now: dt.datetime | None = None) -> int:
    """Every shop's due report; returns how many shops were sent one."""
    now = now or dt.datetime.now(dt.timezone.utc)
    sent = 0
    for row in await rt.conns.pool.fetch(SHOPS):
        shop = Shop.from_row(row)
        try:
            sent += await send_shop_report(rt, shop, now)
        except Exception:  # one shop's failure must not stop the others
            log.exception("report email for shop %s failed", shop.shop_id)
    return sent


async def report_emails_cron(ctx: ArqContext) -> int:
    """arq cron (dispatcher.worker), hourly: each shop's period ends at its own midnight."""
    return await send_due_reports(ctx["rt"])
