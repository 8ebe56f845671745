"""API key → shop. Keys are found by their public prefix and compared by hash."""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiohttp import web

from api_service.context import Shop
from shared_models.errors import Unauthorized
from shared_models.keys import key_matches, key_prefix

KEY_LOOKUP = """
SELECT k.key_id, k.key_hash, k.read_only, s.*, st.overrides AS settings_overrides
FROM api_keys k JOIN shops s USING (shop_id)
LEFT JOIN settings st ON st.shop_id = k.shop_id
WHERE k.prefix = $1 AND k.revoked_at IS NULL
"""


@dataclass(frozen=True)
class Principal:
    shop: Shop
    key_id: str
    read_only: bool


def key_from_request(request: web.Request) -> str | None:
    key = request.headers.get("X-Auth-Token")
    if not key:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    return key or None


async def authenticate(pool: asyncpg.Pool, key: str | None) -> Principal:
    if not key:
        raise Unauthorized("Missing API key: send it in the X-Auth-Token header")
    prefix = key_prefix(key)
    row = await pool.fetchrow(KEY_LOOKUP, prefix) if prefix else None
    if row is None or not key_matches(key, row["key_hash"]):
        raise Unauthorized("Invalid API key")
    return Principal(Shop.from_row(row), str(row["key_id"]), row["read_only"])
