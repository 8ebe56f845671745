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
# Lock, grant what the limit ($4, null for none) leaves and add it, in one
# round trip: concurrent takers queue on this row only until they commit.
TAKE = """
WITH cur AS (SELECT used FROM plan_usage WHERE shop_id = $1 AND month = $2 FOR UPDATE)
UPDATE plan_usage p SET used = p.used + g.granted
FROM (SELECT LEAST($3::int, GREATEST(0, COALESCE($4::int, 2147483647) - used)) AS granted FROM cur) g
WHERE p.shop_id = $1 AND p.month = $2
RETURNING p.used, g.granted
"""
# The send path's outcome write (dispatcher/outcomes.py RECORD_OUTCOMES) counts
# a plan without a limit's sent alerts, and refunds a limited plan's unsent
# ones, inside its own statement, in the shapes of REFUND and an upsert of `used`.
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
    row = await conn.fetchrow(TAKE, shop_id, month, wanted, limit)
    if row is None:  # the month's first take
        await conn.execute(ENSURE, shop_id, month)
        row = await conn.fetchrow(TAKE, shop_id, month, wanted, limit)
    return row["granted"], row["used"]


async def refund(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, month: dt.date, units: int) -> None:
    if units > 0:
        await conn.execute(REFUND, shop_id, month, units)


async def used(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, month: dt.date) -> int:
    return await conn.fetchval(USED, shop_id, month) or 0
