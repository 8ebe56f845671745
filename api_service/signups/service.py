"""The signups core: plain functions over a pool (or connection), the shop
and validated data, so that the v2 handlers, the v1 shims, the storefront
endpoint and the dispatcher all share them. Errors are ApiErrors."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from shared_models import listing
from api_service.context import Connections, Shop
from shared_models.errors import NotFound, Unprocessable
from api_service.signups import hooks, queries
from api_service.signups.bulk import BulkDeleteResult, TransferResult, bulk_delete, transfer
from api_service.signups.schemas import CONTACT_FIELD
from api_service.signups.validators import url_on_domains
from shared_models import suppression

__all__ = ["create_signup", "get_signup", "list_signups", "delete_signup", "bulk_delete", "transfer",
           "BulkDeleteResult", "TransferResult", "NOT_FOUND"]

NOT_FOUND = "Signup not found"
Conn = asyncpg.Connection | asyncpg.Pool


def check_product_url(shop: Shop, data: dict[str, Any]) -> None:
    url = (data.get("product") or {}).get("url")
    if url is not None and not url_on_domains(url, shop.domains):
        raise Unprocessable.from_fields(
            {"product.url": [f"Must be a link on one of the shop's domains: {', '.join(shop.domains)}."]})


async def create_signup(conns: Connections, shop: Shop, data: dict[str, Any], *,
                        storefront: bool = False) -> tuple[asyncpg.Record, bool]:
    """Create a signup, or find the customer's open one for that variant and
    channel, with what follows a create (the opt-in confirmation, the
    high-demand alert: hooks.after_create), whichever entry point calls it.
    Returns (signup row, created). `data` is SignupCreate's output
    (plus an optional shopify_market_id from v1). With `storefront`, an
    existing customer's details and consent are never changed.

    One round trip does the writes (signup_create, sql/functions/signup_create.sql),
    a second reads the row as every other action shows it.

    Catalog text (titles, sku, vendor, url) is stored only from a trusted
    caller: messages read it, and anyone can call the storefront endpoint.
    Its product text is checked, then dropped; Shopify fills it in later.

    A suppressed contact (sql/025_suppression.sql): the merchant's create is a
    422 naming the contact field; the storefront's answers as any other, and
    its signup needs the contact's opt-in, which alone lifts the suppression."""
    pool = conns.pool
    check_product_url(shop, data)
    customer, channel = data["customer"], data["channel"]
    product = {} if storefront else data.get("product") or {}
    optin_required = bool((await shop.effective_settings(pool))["compliance"]["optin_required"])
    suppressed = await suppression.find(pool, shop.shop_id, channel, customer[CONTACT_FIELD[channel]])
    if suppressed is not None:
        if not storefront:
            raise Unprocessable.from_fields({f"customer.{CONTACT_FIELD[channel]}": [
                "This contact unsubscribed from this shop's alerts on "
                f"{suppressed['created_at'].astimezone(dt.timezone.utc).isoformat(timespec='seconds')}; "
                "only the contact can sign up again (through the shop's storefront, confirming by the link sent)."]})
        optin_required = True
    created = await pool.fetchrow(
        queries.CREATE, shop.shop_id, uuid.uuid4(), uuid.uuid4(), data["variant_id"], data.get("product_id"),
        data.get("inventory_item_id"), *[product.get(k) for k in queries.PRODUCT_FIELDS],
        *[customer.get(k) for k in (*queries.CONTACTS, *queries.DETAILS)],
        not storefront, channel, customer[CONTACT_FIELD[channel]], data["quantity"], data["source"],
        data.get("shopify_market_id"), optin_required)
    if created["result_id"] is None:
        raise Unprocessable.from_fields({"product_id": ["Required: this variant is not in the catalog yet."]})
    row = await pool.fetchrow(queries.READ, shop.shop_id, created["result_id"])
    if row is None:  # erased in the instant between (a customer redaction)
        raise NotFound(NOT_FOUND)
    await hooks.after_create(conns, shop, row, created["created"])
    return row, created["created"]


async def get_signup(conn: Conn, shop: Shop, signup_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.READ, shop.shop_id, signup_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def list_signups(conn: Conn, shop: Shop, query: dict[str, Any]
                       ) -> tuple[list[asyncpg.Record], int, bool]:
    """One page (query has page, per_page and the list filters): rows, total, total exact."""
    w = queries.where(shop.shop_id, query, shop.timezone)
    limit, args = listing.limit_offset(w, query["page"], query["per_page"])
    return await listing.page_and_count(conn, queries.list_sql(w, limit), args, queries.LIST_FROM, w)


async def delete_signup(conn: Conn, shop: Shop, signup_id: uuid.UUID) -> None:
    """Deletes the signup only; its notifications stay (no foreign key)."""
    if await conn.fetchval(queries.DELETE, shop.shop_id, signup_id) is None:
        raise NotFound(NOT_FOUND)
