"""compliance.data_retention_days: once a day, each shop that set it loses
the personal data older than its window.

- signups with no activity within the window (created, updated, alerted,
  blocked, unsubscribed or confirmed: the latest of these) are deleted;
- customers left with no signup and not updated within the window are deleted;
- notifications created before the window are deleted (reports over those
  days lose them: the data is gone, the rollups follow);
- processed webhook events received before the window are deleted (raw
  Shopify payloads, which carry customers' details);
- orders placed before the window keep their revenue and attribution but lose
  email, name and note attributes.

Whatever a shop set, customers/data_request exports are deleted 30 days
after they were made (EXPORT_DAYS): the merchant has them to hand on, we
don't keep a second copy of the customer.

Deletes go in small batches (short transactions, small trigger transition
tables), each re-checking the row, so a signup touched meanwhile stays. One
worker runs it a day (a Redis lock, as the sweep's), in the background of the
sweep loop; an interrupted run is simply finished by the next one."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import asyncpg
from redis.exceptions import RedisError

from dispatcher.periodic import Periodic
from dispatcher.runtime import Runtime
from shared_models import suppression

log = logging.getLogger("backinstock.retention")

LOCK = "bis:retention"
INTERVAL_SECONDS = 86400.0
BATCH = 1000
ZERO = uuid.UUID(int=0)

SHOPS = """
SELECT shop_id, (overrides -> 'compliance' ->> 'data_retention_days')::int AS days
FROM settings
WHERE jsonb_typeof(overrides -> 'compliance' -> 'data_retention_days') = 'number'
"""
SIGNUP_ACTIVITY = ("GREATEST({t}created_at, {t}updated_at, {t}last_notified_at, {t}last_blocked_at, "
                   "{t}unsubscribed_at, {t}optin_confirmed_at)")
# One page of the shop's signups in key order; the expired among them deleted.
SIGNUPS = f"""
WITH page AS (
    SELECT signup_id FROM signups WHERE shop_id = $1 AND signup_id > $3 ORDER BY signup_id LIMIT $4
), gone AS (
    DELETE FROM signups s USING page p
    WHERE s.shop_id = $1 AND s.signup_id = p.signup_id AND {SIGNUP_ACTIVITY.format(t="s.")} < $2
    RETURNING 1
)
SELECT (SELECT signup_id FROM page ORDER BY signup_id DESC LIMIT 1) AS last, (SELECT count(*) FROM gone) AS n
"""
CUSTOMERS = """
WITH page AS (
    SELECT customer_id FROM customers WHERE shop_id = $1 AND customer_id > $3 ORDER BY customer_id LIMIT $4
), gone AS (
    DELETE FROM customers c USING page p
    WHERE c.shop_id = $1 AND c.customer_id = p.customer_id AND GREATEST(c.created_at, c.updated_at) < $2
      AND NOT EXISTS (SELECT 1 FROM signups s WHERE s.shop_id = $1 AND s.customer_id = c.customer_id)
    RETURNING 1
)
SELECT (SELECT customer_id FROM page ORDER BY customer_id DESC LIMIT 1) AS last, (SELECT count(*) FROM gone) AS n
"""
NOTIFICATIONS = """
WITH gone AS (
    DELETE FROM notifications WHERE shop_id = $1 AND notification_id IN (
        SELECT notification_id FROM notifications WHERE shop_id = $1 AND created_at < $2 LIMIT $3)
    RETURNING 1
)
SELECT count(*) FROM gone
"""
WEBHOOK_EVENTS = """
WITH gone AS (
    DELETE FROM webhook_events WHERE shop_id = $1 AND webhook_id IN (
        SELECT webhook_id FROM webhook_events
        WHERE shop_id = $1 AND processed_at IS NOT NULL AND received_at < $2 LIMIT $3)
    RETURNING 1
)
SELECT count(*) FROM gone
"""
ORDERS = """
WITH gone AS (
    UPDATE orders SET email = NULL, name = NULL, note_attributes = NULL
    WHERE shop_id = $1 AND order_id IN (
        SELECT order_id FROM orders
        WHERE shop_id = $1 AND COALESCE(ordered_at, received_at) < $2
          AND (email IS NOT NULL OR name IS NOT NULL OR note_attributes IS NOT NULL)
        LIMIT $3)
    RETURNING 1
)
SELECT count(*) FROM gone
"""
KINDS = ("signups", "customers", "notifications", "webhook_events", "orders", "data_requests", "unsubscribe_links")
EXPORT_DAYS = 30
# Few shops, few exports: the shops holding expired ones, then each shop's.
EXPORT_SHOPS = "SELECT DISTINCT shop_id FROM data_requests WHERE created_at < $1"
EXPORTS = "DELETE FROM data_requests WHERE shop_id = $1 AND created_at < $2"
# Deleted signups' unsubscribe links (sql/025_suppression.sql) go with the window too.
LINKS = "DELETE FROM unsubscribe_links WHERE shop_id = $1 AND active_at < $2"


async def _paged(pool: asyncpg.Pool, sql: str, shop_id: uuid.UUID, cutoff: dt.datetime, batch: int) -> int:
    """Walks the shop's rows in key order, one page a statement."""
    total, last = 0, ZERO
    while True:
        row = await pool.fetchrow(sql, shop_id, cutoff, last, batch)
        total += row["n"]
        if row["last"] is None:
            return total
        last = row["last"]


