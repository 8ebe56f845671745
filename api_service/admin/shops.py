"""Shops and their API keys. Used by `backinstock shops|keys` and by test factories."""
from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg

from shared_models.keys import generate_api_key, generate_webhook_secret, hash_key, key_prefix
from shared_models.plans import PLANS

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

INSERT_SHOP = """
INSERT INTO shops (shop_id, domain, name, plan, currency, timezone, webhook_secret)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
INSERT_KEY = """
INSERT INTO api_keys (key_id, shop_id, prefix, key_hash, read_only) VALUES ($1, $2, $3, $4, $5)
"""
SHOP_BY_DOMAIN = "SELECT * FROM shops WHERE domain = $1"
SET_PLAN = "UPDATE shops SET plan = $2, updated_at = now() WHERE domain = $1 RETURNING shop_id"
SET_DOMAINS = "UPDATE shops SET storefront_domains = $2, updated_at = now() WHERE domain = $1 RETURNING shop_id"
SET_TOKEN = "UPDATE shops SET shopify_token = $2, updated_at = now() WHERE domain = $1 RETURNING shop_id"
REINSTALL = """
UPDATE shops SET uninstalled_at = NULL, updated_at = now() WHERE domain = $1
RETURNING shop_id, (SELECT uninstalled_at FROM shops WHERE domain = $1) AS was_uninstalled_at
"""
SET_SHOPIFY_ID = "UPDATE shops SET shopify_shop_id = $2, updated_at = now() WHERE domain = $1 RETURNING shop_id"
REVOKE_KEY = """
UPDATE api_keys SET revoked_at = now()
WHERE shop_id = $1 AND prefix = $2 AND revoked_at IS NULL RETURNING key_id
"""


class AdminError(Exception):
    """A refused operator command; the CLI prints the message as one line."""


def check_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if not DOMAIN.match(domain):
        raise AdminError(f"not a valid domain: {domain!r}")
    return domain


def check_plan(plan: str) -> str:
    if plan not in PLANS:
        raise AdminError(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
    return plan


def check_timezone(tz: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"unknown timezone {tz!r}") from None
    return tz


async def shop_by_domain(conn: asyncpg.Connection | asyncpg.Pool, domain: str) -> asyncpg.Record:
    row = await conn.fetchrow(SHOP_BY_DOMAIN, check_domain(domain))
    if row is None:
        raise AdminError(f"no shop with domain {domain!r}")
    return row


async def create_key(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID, *, read_only: bool = False) -> str:
    key = generate_api_key()
    await conn.execute(INSERT_KEY, uuid.uuid4(), shop_id, key_prefix(key), hash_key(key), read_only)
    return key


async def create_shop(pool: asyncpg.Pool, domain: str, *, plan: str = "free", name: str | None = None,
                      currency: str = "USD", timezone: str = "UTC") -> dict[str, Any]:
    domain = check_domain(domain)
    check_plan(plan)
    check_timezone(timezone)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise AdminError(f"currency must be an ISO 4217 code such as USD, got {currency!r}")
    shop_id = uuid.uuid4()
    secret = generate_webhook_secret()
    async with pool.acquire() as conn, conn.transaction():
        try:
            await conn.execute(INSERT_SHOP, shop_id, domain, name or domain.split(".")[0],
                               plan, currency, timezone, secret)
        except asyncpg.UniqueViolationError:
            raise AdminError(f"a shop with domain {domain!r} already exists") from None
        key = await create_key(conn, shop_id)
    return {"shop_id": str(shop_id), "domain": domain, "plan": plan, "api_key": key, "webhook_secret": secret}


async def set_plan(pool: asyncpg.Pool, domain: str, plan: str) -> None:
    if await pool.fetchval(SET_PLAN, check_domain(domain), check_plan(plan)) is None:
        raise AdminError(f"no shop with domain {domain!r}")


async def set_domains(pool: asyncpg.Pool, domain: str, storefront_domains: list[str]) -> None:
    domains = [check_domain(d) for d in storefront_domains]
    if await pool.fetchval(SET_DOMAINS, check_domain(domain), domains) is None:
        raise AdminError(f"no shop with domain {domain!r}")


async def set_token(pool: asyncpg.Pool, domain: str, token: str) -> None:
    if await pool.fetchval(SET_TOKEN, check_domain(domain), token) is None:
        raise AdminError(f"no shop with domain {domain!r}")


async def revoke_key(pool: asyncpg.Pool, domain: str, prefix: str) -> None:
    shop = await shop_by_domain(pool, domain)
    prefix = prefix.removeprefix("bis_")[:8]
    if await pool.fetchval(REVOKE_KEY, shop["shop_id"], prefix) is None:
        raise AdminError(f"no active key with prefix {prefix!r} for {domain}")


async def reinstall(pool: asyncpg.Pool, domain: str) -> bool:
    """Clears uninstalled_at: the shop sends again. True if it was uninstalled."""
    row = await pool.fetchrow(REINSTALL, check_domain(domain))
    if row is None:
        raise AdminError(f"no shop with domain {domain!r}")
    return row["was_uninstalled_at"] is not None


async def set_shopify_id(pool: asyncpg.Pool, domain: str, shopify_shop_id: int) -> None:
    if await pool.fetchval(SET_SHOPIFY_ID, check_domain(domain), shopify_shop_id) is None:
        raise AdminError(f"no shop with domain {domain!r}")
