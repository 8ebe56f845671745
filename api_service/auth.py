"""API key → shop. Keys are found by their public prefix and compared by hash.

KeyCache keeps a key's shop and settings per process, for the actions whose
own transaction checks them again (Action.coalesced, the create): such a
statement compares the cached principal's fingerprint with the database's
(sql/functions/principal_fingerprint.sql) and does nothing for a member whose
key was revoked or whose shop or settings changed, however they changed; the
request then looks the key up again (a 401 once revoked). So a revoked key is
refused from the moment the revocation commits, cache or not. Every other
action looks its key up on each request, as before."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from api_service.context import Shop
from shared_models.errors import Unauthorized
from shared_models.keys import hash_key, key_matches, key_prefix

# $2: whether to compute the fingerprint a cached principal is checked by.
# Only the cache needs it: principal_fingerprint is a SQL function that
# PostgreSQL plans on every call (about 0.2 ms), and CASE leaves it uncalled.
KEY_LOOKUP = """
SELECT k.key_id, k.key_hash, k.read_only, s.*, st.overrides AS settings_overrides,
       CASE WHEN $2::boolean THEN principal_fingerprint(p_shop => k.shop_id, p_key => k.key_id) END AS fingerprint
FROM api_keys k JOIN shops s USING (shop_id)
LEFT JOIN settings st ON st.shop_id = k.shop_id
WHERE k.prefix = $1 AND k.revoked_at IS NULL
"""


@dataclass(frozen=True)
class Principal:
    shop: Shop
    key_id: str | None  # None: a call without a key (the storefront's)
    read_only: bool
    # The key, shop and settings as they were read (principal_fingerprint),
    # for a statement to check again; None: not to be checked.
    fingerprint: str | None = None

    @property
    def key_uuid(self) -> uuid.UUID | None:
        return uuid.UUID(self.key_id) if self.key_id is not None else None


class KeyCache:
    """Principals by key hash, bounded in size and age. The age bound only
    keeps memory and needless rechecks down: correctness is the statement's check."""

    def __init__(self, size: int = 10_000, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self.entries: dict[bytes, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        entry = self.entries.get(hash_key(key))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        if len(self.entries) >= self.size:
            self.entries.clear()  # a scan of many keys: start again rather than keep an LRU
        self.entries[hash_key(key)] = (time.monotonic(), principal)

    def drop(self, key: str) -> None:
        self.entries.pop(hash_key(key), None)


KEY_CACHE = web.AppKey("key_cache", KeyCache)


def key_from_request(request: web.Request) -> str | None:
    key = request.headers.get("X-Auth-Token")
    if not key:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    return key or None


async def authenticate(pool: asyncpg.Pool, key: str | None, cache: KeyCache | None = None) -> Principal:
    """The key's principal: from `cache` when given and held there, else looked up (and cached)."""
    if not key:
        raise Unauthorized("Missing API key: send it in the X-Auth-Token header")
    if cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return cached
    prefix = key_prefix(key)
    row = await pool.fetchrow(KEY_LOOKUP, prefix, cache is not None) if prefix else None
    if row is None or not key_matches(key, row["key_hash"]):
        raise Unauthorized("Invalid API key")
    principal = Principal(Shop.from_row(row), str(row["key_id"]), row["read_only"], row["fingerprint"])
    if cache is not None:
        cache.put(key, principal)
    return principal
