"""Order tags on Shopify: the Admin GraphQL tagsAdd mutation, pushed by a
cron from the orders rows that orders/create marked `pending` (never from
inside the webhook's transaction). A claim moves tag_next_at forward (a
lease with backoff), so several workers never push the same order at once
and a worker that died leaves it to the next tick. tagsAdd is idempotent on
Shopify's side, so a repeat after a lost reply is harmless. Failures are
logged, retried a few times, then given up (`failed`): never fatal."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from dispatcher.runtime import Runtime

log = logging.getLogger("backinstock.shopify")

API_VERSION = "2024-10"
MAX_ATTEMPTS = 5
BATCH = 50
BACKOFF_SECONDS = 30  # doubled per attempt
TIMEOUT = aiohttp.ClientTimeout(total=10)
TAGS_ADD = """mutation tagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""

CLAIM = """
UPDATE orders o SET tag_attempts = o.tag_attempts + 1,
    tag_next_at = now() + make_interval(secs => $1 * power(2, o.tag_attempts))
FROM shops s
WHERE (o.shop_id, o.order_id) IN (
        SELECT shop_id, order_id FROM orders
        WHERE tag_status = 'pending' AND tag_next_at <= now()
        ORDER BY tag_next_at LIMIT $2 FOR UPDATE SKIP LOCKED)
  AND s.shop_id = o.shop_id
RETURNING o.shop_id, o.order_id, o.tag, o.tag_attempts, s.domain, s.shopify_token
"""
DONE = """
UPDATE orders SET tag_status = 'done', tagged_at = now(), tag_error = NULL, tag_next_at = NULL
WHERE shop_id = $1 AND order_id = $2 AND tag_status = 'pending'
"""
FAILED = """
UPDATE orders SET tag_error = $3,
    tag_status = CASE WHEN $4 THEN 'failed' ELSE tag_status END,
    tag_next_at = CASE WHEN $4 THEN NULL ELSE tag_next_at END
WHERE shop_id = $1 AND order_id = $2 AND tag_status = 'pending'
"""
SKIPPED = """
UPDATE orders SET tag_status = 'skipped', tag_next_at = NULL
WHERE shop_id = $1 AND order_id = $2 AND tag_status = 'pending'
"""


class TagError(Exception):
    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def admin_base(configured: str | None, domain: str) -> str:
    """SHOPIFY_ADMIN_API_BASE (may hold `{shop}`, the shop's domain), else https://<domain>."""
    if configured:
        return configured.replace("{shop}", domain).rstrip("/")
    return f"https://{domain}"


async def tags_add(session: aiohttp.ClientSession, base: str, token: str, order_id: int, tags: list[str]) -> None:
    url = f"{base}/admin/api/{API_VERSION}/graphql.json"
    body = {"query": TAGS_ADD, "variables": {"id": f"gid://shopify/Order/{order_id}", "tags": tags}}
    try:
        async with session.post(url, json=body, headers={"X-Shopify-Access-Token": token}) as resp:
            if resp.status == 429 or resp.status >= 500:
                raise TagError(f"Shopify answered {resp.status}", retryable=True)
            if resp.status != 200:
                raise TagError(f"Shopify answered {resp.status}", retryable=False)
            reply = await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise TagError(f"Shopify unreachable: {exc!r}", retryable=True) from None
    errors = reply.get("errors") if isinstance(reply, dict) else None
    if errors:
        throttled = any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
                        for e in errors if isinstance(errors, list))
        raise TagError(f"GraphQL errors: {errors}"[:500], retryable=throttled)
    result = ((reply.get("data") or {}).get("tagsAdd") or {}) if isinstance(reply, dict) else {}
    if result.get("userErrors"):
        raise TagError(f"tagsAdd userErrors: {result['userErrors']}"[:500], retryable=False)
    if not result:
        raise TagError("tagsAdd: unexpected reply", retryable=True)


async def push_batch(rt: Runtime, *, batch: int = BATCH) -> tuple[int, int]:
    """Pushes one batch of due order tags; returns (claimed, added)."""
    pool = rt.conns.pool
    claimed = await pool.fetch(CLAIM, BACKOFF_SECONDS, batch)
    if not claimed:
        return 0, 0
    done = 0
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for row in claimed:
            if not row["shopify_token"] or not row["tag"]:
                await pool.execute(SKIPPED, row["shop_id"], row["order_id"])
                continue
            base = admin_base(rt.conns.config.shopify_admin_api_base, row["domain"])
            try:
                await tags_add(session, base, row["shopify_token"], row["order_id"], [row["tag"]])
            except TagError as exc:
                give_up = not exc.retryable or row["tag_attempts"] >= MAX_ATTEMPTS
                log.warning("order %s of shop %s: tag not added (%s)%s", row["order_id"], row["shop_id"], exc,
                            ", giving up" if give_up else ", will retry")
                await pool.execute(FAILED, row["shop_id"], row["order_id"], str(exc)[:500], give_up)
                continue
            await pool.execute(DONE, row["shop_id"], row["order_id"])
            done += 1
    return len(claimed), done


async def push_pending_tags(rt: Runtime, *, max_batches: int = 10) -> int:
    """Due order tags, a few batches at most; returns how many were added."""
    added = 0
    for _ in range(max_batches):
        claimed, done = await push_batch(rt)
        added += done
        if claimed < BATCH:
            break
    return added


async def order_tags_cron(ctx: dict[str, Any]) -> int:
    """arq cron (dispatcher.worker)."""
    return await push_pending_tags(ctx["rt"])
