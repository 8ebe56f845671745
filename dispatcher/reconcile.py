"""Reconciliation: restocks found even when Shopify's webhooks never came.

Shopify drops a webhook after 8 failed deliveries and may deliver one a day
late, and tells apps to reconcile. Every SHOPIFY_RECONCILE_MINUTES one
dispatcher (a Redis lock, like the sweep's) asks the Admin API, for each
connected shop, for the stock of the variants people wait for: per location
where the shop set `delivery.location_ids`, otherwise the total (and, for a
total that differs, the item's levels, to know which location moved). Each
level that differs from ours goes through the very handler an
`inventory_levels/update` webhook goes through, in the shop's webhook turn,
so thresholds, batching and the once-per-signup send keys are the same: the
late webhook then finds the level already stored and alerts nobody again.
Variants Shopify has not described to us yet get their catalog row filled
the way a `products/update` fills it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import aiohttp
import asyncpg

from dispatcher.inventory import available
from dispatcher.restocks import Started
from dispatcher.runner import start_chains
from dispatcher.periodic import Periodic
from dispatcher.runtime import Runtime
from dispatcher.webhooks import catalog, inventory
from dispatcher.webhooks.process import SHOP_TURN, Handler
from shared_models.context import Shop, read_shop
from shared_models.payload import JsonObject
from shared_models.rows.webhooks import WaitingVariantRow, WebhookEvent
from shared_models.signup_states import OPEN
from shared_models.shopify import AdminClient, AdminError, admin_base, gid, legacy_id

log = logging.getLogger("backinstock.reconcile")

LOCK = "bis:reconcile"
BATCH = 250  # variants per query; divided by the locations asked per variant
MAX_PAGES = 40  # of an item's levels (50 each): a reply that never ends can't hold a pass
SHOP_TIMEOUT = 600.0  # seconds one shop may take in a pass; then the next shop's turn
CONNECTED_SHOPS = """
SELECT shop_id FROM shops
WHERE shopify_connected_at IS NOT NULL AND shopify_token IS NOT NULL AND uninstalled_at IS NULL
ORDER BY reconciled_at NULLS FIRST, shop_id
"""
# Variants with an open signup (shared_models.signup_states): one awaiting its
# opt-in may confirm before the restock. Rows: shared_models.rows.webhooks.WaitingVariantRow.
WAITING_VARIANTS = f"""
SELECT v.variant_id, v.inventory_item_id, v.source FROM variants v
WHERE v.shop_id = $1 AND v.deleted_at IS NULL
  AND v.variant_id IN (SELECT DISTINCT s.variant_id FROM signups s
                       WHERE s.shop_id = $1 AND {OPEN})
