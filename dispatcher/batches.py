"""Before a restock's later batch goes out: is the variant still in stock,
still published? If not, that batch's attempts are blocked (the signups stay
waiting for the next restock)."""
from __future__ import annotations

from typing import Any

from dispatcher import targets as sql
from dispatcher.delivery import LOAD_SIGNUPS, SHOP, Chunk, record_blocked
from dispatcher.inventory import available, published
from dispatcher.plan import current_month
from dispatcher.runtime import Runtime
from shared_models.settings import applicable, load_effective

VARIANT = "SELECT product_status, published_at FROM variants WHERE shop_id = $1 AND variant_id = $2"


async def batch_block_reason(rt: Runtime, job: Any, settings: dict) -> str | None:
    delivery = settings["delivery"]
    shop_id, variant_id = job["shop_id"], job["variant_id"]
    if delivery["skip_if_sold_out"]:
        if await available(rt.conns.pool, shop_id, variant_id, delivery["location_ids"]) < 1:
            return "sold_out"
    if delivery["only_when_published"]:
        variant = await rt.conns.pool.fetchrow(VARIANT, shop_id, variant_id)
        if variant is not None and not published(variant):
            return "not_published"
    return None


async def check_batch(rt: Runtime, job: Any) -> None:
    pool, shop_id, job_id = rt.conns.pool, job["shop_id"], job["job_id"]
    if await pool.fetchval(sql.CLAIM_BATCH_CHECK, shop_id, job_id, job["current_batch"]) is None:
        return  # another chain checked it
    if job["trigger"] != "restock" or job["variant_id"] is None:
        return
    shop = await pool.fetchrow(SHOP, shop_id)
    settings = applicable(await load_effective(pool, shop_id), shop["plan"])
    reason = await batch_block_reason(rt, job, settings)
    if reason is None:
        return
    ids = [r["signup_id"] for r in await pool.fetch(sql.BATCH_TARGETS, shop_id, job_id, job["current_batch"])]
    signups = await pool.fetch(LOAD_SIGNUPS, shop_id, ids)
    chunk = Chunk(shop, job, settings, current_month(shop["timezone"]))
    rows = [(s, job["current_batch"], 1) for s in signups if s["last_notified_at"] is None]
    await record_blocked(rt, chunk, rows, reason)
    await pool.execute(sql.DONE, shop_id, job_id, ids, "done")
