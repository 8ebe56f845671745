"""A local stand-in for Shopify's Admin GraphQL API: the operations we send,
answered from an in-memory shop, with Shopify's cost-based throttle.

Operations are told apart by their name (every query we send is named), the
way Shopify's own logs show them. The throttle is a leaky bucket like
Shopify's: `maximum` points refilled at `restore_rate` per second; a query
costing more than the bucket holds is answered with a THROTTLED error.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.stand_ins import _HttpStandIn

OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


@dataclass
class Variant:
    variant_id: int
    product_id: int
    inventory_item_id: int
    levels: dict[int, int]  # location id -> available
    title: str = "M / Blue"
    sku: str = "LS-M"
    product_title: str = "Linen shirt"
    handle: str = "linen-shirt"
    status: str = "ACTIVE"
    published_at: str | None = "2026-01-01T00:00:00Z"
    updated_at: str = "2026-11-26T10:00:00Z"
    level_updated_at: str = "2026-12-01T10:00:00Z"


@dataclass
class Subscription:
    id: str
    topic: str
    uri: str
    format: str = "JSON"


@dataclass
class Bucket:
    maximum: float = 1000.0
    restore_rate: float = 50.0
    available: float = 1000.0
    at: float = field(default_factory=time.monotonic)

    def take(self, cost: float) -> bool:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.maximum, "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate}


class ShopifyAdminStandIn(_HttpStandIn):
    """POST /admin/api/{version}/graphql.json for any version; `calls` records
    (operation, version, token, variables) of every request, throttled ones too."""

    def __init__(self, token: str = "shpat_test") -> None:
        super().__init__()
        self.token = token
        self.calls: list[dict[str, Any]] = []
        self.throttled = 0
        self.force_throttle = 0  # the next N queries are THROTTLED: another client of the app spent the bucket
        self.bucket = Bucket()
        self.subscriptions: list[Subscription] = []
        self.variants: dict[int, Variant] = {}
        self.page_size = 100
        self.endless_levels = False  # every levels page says there is another, under the same cursor
        self.customers: dict[str, int] = {}  # email or phone -> Shopify customer id
        self.tags_added: list[tuple[str, list[str]]] = []
        self._ids = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/admin/api/{version}/graphql.json", self.graphql)

    def add_variant(self, variant: Variant) -> Variant:
        self.variants[variant.variant_id] = variant
        return variant

    def operations(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["operation"] == name and not c["throttled"]]

    async def graphql(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return web.json_response({"errors": "[API] Invalid API key or access token"}, status=401)
        body = await request.json()
        match = OPERATION.match(body.get("query", ""))
        name = match.group(1) if match else "?"
        variables = body.get("variables") or {}
        handler = getattr(self, f"op_{name}", None)
        if handler is None:
            return web.json_response({"errors": [{"message": f"unknown operation {name}"}]})
        cost = self.cost(name, variables)
        if self.force_throttle:
            self.force_throttle -= 1
            self.bucket.available, self.bucket.at = 0.0, time.monotonic()
        ok = self.bucket.take(cost)
        self.calls.append({"operation": name, "version": request.match_info["version"],
                           "variables": variables, "throttled": not ok, "query": body["query"]})
        extensions = {"cost": {"requestedQueryCost": cost, "actualQueryCost": cost if ok else None,
                               "throttleStatus": self.bucket.status()}}
        if not ok:
            self.throttled += 1
            return web.json_response({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                      "extensions": extensions})
        return web.json_response({"data": handler(variables, body["query"]), "extensions": extensions})

    def cost(self, name: str, variables: dict[str, Any]) -> float:
        if name == "BisVariants":
            return 2 + 3 * len(variables.get("ids") or [])
        return 10 if name.startswith("BisWebhook") and name != "BisWebhookSubscriptions" else 2

    # Webhook subscriptions
    def op_BisWebhookSubscriptions(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        start = int(variables.get("after") or 0)
        page = self.subscriptions[start:start + self.page_size]
        more = start + self.page_size < len(self.subscriptions)
        return {"webhookSubscriptions": {
            "nodes": [{"id": s.id, "topic": s.topic, "format": s.format, "uri": s.uri} for s in page],
            "pageInfo": {"hasNextPage": more, "endCursor": str(start + self.page_size) if more else None}}}

    def op_BisWebhookCreate(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        self._ids += 1
        sub = Subscription(f"gid://shopify/WebhookSubscription/{self._ids}", variables["topic"],
                           variables["sub"]["uri"], variables["sub"]["format"])
        self.subscriptions.append(sub)
        return {"webhookSubscriptionCreate": {"webhookSubscription": {"id": sub.id, "topic": sub.topic,
                                                                      "uri": sub.uri}, "userErrors": []}}

    def op_BisWebhookUpdate(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        sub = next(s for s in self.subscriptions if s.id == variables["id"])
        sub.uri, sub.format = variables["sub"]["uri"], variables["sub"]["format"]
        return {"webhookSubscriptionUpdate": {"webhookSubscription": {"id": sub.id, "topic": sub.topic,
                                                                      "uri": sub.uri}, "userErrors": []}}

    # Inventory and catalog
    def op_BisVariants(self, variables: dict[str, Any], query: str) -> dict[str, Any]:
        wanted = re.findall(r'(l\d+): inventoryLevel\(locationId: "gid://shopify/Location/(\d+)"\)', query)
        return {"nodes": [self._variant(int(g.rsplit("/", 1)[1]), wanted) for g in variables["ids"]]}

    def _variant(self, variant_id: int, wanted: list[tuple[str, str]]) -> dict[str, Any] | None:
        v = self.variants.get(variant_id)
        if v is None:
            return None
        item: dict[str, Any] = {"id": f"gid://shopify/InventoryItem/{v.inventory_item_id}"}
        for alias, location in wanted:
            qty = v.levels.get(int(location))
            item[alias] = None if qty is None else {
                "quantities": [{"name": "available", "quantity": qty}], "updatedAt": v.level_updated_at}
        return {"id": f"gid://shopify/ProductVariant/{v.variant_id}", "title": v.title, "sku": v.sku,
                "inventoryQuantity": sum(v.levels.values()), "inventoryItem": item,
                "product": {"id": f"gid://shopify/Product/{v.product_id}", "title": v.product_title,
                            "handle": v.handle, "vendor": "Acme", "status": v.status,
                            "publishedAt": v.published_at, "updatedAt": v.updated_at}}

    def op_BisItemLevels(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        item_id = int(variables["id"].rsplit("/", 1)[1])
        v = next((v for v in self.variants.values() if v.inventory_item_id == item_id), None)
        if v is None:
            return {"inventoryItem": None}
        return {"inventoryItem": {"inventoryLevels": {
            "nodes": [{"location": {"id": f"gid://shopify/Location/{loc}"}, "updatedAt": v.level_updated_at,
                       "quantities": [{"name": "available", "quantity": qty}]} for loc, qty in v.levels.items()],
            "pageInfo": {"hasNextPage": self.endless_levels, "endCursor": "same" if self.endless_levels else None}}}}

    def op_tagsAdd(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        self.tags_added.append((variables["id"], variables["tags"]))
        return {"tagsAdd": {"node": {"id": variables["id"]}, "userErrors": []}}

    def op_BisCustomerByContact(self, variables: dict[str, Any], _q: str) -> dict[str, Any]:
        match = re.fullmatch(r'(email|phone):"((?:[^"\\]|\\.)*)"', variables["query"])
        value = re.sub(r"\\(.)", r"\1", match.group(2)) if match else None
        field = match.group(1) if match else None
        key = value.lower() if field == "email" else value
        found = self.customers.get(key)
        # Shopify's search matches loosely too: a near miss comes back first.
        near = [{"id": "gid://shopify/Customer/999", "email": f"x{key}", "phone": None}] if field == "email" else []
        hit = [{"id": f"gid://shopify/Customer/{found}", "email": key if field == "email" else None,
                "phone": key if field == "phone" else None}] if found else []
        return {"customers": {"nodes": near + hit}}
