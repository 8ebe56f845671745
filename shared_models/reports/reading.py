"""How a report reads: the shop's rollups folded first, then one read-only
snapshot, so the parts of a summary agree."""
from __future__ import annotations

import contextlib
import uuid
from typing import Any, AsyncIterator

import asyncpg

from shared_models import rollups

# Rollup reads are small: JIT compilation would cost more than it saves.
READ_SETTINGS = "SET LOCAL jit = off"


@contextlib.asynccontextmanager
async def reading(pool: asyncpg.Pool, shop_id: uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
    """The shop's rollups folded, then one read-only snapshot for a report's
    queries (the summary's parts agree)."""
    async with pool.acquire() as conn:
        await rollups.fold(conn, shop_id)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await conn.execute(READ_SETTINGS)
            yield conn


async def json_rows(conn: asyncpg.Connection, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(sql, *args)]
