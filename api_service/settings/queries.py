"""SQL of the settings actions. A shop's row holds only what it changed."""
from __future__ import annotations

from typing import Any

import asyncpg

from shared_models.settings import READ_OVERRIDES

# The row may not exist yet; create it so that there is always a row to lock.
ENSURE_ROW = "INSERT INTO settings (shop_id) VALUES ($1) ON CONFLICT (shop_id) DO NOTHING"
# Two PATCHes of one shop serialise here, so each merges into the other's result.
LOCK_OVERRIDES = "SELECT overrides FROM settings WHERE shop_id = $1 FOR UPDATE"
WRITE_OVERRIDES = "UPDATE settings SET overrides = $2, updated_at = now() WHERE shop_id = $1"


async def read_overrides(conn: asyncpg.Connection | asyncpg.Pool, shop_id: Any) -> dict[str, Any]:
    return await conn.fetchval(READ_OVERRIDES, shop_id) or {}


async def lock_overrides(conn: asyncpg.Connection, shop_id: Any) -> dict[str, Any]:
    """The stored overrides, locked until the caller's transaction ends."""
    await conn.execute(ENSURE_ROW, shop_id)
    return await conn.fetchval(LOCK_OVERRIDES, shop_id) or {}


async def write_overrides(conn: asyncpg.Connection, shop_id: Any, overrides: dict[str, Any]) -> None:
    await conn.execute(WRITE_OVERRIDES, shop_id, overrides)
