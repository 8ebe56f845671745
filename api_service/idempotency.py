"""Idempotency-Key on POST: the first response is stored in PostgreSQL for 24 h."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import asyncpg

from shared_models.errors import Conflict, Unprocessable

CLAIM = """
INSERT INTO idempotency_keys (shop_id, key, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (shop_id, key) DO NOTHING
RETURNING key
"""
EXISTING = """
SELECT request_hash, status_code, response_body, created_at < now() - interval '24 hours' AS expired
FROM idempotency_keys WHERE shop_id = $1 AND key = $2
"""
DROP_EXPIRED = """
DELETE FROM idempotency_keys
WHERE shop_id = $1 AND key = $2 AND created_at < now() - interval '24 hours'
"""
STORE = """
UPDATE idempotency_keys SET status_code = $3, response_body = $4
WHERE shop_id = $1 AND key = $2
"""
RELEASE = "DELETE FROM idempotency_keys WHERE shop_id = $1 AND key = $2 AND status_code IS NULL"

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes


def request_hash(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).digest()


async def claim(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str, digest: bytes) -> Stored | None:
    """None: this request owns the key and must `store` or `release` it."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                            fields={"Idempotency-Key": ["invalid length"]})
    for _ in range(2):
        if await pool.fetchval(CLAIM, shop_id, key, digest):
            return None
        row = await pool.fetchrow(EXISTING, shop_id, key)
        if row is None:
            continue  # released between our two statements: try again
        if row["expired"]:
            await pool.execute(DROP_EXPIRED, shop_id, key)
            continue
        if bytes(row["request_hash"]) != digest:
            raise Unprocessable("Idempotency-Key was already used with a different request")
        if row["status_code"] is None:
            raise Conflict("A request with this Idempotency-Key is still being processed")
        return Stored(row["status_code"], bytes(row["response_body"] or b""))
    raise Conflict("A request with this Idempotency-Key is still being processed")


async def store(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    if status >= 500:
        await pool.execute(RELEASE, shop_id, key)
    else:
        await pool.execute(STORE, shop_id, key, status, body)


async def release(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str) -> None:
    await pool.execute(RELEASE, shop_id, key)
