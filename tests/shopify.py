"""Signed Shopify webhooks, as Shopify sends them."""
from __future__ import annotations

import json
import uuid
from typing import Any

from api_service.webhooks.verify import signature


async def send_webhook(client: Any, shop: Any, topic: str, payload: Any, *, webhook_id: str | None = None,
                       secret: str | None = None, headers: dict[str, str] | None = None):
    raw = json.dumps(payload).encode()
    h = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop.domain,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": signature(secret or shop.webhook_secret, raw),
        "Content-Type": "application/json",
        **(headers or {}),
    }
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