async def _until_none(pool: asyncpg.Pool, sql: str, shop_id: uuid.UUID, cutoff: dt.datetime, batch: int) -> int:
    total = 0
    while n := await pool.fetchval(sql, shop_id, cutoff, batch):
        total += n
    return total


async def enforce_shop(pool: asyncpg.Pool, shop_id: uuid.UUID, days: int, *,
                       now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)
    return {
        "signups": await _paged(pool, SIGNUPS, shop_id, cutoff, batch),
        # After the signups: customers they leave alone go too.
        "customers": await _paged(pool, CUSTOMERS, shop_id, cutoff, batch),
        "notifications": await _until_none(pool, NOTIFICATIONS, shop_id, cutoff, batch),
        "webhook_events": await _until_none(pool, WEBHOOK_EVENTS, shop_id, cutoff, batch),
        "orders": await _until_none(pool, ORDERS, shop_id, cutoff, batch),
        "unsubscribe_links": int((await pool.execute(LINKS, shop_id, cutoff)).split()[-1]),
    }


async def enforce_retention(pool: asyncpg.Pool, *, now: dt.datetime | None = None,
                            batch: int = BATCH) -> dict[str, int]:
    """Every shop with a retention window; returns what was removed, by kind."""
    totals = dict.fromkeys(KINDS, 0)
    for shop in await pool.fetch(SHOPS):
        removed = await enforce_shop(pool, shop["shop_id"], shop["days"], now=now, batch=batch)
        if any(removed.values()):
            log.info("retention (%d days) for shop %s removed %s", shop["days"], shop["shop_id"], removed)
        for kind, n in removed.items():
            totals[kind] += n
    export_cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=EXPORT_DAYS)
    for shop in await pool.fetch(EXPORT_SHOPS, export_cutoff):
        deleted = await pool.execute(EXPORTS, shop["shop_id"], export_cutoff)
        totals["data_requests"] += int(deleted.split()[-1])
    # Past their 60 days, every shop's (one range scan of the active_at index).
    totals["unsubscribe_links"] += int((await pool.execute(suppression.PRUNE_LINKS)).split()[-1])
    return totals


async def _run(rt: Runtime) -> None:
    try:
        removed = await enforce_retention(rt.conns.pool)
        log.info("retention run done: %s", removed)
    except asyncio.CancelledError:  # the worker is stopping: the next sweep, anywhere, takes it up
        await _release(rt)
        raise
    except Exception:
        log.exception("retention run failed; the next sweep retries it")
        await _release(rt)


async def _release(rt: Runtime) -> None:
    try:
        await rt.conns.redis.delete(LOCK)
    except (RedisError, OSError, RuntimeError):
        pass


# Started by the sweep; the run releases the lock if it is stopped or fails,
# so that the next sweep, anywhere, takes it up.
RETENTION = Periodic(LOCK, lambda rt: int(INTERVAL_SECONDS * 1000), _run)
