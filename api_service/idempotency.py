"""Idempotency-Key on POST: the first response is stored in PostgreSQL for 24 h.

The claim's rules are sql/functions/idempotency_claim.sql's, for a request
claiming alone (claim, here) and for a member of a coalesced create (which
claims inside its group's transaction: Pending)."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from shared_models.errors import Conflict, Unprocessable

CLAIM = "SELECT outcome, status_code, response_body FROM idempotency_claim(p_shop => $1, p_key => $2, p_hash => $3)"
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


@dataclass
class Pending:
    """A key a coalesced create claims in its own transaction. `answered` turns
    true once that transaction settled the key, `claimed` when it committed
    holding it: the request then stores its answer (or releases the key), as
    after claim()."""

    key: str
    digest: bytes
    answered: bool = False
    claimed: bool = False


class Replay(Exception):
    """The key was answered before: that answer is the response."""

    def __init__(self, stored: Stored):
        super().__init__("replay")
        self.stored = stored


def request_hash(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).digest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                            fields={"Idempotency-Key": ["invalid length"]})


def settle(outcome: str, status: int | None, body: bytes | None) -> Stored | None:
    """An idempotency_claim outcome: None when claimed, the stored answer, or
    the refusal (a different request under the key, or the first still running)."""
    if outcome == "claimed":
        return None
    if outcome == "stored":
        return Stored(status or 0, bytes(body or b""))
    if outcome == "mismatch":
        raise Unprocessable("Idempotency-Key was already used with a different request")
    raise Conflict("A request with this Idempotency-Key is still being processed")


async def claim(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str, digest: bytes) -> Stored | None:
    """None: this request owns the key and must `store` or `release` it."""
    check_key(key)
    row = await pool.fetchrow(CLAIM, shop_id, key, digest)
    return settle(row["outcome"], row["status_code"], row["response_body"])


def replay_response(stored: Stored) -> web.Response:
    resp = web.Response(body=stored.body or None, status=stored.status,
                        content_type="application/json" if stored.body else None)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


async def store(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str, status: int, body: bytes) -> None:
    if status >= 500:
        await pool.execute(RELEASE, shop_id, key)
    else:
        await pool.execute(STORE, shop_id, key, status, body)


async def release(pool: asyncpg.Pool, shop_id: uuid.UUID, key: str) -> None:
    await pool.execute(RELEASE, shop_id, key)
