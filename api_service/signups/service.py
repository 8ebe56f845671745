"""The signups core: plain functions over a pool (or connection), the shop
and validated data, so that the v2 handlers, the v1 shims, the storefront
endpoint and the dispatcher all share them. Errors are ApiErrors."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from shared_models import listing
from api_service import idempotency
from api_service.auth import Principal
from api_service.context import Connections, Shop
from shared_models.errors import Conflict, NotFound, Unprocessable
from api_service.signups import groups, hooks, queries
from api_service.signups.bulk import BulkDeleteResult, TransferResult, bulk_delete, transfer
from api_service.signups.schemas import CONTACT_FIELD
from api_service.signups.validators import url_on_domains

__all__ = ["create_signup", "get_signup", "list_signups", "delete_signup", "bulk_delete", "transfer",
           "BulkDeleteResult", "TransferResult", "NOT_FOUND"]

NOT_FOUND = "Signup not found"
Conn = asyncpg.Connection | asyncpg.Pool


def check_product_url(shop: Shop, data: dict[str, Any]) -> None:
    url = (data.get("product") or {}).get("url")
    if url is not None and not url_on_domains(url, shop.domains):
        raise Unprocessable.from_fields(
            {"product.url": [f"Must be a link on one of the shop's domains: {', '.join(shop.domains)}."]})


async def create_signup(conns: Connections, principal: Principal | Shop, data: dict[str, Any], *,
                        storefront: bool = False, pending: idempotency.Pending | None = None,
                        refresh: Callable[[], Awaitable[Principal]] | None = None) -> tuple[asyncpg.Record, bool]:
    """Create a signup, or find the customer's open one for that variant and
    channel, with what follows a create (the opt-in confirmation, the
    high-demand alert: hooks.after_create), whichever entry point calls it.
    `principal`: the API key's (auth.Principal), or just the shop.
    Returns (signup row, created). `data` is SignupCreate's output
    (plus an optional shopify_market_id from v1). With `storefront`, an
    existing customer's details and consent are never changed.

    The writes run in the shop's create group (groups.py): concurrent creates
    share one signup_create_many statement, each with its own outcome. Its
    Idempotency-Key (`pending`) is claimed in that transaction; a replay
    raises idempotency.Replay. A principal found stale there (a cached key
    revoked, the shop or its settings changed) is looked up again (`refresh`)
    and the create checked and submitted again; so is one whose shop's domains
    refuse the product link, before that 422.

    Catalog text (titles, sku, vendor, url) is stored only from a trusted
    caller: messages read it, and anyone can call the storefront endpoint.
    Its product text is checked, then dropped; Shopify fills it in later.

    A suppressed contact (sql/025_suppression.sql): the merchant's create is a
    422 naming the contact field; the storefront's answers as any other, and
    its signup needs the contact's opt-in, which alone lifts the suppression."""
    if isinstance(principal, Shop):  # a caller with the shop alone: nothing cached to check
        principal = Principal(principal, None, False)
    fresh = refresh is None
    for _ in range(STALE_RETRIES):
        shop = principal.shop
        try:
            check_product_url(shop, data)
        except Unprocessable:
            if fresh:
                raise
            principal, fresh = await refresh(), True  # the shop's domains, as they are now
            continue
        settings = await shop.effective_settings(conns.pool)
        member = groups.Member(
            data, storefront, bool(settings["compliance"]["optin_required"]), principal.key_uuid,
            principal.fingerprint, pending.key if pending else None, pending.digest if pending else None)
        outcome = await groups.create_groups(conns).create(shop.shop_id, member)
        if outcome.kind != "stale":
            break
        if refresh is None:
            raise RuntimeError("a principal without a refresh was found stale")
        principal, fresh = await refresh(), True
    else:
        raise Conflict("The shop's settings changed while this signup was created; try again")
    if pending is not None:
        pending.answered = True
        pending.claimed = outcome.kind not in CLAIM_REFUSED
    return await _answer(conns, shop, data, outcome)


STALE_RETRIES = 3
CLAIM_REFUSED = ("stored", "mismatch", "busy")


async def _answer(conns: Connections, shop: Shop, data: dict[str, Any], outcome: groups.Outcome
                  ) -> tuple[asyncpg.Record, bool]:
    if outcome.kind in CLAIM_REFUSED:
        stored = idempotency.settle(outcome.kind, outcome.status, outcome.body)
        raise idempotency.Replay(stored)  # settle raised for the other two
    if outcome.kind == "suppressed":
        channel = data["channel"]
        when = outcome.suppressed_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        raise Unprocessable.from_fields({f"customer.{CONTACT_FIELD[channel]}": [
            f"This contact unsubscribed from this shop's alerts on {when}; "
            "only the contact can sign up again (through the shop's storefront, confirming by the link sent)."]})
    if outcome.kind == "unknown_variant":
        raise Unprocessable.from_fields({"product_id": ["Required: this variant is not in the catalog yet."]})
    if outcome.kind == "gone":  # erased in the instant between (a customer redaction)
        raise NotFound(NOT_FOUND)
    created = outcome.kind == "created"
    await hooks.after_create(conns, shop, outcome.row, created)
    return outcome.row, created


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
