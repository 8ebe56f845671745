"""Restock fan-out: one inventory_levels/update webhook to every one of the
variant's waiting signups having its `sent` row, with N dispatcher processes
(console provider: answers instantly). Floor: INSERT … SELECT of the same rows."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import asyncpg
from redis.asyncio import Redis

from api_service.webhooks.verify import signature
from bench.env import BenchEnv


def fanout_tuning(workers: int) -> dict[str, str]:
    """The dispatcher settings the fan-out runs with (README, Scaling): chunks
    of 1,000, 4 chains per worker so that no worker waits on one chain's round
    trips, rows opened and outcomes written 500 at a time (a worker killed
    mid-send leaves at most that many sends with an unknown outcome)."""
    return {"DISPATCH_PARALLEL_CHAINS": str(4 * workers), "DISPATCH_CHUNK_SIZE": "1000",
            "DISPATCH_OUTCOME_BATCH": "500", "DISPATCH_SEND_CONCURRENCY": "64",
            "DISPATCHER_METRICS_PORT": "0"}  # several workers on one machine: no port to share


RESET = [
    "DELETE FROM notifications WHERE shop_id = $1",
    "DELETE FROM jobs WHERE shop_id = $1",
    "DELETE FROM restocks WHERE shop_id = $1",
    "DELETE FROM inventory_levels WHERE shop_id = $1",
    "DELETE FROM webhook_events WHERE shop_id = $1",
    "DELETE FROM plan_usage WHERE shop_id = $1",
    """UPDATE signups SET last_notified_at = NULL, first_notified_at = NULL, notifications_sent = 0,
       last_blocked_at = NULL WHERE shop_id = $1""",
]
FLOOR = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact, status,
    trigger, variant_id, product_id, send_key, sent_at)
SELECT shop_id, gen_random_uuid(), signup_id, customer_id, $2, channel, contact, 'sent', 'restock',
       variant_id, product_id, $4 || ':' || signup_id::text, now()
FROM signups WHERE shop_id = $1 AND variant_id = $3
"""


async def reset(pool: asyncpg.Pool, redis_url: str, shop_id: uuid.UUID) -> None:
    for sql in RESET:
        await pool.execute(sql, shop_id, timeout=600)
    # The last run's dead rows gone, as autovacuum would. All-visible heap pages
    # are skipped, but removing dead rows scans every index: no 30 s limit.
    await pool.execute("VACUUM ANALYZE notifications, signups, job_targets", timeout=600)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()


async def webhook(api_url: str, domain: str, secret: str, item: int) -> None:
    raw = json.dumps({"inventory_item_id": item, "location_id": 1, "available": 5,
                      "updated_at": "2026-11-26T10:00:00Z"}).encode()
    headers = {"X-Shopify-Topic": "inventory_levels/update", "X-Shopify-Shop-Domain": domain,
               "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Hmac-Sha256": signature(secret, raw),
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(api_url + "/webhooks/shopify", data=raw, headers=headers) as resp:
            assert resp.status == 200, await resp.text()


async def fanout(env: BenchEnv, pool: asyncpg.Pool, api_url: str, shop, variant_id: int, item: int,
                 workers: int, expected: int) -> dict[str, float]:
    await reset(pool, env.redis_url, shop.shop_id)
    # --concurrency 4 = chains per worker: a worker takes at most its share
    # of a restock's chains.
    procs = [await env.spawn("dispatcher", "--concurrency", "4", **fanout_tuning(workers))
             for _ in range(workers)]
    await asyncio.sleep(2)  # bench only: let the workers connect before the clock starts
    started = time.perf_counter()
    await webhook(api_url, shop.domain, shop.webhook_secret, item)
    deadline = started + 600
    while time.perf_counter() < deadline:
        if await pool.fetchval("SELECT status FROM jobs WHERE shop_id = $1 AND kind = 'restock'",
                               shop.shop_id) == "done":
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    for proc in procs:
        await env.stop(proc)
    sent = await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                               shop.shop_id)
    if sent != expected:
        raise RuntimeError(f"fan-out sent {sent} of {expected}")
    return {"alerts": sent, "seconds": round(elapsed, 2), "per_second": sent / elapsed}


async def floor(pool: asyncpg.Pool, shop_id: uuid.UUID, variant_id: int) -> dict[str, float]:
    await pool.execute("DELETE FROM notifications WHERE shop_id = $1", shop_id)
    job_id = uuid.uuid4()
    async with pool.acquire() as conn:
        started = time.perf_counter()
        status = await conn.execute(FLOOR, shop_id, job_id, variant_id, str(job_id), timeout=600)
        elapsed = time.perf_counter() - started
    rows = int(status.split()[-1])
    await pool.execute("DELETE FROM notifications WHERE shop_id = $1", shop_id)
    return {"rows": rows, "seconds": round(elapsed, 2), "per_second": rows / elapsed}