ORDER BY v.variant_id
"""
STORED_LEVELS = """
SELECT location_id, available FROM inventory_levels WHERE shop_id = $1 AND inventory_item_id = $2
"""
RECONCILED = "UPDATE shops SET reconciled_at = now() WHERE shop_id = $1"

VARIANT_FIELDS = """id title sku inventoryQuantity
      product { id title handle vendor status publishedAt updatedAt }"""
LEVELS = """query BisItemLevels($id: ID!, $after: String) {
  inventoryItem(id: $id) {
    inventoryLevels(first: 50, after: $after) {
      nodes { location { id } updatedAt quantities(names: ["available"]) { name quantity } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


def variants_query(locations: list[int]) -> str:
    """The batch query; with location_ids, one aliased level per location
    (ids are integers from validated settings, so the text is safe)."""
    levels = "".join(
        f'\n        l{i}: inventoryLevel(locationId: "{gid("Location", loc)}") '
        '{ updatedAt quantities(names: ["available"]) { name quantity } }'
        for i, loc in enumerate(locations))
    return ("query BisVariants($ids: [ID!]!) {\n  nodes(ids: $ids) {\n    ... on ProductVariant {\n      "
            + VARIANT_FIELDS + "\n      inventoryItem { id" + levels + " }\n    }\n  }\n}")


@dataclass
class Found:
    checked: int = 0
    differences: int = 0
    restocks: int = 0
    filled: int = 0


def _quantity(level: object) -> int | None:
    """The `available` quantity of a level node of Shopify's reply (JSON)."""
    if not isinstance(level, dict):
        return None
    for q in level.get("quantities") or []:
        if isinstance(q, dict) and q.get("name") == "available" and isinstance(q.get("quantity"), int):
            return q["quantity"]
    return None


class ShopReconciler:
    def __init__(self, rt: Runtime, client: AdminClient, shop: Shop, locations: list[int]):
        self.rt, self.client, self.shop, self.locations = rt, client, shop, locations
        self.found = Found()

    async def run(self) -> Found:
        pool, shop_id = self.rt.conns.pool, self.shop.shop_id
        waiting: list[WaitingVariantRow] = await pool.fetch(WAITING_VARIANTS, shop_id, record_class=WaitingVariantRow)
        size = max(1, BATCH // (1 + len(self.locations)))
        query = variants_query(self.locations)
        for start in range(0, len(waiting), size):
            batch = waiting[start:start + size]
            data = await self.client.execute(
                "BisVariants", query, {"ids": [gid("ProductVariant", r.variant_id) for r in batch]})
            ours = {r.variant_id: r for r in batch}
            for node in data.get("nodes") or []:
                variant_id = legacy_id(node.get("id")) if isinstance(node, dict) else None
                if variant_id in ours:
                    await self.variant(node, ours[variant_id])
        await pool.execute(RECONCILED, shop_id)
        return self.found

    async def variant(self, node: JsonObject, ours: WaitingVariantRow) -> None:
        """`node`: Shopify's ProductVariant (JSON)."""
        item = legacy_id((node.get("inventoryItem") or {}).get("id"))
        if ours.source != "shopify" or ours.inventory_item_id is None:
            await self.fill_catalog(node, item)
        if item is None:
            return
        pool, shop_id = self.rt.conns.pool, self.shop.shop_id
        if self.locations:
            theirs = {loc: (node["inventoryItem"].get(f"l{i}") or None) for i, loc in enumerate(self.locations)}
        else:
            self.found.checked += 1
            total = node.get("inventoryQuantity")
            if not isinstance(total, int) or total == await available(pool, shop_id, ours.variant_id, []):
                return
            theirs = await self.item_levels(item)
        stored = {r["location_id"]: r["available"] for r in await pool.fetch(STORED_LEVELS, shop_id, item)}
        for location, level in theirs.items():
            quantity = _quantity(level)
            if self.locations:
                self.found.checked += 1
            if quantity is None or stored.get(location) == quantity:
                continue
            self.found.differences += 1
            await self.feed({"inventory_item_id": item, "location_id": location, "available": quantity,
                             "updated_at": level.get("updatedAt")})

    async def item_levels(self, item: int) -> dict[int, JsonObject]:
        """The item's level nodes (Shopify's JSON) by location."""
        levels: dict[int, JsonObject] = {}
        after = None
        for _ in range(MAX_PAGES):
            data = await self.client.execute("BisItemLevels", LEVELS, {"id": gid("InventoryItem", item), "after": after})
            page = ((data.get("inventoryItem") or {}).get("inventoryLevels")) or {}
            for node in page.get("nodes") or []:
                location = legacy_id((node.get("location") or {}).get("id")) if isinstance(node, dict) else None
                if location is not None:
                    levels[location] = node
            info = page.get("pageInfo") or {}
            cursor = info.get("endCursor")
            if not info.get("hasNextPage") or not cursor or cursor == after:
                return levels
            after = cursor
        log.warning("inventory item %s: more than %d pages of levels, the rest left out", item, MAX_PAGES)
        return levels

    async def feed(self, payload: JsonObject) -> None:
        """One level through the webhook's handler, in the shop's webhook turn."""
        await self._in_turn(inventory.inventory_level_update, "inventory_levels/update", payload)

    async def fill_catalog(self, node: JsonObject, item: int | None) -> None:
        product = node.get("product") or {}
        product_id = legacy_id(product.get("id"))
        if product_id is None:
            return
        payload = {"id": product_id, "title": product.get("title"), "handle": product.get("handle"),
                   "vendor": product.get("vendor"), "status": str(product.get("status") or "").lower() or None,
                   "published_at": product.get("publishedAt"), "updated_at": product.get("updatedAt"),
                   "variants": [{"id": legacy_id(node.get("id")), "title": node.get("title"),
                                 "sku": node.get("sku"), "inventory_item_id": item,
                                 # A total over every location is no measure for a shop that counts some.
                                 "inventory_quantity": None if self.locations else node.get("inventoryQuantity")}]}
        self.found.filled += 1
        await self._in_turn(catalog.product_upsert, "products/update", payload)

    async def _in_turn(self, handler: Handler, topic: str, payload: JsonObject) -> None:
        """`payload` as Shopify's webhook of `topic` would carry it, through that webhook's handler."""
        shop_id = self.shop.shop_id
        now = dt.datetime.now(dt.timezone.utc)
        event = WebhookEvent(webhook_id=None, topic=topic, payload=payload, triggered_at=now, received_at=now)
        async with self.rt.conns.pool.acquire() as conn, conn.transaction():
            await conn.execute(SHOP_TURN, shop_id)
            shop = await read_shop(conn, shop_id)  # read in turn: the handlers need it fresh
            if shop is None:
                return  # deleted meanwhile (shop/redact)
            _, started = await handler(conn, shop, payload, event)
        await self._start(started)

    async def _start(self, started: list[Started]) -> None:
        for s in started:
            self.found.restocks += 1
            await start_chains(self.rt, self.shop.shop_id, s.job_id, s.targets)


async def reconcile_shop(rt: Runtime, session: aiohttp.ClientSession, shop_id: uuid.UUID) -> Found | None:
    pool, config = rt.conns.pool, rt.conns.config
    shop = await read_shop(pool, shop_id)
    if shop is None or not shop.shopify_token:
        return None
    locations = shop.sending_settings["delivery"]["location_ids"]
    client = AdminClient(session, admin_base(config.shopify_admin_api_base, shop.domain),
                         shop.shopify_token, config.shopify_api_version)
    found = await ShopReconciler(rt, client, shop, list(locations)).run()
    for what in ("checked", "differences", "restocks"):
        rt.metrics.reconcile.labels(what).inc(getattr(found, what))
    log.info("reconciled shop %s: %d levels checked, %d differences, %d restocks started, "
             "%d catalog rows filled, %.1f s waited for Shopify's query budget", shop_id, found.checked,
             found.differences, found.restocks, found.filled, client.waited)
    return found


async def reconcile_all(rt: Runtime) -> int:
    """One pass over every connected shop; a shop that fails is logged and left to the next pass."""
    shops = [r["shop_id"] for r in await rt.conns.pool.fetch(CONNECTED_SHOPS)]
    async with aiohttp.ClientSession() as session:
        for shop_id in shops:
            try:
                async with asyncio.timeout(SHOP_TIMEOUT):
                    await reconcile_shop(rt, session, shop_id)
            except (AdminError, asyncpg.PostgresError, OSError, TimeoutError) as exc:
                log.warning("reconciling shop %s failed, retried next pass: %s", shop_id, exc)
            except Exception:  # one shop's surprise must not stop the others
                log.exception("reconciling shop %s failed, retried next pass", shop_id)
            else:
                continue
            # Tried: its turn goes to the back, so a shop that always fails can't starve the rest.
            await rt.conns.pool.execute(RECONCILED, shop_id)
    return len(shops)


async def _pass(rt: Runtime) -> None:
    try:
        await reconcile_all(rt)
    except Exception:
        log.exception("reconciliation pass failed; the next interval retries it")


# Every SHOPIFY_RECONCILE_MINUTES (0: off); a failed pass waits for the next interval.
RECONCILE = Periodic(LOCK, lambda rt: int(rt.conns.config.shopify_reconcile_minutes * 60_000), _pass)
