"""A variant's available quantity and published state, as restocks see them."""
from __future__ import annotations

import uuid

import asyncpg

from shared_models.rows.webhooks import VariantState

# Levels per location win when Shopify has sent any for the item (filtered by
# the shop's location_ids, empty meaning all); else the variant's own quantity.
AVAILABLE = """
SELECT CASE WHEN EXISTS (SELECT 1 FROM inventory_levels l
                         WHERE l.shop_id = v.shop_id AND l.inventory_item_id = v.inventory_item_id)
            THEN (SELECT COALESCE(sum(l.available), 0) FROM inventory_levels l
                  WHERE l.shop_id = v.shop_id AND l.inventory_item_id = v.inventory_item_id
                    AND (cardinality($3::bigint[]) = 0 OR l.location_id = ANY($3::bigint[])))
            ELSE COALESCE(v.inventory_quantity, 0) END
FROM variants v WHERE v.shop_id = $1 AND v.variant_id = $2
"""


async def available(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, variant_id: int,
                    location_ids: list[int]) -> int:
    return await conn.fetchval(AVAILABLE, shop_id, variant_id, location_ids) or 0


def published(variant: VariantState) -> bool:
    """Unknown (a catalog row only the API described) counts as published:
    nothing would ever publish it, so waiting would wait forever."""
    if variant.product_status is None:
        return True
    return variant.product_status == "active" and variant.published_at is not None
