"""SQL of the notifications actions. Every statement is scoped by shop_id."""
from __future__ import annotations

from typing import Any

import asyncpg

from shared_models import listing

COLUMNS = """notification_id, signup_id, customer_id, job_id, channel, contact, status,
    blocked_reason, error, trigger, batch, attempt, variant_id, product_id, variant_title,
    provider, provider_message_id, created_at, sent_at, clicked_at"""

READ = f"SELECT {COLUMNS} FROM notifications WHERE shop_id = $1 AND notification_id = $2"

# filter name -> clause; each is served by a (shop_id, <column>, created_at DESC) index
FILTERS = {
    "channel": "channel = {}",
    "status": "status = {}",
    "blocked_reason": "blocked_reason = {}",
    "trigger": "trigger = {}",
    "signup_id": "signup_id = {}",
    "variant_id": "variant_id = {}",
    "product_id": "product_id = {}",
    "job_id": "job_id = {}",
}


def where(shop_id: Any, query: dict[str, Any], tz: str) -> listing.Where:
    w = listing.Where("shop_id", shop_id)
    for name, clause in FILTERS.items():
        if query.get(name) is not None:
            w.add(clause, query[name])
    return w.dates("created_at", query, tz)


async def read(pool: asyncpg.Pool, shop_id: Any, notification_id: Any) -> asyncpg.Record | None:
    return await pool.fetchrow(READ, shop_id, notification_id)


async def page(pool: asyncpg.Pool, shop_id: Any, query: dict[str, Any], tz: str
               ) -> tuple[list[asyncpg.Record], int, bool]:
    w = where(shop_id, query, tz)
    limit, args = listing.limit_offset(w, query["page"], query["per_page"])
    return await listing.page_and_count(pool, page_sql(w, limit), args, "notifications", w)


def page_sql(w: listing.Where, limit: str) -> str:
    """The page's keys from the index first, then only their rows (a deep
    page skips index entries, not heap rows)."""
    return (f"WITH page AS MATERIALIZED (SELECT notification_id, created_at FROM notifications WHERE {w.sql} "
            f"ORDER BY created_at DESC, notification_id DESC {limit}) "
            f"SELECT {', '.join('n.' + c.strip() for c in COLUMNS.split(','))} FROM page p "
            "JOIN notifications n ON n.shop_id = $1 AND n.notification_id = p.notification_id "
            "ORDER BY p.created_at DESC, p.notification_id DESC")
