"""process_webhook: one stored event, handled once, inside one transaction."""
from __future__ import annotations

import logging
import uuid

from dispatcher.restocks import Started
from dispatcher.runner import start_chains
from dispatcher.runtime import Runtime
from dispatcher.webhooks import catalog, inventory, orders, shop_events

log = logging.getLogger("backinstock.webhooks")

CLAIM_EVENT = """
SELECT webhook_id, topic, payload, triggered_at, received_at FROM webhook_events
WHERE shop_id = $1 AND webhook_id = $2 AND processed_at IS NULL
FOR UPDATE SKIP LOCKED
"""
SHOP = "SELECT * FROM shops WHERE shop_id = $1"
DONE = "UPDATE webhook_events SET processed_at = now(), outcome = $3 WHERE shop_id = $1 AND webhook_id = $2"

TOPICS = {
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
    """Returns the outcome recorded, or None if another worker has it / it was done."""
    pool = rt.conns.pool
    started: list[Started] = []
    if await shop_events.is_shop_redact(pool, shop_id, webhook_id):
        await shop_events.shop_redact(pool, shop_id)
        log.info("shop %s redacted", shop_id)
        return "shop redacted"
    async with pool.acquire() as conn, conn.transaction():
        event = await conn.fetchrow(CLAIM_EVENT, shop_id, webhook_id)
        if event is None:
            return None
        shop = await conn.fetchrow(SHOP, shop_id)
        handler = TOPICS.get(event["topic"])
        if handler is None:
            outcome = "ignored topic"
        else:
            outcome, started = await handler(conn, shop, event["payload"] or {}, event)
        await conn.execute(DONE, shop_id, webhook_id, outcome)
    for s in started:
        await start_chains(rt, shop_id, s.job_id, s.targets)
    log.info("webhook %s %s: %s", event["topic"], webhook_id, outcome)
    return outcome
