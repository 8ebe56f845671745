"""Set-based signups operations: bulk_delete and transfer, each one transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api_service.context import Shop
from shared_models.errors import NotFound, Unprocessable
from api_service.signups import queries

RETRIES = 3


def listed_were(count: int, noun: str) -> str:
    """"1 of the listed signups was", "3 of the listed signups were"."""
    return f"{count} of the listed {noun}s {'was' if count == 1 else 'were'}"


class SignupsNotified(Unprocessable):
    """bulk_delete refused: the envelope plus the offending ids."""

    def __init__(self, notified: list[uuid.UUID], positions: dict[uuid.UUID, int]):
        ids = [str(i) for i in notified]
        super().__init__(
            f"Nothing was deleted: {listed_were(len(ids), 'signup')} already notified: {', '.join(ids)}",
            fields={f"ids.{positions[i]}": ["Already notified; notified signups can't be deleted."]
                    for i in notified})
        self.notified_ids = ids

    def body(self) -> dict[str, Any]:
        return {**super().body(), "notified_ids": self.notified_ids}


@dataclass
class BulkDeleteResult:
    deleted_count: int
    not_found: list[str] = field(default_factory=list)


@dataclass
class TransferResult:
    transferred_count: int
    merged_count: int


def _count(status: str) -> int:
    """Rows affected, from asyncpg's command tag ("UPDATE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def bulk_delete(pool: asyncpg.Pool, shop: Shop, ids: list[uuid.UUID]) -> BulkDeleteResult:
    """Delete never-notified signups. All or nothing: one notified → 422, none
    known → 404; unknown ids are reported in not_found."""
    positions: dict[uuid.UUID, int] = {}
    for index, signup_id in enumerate(ids):
        positions.setdefault(signup_id, index)
    wanted = list(positions)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(queries.LOCK_FOR_DELETE, shop.shop_id, wanted)
        if not rows:
            raise NotFound("None of the listed signups was found")
        notified = sorted((r["signup_id"] for r in rows if r["notified"]), key=positions.__getitem__)
        if notified:
            raise SignupsNotified(notified, positions)
        deleted = _count(await conn.execute(queries.DELETE_MANY, shop.shop_id, [r["signup_id"] for r in rows]))
    known = {r["signup_id"] for r in rows}
    return BulkDeleteResult(deleted, [str(i) for i in wanted if i not in known])


async def transfer(pool: asyncpg.Pool, shop: Shop, data: dict[str, Any]) -> TransferResult:
    """Move the signups of one variant to another, keeping their status; open
    ones meeting an open signup of the customer there are merged into it.
    `data` is TransferBody's output."""
    async with pool.acquire() as conn:
        for attempt in range(RETRIES):
            try:
                async with conn.transaction():
                    return await _transfer(conn, shop.shop_id, data)
            except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                # Safety net: the variant lock keeps creates out, but not every writer takes it.
                if attempt == RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


async def _transfer(conn: asyncpg.Connection, shop_id: uuid.UUID, data: dict[str, Any]) -> TransferResult:
    to_variant, to_product = data["to_variant_id"], data["to_product_id"]
    await conn.execute(queries.LOCK_VARIANT_EXCLUSIVE, shop_id, to_variant)
    locked = await conn.fetch(queries.LOCK_FOR_TRANSFER[data["scope"]], shop_id,
                              data["from_variant_id"], data["from_product_id"], to_variant)
    sources = [r["signup_id"] for r in locked if r["is_source"]]
    if not sources:
        return TransferResult(0, 0)
    merged = await conn.fetchval(queries.MERGE_OPEN, shop_id, sources, to_variant)
    moved = _count(await conn.execute(queries.MOVE, shop_id, sources, to_variant, to_product))
    return TransferResult(moved, merged)
