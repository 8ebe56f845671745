"""Signed Shopify webhooks, as Shopify sends them."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from api_service.webhooks.verify import signature


def now_header(offset: float = 0.0) -> str:
    """An X-Shopify-Triggered-At value, `offset` seconds from now."""
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def send_webhook(client: Any, shop: Any, topic: str, payload: Any, *, webhook_id: str | None = None,
                       secret: str | None = None, headers: dict[str, str | None] | None = None):
    """Signed as Shopify signs (the body only), with Triggered-At now unless
    `headers` says otherwise (a None value leaves a header out)."""
    raw = json.dumps(payload).encode()
    h = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop.domain,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": signature(secret or shop.webhook_secret, raw),
        "X-Shopify-Triggered-At": now_header(),
        "Content-Type": "application/json",
        **(headers or {}),
    }
    h = {k: v for k, v in h.items() if v is not None}
    resp = await client.post("/webhooks/shopify", data=raw, headers=h)
    return resp.status, await resp.json()


def inventory_update(item: int, available: int, *, location: int = 1, updated_at: str = "2026-11-26T10:00:00Z"):
    return {"inventory_item_id": item, "location_id": location, "available": available, "updated_at": updated_at}


def product(product_id: int, variants: list[dict[str, Any]], *, title: str = "Linen shirt",
            status: str = "active", published_at: str | None = "2026-01-01T00:00:00Z",
            updated_at: str = "2026-11-26T10:00:00Z", handle: str = "linen-shirt") -> dict[str, Any]:
    return {"id": product_id, "title": title, "handle": handle, "status": status, "vendor": "Acme",
            "published_at": published_at, "updated_at": updated_at,
            "variants": [{"title": "M / Blue", "sku": "LS", "inventory_quantity": 0, **v} for v in variants]}
