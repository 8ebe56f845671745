"""Before each batch of a restock goes out, the first included, and before
each chunk of reminders: is the variant still in stock, still published, by
the freshest level we hold (webhooks, and reconciliation with Shopify when
they are missed)? If not, those attempts are blocked as `sold_out` or
`not_published`: a restock's signups stay waiting for the next restock, a
reminder's get their reminder another day."""
from __future__ import annotations

from typing import Any

from dispatcher import targets as sql
from dispatcher.delivery import LOAD_SIGNUPS, SHOP, Chunk, record_blocked
from dispatcher.inventory import available, published
from shared_models.allowance import current_month
from dispatcher.runtime import Runtime
from shared_models.settings import applicable, load_effective

VARIANT = "SELECT product_status, published_at FROM variants WHERE shop_id = $1 AND variant_id = $2"


async def batch_block_reason(rt: Runtime, job: Any, settings: dict) -> str | None:
    return await variant_block_reason(rt, job["shop_id"], job["variant_id"], settings)


async def variant_block_reason(rt: Runtime, shop_id: Any, variant_id: int, settings: dict, *,
                               sold_out_always: bool = False) -> str | None:
    """sold_out_always: reminders are only ever sent for what is in stock."""
    delivery = settings["delivery"]
    if delivery["skip_if_sold_out"] or sold_out_always:
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


async def drop_unavailable_reminders(rt: Runtime, job: Any, claimed: list[Any]) -> list[Any]:
    """A reminder chunk's targets less those whose variant sold out or was
    unpublished since the reminders were scheduled (recorded as blocked)."""
    if job["trigger"] != "reminder" or not claimed:
        return claimed
    pool, shop_id = rt.conns.pool, job["shop_id"]
    shop = await pool.fetchrow(SHOP, shop_id)
    settings = applicable(await load_effective(pool, shop_id), shop["plan"])
    signups = await pool.fetch(LOAD_SIGNUPS, shop_id, [c["signup_id"] for c in claimed])
    reasons = {}
    for variant_id in {s["variant_id"] for s in signups}:
        reasons[variant_id] = await variant_block_reason(rt, shop_id, variant_id, settings, sold_out_always=True)
    blocked = [s for s in signups if reasons[s["variant_id"]] is not None]
    if not blocked:
        return claimed
    chunk = Chunk(shop, job, settings, current_month(shop["timezone"]))
    positions = {c["signup_id"]: c for c in claimed}
    for reason in {reasons[s["variant_id"]] for s in blocked}:
        rows = [(s, positions[s["signup_id"]]["batch"], 1) for s in blocked if reasons[s["variant_id"]] == reason]
        await record_blocked(rt, chunk, rows, reason)
    gone = {s["signup_id"] for s in blocked}
    await pool.execute(sql.DONE, shop_id, job["job_id"], list(gone), "done")
    return [c for c in claimed if c["signup_id"] not in gone]
