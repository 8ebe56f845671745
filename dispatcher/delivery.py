"""One chunk of a send job: decide, record, send, record the outcome.

The parts live beside this module: attempt rows and their SQL
(dispatcher.attempts), the hand-over mark (dispatcher.handover), provider
calls and retries (dispatcher.sending), outcome writing (dispatcher.outcomes).
Their public names are re-exported here for the modules that import them
from dispatcher.delivery."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

from dispatcher import rules
from dispatcher import targets as sql
from dispatcher.attempts import (  # noqa: F401  (re-exported)
    DROP_UNSENT,
    LOAD_SIGNUPS,
    UNKNOWN_OUTCOME,
    Attempt,
    Chunk,
    Queued,
    already_attempted,
    open_attempts,
    record_blocked,
    send_key,
    usage_check,
    variant_label,
    write_attempts,
)
from dispatcher.handover import joined
from dispatcher.outcomes import RECORD_OUTCOMES, OutcomeWriter, record_outcomes  # noqa: F401  (re-exported)
from dispatcher.runtime import Runtime
from dispatcher.sending import CancelWatch, call_provider, message_for, send_with_retries  # noqa: F401
from shared_models.rows.sending import JobRow, SignupRow, TargetRow
from shared_models.signup_states import alerted


def still_wanted(job: JobRow, signup: SignupRow) -> bool:
    """A target can go stale between queueing and sending: another send got
    there first, or (reminders) the customer bought."""
    if job.trigger == "restock":
        return not alerted(signup)
    if job.trigger == "reminder":
        stage = (job.payload or {}).get("stage", 1)
        return signup.purchased_at is None and signup.reminder_stage < stage
    return not alerted(signup) or job.allow_resend


async def keep_leases(rt: Runtime, job: JobRow, signup_ids: list[uuid.UUID]) -> None:
    """While a chunk runs (slow providers, retries), its leases must not lapse."""
    while True:
        await asyncio.sleep(rt.tuning.lease_seconds / 3)
        await rt.conns.pool.execute(sql.EXTEND, job.shop_id, job.job_id, signup_ids, rt.tuning.lease_seconds)
        await rt.conns.pool.execute(sql.HEARTBEAT, job.shop_id, job.job_id)


async def run_chunk(rt: Runtime, chunk: Chunk, claimed: list[TargetRow]) -> None:
    """`chunk` carries the shop and its settings as read once for this run
    (runner.load_chunk): the rules, the messages, the blocked attempts and the
    usage check all read them there."""
    pool, job, settings = rt.conns.pool, chunk.job, chunk.settings
    shop_id = job.shop_id
    claimed = sorted(claimed, key=lambda r: r.position)
    ids = [r.signup_id for r in claimed]
    batch_of = {r.signup_id: r.batch for r in claimed}
    leases = asyncio.create_task(keep_leases(rt, job, ids))
    try:
        signups: list[SignupRow] = await pool.fetch(LOAD_SIGNUPS, shop_id, ids, record_class=SignupRow)
        found = {s.signup_id: s for s in signups}
        wanted = [found[i] for i in ids if i in found and still_wanted(job, found[i])]
        done_before = await already_attempted(rt, chunk, wanted)
        wanted = [s for s in wanted if s.signup_id not in done_before]

        blocked: dict[str, list[Queued]] = defaultdict(list)
        candidates: list[Queued] = []
        for s in wanted:
            reason = rules.blocked_reason(s, settings)
            row = (s, batch_of[s.signup_id], 1)
            (blocked[reason] if reason else candidates).append(row)
        for reason, rows in blocked.items():
            await record_blocked(rt, chunk, rows, reason)

        gate = asyncio.Semaphore(rt.tuning.send_concurrency)
        cancelled = CancelWatch(rt, shop_id, job.job_id)

        # Each row is opened as its call starts (dispatcher.handover): a worker
        # that dies leaves `sending` rows only for calls it had under way.
        async with joined(rt, chunk) as handover:
            async def one(row: Queued) -> None:
                async with gate:  # FIFO: sends start in delivery order
                    final = await send_with_retries(rt, chunk, row, handover, cancelled)
                if final is not None:
                    await handover.outcomes.add(final)

            await asyncio.gather(*(one(row) for row in candidates))
    finally:
        leases.cancel()
    stopped = set(chunk.cancelled)
    await pool.execute(sql.DONE, shop_id, job.job_id, [i for i in ids if i not in stopped], "done")
    if stopped:
        await pool.execute(sql.DONE, shop_id, job.job_id, list(stopped), "cancelled")
