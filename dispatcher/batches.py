"""Before each batch of a restock goes out, the first included, and before
each chunk of reminders: is the variant still in stock, still published, by
the freshest level we hold (webhooks, and reconciliation with Shopify when
they are missed)? If not, those attempts are blocked as `sold_out` or
`not_published`: a restock's signups stay waiting for the next restock, a
reminder's get their reminder another day. Both read the shop's settings from
the chunk (runner.load_chunk), never from the database."""
from __future__ import annotations

import uuid

from dispatcher import targets as sql
from dispatcher.delivery import LOAD_SIGNUPS, Chunk, record_blocked
from dispatcher.inventory import available, published
from dispatcher.runtime import Runtime
from shared_models.rows.sending import JobRow, SignupRow, TargetRow
from shared_models.rows.webhooks import VariantState
from shared_models.settings import Settings
from shared_models.signup_states import alerted

# Row: shared_models.rows.webhooks.VariantState.
VARIANT = "SELECT product_status, published_at FROM variants WHERE shop_id = $1 AND variant_id = $2"


async def variant_block_reason(rt: Runtime, shop_id: uuid.UUID, variant_id: int, settings: Settings, *,
                               sold_out_always: bool = False) -> str | None:
    """sold_out_always: reminders are only ever sent for what is in stock."""
    delivery = settings["delivery"]
    if delivery["skip_if_sold_out"] or sold_out_always:
        if await available(rt.conns.pool, shop_id, variant_id, delivery["location_ids"]) < 1:
            return "sold_out"
    if delivery["only_when_published"]:
        variant = await rt.conns.pool.fetchrow(VARIANT, shop_id, variant_id, record_class=VariantState)
        if variant is not None and not published(variant):
            return "not_published"
    return None


async def claim_batch_check(rt: Runtime, job: JobRow) -> bool:
    """Whether this chain checks the job's current batch: the first chain to
    reach a restock's new batch does (another chain may have claimed it)."""
    if await rt.conns.pool.fetchval(sql.CLAIM_BATCH_CHECK, job.shop_id, job.job_id, job.current_batch) is None:
        return False
    return job.trigger == "restock" and job.variant_id is not None


async def check_batch(rt: Runtime, chunk: Chunk) -> None:
    """The batch claimed by claim_batch_check: all of it blocked when the variant is unavailable."""
    pool, job = rt.conns.pool, chunk.job
    shop_id, job_id = job.shop_id, job.job_id
    reason = await variant_block_reason(rt, shop_id, job.variant_id, chunk.settings)
    if reason is None:
        return
    ids = [r["signup_id"] for r in await pool.fetch(sql.BATCH_TARGETS, shop_id, job_id, job.current_batch)]
    signups: list[SignupRow] = await pool.fetch(LOAD_SIGNUPS, shop_id, ids, record_class=SignupRow)
    rows = [(s, job.current_batch, 1) for s in signups if not alerted(s)]
    await record_blocked(rt, chunk, rows, reason)
    await pool.execute(sql.DONE, shop_id, job_id, ids, "done")


async def drop_unavailable_reminders(rt: Runtime, chunk: Chunk, claimed: list[TargetRow]) -> list[TargetRow]:
    """A reminder chunk's targets less those whose variant sold out or was
    unpublished since the reminders were scheduled (recorded as blocked)."""
    job = chunk.job
    if job.trigger != "reminder" or not claimed:
        return claimed
    pool, shop_id = rt.conns.pool, job.shop_id
    signups: list[SignupRow] = await pool.fetch(LOAD_SIGNUPS, shop_id, [c.signup_id for c in claimed],
                                                record_class=SignupRow)
    reasons: dict[int, str | None] = {}
    for variant_id in {s.variant_id for s in signups}:
        reasons[variant_id] = await variant_block_reason(rt, shop_id, variant_id, chunk.settings,
                                                         sold_out_always=True)
    blocked = [s for s in signups if reasons[s.variant_id] is not None]
    if not blocked:
        return claimed
    batch_of = {c.signup_id: c.batch for c in claimed}
    for reason in {reasons[s.variant_id] for s in blocked}:
        rows = [(s, batch_of[s.signup_id], 1) for s in blocked if reasons[s.variant_id] == reason]
        await record_blocked(rt, chunk, rows, reason)
    gone = {s.signup_id for s in blocked}
    await pool.execute(sql.DONE, shop_id, job.job_id, list(gone), "done")
    return [c for c in claimed if c.signup_id not in gone]
