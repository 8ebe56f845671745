"""One shop's large restock does not hold up other shops: work goes in chunks
and shops take turns, even on a single worker running one job at a time."""
from __future__ import annotations

import asyncio
import uuid

from tests.dispatch_support import (
    create_signup,
    finished_job,
    notify,
    running_workers,
    wait_for,
)
from tests.shopify import inventory_update, send_webhook

BIG = 400


async def sent(pool, shop) -> int:
    return await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'",
                               shop.shop_id)


async def at_least(pool, shop, n):
    return await sent(pool, shop) >= n


async def test_small_shop_is_served_during_a_big_restock(client, api, pool, make_shop, providers):
    big, small = await make_shop(plan="lite"), await make_shop()
    big_api, small_api = api.with_key(big.api_key), api.with_key(small.api_key)
    status, _, _ = await big_api.patch("/back_in_stock/settings/channels", json={"push": {"enabled": True}})
    assert status == 200
    for start in range(0, BIG, 25):
        await asyncio.gather(*(create_signup(big_api, big, channel="push", push_token=f"device-{i}")
                               for i in range(start, start + 25)))
    signup = await create_signup(small_api, small, email="ann@example.com")
    providers.push.delay = 0.005  # a gateway taking ~5 ms a message

    # One arq job at a time: without chunks taking turns, the notify would wait for all 400.
    async with running_workers(providers.config, max_jobs=1, chunk_size=20, send_concurrency=4):
        await send_webhook(client, big, "inventory_levels/update", inventory_update(7001, 500))
        await wait_for(lambda: at_least(pool, big, 20), what="big restock under way")
        job_id = await notify(small_api, signup["id"])
        small_job = await wait_for(lambda: finished_job(small_api, job_id), what="small notify done")
        big_sent_meanwhile = await sent(pool, big)
        big_job = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", big.shop_id)
        done = await wait_for(lambda: finished_job(big_api, str(big_job)), timeout=60, what="big restock done")

    assert small_job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    assert big_sent_meanwhile < BIG  # the small shop did not wait for the whole restock
    assert done["counts"] == {"sent": BIG, "failed": 0, "blocked": 0}
    small_sent_at = await pool.fetchval("SELECT sent_at FROM notifications WHERE job_id = $1", uuid.UUID(job_id))
    big_finished = await pool.fetchval("SELECT finished_at FROM jobs WHERE job_id = $1", big_job)
    assert small_sent_at < big_finished
    assert len(providers.push.posts) == BIG and len({p["token"] for p in providers.push.posts}) == BIG
