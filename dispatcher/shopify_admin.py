"""Order tags on Shopify: the Admin GraphQL tagsAdd mutation, pushed by a
cron from the orders rows that orders/create marked `pending` (never from
inside the webhook's transaction). A claim moves tag_next_at forward (a
lease with backoff), so several workers never push the same order at once
and a worker that died leaves it to the next tick. tagsAdd is idempotent on
Shopify's side, so a repeat after a lost reply is harmless. Failures are
logged, retried a few times, then given up (`failed`): never fatal."""
from __future__ import annotations

import logging
import uuid

import aiohttp

from dispatcher.customer_tags import push_customer_tags
from dispatcher.runtime import ArqContext, Runtime
from shared_models.rows.shopify import OrderTagRow
from shared_models.shopify import AdminClient, AdminError, admin_base, gid

log = logging.getLogger("backinstock.shopify")

MAX_ATTEMPTS = 5
BATCH = 50
BACKOFF_SECONDS = 30  # doubled per attempt
TAGS_ADD = """mutation tagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""

# Rows: shared_models.rows.shopify.OrderTagRow.
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


async def tags_add(client: AdminClient, order_id: int, tags: list[str]) -> None:
    data = await client.execute("tagsAdd", TAGS_ADD, {"id": gid("Order", order_id), "tags": tags})
    result = data.get("tagsAdd") or {}
    if result.get("userErrors"):
        raise AdminError(f"tagsAdd userErrors: {result['userErrors']}"[:500], retryable=False)
    if not result:
        raise AdminError("tagsAdd: unexpected reply", retryable=True)


async def push_batch(rt: Runtime, *, batch: int = BATCH) -> tuple[int, int]:
    """Pushes one batch of due order tags; returns (claimed, added)."""
    pool = rt.conns.pool
    claimed: list[OrderTagRow] = await pool.fetch(CLAIM, BACKOFF_SECONDS, batch, record_class=OrderTagRow)
    if not claimed:
        return 0, 0
    done = 0
    config = rt.conns.config
    # One client per shop: it paces calls by the shop's query-cost bucket,
    # which its previous reply reported.
    clients: dict[uuid.UUID, AdminClient] = {}
    async with aiohttp.ClientSession() as session:
        for row in claimed:
            if not row.shopify_token or not row.tag:
                await pool.execute(SKIPPED, row.shop_id, row.order_id)
                continue
            client = clients.get(row.shop_id)
            if client is None:
                client = clients[row.shop_id] = AdminClient(
                    session, admin_base(config.shopify_admin_api_base, row.domain),
                    row.shopify_token, config.shopify_api_version)
            try:
                await tags_add(client, row.order_id, [row.tag])
            except AdminError as exc:
                give_up = not exc.retryable or row.tag_attempts >= MAX_ATTEMPTS
                log.warning("order %s of shop %s: tag not added (%s)%s", row.order_id, row.shop_id, exc,
                            ", giving up" if give_up else ", will retry")
                await pool.execute(FAILED, row.shop_id, row.order_id, str(exc)[:500], give_up)
                continue
            await pool.execute(DONE, row.shop_id, row.order_id)
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


async def order_tags_cron(ctx: ArqContext) -> int:
    """arq cron (dispatcher.worker): order tags, then customer tags."""
    added = await push_pending_tags(ctx["rt"])
    await push_customer_tags(ctx["rt"])
    return added
