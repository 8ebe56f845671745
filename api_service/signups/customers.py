"""Find-or-create the customer of a signup, and fill in what we don't know yet."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from api_service.signups import queries

# The contact a customer is found by, in this order of preference.
LOOKUP_ORDER = ("email", "phone", "push_token")
CONTACTS = ("email", "phone", "push_token")
DETAILS = ("name", "accepts_marketing", "locale", "country_code")


def lookup_key(customer: dict[str, Any]) -> str:
    """The first contact given; the schema guarantees the channel's one is."""
    for key in LOOKUP_ORDER:
        if customer.get(key) is not None:
            return key
    raise ValueError("a customer needs an email, a phone or a push token")


async def find_or_create(conn: asyncpg.Connection, shop_id: uuid.UUID, customer: dict[str, Any],
                         *, fill_existing: bool) -> asyncpg.Record:
    """Race-safe inside a transaction: INSERT … ON CONFLICT DO NOTHING, then SELECT.

    A new customer gets every detail given. An existing one gets only the
    details it lacks, and only when `fill_existing` (the authenticated API;
    the storefront never changes an existing customer or their consent).
    """
    key = lookup_key(customer)
    details = [customer.get(d) for d in DETAILS]
    for _ in range(3):  # a customer erased between our two statements: insert again
        row = await conn.fetchrow(queries.INSERT_CUSTOMER[key], shop_id, uuid.uuid4(), customer[key], *details)
        created = row is not None
        if row is None:
            row = await conn.fetchrow(queries.FIND_CUSTOMER[key], shop_id, customer[key])
        if row is not None:
            break
    else:
        raise RuntimeError("customer neither inserted nor found")
    if (created or fill_existing) and _missing(row, customer):
        await _fill(conn, shop_id, row["customer_id"], customer)
    return row


def _missing(row: asyncpg.Record, customer: dict[str, Any]) -> bool:
    return any(row[k] is None and customer.get(k) is not None for k in (*CONTACTS, *DETAILS))


async def _fill(conn: asyncpg.Connection, shop_id: uuid.UUID, customer_id: uuid.UUID,
                customer: dict[str, Any]) -> None:
    args = [customer.get(k) for k in (*CONTACTS, *DETAILS)]
    try:
        async with conn.transaction():  # a savepoint: losing a race must not abort the signup
            await conn.execute(queries.FILL_CUSTOMER, shop_id, customer_id, *args)
    except asyncpg.UniqueViolationError:
        # Another customer took that email/phone/token meanwhile: keep the details, skip contacts.
        await conn.execute(queries.FILL_CUSTOMER, shop_id, customer_id, None, None, None, *args[3:])
