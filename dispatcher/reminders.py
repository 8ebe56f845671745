"""Reminders: `after_days` after the first alert, to alerted signups that have
not bought the variant, while it is in stock. Each stage is one reminder job
per shop and day (a later day retries what a plan limit blocked)."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from dispatcher.inventory import available
from dispatcher.runner import start_chains
from dispatcher.runtime import Runtime
from shared_models import jobs
from shared_models.context import SHOP_COLUMNS, Shop
from shared_models.rows import select_list
from shared_models.settings import Settings

log = logging.getLogger("backinstock.reminders")

# Shops (shared_models.context.Shop) with their settings.
SHOPS = f"""
SELECT {select_list(SHOP_COLUMNS, "sh")}, st.overrides AS settings_overrides
FROM settings st JOIN shops sh USING (shop_id)
WHERE st.overrides -> 'delivery' -> 'reminders' ->> 'enabled' = 'true' AND sh.uninstalled_at IS NULL
"""
DUE = """
SELECT signup_id, variant_id FROM signups
WHERE shop_id = $1 AND first_notified_at IS NOT NULL AND unsubscribed_at IS NULL AND purchased_at IS NULL
  AND first_notified_at <= now() - make_interval(days => $2) AND reminder_stage = $3
"""
MARK_RUN = """
INSERT INTO merchant_alerts (shop_id, kind, key) VALUES ($1, 'reminder_run', $2)
ON CONFLICT DO NOTHING RETURNING key
"""


async def due_signups(rt: Runtime, shop: Shop, settings: Settings, stage: int, days: int) -> list[uuid.UUID]:
    pool = rt.conns.pool
    rows = await pool.fetch(DUE, shop.shop_id, days, stage - 1)
    locations = settings["delivery"]["location_ids"]
    in_stock: dict[int, bool] = {}
    for variant_id in {r["variant_id"] for r in rows}:
        in_stock[variant_id] = await available(pool, shop.shop_id, variant_id, locations) >= 1
    return [r["signup_id"] for r in rows if in_stock[r["variant_id"]]]


async def schedule_shop(rt: Runtime, shop: Shop) -> int:
    settings = shop.sending_settings
    reminders = settings["delivery"]["reminders"]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    queued = 0
    for stage, days in enumerate(reminders["after_days"], start=1):
        ids = await due_signups(rt, shop, settings, stage, days)
        if not ids:
            continue
        async with rt.conns.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(MARK_RUN, shop.shop_id, f"{stage}:{today}") is None:
                continue  # this stage already ran today
            job_id = await jobs.create_job(conn, shop.shop_id, kind="reminder", trigger="reminder",
                                           payload={"stage": stage})
            added = await jobs.add_targets(conn, shop.shop_id, job_id, where=jobs.TARGETS_BY_IDS,
                                           arg=ids, batch_size=None)
        await start_chains(rt, shop.shop_id, job_id, len(added))
        queued += len(added)
    return queued


async def schedule_reminders(rt: Runtime) -> int:
    total = 0
    for row in await rt.conns.pool.fetch(SHOPS):
        shop = Shop.from_row(row)
        try:
            total += await schedule_shop(rt, shop)
        except Exception:
            log.exception("reminders for shop %s failed", shop.shop_id)
    return total
