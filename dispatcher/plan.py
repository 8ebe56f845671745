"""The monthly allowance, taken atomically: the plan_usage row is locked for
the take, so any number of workers together never exceed it. Only sent alerts
count: a failed attempt gives its unit back."""
from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import asyncpg

from shared_models.plans import PLANS

ENSURE = "INSERT INTO plan_usage (shop_id, month) VALUES ($1, $2) ON CONFLICT DO NOTHING"
LOCK = "SELECT used FROM plan_usage WHERE shop_id = $1 AND month = $2 FOR UPDATE"
ADD = "UPDATE plan_usage SET used = used + $3 WHERE shop_id = $1 AND month = $2 RETURNING used"
REFUND = "UPDATE plan_usage SET used = GREATEST(0, used - $3) WHERE shop_id = $1 AND month = $2"
USED = "SELECT used FROM plan_usage WHERE shop_id = $1 AND month = $2"


def month_of(moment: dt.datetime, timezone: str) -> dt.date:
    """The calendar month in the shop's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).date().replace(day=1)


def current_month(timezone: str) -> dt.date:
    return month_of(dt.datetime.now(dt.timezone.utc), timezone)


def next_month_start(timezone: str) -> dt.datetime:
    month = current_month(timezone)
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return dt.datetime.combine(nxt, dt.time.min, ZoneInfo(timezone)).astimezone(dt.timezone.utc)


async def take(conn: asyncpg.Connection, shop_id: uuid.UUID, plan: str, month: dt.date, wanted: int
               ) -> tuple[int, int]:
    """Within the caller's transaction: grants up to `wanted` units.
    Returns (granted, used after)."""
    if wanted <= 0:
        return 0, 0
    limit = PLANS[plan].monthly_alerts
    await conn.execute(ENSURE, shop_id, month)
    used = await conn.fetchval(LOCK, shop_id, month)
    granted = wanted if limit is None else max(0, min(wanted, limit - used))
    if granted:
        used = await conn.fetchval(ADD, shop_id, month, granted)
    return granted, used


async def refund(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, month: dt.date, units: int) -> None:
    if units > 0:
        await conn.execute(REFUND, shop_id, month, units)


async def used(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, month: dt.date) -> int:
    return await conn.fetchval(USED, shop_id, month) or 0
