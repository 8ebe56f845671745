"""run_job: one chunk of a send job per arq job, then the job continues at
the back of the queue, so that shops take turns and several workers share a
big restock. A run reads its shop and the shop's settings once
(load_chunk), when it has work, and passes them along in the Chunk."""
from __future__ import annotations

import logging
import uuid

import asyncpg

from dispatcher import targets as sql
from dispatcher.batches import check_batch, claim_batch_check, drop_unavailable_reminders
from dispatcher.delivery import Chunk, run_chunk
from dispatcher.runtime import Runtime
from shared_models import jobs
from shared_models.allowance import current_month
from shared_models.chains import start_chains as chains_start
from shared_models.context import read_shop
from shared_models.queue import RUN_JOB
from shared_models.rows.sending import JobRow, TargetRow

log = logging.getLogger("backinstock.dispatcher")


async def start_chains(rt: Runtime, shop_id: uuid.UUID, job_id: uuid.UUID, targets: int,
                       defer_by: float | None = None) -> None:
    """The job's chains as this worker's tuning says (shared_models.chains owns the rule)."""
    await chains_start(rt.queue, rt.conns.chains, shop_id, job_id, targets, defer_by=defer_by)


async def load_chunk(pool: asyncpg.Pool, job: JobRow) -> Chunk:
    """The job's shop and its settings, one round trip, for everything this run does."""
    shop = await read_shop(pool, job.shop_id)
    if shop is None:  # the shop was deleted (shop/redact) since the job row was read
        raise LookupError(f"shop {job.shop_id} is gone")
    return Chunk(shop, job, shop.sending_settings, current_month(shop.timezone))


async def run_job(rt: Runtime, shop_id: uuid.UUID, job_id: uuid.UUID) -> str:
    """Returns what happened, for logs and tests: chunk, waiting, deferred, done, idle, cancelled."""
    pool = rt.conns.pool
    job: JobRow | None = await pool.fetchrow(sql.JOB, shop_id, job_id, record_class=JobRow)
    if job is None or job.status not in ("queued", "running"):
        return "idle"
    if job.shop_uninstalled:
        # app/uninstalled stops sends: also those of jobs created since (a notify through the API).
        await pool.execute(jobs.CANCEL, shop_id, job_id)
        await pool.execute(jobs.SET_CANCELLED_COUNTS, shop_id, job_id)
        return "cancelled"
    if job.deferred:
        return "deferred"  # its next batch is due later; a deferred chain or the sweep runs it
    await pool.execute(sql.START, shop_id, job_id)
    chunk: Chunk | None = None
    if job.batch_checked < job.current_batch and await claim_batch_check(rt, job):
        chunk = await load_chunk(pool, job)
        await check_batch(rt, chunk)
    claimed: list[TargetRow] = await pool.fetch(sql.CLAIM, shop_id, job_id, job.current_batch,
                                                rt.tuning.lease_seconds, rt.tuning.chunk_size,
                                                record_class=TargetRow)
    if claimed:
        chunk = chunk or await load_chunk(pool, job)
        claimed = await drop_unavailable_reminders(rt, chunk, claimed)
        if claimed:
            await run_chunk(rt, chunk, claimed)
        await rt.queue.try_enqueue(RUN_JOB, str(shop_id), str(job_id))
        return "chunk"
    interval = await pool.fetchval(sql.ADVANCE, shop_id, job_id, job.current_batch)
    if interval is not None:
        remaining = await pool.fetchval(
            "SELECT count(*) FROM job_targets WHERE shop_id = $1 AND job_id = $2 AND batch = $3",
            shop_id, job_id, job.current_batch + 1)
        await start_chains(rt, shop_id, job_id, remaining, defer_by=interval * 60 or None)
        return "next_batch"
    if await pool.fetchval(sql.FINISH, shop_id, job_id):
        log.info("job %s done", job_id)
        return "done"
    await wait_for_leases(rt, shop_id, job_id, job.current_batch)
    return "waiting"  # other workers hold the last leases


async def wait_for_leases(rt: Runtime, shop_id: uuid.UUID, job_id: uuid.UUID, batch: int) -> None:
    """Come back when the first lease held by another worker lapses: if that
    worker died, its targets are sent then, not when the sweep notices the
    job's stale heartbeat (which waited on lease expiry plus the stale time
    plus a sweep interval: over a minute). The arq job id is the expiry, so
    however many chains wait, one comes back per expiry; a live holder
    extends its leases and the chain waits again, once per lease extension."""
    row = await rt.conns.pool.fetchrow(sql.NEXT_LEASE_EXPIRY, shop_id, job_id, batch)
    if row is None or row["at"] is None:
        return
    await rt.queue.try_enqueue(RUN_JOB, str(shop_id), str(job_id), defer_by=max(float(row["wait"]), 0.0) + 0.1,
                               job_id=f"lease-wait:{job_id}:{float(row['at']):.3f}")
