"""app/uninstalled and the GDPR topics."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg

from dispatcher.restocks import Started
from shared_models.payload import as_int, as_text

log = logging.getLogger("backinstock.webhooks")

UNINSTALL = "UPDATE shops SET uninstalled_at = now(), updated_at = now() WHERE shop_id = $1"
CANCEL_JOBS = """
WITH j AS (UPDATE jobs SET status = 'cancelled', finished_at = now()
           WHERE shop_id = $1 AND status IN ('queued', 'running') RETURNING job_id)
UPDATE job_targets t SET state = 'cancelled', lease_until = NULL
FROM j WHERE t.shop_id = $1 AND t.job_id = j.job_id AND t.state = 'queued'
"""
MATCH_CUSTOMERS = """
SELECT customer_id FROM customers
WHERE shop_id = $1 AND ((shopify_customer_id IS NOT NULL AND shopify_customer_id = $2)
                        OR lower(email) = lower($3) OR phone = $4)
"""
CUSTOMER_SIGNUPS = "SELECT signup_id FROM signups WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])"
ERASE_CONTACTS = """
UPDATE notifications SET contact = NULL, customer_id = NULL
WHERE shop_id = $1 AND (customer_id = ANY($2::uuid[]) OR signup_id = ANY($3::uuid[]))
"""
DROP_TARGETS = "DELETE FROM job_targets WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])"
DROP_CUSTOMERS = "DELETE FROM customers WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])"  # signups cascade
# The redact request names the customer too: its record keeps only topic and outcome.
SCRUB_EVENT = "UPDATE webhook_events SET payload = '{}'::jsonb WHERE shop_id = $1 AND webhook_id = $2"
HELD = """
SELECT (SELECT count(*) FROM signups WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])) AS signups,
       (SELECT count(*) FROM notifications WHERE shop_id = $1 AND customer_id = ANY($2::uuid[])) AS notifications
"""
IS_SHOP_REDACT = """
SELECT 1 FROM webhook_events
WHERE shop_id = $1 AND webhook_id = $2 AND topic = 'shop/redact' AND processed_at IS NULL
"""
DELETE_SHOP = "DELETE FROM shops WHERE shop_id = $1"  # every tenant table cascades from shops


def _customer_keys(payload: dict) -> tuple[int | None, str | None, str | None]:
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    return as_int(customer.get("id")), as_text(customer.get("email")), as_text(customer.get("phone"))


async def app_uninstalled(conn: asyncpg.Connection, shop: Any, payload: dict, event: Any
                          ) -> tuple[str, list[Started]]:
    await conn.execute(UNINSTALL, shop["shop_id"])
    await conn.execute(CANCEL_JOBS, shop["shop_id"])
    return "uninstalled: sends stopped", []


async def customer_redact(conn: asyncpg.Connection, shop: Any, payload: dict, event: Any
                          ) -> tuple[str, list[Started]]:
    await conn.execute(SCRUB_EVENT, shop["shop_id"], event["webhook_id"])
    ids = [r["customer_id"] for r in await conn.fetch(MATCH_CUSTOMERS, shop["shop_id"], *_customer_keys(payload))]
    if not ids:
        return "redact: no matching customer", []
    signups = [r["signup_id"] for r in await conn.fetch(CUSTOMER_SIGNUPS, shop["shop_id"], ids)]
    await conn.execute(ERASE_CONTACTS, shop["shop_id"], ids, signups)
    await conn.execute(DROP_TARGETS, shop["shop_id"], signups)
    await conn.execute(DROP_CUSTOMERS, shop["shop_id"], ids)
    return f"redacted {len(ids)} customers, {len(signups)} signups", []


async def customer_data_request(conn: asyncpg.Connection, shop: Any, payload: dict, event: Any
                                ) -> tuple[str, list[Started]]:
    ids = [r["customer_id"] for r in await conn.fetch(MATCH_CUSTOMERS, shop["shop_id"], *_customer_keys(payload))]
    held = await conn.fetchrow(HELD, shop["shop_id"], ids)
    outcome = (f"data request: {len(ids)} customers, {held['signups']} signups, "
               f"{held['notifications']} notifications held")
    log.info("customers/data_request for shop %s: %s", shop["shop_id"], outcome)
    return outcome, []


async def is_shop_redact(pool: asyncpg.Pool, shop_id: uuid.UUID, webhook_id: str) -> bool:
    return bool(await pool.fetchval(IS_SHOP_REDACT, shop_id, webhook_id))


async def shop_redact(pool: asyncpg.Pool, shop_id: uuid.UUID) -> None:
    await pool.execute(DELETE_SHOP, shop_id)
