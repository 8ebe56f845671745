"""inventory_levels/update: one item's level at one location."""
from __future__ import annotations

import datetime as dt

import asyncpg

from dispatcher.inventory import available
from dispatcher.restocks import Started, on_quantity
from shared_models.context import Shop
from shared_models.payload import INT32, JsonObject, as_int, as_time
from shared_models.rows.webhooks import VARIANT_COLUMNS, VariantRow, WebhookEvent

VARIANT_BY_ITEM = f"""
SELECT {VARIANT_COLUMNS} FROM variants WHERE shop_id = $1 AND inventory_item_id = $2 AND deleted_at IS NULL
FOR UPDATE
"""
LEVEL = """
SELECT updated_at FROM inventory_levels WHERE shop_id = $1 AND inventory_item_id = $2 AND location_id = $3
"""
UPSERT_LEVEL = """
INSERT INTO inventory_levels (shop_id, inventory_item_id, location_id, available, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (shop_id, inventory_item_id, location_id)
DO UPDATE SET available = EXCLUDED.available, updated_at = EXCLUDED.updated_at
"""


async def inventory_level_update(conn: asyncpg.Connection, shop: Shop, payload: JsonObject,
                                 event: WebhookEvent) -> tuple[str, list[Started]]:
    item, location = as_int(payload.get("inventory_item_id")), as_int(payload.get("location_id"))
    quantity = as_int(payload.get("available"), INT32)
    if item is None or location is None:
        return "ignored: no inventory_item_id or location_id", []
    if payload.get("available") is None:
        # Shopify's null: the item is not tracked, so there is no level to compare (and not a 0).
        return "ignored: available is null (inventory not tracked)", []
    if quantity is None:
        return "ignored: available is not an integer of 32 bits", []
    variants: list[VariantRow] = await conn.fetch(VARIANT_BY_ITEM, shop.shop_id, item, record_class=VariantRow)
    if not variants:
        return "ignored: item unknown to the catalog", []
    updated_at = as_time(payload.get("updated_at")) or event.triggered_at or dt.datetime.now(dt.timezone.utc)
    stored = await conn.fetchval(LEVEL, shop.shop_id, item, location)
    if stored is not None and updated_at < stored:
        return "ignored: older than the stored level", []
    settings = shop.sending_settings
    locations = settings["delivery"]["location_ids"]
    started = []
    befores = {v.variant_id: await available(conn, shop.shop_id, v.variant_id, locations) for v in variants}
    await conn.execute(UPSERT_LEVEL, shop.shop_id, item, location, quantity, updated_at)
    for v in variants:
        after = await available(conn, shop.shop_id, v.variant_id, locations)
        s = await on_quantity(conn, shop, settings, v, befores[v.variant_id], after)
        if s:
            started.append(s)
    return ("restock" if started else "level stored"), started
