"""Test data for the signups tests: request bodies, and states that only the
dispatcher produces (notified, blocked, unsubscribed), set by direct SQL."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

DOMAIN_URL = "https://{domain}/products/linen-shirt?variant={variant}"


def signup_body(*, variant_id: int = 4001, product_id: int | None = 9001, channel: str = "email",
                email: str | None = "ann@example.com", phone: str | None = None,
                push_token: str | None = None, name: str | None = "Ann", product: Any = ...,
                **extra: Any) -> dict[str, Any]:
    """The contract's example body; keyword arguments replace parts of it."""
    body: dict[str, Any] = {"variant_id": variant_id, "channel": channel, "quantity": 1, "source": "api",
                            "customer": {"email": email, "phone": phone, "push_token": push_token,
                                         "name": name, "accepts_marketing": True, "locale": "en",
                                         "country_code": "US"}}
    if product_id is not None:
        body["product_id"] = product_id
    if product is ...:
        product = {"title": "Linen shirt", "variant_title": "M / Blue", "sku": "LS-M-B", "vendor": "Acme"}
    if product is not None:
        body["product"] = product
    body.update(extra)
    return body


async def create(api: Any, **kwargs: Any) -> dict[str, Any]:
    status, body, _ = await api.post("/back_in_stock/signups", json=signup_body(**kwargs))
    assert status in (200, 201), body
    return body


async def count(pool: asyncpg.Pool, table: str, shop_id: uuid.UUID | None = None) -> int:
    assert table in ("signups", "customers", "variants", "notifications")
    if shop_id is None:
        return await pool.fetchval(f"SELECT count(*) FROM {table}")
    return await pool.fetchval(f"SELECT count(*) FROM {table} WHERE shop_id = $1", shop_id)


async def counts(pool: asyncpg.Pool) -> tuple[int, int, int]:
    return (await count(pool, "signups"), await count(pool, "customers"), await count(pool, "variants"))


async def mark_notified(pool: asyncpg.Pool, signup_id: str, *, when: str = "now()") -> None:
    await pool.execute(f"UPDATE signups SET last_notified_at = {when}, notifications_sent = 1 "
                       "WHERE signup_id = $1", uuid.UUID(signup_id))


async def set_columns(pool: asyncpg.Pool, signup_id: str, **values: Any) -> None:
    """UPDATE signups SET <column> = <value>, … for one signup (test-only state)."""
    sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(values))
    await pool.execute(f"UPDATE signups SET {sets} WHERE signup_id = $1", uuid.UUID(signup_id), *values.values())


async def add_notification(pool: asyncpg.Pool, shop_id: uuid.UUID, signup_id: str, *, variant_id: int = 4001,
                           product_id: int = 9001, status: str = "sent") -> uuid.UUID:
    notification_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO notifications (shop_id, notification_id, signup_id, channel, status, trigger, "
        "variant_id, product_id) VALUES ($1, $2, $3, 'email', $4, 'manual', $5, $6)",
        shop_id, notification_id, uuid.UUID(signup_id), status, variant_id, product_id)
    return notification_id


async def set_optin_required(pool: asyncpg.Pool, shop_id: uuid.UUID, required: bool = True) -> None:
    await pool.execute(
        "INSERT INTO settings (shop_id, overrides) VALUES ($1, $2) "
        "ON CONFLICT (shop_id) DO UPDATE SET overrides = EXCLUDED.overrides",
        shop_id, {"compliance": {"optin_required": required}})
