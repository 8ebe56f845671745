"""The variants catalog as signups fill it: until Shopify describes a variant,
what the API is told about it is what we know."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from api_service.signups import queries

# request's product.<field> -> variants column
PRODUCT_COLUMNS = {"title": "product_title", "variant_title": "variant_title", "sku": "sku",
                   "vendor": "vendor", "url": "url"}


async def known_product_id(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID,
                           variant_id: int) -> int | None:
    return await conn.fetchval(queries.VARIANT_PRODUCT, shop_id, variant_id)


def _wanted(data: dict[str, Any]) -> dict[str, Any]:
    """The columns the request gives (omitted and null ones keep what is stored)."""
    product = data.get("product") or {}
    out = {col: product.get(key) for key, col in PRODUCT_COLUMNS.items()}
    out["product_id"] = data["product_id"]
    out["inventory_item_id"] = data.get("inventory_item_id")
    return {col: value for col, value in out.items() if value is not None}


async def record_variant(conn: asyncpg.Connection, shop_id: uuid.UUID, data: dict[str, Any],
                         row: asyncpg.Record | None) -> int:
    """Upsert the variant (never over a Shopify-sourced row); returns the
    product id the catalog holds for it, Shopify's when Shopify described it.
    `row` is the variant as stored (None or all-null when unknown).

    Compares first: the upsert locks the variant row until commit, and signups
    for one hot variant should not queue behind each other for nothing."""
    wanted = _wanted(data)
    if row is not None and row["source"] is not None and (row["source"] != "api" or all(row[c] == v for c, v in wanted.items())):
        return row["product_id"]
    product = data.get("product") or {}
    await conn.execute(queries.UPSERT_VARIANT, shop_id, data["variant_id"], data["product_id"],
                       data.get("inventory_item_id"), *[product.get(k) for k in PRODUCT_COLUMNS])
    return await known_product_id(conn, shop_id, data["variant_id"])
