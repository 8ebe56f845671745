"""Coalesced signup creates (group commit, shared_models/groups.py): the
creates of one shop that arrive while one of its writes is in flight run
together as one signup_create_many statement (one round trip, one commit),
then one read of the group's rows. The first create of an idle shop goes at
once, alone.

Each member keeps its own answer (Outcome), Idempotency-Key and principal
check. If the group's statement fails, the group was rolled back whole, and
each member is written again on its own: one member's failure fails only it."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api_service.signups import queries
from api_service.signups.schemas import CONTACT_FIELD
from shared_models.groups import Coalescers

log = logging.getLogger("backinstock.api")

# PostgreSQL itself unreachable: writing each member again would only wait again.
_UNREACHABLE = (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
                asyncpg.InterfaceError, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class Member:
    """One create: SignupCreate's output (`data`) and what the API decided
    around it."""

    data: dict[str, Any]
    storefront: bool  # never changes an existing customer; its product text is not stored
    optin_required: bool  # the shop's setting (a suppressed contact's storefront signup needs it anyway)
    key_id: uuid.UUID | None = None  # the API key it was authorised with, and
    fingerprint: str | None = None  # what that principal looked like (None: not checked)
    idem_key: str | None = None  # its Idempotency-Key, claimed in the group's transaction
    idem_hash: bytes | None = None
    signup_id: uuid.UUID = field(default_factory=uuid.uuid4)
    customer_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Outcome:
    """signup_create_many's outcome for a member (its file lists them), plus
    'gone': created or found, then erased before the read (a redaction)."""

    kind: str
    row: asyncpg.Record | None = None
    suppressed_at: dt.datetime | None = None
    status: int | None = None  # a stored Idempotency-Key answer
    body: bytes | None = None


def _arguments(members: list[Member]) -> list[list[Any]]:
    """signup_create_many's arrays after p_shop, in queries.CREATE_MANY's order."""
    def product(m: Member) -> dict[str, Any]:
        # Catalog text only from a trusted caller: anyone can call the storefront.
        return {} if m.storefront else m.data.get("product") or {}

    def customer(m: Member) -> dict[str, Any]:
        return m.data["customer"]

    return [
        [m.key_id for m in members], [m.fingerprint for m in members],
        [m.idem_key for m in members], [m.idem_hash for m in members],
        [m.signup_id for m in members], [m.customer_id for m in members],
        [m.data["variant_id"] for m in members], [m.data.get("product_id") for m in members],
        [m.data.get("inventory_item_id") for m in members],
        *[[product(m).get(k) for m in members] for k in queries.PRODUCT_FIELDS],
        *[[customer(m).get(k) for m in members] for k in (*queries.CONTACTS, *queries.DETAILS)],
        [m.storefront for m in members], [m.data["channel"] for m in members],
        [customer(m)[CONTACT_FIELD[m.data["channel"]]] for m in members],
        [m.data["quantity"] for m in members], [m.data["source"] for m in members],
        [m.data.get("shopify_market_id") for m in members], [m.optin_required for m in members],
    ]


async def _write_group(pool: asyncpg.Pool, shop_id: uuid.UUID, members: list[Member]) -> list[Outcome]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.CREATE_MANY, shop_id, *_arguments(members))
        ids = [r["r_signup"] for r in rows if r["r_signup"] is not None]
        # One row: READ, whose generic plan PostgreSQL keeps; an array's it replans each time (0.2 ms).
        found = (await conn.fetch(queries.READ_MANY, shop_id, ids) if len(ids) > 1
                 else [r for r in [await conn.fetchrow(queries.READ, shop_id, ids[0])] if r is not None] if ids else [])
        read = {r["signup_id"]: r for r in found}
    if [r["r_ord"] for r in rows] != list(range(1, len(members) + 1)):
        raise RuntimeError("signup_create_many answered out of order")
    return [Outcome(r["r_outcome"] if r["r_signup"] is None or r["r_signup"] in read else "gone",
                    read.get(r["r_signup"]), r["r_suppressed_at"], r["r_status"],
                    bytes(r["r_body"]) if r["r_body"] is not None else None)
            for r in rows]


async def write(pool: asyncpg.Pool, shop_id: uuid.UUID, members: list[Member]) -> list[Outcome | Exception]:
    try:
        return await _write_group(pool, shop_id, members)
    except _UNREACHABLE:
        raise
    except Exception:
        if len(members) == 1:
            raise
        log.warning("a group of %d creates failed; writing each alone", len(members), exc_info=True)
    out: list[Outcome | Exception] = []
    for member in members:
        try:
            out.extend(await _write_group(pool, shop_id, [member]))
        except Exception as exc:
            out.append(exc)
    return out


class CreateGroups:
    """The process's create groups, one per shop in flight (Connections.groups)."""

    def __init__(self, pool: asyncpg.Pool, *, max_group: int, writers: int):
        """max_group: members per statement, bounding one statement's work and
        its locks (CREATE_GROUP_MAX); writers: statements in flight per shop
        (CREATE_GROUP_WRITERS), one making the largest groups."""
        self.coalescers: Coalescers[Member, Outcome] = Coalescers(
            lambda shop_id, members: write(pool, shop_id, members), max_group=max_group, max_writers=writers)

    async def create(self, shop_id: uuid.UUID, member: Member) -> Outcome:
        return await self.coalescers.submit(shop_id, member)


def create_groups(conns: Any) -> CreateGroups:
    groups = conns.groups.get("signup_create")
    if groups is None:
        groups = conns.groups["signup_create"] = CreateGroups(
            conns.pool, max_group=conns.config.create_group_max, writers=conns.config.create_group_writers)
    return groups
