"""products/create, products/update, products/delete: the variant catalog.
Shopify's description wins over what API signups filled in."""
from __future__ import annotations

import asyncpg

from dispatcher.inventory import available, published
from dispatcher.restocks import Started, on_published, on_quantity
from shared_models.context import Shop
from shared_models.payload import INT32, JsonObject, as_int, as_text, as_time
from shared_models.naming import catalog_variant_title
from shared_models.rows.webhooks import VARIANT_COLUMNS, VariantRow, WebhookEvent

# Both return a shared_models.rows.webhooks.VariantRow.
VARIANT = f"SELECT {VARIANT_COLUMNS} FROM variants WHERE shop_id = $1 AND variant_id = $2 FOR UPDATE"
UPSERT = f"""
INSERT INTO variants (shop_id, variant_id, product_id, inventory_item_id, product_title, variant_title,
    sku, vendor, url, handle, inventory_quantity, product_status, published_at, source,
    shopify_updated_at, deleted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'shopify', $14, NULL)
ON CONFLICT (shop_id, variant_id) DO UPDATE SET
    product_id = EXCLUDED.product_id, inventory_item_id = EXCLUDED.inventory_item_id,
    product_title = EXCLUDED.product_title, variant_title = EXCLUDED.variant_title,
    sku = EXCLUDED.sku, vendor = EXCLUDED.vendor,
    url = COALESCE(variants.url, EXCLUDED.url), handle = EXCLUDED.handle,
    inventory_quantity = EXCLUDED.inventory_quantity, product_status = EXCLUDED.product_status,
    published_at = EXCLUDED.published_at, source = 'shopify',
    shopify_updated_at = EXCLUDED.shopify_updated_at, deleted_at = NULL, updated_at = now()
RETURNING {VARIANT_COLUMNS}
"""
DELETE_PRODUCT = """
UPDATE variants SET deleted_at = now(), updated_at = now()
WHERE shop_id = $1 AND product_id = $2 AND deleted_at IS NULL
"""


def variant_title(title: object) -> str | None:
    return catalog_variant_title(as_text(title))


async def product_upsert(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                         ) -> tuple[str, list[Started]]:
    product_id = as_int(payload.get("id"))
    if product_id is None:
        return "ignored: no product id", []
    updated_at = as_time(payload.get("updated_at")) or event.triggered_at or event.received_at
    handle = as_text(payload.get("handle"), 255)
    settings = shop.sending_settings
    locations = settings["delivery"]["location_ids"]
    started: list[Started] = []
    stale = 0
    for v in payload.get("variants") or []:
        variant_id = as_int(v.get("id")) if isinstance(v, dict) else None
        if variant_id is None:
            continue
        old: VariantRow | None = await conn.fetchrow(VARIANT, shop.shop_id, variant_id, record_class=VariantRow)
        if old is not None and old.shopify_updated_at and updated_at < old.shopify_updated_at:
            stale += 1
            continue
        before = await available(conn, shop.shop_id, variant_id, locations) if old else 0
        was_published = old is not None and old.deleted_at is None and published(old)
        url = f"https://{shop.domain}/products/{handle}?variant={variant_id}" if handle else None
        new: VariantRow = await conn.fetchrow(
            UPSERT, shop.shop_id, variant_id, product_id, as_int(v.get("inventory_item_id")),
            as_text(payload.get("title")), variant_title(v.get("title")), as_text(v.get("sku"), 255),
            as_text(payload.get("vendor"), 255), url, handle, as_int(v.get("inventory_quantity"), INT32),
            as_text(payload.get("status"), 20) or "active", as_time(payload.get("published_at")), updated_at,
            record_class=VariantRow)
        after = await available(conn, shop.shop_id, variant_id, locations)
        s = await on_quantity(conn, shop, settings, new, before, after) if old is not None else None
        if s is None and not was_published and published(new):
            s = await on_published(conn, shop, settings, new, after)
        if s:
            started.append(s)
    outcome = "catalog updated" + (f", {stale} stale variants ignored" if stale else "")
    return (outcome + (", restock" if started else "")), started


async def product_delete(conn: asyncpg.Connection, shop: Shop, payload: JsonObject, event: WebhookEvent
                         ) -> tuple[str, list[Started]]:
    product_id = as_int(payload.get("id"))
    if product_id is None:
        return "ignored: no product id", []
    await conn.execute(DELETE_PRODUCT, shop.shop_id, product_id)
    return "product deleted", []
