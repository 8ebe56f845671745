"""process_webhook: a shop's stored events handled once each, in the order received.

Shopify sends `products/update` (unpublished) and `inventory_levels/update`
moments apart; handled side by side, the restock could read the product as it
was before. So each event's job takes the shop's turn (a transaction-level
advisory lock) and handles the shop's oldest unprocessed event first, until
its own is done: one event per transaction, never two of a shop at once."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from dispatcher.restocks import Started
from dispatcher.runner import start_chains
from dispatcher.runtime import Runtime
from dispatcher.webhooks import catalog, inventory, orders, reinstall, shop_events
from shared_models.context import Shop, read_shop
from shared_models.payload import JsonObject
from shared_models.rows.webhooks import WebhookEvent

log = logging.getLogger("backinstock.webhooks")

SHOP_TURN = "SELECT pg_advisory_xact_lock(hashtextextended('webhooks/' || $1::uuid::text, 0))"
# The oldest unprocessed event not received after `$2` (webhook_events_unprocessed).
# shop/redact is left to its own job: it deletes the shop, events and all.
# Both read a shared_models.rows.webhooks.WebhookEvent.
OLDEST_EVENT = """
SELECT webhook_id, topic, payload, triggered_at, received_at FROM webhook_events
WHERE shop_id = $1 AND processed_at IS NULL AND topic <> 'shop/redact'
  AND received_at <= (SELECT received_at FROM webhook_events WHERE shop_id = $1 AND webhook_id = $2)
ORDER BY received_at, webhook_id
LIMIT 1
"""
CLAIM_EVENT = """
SELECT webhook_id, topic, payload, triggered_at, received_at FROM webhook_events
WHERE shop_id = $1 AND webhook_id = $2 AND processed_at IS NULL
"""
# Once processed, a payload is needed no more: it keeps only the top-level
# identifiers and times that name no one (an order's id, never its buyer,
# address or notes), for tracing what the event was.
KEPT_KEYS = ["id", "shop_id", "shop_domain", "domain", "inventory_item_id", "location_id", "available",
             "updated_at", "created_at", "cancelled_at"]
DONE = """
UPDATE webhook_events SET processed_at = now(), outcome = $3, payload = COALESCE(
    (SELECT jsonb_object_agg(key, value) FROM jsonb_each(payload)
     WHERE key = ANY($4::text[]) AND jsonb_typeof(value) IN ('string', 'number', 'boolean')), '{}'::jsonb)
WHERE shop_id = $1 AND webhook_id = $2
"""

# A topic's handler: inside the event's transaction, with the shop (and its
# settings) read once for the event, and the event's payload (Shopify's JSON).
# Returns the outcome stored on the event and the send jobs to start after commit.
Handler = Callable[[asyncpg.Connection, Shop, JsonObject, WebhookEvent], Awaitable[tuple[str, list[Started]]]]

TOPICS: dict[str, Handler] = {
    "inventory_levels/update": inventory.inventory_level_update,
    "products/create": catalog.product_upsert,
    "products/update": catalog.product_upsert,
    "products/delete": catalog.product_delete,
    "orders/create": orders.order_create,
    "orders/cancelled": orders.order_cancelled,
    "app/uninstalled": shop_events.app_uninstalled,
    "customers/redact": shop_events.customer_redact,
    "customers/data_request": shop_events.customer_data_request,
}


async def process_webhook(rt: Runtime, shop_id: uuid.UUID, webhook_id: str) -> str | None:
    """Returns this event's outcome, or None if it was already handled."""
    pool = rt.conns.pool
    if await shop_events.is_shop_redact(pool, shop_id, webhook_id):
        if not await shop_events.shop_redact(pool, shop_id, webhook_id):
            log.warning("shop/redact %s for shop %s refused: installed again", webhook_id, shop_id)
            return "ignored: shop installed again"
        log.info("shop %s redacted", shop_id)
        return "shop redacted"
    while True:
        try:
            handled, outcome = await _handle_next(rt, shop_id, webhook_id, oldest_first=True)
        except Exception:
            # An earlier event that fails (a bug) must not hold back the later
            # ones for ever: its own job and the sweep retry it; this one goes on.
            log.exception("webhooks of shop %s failed in turn; trying %s on its own", shop_id, webhook_id)
            handled, outcome = await _handle_next(rt, shop_id, webhook_id, oldest_first=False)
        if handled is None or handled == webhook_id:
            return outcome


async def _handle_next(rt: Runtime, shop_id: uuid.UUID, webhook_id: str, *, oldest_first: bool
                       ) -> tuple[str | None, str | None]:
    """Handles one event in one transaction: the shop's oldest pending one up to
    `webhook_id`, or `webhook_id` itself. Returns (the event handled, its outcome)."""
    started: list[Started] = []
    async with rt.conns.pool.acquire() as conn, conn.transaction():
        await conn.execute(SHOP_TURN, shop_id)
        row = await conn.fetchrow(OLDEST_EVENT if oldest_first else CLAIM_EVENT, shop_id, webhook_id)
        if row is None:
            return None, None
        event = WebhookEvent.from_row(row)
        outcome, started = await _dispatch(conn, shop_id, event)
        await conn.execute(DONE, shop_id, event.webhook_id, outcome, KEPT_KEYS)
    for s in started:
        await start_chains(rt, shop_id, s.job_id, s.targets)
    log.info("webhook %s %s: %s", event.topic, event.webhook_id, outcome)
    return event.webhook_id, outcome


async def _dispatch(conn: asyncpg.Connection, shop_id: uuid.UUID, event: WebhookEvent
                    ) -> tuple[str, list[Started]]:
    handler = TOPICS.get(event.topic)
    if handler is None:
        return "ignored topic", []
    # The shop with its settings, read once: handlers take them from it (shop.sending_settings).
    shop = await read_shop(conn, shop_id)
    if shop is None:  # gone with a shop/redact since the event was stored
        return "ignored: shop deleted", []
    shop = await reinstall.maybe_reinstall(conn, shop, event)
    return await handler(conn, shop, event.payload, event)
