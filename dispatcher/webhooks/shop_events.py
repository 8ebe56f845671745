"""app/uninstalled and the GDPR topics."""
from __future__ import annotations

import uuid

import asyncpg

from dispatcher.restocks import Started
from dispatcher.webhooks import erasure
from shared_models.context import Shop
from shared_models.payload import JsonObject, as_int
from shared_models.rows.webhooks import WebhookEvent

# The uninstall's own time (Triggered-At), so that a later webhook can tell it
# was sent after it (process.maybe_reinstall). The shop's Shopify id is
# learnt here when not set yet: shop/redact must name it.
UNINSTALL = """
UPDATE shops SET uninstalled_at = $2, updated_at = now(),
    shopify_shop_id = COALESCE(shopify_shop_id, $3)
WHERE shop_id = $1
"""
CANCEL_JOBS = """
WITH j AS (UPDATE jobs SET status = 'cancelled', finished_at = now()
           WHERE shop_id = $1 AND status IN ('queued', 'running') RETURNING job_id)
UPDATE job_targets t SET state = 'cancelled', lease_until = NULL
FROM j WHERE t.shop_id = $1 AND t.job_id = j.job_id AND t.state = 'queued'
"""
# The redact request names the customer too: its record keeps only topic and outcome.
SCRUB_EVENT = "UPDATE webhook_events SET payload = '{}'::jsonb WHERE shop_id = $1 AND webhook_id = $2"
IS_SHOP_REDACT = """
SELECT 1 FROM webhook_events
WHERE shop_id = $1 AND webhook_id = $2 AND topic = 'shop/redact' AND processed_at IS NULL
"""
# Every tenant table cascades from shops. Refused once the shop is installed
# again (the API checked when it arrived; a reinstall may have come since).
DELETE_SHOP = "DELETE FROM shops WHERE shop_id = $1 AND uninstalled_at IS NOT NULL"
SKIP_REDACT = """
UPDATE webhook_events SET processed_at = now(), outcome = 'ignored: shop installed again'
WHERE shop_id = $1 AND webhook_id = $2
"""


async def app_uninstalled(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                          ) -> tuple[str, list[Started]]:
    at = min(event.triggered_at or event.received_at, event.received_at)
    await conn.execute(UNINSTALL, shop.shop_id, at, as_int(payload.get("id")))
    await conn.execute(CANCEL_JOBS, shop.shop_id)
    return "uninstalled: sends stopped", []


async def customer_redact(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                          ) -> tuple[str, list[Started]]:
    await conn.execute(SCRUB_EVENT, shop.shop_id, event.webhook_id)
    return await erasure.redact(conn, shop.shop_id, payload), []


async def customer_data_request(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                                ) -> tuple[str, list[Started]]:
    request_id, found = await erasure.export(conn, shop.shop_id, payload, event.webhook_id)
    outcome = (f"data request {request_id}: {len(found.customers)} customers, {len(found.signups)} signups, "
               f"{len(found.notifications)} notifications, {len(found.orders)} orders exported")
    return outcome, []


async def is_shop_redact(pool: asyncpg.Pool, shop_id: uuid.UUID, webhook_id: str) -> bool:
    return bool(await pool.fetchval(IS_SHOP_REDACT, shop_id, webhook_id))


async def shop_redact(pool: asyncpg.Pool, shop_id: uuid.UUID, webhook_id: str) -> bool:
    """False: refused, the shop is installed again."""
    if await pool.fetchval(DELETE_SHOP + " RETURNING 1", shop_id):
        return True
    await pool.execute(SKIP_REDACT, shop_id, webhook_id)
    return False
