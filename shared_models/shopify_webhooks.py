"""`backinstock shops connect`: the shop's webhook subscriptions, as we need them.

Lists what Shopify has for our app on this shop, creates the topics that are
missing and points back at us those that point elsewhere (an old PUBLIC_URL, a
tunnel left from testing) or deliver XML. Running it again changes nothing.
The GDPR topics (customers/data_request, customers/redact, shop/redact) are
not shop subscriptions: they are set in the app's configuration on Shopify.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from shared_models.shopify import AdminClient, AdminError, admin_base

# Every topic the webhook endpoint handles, in GraphQL's enum spelling.
TOPICS = (
    "INVENTORY_LEVELS_UPDATE",
    "PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE",
    "ORDERS_CREATE", "ORDERS_CANCELLED",
    "APP_UNINSTALLED",
)

LIST = """query BisWebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic format uri }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE = """mutation BisWebhookCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""
UPDATE = """mutation BisWebhookUpdate($id: ID!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""

SHOP = "SELECT shop_id, domain, shopify_token, uninstalled_at FROM shops WHERE domain = $1"
CONNECTED = "UPDATE shops SET shopify_connected_at = now(), updated_at = now() WHERE shop_id = $1"


class ConnectRefused(Exception):
    """Something the operator must fix first (no token, unknown shop); exit 2."""


@dataclass
class ConnectResult:
    domain: str
    callback_url: str
    created: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "callback_url": self.callback_url,
                "created": self.created, "fixed": self.fixed, "left": self.left}


def callback_url(public_url: str) -> str:
    return public_url.rstrip("/") + "/webhooks/shopify"


MAX_PAGES = 50  # of 100 subscriptions: an app has a few dozen at most


async def list_subscriptions(client: AdminClient) -> list[dict[str, Any]]:
    found, after = [], None
    for _ in range(MAX_PAGES):
        data = await client.execute("BisWebhookSubscriptions", LIST, {"after": after})
        page = data.get("webhookSubscriptions") or {}
        found += [n for n in page.get("nodes") or [] if isinstance(n, dict) and n.get("id")]
        info = page.get("pageInfo") or {}
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor or cursor == after:
            return found
        after = cursor
    raise AdminError(f"more than {MAX_PAGES} pages of webhook subscriptions", retryable=False)


def _check(data: dict[str, Any], mutation: str) -> None:
    errors = (data.get(mutation) or {}).get("userErrors")
    if errors:
        raise AdminError(f"{mutation}: {errors}"[:500], retryable=False)


async def connect_subscriptions(client: AdminClient, domain: str, url: str) -> ConnectResult:
    result = ConnectResult(domain=domain, callback_url=url)
    existing: dict[str, list[dict[str, Any]]] = {}
    for sub in await list_subscriptions(client):
        existing.setdefault(sub.get("topic"), []).append(sub)
    sub_input = {"uri": url, "format": "JSON"}
    for topic in TOPICS:
        subs = existing.get(topic, [])
        if any(s.get("uri") == url and s.get("format") == "JSON" for s in subs):
            result.left.append(topic)
        elif subs:
            data = await client.execute("BisWebhookUpdate", UPDATE, {"id": subs[0]["id"], "sub": sub_input})
            _check(data, "webhookSubscriptionUpdate")
            result.fixed.append(topic)
        else:
            data = await client.execute("BisWebhookCreate", CREATE, {"topic": topic, "sub": sub_input})
            _check(data, "webhookSubscriptionCreate")
            result.created.append(topic)
    return result


async def connect_shop(pool: asyncpg.Pool, domain: str, *, public_url: str, admin_api_base: str | None,
                       api_version: str) -> ConnectResult:
    shop = await pool.fetchrow(SHOP, domain)
    if shop is None:
        raise ConnectRefused(f"no shop with domain {domain}")
    if not shop["shopify_token"]:
        raise ConnectRefused(f"shop {domain} has no Admin API token: run `backinstock shops set-token` first")
    async with aiohttp.ClientSession() as session:
        client = AdminClient(session, admin_base(admin_api_base, domain), shop["shopify_token"], api_version)
        result = await connect_subscriptions(client, domain, callback_url(public_url))
    await pool.execute(CONNECTED, shop["shop_id"])
    return result

